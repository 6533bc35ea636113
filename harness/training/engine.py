"""Train one model with one defense: data -> (LoRA | full) fine-tuning -> saved adapter/weights.

A finished job leaves ``<out>/adapter`` (LoRA) or ``<out>/model`` (full); a rerun returns it at once.
A killed job resumes from the newest complete ``<out>/checkpoints/checkpoint-N``. Every checkpoint keeps
its weights (the drift curve reads them all); only the newest keeps optimizer/scheduler/RNG state.
Under ``accelerate launch`` (data parallel) every process trains and only the main one writes files.
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from defenses.base import Defense, DefenseContext
from harness.canned import harmful_compliant_records
from harness.config import TrainConfig
from harness.data import load_records
from harness.errors import UserError
from harness.io import atomic_directory, write_json_atomic
from harness.models import load_model, load_tokenizer
from harness.records import Record
from harness.training.checkpoints import PruneResumeState, latest_checkpoint
from harness.training.examples import Collator, Example, encode_records
from harness.training.lengths import TruncationStats, check_truncation, truncation_stats
from harness.training.memory import PeakMemory
from harness.training.precision import Precision, training_precision
from harness.training.trainer import DefenseTrainer, StepLogCallback


@dataclass
class TrainResult:
    output: Path  # adapter folder (LoRA) or model folder (full fine-tuning)
    is_adapter: bool
    seconds: float
    resumed_from: str | None = None
    truncation: TruncationStats | None = None  # None for a job that had already finished
    precision: Precision | None = None


class ExampleDataset(torch.utils.data.Dataset):
    def __init__(self, examples: list[Example]) -> None:
        self.examples = examples

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, i: int) -> dict:
        return self.examples[i].to_features()


def mix_harmful(task: list[Record], harmful: list[Record], ratio: float, seed: int) -> list[Record]:
    """Replace nothing, add ``ratio`` of the final set as harmful (prompt, compliant answer) pairs."""
    n = round(ratio / (1 - ratio) * len(task))
    rng = random.Random(seed)
    picked = [harmful[rng.randrange(len(harmful))] for _ in range(n)] if n > len(harmful) else rng.sample(harmful, n)
    for r in picked:
        r.meta["kind"] = "harmful_mix"
    mixed = task + picked
    rng.shuffle(mixed)
    return mixed


def training_records(cfg: TrainConfig) -> list[Record]:
    if cfg.data is None:
        raise UserError("training.data: required (a built-in set, a local file or a hub dataset)")
    records = load_records(cfg.data)
    missing = [r.id for r in records if not r.response]
    if missing:
        raise UserError(f"training.data: every record needs a response; missing for {missing[:3]} (set fields.response)")
    if cfg.harmful_mix:
        harmful = harmful_compliant_records(cfg.harmful_mix.data, cfg.harmful_mix.responses, "training.harmful_mix")
        records = mix_harmful(records, harmful, cfg.harmful_mix.ratio, cfg.seed)
    return records


def _checked_truncation(examples: list[Example], cfg: TrainConfig, where: str) -> TruncationStats:
    stats = truncation_stats(examples, cfg.max_length, cfg.max_prompt_length)
    check_truncation(stats, cfg, where)
    return stats


def train(model_path: str | Path, cfg: TrainConfig, defense: Defense, records: list[Record], out_dir: str | Path,
          system_prompt: str | None = None, direction=None, progress: bool = True, *, selection=None,
          direction_prompts: tuple[list[str], list[str]] | None = None, config_path: str = "training",
          precision: Precision | None = None, unaligned_path: Path | None = None) -> TrainResult:
    """Fine-tune ``model_path`` on ``records`` with ``defense``; ``config_path`` names ``cfg`` in errors.

    ``unaligned_path``: the model before the run's alignment stage (``DefenseContext.unaligned_model_path``,
    read by post-hoc defenses such as SafeLoRA).

    ``precision`` overrides the machine's choice (``training_precision``); tests use it to train
    under CPU bf16 autocast.
    """
    from transformers import TrainingArguments, set_seed

    out_dir = Path(out_dir)
    final = out_dir / ("adapter" if cfg.lora else "model")
    if (final / "config.json").exists() or (final / "adapter_config.json").exists():
        return TrainResult(final, cfg.lora is not None, 0.0, "finished")
    t0 = time.perf_counter()
    set_seed(cfg.seed)
    precision = precision or training_precision(cfg)
    tokenizer = load_tokenizer(model_path)
    examples = encode_records(tokenizer, records, system_prompt, cfg.max_length, cfg.max_prompt_length)
    for ex, rec in zip(examples, records, strict=True):
        ex.kind = rec.meta.get("kind", "task")
    _checked_truncation(examples, cfg, config_path)  # fail before loading the model
    peak = PeakMemory(precision.device).start()  # the model, the defense's state, optimiser, activations
    model = load_model(model_path, precision.dtype, precision.device)
    if cfg.lora:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(r=cfg.lora.r, lora_alpha=cfg.lora.alpha, lora_dropout=cfg.lora.dropout,
                                                 target_modules=cfg.lora.target_modules, task_type="CAUSAL_LM"))
    ctx = DefenseContext(model=model, tokenizer=tokenizer, base_model_path=Path(model_path), train_config=cfg,
                         examples=examples, run_dir=out_dir, system_prompt=system_prompt, direction=direction,
                         direction_prompts=direction_prompts, selection=selection, total_steps=cfg.steps,
                         autocast=precision.autocast_context,
                         unaligned_model_path=Path(unaligned_path) if unaligned_path else None)
    defense.prepare(ctx)  # may append examples (kind="extra") and compute reference statistics
    truncation = _checked_truncation(ctx.examples, cfg, config_path)
    ckpt_dir = out_dir / "checkpoints"
    args = TrainingArguments(
        output_dir=str(ckpt_dir),
        max_steps=cfg.steps,
        per_device_train_batch_size=ctx.batch_size or cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.lr_scheduler,
        warmup_steps=cfg.warmup_steps,
        weight_decay=cfg.weight_decay,
        logging_steps=cfg.logging_steps,
        save_steps=cfg.save_steps,
        save_total_limit=None,  # the drift curve reads every checkpoint; PruneResumeState keeps them small
        seed=cfg.seed,
        data_seed=cfg.seed,
        report_to=[],
        remove_unused_columns=False,
        use_cpu=precision.device == "cpu",
        bf16=precision.autocast == "bfloat16",
        dataloader_num_workers=0,
        disable_tqdm=not progress,
        save_only_model=False,
    )
    main = args.should_save  # the one process (of a data-parallel job) that writes files
    def write_train_config(cost: dict | None = None) -> None:
        write_json_atomic(out_dir / "train_config.json", {
            "train": asdict(cfg), "defense": defense.describe(), "examples": len(ctx.examples),
            "truncation": truncation.to_dict(), "precision": precision.to_dict(), "state": ctx.state,
            **({"cost": cost} if cost else {})})

    if main:
        print(f"{config_path}: {truncation.summary()}", flush=True)
        write_train_config()
    # A defense that composes its batches (safety mixing) gives the order; it is read sequentially.
    ordered = ctx.sample_order is not None
    dataset = ExampleDataset([ctx.examples[i] for i in ctx.sample_order] if ordered else ctx.examples)
    trainer = DefenseTrainer(
        model=model, args=args, train_dataset=dataset, ordered=ordered,
        data_collator=Collator(tokenizer.pad_token_id), defense=defense, ctx=ctx,
        callbacks=[StepLogCallback(defense, ctx, out_dir / "train_log.jsonl"), PruneResumeState()],
    )
    resume = latest_checkpoint(ckpt_dir)
    if resume and int(Path(resume).name.split("-")[-1]) >= cfg.steps:
        # Killed after the last checkpoint: it holds the final weights. (Resuming the Trainer from
        # a checkpoint at max_steps would run one step more, measured on transformers 5.19.)
        trainer._load_from_checkpoint(resume)
    else:
        trainer.train(resume_from_checkpoint=resume)
    defense.finalize(ctx)
    if main:  # with what finalize recorded (e.g. SafeLoRA's projected layers) and the training's cost
        write_train_config({"seconds": round(time.perf_counter() - t0, 2), "resumed_from": resume and Path(resume).name,
                            **peak.stop()})
        with atomic_directory(final) as scratch:
            model.save_pretrained(scratch)
            tokenizer.save_pretrained(scratch)
    trainer.accelerator.wait_for_everyone()
    return TrainResult(final, cfg.lora is not None, time.perf_counter() - t0, resume, truncation, precision)
