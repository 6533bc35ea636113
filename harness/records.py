"""The one record shape every data source is mapped into."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Record:
    """One prompt (and optionally a reference response) from any benchmark or training set."""

    id: str
    prompt: str
    response: str | None = None
    category: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
