"""The `tag` command: tag a whole corpus, one output file per input file.

Each output is written to `NAME.partial` and renamed when complete, so a file under its final
name is always complete, and `--resume` skips it.
"""

import os
import resource
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, List, Optional, Tuple

import tqdm
from spacy.language import Language
from spacy.tokens import Doc
from wasabi import msg

from .tag_formats import (
    OUTPUT_SUFFIXES,
    BadLineError,
    InputReader,
    OutputWriter,
    Record,
    TagInputError,
    annotated_attrs,
)
from .tag_jobs import FileJob, find_jobs, pending_jobs

PARTIAL_SUFFIX = ".partial"
REJECTS_SUFFIX = ".rejects.jsonl"


@dataclass
class TagOptions:
    """How each file is read, tagged and written (the same for every engine)."""

    output_format: str = "conllu"
    batch_size: int = 1000
    n_process: int = 1
    text_key: str = "text"
    skip_bad: bool = False


@dataclass
class FileResult:
    """What tagging one file did. records = docs + rejected + blank."""

    source: str
    target: str
    records: int = 0
    docs: int = 0
    words: int = 0
    rejected: int = 0
    blank: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # this process and the worker processes it ran for the file
    peak_rss_mb: float = 0.0
    error: str = ""


@dataclass
class Summary:
    """The whole run: per file results and the files skipped by --resume."""

    results: List[FileResult] = field(default_factory=list)
    skipped: List[str] = field(default_factory=list)
    seconds: float = 0.0

    def total(self, name: str) -> int:
        """RETURNS (int): The sum of one FileResult count over the files."""
        return sum(getattr(result, name) for result in self.results)


ProgressFn = Callable[[int, int], None]  # (bytes read, words tagged) since the last call


def tag_docs(
    nlp: Language, records: Iterable[Record], batch_size: int, n_process: int
) -> Iterator[Tuple[Record, Doc]]:
    """Tag records with nlp.pipe, yielding each record with its doc, in order.

    The records wait in a queue beside the pipe (which keeps the order), so nothing but
    the text or doc goes to the worker processes when n_process > 1. An error while reading
    (a bad line) ends the input and is raised after the docs before it: raised inside the
    input, it would hang spaCy's worker processes.
    """
    waiting: deque = deque()
    failure: List[Exception] = []

    def inputs() -> Iterator:
        try:
            for record in records:
                waiting.append(record)
                yield record.doc_input
        except Exception as err:
            failure.append(err)

    for doc in nlp.pipe(inputs(), batch_size=batch_size, n_process=n_process):
        yield waiting.popleft(), doc
    if failure:
        raise failure[0]


def tag_file(
    nlp: Language,
    job: FileJob,
    opts: TagOptions,
    attrs: List[str],
    progress: Optional[ProgressFn] = None,
) -> FileResult:
    """Tag one input file into its output file, through a `.partial` file renamed at the end.

    nlp (Language): The pipeline.
    job (FileJob): The input and output file.
    opts (TagOptions): Format, batching and bad-input handling.
    attrs (List[str]): The attributes the pipeline sets (annotated_attrs).
    progress (Optional[ProgressFn]): Called with bytes read and words tagged.
    RETURNS (FileResult): The counts. A bad line raises BadLineError unless opts.skip_bad.
    """
    start, cpu_start = time.perf_counter(), cpu_seconds()
    result = FileResult(str(job.source), str(job.target))
    reader = InputReader(job.source, nlp, opts.text_key, opts.skip_bad)
    partial = _with_suffix(job.target, PARTIAL_SUFFIX)
    job.target.parent.mkdir(parents=True, exist_ok=True)
    offset = 0
    try:
        with partial.open("wb") as file_:
            writer = OutputWriter(opts.output_format, attrs, file_)
            for record, doc in tag_docs(nlp, reader, opts.batch_size, opts.n_process):
                writer.write(record, doc)
                result.docs, result.words = result.docs + 1, result.words + len(doc)
                if progress is not None:
                    progress(record.end_offset - offset, len(doc))
                offset = record.end_offset
            writer.close()
        _write_rejects(job, reader)
        os.replace(partial, job.target)
    except BaseException:
        # Ctrl-C, a crash or bad input: never leave a file that looks complete.
        partial.unlink(missing_ok=True)
        raise
    if progress is not None:
        progress(job.source.stat().st_size - offset, 0)
    result.records, result.blank = reader.n_records, reader.n_blank
    result.rejected = len(reader.rejects)
    result.seconds = time.perf_counter() - start
    result.cpu_seconds = cpu_seconds() - cpu_start
    result.peak_rss_mb = peak_rss_mb()
    return result


