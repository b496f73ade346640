"""Pretrained vectors benchmark (issue 20): the dev ablations that chose the presets'
settings, the learning curve, and the BENCHMARKS.md section of both with the targets.

    OMP_NUM_THREADS=1 python benchmarks/vectors.py ablate --jobs 2   # dev, hours on 2 cores
    OMP_NUM_THREADS=1 python benchmarks/joint.py --treebank ewt --jobs 2 \\
        --system lstm_vectors --system spacy_pair_vectors --system lstm_accuracy
    OMP_NUM_THREADS=1 python benchmarks/joint.py --treebank ewt --jobs 2 --train-size 1000 \\
        --system lstm_joint --system lstm_vectors          # the learning curve (also 3000)
    python benchmarks/vectors.py render                    # the section, from the results

`ablate` trains each configuration of ABLATIONS that has no line yet in
benchmarks/results/vectors/dev_ablation.jsonl, with `dev_ablation.py` (a fixed step
budget, seed 0, best dev score), `--jobs` at once. Full trainings and the learning curve
are `joint.py`'s systems and result files; `render` reads them all.
"""

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Tuple

import typer

sys.path.insert(0, str(Path(__file__).parent))
from dev_ablation import DATA  # noqa: E402
from ewt import git_commit  # noqa: E402
from joint import load_runs, load_speeds  # noqa: E402
from joint_render import ACCURACIES, cell, mean_of, table, values_of, verdict  # noqa: E402
from render import write_section  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
ABLATION_FILE = RESULTS / "vectors" / "dev_ablation.jsonl"
SPEED_FILE = RESULTS / "vectors" / "dev_speed.json"
MD = DATA / "vectors" / "en_core_web_md_vectors"
GLOVE = DATA / "vectors" / "glove_6B_50d_vectors"
WORDS = "components.lstm_tagger.model.tok2vec.words"
MODEL = "components.lstm_tagger.model"
# The step budget of every ablation: a screening, not convergence.
ABLATION_STEPS = 3000
# Name: (config, overrides). The efficiency preset is ewt_joint_vectors.cfg.
ABLATIONS: Dict[str, Tuple[str, List[str]]] = {
    "base": ("ewt_joint.cfg", []),
    "md_orth_raw": ("ewt_joint_vectors.cfg", ["--paths.vectors", str(MD)]),
    "glove_lower_raw": (
        "ewt_joint_vectors.cfg",
        ["--paths.vectors", str(GLOVE), f"--{WORDS}.vectors_attr", "LOWER"],
    ),
    "md_orth_p64": (
        "ewt_joint_vectors.cfg",
        ["--paths.vectors", str(MD), f"--{WORDS}.vectors_width", "64"],
    ),
    "md_lower_raw": (
        "ewt_joint_vectors.cfg",
        ["--paths.vectors", str(MD), f"--{WORDS}.vectors_attr", "LOWER"],
    ),
    "glove_orth_raw": (
        "ewt_joint_vectors.cfg",
        ["--paths.vectors", str(GLOVE), f"--{WORDS}.vectors_attr", "ORTH"],
    ),
}
# The accuracy preset's settings, one at a time on top of the efficiency preset with
# en_core_web_md's table (both configs look the vectors up by LOWER), then all together
# (ewt_joint_accuracy.cfg). A wider encoder learns more slowly, so these get twice the
# step budget, their baseline included.
ACCURACY_BASE = ["--paths.vectors", str(MD), "--training.max_steps", str(2 * ABLATION_STEPS)]
ACCURACY_SETTINGS = {
    "acc_base_md_lower": ("ewt_joint_vectors.cfg", []),
    "acc_h256": ("ewt_joint_vectors.cfg", [f"--{MODEL}.hidden_width", "256"]),
    "acc_wd02": ("ewt_joint_vectors.cfg", [f"--{MODEL}.word_dropout", "0.2"]),
    "acc_ls003": ("ewt_joint_vectors.cfg", ["--components.lstm_tagger.label_smoothing", "0.03"]),
    "acc_preset": ("ewt_joint_accuracy.cfg", []),
    "acc_preset_lr001": ("ewt_joint_accuracy.cfg", ["--training.optimizer.learn_rate", "0.001"]),
}
ABLATIONS.update({n: (c, [*ACCURACY_BASE, *o]) for n, (c, o) in ACCURACY_SETTINGS.items()})


def read_ablations(path: Path = ABLATION_FILE) -> Dict[str, Dict]:
    """RETURNS (Dict[str, Dict]): Each finished ablation's line, by name (the last wins)."""
    if not path.exists():
        return {}
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {line["name"]: line for line in lines}


