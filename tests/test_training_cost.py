"""The per-defense training cost table and the training's peak-memory measurement."""

from __future__ import annotations

import json
import mmap
from pathlib import Path

import pytest

from harness.config import DefenseEntry, RunConfig
from harness.report.training_cost import cost_markdown, training_costs
from harness.training.memory import PeakMemory


def _trained(folder: Path, step_times: list[float], cost: dict | None) -> None:
    folder.mkdir(parents=True)
    (folder / "train_log.jsonl").write_text("".join(json.dumps({"step": i + 1, "loss": 1.0, "step_time": t}) + "\n"
                                                    for i, t in enumerate(step_times)))
    (folder / "train_config.json").write_text(json.dumps({"precision": {"device": "cpu"},
                                                          **({"cost": cost} if cost else {})}))


def test_costs_read_each_rows_log_and_compare_to_vanilla(tmp_path):
    cfg = RunConfig(run="r", output_dir=str(tmp_path),
                    defenses=[DefenseEntry("vanilla"), DefenseEntry("procon"), DefenseEntry("vaccine"),
                              DefenseEntry("lisa")])  # lisa never trained: no row
    models = Path(cfg.run_dir) / "models"
    _trained(models / "vanilla", [9.0, 5.0, 2.0, 2.0], {"seconds": 20.0, "peak_rss_gib": 1.5, "peak_cuda_gib": None})
    _trained(models / "procon", [9.0, 9.0, 3.0, 3.0], {"seconds": 30.0, "peak_rss_gib": 1.75, "peak_cuda_gib": None})
    _trained(models / "vaccine", [1.0, 1.0, 2.0, 2.0], None)  # written before the cost was recorded
    (models / "stale-row-from-an-old-config").mkdir()
    aligned, own = tmp_path / "aligned", tmp_path / "aligned-vaccine"
    _trained(aligned, [5.0, 5.0, 1.0, 1.0], None)
    _trained(own, [5.0, 5.0, 2.5, 2.5], None)
    stages = {"align": {"status": "reused", "path": str(aligned)},
              "align vaccine": {"status": "reused", "path": str(own)},
              "train vaccine": {"status": "computed", "seconds": 12.5}}
    costs = {c.model: c for c in training_costs(cfg, stages)}
    assert list(costs) == ["vanilla", "procon", "vaccine"]
    assert costs["vanilla"].s_per_step == 2.0 and costs["procon"].s_per_step == 3.0  # the 2 warm-up steps left out
    assert costs["procon"].over_vanilla == pytest.approx(1.5) and costs["procon"].peak_rss_gib == 1.75
    vaccine = costs["vaccine"]
    assert vaccine.train_seconds == 12.5 and vaccine.peak_rss_gib is None  # from the stage record; not recorded
    assert vaccine.alignment_s_per_step == 2.5 and vaccine.alignment_over_plain == pytest.approx(2.5)
    assert costs["procon"].alignment_s_per_step is None
    table = cost_markdown(list(costs.values()))
    assert "| procon | 4 | 3.00 | 1.50 | 30 | — | — | 1.75 |" in table
    assert "| vaccine | 4 | 2.00 | 1.00 | 12 | 2.50 | 2.50 | — |" in table  # 12.5 rounds to even
    assert cost_markdown([]) == ""


def test_multi_seed_rows_compare_within_their_seed(tmp_path):
    cfg = RunConfig(run="r", output_dir=str(tmp_path), seeds=[0, 1],
                    defenses=[DefenseEntry("vanilla"), DefenseEntry("procon")])
    models = Path(cfg.run_dir) / "models"
    for seed, (v, p) in enumerate(((2.0, 4.0), (1.0, 3.0))):
        _trained(models / "vanilla" / f"seed-{seed}", [v] * 4, {"seconds": 1.0})
        _trained(models / "procon" / f"seed-{seed}", [p] * 4, {"seconds": 1.0})
    costs = training_costs(cfg, {})
    assert [(c.model, c.seed, c.over_vanilla) for c in costs] == [
        ("vanilla", 0, 1.0), ("vanilla", 1, 1.0), ("procon", 0, 2.0), ("procon", 1, 3.0)]
    assert "| procon | 1 | 4 | 3.00 | 3.00 |" in cost_markdown(costs)


def _rss_gib() -> float:
    status = Path("/proc/self/status").read_text()
    return int(next(x for x in status.splitlines() if x.startswith("VmRSS:")).split()[1]) / 2**20


def _resident_mapping(mib: int) -> mmap.mmap:
    """Fresh anonymous pages from the kernel, every one touched: resident, whatever the allocator's pools hold.

    (A ``bytearray`` may be served from memory the allocator already keeps resident after
    earlier tests, so it need not raise the RSS at all.)"""
    mapping = mmap.mmap(-1, mib * 2**20)
    for i in range(0, len(mapping), mmap.PAGESIZE):
        mapping[i] = 1
    return mapping


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="the peak reset needs Linux /proc")
def test_peak_memory_is_the_spans_own_peak():
    _resident_mapping(600).close()  # an earlier peak of this process, given back to the kernel: not the span's
    peak = PeakMemory("cpu").start()
    before = _rss_gib()
    held = _resident_mapping(150)
    during = _rss_gib()
    result = peak.stop()
    held.close()
    assert during > before + 0.14  # the mapping is resident
    assert result["rss_scope"] == "training" and result["peak_cuda_gib"] is None
    assert before + 0.14 < result["peak_rss_gib"] < before + 0.14 + 0.3  # the 150 MiB, not the earlier 600 MiB
