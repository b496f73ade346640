"""What every engine of the `tag` command shares: the options, the per-file results and the
tagging of one file (or one chunk of a file) in this process.

tag.py (the command), tag_workers.py (worker processes) and tag_ray.py (Ray actors) import
this module, and it imports none of them.
"""

import os
import resource
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import BinaryIO, Callable, Iterable, Iterator, List, Optional, Tuple

from spacy.language import Language
from spacy.tokens import Doc

from .tag_formats import InputReader, OutputWriter, Record, Reject
from .tag_jobs import FileJob

PARTIAL_SUFFIX = ".partial"
REJECTS_SUFFIX = ".rejects.jsonl"
# Small enough that the workers finish a big file together: the last worker waits for at
# most one chunk (a file of 50,000 lines is 25 chunks, 13 against 12 on two workers).
DEFAULT_CHUNK_LINES = 2_000

ProgressFn = Callable[[int, int], None]  # (bytes read, words tagged) since the last call


@dataclass
class TagOptions:
    """How each file is read, tagged and written (the same for every engine).

    n_process: 1 tags in this process, N > 1 in N worker processes, 0 in one per usable CPU
    (divided by threads_per_process). threads_per_process: torch threads of each worker
    (None: 1 for workers; torch's default in this process). chunk_lines: input lines (whole
    CoNLL-U sentences) per chunk that the workers share.
    """

    output_format: str = "conllu"
    batch_size: int = 1000
    n_process: int = 1
    text_key: str = "text"
    skip_bad: bool = False
    threads_per_process: Optional[int] = None
    chunk_lines: int = DEFAULT_CHUNK_LINES


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


@dataclass
class Tagged:
    """One chunk (or a whole file) tagged into memory: the output bytes and the counts.
    Plain data, so that a worker process can send it back cheaply (no Doc)."""

    data: bytes
    records: int = 0
    docs: int = 0
    words: int = 0
    blank: int = 0
    rejects: List[Reject] = field(default_factory=list)
    end_offset: int = 0  # the input bytes read, up to the end of the chunk


def tag_docs(
    nlp: Language, records: Iterable[Record], batch_size: int
) -> Iterator[Tuple[Record, Doc]]:
    """Tag records with nlp.pipe in this process, yielding each record with its doc, in order.

    The records wait in a queue beside the pipe (which keeps the order). An error while reading
    (a bad line) ends the input and is raised after the docs before it.
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

    for doc in nlp.pipe(inputs(), batch_size=batch_size):
        yield waiting.popleft(), doc
    if failure:
        raise failure[0]


def tag_records(
    nlp: Language,
    reader: InputReader,
    writer: OutputWriter,
    batch_size: int,
    progress: Optional[ProgressFn] = None,
) -> Tuple[int, int, int]:
    """Tag what the reader reads and write it with the writer (closed at the end).

    RETURNS (Tuple[int, int, int]): Docs, words, and the input offset of the last record.
    """
    docs = words = 0
    offset = reader.start
    for record, doc in tag_docs(nlp, reader, batch_size):
        writer.write(record, doc)
        docs, words = docs + 1, words + len(doc)
        if progress is not None:
            progress(record.end_offset - offset, len(doc))
        offset = record.end_offset
    writer.close()
    return docs, words, offset


def tag_chunk(nlp: Language, reader: InputReader, opts: TagOptions, attrs: List[str]) -> Tagged:
    """Tag one chunk of a file (what the reader reads) into memory.

    nlp (Language): The pipeline.
    reader (InputReader): The chunk's reader.
    opts (TagOptions): Format and batching.
    attrs (List[str]): The attributes the pipeline sets (annotated_attrs).
    RETURNS (Tagged): The chunk's output and counts. A bad line raises BadLineError (E310)
        unless opts.skip_bad.
    """
    buffer = BytesIO()
    writer = OutputWriter(opts.output_format, attrs, buffer)
    docs, words, _ = tag_records(nlp, reader, writer, opts.batch_size)
    return Tagged(
        buffer.getvalue(), reader.n_records, docs, words, reader.n_blank, reader.rejects, reader.end
    )


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
    with partial_output(job) as file_:
        writer = OutputWriter(opts.output_format, attrs, file_)
        result.docs, result.words, offset = tag_records(
            nlp, reader, writer, opts.batch_size, progress
        )
        write_rejects(job, reader.rejects)
    if progress is not None:
        progress(job.source.stat().st_size - offset, 0)
    result.records, result.blank = reader.n_records, reader.n_blank
    result.rejected = len(reader.rejects)
    result.seconds = time.perf_counter() - start
    result.cpu_seconds = cpu_seconds() - cpu_start
    result.peak_rss_mb = peak_rss_mb()
    return result


@contextmanager
def partial_output(job: FileJob) -> Iterator[BinaryIO]:
    """Open the job's output as `NAME.partial`; rename it into place when the block ends
    without an error, and remove it otherwise, so a file under its final name is complete.

    job (FileJob): The input and output file.
    YIELDS (BinaryIO): The open `.partial` file.
    """
    partial = with_suffix(job.target, PARTIAL_SUFFIX)
    job.target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with partial.open("wb") as file_:
            yield file_
        os.replace(partial, job.target)
    except BaseException:
        # Ctrl-C, a crash or bad input: never leave a file that looks complete.
        partial.unlink(missing_ok=True)
        raise


def with_suffix(path: Path, suffix: str) -> Path:
    """RETURNS (Path): The path with the suffix added to its name."""
    return path.with_name(path.name + suffix)


def write_rejects(job: FileJob, rejects: List[Reject]) -> None:
    """Write the rejected lines beside the output (before it is renamed into place)."""
    path = with_suffix(job.target, REJECTS_SUFFIX)
    if not rejects:
        path.unlink(missing_ok=True)  # left by an earlier run of the same file
        return
    partial = with_suffix(path, PARTIAL_SUFFIX)
    lines = (reject.to_json(job.source) + "\n" for reject in rejects)
    partial.write_text("".join(lines), encoding="utf8")
    os.replace(partial, path)


def cpu_seconds() -> float:
    """RETURNS (float): CPU time of this process and its finished children."""
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


def peak_rss_mb() -> float:
    """RETURNS (float): Peak resident memory of this process and its finished children, MB."""
    who = (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    usage = [resource.getrusage(w).ru_maxrss for w in who]
    return round(max(usage) / 1024, 1)
