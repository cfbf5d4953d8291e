"""Core logic. Keep it free of I/O so it is easy to test."""

from __future__ import annotations

import re
from collections import Counter

_WORD = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*")


def word_frequencies(text: str, top: int | None = None) -> list[tuple[str, int]]:
    """Return ``(word, count)`` pairs, most frequent first.

    Words are case-folded; ties are broken alphabetically so the result is
    deterministic.

    >>> word_frequencies("The cat and the hat", top=2)
    [('the', 2), ('and', 1)]
    """
    if top is not None and top < 0:
        raise ValueError("top must be non-negative")
    counts = Counter(match.group().casefold() for match in _WORD.finditer(text))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ranked if top is None else ranked[:top]
