"""Joint tagging benchmark: UPOS, XPOS and FEATS from one network against spaCy's tagger
and morphologizer sharing a tok2vec, and against single-target systems (issue 10).

    OMP_NUM_THREADS=1 python benchmarks/joint.py --treebank ewt --jobs 2   # days on 2 cores
    OMP_NUM_THREADS=1 python benchmarks/joint.py --treebank gdt --jobs 2
    python benchmarks/joint.py --treebank gdt --render-only  # the table from the results
    python benchmarks/joint.py --treebank gdt --rescore  # score the saved models again
    python benchmarks/joint.py --treebank gdt --quick --jobs 1 --seeds 1  # checks the path

Every training is `spacy train` with gold tokens, seeds set, patience on dev and no
epoch cap, one thread each (`--jobs 2` runs two at once). Each (system, seed) writes
benchmarks/results/joint/TREEBANK/SYSTEM_sSEED.json once trained and scored on test, so
a rerun skips it; a training without its result file starts again from scratch. The
seed-0 models are timed together into speed.json (again with `--speed`); lstm_joint is
also scored with FEATS restricted by UPOS ("restricted" in its result files). The section
`joint-TREEBANK` of BENCHMARKS.md and the `joint-summary` table of README.md are written
from the result files.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import typer

sys.path.insert(0, str(Path(__file__).parent))
from dev_ablation import TREEBANKS  # noqa: E402
from ewt import ROOT, git_commit, run_capped  # noqa: E402
from joint_measure import BFLOAT16  # noqa: E402
from joint_render import RESTRICTED, section, summary_table  # noqa: E402
from joint_systems import HEADLINE, SYSTEMS, TITLES, convert, sample_train, write_config  # noqa: E402
from measure import disk_mb  # noqa: E402
from render import write_section  # noqa: E402


def read_log(path: Path) -> List[Dict]:
    """RETURNS (List[Dict]): The records of a JSONL training log, one per evaluation."""
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def saved_best(log: List[Dict]) -> Dict:
    """RETURNS (Dict): The evaluation whose model is model-best: spaCy saves a tie with
    the best dev score again, so the last of the best is the one saved."""
    return max(reversed(log), key=lambda record: record["score"])


def train(
    config: Path, out: Path, corpus: Dict[str, Path], overrides: List[str], minutes: float = 0
) -> Dict:
    """Train with `spacy train` in a fresh process; RETURNS its training figures.

    config (Path): The config, with its JSONL log at out/train.jsonl.
    out (Path): The output folder (model-best, model-last).
    corpus (Dict[str, Path]): The converted splits.
    overrides (List[str]): Further `spacy train` overrides (seeds, steps).
    minutes (float): Stop the training after this long (0: no cap); the result then says
        stopped_by "time_cap", and model-best is the best model found until then.
    RETURNS (Dict): Seconds to best dev and in all, best step and dev scores, peak RSS.
    """
    cmd = [
        sys.executable, "-m", "spacy", "train", str(config), "--output", str(out),
        "--paths.train", str(corpus["train"]), "--paths.dev", str(corpus["dev"]),
        "--corpora.train.gold_preproc", "true", "--corpora.dev.gold_preproc", "true",
        *overrides,
    ]  # fmt: skip
    start = time.time()
    status, peak = run_capped(cmd, out / "train.log", minutes)
    log = read_log(out / "train.jsonl")
    best = saved_best(log)
    meta_file = out / "model-best" / "meta.json"
    performance = json.loads(meta_file.read_text())["performance"]
    return {
        # spaCy rewrites model-best at each better dev score: its last write is when the
        # best model was found, counted from the launch of `spacy train`.
        "train_seconds": round(meta_file.stat().st_mtime - start, 1),
        "total_train_seconds": round(time.time() - start, 1),
        "best_step": best["step"],
        "last_step": log[-1]["step"],
        "best_dev_score": best["score"],
        "dev": {k: v for k, v in performance.items() if k.endswith("_acc") and v is not None},
        "train_peak_rss_mb": peak,
        "stopped_by": status,
    }


def evaluate(system: str, model: Path, corpus: Dict[str, Path]) -> Dict:
    """Score a model on test in a fresh process; RETURNS its scores and disk size, and
    for lstm_joint its scores with FEATS restricted by UPOS under "restricted"."""
    cmd = [
        sys.executable, str(Path(__file__).parent / "joint_measure.py"), "evaluate",
        str(model), str(corpus["train"]), str(corpus["test"]), "--attrs", ",".join(SYSTEMS[system]),
    ]  # fmt: skip

    def scored(*flags: str) -> Dict:
        out = subprocess.run([*cmd, *flags], check=True, stdout=subprocess.PIPE, text=True).stdout
        return json.loads(out.strip().splitlines()[-1])

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
        result["meta"]["rescored"] = f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}, {commit}"
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(f"rescored {path.name}", flush=True)


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
    info = train(config, out, dirs, [*seeds, *overrides], meta["time_cap_minutes"])
    scores = evaluate(system, out / "model-best", dirs)
    result = {
        "system": system,
        "seed": seed,
        "attrs": list(SYSTEMS[system]),
        "meta": {
            **meta,
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "config": str(config),
            "model": str(out / "model-best"),
        },
        **info,
        **scores,
    }
    path = dirs["results"] / f"{system}_s{seed}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"done: {system} seed {seed}", json.dumps(scores), flush=True)
    return path


def plan(names: List[str], seeds: int, results: Path) -> List[Tuple[str, int]]:
    """RETURNS (List[Tuple[str, int]]): The (system, seed) pairs without a result file,
    the headline pair seed by seed first, the other systems with seed 0."""
    jobs = [(n, s) for s in range(seeds) for n in HEADLINE if n in names]
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


def load_runs(results: Path) -> Dict[str, List[Dict]]:
    """RETURNS (Dict[str, List[Dict]]): Per system (SYSTEMS order), each seed's result."""
    runs: Dict[str, List[Dict]] = {}
    for name in SYSTEMS:
        files = sorted(results.glob(f"{name}_s*.json"))
        if files:
            runs[name] = [json.loads(path.read_text()) for path in files]
    return runs


