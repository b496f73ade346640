"""The compared systems: what each writes, its training config (ours from `configs/`,
spaCy's from `spacy init config`), and the corpus it trains on."""

import random
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import typer
from spacy import util
from thinc.api import Config

from .common import DATA, ROOT, TREEBANKS, run
from .schedules import CANDIDATES, candidate_config, recorded_training

# The systems of joint.py and the attributes each writes; ordered so that with --jobs 2
# each of ours trains beside one of spaCy's.
SYSTEMS: Dict[str, Tuple[str, ...]] = {
    "lstm_joint": ("pos", "tag", "morph"),
    "spacy_pair": ("pos", "tag", "morph"),
    "lstm_upos": ("pos",),
    "spacy_tagger": ("tag",),
    "lstm_xpos": ("tag",),
    "spacy_morphologizer": ("pos", "morph"),
    "lstm_vectors": ("pos", "tag", "morph"),
    "spacy_pair_vectors": ("pos", "tag", "morph"),
    "lstm_depth1": ("pos", "tag", "morph"),
    "lstm_buffer2048": ("pos", "tag", "morph"),
    "lstm_warmup8k": ("pos", "tag", "morph"),
    "lstm_accuracy_warmup8k": ("pos", "tag", "morph"),
    "lstm_vectors_depth1_warmup8k": ("pos", "tag", "morph"),
    "lstm_vectors_warmup8k": ("pos", "tag", "morph"),
    "lstm_vectors_depth1_warmup6k": ("pos", "tag", "morph"),
    "lstm_h96_warmup9k": ("pos", "tag", "morph"),
    "lstm_accuracy_warmup12k": ("pos", "tag", "morph"),
}
# The systems trained with every seed; the others with seed 0.
HEADLINE = (
    "lstm_joint",
    "spacy_pair",
    "lstm_vectors",
    "spacy_pair_vectors",
    "lstm_depth1",
    "lstm_buffer2048",
    "lstm_warmup8k",
    "lstm_accuracy_warmup8k",
    "lstm_vectors_depth1_warmup8k",
    "lstm_vectors_warmup8k",
    "lstm_vectors_depth1_warmup6k",
    "lstm_h96_warmup9k",
    "lstm_accuracy_warmup12k",
)
# Systems that read pretrained vectors, and the table each reads.
VECTORS = DATA / "vectors"
GLOVE, MD = VECTORS / "glove_6B_50d_vectors", VECTORS / "en_core_web_md_vectors"
VECTOR_TABLES = {
    "lstm_vectors": GLOVE,
    "lstm_accuracy_warmup8k": MD,
    "lstm_accuracy_warmup12k": MD,
    "spacy_pair_vectors": MD,
    "lstm_vectors_depth1_warmup8k": GLOVE,
    "lstm_vectors_warmup8k": GLOVE,
    "lstm_vectors_depth1_warmup6k": GLOVE,
}
# Our systems that train another file of configs/ than {treebank}_joint.cfg (a system
# of SCHEDULE_SYSTEMS trains its candidate's).
CONFIGS = {"lstm_vectors": "{treebank}_joint_vectors.cfg"}
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
# joint.py's systems whose config is one of EWT_CONFIGS, by their name there; our
# single-target systems only on EWT.
EWT_NAMES = {
    "spacy_pair": "spacy_tagger_morphologizer",
    # As en_core_web_md is built: the efficiency shape with the static vectors.
    "spacy_pair_vectors": "spacy_tagger_morphologizer",
    "spacy_tagger": "spacy_tagger",
    "spacy_morphologizer": "spacy_morphologizer",
    "lstm_upos": "lstm_tagger_upos",
    "lstm_xpos": "lstm_tagger_xpos",
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


def single_target(target: str) -> Dict[str, object]:
    """RETURNS (Dict[str, object]): Overrides of a joint config that make it predict one
    target, with the same model (LSTMTagger.v2, one head) and best-on-dev by it alone."""
    weights = {f"training.score_weights.{t}_acc": None for t in ("pos", "tag", "morph")}
    return {
        **weights,
        f"training.score_weights.{target}_acc": 1.0,
        "components.lstm_tagger.target": target,
    }


SINGLE_TARGET = {"lstm_upos": single_target("pos"), "lstm_xpos": single_target("tag")}
# Cheaper shapes of the joint config (benchmarks/frontier.py), trained to convergence.
SHAPE_SYSTEMS = {"lstm_depth1": {"components.lstm_tagger.model.depth": 1}}
# A config with the training settings of a candidate of schedules.CANDIDATES
# (train_time.py), trained to convergence: to its step budget, or by patience.
SCHEDULE_SYSTEMS = {
    "lstm_buffer2048": "constant_buffer2048",
    "lstm_warmup8k": "warmup_linear_0.004_8k_buffer2048",
    "lstm_accuracy_warmup8k": "accuracy_warmup_linear_0.004_8k_buffer2048",
    "lstm_vectors_depth1_warmup8k": "vectors_depth1_warmup_linear_0.004_8k_buffer2048",
    "lstm_vectors_warmup8k": "vectors_warmup_linear_0.004_8k_buffer2048",
    "lstm_vectors_depth1_warmup6k": "vectors_depth1_warmup_linear_0.004_6k_buffer2048",
    # The frontier's h96 shape (1.71x spaCy's pair), without vectors: a cheaper default
    # for ewt_joint.cfg if it keeps lstm_joint's accuracy (issue: throughput).
    "lstm_h96_warmup9k": "h96_warmup_linear_0.004_9k_buffer2048",
    # The accuracy preset with a longer schedule: if it meets the targets that
    # lstm_accuracy_warmup8k misses, ewt_joint_accuracy.cfg takes its 12,000 steps.
    "lstm_accuracy_warmup12k": "accuracy_warmup_linear_0.004_12k_buffer2048",
}
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
    """RETURNS (Optional[int]): The steps a system of SCHEDULE_SYSTEMS trains (its
    schedule ends there), or None: patience decides (and joint.py's step cap)."""
    name = SCHEDULE_SYSTEMS.get(system)
    return CANDIDATES[name][2] if name else None


def write_config(system: str, treebank: str, out: Path, log_file: Path) -> Path:
    """Write a system of SYSTEMS' training config, with a JSONL training log.

    system (str): A name of SYSTEMS.
    treebank (str): "ewt" or "gdt".
    out (Path): Where the config goes.
    log_file (Path): Where the training's JSONL log goes.
    RETURNS (Path): out.
    """
    lang = TREEBANKS[treebank][2]
    vectors = VECTOR_TABLES.get(system)
    overrides = {"paths.vectors": str(vectors)} if vectors else {}
    if system.startswith("spacy") or (treebank == "ewt" and system in EWT_NAMES):
        ewt_config(EWT_NAMES[system], out, log_file)
        if system == "spacy_pair_vectors":
            overrides["components.tok2vec.model.embed.include_static_vectors"] = True
        config = util.load_config(out, overrides={"nlp.lang": lang, **overrides})
    else:
        name = CONFIGS.get(system, "{treebank}_joint.cfg")
        overrides["training.logger.output_file"] = str(log_file)
        overrides.update(SINGLE_TARGET.get(system, {}))
        overrides.update(SHAPE_SYSTEMS.get(system, {}))
        if system in SCHEDULE_SYSTEMS:
            config = candidate_config(SCHEDULE_SYSTEMS[system], overrides)
        else:
            path = ROOT / "configs" / name.format(treebank=treebank)
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
