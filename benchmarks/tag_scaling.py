"""How `tag --n-process N` scales with the cores of one machine: the local engine with 1, 2,
4 ... workers on the text of tag_speed (EWT train's sentences, `--copies` times over, in 8
files and in one big file), every run a fresh process. Writes
benchmarks/results/tag_scaling/DATE.json (BENCHMARKS.md shows the latest) and prints the
table.

    OMP_NUM_THREADS=1 python -m benchmarks.tag_scaling --workers 1,2,4,8,16

Run it on a machine with at least as many free cores as the most workers asked for: each
worker runs one torch thread. The bound beside each speed-up is what N workers could reach
if the start-up of n_process 1 (imports and model load, which every worker also pays, in
parallel) stays serial and the rest divides by N.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

import typer

from .common import DATA, RESULTS, latest_json, metadata, write_json
from .joint_render import provenance_lines
from .tag_speed import BIG, make_corpus, make_model, run_one, same_outputs

RESULT_DIR = RESULTS / "tag_scaling"
INPUTS = {"8 files": ("corpus", "out"), BIG: ("big", "big")}


def measure(
    model: Path,
    work: Path,
    workers: List[int],
    repeats: int,
    save: Callable[[Dict, List[int]], None],
) -> None:
    """Each worker count on the 8 files and on the big file, in rounds over every count;
    the fastest round of each counts. After each count, `save` gets the results so far
    and the counts they cover, so that a run cut short still leaves a result file.

    save (Callable): Called with (results, counts): by "N, INPUTS" tag_speed's figures of
        the fastest run, its words/s and every round's wall time; by "N, start-up" one
        line's.
    """
    rounds: Dict[str, List[Dict]] = {}
    for i in range(repeats):
        for done, n in enumerate(workers, 1):
            spec = {"n_process": n}
            one = run_one(model, work / "one", work / f"one_n{n}_{i}", spec)
            rounds.setdefault(f"{n}, start-up", []).append(one)
            for label, (inputs, out) in INPUTS.items():
                run = run_one(model, work / inputs, work / f"{out}_n{n}_{i}", spec)
                rounds.setdefault(f"{n}, {label}", []).append(run)
                print(f"n_process {n}, {label}, round {i}: {run['wall_s']:.1f} s", file=sys.stderr)
            # Until the first round ends, only the counts it has reached have a run.
            save(best_runs(rounds), workers if i else workers[:done])


def best_runs(rounds: Dict[str, List[Dict]]) -> Dict[str, Dict]:
    """RETURNS (Dict[str, Dict]): The fastest of each key's runs, with its words/s and
    every round's wall time."""
    results: Dict[str, Dict] = {}
    for key, runs in rounds.items():
        best = dict(min(runs, key=lambda r: r["wall_s"]))
        best["words_per_s"] = best["words"] / best["wall_s"]
        best["round_wall_s"] = [r["wall_s"] for r in runs]
        results[key] = best
    return results


def bound(one: Dict, startup_s: float, n: int) -> float:
    """RETURNS (float): n_process 1's wall time over that of an ideal N-worker run whose
    start-up stays serial and whose rest divides by N."""
    startup = min(startup_s, one["wall_s"])
    return one["wall_s"] / (startup + (one["wall_s"] - startup) / n)


def table(results: Dict[str, Dict], workers: List[int]) -> str:
    """RETURNS (str): A Markdown table: words/s and speed-up against n_process 1 (with its
    bound) on the 8 files and on the big file, start-up and peak memory per worker."""
    head = "| n_process | start-up s |"
    rule = "|---|---|"
    for label in INPUTS:
        head += f" {label}: words/s | × n_process 1 (bound) |"
        rule += "---|---|"
    head += " peak RSS per worker MB | words per worker CPU s (8 files) |"
    rows = [head, rule + "---|---|"]
    startup_1 = results["1, start-up"]["wall_s"]
    for n in workers:
        row = f"| {n} | {results[f'{n}, start-up']['wall_s']:.1f} |"
        for label in INPUTS:
            run, one = results[f"{n}, {label}"], results[f"1, {label}"]
            ratio = run["words_per_s"] / one["words_per_s"]
            row += f" {run['words_per_s']:,.0f} | {ratio:.2f}× ({bound(one, startup_1, n):.2f}×) |"
        peak = max(results[f"{n}, {label}"]["worker_peak_rss_mb"] for label in INPUTS)
        row += f" {peak:.0f} | {results[f'{n}, 8 files']['words_per_cpu_s']:,.0f} |"
        rows.append(row)
    return "\n".join(rows)


def section(runs: Path = RESULT_DIR) -> Optional[str]:
    """RETURNS (Optional[str]): The `tag-scaling` section of BENCHMARKS.md from the latest
    result file; None without one."""
    data = latest_json(runs)
    if data is None:
        return None
    meta = data["meta"]
    return "\n".join(
        [
            "## Tagging a corpus on more cores: `tag --n-process N`\n",
            "The local engine of `tag` with N workers (one torch thread each) on the text of "
            f"the tag-speed section ({meta.get('copies', 1)} copies of EWT train's sentences, "
            "in 8 files and in one big file; CoNLL-U out), every run a fresh process, on a "
            "machine with more cores than these 2-core machines. Best of the rounds by wall "
            "time; the bound is what N workers reach if n_process 1's start-up (its one-line "
            "run) stays serial and the rest divides by N.\n",
            *provenance_lines(meta),
            f"- usable cores: {meta.get('cores', 'not recorded')}; rounds: {meta.get('rounds')}; "
            f"all runs wrote identical files: {data['identical_outputs']}\n",
            table(data["results"], data["workers"]),
        ]
    )


def main(
    data: Path = typer.Option(DATA / "ud-english-ewt", help="EWT CoNLL-U folder"),
    work: Path = typer.Option(Path("/tmp/tag_scaling"), help="Working directory"),
    workers: str = typer.Option("1,2,4,8,16", help="Worker counts, comma-separated"),
    repeats: int = typer.Option(1, help="Rounds over every worker count"),
    copies: int = typer.Option(4, help="EWT train's text this many times over"),
) -> None:
    """Measure `tag --n-process N` for each N on EWT text."""
    counts = sorted({int(n) for n in workers.split(",")} | {1})
    work.mkdir(parents=True, exist_ok=True)
    model = make_model(data, work)
    make_corpus(data, work, copies)
    for old in [*work.glob("out_*"), *work.glob("big_*"), *work.glob("one_*")]:
        subprocess.run(["rm", "-rf", str(old)], check=True)
    # machine() names the CPU; this says how many of its cores the workers could use.
    cores = len(os.sched_getaffinity(0))
    meta = {**metadata("tag_scaling"), "copies": copies, "rounds": repeats, "cores": cores}
    path = RESULT_DIR / f"{time.strftime('%Y%m%d-%H%M%S')}.json"

    def save(results: Dict, done: List[int]) -> None:
        out = {"meta": meta, "workers": done, "results": results}
        write_json(path, {**out, "identical_outputs": same_outputs(work)})
        print(table(results, done), f"\n(written to {path})", file=sys.stderr)

    measure(model, work, counts, repeats, save)
    identical = json.loads(path.read_text())["identical_outputs"]
    print(f"All runs wrote identical files: {identical}")


if __name__ == "__main__":
    typer.run(main)
