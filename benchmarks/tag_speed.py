"""Speed of the `tag` command on EWT text: local engine (n_process 1 and 2) and Ray (1 and 2
actors), with start-up cost and peak memory per worker. Writes
benchmarks/results/tag_speed/DATE.json (BENCHMARKS.md shows the latest) and prints the table.

    OMP_NUM_THREADS=1 python -m benchmarks.tag_speed --data ../shared/data/ud-english-ewt

The pipeline is `configs/ewt_upos.cfg` initialized (not trained) on EWT dev: tagging speed does
not depend on the weights' values. Pass --model to time a trained pipeline instead. The text is
the `# text =` lines of EWT train (one sentence a line, tokenized by spaCy), `--copies` times
over so that start-up is a small part of a run, in 8 files, and the same lines in one big file
(which `--n-process N` cuts into chunks for its workers).
Every run is a fresh process, so start-up (imports, model load, Ray) is counted as a user sees it.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import typer

from .common import (
    DATA,
    RESULTS,
    ROOT,
    last_json,
    latest_json,
    metadata,
    peak_rss_mb,
    write_json,
)
from .joint_render import provenance_lines

RUNS: Dict[str, Dict] = {
    "local, n_process 1": {"n_process": 1},
    "local, n_process 2": {"n_process": 2},
    "Ray, 1 actor": {"engine": "ray", "workers": 1},
    "Ray, 2 actors": {"engine": "ray", "workers": 2},
}
N_SHARDS = 8
BIG = "one big file"
RESULT_DIR = RESULTS / "tag_speed"
# How the latest result file's runs were ordered (meta "rounds").
ORDER = {
    False: "each configuration's runs came one after another",
    True: "the runs went in rounds, each round over every configuration",
}


def make_model(data: Path, work: Path) -> Path:
    """configs/ewt_upos.cfg initialized on the labels of EWT dev, saved under work."""
    from spacy.tokens import DocBin
    from spacy.training.initialize import init_nlp
    from spacy.util import load_config
    from spacy.vocab import Vocab

    from spacy_lstm_tagger.cli.corpus_io import read_corpus

    model = work / "model"
    if model.exists():
        return model
    docs = read_corpus(data / "en_ewt-ud-dev.conllu", Vocab())
    DocBin(docs=docs[:3000], attrs=["ORTH", "POS", "TAG"]).to_disk(work / "train.spacy")
    config_path = ROOT / "configs" / "ewt_upos.cfg"
    paths = {"paths.train": str(work / "train.spacy"), "paths.dev": str(work / "train.spacy")}
    nlp = init_nlp(load_config(config_path, overrides=paths, interpolate=False))
    nlp.to_disk(model)
    return model


def make_corpus(data: Path, work: Path, copies: int) -> Path:
    """The raw sentences of EWT train, `copies` times over, in N_SHARDS text files and in
    one big file, one sentence a line."""
    corpus = work / "corpus"
    # Beside the input folders, not in one: `tag` would take it for an input file.
    stamp = work / f".corpus_copies{copies}"
    if stamp.exists():
        return corpus
    corpus.mkdir(parents=True, exist_ok=True)
    lines = data.joinpath("en_ewt-ud-train.conllu").read_text(encoding="utf8").splitlines()
    texts = [line[len("# text = ") :] for line in lines if line.startswith("# text = ")]
    texts *= copies
    size = -(-len(texts) // N_SHARDS)
    for i in range(N_SHARDS):
        part = texts[i * size : (i + 1) * size]
        (corpus / f"part{i}.txt").write_text("\n".join(part) + "\n", encoding="utf8")
    (work / "one").mkdir(exist_ok=True)
    (work / "one" / "one.txt").write_text(texts[0] + "\n", encoding="utf8")
    (work / "big").mkdir(exist_ok=True)
    (work / "big" / "all.txt").write_text("\n".join(texts) + "\n", encoding="utf8")
    # The stamps of other copy counts, and of older versions (in big/, an input there).
    for old in [*work.glob(".corpus_copies*"), *(work / "big").glob("copies*")]:
        old.unlink()
    stamp.touch()
    return corpus


def child(model: str, inputs: str, output: str, launched: float, spec: Dict) -> None:
    """Run one `tag` command in this process; print what it did as JSON (last line)."""
    from spacy_lstm_tagger.cli.tag import TagOptions, run_tag

    done: List[Tuple[float, int]] = []
    engine = spec.get("engine", "local")
    summary = run_tag(
        model,
        [inputs],
        Path(output),
        TagOptions(output_format="conllu", n_process=spec.get("n_process", 1)),
        engine=engine,
        ray_options={"workers": spec["workers"]} if engine == "ray" else None,
        on_file_done=lambda result: done.append((time.time(), result.words)),
    )
    # Steady speed: the words of the files finished after each worker's first file, over the
    # time since then (start-up, model loading and Ray's start are outside it).
    skip = spec.get("workers", 1)
    steady_words = sum(words for _, words in done[skip:])
    steady_s = done[-1][0] - done[skip - 1][0] if len(done) > skip else 0.0
    report = {
        "words": summary.total("words"),
        "words_per_cpu_s": summary.total("words") / sum(r.cpu_seconds for r in summary.results),
        "words_per_s_steady": steady_words / steady_s if steady_s else 0.0,
        "first_output_s": done[0][0] - launched,
        "worker_peak_rss_mb": max(r.peak_rss_mb for r in summary.results),
        "driver_peak_rss_mb": max(peak_rss_mb(), peak_rss_mb(children=True)),
    }
    print(json.dumps(report))


def run_one(model: Path, inputs: Path, output: Path, spec: Dict) -> Dict[str, float]:
    """One `tag` run in a fresh process: wall time and the child's report."""
    launched = time.time()
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.tag_speed",
        "--child",
        str(model),
        str(inputs),
        str(output),
    ]
    cmd += [str(launched), json.dumps(spec)]
    result = last_json(cmd)
    result["wall_s"] = time.time() - launched
    return result


