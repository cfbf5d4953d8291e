"""Command-line interface: ``{{ project_name }} [--top N] [FILE ...]``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from my_package import __version__
from my_package.core import word_frequencies


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="{{ project_name }}",
        description="Print the most frequent words of the given files (or standard input).",
    )
    parser.add_argument("files", nargs="*", type=Path, help='files to read; "-" is standard input')
    parser.add_argument("--top", type=int, default=10, help="number of words to show (default: 10)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def read_text(path: Path) -> str:
    if str(path) == "-":
        return sys.stdin.read()
    return path.read_text(encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.top < 0:
        print("error: --top must be non-negative", file=sys.stderr)
        return 2
    paths: list[Path] = args.files or [Path("-")]
    try:
        text = "\n".join(read_text(path) for path in paths)
    except OSError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for word, count in word_frequencies(text, top=args.top):
        print(f"{count:>6}  {word}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