def _with_suffix(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _write_rejects(job: FileJob, reader: InputReader) -> None:
    """Write the rejected lines beside the output (before it is renamed into place)."""
    rejects = _with_suffix(job.target, REJECTS_SUFFIX)
    if not reader.rejects:
        rejects.unlink(missing_ok=True)  # left by an earlier run of the same file
        return
    partial = _with_suffix(rejects, PARTIAL_SUFFIX)
    lines = (reject.to_json(job.source) + "\n" for reject in reader.rejects)
    partial.write_text("".join(lines), encoding="utf8")
    os.replace(partial, rejects)


def cpu_seconds() -> float:
    """RETURNS (float): CPU time of this process and its finished children (n_process)."""
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


def peak_rss_mb() -> float:
    """RETURNS (float): Peak resident memory of this process and its finished children, MB."""
    who = (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    usage = [resource.getrusage(w).ru_maxrss for w in who]
    return round(max(usage) / 1024, 1)


class Progress:
    """A progress bar on stderr over the input bytes, showing words/s; ETA from bytes."""

    def __init__(self, total_bytes: int) -> None:
        self.bar = tqdm.tqdm(
            total=total_bytes, unit="B", unit_scale=True, file=sys.stderr, disable=None
        )
        self.words = 0
        self.start = time.perf_counter()

    def __call__(self, n_bytes: int, n_words: int) -> None:
        self.words += n_words
        self.bar.update(n_bytes)
        elapsed = max(time.perf_counter() - self.start, 1e-9)
        self.bar.set_postfix_str(f"{self.words / elapsed:,.0f} words/s", refresh=False)

    def close(self) -> None:
        """Remove the bar."""
        self.bar.close()


def run_local(
    model: str, jobs: List[FileJob], opts: TagOptions, progress: ProgressFn, gpu_id: int = -1
) -> Iterator[FileResult]:
    """Tag the files one after another in this process (n_process workers per file)."""
    from spacy.cli._util import setup_gpu
    from spacy.util import load_model

    try:
        setup_gpu(gpu_id, silent=True)
    except ValueError as err:  # thinc: no cupy, or no GPU with that id
        raise TagInputError(f"Cannot use GPU {gpu_id}: {err}") from err
    nlp = load_model(model)  # check_model has made sure it exists
    attrs = annotated_attrs(nlp)
    for job in jobs:
        yield tag_file(nlp, job, opts, attrs, progress)


def run_tag(
    model: str,
    inputs: List[str],
    output: Path,
    opts: TagOptions,
    *,
    resume: bool = False,
    overwrite: bool = False,
    gpu_id: int = -1,
    engine: str = "local",
    ray_options: Optional[dict] = None,
    on_file_done: Optional[Callable[[FileResult], None]] = None,
) -> Summary:
    """Tag every input file with a pipeline and print a summary.

    model (str): A pipeline directory or package name.
    inputs (List[str]): Files, directories or glob patterns.
    output (Path): The output directory.
    opts (TagOptions): Format, batching and bad-input handling.
    resume (bool): Skip inputs whose output is complete.
    overwrite (bool): Tag inputs whose output exists again.
    gpu_id (int): GPU to run on, -1 for the CPU.
    engine (str): "local" or "ray".
    ray_options (Optional[dict]): Keyword arguments of tag_ray.run_ray (address, workers...).
    on_file_done (Optional[Callable[[FileResult], None]]): Called after each finished file.
    RETURNS (Summary): What was done.
    """
    if opts.output_format not in OUTPUT_SUFFIXES:
        valid = ", ".join(OUTPUT_SUFFIXES)
        raise TagInputError(f"Invalid --format {opts.output_format!r}. Valid: {valid}.")
    start = time.perf_counter()
    check_model(model)
    jobs = find_jobs(inputs, Path(output), opts.output_format)
    todo = pending_jobs(jobs, resume, overwrite)
    summary = Summary(skipped=[str(job.source) for job in jobs if job not in todo])
    if not jobs:
        msg.warn(f"No input files found in {', '.join(inputs)}.")
    progress = Progress(sum(job.source.stat().st_size for job in todo))
    finished = False
    try:
        for result in _engine_results(engine, model, todo, opts, progress, gpu_id, ray_options):
            summary.results.append(result)
            if on_file_done is not None:
                on_file_done(result)
        finished = True
    except BadLineError as err:
        raise TagInputError(bad_input_message(str(err))) from err
    finally:
        progress.close()
        summary.seconds = time.perf_counter() - start
        if finished or summary.results:  # after a failure, what was finished
            print_summary(summary)
    return summary


def check_model(model: str) -> None:
    """Fail early, with a message, when the pipeline is neither a directory nor a package."""
    from spacy.util import is_package

    if not Path(model).exists() and not is_package(model):
        raise TagInputError(
            f"Cannot find the pipeline {model!r}: give a pipeline directory (e.g. "
            "training/model-best) or the name of an installed pipeline package."
        )


def bad_input_message(error: str) -> str:
    """RETURNS (str): The error of a bad line, with what was (not) written and what to do."""
    return (
        f"{error}. Nothing was written for this file. Fix the input, or rerun with --skip-bad "
        "to write bad lines to a rejects file and go on; add --resume to keep the files that "
        "are finished."
    )


def _engine_results(
    engine: str,
    model: str,
    jobs: List[FileJob],
    opts: TagOptions,
    progress: ProgressFn,
    gpu_id: int,
    ray_options: Optional[dict],
) -> Iterator[FileResult]:
    if not jobs:
        return iter(())
    if engine == "local":
        return run_local(model, jobs, opts, progress, gpu_id)
    if engine == "ray":
        from .tag_ray import run_ray

        return run_ray(model, jobs, opts, progress, gpu_id=gpu_id, **(ray_options or {}))
    raise TagInputError(f"Invalid --engine {engine!r}. Valid: 'local', 'ray'.")


def print_summary(summary: Summary) -> None:
    """Print files, docs, words, rejected and blank records, time and speed."""
    words, seconds = summary.total("words"), summary.seconds
    rows = [
        ("files tagged", len(summary.results)),
        ("files skipped (--resume)", len(summary.skipped)),
        ("records read", summary.total("records")),
        ("  docs tagged", summary.total("docs")),
        ("  rejected", summary.total("rejected")),
        ("  blank (no text)", summary.total("blank")),
        ("words", words),
        ("time", f"{seconds:.1f} s"),
        ("words/s", f"{words / max(seconds, 1e-9):,.0f}"),
        ("CPU time of the workers", f"{sum(r.cpu_seconds for r in summary.results):.1f} s"),
        ("peak memory per worker", f"{max([r.peak_rss_mb for r in summary.results] or [0])} MB"),
    ]
    msg.table(rows, title="Tagged", aligns=("l", "r"))
    rejects = [r for r in summary.results if r.rejected]
    for result in rejects:
        msg.warn(
            f"{result.rejected} bad record(s) in {result.source}: see "
            f"{_with_suffix(Path(result.target), REJECTS_SUFFIX)}"
        )
