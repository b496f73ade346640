"""Which files the `tag` command reads and writes: the inputs (files, directories,
glob patterns), the output path of each, and which of them still need tagging.
"""

import glob
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Tuple

from ..errors import Errors, TagInputError
from .tag_formats import OUTPUT_SUFFIXES


@dataclass
class FileJob:
    """One input file and the output file it becomes."""

    source: Path
    target: Path


def find_jobs(inputs: Iterable[str], output: Path, output_format: str) -> List[FileJob]:
    """The input files (files, directories searched recursively, or glob patterns) and
    their outputs: the same path relative to the input's directory, with the format's suffix.

    inputs (Iterable[str]): Files, directories or glob patterns.
    output (Path): The output directory.
    output_format (str): "conllu", "jsonl" or "spacy".
    RETURNS (List[FileJob]): One job per input file, in a stable order.
    """
    suffix = OUTPUT_SUFFIXES[output_format]
    jobs: Dict[Path, FileJob] = {}
    for pattern in inputs:
        for source, relative in _expand_input(pattern, output):
            target = output / relative.with_suffix(suffix)
            other = jobs.get(target)
            if other is not None and other.source.resolve() != source.resolve():
                message = Errors.E307.format(first=other.source, second=source, target=target)
                raise TagInputError(message)
            jobs[target] = FileJob(source, target)
    return list(jobs.values())


def _expand_input(pattern: str, output: Path) -> List[Tuple[Path, Path]]:
    """(file, path relative to its base directory) for one input argument."""
    path = Path(pattern)
    if path.is_file():
        return [(path, Path(path.name))]
    if path.is_dir():
        base, files = path, sorted(p for p in path.rglob("*") if p.is_file())
    else:
        files = sorted(Path(p) for p in glob.glob(pattern, recursive=True) if Path(p).is_file())
        if not files:
            raise TagInputError(Errors.E306.format(pattern=pattern))
        magic = next(i for i, part in enumerate(path.parts) if glob.has_magic(part))
        base = Path(*path.parts[:magic]) if magic else Path(".")
    output = output.resolve()
    found = []
    for file_ in files:
        relative = file_.relative_to(base)
        hidden = any(part.startswith(".") for part in relative.parts)
        if not hidden and output not in file_.resolve().parents:
            found.append((file_, relative))
    return found


def pending_jobs(jobs: List[FileJob], resume: bool, overwrite: bool) -> List[FileJob]:
    """The jobs to run: without --resume or --overwrite, finished outputs stop the command."""
    done = [job for job in jobs if job.target.exists()]
    if done and not resume and not overwrite:
        raise TagInputError(Errors.E308.format(n_done=len(done), target=done[0].target))
    return [job for job in jobs if not (resume and job.target.exists())]
