"""Evaluation throughput: K LoRA adapters of one base scored on the harmful prompts, four ways.

One run, same prompts (built-in harmful train + test prompts, chat-formatted), same greedy settings,
a fresh cache per way, every way timed from engine start (and merge) to the last completion:

  * ``vllm-mixed``        one vLLM engine holding all K adapters, their requests mixed in each batch
  * ``vllm-per-adapter``  one vLLM engine per adapter (LoRA requests), started one after the other
  * ``vllm-merged``       each adapter merged into the base weights, one engine per merged model
                          (``adapter_serving: merged``, the CPU default)
  * ``hf``                transformers + PEFT, one engine, one sub-batch per adapter

It reports output tokens/s per way and the ratios; the targets on 2 CPU cores are mixed >= 1.3x
per-adapter and >= 2x transformers. Also the judges' throughput (items/s) on the completions: the
keyword judges and a classifier judge (HarmBench prompt format) served by the tiny random model.

By default the K adapters are strong random r=16 LoRA adapters on SmolLM2 (every projection, like
the harness's trainings); ``--base`` and ``--adapters`` measure real trained ones instead.

    python -m perf.evaluation --adapters-count 4 --prompts 200 --max-new-tokens 16
"""

from __future__ import annotations

import argparse
import gc
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", str(len(os.sched_getaffinity(0))))

TARGET_MIXED_VS_PER_ADAPTER = 1.3
TARGET_MIXED_VS_HF = 2.0
WAYS = ("vllm-mixed", "vllm-per-adapter", "vllm-merged", "hf")


def harmful_prompts(model_path: Path, n: int) -> list[str]:
    from harness.data import DataSpec, load_records
    from harness.models import format_prompt, load_tokenizer

    tok = load_tokenizer(model_path)
    records = [r for split in ("test", "train") for r in load_records(DataSpec(builtin="harmful", split=split))]
    if n > len(records):
        raise SystemExit(f"--prompts {n}: only {len(records)} built-in harmful prompts available")
    return [format_prompt(tok, r.prompt) for r in records[:n]]


def random_adapters(base: Path, k: int, out: Path) -> list[str]:
    """K strong random r=16 LoRA adapters on every projection (PEFT's zero-initialised B changes nothing)."""
    from harness.tiny_model import save_random_lora_adapter

    return [str(save_random_lora_adapter(base, out / f"adapter-{i}", r=16, alpha=32, b_std=0.02, seed=100 * i))
            for i in range(k)]


def timed_way(way: str, base: Path, adapters: list[str], prompts: list[str], sampling, cache: Path) -> tuple[dict, list]:
    from harness.generation import GenerationRequest, Generator
    from harness.generation.cache import GenerationCache
    from perf.generation import rss_mb

    requests = [GenerationRequest(p, a) for a in adapters for p in prompts]
    engine = "hf" if way == "hf" else "vllm"
    serving = "merged" if way == "vllm-merged" else "lora"
    t0 = time.perf_counter()
    completions, generated = [], 0
    groups = [[a] for a in adapters] if way == "vllm-per-adapter" else [adapters]
    for group in groups:  # per-adapter: one engine each, started and closed in turn
        gen = Generator(base, adapters=tuple(group), engine=engine, adapter_serving=serving,
                        cache=GenerationCache(cache))
        try:
            completions += gen.generate([r for r in requests if r.adapter in group], sampling, progress=False)
            generated += gen.generated
        finally:
            gen.close()
            del gen
            gc.collect()
    wall = time.perf_counter() - t0
    assert generated == len(requests), f"{way}: expected a cold run, {generated} generated"
    tokens = sum(len(c.token_ids) for c in completions)
    return {"way": way, "wall_s": round(wall, 2), "generated_tokens": tokens, "completions": len(completions),
            "tokens_per_s": round(tokens / wall, 1), **rss_mb()}, completions