def measure_speed(results: Path, repeats: int) -> None:
    """Time the seed-0 model of every finished system, in one fresh process, into
    results/speed.json."""
    runs = load_runs(results)
    models = {n: r[0]["meta"]["model"] for n, r in runs.items() if r[0]["seed"] == 0}
    if "lstm_joint" in models:  # also in bfloat16, the opt-in precision
        models["lstm_joint" + BFLOAT16] = models["lstm_joint"]
        models[RESTRICTED] = models["lstm_joint"]  # as the joint configs decode
    test = next(iter(runs.values()))[0]["meta"]["test"]
    cmd = [sys.executable, str(Path(__file__).parent / "joint_measure.py"), "speed", test]
    cmd += [f"{n}={m}" for n, m in models.items()] + ["--repeats", str(repeats)]
    print("$", " ".join(cmd), flush=True)
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    meta = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "commit": git_commit()}
    speeds = {"meta": {**meta, "repeats": repeats, "models": models}}
    speeds["words_per_second"] = json.loads(out.strip().splitlines()[-1])
    (results / "speed.json").write_text(json.dumps(speeds, indent=2) + "\n")


def speed_missing(results: Path) -> bool:
    """RETURNS (bool): Whether a finished system has no speed in results/speed.json."""
    timed = load_speeds(results)
    return any(name not in timed for name in load_runs(results))


def load_speeds(results: Path) -> Dict[str, float]:
    """RETURNS (Dict[str, float]): The words/s of each timed system, if measured."""
    speed_file = results / "speed.json"
    return json.loads(speed_file.read_text())["words_per_second"] if speed_file.exists() else {}


def render(treebank: str, results: Path, markdown: Path, readme: Optional[Path]) -> None:
    """Write the treebank's section of `markdown` and, unless None, the summary table of
    every treebank in `readme`, from the result files; print the section.

    treebank (str): "ewt" or "gdt".
    results (Path): The treebank's result folder (its parent holds every treebank's).
    markdown (Path): The BENCHMARKS.md to write.
    readme (Optional[Path]): The README.md to write, or None (quick runs).
    """
    runs = load_runs(results)
    if not runs:
        raise typer.BadParameter(f"No result files in {results}")
    text = section(TITLES[treebank], runs, results / "speed.json")
    write_section(markdown, f"joint-{treebank}", text)
    print(text, f"\n(written to {markdown})", sep="\n")
    if readme is not None:
        folders = [results.parent / name for name in TITLES if (results.parent / name).exists()]
        by_treebank = {f.name: (load_runs(f), load_speeds(f)) for f in folders if load_runs(f)}
        write_section(readme, "joint-summary", summary_table(by_treebank))


def main(
    treebank: str = typer.Option(..., help="ewt or gdt"),
    seeds: int = typer.Option(3, help="Seeds of lstm_joint and spacy_pair (others: seed 0)"),
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
    work: Path = typer.Option(ROOT / "benchmarks" / "work" / "joint", help="Scratch folder"),
    markdown: Path = typer.Option(ROOT / "BENCHMARKS.md", help="Markdown file to write"),
) -> None:
    """Train, score and time every system that has no result yet; render the table."""
    if treebank not in TREEBANKS:
        raise typer.BadParameter(f"--treebank must be one of {sorted(TREEBANKS)}")
    os.environ["OMP_NUM_THREADS"] = "1"  # inherited by every child process
    if quick:
        max_steps, eval_frequency = 100, 50
        markdown = Path(tempfile.mkstemp(prefix=f"joint-{treebank}-", suffix=".md")[1])
    name = treebank + (f"_n{train_size}_s{sample_seed}" if train_size else "")
    results = (work / "quick_results" if quick else ROOT / "benchmarks/results/joint") / name
    results.mkdir(parents=True, exist_ok=True)
    sample = (train_size, sample_seed) if train_size else None
    failed: List[str] = []
    if rescore_only:
        rescore(results, convert(treebank, work / "corpus" / treebank))
    elif not (render_only or speed):
        overrides = ["--training.max_epochs", "0", "--training.max_steps", str(max_steps)]
        if eval_frequency:
            overrides += ["--training.eval_frequency", str(eval_frequency)]
        todo = plan(list(systems or SYSTEMS), seeds, results)
        runs = work / ("quick_runs" if quick else "runs")
        failed = train_missing(
            treebank, todo, jobs, overrides, runs, results, quick, sample, time_cap
        )
    # A learning curve's models are not timed, and benchmarks/vectors.py renders them.
    timed = speed or (not (render_only or rescore_only) and speed_missing(results))
    if timed and not sample:
        measure_speed(results, repeats)
    if not sample:
        render(treebank, results, markdown, None if quick else ROOT / "README.md")
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
        "commit": git_commit(),
        "command": "python benchmarks/joint.py " + " ".join(sys.argv[1:]),
        "machine": "2 CPU cores, no GPU",
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
