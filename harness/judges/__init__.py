"""Refusal judges: ``get_judge("keyword-gcg").judge(prompts, responses) -> list[Verdict]``.

Importing this package registers every built-in judge.
"""

from harness.judges import keyword as _keyword  # noqa: F401  (registers the keyword judges)
from harness.judges.base import Judge, Verdict, available_judges, get_judge, register_judge

__all__ = ["Judge", "Verdict", "available_judges", "get_judge", "register_judge"]
