"""GPU check: the training engine and the transformers engine on CUDA, bf16, random-init models.

    python -m perf.gpu [--sizes 135m,1b] [--out results/perf/gpu.json]

Builds random-init Llama models of SmolLM2-135M's shape (and a ~1B shape) on the spot (no download),
then measures in one run: LoRA training step time for vanilla vs ProCon (same data and seed), full
fine-tuning step time, and HF-engine generation tokens/s. Runs on CPU too (tiny shapes) so the script
itself is tested here before it spends device time.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from defenses import build_defense
from harness.config import LoraConfig, TrainConfig
from harness.data import DataSpec, load_records
from harness.generation import GenerationRequest, Generator, SamplingConfig
from harness.generation.cache import GenerationCache
from harness.io import write_json_atomic
from harness.manifest import hardware, versions
from harness.models import format_prompt, load_tokenizer, resolve_model
from harness.training.engine import train
from perf.common import probe_direction, step_times

ROOT = Path(__file__).resolve().parents[1]
SHAPES = {  # hidden, layers, heads, kv heads, intermediate
    "tiny": (128, 2, 2, 2, 256),
    "135m": (576, 30, 9, 3, 1536),
    "1b": (2048, 16, 32, 8, 8192),
}


def build_random(shape: str, folder: Path) -> Path:
    from transformers import LlamaConfig, LlamaForCausalLM

    hidden, layers, heads, kv, inter = SHAPES[shape]
    tok = load_tokenizer(resolve_model("tiny-random").path)  # the locally trained BPE tokenizer
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                      num_key_value_heads=kv, intermediate_size=inter, max_position_embeddings=1024,
                      eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, tie_word_embeddings=True)
    torch.manual_seed(0)
    LlamaForCausalLM(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def measure(shape: str, steps: int, batch: int, n_prompts: int, new_tokens: int, dtype: str,
            order: str = "vanilla-first") -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model_dir = build_random(shape, tmp / "model")
        device = "cuda" if torch.cuda.is_available() else "cpu"
        direction = probe_direction(model_dir, dtype, device)
        tok = load_tokenizer(model_dir)
        records = load_records(DataSpec(builtin="string-ops", split="train", limit=steps * batch))
        out: dict = {"shape": dict(zip(("hidden", "layers", "heads", "kv_heads", "intermediate"), SHAPES[shape], strict=True))}
        lora = TrainConfig(steps=steps, batch_size=batch, save_steps=10_000, dtype=dtype, lora=LoraConfig(r=16, alpha=32))
        warm = TrainConfig(steps=4, batch_size=batch, save_steps=10_000, dtype=dtype, lora=LoraConfig(r=16, alpha=32))
        train(model_dir, warm, build_defense("vanilla"), records, tmp / "warmup", progress=False)  # kernels, allocator
        for name, params in sorted((("vanilla", {}), ("procon", {"lam": 10.0})), key=lambda x: x[0], reverse=order == "vanilla-first"):
            train(model_dir, lora, build_defense(name, params), records, tmp / name, direction=direction, progress=False)
            times = step_times(tmp / name)
            out[f"lora_{name}_step_s"] = statistics.mean(times)
        out["procon_over_vanilla"] = out["lora_procon_step_s"] / out["lora_vanilla_step_s"]
        full = TrainConfig(steps=steps, batch_size=batch, save_steps=10_000, dtype=dtype, lora=None)
        train(model_dir, full, build_defense("vanilla"), records, tmp / "full", progress=False)
        out["full_ft_step_s"] = statistics.mean(step_times(tmp / "full"))
        if device == "cuda":
            out["peak_memory_gib"] = torch.cuda.max_memory_allocated() / 2**30
        prompts = [format_prompt(tok, r.prompt) for r in load_records(DataSpec(builtin="harmless", split="test"))][:n_prompts]
        gen = Generator(model_dir, engine="hf", dtype=dtype, cache=GenerationCache(tmp / "cache.sqlite"),
                        engine_kwargs={"batch_size": 64})
        gen.engine  # noqa: B018 - load outside the timed region
        t0 = time.perf_counter()
        comps = gen.generate([GenerationRequest(p) for p in prompts], SamplingConfig(max_new_tokens=new_tokens), progress=False)
        wall = time.perf_counter() - t0
        gen.close()
        out["hf_generate"] = {"prompts": len(prompts), "new_tokens": sum(len(c.token_ids) for c in comps), "wall_s": wall,
                              "tokens_per_s": sum(len(c.token_ids) for c in comps) / wall}
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="135m,1b")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--prompts", type=int, default=64)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--dtype", default="bfloat16")
    ap.add_argument("--order", default="vanilla-first", choices=["vanilla-first", "procon-first"],
                    help="which defense is timed first (to expose order effects on the GPU)")
    ap.add_argument("--out", default=str(ROOT / "results/perf/gpu.json"))
    args = ap.parse_args()
    results = {}
    for shape in args.sizes.split(","):
        t0 = time.perf_counter()
        results[shape] = measure(shape, args.steps, args.batch_size, args.prompts, args.new_tokens, args.dtype,
                                 args.order)
        results[shape]["seconds"] = time.perf_counter() - t0
        print(shape, results[shape], flush=True)
    write_json_atomic(args.out, {"benchmark": "CUDA check: training engine + transformers engine, random-init Llama",
                                 "dtype": args.dtype, "order": args.order, "steps": args.steps, "batch_size": args.batch_size,
                                 "results": results, "hardware": hardware(), "versions": versions()})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
