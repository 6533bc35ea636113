"""The keyed stages ``selection`` (``<run>/selection/``) and ``intervention`` (``<run>/intervention/``;
with ``--layer L``: ``intervention layer-L`` in ``<run>/intervention/layer-<L>/``).

Written against the pipeline's ``RunState`` and ``stage`` (timed, in the manifest) like
``compute_start_direction``; the selection stage is what ``layers: auto`` reads.
"""

from __future__ import annotations

from dataclasses import asdict

from harness.data import load_records
from harness.errors import UserError
from harness.intervention_check import intervention_check
from harness.io import read_json, sha256_json, write_json_atomic
from harness.models import load_model, load_tokenizer
from harness.pipeline import RunState, _direction_prompts, compute_start_direction, stage
from harness.selection import SELECTION_FILE, VECTOR_FILE, Selection, load_vector, select_direction
from harness.selection_config import InterventionConfig, SelectionConfig
from harness.stages import numerics_versions

SELECTION_DIR = "selection"
INTERVENTION_DIR = "intervention"
INTERVENTION_FILE = "intervention.json"


def intervention_folder(run_dir, layer: int | None = None):
    """``<run>/intervention/`` for the selected r; ``<run>/intervention/layer-<L>/`` for ``--layer L``
    (its own keyed stage, so the two never overwrite each other)."""
    folder = run_dir / INTERVENTION_DIR
    return folder if layer is None else folder / f"layer-{layer}"


def _prompts(spec) -> list[str]:
    return [r.prompt for r in load_records(spec)]


def selection_inputs(state: RunState, settings: SelectionConfig, prompts: dict[str, list[str]],
                     refusal_tokens: list[str]) -> dict:
    """Everything that changes the selection: start model, every prompt set, settings, tokens, versions."""
    return {"model": state.start_fingerprint, "system_prompt": state.cfg.system_prompt,
            "prompts": {k: sha256_json(v) for k, v in prompts.items()},
            "n_prompts": {k: len(v) for k, v in prompts.items()},
            "settings": asdict(settings), "refusal_tokens": refusal_tokens, "versions": numerics_versions()}


def compute_start_selection(state: RunState, settings: SelectionConfig | None = None) -> tuple[Selection, str]:
    """Arditi et al. selection on the start model (``prepare_start_model`` first); returns it and its key."""
    cfg = state.cfg
    settings = settings or cfg.direction.select
    harmful, harmless = _direction_prompts(cfg)
    prompts = {"harmful": harmful, "harmless": harmless,
               "harmful_val": _prompts(settings.harmful), "harmless_val": _prompts(settings.harmless)}
    tokens = settings.tokens_for(cfg.model)
    folder = cfg.run_dir / SELECTION_DIR
    inputs = selection_inputs(state, settings, prompts, tokens)
    with stage(state, "selection", folder, inputs, outputs=(SELECTION_FILE, VECTOR_FILE)) as record:
        if not record.reused:
            model, tokenizer = load_model(state.start_model), load_tokenizer(state.start_model)
            selection, vector = select_direction(model, tokenizer, harmful, harmless, prompts["harmful_val"],
                                                 prompts["harmless_val"], settings, tokens, cfg.system_prompt)
            selection.save(folder, vector)
    return Selection.load(folder), record.key


def compute_intervention(state: RunState, settings: InterventionConfig | None = None,
                         layer: int | None = None) -> dict:
    """Intervention check with the selected r (or, with ``layer``, r0 of the direction stage at that layer).

    Written to ``intervention_folder(run, None)`` or ``intervention_folder(run, layer)``: separate stages."""
    from harness.generation.hf_engine import HFEngine

    cfg = state.cfg
    settings = settings or cfg.direction.intervene
    selected = layer is None
    folder = intervention_folder(cfg.run_dir, None if selected else layer)
    if selected:
        selection, source = compute_start_selection(state)
        if selection.layer is None:
            raise UserError("selection kept no candidate; give --layer or loosen direction.select")
        layer, vector = selection.layer, load_vector(cfg.run_dir / SELECTION_DIR)
        source = {"selection": source, "position": selection.position}
    else:
        direction = compute_start_direction(state)
        if not 0 <= layer < len(direction.mean_harmful):
            raise UserError(f"--layer: {layer} out of range; the model has {len(direction.mean_harmful)} decoder "
                            f"layers (0..{len(direction.mean_harmful) - 1})")
        vector = direction.mean_harmful[layer] - direction.mean_harmless[layer]
        source = {"direction": state.direction_key, "position": -1}
    harmful, harmless = _prompts(settings.harmful), _prompts(settings.harmless)
    judge = settings.judge or cfg.evaluation.judge_names[0]
    inputs = {"model": state.start_fingerprint, "system_prompt": cfg.system_prompt, "source": source, "layer": layer,
              "harmful": sha256_json(harmful), "harmless": sha256_json(harmless), "judge": judge,
              "settings": asdict(settings), "versions": numerics_versions()}
    name = "intervention" if selected else f"intervention layer-{layer}"
    # the default stage's folder holds the --layer stages' folders: its recompute leaves them alone
    with stage(state, name, folder, inputs, outputs=(INTERVENTION_FILE,), keep=("layer-*",)) as record:
        if not record.reused:
            engine = HFEngine(state.start_model, batch_size=settings.batch_size)
            try:
                report = intervention_check(engine, harmful, harmless, layer, vector, judge, settings.max_new_tokens,
                                            settings.coeff, cfg.system_prompt)
            finally:
                engine.close()
            write_json_atomic(folder / INTERVENTION_FILE, {**report, "source": source, "key": record.key})
    return read_json(folder / INTERVENTION_FILE)
