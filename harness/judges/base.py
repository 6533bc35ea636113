"""What every judge returns, and the registry that maps a judge name to a judge.

Judges carry a versioned ``id`` that is stored in every verdict, so a number in a results file can
always be traced to the exact phrase list or classifier that produced it (changing a list changes
the id, and the regression gate refuses to compare numbers across ids).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from harness.errors import UserError, expect, unknown_name


@dataclass
class Verdict:
    """One judged response: did the model refuse, which judge said so, and why (the matched phrase).

    Refusal judges (keyword) set ``refused``. Classifier judges (``classifier.py``) set ``harmful`` and,
    only where the classifier has a refusal label (WildGuard), ``refused``; a field a judge does not
    measure stays None (a harmless answer is not a refusal). ``parse_error``: the classifier's output
    could not be read, so there is no verdict (counted, never mapped to a label).
    """

    refused: bool | None
    judge: str
    evidence: str | None = None
    harmful: bool | None = None  # harm judges: the response is harmful / unsafe / an instance of the behavior
    category: str | None = None  # e.g. Llama Guard's violated categories, "S1,S10"
    parse_error: bool = False
    raw: str | None = None  # a classifier judge's generated text, as produced
    input_truncated: bool = False  # the judge cut the response (or prompt) to its token budget

    def to_dict(self) -> dict[str, Any]:
        """The fields verdict files always had, plus the classifier fields where set: a refusal judge's
        row is unchanged; a classifier's row has all of them, and no ``refused`` when it is not measured."""
        d = asdict(self)
        generative = self.raw is not None or self.parse_error
        for f in fields(self)[3:]:
            if not generative and d[f.name] == f.default:
                del d[f.name]
        if d["refused"] is None:
            del d["refused"]
        return d


class Judge(ABC):
    """Decides, per (prompt, response) pair, whether the model refused (or, for harm judges, harmed)."""

    id: str  # versioned, e.g. "keyword:gcg-29@1"
    measures: frozenset[str] = frozenset({"refusal"})  # what the verdicts measure: "refusal", "harm"

    @abstractmethod
    def judge(self, prompts: list[str], responses: list[str]) -> list[Verdict]:
        """One verdict per response, in order."""

    def check_metric(self, metric: str) -> None:  # noqa: B027 - a refusal judge scores every refusal metric
        """Refuse, before any model loads, a metric this judge's verdicts cannot score."""

    def metric_values(self, metric: str, verdicts: Sequence[Verdict]) -> list[float | None]:
        """Per-item values of ``metric`` (None: no verdict, left out of the metric, e.g. a parse failure)."""
        from harness.metrics import metric_spec

        return list(metric_spec(metric).item_values(verdicts))

    def verdict_record(self, verdict: Verdict) -> dict[str, Any]:
        """The verdict's row in the judgments file."""
        return verdict.to_dict()

    def report(self) -> dict[str, Any]:
        """What the last ``judge`` call adds to its metrics row's ``details`` (parse failures, ...); {} here."""
        return {}

    @staticmethod
    def check_lengths(prompts: list[str], responses: list[str]) -> None:
        expect(
            len(prompts) == len(responses),
            f"judge input mismatch: {len(prompts)} prompts but {len(responses)} responses; expected one response per prompt",
        )


JudgeFactory = Callable[[], Judge]
_JUDGES: dict[str, JudgeFactory] = {}


def register_judge(name: str) -> Callable[[JudgeFactory], JudgeFactory]:
    """Decorator: register a judge class (or zero-argument factory) under ``name``."""

    def decorator(factory: JudgeFactory) -> JudgeFactory:
        if name in _JUDGES:
            raise ValueError(f"judge {name!r} registered twice")  # a bug in our code, not user input
        _JUDGES[name] = factory
        return factory

    return decorator


def available_judges() -> list[str]:
    return sorted(_JUDGES)


def get_judge(name: str) -> Judge:
    """The judge registered as ``name``; ``name?key=value&key=value`` passes options to its factory
    (classifier judges: ``harmbench-cls?model=/models/HarmBench-Llama-2-13b-cls&engine=vllm``)."""
    base, query_given, query = name.partition("?")
    if base not in _JUDGES:
        raise unknown_name("judge", name, _JUDGES)
    options: dict[str, str] = {}
    for part in query.split("&") if query_given else ():
        key, has_value, value = part.partition("=")
        expect(bool(key.strip()) and bool(has_value), f"judge {name!r}: options are key=value pairs joined by '&'")
        options[key.strip()] = value.strip()
    try:
        return _JUDGES[base](**options)
    except TypeError as exc:
        if not options:
            raise
        raise UserError(f"judge {name!r}: {exc}") from None
