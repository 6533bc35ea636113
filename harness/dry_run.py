"""``--dry-run``: check that a config can run, without loading weights or training anything.

Resolves every model reference, data source, defense, judge and benchmark of a config. Local and
built-in data are read (so field maps and filters are checked); hub models and data sets are checked
for the id's form and, when the hub is reachable, that the repository exists (no weights or data are
downloaded); when it is not reachable they are reported as ``not contacted``. A LoRA adapter of a
``models:`` entry is checked against its base (as ``eval`` does) when that base is a local folder.
The first problem is a one-line ``UserError`` naming the field (exit 2); otherwise every check is listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.config import RunConfig
from harness.data import DataSpec, load_records
from harness.errors import UserError


@dataclass
class Check:
    what: str
    status: str  # ok | not contacted (hub unreachable) | not checked (needs the resolved model)
    detail: str

    def line(self) -> str:
        return f"{self.status:<13} {self.what}: {self.detail}"


def hub_reachable(timeout: float = 3.0) -> bool:
    """False when offline mode is set or the hub endpoint does not answer a TCP connect in time."""
    import os
    import socket
    from urllib.parse import urlparse

    from huggingface_hub import constants

    if os.environ.get("HF_HUB_OFFLINE") == "1":
        return False
    url = urlparse(constants.ENDPOINT)
    try:
        with socket.create_connection((url.hostname, url.port or 443), timeout=timeout):
            return True
    except OSError:
        return False


class HubChecker:
    """Checks hub repositories exist (metadata only); probes reachability once per dry run."""

    def __init__(self) -> None:
        self._reachable: bool | None = None

    def __call__(self, what: str, repo_id: str, repo_type: str, revision: str | None = None) -> Check:
        from harness.models import _HUB_ID, hub_failure, quiet_hub

        if not _HUB_ID.match(repo_id):
            raise UserError(f"{what}: {repo_id!r} is not a hub id of the form org/name")
        if self._reachable is None:
            self._reachable = hub_reachable()
        if not self._reachable:
            return Check(what, "not contacted", f"hub {repo_type} {repo_id} (well-formed id; the hub is unreachable)")
        from huggingface_hub import HfApi

        try:
            with quiet_hub():
                HfApi().repo_info(repo_id, repo_type=repo_type, revision=revision)
        except Exception as exc:
            raise UserError(f"{what}: {repo_id!r}: {hub_failure(exc, 'use a local copy')}") from None
        return Check(what, "ok", f"hub {repo_type} {repo_id} exists")


def _data_specs(cfg: RunConfig) -> list[tuple[str, DataSpec]]:
    specs: list[tuple[str, DataSpec]] = []
    if cfg.alignment:
        specs += [("alignment.harmful", cfg.alignment.harmful), ("alignment.harmless", cfg.alignment.harmless)]
    d = cfg.direction
    specs += [("direction.harmful", d.harmful), ("direction.harmless", d.harmless),
              ("direction.heldout_harmful", d.heldout_harmful), ("direction.heldout_harmless", d.heldout_harmless),
              ("direction.select.harmful", d.select.harmful), ("direction.select.harmless", d.select.harmless),
              ("direction.intervene.harmful", d.intervene.harmful),
              ("direction.intervene.harmless", d.intervene.harmless)]
    if cfg.defenses:
        if cfg.training.data is None:
            raise UserError("config.training.data: required when defenses are configured")
        specs.append(("training.data", cfg.training.data))
        if cfg.training.harmful_mix:
            specs.append(("training.harmful_mix.data", cfg.training.harmful_mix.data))
    return specs


def _check_adapter(cfg: RunConfig, entry) -> Check:
    """An adapter's folder, and (as `eval` does) that it sits on its entry's model when that is a local folder."""
    from harness.generation.lora import adapter_config, check_adapter_base
    from harness.models import classify_model_ref

    what = f"models[{entry.name}].adapter"
    adapter_config(entry.adapter)
    ref = entry.model or cfg.model
    if classify_model_ref(ref) != "local":
        return Check(what, "not checked", f"LoRA adapter {entry.adapter}; its base is compared with {ref} when the "
                                          "model is resolved")
    check_adapter_base(entry.adapter, Path(ref).expanduser(), entry.name, ref)
    return Check(what, "ok", f"LoRA adapter {entry.adapter} on its base {ref}")


def _check_layers(cfg: RunConfig) -> Check:
    """Layer indices against the model's decoder layers: a local folder's config.json, or a built-in
    model's known count; a GGUF file or hub id is checked when the run resolves it."""
    from harness.models import BUILTIN_LAYER_COUNTS, classify_model_ref, model_layer_count
    from harness.pipeline import validate_layers

    kind = classify_model_ref(cfg.model)
    if kind == "local":
        n_layers = model_layer_count(Path(cfg.model).expanduser())
    elif cfg.model in BUILTIN_LAYER_COUNTS:
        n_layers = BUILTIN_LAYER_COUNTS[cfg.model]
    else:
        return Check("layer indices", "not checked", "checked when the model is resolved (not a local folder)")
    validate_layers(cfg, n_layers)
    return Check("layer indices", "ok", f"within the model's {n_layers} decoder layers")


