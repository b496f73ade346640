"""Joint tagging benchmark: UPOS, XPOS and FEATS from one network against spaCy's tagger
and morphologizer sharing a tok2vec, and against single-target systems.

    OMP_NUM_THREADS=1 python -m benchmarks.joint --treebank ewt --jobs 2   # days on 2 cores
    OMP_NUM_THREADS=1 python -m benchmarks.joint --treebank gdt --jobs 2
    python -m benchmarks.joint --treebank gdt --render-only  # the table from the results
    python -m benchmarks.joint --treebank gdt --rescore  # score the saved models again
    python -m benchmarks.joint --treebank gdt --quick --jobs 1 --seeds 1  # checks the path

Every training is `spacy train` with gold tokens, seeds set, patience on dev and no
epoch cap, one thread each (`--jobs 2` runs two at once). Each (system, seed) writes
benchmarks/results/joint/TREEBANK/SYSTEM_sSEED.json once trained and scored on test, so
a rerun skips it; a training without its result file starts again from scratch. The
seed-0 models are timed together into speed.json (again with `--speed`); lstm_joint is
also scored with FEATS restricted by UPOS ("restricted" in its result files). The section
`joint-TREEBANK` of BENCHMARKS.md and the `joint-summary` table of README.md are written
from the result files (joint_render.py).
"""

import json
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import typer

from .common import (
    ROOT,
    TREEBANKS,
    WORK,
    convert,
    disk_mb,
    git_commit,
    last_json,
    metadata,
    now,
    one_thread_per_training,
    write_json,
    write_section,
)
from .joint_measure import BFLOAT16
from .joint_render import (
    JOINT,
    RESTRICTED,
    load_runs,
    load_speeds,
    readme_summary,
    treebank_section,
)
from .systems import HEADLINE, SYSTEMS, sample_train, step_budget, write_config
from .training import read_log, saved_best, train

MEASURE = [sys.executable, "-m", "benchmarks.joint_measure"]


def evaluate(system: str, model: Path, corpus: Dict[str, Path]) -> Dict:
    """Score a model on test in a fresh process; RETURNS its scores and disk size, and
    for lstm_joint its scores with FEATS restricted by UPOS under "restricted"."""
    cmd = [
        *MEASURE, "evaluate", str(model), str(corpus["train"]), str(corpus["test"]),
        "--attrs", ",".join(SYSTEMS[system].attrs),
    ]  # fmt: skip

    def scored(*flags: str) -> Dict:
        return last_json([*cmd, *flags])

    scores = {**scored(), "disk_mb": disk_mb(model)}
    if system == "lstm_joint":
        scores["restricted"] = scored("--restrict")
    return scores


def rescore(results: Path, corpus: Dict[str, Path]) -> None:
    """Score every result file's saved model on test again (the evaluation code changed),
    keeping its training figures, and rewrite the result files."""
    commit = git_commit()  # before this run rewrites tracked result files
    for path in sorted(results.glob("*_s*.json")):
        result = json.loads(path.read_text())
        scores = evaluate(result["system"], Path(result["meta"]["model"]), corpus)
        result.update(scores)
        log = Path(result["meta"]["config"]).parent / "train.jsonl"
        if log.exists():  # the step of the model saved, by the rule of `saved_best`
            result["best_step"] = saved_best(read_log(log))["step"]
        result["meta"]["rescored"] = f"{now()}, {commit}"
        write_json(path, result)
        print(f"rescored {path.name}", flush=True)


def with_max_steps(overrides: List[str], steps: int) -> List[str]:
    """overrides (List[str]): `spacy train` overrides with one `--training.max_steps`.
    RETURNS (List[str]): The same overrides, that one set to steps."""
    i = overrides.index("--training.max_steps")
    return [*overrides[: i + 1], str(steps), *overrides[i + 2 :]]


def run_job(
    system: str,
    seed: int,
    treebank: str,
    dirs: Dict[str, Path],
    overrides: List[str],
    meta: Dict,
) -> Path:
    """Train and score one (system, seed) from scratch, then write its result file.

    dirs (Dict[str, Path]): "runs" (training folders), "results", and the splits.
    overrides (List[str]): `spacy train` overrides shared by every system.
    meta (Dict): The run's commit, command and settings, stored with the result.
    RETURNS (Path): The result file.
    """
    out = dirs["runs"] / f"{system}_s{seed}"
    if out.exists():  # an interrupted training: start again
        shutil.rmtree(out)
    out.mkdir(parents=True)
    config = write_config(system, treebank, out / "config.cfg", out / "train.jsonl")
    seeds = ["--system.seed", str(seed), "--training.seed", str(seed)]
    # A schedule's end replaces the shared step cap, except in a quick check (100 steps).
    budget = None if meta["quick"] else step_budget(system)
    steps = with_max_steps(overrides, budget) if budget else overrides
    info = train(config, out, dirs, [*seeds, *steps], meta["time_cap_minutes"])
    scores = evaluate(system, out / "model-best", dirs)
    result = {
        "system": system,
        "seed": seed,
        "attrs": list(SYSTEMS[system].attrs),
        "meta": {
            **meta,
            "date": now(),
            "config": str(config),
            "model": str(out / "model-best"),
        },
        **info,
        **scores,
    }
    path = dirs["results"] / f"{system}_s{seed}.json"
    write_json(path, result)
    print(f"done: {system} seed {seed}", json.dumps(scores), flush=True)
    return path


