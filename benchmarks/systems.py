"""The compared systems: what each writes, its training config (ours from `configs/`,
spaCy's from `spacy init config`), and the corpus it trains on."""

import random
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import typer
from spacy import util
from thinc.api import Config

from .common import DATA, ROOT, TREEBANKS, run
from .schedules import CANDIDATES, candidate_config, recorded_training

JOINT = ("pos", "tag", "morph")
VECTORS = DATA / "vectors"
GLOVE, MD = VECTORS / "glove_6B_50d_vectors", VECTORS / "en_core_web_md_vectors"


@dataclass(frozen=True)
class System:
    """A system of joint.py: what it writes and what it trains.

    attrs (Tuple[str, ...]): The attributes it writes.
    every_seed (bool): Trained with every seed (joint.py's --seeds); the others with seed 0.
    vectors (Optional[Path]): The vector table it reads (`[paths] vectors`), None: none.
    schedule (Optional[str]): A candidate of schedules.CANDIDATES: its config and training,
        to its step budget. None: the config's own training (patience decides).
    config (str): Ours without a schedule: the file of configs/ it trains.
    ewt (Optional[str]): On EWT, its config is this one of EWT_CONFIGS (spaCy's systems,
        which have no other, and our single-target ones).
    overrides (Dict[str, object]): Config overrides (a single target, a cheaper shape).
    shape (bool): The overrides are a cheaper shape of the frontier (BENCHMARKS.md shows
        it; the README's table does not).
    """

    attrs: Tuple[str, ...] = JOINT
    every_seed: bool = True
    vectors: Optional[Path] = None
    schedule: Optional[str] = None
    config: str = "{treebank}_joint.cfg"
    ewt: Optional[str] = None
    overrides: Dict[str, object] = field(default_factory=dict)
    shape: bool = False


def single_target(target: str) -> Dict[str, object]:
    """RETURNS (Dict[str, object]): Overrides of a joint config that make it predict one
    target, with the same model (LSTMTagger.v2, one head) and best-on-dev by it alone."""
    weights = {f"training.score_weights.{t}_acc": None for t in JOINT}
    return {
        **weights,
        f"training.score_weights.{target}_acc": 1.0,
        "components.lstm_tagger.target": target,
    }


