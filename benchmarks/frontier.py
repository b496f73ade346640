"""The speed/accuracy frontier of cheaper shapes of the joint model on EWT dev: each
shape's words/s against spaCy's tagger + morphologizer pair, and its dev accuracy after a
fixed step budget.

    OMP_NUM_THREADS=1 python -m benchmarks.frontier speed          # idle machine, minutes
    OMP_NUM_THREADS=1 python -m benchmarks.frontier dev --jobs 1   # 3,000 steps a shape
    python -m benchmarks.render                                    # BENCHMARKS.md

`speed` builds every shape untrained (speed does not depend on the weights), initialized
on EWT dev, and times it beside spaCy's pair (also untrained, as `en_core_web_sm` is
built), one thread, interleaved, on EWT dev (gold tokens): each shape in a fresh process
with only the pair, whose words/s in that process is the yardstick. `dev` trains each shape
that has no line yet in benchmarks/results/frontier/dev.jsonl (seed 0, `dev_ablation`), so
a shape that gains speed can be seen to keep or lose accuracy. A fixed budget screens: a
shape that holds there must still be trained to convergence over seeds before it becomes
a default.
"""

import json
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import typer

from .common import (
    DATA,
    RESULTS,
    ROOT,
    WORK,
    convert,
    last_json,
    metadata,
    write_json,
)
from .dev_ablation import DEV_KEYS, ablate_table, read_lines
from .joint_render import JOINT, accuracy_held, converged_lines, how, load_runs

RESULT_DIR = RESULTS / "frontier"
SPEED_FILE = RESULT_DIR / "speed.json"
DEV_FILE = RESULT_DIR / "dev.jsonl"
STEPS = 3000
MODEL = "components.lstm_tagger.model"
CHARS = f"{MODEL}.tok2vec.chars"
GLOVE = DATA / "vectors" / "glove_6B_50d_vectors"
# The shapes that joint.py trains to convergence, and the system that trains each.
CONVERGED = {
    "shipped": "lstm_warmup8k",
    "depth1": "lstm_depth1",
    "vectors": "lstm_vectors",
    "vectors_depth1": "lstm_vectors_depth1_warmup6k",
    "h96": "lstm_h96_warmup9k",
}
# The spaCy system every shape is timed against (systems.EWT_CONFIGS).
REFERENCE = "spacy_tagger_morphologizer"
# Shape: its config and config overrides. "shipped" is configs/ewt_joint.cfg as it is.
SHAPES: Dict[str, Tuple[str, Dict[str, object]]] = {
    "shipped": ("ewt_joint.cfg", {}),
    "gru": ("ewt_joint.cfg", {f"{MODEL}.rnn_type": "gru"}),
    "h96": ("ewt_joint.cfg", {f"{MODEL}.hidden_width": 96}),
    "depth1": ("ewt_joint.cfg", {f"{MODEL}.depth": 1}),
    "chars32": ("ewt_joint.cfg", {f"{CHARS}.width": 32}),
    "gru_h96": ("ewt_joint.cfg", {f"{MODEL}.rnn_type": "gru", f"{MODEL}.hidden_width": 96}),
    "vectors": ("ewt_joint_vectors.cfg", {"paths.vectors": str(GLOVE)}),
    "vectors_depth1": ("ewt_joint_vectors.cfg", {"paths.vectors": str(GLOVE), f"{MODEL}.depth": 1}),
    "vectors_gru": (
        "ewt_joint_vectors.cfg",
        {"paths.vectors": str(GLOVE), f"{MODEL}.rnn_type": "gru"},
    ),
}


def cli_overrides(overrides: Dict[str, object]) -> List[str]:
    """RETURNS (List[str]): The overrides as `spacy train` arguments."""
    return [item for key, value in overrides.items() for item in (f"--{key}", str(value))]