def _seeds_check(cfg: RunConfig, evaluate_only: bool) -> Check:
    """What the run seeds multiply: every training defense is trained once per seed (README "Seeds")."""
    seeds = cfg.all_seeds
    if evaluate_only or not cfg.defenses:
        used = "" if len(seeds) == 1 else f" (nothing is trained: models are scored once, with seed {cfg.seed})"
        return Check("seeds", "ok", f"{seeds}{used}")
    if len(seeds) == 1:
        return Check("seeds", "ok", f"{seeds}: {len(cfg.defenses)} training(s) in models/<defense>/")
    return Check("seeds", "ok", f"{seeds}: {len(cfg.defenses) * len(seeds)} trainings "
                                f"({len(cfg.defenses)} defense(s) x {len(seeds)} seeds) in models/<defense>/seed-<s>/, "
                                "aggregated over seeds in the leaderboard")


def dry_run(cfg: RunConfig, *, evaluate_only: bool = False) -> list[Check]:
    """Every check of ``cfg`` (models, data, defenses, benchmarks); raises UserError on the first failure."""
    from benchmarks.registry import resolve_benchmark
    from benchmarks.scorers import get_scorer
    from harness.evaluation import benchmark_scorings
    from harness.judges import get_judge
    from harness.models import classify_model_ref
    from harness.pipeline import build_defenses, check_defense

    hub = HubChecker()
    checks: list[Check] = []
    refs = [("model", cfg.model)] + [(f"models[{m.name}].model", m.model) for m in cfg.models if m.model]
    for what, ref in refs:
        kind = classify_model_ref(ref)
        checks.append(hub(what, ref, "model", cfg.revision) if kind == "hub" else Check(what, "ok", f"{kind} {ref}"))
    if not evaluate_only:
        checks.append(_check_layers(cfg))
    for entry in cfg.models:
        if entry.adapter:
            checks.append(_check_adapter(cfg, entry))
    specs = [] if evaluate_only else _data_specs(cfg)
    for entry, defense in ([] if evaluate_only else build_defenses(cfg)):
        check_defense(cfg, entry, defense)
        checks.append(Check(f"defenses[{entry.row_name}]", "ok", f"{defense.name} {defense.describe()['params']}"))
    checks.append(_seeds_check(cfg, evaluate_only))
    if not evaluate_only and cfg.direction.intervene.judge is not None:
        try:
            judge = get_judge(cfg.direction.intervene.judge)
        except UserError as exc:
            raise UserError(f"direction.intervene.judge: {exc}") from None
        from harness.evaluation import check_judge_metric

        check_judge_metric(judge, "refusal_rate", "direction.intervene.judge")  # it labels refusals
        checks.append(Check("direction.intervene.judge", "ok", judge.id))
    for entry in cfg.evaluation.benchmarks:
        spec = resolve_benchmark(entry)
        if spec.kind == "task":
            get_scorer(spec.scorer)
        # the scorer and every judge with the metric it scores there (checked as load_benchmarks does)
        scored = "; ".join(f"{s.metric}, {'scorer ' + spec.scorer if s.scorer else 'judge ' + s.id}"
                           for s in benchmark_scorings(spec, cfg.evaluation))
        checks.append(Check(f"benchmark {spec.name}", "ok", f"{spec.kind}, {scored}"))
        specs.append((f"benchmark {spec.name}.data", spec.data))
    for what, spec in specs:
        if spec.hub:
            checks.append(hub(what, spec.hub, "dataset", spec.revision))
        else:
            try:
                records = load_records(spec)
            except UserError as exc:
                raise UserError(f"{what}: {exc}") from None
            checks.append(Check(what, "ok", f"{spec.builtin or Path(spec.path).name}: {len(records)} records"))
    return checks


def print_dry_run(cfg: RunConfig, evaluate_only: bool = False) -> int:
    checks = dry_run(cfg, evaluate_only=evaluate_only)
    for check in checks:
        print(check.line())
    counts = {status: sum(c.status == status for c in checks) for status in ("ok", "not contacted", "not checked")}
    print(f"dry run: {cfg.run}: {len(checks)} checks: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n)
          + "; nothing was loaded or trained")
    return 0