# joint.py's systems, ordered so that with --jobs 2 each of ours trains beside one of
# spaCy's.
SYSTEMS: Dict[str, System] = {
    "lstm_joint": System(),
    # As en_core_web_sm builds them: both listen to one shared tok2vec.
    "spacy_pair": System(ewt="spacy_tagger_morphologizer"),
    "lstm_upos": System(
        ("pos",), every_seed=False, ewt="lstm_tagger_upos", overrides=single_target("pos")
    ),
    "spacy_tagger": System(("tag",), every_seed=False, ewt="spacy_tagger"),
    "lstm_xpos": System(
        ("tag",), every_seed=False, ewt="lstm_tagger_xpos", overrides=single_target("tag")
    ),
    "spacy_morphologizer": System(("pos", "morph"), every_seed=False, ewt="spacy_morphologizer"),
    "lstm_vectors": System(vectors=GLOVE, config="{treebank}_joint_vectors.cfg"),
    # As en_core_web_md is built: the efficiency shape with the static vectors.
    "spacy_pair_vectors": System(
        vectors=MD,
        ewt="spacy_tagger_morphologizer",
        overrides={"components.tok2vec.model.embed.include_static_vectors": True},
    ),
    # A cheaper shape of the frontier (benchmarks/frontier.py), trained to convergence.
    "lstm_depth1": System(overrides={"components.lstm_tagger.model.depth": 1}, shape=True),
    # The training settings of candidates of train_time.py, trained to convergence.
    "lstm_buffer2048": System(schedule="constant_buffer2048"),
    "lstm_warmup8k": System(schedule="warmup_linear_0.004_8k_buffer2048"),
    "lstm_accuracy_warmup8k": System(
        vectors=MD, schedule="accuracy_warmup_linear_0.004_8k_buffer2048"
    ),
    "lstm_vectors_depth1_warmup8k": System(
        vectors=GLOVE, schedule="vectors_depth1_warmup_linear_0.004_8k_buffer2048"
    ),
    "lstm_vectors_warmup8k": System(
        vectors=GLOVE, schedule="vectors_warmup_linear_0.004_8k_buffer2048"
    ),
    "lstm_vectors_depth1_warmup6k": System(
        vectors=GLOVE, schedule="vectors_depth1_warmup_linear_0.004_6k_buffer2048"
    ),
    # The frontier's h96 shape (1.71x spaCy's pair), without vectors: a cheaper default
    # for ewt_joint.cfg if it keeps lstm_joint's accuracy (issue: throughput).
    "lstm_h96_warmup9k": System(schedule="h96_warmup_linear_0.004_9k_buffer2048"),
    # The accuracy preset with a longer schedule, for the targets lstm_accuracy_warmup8k
    # misses; patience stopped its seeds early, and it did not pay (schedules.py).
    "lstm_accuracy_warmup12k": System(
        vectors=MD, schedule="accuracy_warmup_linear_0.004_12k_buffer2048"
    ),
    # The same to the schedule's end (patience 0): patience stopped the one above. It did
    # not pay either (schedules.py), so ewt_joint_accuracy.cfg keeps its 8,000 steps.
    "lstm_accuracy_warmup12k_p0": System(
        vectors=MD, schedule="accuracy_warmup_linear_0.004_12k_buffer2048_patience0"
    ),
}
# Views of SYSTEMS, by what they are asked for.
HEADLINE = tuple(name for name, system in SYSTEMS.items() if system.every_seed)
SCHEDULE_SYSTEMS = {name: s.schedule for name, s in SYSTEMS.items() if s.schedule}
SHAPE_SYSTEMS = {name: s.overrides for name, s in SYSTEMS.items() if s.shape}
# The single-target EWT systems (speed.py's names) and the config each starts from: a
# file of configs/, or spaCy's pipes for `spacy init config` ("+bilstm": with spaCy's
# own LSTM encoder in the tok2vec).
EWT_CONFIGS = {
    "lstm_tagger_upos": "configs/ewt_upos.cfg",
    "spacy_morphologizer": "morphologizer",
    "lstm_tagger_xpos": "configs/ewt_xpos.cfg",
    "spacy_tagger": "tagger",
    "spacy_bilstm_tagger": "tagger+bilstm",
    # As en_core_web_sm builds them: both listen to one shared tok2vec.
    "spacy_tagger_morphologizer": "tagger,morphologizer",
}
BILSTM_ENCODER = {
    "@architectures": "spacy.TorchBiLSTMEncoder.v1",
    "width": 96,
    "depth": 2,
    "dropout": 0.0,
}
TITLES = {"ewt": "Joint tagging: UD English EWT", "gdt": "Joint tagging: UD Greek GDT"}


def ewt_config(system: str, out: Path, log_file: Path) -> Path:
    """Write the training config of a system of EWT_CONFIGS, with a JSONL training log.

    system (str): A name of EWT_CONFIGS.
    out (Path): Where the config goes.
    log_file (Path): Where the training's JSONL log goes.
    RETURNS (Path): out.
    """
    source = EWT_CONFIGS[system]
    out.parent.mkdir(parents=True, exist_ok=True)
    if source.endswith(".cfg"):
        config = util.load_config(ROOT / source)
    else:
        spacy_cfg = out.with_suffix(".init.cfg")
        pipes = source.split("+")[0]
        cmd = [sys.executable, "-m", "spacy", "init", "config", "-l", "en", "-p", pipes]
        run([*cmd, "-o", "efficiency", "--force", str(spacy_cfg)])
        config = util.load_config(spacy_cfg)
        if source.endswith("+bilstm"):
            config["components"]["tok2vec"]["model"]["encode"] = dict(BILSTM_ENCODER)
    config["training"]["logger"] = {
        "@loggers": "spacy.ConsoleLogger.v3",
        "progress_bar": None,
        "console_output": True,
        "output_file": str(log_file),
    }
    Config(config).to_disk(out)
    return out


