import pytest

from my_package import word_frequencies


def test_counts_case_insensitively() -> None:
    assert word_frequencies("Apple apple APPLE pear") == [("apple", 3), ("pear", 1)]


def test_ties_are_sorted_alphabetically() -> None:
    assert word_frequencies("b a c") == [("a", 1), ("b", 1), ("c", 1)]


@pytest.mark.parametrize(
    ("text", "top", "expected"),
    [
        ("", None, []),
        ("one two two", 1, [("two", 2)]),
        ("don't stop", None, [("don't", 1), ("stop", 1)]),
        ("numbers 123 are ignored", 0, []),
    ],
)
def test_examples(text: str, top: int | None, expected: list[tuple[str, int]]) -> None:
    assert word_frequencies(text, top=top) == expected


def test_negative_top_is_rejected() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        word_frequencies("x", top=-1)
