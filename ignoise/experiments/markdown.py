"""Markdown tables in the papers' layout, written to a file and printed."""

from __future__ import annotations

from pathlib import Path

__all__ = ["noise_column", "table", "write"]

_NOISE_NAMES = {"sym": "Sym", "asym": "Asym", "pairflip": "Pair-flip", "instance": "Instance"}


def noise_column(setting: str) -> str:
    """``"sym:0.5"`` -> ``"Sym 50%"``.

    Examples:
        >>> noise_column("pairflip:0.4")
        'Pair-flip 40%'
    """
    noise, rate = setting.split(":")
    return f"{_NOISE_NAMES.get(noise, noise)} {100 * float(rate):g}%"


def table(title: str, corner: str, columns: list[str], cells: dict[str, list[str]]) -> str:
    """A bold title, then a table with one row per ``cells`` entry.

    Examples:
        >>> print(table("T", "Method", ["Sym 50%"], {"GAL": ["92.5"]}))
        **T**
        <BLANKLINE>
        | Method | Sym 50% |
        | --- | ---: |
        | GAL | 92.5 |
        <BLANKLINE>
    """
    lines = [f"**{title}**", "", f"| {corner} | " + " | ".join(columns) + " |",
             "| --- |" + " ---: |" * len(columns)]
    lines += [f"| {row} | " + " | ".join(values) + " |" for row, values in cells.items()]
    return "\n".join(lines) + "\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(text)
    return path
