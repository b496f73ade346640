"""Command-line interface: `python -m spacy_lstm_tagger COMMAND`."""

import tempfile
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(
    name="spacy-lstm-tagger",
    help="A recurrent (LSTM/GRU) part-of-speech tagger for spaCy.",
    no_args_is_help=True,
)


@app.callback()
def main() -> None:
    """A recurrent (LSTM/GRU) part-of-speech tagger for spaCy."""


@app.command("demo")
def demo_cli(
    output: Optional[Path] = typer.Option(
        None, "--output", "-o", help="Directory for the corpus and the trained pipeline"
    ),
    max_steps: Optional[int] = typer.Option(None, help="Override the number of training steps"),
    seed: int = typer.Option(0, help="Seed for the data split and training"),
) -> None:
    """Train a tagger on the embedded demo corpus and tag a few sentences."""
    from .demo import run_demo

    if output is None:
        with tempfile.TemporaryDirectory() as tmp:
            run_demo(Path(tmp), max_steps=max_steps, seed=seed)
    else:
        run_demo(output, max_steps=max_steps, seed=seed)
