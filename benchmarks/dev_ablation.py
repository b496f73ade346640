"""Dev-set ablations of training settings: train a config with overrides, record best dev.

    OMP_NUM_THREADS=1 python -m benchmarks.dev_ablation RUN_NAME CONFIG TREEBANK \\
        --work /tmp/ablate -- --training.dropout 0.33 --system.seed 1

TREEBANK is `ewt` or `gdt` (read from ../shared/data, converted once into WORK/corpus).
Everything after `--` is passed to `spacy train` as config overrides. Appends one line
to WORK/results.jsonl: the run name, the overrides, the best dev score, the step it
was reached at, every target's dev accuracy, the wall time, and with --restricted the
dev accuracies of the joint model with `restrict_morph_by_pos` on. Run several at
once from separate shells, each with OMP_NUM_THREADS=1; vectors.py runs its ablations
through `ablate`.
"""

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Tuple

import typer

from .common import DATA, ROOT, TREEBANKS, convert, metadata, now, one_thread_per_training
from .schedules import recorded_training

# The dev accuracies of a result line's "dev" that the benchmarks show, with their labels.
DEV_KEYS = (("UPOS", "pos_acc"), ("XPOS", "tag_acc"), ("FEATS", "morph_acc"))


def best_dev(out: Path, log: str, score: str) -> Dict[str, float]:
    """The best dev score (from model-best's meta.json), the step of the first evaluation
    that reached it in spaCy's console table, and the number of evaluations."""
    lines = [line.split() for line in log.splitlines()]
    header = next(row for row in lines if score.upper() in row)
    # Counted from the end: the header's "LOSS LSTM_TAGGER" is two words over one column.
    column = header.index(score.upper()) - len(header)
    rows = [row for row in lines if len(row) > 3 and row[0].isdigit() and row[1].isdigit()]
    best_row = max(rows, key=lambda row: float(row[column]))
    meta = json.loads((out / "model-best" / "meta.json").read_text())
    # Every target's accuracy on dev, e.g. pos_acc, tag_acc and morph_acc.
    accs = {k: v for k, v in meta["performance"].items() if k.endswith("_acc") and v is not None}
    return {
        "score": meta["performance"][score],
        "step": int(best_row[1]),
        "evals": len(rows),
        "dev": accs,
    }


def restricted_dev(model: Path, dev: Path) -> Dict[str, float]:
    """Dev accuracies of a joint model with `restrict_morph_by_pos` switched on at load
    (a decoding setting: the same weights, FEATS limited to those seen with the UPOS)."""
    import spacy
    from spacy.training import Corpus

    nlp = spacy.load(model, config={"components": {"lstm_tagger": {"restrict_morph_by_pos": True}}})
    scores = nlp.evaluate(Corpus(str(dev), gold_preproc=True)(nlp))
    return {k: v for k, v in scores.items() if k.endswith("_acc") and v is not None}


def ablate(
    name: str,
    config: Path,
    treebank: str,
    overrides: List[str],
    work: Path,
    score: str = "pos_acc",
    restricted: bool = False,
    data: Path = DATA,
) -> Dict:
    """Train one configuration, append its line to WORK/results.jsonl; RETURNS the line.

    name (str): The run's name (its folder under `work`).
    config (Path): The training config.
    treebank (str): "ewt" or "gdt".
    overrides (List[str]): `spacy train` overrides.
    work (Path): The work folder (WORK/corpus: the converted treebank).
    score (str): The dev score whose best is reported.
    restricted (bool): Also score dev with `restrict_morph_by_pos` on.
    data (Path): The folder of the UD treebanks.
    """
    source = data / TREEBANKS[treebank][0]
    paths = convert(treebank, work / "corpus" / treebank, source, splits=("train", "dev"))
    out = work / name
    out.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "spacy", "train", str(config), "--output", str(out),
        "--paths.train", str(paths["train"]), "--paths.dev", str(paths["dev"]),
        "--nlp.lang", TREEBANKS[treebank][2],
        *overrides,
    ]  # fmt: skip
    start = time.time()
    log = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    (out / "train.log").write_text(log)
    result = {
        "name": name,
        "treebank": treebank,
        "overrides": overrides,
        **best_dev(out, log, score),
        "wall_s": round(time.time() - start),
        # model-best is written when the best dev score is reached: the time to best.
        "best_s": round((out / "model-best" / "meta.json").stat().st_mtime - start),
    }
    if restricted:
        result["dev_restricted"] = restricted_dev(out / "model-best", paths["dev"])
    print(json.dumps(result), flush=True)
    with (work / "results.jsonl").open("a") as handle:
        handle.write(json.dumps(result) + "\n")
    return result


