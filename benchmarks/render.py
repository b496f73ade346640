"""The Markdown table of benchmarks/ewt.py results."""

from pathlib import Path
from typing import Dict

COLUMNS = [
    ("UPOS", "upos_acc", "{:.2%}"),
    ("XPOS", "xpos_acc", "{:.2%}"),
    ("OOV acc", "oov_acc", "{:.2%}"),
    ("train s (to best dev)", "train_seconds", "{:,.0f}"),
    ("words/s (CPU)", "words_per_second", "{:,.0f}"),
    ("peak RSS MB (eval)", "peak_rss_mb", "{:,.0f}"),
    ("disk MB", "disk_mb", "{:.1f}"),
]


def table(results: Dict) -> str:
    """RETURNS (str): One row per system, one column per measure."""
    head = "| system | " + " | ".join(c[0] for c in COLUMNS) + " |"
    rows = [head, "|" + "---|" * (len(COLUMNS) + 1)]
    for name, res in results.items():
        if name == "meta":
            continue
        cells = [fmt.format(res[key]) if key in res else "" for _, key, fmt in COLUMNS]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def write_markdown(results: Dict, path: Path) -> None:
    """Write the results table with the command, commit, date and machine between
    the results markers of `path`, keeping the rest of the file (the ablations)."""
    meta = results["meta"]
    section = (
        "## Results: UD English EWT v2.16 test set, gold tokenization\n\n"
        f"- command: `{meta['command']}`\n- commit: `{meta['commit']}`\n"
        f"- date: {meta['date']}\n- machine: {meta['machine']}\n"
        f"- quick mode: {meta['quick']}\n\n{table(results)}"
    )
    write_section(path, "results", section)


def write_section(path: Path, name: str, text: str) -> None:
    """Put `text` between the `<!-- name:start -->` and `<!-- name:end -->` markers of
    `path` (added at the end if missing), keeping the rest of the file.

    path (Path): The Markdown file.
    name (str): The section's marker name.
    text (str): The section.
    """
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    old = path.read_text() if path.exists() else "# Benchmarks\n"
    if start not in old or end not in old:
        old = f"{old.rstrip()}\n\n{start}\n{end}\n"
    before, rest = old.split(start, 1)
    after = rest.split(end, 1)[1]
    path.write_text(f"{before}{start}\n{text}\n{end}{after}")