# The ones the configs ship with (README's table shows them): ewt_joint.cfg's, the
# accuracy preset's (ewt_joint_accuracy.cfg) and the fast preset's (ewt_joint_fast.cfg).
SHIPPED_TRAININGS = ("lstm_warmup8k", "lstm_accuracy_warmup8k", "lstm_vectors_depth1_warmup6k")


def schedule_systems(config: str) -> List[str]:
    """RETURNS (List[str]): The systems of SCHEDULE_SYSTEMS that train `config` (a file
    name of configs/)."""
    return [s for s, c in SCHEDULE_SYSTEMS.items() if CANDIDATES[c][0] == config]


def shipped_training(config: str) -> str:
    """RETURNS (str): The system of SHIPPED_TRAININGS that trains `config` (a file name of
    configs/) as it ships."""
    return next(s for s in SHIPPED_TRAININGS if s in schedule_systems(config))


def step_budget(system: str) -> Optional[int]:
    """RETURNS (Optional[int]): The steps a system with a schedule trains (its schedule
    ends there), or None: patience decides (and joint.py's step cap)."""
    name = SYSTEMS[system].schedule
    return CANDIDATES[name][2] if name else None


def write_config(name: str, treebank: str, out: Path, log_file: Path) -> Path:
    """Write a system of SYSTEMS' training config, with a JSONL training log.

    name (str): A name of SYSTEMS.
    treebank (str): "ewt" or "gdt".
    out (Path): Where the config goes.
    log_file (Path): Where the training's JSONL log goes.
    RETURNS (Path): out.
    """
    system, spacy = SYSTEMS[name], name.startswith("spacy")
    overrides = {"paths.vectors": str(system.vectors)} if system.vectors else {}
    if spacy or (treebank == "ewt" and system.ewt):
        assert system.ewt is not None
        ewt_config(system.ewt, out, log_file)
        if spacy:  # our single-target EWT configs already predict their one target
            overrides.update(system.overrides)
        config = util.load_config(out, overrides={"nlp.lang": TREEBANKS[treebank][2], **overrides})
    else:
        overrides["training.logger.output_file"] = str(log_file)
        overrides.update(system.overrides)
        if system.schedule:
            config = candidate_config(system.schedule, overrides)
        else:
            path = ROOT / "configs" / system.config.format(treebank=treebank)
            overrides = {**recorded_training(path.name), **overrides}
            config = util.load_config(path, overrides=overrides)
    config.to_disk(out)
    return out


def sample_train(corpus: Dict[str, Path], size: int, seed: int) -> Dict[str, Path]:
    """Draw `size` training sentences at random (a fixed sample for each seed), once.

    corpus (Dict[str, Path]): The converted splits.
    size (int): The number of training sentences to keep.
    seed (int): The seed of the sample.
    RETURNS (Dict[str, Path]): The splits, with the sample as "train".
    """
    from spacy.tokens import DocBin
    from spacy.vocab import Vocab

    out = corpus["train"].with_name(f"{corpus['train'].stem}-n{size}-s{seed}.spacy")
    if not out.exists():
        docs = list(DocBin().from_disk(corpus["train"]).get_docs(Vocab()))
        if size > len(docs):
            raise typer.BadParameter(f"--train-size {size}: the corpus has {len(docs)}")
        sample = sorted(random.Random(seed).sample(range(len(docs)), size))
        DocBin(docs=[docs[i] for i in sample], store_user_data=True).to_disk(out)
    return {**corpus, "train": out}