def read_lines(path: Path) -> Dict[str, Dict]:
    """RETURNS (Dict[str, Dict]): Each finished run's line of a results file, by name (the
    last wins); empty if the file does not exist."""
    if not path.exists():
        return {}
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {line["name"]: line for line in lines}


def ablate_into(
    record: Path, name: str, config: str, overrides: List[str], steps: int, work: Path, meta: Dict
) -> Dict:
    """Train one EWT run of a benchmark's table (CONFIG with the overrides, for `steps`
    steps) with `ablate`, then append its line, with the config's name and `meta` (how it
    was run), to the benchmark's results file.

    record (Path): The benchmark's JSONL results file.
    config (str): A file of configs/, or the absolute path of a config the benchmark wrote.
    RETURNS (Dict): The line.
    """
    overrides = ["--training.max_steps", str(steps), *overrides]
    path = Path(config) if Path(config).is_absolute() else ROOT / "configs" / config
    recorded = [arg for k, v in recorded_training(config).items() for arg in (f"--{k}", str(v))]
    overrides = recorded + overrides
    line = ablate(name, path, "ewt", overrides, work)
    line["config"] = config
    line["meta"] = {**meta, "date": now()}
    record.parent.mkdir(parents=True, exist_ok=True)
    with record.open("a") as handle:
        handle.write(json.dumps(line) + "\n")
    print("done:", json.dumps(line), flush=True)
    return line


def ablate_table(
    record: Path,
    table: Dict[str, Tuple[str, List[str], int]],
    names: List[str],
    jobs: int,
    work: Path,
    module: str,
    kind: str,
) -> None:
    """Train every run of a benchmark's table (or each one named, in that order) that has
    no line yet in its results file, `jobs` at once, one thread each (`ablate_into`).

    record (Path): The benchmark's JSONL results file.
    table (Dict[str, Tuple[str, List[str], int]]): By run name: the config (in configs/),
        its `spacy train` overrides and its step budget.
    names (List[str]): Only these runs; all if empty.
    jobs (int): Trainings at once.
    work (Path): The scratch folder (WORK/corpus: the converted treebank).
    module (str): The benchmark's module, for the lines' metadata.
    kind (str): What the runs are called in messages, e.g. "ablations".
    """
    unknown = sorted(set(names or []) - set(table))
    if unknown:
        raise typer.BadParameter(f"unknown {kind} {unknown}; known: {sorted(table)}")
    todo = [name for name in names or table if name not in read_lines(record)]
    print(f"{len(todo)} {kind} to train:", todo, flush=True)
    one_thread_per_training()
    if todo:  # once, before the trainings share it
        convert("ewt", work / "corpus" / "ewt", splits=("train", "dev"))
    meta = metadata(module)

    def train(name: str) -> None:
        config, overrides, steps = table[name]
        ablate_into(record, name, config, overrides, steps, work, meta)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(train, todo))


def main(
    name: str = typer.Argument(..., help="Name of the run"),
    config: Path = typer.Argument(..., help="Training config"),
    treebank: str = typer.Argument(..., help="ewt or gdt"),
    overrides: List[str] = typer.Argument(None, help="spacy train overrides, after --"),
    work: Path = typer.Option(Path("/tmp/ablate"), help="Work directory"),
    score: str = typer.Option("pos_acc", help="Dev score to report"),
    restricted: bool = typer.Option(False, help="Also score with restrict_morph_by_pos"),
    data: Path = typer.Option(DATA, help="Folder of the UD treebanks"),
) -> None:
    """Train one configuration and record its best dev score."""
    ablate(name, config, treebank, overrides or [], work, score, restricted, data)


if __name__ == "__main__":
    typer.run(main)
