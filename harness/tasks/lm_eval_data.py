"""Functions the local lm-eval task YAMLs (``benchmarks/lm_eval_tasks/``) call through ``!function``.

They read the built-in data through ``harness.data`` (no file, no hub) and score with the same
scorers as ``procon-bench eval``, so an lm-eval task and its built-in benchmark agree item by item.
"""

from __future__ import annotations

from benchmarks.tasks import string_ops
from harness.data import DataSpec, load_records

STRING_OPS_COLUMNS = ("id", "prompt", "response", "answer", "category")


def string_ops_rows(split: str) -> list[dict]:
    """The built-in ``string-ops`` split as lm-eval documents: id, prompt, response (lead-in + answer),
    answer (the reference the scorer compares with), category (the operation)."""
    return [{"id": r.id, "prompt": r.prompt, "response": r.response, "answer": r.meta["answer"],
             "category": r.category} for r in load_records(DataSpec(builtin="string-ops", split=split))]


def string_ops_dataset(**_):
    """``custom_dataset`` of ``procon_string_ops``: train (600, the few-shot pool) and test (100).

    lm-eval passes the task's metadata and dataset_kwargs as keyword arguments; none is needed."""
    import datasets

    return datasets.DatasetDict({split: datasets.Dataset.from_list(string_ops_rows(split))
                                 for split in ("train", "test")})


def process_string_ops(doc: dict, results: list[str]) -> dict[str, float]:
    """``exact_match``: ``benchmarks.tasks.string_ops.score`` (the text after the first ': ' of the first
    line equals the answer), the scorer of the built-in ``string-ops`` benchmark."""
    return {"exact_match": float(string_ops.score(results[0], doc["answer"]))}
