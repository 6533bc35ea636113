"""Judges: ``get_judge("keyword-gcg").judge(prompts, responses) -> list[Verdict]``.

Refusal judges (keyword lists and rules) and classifier judges (``classifier.py``: HarmBench,
Llama Guard 3, WildGuard, served by our generation engine).

Importing this package registers every built-in judge.
"""

from harness.judges import classifier as _classifier  # noqa: F401  (registers the classifier judges)
from harness.judges import keyword as _keyword  # noqa: F401  (registers the keyword judges)
from harness.judges import keyword_rules as _keyword_rules  # noqa: F401  (registers keyword-rules)
from harness.judges import llm as _llm  # noqa: F401  (registers the LLM judges: llm-harm, llm-strongreject, mt-bench)
from harness.judges.base import Judge, Verdict, available_judges, get_judge, register_judge

__all__ = ["Judge", "Verdict", "available_judges", "get_judge", "register_judge"]