def measure(model: Path, work: Path, repeats: int) -> Dict[str, Dict]:
    """Each configuration: start-up on one line, then the 8 files, then the one big file;
    best of the repeats. The repeats are rounds over every configuration, so that a drift
    in the machine's speed (it varies by several percent from minute to minute) falls on
    all of them alike and not on whichever ran last.

    RETURNS (Dict[str, Dict]): By run name ("..., one big file" for the big file); each
    with every round's wall time ("round_wall_s"), in round order.
    """
    startups: Dict[str, List[float]] = {}
    rounds: Dict[str, List[Dict]] = {}
    for i in range(repeats):
        for name, spec in RUNS.items():
            slug = name.replace(", ", "_").replace(" ", "")
            one = run_one(model, work / "one", work / f"one_{slug}_{i}", spec)
            startups.setdefault(name, []).append(one["wall_s"])
            for label, inputs, out in ((name, "corpus", "out"), (f"{name}, {BIG}", "big", "big")):
                run = run_one(model, work / inputs, work / f"{out}_{slug}_{i}", spec)
                rounds.setdefault(label, []).append(run)
                print(
                    label, i, json.dumps({k: round(v, 2) for k, v in run.items()}), file=sys.stderr
                )
    results: Dict[str, Dict] = {}
    for label, runs in rounds.items():
        best = dict(min(runs, key=lambda r: r["wall_s"]))
        best["startup_s"] = min(startups[label.replace(f", {BIG}", "")])
        best["words_per_s"] = best["words"] / best["wall_s"]
        best["round_wall_s"] = [r["wall_s"] for r in runs]
        results[label] = best
    return results


def same_outputs(work: Path) -> bool:
    """Whether every run wrote the same bytes as the first, on the 8 files and on the big
    file, and the big file's output is the 8 files' outputs joined (but for the sentence
    ids, which count from 1 in each file)."""
    same = True
    for prefix in ("out_", "big_"):
        outs = sorted(work.glob(prefix + "*"))
        files = sorted(p.relative_to(outs[0]) for p in outs[0].rglob("*.conllu"))
        same &= all((o / f).read_bytes() == (outs[0] / f).read_bytes() for o in outs for f in files)
    parts = sorted(next(iter(sorted(work.glob("out_*")))).rglob("*.conllu"), key=part_number)
    big = next(iter(sorted(work.glob("big_*")))) / "all.conllu"
    joined = b"".join(without_ids(p.read_bytes()) for p in parts)
    return same and without_ids(big.read_bytes()) == joined


