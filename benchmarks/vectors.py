"""Pretrained vectors benchmark: the dev ablations that chose the presets' settings, the
learning curve, and the BENCHMARKS.md section of both with the targets.

    OMP_NUM_THREADS=1 python -m benchmarks.vectors ablate --jobs 2   # dev, hours on 2 cores
    OMP_NUM_THREADS=1 python -m benchmarks.joint --treebank ewt --jobs 2 \\
        --system lstm_vectors --system spacy_pair_vectors --system lstm_accuracy_warmup8k
    OMP_NUM_THREADS=1 python -m benchmarks.joint --treebank ewt --jobs 2 --train-size 1000 \\
        --system lstm_joint --system lstm_vectors          # the learning curve (also 3000)
    python -m benchmarks.vectors render                    # the section, from the results

`ablate` trains each configuration of ABLATIONS that has no line yet in
benchmarks/results/vectors/dev_ablation.jsonl, with `dev_ablation.ablate` (a fixed step
budget, seed 0, best dev score), `--jobs` at once. Full trainings and the learning curve
are joint.py's systems and result files; `render` reads them all (vectors_render.py).
"""

import json
import sys
from pathlib import Path
from typing import Dict, List, Tuple

import typer

from .common import (
    DATA,
    RESULTS,
    ROOT,
    WORK,
    last_json,
    metadata,
    write_json,
    write_section,
)
from .dev_ablation import ablate_table, read_lines

ABLATION_FILE = RESULTS / "vectors" / "dev_ablation.jsonl"
SPEED_FILE = RESULTS / "vectors" / "dev_speed.json"
MD = DATA / "vectors" / "en_core_web_md_vectors"
GLOVE = DATA / "vectors" / "glove_6B_50d_vectors"
WORDS = "components.lstm_tagger.model.tok2vec.words"
MODEL = "components.lstm_tagger.model"
CHARS = "components.lstm_tagger.model.tok2vec.chars"
# The step budget of every ablation: a screening, not convergence.
ABLATION_STEPS = 3000
# Name: (config, overrides, step budget). The efficiency preset is ewt_joint_vectors.cfg.
ABLATIONS: Dict[str, Tuple[str, List[str], int]] = {
    "base": ("ewt_joint.cfg", [], ABLATION_STEPS),
    "md_orth_raw": ("ewt_joint_vectors.cfg", ["--paths.vectors", str(MD)], ABLATION_STEPS),
    "glove_lower_raw": (
        "ewt_joint_vectors.cfg",
        ["--paths.vectors", str(GLOVE), f"--{WORDS}.vectors_attr", "LOWER"],
        ABLATION_STEPS,
    ),
    "md_orth_p64": (
        "ewt_joint_vectors.cfg",
        ["--paths.vectors", str(MD), f"--{WORDS}.vectors_width", "64"],
        ABLATION_STEPS,
    ),
    "md_lower_raw": (
        "ewt_joint_vectors.cfg",
        ["--paths.vectors", str(MD), f"--{WORDS}.vectors_attr", "LOWER"],
        ABLATION_STEPS,
    ),
    "glove_orth_raw": (
        "ewt_joint_vectors.cfg",
        ["--paths.vectors", str(GLOVE), f"--{WORDS}.vectors_attr", "ORTH"],
        ABLATION_STEPS,
    ),
    # The factory's default character table init, N(0, 0.1^2), against "base"'s N(0, 1).
    "base_char01": (
        "ewt_joint.cfg",
        [
            f"--{CHARS}.@architectures",
            "spacy-lstm-tagger.CharEmbed.v2",
            f"--{CHARS}.init_scale",
            "0.1",
        ],
        ABLATION_STEPS,
    ),
}
# The accuracy preset's settings, one at a time on top of the efficiency preset with
# en_core_web_md's table (both configs look the vectors up by LOWER), then all together
# (ewt_joint_accuracy.cfg). A wider encoder learns more slowly, so these get twice the
# step budget, their baseline included.
ACCURACY_STEPS = 2 * ABLATION_STEPS
ACCURACY_SETTINGS = {
    "acc_base_md_lower": ("ewt_joint_vectors.cfg", []),
    "acc_h256": ("ewt_joint_vectors.cfg", [f"--{MODEL}.hidden_width", "256"]),
    "acc_wd02": ("ewt_joint_vectors.cfg", [f"--{MODEL}.word_dropout", "0.2"]),
    "acc_ls003": ("ewt_joint_vectors.cfg", ["--components.lstm_tagger.label_smoothing", "0.03"]),
    "acc_preset": ("ewt_joint_accuracy.cfg", []),
    "acc_preset_lr001": ("ewt_joint_accuracy.cfg", ["--training.optimizer.learn_rate", "0.001"]),
    # Whether the preset's word dropout pays inside it (acc_wd02 tried it alone).
    "acc_preset_wd0": ("ewt_joint_accuracy.cfg", [f"--{MODEL}.word_dropout", "0.0"]),
    # FEATS is the attribute furthest below UDPipe 2: a softmax per feature, as Stanza has.
    "acc_preset_features": (
        "ewt_joint_accuracy.cfg",
        ["--components.lstm_tagger.morph_mode", "features"],
    ),
    # The wider encoder gave most of the preset's gain (acc_h256); UDPipe 2 has 512.
    "acc_preset_h384": ("ewt_joint_accuracy.cfg", [f"--{MODEL}.hidden_width", "384"]),
}
ABLATIONS.update(
    {
        n: (c, ["--paths.vectors", str(MD), *o], ACCURACY_STEPS)
        for n, (c, o) in ACCURACY_SETTINGS.items()
    }
)


def read_ablations(path: Path = ABLATION_FILE) -> Dict[str, Dict]:
    """RETURNS (Dict[str, Dict]): Each finished ablation's line, by name (the last wins)."""
    return read_lines(path)


def ablate(
    names: List[str] = typer.Argument(None, help="Only these ablations, in this order"),
    jobs: int = typer.Option(1, help="Trainings at once (one thread each)"),
    work: Path = typer.Option(WORK / "vectors", help="Scratch folder"),
) -> None:
    """Train every ablation (or each one named) that has no result yet."""
    ablate_table(ABLATION_FILE, ABLATIONS, names, jobs, work, "vectors", "ablations")


def speed(
    work: Path = typer.Option(WORK / "vectors", help="Scratch folder"),
    repeats: int = typer.Option(5, help="Timed rounds (median), after a warm-up"),
) -> None:
    """Time every ablation's model on dev in one process (one thread, interleaved),
    into SPEED_FILE. Run it on an otherwise idle machine."""
    dev = work / "corpus" / "ewt" / "en_ewt-ud-dev.spacy"
    models = [f"{name}={work / name / 'model-best'}" for name in read_ablations()]
    cmd = [sys.executable, "-m", "benchmarks.joint_measure", "speed", str(dev)]
    cmd += [*models, "--repeats", str(repeats)]
    meta = metadata("vectors")
    result = {"meta": {**meta, "repeats": repeats, "data": "EWT dev"}}
    result["words_per_second"] = last_json(cmd)
    write_json(SPEED_FILE, result)
    print(json.dumps(result["words_per_second"]))


def render(markdown: Path = typer.Option(ROOT / "BENCHMARKS.md", help="File to write")) -> None:
    """Write the `vectors-ewt` section of BENCHMARKS.md from the result files."""
    from .vectors_render import section  # it reads this module's tables

    text = section()
    write_section(markdown, "vectors-ewt", text)
    print(text)


app = typer.Typer(add_completion=False)
app.command()(ablate)
app.command()(speed)
app.command()(render)

if __name__ == "__main__":
    app()
