from pathlib import Path

import pytest

from my_package.cli import main


def test_prints_top_words(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sample = tmp_path / "sample.txt"
    sample.write_text("red green red blue red green\n", encoding="utf-8")

    assert main(["--top", "2", str(sample)]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert [line.split() for line in lines] == [["3", "red"], ["2", "green"]]


def test_negative_top_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--top", "-1"]) == 2
    assert "non-negative" in capsys.readouterr().err


def test_missing_file_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "missing.txt")]) == 1
    assert "error:" in capsys.readouterr().err
