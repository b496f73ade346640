"""BENCHMARKS.md and README.md's `joint-summary` table, from the result files alone:

    python -m benchmarks.render            # write both
    python -m benchmarks.render --check    # exit 1 if either is not what the results give

Each section sits between `<!-- NAME:start -->` and `<!-- NAME:end -->` markers, so the
benchmark that measures it (joint.py, vectors.py, speed.py) can rewrite it alone.
"""

from pathlib import Path
from typing import Callable, List, Optional, Tuple

import typer

from . import (
    frontier,
    joint_render,
    long_docs,
    partial_annotation,
    speed,
    tag_scaling,
    tag_speed,
    train_steps,
    train_time,
    vectors_render,
)
from .common import ROOT

HEADER = """# Benchmarks

Written by `python -m benchmarks.render` from the result files in `benchmarks/results/`
alone: do not edit it by hand. Each table says the commit, date, machine and command that
made it, as its result file records them ("not recorded" where the file has none; a commit
ending in `+dirty` was measured with uncommitted changes). Commands are shown as recorded:
older ones have the form `python benchmarks/NAME.py`, today's is `python -m benchmarks.NAME`.
[benchmarks/README.md](benchmarks/README.md) says what each benchmark measures and how to
run it again.

Sections: joint tagging on UD English EWT and on UD Greek GDT; pretrained vectors; speed on
a CPU; the encoder's speed/accuracy frontier; training time; memory of one long doc;
tagging a corpus with the `tag` command; fitting partly annotated data.
"""
# Marker name and the function that writes the section (None: no result files yet).
SECTIONS: List[Tuple[str, Callable[[], Optional[str]]]] = [
    ("joint-ewt", lambda: joint_render.treebank_section("ewt")),
    ("joint-gdt", lambda: joint_render.treebank_section("gdt")),
    ("vectors-ewt", vectors_render.section),
    ("speed", speed.speed_section),
    ("frontier", frontier.section),
    ("train-time", train_time.section),
    ("train-steps", train_steps.section),
    ("long-docs", long_docs.section),
    ("tag-speed", tag_speed.section),
    ("tag-scaling", tag_scaling.section),
    ("partial-annotation", partial_annotation.section),
]


def benchmarks_md() -> str:
    """RETURNS (str): The text of BENCHMARKS.md."""
    parts = [HEADER]
    for name, write in SECTIONS:
        text = write()
        if text is not None:
            parts.append(f"<!-- {name}:start -->\n{text}\n<!-- {name}:end -->\n")
    return "\n".join(parts)


def readme_md(readme: Path) -> str:
    """RETURNS (str): README.md with its `joint-summary` table from the result files."""
    text = readme.read_text()
    start, end = "<!-- joint-summary:start -->", "<!-- joint-summary:end -->"
    before, rest = text.split(start, 1)
    after = rest.split(end, 1)[1]
    return f"{before}{start}\n{joint_render.readme_summary()}\n{end}{after}"


def main(
    markdown: Path = typer.Option(ROOT / "BENCHMARKS.md", help="BENCHMARKS.md to write"),
    readme: Path = typer.Option(ROOT / "README.md", help="README.md whose table to write"),
    check: bool = typer.Option(False, help="Only check that both are up to date"),
) -> None:
    """Write BENCHMARKS.md and the README's summary table from the result files."""
    wanted = {markdown: benchmarks_md(), readme: readme_md(readme)}
    if check:
        stale = [str(path) for path, text in wanted.items() if path.read_text() != text]
        if stale:
            typer.echo(f"Not what the result files give: {', '.join(stale)}", err=True)
            raise typer.Exit(1)
        return
    for path, text in wanted.items():
        path.write_text(text)
    typer.echo(f"written: {markdown}, {readme}")


if __name__ == "__main__":
    typer.run(main)