def speed(
    names: List[str] = typer.Argument(None, help="Only these shapes, in this order"),
    work: Path = typer.Option(WORK / "frontier", help="Scratch folder"),
    repeats: int = typer.Option(5, help="Timed rounds (median), after a warm-up"),
    output: Path = typer.Option(
        SPEED_FILE, help="Result file; another machine's goes beside it as speed_NAME.json"
    ),
) -> None:
    """Time every shape (or each one named) beside spaCy's pair on EWT dev into `output`:
    each shape in a fresh process of its own, with only the pair (many pipelines in one
    process slow each other down). Run it on an otherwise idle machine."""
    from .speed_shapes import build_shape
    from .systems import ewt_config

    unknown = sorted(set(names or []) - set(SHAPES))
    if unknown:
        raise typer.BadParameter(f"Unknown shapes {unknown}; the shapes: {sorted(SHAPES)}")
    dev = convert("ewt", work / "corpus" / "ewt", splits=("dev",))["dev"]
    runs: Dict[str, Dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        spacy_cfg = ewt_config(REFERENCE, Path(tmp) / "spacy.cfg", Path(tmp) / "log.jsonl")
        pair = build_shape(spacy_cfg, {}, dev, Path(tmp) / "spacy")
        for i, name in enumerate(names or SHAPES):
            config, overrides = SHAPES[name]
            model = build_shape(ROOT / "configs" / config, overrides, dev, Path(tmp) / str(i))
            cmd = [sys.executable, "-m", "benchmarks.joint_measure", "speed", str(dev)]
            cmd += [f"{name}={model}", f"{REFERENCE}={pair}", "--repeats", str(repeats)]
            runs[name] = last_json(cmd)
            print(name, json.dumps(runs[name]), flush=True)
    meta = {**metadata("frontier"), "repeats": repeats, "data": "EWT dev", "threads": 1}
    write_json(output, {"meta": meta, "runs": runs})


def speed_ratios(runs: Dict[str, Dict[str, float]]) -> Dict[str, float]:
    """RETURNS (Dict[str, float]): Each shape's words/s over spaCy's pair's in its run."""
    return {name: run[name] / run[REFERENCE] for name, run in runs.items()}


def dev(
    names: List[str] = typer.Argument(None, help="Only these shapes, in this order"),
    jobs: int = typer.Option(1, help="Trainings at once (one thread each)"),
    work: Path = typer.Option(WORK / "frontier", help="Scratch folder"),
) -> None:
    """Train every shape (or each one named) that has no line yet in DEV_FILE."""
    table = {n: (c, cli_overrides(o), STEPS) for n, (c, o) in SHAPES.items()}
    ablate_table(DEV_FILE, table, names, jobs, work, "frontier", "shapes")


def shown(overrides: Dict[str, object]) -> str:
    """RETURNS (str): A shape's overrides, short (tables by name, not by path)."""
    items = [
        f"{k.replace(CHARS + '.', 'chars.').replace(MODEL + '.', 'model.')} "
        + (Path(str(v)).name if k == "paths.vectors" else str(v))
        for k, v in overrides.items()
    ]
    return f"`{', '.join(items)}`" if items else "none"


def base_of(name: str) -> str:
    """RETURNS (str): The shape a shape's dev accuracy is compared with: "vectors" (the
    efficiency preset) for the shapes with vectors, "shipped" for the others."""
    return "vectors" if SHAPES[name][0] == SHAPES["vectors"][0] else "shipped"


def frontier_table(runs: Dict[str, Dict[str, float]], lines: Dict[str, Dict]) -> str:
    """RETURNS (str): One row per shape: words/s, and its ratio to spaCy's pair (timed
    beside it) and to the shipped shape (through the pair); dev accuracy after STEPS steps,
    and its UPOS against its base's (`base_of`)."""
    rows = [
        "| shape | config | overrides | words/s | spaCy pair words/s | × spaCy pair | × shipped "
        "| dev UPOS | dev XPOS | dev FEATS | UPOS − base | best step | wall s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    ratios = speed_ratios(runs)
    for name, (config, overrides) in SHAPES.items():
        cells = [name, config, shown(overrides)]
        if name in runs:
            cells += [f"{runs[name][name]:,.0f}", f"{runs[name][REFERENCE]:,.0f}"]
            cells.append(f"{ratios[name]:.2f}×")
            ship = ratios.get("shipped")
            cells.append(f"{ratios[name] / ship:.2f}×" if ship else "")
        else:
            cells += [""] * 4
        line = lines.get(name)
        if line:
            cells += [f"{100 * line['dev'][k]:.2f}" for _, k in DEV_KEYS]
            base = lines.get(base_of(name), {}).get("dev")
            delta = 100 * (line["dev"]["pos_acc"] - base["pos_acc"]) if base else None
            cells += ["" if delta is None else f"{delta:+.2f}", str(line["step"])]
            cells.append(f"{line['wall_s']:,}")
        else:
            cells += [""] * 6
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


# The throughput issue's target for the joint component: words/s at one thread against
# spaCy's pair, float32, in one process, interleaved.
TARGET_RATIO = 1.6


def target_lines(runs: Dict[str, Dict[str, float]], joint: Path) -> List[str]:
    """RETURNS (List[str]): The speed target for every shape timed: met where the shape is
    fast enough and, trained to convergence (CONVERGED), keeps lstm_joint's accuracy."""
    converged = load_runs(joint / "ewt")
    lines = []
    for name, ratio in speed_ratios(runs).items():
        held = accuracy_held(converged, CONVERGED[name]) if name in CONVERGED else None
        fast = ratio >= TARGET_RATIO
        word = "met" if fast and held and held[0] else "**missed**"
        why = f"{CONVERGED[name]}: {held[1]}" if held else "not trained to convergence"
        lines.append(f"- {name}: {word}, {ratio:.2f}× ({ratio - TARGET_RATIO:+.2f}); {why}")
    return lines


def section(joint: Path = JOINT) -> Optional[str]:
    """RETURNS (Optional[str]): The `frontier` section of BENCHMARKS.md, from the result
    files (joint.py's, under `joint`, for the shapes trained to convergence); None without
    any."""
    if not SPEED_FILE.exists() and not DEV_FILE.exists():
        return None
    data = json.loads(SPEED_FILE.read_text()) if SPEED_FILE.exists() else {}
    speed_meta, runs = data.get("meta", {}), data.get("runs", {})
    lines = read_lines(DEV_FILE)
    metas = [line.get("meta", {}) for line in lines.values()]
    return "\n".join(
        [
            "## Encoder frontier: cheaper shapes of the joint model, EWT dev\n",
            "Each shape is `configs/ewt_joint.cfg` (or the efficiency preset with GloVe) with "
            "the overrides shown; `ewt_joint.cfg` trains at the constant rate it had before its "
            "schedule (`schedules.CONSTANT_TRAINING`). words/s: built untrained and initialized "
            "on EWT dev (speed does not depend on the weights), timed on EWT dev (gold tokens), "
            "one torch thread, each shape in a process of its own interleaved with spaCy's "
            "tagger + morphologizer on one tok2vec (also untrained; spaCy pair words/s is its "
            "figure in that process), "
            f"median of {speed_meta.get('repeats', '?')} rounds after a "
            f"warm-up. Dev accuracy: seed 0, trained {STEPS:,} steps, best dev of the run (UPOS − "
            "base: against `shipped`, or against `vectors` for a shape with vectors): a "
            "screening with one seed, so differences of a few tenths are not separable; a "
            "shape that holds here must still be trained to convergence over seeds before it "
            "becomes a default.\n",
            "- speed: " + (how([speed_meta]) if speed_meta else "not measured yet"),
            "- trainings: " + (how(metas) if metas else "none yet") + "\n",
            frontier_table(runs, lines),
            f"\nSpeed target: words/s ≥ {TARGET_RATIO}× spaCy's pair at one thread, float32, "
            "and the shape, trained to convergence, keeps lstm_joint's test accuracy on "
            "UPOS, XPOS and FEATS (its seed mean no lower by more than the sum of the seed sds):\n",
            *target_lines(runs, joint),
            *other_machines(SPEED_FILE.parent),
            # The shipped shape's are in the training-time section.
            *converged_lines([CONVERGED[n] for n in CONVERGED if n != "shipped"], joint),
        ]
    )


def other_machines(folder: Path) -> List[str]:
    """RETURNS (List[str]): The shapes timed on other machines (speed_NAME.json beside
    SPEED_FILE), each beside spaCy's pair in the same process, as in SPEED_FILE."""
    rows = []
    for path in sorted(folder.glob("speed_*.json")):
        data = json.loads(path.read_text())
        ratios = speed_ratios(data["runs"])
        cells = ", ".join(f"{name} {ratio:.2f}×" for name, ratio in ratios.items())
        rows.append(f"- {cells} spaCy's pair; {how([data['meta']])}")
    if not rows:
        return []
    return ["\nThe same timing on other machines (words/s against spaCy's pair):\n", *rows]


app = typer.Typer(add_completion=False)
app.command()(speed)
app.command()(dev)

if __name__ == "__main__":
    app()
