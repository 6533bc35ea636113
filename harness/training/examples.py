"""Turn (prompt, response) records into token ids with the LM loss on response tokens only."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from harness.models import format_prompt
from harness.records import Record

IGNORE_INDEX = -100


@dataclass
class Example:
    input_ids: list[int]
    labels: list[int]
    prompt_len: int  # index prompt_len - 1 is the last prompt token (the token before the answer)
    index: int  # position in the training set (keys reference statistics)
    kind: str = "task"  # task | harmful_mix | extra (added by a defense)
    truncated: bool = False  # the response (+ EOS) was cut at max_length

    @property
    def response_tokens(self) -> int:
        return len(self.input_ids) - self.prompt_len

    def to_features(self) -> dict:
        return {"input_ids": self.input_ids, "labels": self.labels, "prompt_len": self.prompt_len,
                "sample_index": self.index}


def encode_prompt(tokenizer, prompt: str, system_prompt: str | None, max_prompt_length: int) -> list[int]:
    """Chat-formatted prompt ids, truncated from the left of the user text if too long."""
    ids = tokenizer(format_prompt(tokenizer, prompt, system_prompt), add_special_tokens=False)["input_ids"]
    if len(ids) > max_prompt_length:
        ids = ids[-max_prompt_length:]  # keep the generation prompt (assistant header) intact
    return ids


def encode_example(tokenizer, record: Record, index: int, system_prompt: str | None, max_length: int,
                   max_prompt_length: int, kind: str = "task") -> Example:
    prompt_ids = encode_prompt(tokenizer, record.prompt, system_prompt, max_prompt_length)
    response = (record.response or "") + tokenizer.eos_token
    response_ids = tokenizer(response, add_special_tokens=False)["input_ids"]
    ids = (prompt_ids + response_ids)[:max_length]
    labels = ([IGNORE_INDEX] * len(prompt_ids) + response_ids)[:max_length]
    prompt_len = min(len(prompt_ids), max_length)
    return Example(ids, labels, prompt_len, index, kind, truncated=len(prompt_ids) + len(response_ids) > max_length)


def encode_records(tokenizer, records: list[Record], system_prompt: str | None, max_length: int,
                   max_prompt_length: int, kind: str = "task", start_index: int = 0) -> list[Example]:
    return [encode_example(tokenizer, r, start_index + i, system_prompt, max_length, max_prompt_length, kind)
            for i, r in enumerate(records)]


class Collator:
    """Right-pads a batch (causal attention: prompt positions are unaffected by the padding)."""

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = pad_token_id

    def __call__(self, features: list[dict]) -> dict[str, torch.Tensor]:
        width = max(len(f["input_ids"]) for f in features)
        def pad(seq, value):
            return seq + [value] * (width - len(seq))
        return {
            "input_ids": torch.tensor([pad(f["input_ids"], self.pad_token_id) for f in features]),
            "attention_mask": torch.tensor([pad([1] * len(f["input_ids"]), 0) for f in features]),
            "labels": torch.tensor([pad(f["labels"], IGNORE_INDEX) for f in features]),
            "prompt_len": torch.tensor([f["prompt_len"] for f in features]),
            "sample_index": torch.tensor([f["sample_index"] for f in features]),
        }
