"""A deterministic 2-layer random Llama with a locally trained BPE tokenizer (built in seconds).

Tests use it where the real model would be too slow. Weights use a large init std so logits are
peaked and greedy decoding is not decided by float noise (engines then agree token for token).
"""

from __future__ import annotations

import json
from pathlib import Path

from harness.io import atomic_directory, sha256_text

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# The tokenizer's training text: a fixed list, so that adding a built-in data set does not change the
# tiny model (its cache key, its vocabulary, and every test output computed with it).
CORPUS_FILES = ("harmful.jsonl", "harmless.jsonl")


def _corpus() -> list[str]:
    data_dir = Path(__file__).resolve().parent.parent / "benchmarks" / "data"
    lines: list[str] = []
    for path in (data_dir / name for name in CORPUS_FILES):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                lines += [row.get("prompt", ""), row.get("response") or ""]
    lines.append("abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 .,;:!?'\"()-+*/=%$#@&")
    return [x for x in lines if x]


def build_tiny_random(root: Path, version: str) -> Path:
    corpus = _corpus()
    final = root / f"tiny-random-v{version}-{sha256_text(*corpus)[:12]}"
    if (final / "config.json").exists():
        return final
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from harness.models import CHATML_TEMPLATE

    with atomic_directory(final) as scratch:
        bpe = Tokenizer(models.BPE(unk_token=None))
        bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        bpe.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=1024,
            special_tokens=SPECIAL_TOKENS,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        bpe.train_from_iterator(corpus, trainer=trainer)
        tokenizer = PreTrainedTokenizerFast(
            tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>", bos_token=None
        )
        tokenizer.chat_template = CHATML_TEMPLATE
        tokenizer.save_pretrained(scratch)

        config = LlamaConfig(
            vocab_size=len(tokenizer),
            hidden_size=128,
            intermediate_size=256,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=2,
            max_position_embeddings=1024,
            initializer_range=0.2,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
            bos_token_id=None,
            tie_word_embeddings=False,
        )
        torch.manual_seed(0)
        model = LlamaForCausalLM(config)
        model.generation_config.eos_token_id = tokenizer.eos_token_id
        model.generation_config.pad_token_id = tokenizer.pad_token_id
        model.save_pretrained(scratch)
    return final


LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def save_random_lora_adapter(base: Path, out: Path, *, r: int = 8, alpha: int = 16, b_std: float = 0.5,
                             seed: int = 0) -> Path:
    """Save a deliberately strong random LoRA adapter of ``base`` (every projection, random B) to ``out``.

    PEFT initialises B to zero (an adapter that changes nothing) and a weak adapter may not change
    greedy output at all, so B is drawn from N(0, b_std^2) with a fixed seed. Used by the tests and
    by ``perf/evaluation.py`` wherever K distinct adapters are needed without training them.
    """
    import torch
    from peft import LoraConfig, get_peft_model

    from harness.models import load_model

    torch.manual_seed(seed)  # lora_A's kaiming init draws from the global generator
    model = get_peft_model(load_model(base), LoraConfig(r=r, lora_alpha=alpha, lora_dropout=0.0,
                                                        target_modules=list(LORA_TARGETS), task_type="CAUSAL_LM"))
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.copy_(torch.randn(param.shape, generator=gen) * b_std)
    model.save_pretrained(out)
    return out
