"""Worker processes of `tag --n-process N`: each loads the pipeline once and tags chunks.

The parent cuts each file into chunks (byte ranges of whole lines, or of whole CoNLL-U
sentences; a DocBin is one chunk) and hands them to a process pool
(forked where that is safe, spawned otherwise: `start_method`). A worker
reads its chunk from the file itself and sends back the chunk's output, already serialized
in the output format, with its counts: no Doc crosses a process boundary (spaCy's
`nlp.pipe(n_process=N)` pickles every doc in and out, which made two processes slower than
one). The parent writes the chunks to `NAME.partial` in input order and renames the file
when its last chunk is in, as the single-process path does.
"""

import multiprocessing
import os
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator, List, Optional, Tuple

from spacy.tokens import DocBin

from ..errors import BadLineError, Errors, TagInputError
from .tag_core import (
    FileResult,
    ProgressFn,
    Tagged,
    TagOptions,
    partial_output,
    peak_rss_mb,
    tag_chunk,
    write_rejects,
)
from .tag_formats import InputReader, Reject, annotated_attrs, input_kind
from .tag_jobs import FileJob


@dataclass
class Chunk:
    """One piece of work: the bytes [start, end) of a file, from line first_line on."""

    job: int  # the file's index in the jobs
    index: int
    n_chunks: int  # of the file
    source: str
    start: int
    end: int
    first_line: int


@dataclass
class ChunkResult:
    """What a worker sends back: the chunk's output and counts, or the error that stopped it."""

    chunk: Chunk
    tagged: Optional[Tagged] = None
    cpu_seconds: float = 0.0
    peak_rss_mb: float = 0.0
    error: str = ""


# Test hook: reorders each file's chunks before they are sent (the negative control of the
# order test). None in normal use.
CHUNK_ORDER_HOOK: Optional[Callable[[List[Chunk]], List[Chunk]]] = None

_worker: dict = {}  # the pipeline and options of this worker process