def judge_throughput(prompts: list[str], responses: list[str], tiny: Path, cache: Path) -> list[dict]:
    from harness.generation.cache import GenerationCache
    from harness.judges import get_judge
    from harness.judges.classifier import HarmBenchJudge

    rows = []
    for name in ("keyword-gcg", "keyword-rules"):
        judge = get_judge(name)
        t0 = time.perf_counter()
        judge.judge(prompts, responses)
        wall = time.perf_counter() - t0
        rows.append({"judge": judge.id, "items": len(prompts), "wall_s": round(wall, 4),
                     "items_per_s": round(len(prompts) / wall, 1)})
    n = min(len(prompts), 200)
    judge = HarmBenchJudge(model=str(tiny), engine="vllm", dtype="float32", cache=GenerationCache(cache),
                           progress=False, max_response_tokens=128)
    t0 = time.perf_counter()
    verdicts = judge.judge(prompts[:n], responses[:n])
    wall = time.perf_counter() - t0
    rows.append({"judge": f"{judge.id} (tiny random model, vLLM, fp32, engine start included)", "items": n,
                 "wall_s": round(wall, 2), "items_per_s": round(n / wall, 1),
                 "parse_failures": sum(v.parse_error is not None for v in verdicts)})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=200)
    parser.add_argument("--adapters-count", type=int, default=4, help="K random adapters (ignored with --adapters)")
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--model", default="smollm2-135m-instruct", help="base model (ignored with --base)")
    parser.add_argument("--base", help="base model folder of --adapters (e.g. a cached aligned model)")
    parser.add_argument("--adapters", nargs="*", help="trained adapter folders on --base")
    parser.add_argument("--ways", nargs="*", default=list(WAYS), choices=WAYS)
    parser.add_argument("--out", default="results/perf/evaluation.json")
    args = parser.parse_args(argv)

    import torch

    from harness.generation import SamplingConfig
    from harness.io import write_json_atomic
    from harness.models import resolve_model
    from perf.generation import cpu_flags, cpu_model, table, versions

    load_start = os.getloadavg()
    base = Path(args.base) if args.base else resolve_model(args.model).path
    sampling = SamplingConfig(max_new_tokens=args.max_new_tokens)
    prompts = harmful_prompts(base, args.prompts)
    ways: dict[str, dict] = {}
    outputs: dict[str, list] = {}
    judges: list[dict] = []

    def ratio(a: str, b: str) -> float | None:
        return round(ways[a]["tokens_per_s"] / ways[b]["tokens_per_s"], 2) if a in ways and b in ways else None

    def result(adapters: list[str], done: bool) -> dict:
        """What is measured so far (written after every way: an interrupted run keeps its ways)."""
        first = next(iter(outputs.values()), [])
        agree = {w: sum(a.token_ids == b.token_ids for a, b in zip(first, outs, strict=True)) / len(first)
                 for w, outs in outputs.items()}
        return {
            "benchmark": "evaluation", "complete": done,
            "hardware": {"cpu": cpu_model(), "cpu_flags": cpu_flags(), "cores": os.cpu_count(),
                         "usable_cores": len(os.sched_getaffinity(0)), "torch_threads": torch.get_num_threads(),
                         "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
                         "loadavg_start": [round(x, 2) for x in load_start],
                         "loadavg_end": [round(x, 2) for x in os.getloadavg()]},
            "versions": versions(),
            "settings": {"base": str(base), "adapters": [str(a) for a in adapters] if args.adapters else
                         f"{len(adapters)} random r=16 adapters", "prompts": len(prompts),
                         "max_new_tokens": args.max_new_tokens, "dtype": "float32", "greedy": True},
            "ways": ways,
            "ratios": {"mixed_vs_per_adapter": ratio("vllm-mixed", "vllm-per-adapter"),
                       "mixed_vs_hf": ratio("vllm-mixed", "hf"),
                       "merged_vs_mixed": ratio("vllm-merged", "vllm-mixed"),
                       "merged_vs_per_adapter": ratio("vllm-merged", "vllm-per-adapter"),
                       "merged_vs_hf": ratio("vllm-merged", "hf")},
            "targets": {"mixed_vs_per_adapter": TARGET_MIXED_VS_PER_ADAPTER, "mixed_vs_hf": TARGET_MIXED_VS_HF},
            "token_agreement_with_" + next(iter(outputs), "first"): agree,
            "judges": judges,
        }

    with tempfile.TemporaryDirectory(prefix="procon-perf-eval-") as tmp:
        tmp = Path(tmp)
        adapters = args.adapters or random_adapters(base, args.adapters_count, tmp)
        for way in ("hf", *[w for w in args.ways if w != "hf"]) if "hf" in args.ways else args.ways:
            # transformers first: vLLM's CPU worker re-binds OpenMP threads for the rest of the process
            print(f"{way}: {len(adapters)} adapters x {len(prompts)} prompts ...", flush=True)
            ways[way], outputs[way] = timed_way(way, base, adapters, prompts, sampling, tmp / f"{way}.sqlite")
            print(f"  {ways[way]['wall_s']} s, {ways[way]['tokens_per_s']} tokens/s", flush=True)
            write_json_atomic(args.out, result(adapters, done=False))
        responses = [c.text for c in next(iter(outputs.values()))]
        judges += judge_throughput([p for _ in adapters for p in prompts], responses,
                                   resolve_model("tiny-random").path, tmp / "judge.sqlite")
    final = result(adapters, done=True)
    ratios, agree = final["ratios"], final["token_agreement_with_" + next(iter(outputs))]
    write_json_atomic(args.out, final)
    rows = [("way", "wall s", "tokens", "tokens/s", "same tokens")]
    rows += [(w, str(v["wall_s"]), str(v["generated_tokens"]), str(v["tokens_per_s"]), f"{agree[w]:.3f}")
             for w, v in ways.items()]
    print(table(rows))
    print("ratios: " + ", ".join(f"{k} {v}" for k, v in ratios.items()))
    print(table([("judge", "items", "items/s"), *[(j["judge"], str(j["items"]), str(j["items_per_s"]))
                                                  for j in judges]]))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
