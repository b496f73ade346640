"""The demo: train a tagger on the embedded corpus with spaCy's own training loop,
score it on sentences it never saw, and tag a few new sentences."""

import json
import random
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import spacy
from spacy.cli.train import train
from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab
from wasabi import msg

from .corpus_io import gold_examples, read_corpus

DATA_DIR = Path(__file__).parent.parent / "data"
DEMO_CORPUS = DATA_DIR / "demo_corpus.jsonl"
DEMO_CONFIG = DATA_DIR / "demo.cfg"
DEMO_SENTENCES = [
    "The dog ate the apple .",
    # zebra, devoured, mango and Olga never occur in the demo corpus.
    "The zebra devoured the mango .",
    "Olga was dancing slowly .",
    "They bought some red cakes near the river .",
]


def load_demo_records(path: Path = DEMO_CORPUS) -> List[Dict[str, List[str]]]:
    """Read the embedded corpus: one JSON object per line with words, pos and tags.

    path (Path): The JSONL file.
    RETURNS (List[Dict[str, List[str]]]): The sentences.
    """
    with path.open(encoding="utf8") as file_:
        return [json.loads(line) for line in file_ if line.strip()]


def split_records(
    records: List[Dict], seed: int = 0, dev: float = 0.15, test: float = 0.15
) -> Tuple[List[Dict], List[Dict], List[Dict]]:
    """Shuffle with a fixed seed and split into train, dev and test.

    RETURNS (Tuple[List[Dict], List[Dict], List[Dict]]): Train, dev and test.
    """
    shuffled = list(records)
    random.Random(seed).shuffle(shuffled)
    n_dev, n_test = int(len(shuffled) * dev), int(len(shuffled) * test)
    test_part = shuffled[:n_test]
    dev_part = shuffled[n_test : n_test + n_dev]
    return shuffled[n_test + n_dev :], dev_part, test_part


def records_to_docbin(records: List[Dict], vocab: Vocab) -> DocBin:
    """Gold docs with `pos` and `tag` set from the records.

    RETURNS (DocBin): The docs.
    """
    docbin = DocBin(attrs=["ORTH", "TAG", "POS"])
    for record in records:
        docbin.add(Doc(vocab, words=record["words"], tags=record["tags"], pos=record["pos"]))
    return docbin


def run_demo(output_dir: Path, max_steps: Optional[int] = None, seed: int = 0) -> float:
    """Train on the demo corpus, report held-out accuracy and tag new sentences.

    output_dir (Path): Where the corpus files and the trained pipeline go.
    max_steps (Optional[int]): Override the config's training steps.
    seed (int): Seed of the split and of training.
    RETURNS (float): UPOS accuracy on the held-out test sentences.
    """
    output_dir = Path(output_dir)
    corpus_dir = output_dir / "corpus"
    corpus_dir.mkdir(parents=True, exist_ok=True)
    train_recs, dev_recs, test_recs = split_records(load_demo_records(), seed=seed)
    vocab = Vocab()
    for name, part in (("train", train_recs), ("dev", dev_recs), ("test", test_recs)):
        records_to_docbin(part, vocab).to_disk(corpus_dir / f"{name}.spacy")
    msg.info(
        f"Demo corpus: {len(train_recs)} train, {len(dev_recs)} dev and "
        f"{len(test_recs)} test sentences in {corpus_dir}"
    )
    overrides = {
        "paths.train": str(corpus_dir / "train.spacy"),
        "paths.dev": str(corpus_dir / "dev.spacy"),
        "system.seed": seed,
    }
    if max_steps is not None:
        overrides["training.max_steps"] = max_steps
    train(DEMO_CONFIG, output_dir / "pipeline", overrides=overrides)
    nlp = spacy.load(output_dir / "pipeline" / "model-best")
    test_docs = read_corpus(corpus_dir / "test.spacy", nlp.vocab)
    accuracy = nlp.evaluate(gold_examples(nlp, test_docs))["pos_acc"]
    msg.good(f"UPOS accuracy on {len(test_docs)} held-out test sentences: {accuracy:.3f}")
    seen = {word.lower() for record in train_recs for word in record["words"]}
    for text in DEMO_SENTENCES:
        doc = nlp(text)
        msg.text(" ".join(f"{t.text}/{t.pos_}{'' if t.lower_ in seen else '*'}" for t in doc))
    msg.text("(* = a word the tagger never saw in training)")
    return accuracy