def without_ids(conllu: bytes) -> bytes:
    """RETURNS (bytes): CoNLL-U output without its `# sent_id` lines."""
    return b"".join(line for line in conllu.splitlines(True) if not line.startswith(b"# sent_id"))


def part_number(path: Path) -> int:
    """RETURNS (int): N of a partN.conllu output."""
    return int(path.stem[len("part") :])


def local_ratios(results: Dict[str, Dict]) -> List[Tuple[str, float]]:
    """RETURNS (List[Tuple[str, float]]): Local n_process 2 against 1 (words/s, wall), on
    the 8 files and on the big file: (what it was measured on, the ratio)."""
    ratios = []
    for suffix in ("", f", {BIG}"):
        one, two = (results[f"local, n_process {n}{suffix}"]["words_per_s"] for n in (1, 2))
        ratios.append((suffix or ", 8 files", two / one))
    return ratios


def round_ratios(results: Dict[str, Dict]) -> List[List[float]]:
    """RETURNS (List[List[float]]): Local n_process 2 against 1 in each round (wall time of
    n_process 1 over that of n_process 2, the same words), on the 8 files and on the big
    file; empty lists for result files from before the rounds were recorded."""
    ratios = []
    for suffix in ("", f", {BIG}"):
        one, two = (
            results[f"local, n_process {n}{suffix}"].get("round_wall_s", []) for n in (1, 2)
        )
        ratios.append([a / b for a, b in zip(one, two)])
    return ratios


def startup_bound(run: Dict) -> float:
    """The most that 2 workers can gain on an n_process 1 run if its start-up (imports and
    model load, which each worker also pays, in parallel) stays serial and the rest halves.

    run (Dict): An n_process 1 result (wall_s, startup_s).
    RETURNS (float): Its wall time over that of such an ideal 2-worker run.
    """
    startup = min(run["startup_s"], run["wall_s"])
    return run["wall_s"] / (startup + (run["wall_s"] - startup) / 2)