def plan(
    names: List[str], seeds: int, results: Path, only: Optional[List[int]] = None
) -> List[Tuple[str, int]]:
    """RETURNS (List[Tuple[str, int]]): The (system, seed) pairs without a result file,
    the headline pair seed by seed first (the seeds `only` names, if any: another run
    may be training the others), the other systems with seed 0."""
    chosen = [s for s in range(seeds) if not only or s in only]
    jobs = [(n, s) for s in chosen for n in HEADLINE if n in names]
    jobs += [(n, 0) for n in names if n not in HEADLINE]
    return [(n, s) for n, s in jobs if not (results / f"{n}_s{s}.json").exists()]


def run_all(jobs: List[Tuple[str, int]], n_jobs: int, **kwargs) -> List[str]:
    """Run the jobs, `n_jobs` at once; RETURNS the ones that failed (the others go on)."""
    failed = []
    with ThreadPoolExecutor(max_workers=n_jobs) as pool:
        futures = {pool.submit(run_job, n, s, **kwargs): f"{n}_s{s}" for n, s in jobs}
        for future in as_completed(futures):
            try:
                future.result()
            except Exception as err:  # noqa: BLE001 - report it, let the others finish
                print(f"FAILED: {futures[future]}: {err!r}", flush=True)
                failed.append(futures[future])
    return failed


def measure_speed(results: Path, repeats: int) -> bool:
    """Time the seed-0 model of every finished system, in one fresh process, into
    results/speed.json; RETURNS (bool) False, with speed.json as it was, when one of those
    models is no longer on disk (a new file would lose its recorded speed)."""
    runs = load_runs(results)
    models = {n: r[0]["meta"]["model"] for n, r in runs.items() if r[0]["seed"] == 0}
    gone = sorted(n for n, m in models.items() if not Path(m).exists())
    if gone:
        print(
            f"Not timed: the seed-0 models of {', '.join(gone)} are not on disk (train them "
            f"again to time them); {results / 'speed.json'} is kept as it was",
            flush=True,
        )
        return False
    if "lstm_joint" in models:  # also in bfloat16, the opt-in precision
        models["lstm_joint" + BFLOAT16] = models["lstm_joint"]
        models[RESTRICTED] = models["lstm_joint"]  # as the joint configs decode
    test = next(iter(runs.values()))[0]["meta"]["test"]
    cmd = [*MEASURE, "speed", test]
    cmd += [f"{n}={m}" for n, m in models.items()] + ["--repeats", str(repeats)]
    print("$", " ".join(cmd), flush=True)
    meta = metadata("joint")  # before the run: the commit and tree it timed
    speeds = {"meta": {**meta, "repeats": repeats, "models": models}}
    speeds["words_per_second"] = last_json(cmd)
    write_json(results / "speed.json", speeds)
    return True


def speed_missing(results: Path) -> bool:
    """RETURNS (bool): Whether a finished system has no speed in results/speed.json."""
    timed = load_speeds(results)
    return any(name not in timed for name in load_runs(results))


def render(treebank: str, results: Path, markdown: Path, readme: Optional[Path]) -> None:
    """Write the treebank's section of `markdown` and, unless None, the summary table of
    every treebank in `readme`, from the result files; print the section.

    treebank (str): "ewt" or "gdt".
    results (Path): The treebank's result folder (its parent holds every treebank's).
    markdown (Path): The BENCHMARKS.md to write.
    readme (Optional[Path]): The README.md to write, or None (quick runs).
    """
    text = treebank_section(treebank, results)
    if text is None:
        raise typer.BadParameter(f"No result files in {results}")
    write_section(markdown, f"joint-{treebank}", text)
    print(text, f"\n(written to {markdown})", sep="\n")
    if readme is not None:
        write_section(readme, "joint-summary", readme_summary(results.parent))


