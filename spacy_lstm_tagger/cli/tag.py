"""The `tag` command: tag a whole corpus, one output file per input file.

Each output is written to `NAME.partial` and renamed when complete, so a file under its final
name is always complete, and `--resume` skips it.
"""

import sys
import time
from pathlib import Path
from typing import Callable, Iterator, List, Optional

import tqdm
from wasabi import msg

from ..errors import Errors, TagInputError, Warnings
from .tag_core import (
    REJECTS_SUFFIX,
    FileResult,
    ProgressFn,
    Summary,
    TagOptions,
    peak_rss_mb,
    tag_file,
    with_suffix,
)
from .tag_formats import OUTPUT_SUFFIXES, annotated_attrs
from .tag_jobs import FileJob, find_jobs, pending_jobs
from .tag_workers import run_workers, worker_counts

# Re-exported: callers import them from here.
__all__ = ["FileResult", "Summary", "TagOptions", "peak_rss_mb", "run_tag", "tag_file"]


class _Bar(tqdm.tqdm):
    """tqdm without its monitor thread, so that the worker processes can be forked from a
    process with no other thread (`tag_workers.start_method`)."""

    monitor_interval = 0


class Progress:
    """A progress bar on stderr over the input bytes, showing words/s; ETA from bytes."""

    def __init__(self, total_bytes: int) -> None:
        self.bar = _Bar(total=total_bytes, unit="B", unit_scale=True, file=sys.stderr, disable=None)
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
    """Tag the files one after another in this process."""
    import torch
    from spacy.cli._util import setup_gpu
    from spacy.util import load_model

    if opts.threads_per_process:
        torch.set_num_threads(opts.threads_per_process)

    try:
        setup_gpu(gpu_id, silent=True)
    except ValueError as err:  # thinc: no cupy, or no GPU with that id
        raise TagInputError(Errors.E320.format(gpu_id=gpu_id, err=err)) from err
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
        raise TagInputError(Errors.E300.format(output_format=opts.output_format, valid=valid))
    start = time.perf_counter()
    check_model(model)
    jobs = find_jobs(inputs, Path(output), opts.output_format)
    todo = pending_jobs(jobs, resume, overwrite)
    summary = Summary(skipped=[str(job.source) for job in jobs if job not in todo])
    if not jobs:
        msg.warn(Warnings.W300.format(inputs=", ".join(inputs)))
    progress = Progress(sum(job.source.stat().st_size for job in todo))
    finished = False
    try:
        for result in _engine_results(engine, model, todo, opts, progress, gpu_id, ray_options):
            summary.results.append(result)
            if on_file_done is not None:
                on_file_done(result)
        finished = True
    finally:
        progress.close()
        summary.seconds = time.perf_counter() - start
        if finished or summary.results:  # after a failure, what was finished
            print_summary(summary)
    return summary


def parse_n_process(value: str) -> int:
    """RETURNS (int): --n-process as a number; "auto" is 0 (one worker per usable CPU)."""
    if value.strip().lower() == "auto":
        return 0
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise TagInputError(Errors.E302.format(value=value))
    return number


def check_model(model: str) -> None:
    """Fail early, with a message, when the pipeline is neither a directory nor a package."""
    from spacy.util import is_package

    if not Path(model).exists() and not is_package(model):
        raise TagInputError(Errors.E305.format(model=model))


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
    if engine == "local" and worker_counts(opts)[0] > 1:
        return run_workers(model, jobs, opts, progress, gpu_id)
    if engine == "local":
        return run_local(model, jobs, opts, progress, gpu_id)
    if engine == "ray":
        from .tag_ray import run_ray

        return run_ray(model, jobs, opts, progress, gpu_id=gpu_id, **(ray_options or {}))
    raise TagInputError(Errors.E301.format(engine=engine))


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
        rejects_path = with_suffix(Path(result.target), REJECTS_SUFFIX)
        msg.warn(
            Warnings.W301.format(
                n_rejected=result.rejected, source=result.source, rejects=rejects_path
            )
        )