def table(results: Dict[str, Dict]) -> str:
    """RETURNS (str): A Markdown table, and Ray's overhead against local at equal workers."""
    rows = [
        "| run | words | wall s | words/s (wall) | words/s (steady) | words per worker CPU s "
        "| start-up s | time to first file s | peak RSS per worker MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        steady = f"{r['words_per_s_steady']:,.0f}" if r["words_per_s_steady"] else ""
        rows.append(
            f"| {name} | {r['words']:,} | {r['wall_s']:.1f} | {r['words_per_s']:,.0f} "
            f"| {steady} | {r['words_per_cpu_s']:,.0f} "
            f"| {r['startup_s']:.1f} | {r['first_output_s']:.1f} | {r['worker_peak_rss_mb']:.0f} |"
        )
    ratios = zip(("", f", {BIG}"), local_ratios(results), round_ratios(results))
    for suffix, (inputs, ratio), rounds in ratios:
        each = f"; each round: {', '.join(f'{r:.2f}x' for r in rounds)}" if rounds else ""
        one = results[f"local, n_process 1{suffix}"]
        bound = (
            f"; bound {startup_bound(one):.2f}x, with n_process 1's start-up "
            f"({one['startup_s']:.1f} s of its {one['wall_s']:.1f} s) serial"
        )
        rows.append(
            f"\nLocal, n_process 2 against 1{inputs}: {ratio:.2f}x the words/s (wall){each}{bound}"
        )
    for n in (1, 2):
        lo = results[f"local, n_process {n}"]
        ra = results["Ray, 1 actor" if n == 1 else "Ray, 2 actors"]
        ratio = ra["words_per_s_steady"] / lo["words_per_s_steady"]
        cpu_ratio = ra["words_per_cpu_s"] / lo["words_per_cpu_s"]
        extra = ra["startup_s"] - lo["startup_s"]
        rows.append(
            f"\nRay against local, {n} worker(s): {ratio:.2f}x the steady words/s, "
            f"{cpu_ratio:.2f}x the words per worker CPU second, {extra:+.1f} s start-up"
        )
    return "\n".join(rows)


def history(runs: Path) -> str:
    """RETURNS (str): Every recorded run's local n_process 2 against 1 (the machine's
    speed varies from run to run, so the latest alone does not tell the spread)."""
    rows = [
        "Every recorded run, local n_process 2 against 1 (words/s, wall):\n",
        "| date | commit | load average at start, end | n_process 1, 8 files | 8 files "
        "| one big file |",
        "|---|---|---|---|---|---|",
    ]
    for path in sorted(runs.glob("*.json")):
        data = json.loads(path.read_text())
        meta, results = data["meta"], data["results"]
        ratios = [f"{ratio:.2f}x" for _, ratio in local_ratios(results)]
        rows.append(
            f"| {meta.get('date', '')} | `{str(meta.get('commit', ''))[:7]}` "
            f"| {meta.get('load_average', 'not recorded')} "
            f"| {results['local, n_process 1']['words_per_s']:,.0f} | {' | '.join(ratios)} |"
        )
    return "\n".join(rows)


def section(runs: Path = RESULT_DIR) -> Optional[str]:
    """RETURNS (Optional[str]): The `tag-speed` section of BENCHMARKS.md: the latest
    result file, then every run's ratios; None without a result file."""
    data = latest_json(runs)
    if data is None:
        return None
    meta = data["meta"]
    return "\n".join(
        [
            "## Tagging a corpus: the `tag` command's engines\n",
            "`python -m spacy_lstm_tagger tag` on the raw text of EWT train, "
            f"{meta.get('copies', 1)} times over (one sentence a "
            "line, in 8 files, and the same text in one big file; CoNLL-U out), locally with 1 "
            "and 2 processes and on Ray with 1 and 2 actors, every run a fresh process; steady "
            "words/s leaves out start-up, model loading and Ray's start (8 files only: it is "
            "timed from the first finished file). Best of the runs by wall time; "
            f"{ORDER[bool(meta.get('rounds'))]}.\n",
            *provenance_lines(meta),
            *([f"- note: {meta['note']}"] if "note" in meta else []),
            f"- load average at start and end: {meta.get('load_average', 'not recorded')}; "
            f"all runs wrote identical files: {data['identical_outputs']}\n",
            table(data["results"]) + "\n",
            history(runs),
        ]
    )


def main(
    data: Path = typer.Option(DATA / "ud-english-ewt", help="EWT CoNLL-U folder"),
    work: Path = typer.Option(Path("/tmp/tag_speed"), help="Working directory"),
    model: Optional[Path] = typer.Option(None, help="A trained pipeline (default: initialized)"),
    repeats: int = typer.Option(
        3, help="Rounds over every configuration; the fastest run of each counts"
    ),
    copies: int = typer.Option(
        4, help="EWT train's text this many times over, so that start-up is a small part"
    ),
) -> None:
    """Measure the `tag` command's engines on EWT text."""
    work.mkdir(parents=True, exist_ok=True)
    model = model or make_model(data, work)
    make_corpus(data, work, copies)
    for old in [*work.glob("out_*"), *work.glob("big_*"), *work.glob("one_*")]:
        subprocess.run(["rm", "-rf", str(old)], check=True)
    print(
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f} at start",
        file=sys.stderr,
    )
    meta = {**metadata("tag_speed"), "copies": copies, "rounds": repeats}
    start_load = os.getloadavg()[0]
    results = measure(model, work, repeats)
    meta["load_average"] = f"{start_load:.1f}, {os.getloadavg()[0]:.1f}"
    identical = same_outputs(work)
    out = {"meta": meta, "results": results, "identical_outputs": identical}
    write_json(RESULT_DIR / f"{time.strftime('%Y%m%d-%H%M%S')}.json", out)
    print(table(results))
    print(f"\nAll runs wrote identical files: {identical}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        model_arg, inputs_arg, output_arg, launched_arg, spec_arg = sys.argv[2:7]
        child(model_arg, inputs_arg, output_arg, float(launched_arg), json.loads(spec_arg))
    else:
        typer.run(main)