def worker_counts(opts: TagOptions) -> Tuple[int, int]:
    """The worker processes and torch threads per worker the options ask for.

    opts (TagOptions): n_process (0: one worker per usable CPU) and threads_per_process.
    RETURNS (Tuple[int, int]): (processes, threads per process).
    """
    threads = opts.threads_per_process or 1
    if opts.n_process < 0 or threads < 1:
        raise TagInputError(Errors.E303)
    # sched_getaffinity: the CPUs this process may use (a container or taskset may allow
    # fewer); macOS has no such call.
    if hasattr(os, "sched_getaffinity"):
        n_cpus = len(os.sched_getaffinity(0))
    else:
        n_cpus = os.cpu_count() or 1
    return opts.n_process or max(1, n_cpus // threads), threads


def start_method(threads: int, gpu_id: int) -> str:
    """How to start the workers: "fork" where it is safe, "spawn" otherwise.

    A forked worker starts with the parent's imports (spaCy, torch, this package), so the
    workers tag about 1 s sooner than spawned ones, which import them again. Forking is
    safe on Linux when the parent runs no other thread (Python warns about forking a
    multi-threaded process), the workers stay on the CPU (CUDA does not survive a fork) and
    run one torch thread each: torch then never enters its OpenMP pool, which a parent that
    has already used it leaves unusable in the child (spaCy issues 4667, 6662).

    threads (int): torch threads per worker.
    gpu_id (int): The workers' GPU, -1 for the CPU.
    RETURNS (str): A start method of `multiprocessing.get_context`.
    """
    safe = sys.platform.startswith("linux") and threading.active_count() == 1
    if safe and threads == 1 and gpu_id < 0:
        return "fork"
    return "spawn"


def plan_chunks(path: Path, chunk_lines: int) -> List[Tuple[int, int, int]]:
    """Cut a file into chunks of about chunk_lines lines, at line boundaries, or for CoNLL-U at
    blank lines (so a chunk holds whole sentences). A DocBin or an empty file is one chunk.

    path (Path): The input file.
    chunk_lines (int): Lines per chunk (at least; CoNLL-U goes on to the sentence's end).
    RETURNS (List[Tuple[int, int, int]]): (start byte, end byte, first line) of each chunk.
    """
    kind, size = input_kind(path), path.stat().st_size
    if kind == "spacy" or size == 0:
        return [(0, size, 1)]
    chunks: List[Tuple[int, int, int]] = []
    start, first, offset, lines = 0, 1, 0, 0
    with path.open("rb") as file_:
        for number, raw in enumerate(file_, 1):
            offset, lines = offset + len(raw), lines + 1
            # An ASCII-blank line ends a sentence for the reader too (str.strip strips more).
            if lines >= chunk_lines and (kind != "conllu" or not raw.strip()):
                chunks.append((start, offset, first))
                start, first, lines = offset, number + 1, 0
    if start < size or not chunks:
        chunks.append((start, size, first))
    return chunks


def _tasks(jobs: List[FileJob], chunk_lines: int) -> Iterator[Chunk]:
    """Every file's chunks, file after file (run lazily by the pool's task thread)."""
    for i, job in enumerate(jobs):
        ranges = plan_chunks(job.source, max(1, chunk_lines))
        chunks = [Chunk(i, k, len(ranges), str(job.source), *r) for k, r in enumerate(ranges)]
        yield from CHUNK_ORDER_HOOK(chunks) if CHUNK_ORDER_HOOK else chunks


def _init_worker(model: str, opts: dict, threads: int, gpu_id: int) -> None:
    """Start a worker: ignore Ctrl-C (the parent stops the pool), set the torch threads, load
    the pipeline. An error is kept and sent back with the first chunk: raised here, it would
    make the pool start new workers forever."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import torch
        from spacy.cli._util import setup_gpu
        from spacy.util import load_model

        torch.set_num_threads(threads)  # the CPUs given to this worker: never oversubscribe
        setup_gpu(gpu_id, silent=True)
        nlp = load_model(model)
        _worker.update(nlp=nlp, attrs=annotated_attrs(nlp), opts=TagOptions(**opts))
    except Exception as err:
        _worker["error"] = Errors.E321.format(err_type=type(err).__name__, err=err)


def _tag_chunk(chunk: Chunk) -> ChunkResult:
    """Tag one chunk in a worker process."""
    if "error" in _worker:
        return ChunkResult(chunk, error=_worker["error"])
    nlp, opts, cpu = _worker["nlp"], _worker["opts"], time.process_time()
    reader = InputReader(
        Path(chunk.source),
        nlp,
        opts.text_key,
        opts.skip_bad,
        start=chunk.start,
        end=chunk.end,
        first_line=chunk.first_line,
    )
    try:
        tagged = tag_chunk(nlp, reader, opts, _worker["attrs"])
    except BadLineError as err:  # sent back as its message: the parent raises it
        return ChunkResult(chunk, error=str(err))
    return ChunkResult(chunk, tagged, time.process_time() - cpu, peak_rss_mb())


class _Output:
    """The output file of one file's chunks, in order; DocBin chunks are merged and written
    whole at the end."""

    def __init__(self, file_, fmt: str) -> None:
        self.file_, self.spacy = file_, fmt == "spacy"
        self.docbin: Optional[DocBin] = None

    def add(self, data: bytes) -> None:
        if not self.spacy:
            self.file_.write(data)
            return
        docbin = DocBin(store_user_data=False).from_bytes(data)
        if self.docbin is None:
            self.docbin = docbin
        else:
            self.docbin.merge(docbin)

    def close(self) -> None:
        if self.spacy and self.docbin is not None:
            self.file_.write(self.docbin.to_bytes())


def _add_chunk(result: FileResult, got: ChunkResult, rejects: List[Reject]) -> Tagged:
    """Add a chunk's counts to its file's result; RETURNS (Tagged): the chunk's output."""
    if got.error:
        raise TagInputError(got.error)
    tagged = got.tagged
    assert tagged is not None
    result.records += tagged.records
    result.docs += tagged.docs
    result.words += tagged.words
    result.blank += tagged.blank
    result.rejected += len(tagged.rejects)
    result.cpu_seconds += got.cpu_seconds
    result.peak_rss_mb = max(result.peak_rss_mb, got.peak_rss_mb)
    rejects.extend(tagged.rejects)
    return tagged


def _collect_file(
    job: FileJob, results: Iterator[ChunkResult], fmt: str, progress: ProgressFn
) -> FileResult:
    """Write one file's chunks, as they come back in order, to NAME.partial; rename it when
    the last chunk is in. RETURNS (FileResult): The file's counts."""
    start = time.perf_counter()
    result = FileResult(str(job.source), str(job.target))
    rejects: List[Reject] = []
    with partial_output(job) as file_:
        output, received, n_chunks = _Output(file_, fmt), 0, 1
        while received < n_chunks:
            got = next(results)
            received, n_chunks = received + 1, got.chunk.n_chunks
            output.add(_add_chunk(result, got, rejects).data)
            progress(got.chunk.end - got.chunk.start, got.tagged.words)
        output.close()
        write_rejects(job, rejects)
    result.seconds = time.perf_counter() - start
    return result


def run_workers(
    model: str, jobs: List[FileJob], opts: TagOptions, progress: ProgressFn, gpu_id: int = -1
) -> Iterator[FileResult]:
    """Tag the files in worker processes, yielding each file's result, in order, when done.

    model (str): A pipeline directory or package name.
    jobs (List[FileJob]): The files.
    opts (TagOptions): Format, batching, bad-input handling, workers, threads and chunking.
    progress (ProgressFn): Called with each chunk's bytes and words.
    gpu_id (int): GPU of every worker, -1 for the CPU.
    """
    n_workers, threads = worker_counts(opts)
    if Path(model).exists():
        model = str(Path(model).resolve())
    context = multiprocessing.get_context(start_method(threads, gpu_id))
    initargs = (model, asdict(opts), threads, gpu_id)
    # Leaving the block (done, an error, Ctrl-C) terminates and joins every worker.
    with context.Pool(n_workers, initializer=_init_worker, initargs=initargs) as pool:
        results = pool.imap(_tag_chunk, _tasks(jobs, opts.chunk_lines))  # in task order
        for job in jobs:
            yield _collect_file(job, results, opts.output_format, progress)