def run_ablation(name: str, work: Path) -> None:
    """Train one ablation with dev_ablation.py, then append its line to ABLATION_FILE."""
    config, overrides = ABLATIONS[name]
    cmd = [
        sys.executable, str(Path(__file__).parent / "dev_ablation.py"), name,
        str(ROOT / "configs" / config), "ewt", "--work", str(work), "--",
        "--training.max_steps", str(ABLATION_STEPS), *overrides,
    ]  # fmt: skip
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    line = json.loads(out.strip().splitlines()[-1])
    line["config"] = config
    ABLATION_FILE.parent.mkdir(parents=True, exist_ok=True)
    with ABLATION_FILE.open("a") as handle:
        handle.write(json.dumps(line) + "\n")
    print("done:", json.dumps(line), flush=True)


def ablate(
    names: List[str] = typer.Argument(None, help="Only these ablations, in this order"),
    jobs: int = typer.Option(1, help="Trainings at once (one thread each)"),
    work: Path = typer.Option(ROOT / "benchmarks" / "work" / "vectors", help="Scratch folder"),
) -> None:
    """Train every ablation (or each one named) that has no result yet."""
    unknown = sorted(set(names or []) - set(ABLATIONS))
    if unknown:
        raise typer.BadParameter(f"unknown ablations {unknown}; known: {sorted(ABLATIONS)}")
    todo = [name for name in names or ABLATIONS if name not in read_ablations()]
    print(f"{len(todo)} ablations to run:", todo, flush=True)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(lambda name: run_ablation(name, work), todo))


def speed(
    work: Path = typer.Option(ROOT / "benchmarks" / "work" / "vectors", help="Scratch folder"),
    repeats: int = typer.Option(5, help="Timed rounds (median), after a warm-up"),
) -> None:
    """Time every ablation's model on dev in one process (one thread, interleaved),
    into SPEED_FILE. Run it on an otherwise idle machine."""
    dev = work / "corpus" / "ewt" / "en_ewt-ud-dev.spacy"
    models = [f"{name}={work / name / 'model-best'}" for name in read_ablations()]
    cmd = [sys.executable, str(Path(__file__).parent / "joint_measure.py"), "speed", str(dev)]
    cmd += [*models, "--repeats", str(repeats)]
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    meta = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "commit": git_commit()}
    result = {"meta": {**meta, "repeats": repeats, "data": "EWT dev"}}
    result["words_per_second"] = json.loads(out.strip().splitlines()[-1])
    SPEED_FILE.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["words_per_second"]))


def ablation_table(lines: Dict[str, Dict]) -> str:
    """RETURNS (str): One row per ablation: its settings, its best dev accuracies, and
    its words/s against `base` (SPEED_FILE)."""
    speeds = json.loads(SPEED_FILE.read_text())["words_per_second"] if SPEED_FILE.exists() else {}
    head = "| run | overrides | best step | dev UPOS | dev XPOS | dev FEATS | wall s | words/s |"
    rows = [head, "|---|---|---|---|---|---|---|---|"]
    for name, line in lines.items():
        shown = " ".join(o.replace(str(DATA / "vectors") + "/", "") for o in line["overrides"][2:])
        shown = shown.replace(f"--{WORDS}.", "words.").replace(f"--{MODEL}.", "model.")
        dev = [f"{100 * line['dev'].get(k, 0):.2f}" for k in ("pos_acc", "tag_acc", "morph_acc")]
        shown = f"`{shown}`" if shown else "none"
        rows.append(f"| {name} | {shown} | {line['step']} | " + " | ".join(dev) + " |")
        rows[-1] += f" {line['wall_s']:,} |"
        if name in speeds and "base" in speeds:
            rows[-1] += f" {speeds[name]:,.0f} ({speeds[name] / speeds['base']:.2f}×) |"
        else:
            rows[-1] += " |"
    return "\n".join(rows)


