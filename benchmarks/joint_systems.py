"""The systems of benchmarks/joint.py: what each one writes, its training config, and the
corpus it trains on (the converted treebank, or a random sample of its training set)."""

import random
import sys
from pathlib import Path
from typing import Dict, Tuple

import typer
from dev_ablation import DATA, TREEBANKS
from dev_ablation import convert as convert_train_dev
from ewt import ROOT, make_config, run
from spacy import util

# Each system and the attributes it writes; ordered so that with --jobs 2 each of ours
# trains beside one of spaCy's.
SYSTEMS: Dict[str, Tuple[str, ...]] = {
    "lstm_joint": ("pos", "tag", "morph"),
    "spacy_pair": ("pos", "tag", "morph"),
    "lstm_upos": ("pos",),
    "spacy_tagger": ("tag",),
    "lstm_xpos": ("tag",),
    "spacy_morphologizer": ("pos", "morph"),
    "lstm_vectors": ("pos", "tag", "morph"),
    "spacy_pair_vectors": ("pos", "tag", "morph"),
    "lstm_accuracy": ("pos", "tag", "morph"),
}
# The systems trained with every seed; the others with seed 0.
HEADLINE = ("lstm_joint", "spacy_pair", "lstm_vectors", "spacy_pair_vectors", "lstm_accuracy")
# Systems that read pretrained vectors: our shipped config (None: spaCy's) and the table
# (benchmarks/vectors.py's dev ablations chose GloVe for the efficiency preset).
VECTORS = DATA / "vectors"
VECTOR_SYSTEMS = {
    "lstm_vectors": ("{treebank}_joint_vectors.cfg", VECTORS / "glove_6B_50d_vectors"),
    "lstm_accuracy": ("{treebank}_joint_accuracy.cfg", VECTORS / "en_core_web_md_vectors"),
    "spacy_pair_vectors": (None, VECTORS / "en_core_web_md_vectors"),
}
# Systems whose config benchmarks/ewt.py writes (spaCy's with `spacy init config`), by
# their name there; our single-target systems only on EWT.
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


def convert(treebank: str, corpus: Path) -> Dict[str, Path]:
    """Convert the treebank's train, dev and test files with `spacy convert`, once.

    treebank (str): "ewt" or "gdt".
    corpus (Path): The folder of the converted files.
    RETURNS (Dict[str, Path]): The DocBin of each split.
    """
    paths = convert_train_dev(treebank, corpus, DATA)
    folder, stem, _ = TREEBANKS[treebank]
    paths["test"] = corpus / f"{stem}-test.spacy"
    if not paths["test"].exists():
        src = DATA / folder / f"{stem}-test.conllu"
        run([sys.executable, "-m", "spacy", "convert", str(src), str(corpus), "-c", "conllu"])
    return paths


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


def write_config(system: str, treebank: str, out: Path, log_file: Path) -> Path:
    """Write a system's training config, with a JSONL training log.

    system (str): A name of SYSTEMS.
    treebank (str): "ewt" or "gdt".
    out (Path): Where the config goes.
    log_file (Path): Where the training's JSONL log goes.
    RETURNS (Path): out.
    """
    lang = TREEBANKS[treebank][2]
    name, vectors = VECTOR_SYSTEMS.get(system, (None, None))
    overrides = {"paths.vectors": str(vectors)} if vectors else {}
    if system.startswith("spacy") or (treebank == "ewt" and system in EWT_NAMES):
        make_config(EWT_NAMES[system], out, log_file)
        if system == "spacy_pair_vectors":
            overrides["components.tok2vec.model.embed.include_static_vectors"] = True
        config = util.load_config(out, overrides={"nlp.lang": lang, **overrides})
    else:
        name = name or "{treebank}_joint.cfg"
        overrides["training.logger.output_file"] = str(log_file)
        overrides.update(SINGLE_TARGET.get(system, {}))
        path = ROOT / "configs" / name.format(treebank=treebank)
        config = util.load_config(path, overrides=overrides)
    config.to_disk(out)
    return out
