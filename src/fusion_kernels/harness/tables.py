"""The one Markdown table renderer of the package's commands."""

from __future__ import annotations


def _cell(value) -> str:
    # A '|' or a line break inside a cell (an exception's message) would split the row.
    return " ".join(str(value).split()).replace("|", "/")


def markdown(headers, rows, align: str = "") -> str:
    """`headers` and one line per row of `rows` (any values; None is empty) as a Markdown table.
    `align` has one letter per column, 'l' or 'r' (right: numbers); missing letters are 'l'."""
    headers = list(headers)
    rule = ["---:" if align[i:i + 1] == "r" else "---" for i in range(len(headers))]
    lines = ["| " + " | ".join(_cell(h) for h in headers) + " |", "|" + "|".join(rule) + "|"]
    for row in rows:
        row = list(row)
        if len(row) != len(headers):
            raise ValueError(f"a row has {len(row)} cells, the table {len(headers)} columns: {row!r}")
        lines.append("| " + " | ".join("" if c is None else _cell(c) for c in row) + " |")
    return "\n".join(lines)
