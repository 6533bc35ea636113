"""Safety alignment stage: make a model that refuses, so that erosion can be measured.

SmolLM2-135M-Instruct does not refuse harmful requests. A short LoRA SFT teaches it to: harmful
instructions -> a built-in refusal sentence; harmless instructions -> (default) the base model's own
greedy answer (self-distillation, so alignment teaches refusal and little else; the pilot in the
project notes used this), or the data set's responses. The adapter is merged and the merged model is
cached by a content hash of (base weights, alignment data, training config, system prompt): a second
run reuses it at no cost. An alignment-stage defense (Vaccine, Booster: ``Defense.alignment_defense``)
trains its row's own aligned model from the same records; its description is then part of the key.
The key also covers the code and library versions and the training
device/dtype, so an upgrade or a cache shared between a CPU and a GPU machine never reuses a model
made with other numerics.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, replace
from pathlib import Path

from harness.canned import builtin_refusals, pick_for
from harness.config import AlignmentConfig
from harness.data import load_records
from harness.errors import UserError
from harness.generation import GenerationRequest, Generator, SamplingConfig
from harness.io import atomic_directory, fingerprint_dir, sha256_json, write_json_atomic
from harness.models import format_prompt, load_model, load_tokenizer, merge_adapter
from harness.paths import cache_dir
from harness.records import Record
from harness.stages import numerics_versions
from harness.training.precision import Precision, training_precision


def pick_refusal(record_id: str, refusals: list[str]) -> str:
    """Deterministic (hash of the id), so the alignment set never changes between runs."""
    return pick_for(record_id, refusals)


def alignment_records(base_path: Path, cfg: AlignmentConfig, system_prompt: str | None, engine: str) -> list[Record]:
    refusals = builtin_refusals()
    harmful = [replace(r, response=pick_refusal(r.id, refusals)) for r in load_records(cfg.harmful)]
    harmless = load_records(cfg.harmless)
    if cfg.harmless_responses == "self":
        tokenizer = load_tokenizer(base_path)
        generator = Generator(base_path, engine=engine)
        try:
            outs = generator.generate([GenerationRequest(format_prompt(tokenizer, r.prompt, system_prompt))
                                       for r in harmless], SamplingConfig(max_new_tokens=cfg.max_new_tokens),
                                      desc="alignment: self-distil harmless answers")
        finally:
            generator.close()
        harmless = [replace(r, response=o.text.strip()) for r, o in zip(harmless, outs, strict=True)]
    elif any(not r.response for r in harmless):
        raise UserError("alignment.harmless: harmless_responses=dataset needs a response for every record")
    return harmful + harmless


def alignment_key(base_path: Path, cfg: AlignmentConfig, records: list[Record], system_prompt: str | None,
                  precision: Precision, defense: dict | None = None) -> str:
    """Cache key of an aligned model: its inputs, plus what changes its numbers for the same inputs
    (harness numerics version, torch/transformers/peft/accelerate versions, training device/dtype).
    ``defense``: an alignment-stage defense's description (absent for the plain alignment, whose
    keys therefore do not change)."""
    inputs = {
        "base": fingerprint_dir(base_path),
        "records": [(r.prompt, r.response) for r in records],
        "train": asdict(cfg.train),
        "system_prompt": system_prompt,
        "precision": precision.to_dict(),
        "versions": numerics_versions(),
    }
    if defense is not None:
        inputs["defense"] = defense
    return sha256_json(inputs)[:16]


def align(base_path: Path, cfg: AlignmentConfig, system_prompt: str | None, engine: str = "auto",
          defense=None) -> Path:
    """Return the folder of the aligned (merged) model, training it only if no cached copy exists.

    ``defense`` (a ``defenses.base.Defense``): train the alignment with it instead of plain SFT
    (an alignment-stage defense); its own cache entry."""
    from defenses.vanilla import Vanilla
    from harness.training.engine import train

    records = alignment_records(base_path, cfg, system_prompt, engine)
    precision = training_precision(cfg.train)
    key = alignment_key(base_path, cfg, records, system_prompt, precision,
                        defense.describe() if defense is not None else None)
    final = cache_dir("aligned") / key
    if (final / "config.json").exists():
        return final
    work = cache_dir("aligned") / f"{key}.work"  # checkpoints live here, so a killed alignment resumes
    result = train(base_path, cfg.train, defense or Vanilla(), records, work, system_prompt=system_prompt,
                   config_path="alignment.train", precision=precision)
    if result.is_adapter:
        merged = merge_adapter(base_path, result.output)
    else:  # alignment by full fine-tuning (alignment.train.lora: null): the trained weights are the model
        merged = load_model(result.output)
    with atomic_directory(final) as scratch:
        merged.save_pretrained(scratch)
        load_tokenizer(base_path).save_pretrained(scratch)
        if (work / "train_log.jsonl").exists():  # the per-step terms (an alignment-stage defense's too)
            shutil.copyfile(work / "train_log.jsonl", scratch / "train_log.jsonl")
        write_json_atomic(scratch / "procon_alignment.json", {
            "base": str(base_path), "key": key, "n_records": len(records), "train": asdict(cfg.train),
            "harmless_responses": cfg.harmless_responses,
            "defense": defense.describe() if defense is not None else None,
        })
    shutil.rmtree(work, ignore_errors=True)
    return final
