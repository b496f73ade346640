"""What every benchmark shares: paths, CoNLL-U conversion, token scores (by the rules of
`spacy_lstm_tagger.cli.scores`), interleaved timing, peak memory, and the metadata that
each result file records (commit, date, machine, command)."""

import contextlib
import json
import os
import resource
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Callable, ContextManager, Dict, Iterable, List, Optional, Sequence

if TYPE_CHECKING:  # this module stays light: training.py's time-cap wrapper imports it
    from spacy.tokens import Doc

ROOT = Path(__file__).resolve().parent.parent
# The shared data (../shared/data/README.md), or the folder named by BENCHMARKS_DATA (the
# project's `bench_data` var); a user's clone has none, so nothing reads it at import time.
DATA = Path(os.environ.get("BENCHMARKS_DATA") or ROOT.parent / "shared" / "data").resolve()
RESULTS = ROOT / "benchmarks" / "results"
WORK = ROOT / "benchmarks" / "work"
# Treebank: (folder under DATA, file stem, spaCy language).
TREEBANKS = {
    "ewt": ("ud-english-ewt", "en_ewt-ud", "en"),
    "gdt": ("ud-greek-gdt", "el_gdt-ud", "el"),
}
# Each scored attribute's name in the result files.
FIELDS = {"pos": "upos", "tag": "xpos", "morph": "feats"}
# Paths whose changes do not make a measurement's code dirty: what the benchmarks write.
NOT_CODE = ("benchmarks/results", "BENCHMARKS.md", "README.md")


def one_thread_per_training() -> None:
    """Give every training this process starts one torch thread (OMP_NUM_THREADS is
    inherited), as the trainings' words/s and seconds are defined. Another value, such
    as `python -m benchmarks --threads 2`, is overruled, and said so."""
    threads = os.environ.get("OMP_NUM_THREADS", "1")
    if threads != "1":
        print(f"OMP_NUM_THREADS={threads} overruled: every training runs at one thread")
    os.environ["OMP_NUM_THREADS"] = "1"