def main(
    treebank: str = typer.Option(..., help="ewt or gdt"),
    seeds: int = typer.Option(3, help="Seeds of lstm_joint and spacy_pair (others: seed 0)"),
    only_seeds: Optional[List[int]] = typer.Option(
        None, "--seed", help="Only these of the seeds (another run trains the others)"
    ),
    jobs: int = typer.Option(1, help="Trainings at once (one thread each)"),
    systems: Optional[List[str]] = typer.Option(None, "--system", help="Only these systems"),
    max_steps: int = typer.Option(50000, help="Step cap, far beyond convergence"),
    time_cap: float = typer.Option(
        0, help="Minutes a training may run (0: none): fit a seed into a session"
    ),
    eval_frequency: Optional[int] = typer.Option(None, help="Steps between dev scores"),
    quick: bool = typer.Option(False, help="100 steps, results in WORK/quick_results"),
    speed: bool = typer.Option(False, help="Only re-measure the speed, then render"),
    render_only: bool = typer.Option(False, help="Only re-render from the result files"),
    rescore_only: bool = typer.Option(
        False, "--rescore", help="Only score the saved models again, then render"
    ),
    repeats: int = typer.Option(5, help="Timed speed rounds (median), after a warm-up"),
    train_size: Optional[int] = typer.Option(
        None, help="Train on this many sentences drawn at random (a learning curve)"
    ),
    sample_seed: int = typer.Option(0, help="Seed of the --train-size sample"),
    work: Path = typer.Option(WORK / "joint", help="Scratch folder"),
    markdown: Path = typer.Option(ROOT / "BENCHMARKS.md", help="Markdown file to write"),
) -> None:
    """Train, score and time every system that has no result yet; render the table."""
    if treebank not in TREEBANKS:
        raise typer.BadParameter(f"--treebank must be one of {sorted(TREEBANKS)}")
    one_thread_per_training()
    if quick:
        max_steps, eval_frequency = 100, 50
        markdown = Path(tempfile.mkstemp(prefix=f"joint-{treebank}-", suffix=".md")[1])
    name = treebank + (f"_n{train_size}_s{sample_seed}" if train_size else "")
    results = (work / "quick_results" if quick else JOINT) / name
    results.mkdir(parents=True, exist_ok=True)
    sample = (train_size, sample_seed) if train_size else None
    failed: List[str] = []
    if rescore_only:
        rescore(results, convert(treebank, work / "corpus" / treebank))
    elif not (render_only or speed):
        overrides = ["--training.max_epochs", "0", "--training.max_steps", str(max_steps)]
        if eval_frequency:
            overrides += ["--training.eval_frequency", str(eval_frequency)]
        todo = plan(list(systems or SYSTEMS), seeds, results, only_seeds)
        runs = work / ("quick_runs" if quick else "runs")
        failed = train_missing(
            treebank, todo, jobs, overrides, runs, results, quick, sample, time_cap
        )
    # A learning curve's models are not timed, and vectors.py renders them.
    timed = speed or (not (render_only or rescore_only) and speed_missing(results))
    untimed = timed and not sample and not measure_speed(results, repeats)
    if not sample:
        render(treebank, results, markdown, None if quick else ROOT / "README.md")
    if speed and untimed:  # asked for, not done
        raise typer.Exit(1)
    if failed:
        print("Failed:", failed, "- rerun to retry them", flush=True)
        raise typer.Exit(1)


def train_missing(
    treebank: str,
    todo: List[Tuple[str, int]],
    jobs: int,
    overrides: List[str],
    runs: Path,
    results: Path,
    quick: bool,
    sample: Optional[Tuple[int, int]] = None,
    time_cap: float = 0,
) -> List[str]:
    """Train and score (system, seed) pairs, `jobs` at once.

    treebank (str): "ewt" or "gdt".
    todo (List[Tuple[str, int]]): The (system, seed) pairs.
    jobs (int): Trainings at once.
    overrides (List[str]): `spacy train` overrides of every system.
    runs (Path): The folder of the training folders (RUNS/TREEBANK/SYSTEM_sSEED).
    results (Path): The folder of the result files.
    quick (bool): Whether this is a quick check.
    sample (Optional[Tuple[int, int]]): Train on a sample: its size and seed.
    time_cap (float): Minutes each training may run (0: no cap).
    RETURNS (List[str]): The failed ones.
    """
    corpus = convert(treebank, runs.parent / "corpus" / treebank)
    if sample:
        corpus = sample_train(corpus, *sample)
    meta = {
        **metadata("joint"),
        "quick": quick,
        "time_cap_minutes": time_cap,
        "training_overrides": overrides,
        "test": str(corpus["test"]),
        "train": str(corpus["train"]),
    }
    print(f"{len(todo)} trainings to run:", todo, flush=True)
    dirs = {**corpus, "runs": runs / results.name, "results": results}
    return run_all(todo, jobs, treebank=treebank, dirs=dirs, overrides=overrides, meta=meta)


if __name__ == "__main__":
    typer.run(main)