def curve_table() -> str:
    """RETURNS (str): The learning curve: test accuracies by training size and system."""
    head = "| train sentences | system | seeds | " + " | ".join(a[0] for a in ACCURACIES) + " |"
    rows = [head, "|" + "---|" * (len(ACCURACIES) + 3)]
    folders = sorted(RESULTS.glob("joint/ewt_n*"), key=lambda p: int(p.name.split("_")[1][1:]))
    for folder in folders:
        for name, results in load_runs(folder).items():
            cells = [cell(values_of(results, key, scale), fmt) for _, key, fmt, scale in ACCURACIES]
            size = folder.name.split("_")[1][1:]
            rows.append(f"| {size} | {name} | {len(results)} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def partial(runs: Dict[str, List[Dict]], *names: str) -> str:
    """RETURNS (str): A note naming the systems with fewer than three seeds so far."""
    few = [f"{n} {len(runs[n])} of 3 seeds" for n in names if len(runs.get(n, [])) < 3]
    return f" (so far: {', '.join(few)})" if few else ""


def targets(runs: Dict[str, List[Dict]], speeds: Dict[str, float]) -> List[str]:
    """RETURNS (List[str]): The issue's targets met or missed, on seed means; those
    whose systems have no results are named as not judged yet."""
    lines = []
    goals = {"upos_acc": 96.4, "xpos_acc": 96.0, "feats_acc": 97.0, "alltags_acc": 94.7}
    for label, key, _, _ in ACCURACIES:
        acc = mean_of(runs, "lstm_accuracy", key)
        pair = mean_of(runs, "spacy_pair_vectors", key)
        if acc is not None:
            lines.append(
                f"- accuracy {label} ≥ {goals[key]}: "
                + verdict(acc, goals[key], 0, "goal")
                + partial(runs, "lstm_accuracy")
            )
            if pair is not None:
                text = verdict(acc, pair, 0.7, "spacy_pair_vectors")
                text += partial(runs, "lstm_accuracy", "spacy_pair_vectors")
                lines.append(f"- accuracy {label} ≥ spacy_pair_vectors + 0.7: " + text)
        vec, base = mean_of(runs, "lstm_vectors", key), mean_of(runs, "lstm_joint", key)
        if vec is not None and base is not None:
            text = verdict(vec, base, 0.3, "lstm_joint") + partial(runs, "lstm_vectors")
            lines.append(f"- efficiency {label} ≥ lstm_joint + 0.3: " + text)
    small = load_runs(RESULTS / "joint" / "ewt_n1000_s0")
    vec, base = mean_of(small, "lstm_vectors", "upos_acc"), mean_of(small, "lstm_joint", "upos_acc")
    if vec is not None and base is not None:
        text = verdict(vec, base, 1.0, "lstm_joint") + partial(small, "lstm_vectors")
        lines.append("- efficiency UPOS at 1,000 sentences ≥ no vectors + 1.0: " + text)
    if "lstm_vectors" in speeds and "lstm_joint" in speeds:
        ratio = speeds["lstm_vectors"] / speeds["lstm_joint"]
        word = "met" if ratio >= 0.9 else "**missed**"
        lines.append(f"- efficiency words/s ≥ 0.9× lstm_joint: {word}: {ratio:.2f}×")
    missing = [n for n in ("lstm_vectors", "spacy_pair_vectors", "lstm_accuracy") if n not in runs]
    if missing:
        lines.append(f"- not judged yet: no full-EWT results for {', '.join(missing)}")
    if not small:
        lines.append("- not judged yet: no learning-curve results at 1,000 sentences")
    return lines


def render(markdown: Path = typer.Option(ROOT / "BENCHMARKS.md", help="File to write")) -> None:
    """Write the `vectors-ewt` section of BENCHMARKS.md from the result files."""
    folder = RESULTS / "joint" / "ewt"
    names = ("lstm_joint", "spacy_pair", "lstm_vectors", "spacy_pair_vectors", "lstm_accuracy")
    runs = {k: v for k, v in load_runs(folder).items() if k in names}
    speeds = load_speeds(folder)
    text = "\n".join(
        [
            f"### Dev ablations ({ABLATION_STEPS} steps, seed 0, best dev of the run)\n",
            "`python benchmarks/vectors.py ablate --jobs 2`, each with `OMP_NUM_THREADS=1`, "
            "on top of the run's config (`base`: ewt_joint.cfg; the others: "
            "ewt_joint_vectors.cfg); the tables are in `../shared/data/vectors/`. words/s: "
            "`python benchmarks/vectors.py speed`, EWT dev, one thread, median of 5 rounds; "
            "wall s includes the time the trainings shared the machine.\n",
            ablation_table(read_ablations()),
            "\n### Test set, trained to convergence (joint.py's result files)\n",
            table(runs, speeds),
            "\n### Learning curve (test set; a fixed random sample of train, sample seed 0)\n",
            curve_table(),
            "\n### The issue's targets (seed means)\n",
            "\n".join(targets(runs, speeds)),
        ]
    )
    write_section(markdown, "vectors-ewt", text)
    print(text)


app = typer.Typer(add_completion=False)
app.command()(ablate)
app.command()(speed)
app.command()(render)

if __name__ == "__main__":
    app()