def run(cmd: List[str], **kwargs) -> subprocess.CompletedProcess:
    """Run a command, echoing it, and stop on failure."""
    print("$", " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, **kwargs)


def last_json(cmd: List[str]) -> Dict:
    """RETURNS (Dict): The JSON of the last line a command prints (stops on failure)."""
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def convert(
    treebank: str,
    corpus: Path,
    source: Optional[Path] = None,
    splits: Sequence[str] = ("train", "dev", "test"),
) -> Dict[str, Path]:
    """Convert a treebank's CoNLL-U files to DocBins with `spacy convert`, once.

    treebank (str): A name of TREEBANKS.
    corpus (Path): The folder of the converted files.
    source (Optional[Path]): The folder of the treebank's CoNLL-U files (default: its
        folder under DATA).
    splits (Sequence[str]): The splits to convert.
    RETURNS (Dict[str, Path]): The DocBin of each split.
    """
    folder, stem, _ = TREEBANKS[treebank]
    source = source or DATA / folder
    corpus.mkdir(parents=True, exist_ok=True)
    paths = {}
    for split in splits:
        out = corpus / f"{stem}-{split}.spacy"
        if not out.exists():
            src = source / f"{stem}-{split}.conllu"
            cmd = [sys.executable, "-m", "spacy", "convert", str(src), str(corpus), "-c", "conllu"]
            run(cmd, stdout=subprocess.DEVNULL)
        paths[split] = out
    return paths


def token_counts(
    gold: Sequence["Doc"],
    docs: Sequence["Doc"],
    attrs: Sequence[str],
    train_forms: Iterable[str] = (),
    pairs: Optional[set] = None,
) -> Dict[str, List[int]]:
    """Right and scored tokens, overall and on forms unseen in training, by the rules of
    `report` and `crossval` (`cli.scores.token_pairs`: who is scored, what is a value).

    gold (Sequence[Doc]): The gold docs.
    docs (Sequence[Doc]): The predicted docs, on the gold tokens.
    attrs (Sequence[str]): The attributes ("pos", "tag", "morph").
    train_forms (Iterable[str]): The forms of the training corpus.
    pairs (Optional[set]): The (UPOS, FEATS) pairs of the training corpus, to count
        "seen_pair" (the predicted pair occurs in training) when pos and morph are scored.
    RETURNS (Dict[str, List[int]]): Per field (and "alltags" when all three are scored):
        right, total, unseen right, unseen total.
    """
    from spacy_lstm_tagger.cli.scores import token_pairs

    counts: Dict[str, List[int]] = {}
    forms = set(train_forms)
    all_three = set(attrs) == set(FIELDS)
    with_pairs = pairs is not None and {"pos", "morph"} <= set(attrs)
    for doc_index, g, values in token_pairs(gold, docs, attrs):
        checks = {FIELDS[attr]: label == guess for attr, (label, guess) in values.items()}
        if all_three and len(checks) == len(FIELDS):
            checks["alltags"] = all(checks.values())
        if with_pairs:
            p = docs[doc_index][g.i]
            checks["seen_pair"] = (p.pos_, str(p.morph)) in pairs
        oov = g.text not in forms
        for key, ok in checks.items():
            c = counts.setdefault(key, [0, 0, 0, 0])
            c[0], c[1] = c[0] + ok, c[1] + 1
            if oov:
                c[2], c[3] = c[2] + ok, c[3] + 1
    return counts


def accuracies(counts: Dict[str, List[int]], oov: bool = True) -> Dict[str, float]:
    """RETURNS (Dict[str, float]): `FIELD_acc` of each count, and `oov_FIELD_acc`."""
    result = {}
    for key, (right, total, oov_right, oov_total) in counts.items():
        result[f"{key}_acc"] = right / total
        if oov and oov_total:
            result[f"oov_{key}_acc"] = oov_right / oov_total
    return result


class Stopwatch:
    """Wall-clock and CPU seconds of the blocks it times, by label."""

    def __init__(self) -> None:
        self.wall: Dict[str, List[float]] = defaultdict(list)
        self.cpu: Dict[str, List[float]] = defaultdict(list)

    @contextlib.contextmanager
    def __call__(self, label: str = "all"):
        start, cpu_start = time.perf_counter(), time.process_time()
        yield
        self.wall[label].append(time.perf_counter() - start)
        self.cpu[label].append(time.process_time() - cpu_start)


def time_interleaved(
    tasks: Dict[str, Callable[[Stopwatch], None]], repeats: int
) -> Dict[str, Dict[str, Dict[str, List[float]]]]:
    """Run every task once a round, interleaved, for a warm-up round and `repeats` timed
    ones: machine noise then falls on every task alike.

    tasks (Dict[str, Callable[[Stopwatch], None]]): Each task times its own blocks with
        the stopwatch it is given (what it prepares outside them is not timed).
    repeats (int): The timed rounds.
    RETURNS (Dict[str, Dict[str, Dict[str, List[float]]]]): Per task and label, the
        "wall" and "cpu" seconds of the timed rounds (the warm-up dropped).
    """
    watches = {name: Stopwatch() for name in tasks}
    for _ in range(repeats + 1):
        for name, task in tasks.items():
            task(watches[name])
    return {
        name: {label: {"wall": w.wall[label][1:], "cpu": w.cpu[label][1:]} for label in w.wall}
        for name, w in watches.items()
    }


def pipe_task(
    nlp, gold: Sequence["Doc"], context: Optional[Callable[[], ContextManager]] = None, **kwargs
):
    """RETURNS (Callable[[Stopwatch], None]): A task of `time_interleaved` that tags the
    gold-tokenized docs with `nlp.pipe(batch_size=1000)` under `context`, timing only that."""
    from spacy_lstm_tagger.cli.corpus_io import gold_tokenized

    def task(watch: Stopwatch) -> None:
        docs = [gold_tokenized(nlp, doc) for doc in gold]
        with context() if context else contextlib.nullcontext(), watch():
            for _doc in nlp.pipe(docs, batch_size=1000, **kwargs):
                pass

    return task


def peak_rss_mb(children: bool = False) -> float:
    """RETURNS (float): The peak resident memory of this process (or of its largest
    finished child process), in MB."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)


def disk_mb(path: Path) -> float:
    """RETURNS (float): Total size of the files under path, in MB."""
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20, 2)


def dirty_files() -> List[str]:
    """RETURNS (List[str]): Changed or untracked files of the checkout, but for what the
    benchmarks write (NOT_CODE): with any, a measurement's code is not its commit's."""
    cmd = ["git", "status", "--porcelain", "--", ".", *(f":!{p}" for p in NOT_CODE)]
    return [line[3:] for line in git_output(cmd).splitlines() if line.strip()]


def git_output(cmd: List[str]) -> str:
    """RETURNS (str): A git command's output; empty where there is no git or no repository
    (a copy of the tree without .git, as on a lent device machine)."""
    try:
        return subprocess.run(cmd, cwd=ROOT, text=True, capture_output=True).stdout
    except FileNotFoundError:
        return ""


def git_commit() -> str:
    """RETURNS (str): The current commit, with '+dirty' if the code has changes. In a copy
    of the tree without .git, BENCHMARK_COMMIT names the commit it was copied from."""
    sha = git_output(["git", "rev-parse", "HEAD"]).strip()
    if not sha:
        return os.environ.get("BENCHMARK_COMMIT", "not recorded") + " (copy without .git)"
    return sha + ("+dirty" if dirty_files() else "")


def machine() -> str:
    """RETURNS (str): This machine in words: its CPU cores, the CPU's model and the vector
    instructions torch uses on it (machines of one size differ: an AVX2-only CPU ran our
    tagger at about half the speed of an AVX-512 one), and its GPU."""
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    isa = torch.backends.cpu.get_cpu_capability()
    return f"{os.cpu_count()} CPU cores ({cpu_model()}, torch {isa}), {gpu}"


def cpu_model() -> str:
    """RETURNS (str): The CPU's model name, as /proc/cpuinfo gives it."""
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return names[0] if names else "CPU model unknown"


def now() -> str:
    """RETURNS (str): The date and time, as the result files record it."""
    return time.strftime("%Y-%m-%d %H:%M:%S %Z")


def metadata(module: Optional[str] = None) -> Dict[str, object]:
    """RETURNS (Dict[str, object]): What a result file records of how it was made:
    commit (with '+dirty'), the changed files if any, date, machine, and the command
    (`python -m benchmarks.MODULE` and this process's arguments), and the load average
    (1, 5, 15 minutes) when it was written, this run's own processes included."""
    changed = dirty_files()
    meta: Dict[str, object] = {"commit": git_commit(), "date": now(), "machine": machine()}
    meta["load_average"] = [round(load, 2) for load in os.getloadavg()]
    if changed:
        meta["dirty_files"] = changed[:50]
    if module:
        meta["command"] = " ".join([f"python -m benchmarks.{module}", *sys.argv[1:]])
    return meta


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


def write_json(path: Path, data: Dict) -> None:
    """Write a result file (indented JSON, a final newline)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")


def latest_json(folder: Path) -> Optional[Dict]:
    """RETURNS (Optional[Dict]): The latest of a folder's result files (DATE.json, so
    the last by name), None without one."""
    files = sorted(folder.glob("*.json"))
    return json.loads(files[-1].read_text()) if files else None
