"""Command-line interface: `python -m spacy_lstm_tagger COMMAND`."""

import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List, Optional

import typer
from wasabi import msg

from ..errors import Errors

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


ATTR_HELP = (
    "Attribute to score: 'tag', 'pos' or 'morph'; repeat for several "
    "(default: every target of the lstm_tagger)"
)


@contextmanager
def _fail_on_bad_input() -> Iterator[None]:
    """Show bad input (and a missing optional dependency) as a message, not a traceback."""
    from .corpus_io import EvaluationInputError

    try:
        yield
    except (EvaluationInputError, ImportError) as err:
        msg.fail(str(err), exits=1)


@app.command(
    "crossval", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}
)
def crossval_cli(
    ctx: typer.Context,
    config_path: Path = typer.Argument(..., exists=True, dir_okay=False, help="Training config"),
    corpus: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="Gold corpus: a .spacy DocBin or a .conllu file"
    ),
    output: Path = typer.Option(..., "--output", "-o", help="Directory for folds and summary"),
    folds: int = typer.Option(5, "--folds", "-k", help="Number of folds (K)"),
    seed: int = typer.Option(0, help="Seed of the split into folds"),
    dev_fraction: float = typer.Option(0.1, help="Share of the training folds used as dev"),
    attr: Optional[List[str]] = typer.Option(None, "--attr", metavar="ATTR", help=ATTR_HELP),
    restart: bool = typer.Option(False, "--restart", help="Train finished folds again"),
) -> None:
    """Cross-validate a training config: for each of K folds, train on the other folds
    and score each attribute (and, for several, AllTags) on the held-out one. Override
    config settings as for `spacy train`, e.g. --training.max_steps 200."""
    from spacy.cli._util import parse_config_overrides

    from .crossval import run_crossval

    overrides = parse_config_overrides(ctx.args)
    with _fail_on_bad_input():
        run_crossval(
            config_path,
            corpus,
            output,
            n_folds=folds,
            seed=seed,
            dev_fraction=dev_fraction,
            overrides=overrides,
            restart=restart,
            attr=attr,
        )


@app.command("report")
def report_cli(
    model: str = typer.Argument(..., help="Trained pipeline: a directory or package name"),
    corpus: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="Gold corpus: a .spacy DocBin or a .conllu file"
    ),
    output: Path = typer.Option(..., "--output", "-o", help="Directory for the report"),
    train_corpus: Optional[Path] = typer.Option(
        None, exists=True, dir_okay=False, help="Training corpus, for seen vs unseen words"
    ),
    attr: Optional[List[str]] = typer.Option(None, "--attr", metavar="ATTR", help=ATTR_HELP),
    top_labels: int = typer.Option(20, help="Labels shown on their own in the confusion matrix"),
    confusions: int = typer.Option(10, help="Number of most frequent confusions to list"),
) -> None:
    """Write an error report of a tagger on a gold corpus (gold tokenization), per scored
    attribute: report.md with per-label (and, for morph, per-feature) scores, frequent
    confusions and, for several attributes, AllTags; report.json; confusion.png and f1.png
    (confusion_ATTR.png and f1_ATTR.png for several attributes)."""
    from .report import run_report

    with _fail_on_bad_input():
        run_report(
            model,
            corpus,
            output,
            train_corpus=train_corpus,
            attr=attr,
            top_labels=top_labels,
            n_confusions=confusions,
        )


@app.command("tag")
def tag_cli(
    model: str = typer.Argument(..., help="Pipeline with an lstm_tagger: a directory or package"),
    inputs: List[str] = typer.Argument(
        ...,
        help="Files, directories or glob patterns: .txt (a doc per line), .jsonl, .conllu, .spacy",
    ),
    output: Path = typer.Option(..., "--output", "-o", help="Directory for the output files"),
    output_format: str = typer.Option(
        "conllu", "--format", "-f", help="Output format: conllu, jsonl or spacy"
    ),
    batch_size: int = typer.Option(1000, "--batch-size", "-b", help="Docs per batch"),
    n_process: str = typer.Option(
        "1", "--n-process", "-n", help="Worker processes (local engine); 0 or auto: one per CPU"
    ),
    threads_per_process: Optional[int] = typer.Option(
        None, "--threads-per-process", help="torch threads of each process (workers: 1)"
    ),
    chunk_lines: int = typer.Option(
        2_000,  # tag_core.DEFAULT_CHUNK_LINES, not imported here so that --help stays quick
        "--chunk-lines",
        help="Input lines per chunk shared by the worker processes",
    ),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU ID or -1 for CPU"),
    text_key: str = typer.Option("text", "--text-key", "-tk", help="Text field of JSONL input"),
    resume: bool = typer.Option(False, "--resume", help="Skip inputs whose output is complete"),
    overwrite: bool = typer.Option(False, "--overwrite", help="Tag finished inputs again"),
    skip_bad: bool = typer.Option(
        False, "--skip-bad", help="Write bad lines to NAME.rejects.jsonl and go on"
    ),
    engine: str = typer.Option("local", "--engine", help="local or ray"),
    ray_address: Optional[str] = typer.Option(
        None, "--ray-address", help="Ray cluster to join (default: start Ray here)"
    ),
    workers: Optional[int] = typer.Option(
        None, "--workers", help="Ray actors (default: the cluster's CPUs / --cpus-per-worker)"
    ),
    cpus_per_worker: int = typer.Option(1, "--cpus-per-worker", help="CPUs of each Ray actor"),
) -> None:
    """Tag a corpus: one output file per input file (same relative path), written whole
    or not at all. Run again with --resume after an interruption."""
    from .tag import TagOptions, parse_n_process, run_tag

    opts = TagOptions(output_format, batch_size, 1, text_key, skip_bad, threads_per_process)
    opts.chunk_lines = chunk_lines
    ray_options = {"address": ray_address, "workers": workers, "cpus_per_worker": cpus_per_worker}
    with _fail_on_bad_input():
        opts.n_process = parse_n_process(n_process)
        try:
            run_tag(
                model,
                inputs,
                output,
                opts,
                resume=resume,
                overwrite=overwrite,
                gpu_id=gpu_id,
                engine=engine,
                ray_options=ray_options if engine == "ray" else None,
            )
        except KeyboardInterrupt:
            msg.fail(Errors.E216, exits=130)
