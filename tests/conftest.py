"""Shared fixtures: small corpora written by the tests, and small fast models."""

import os
import subprocess
from pathlib import Path
from typing import Dict, List, Optional

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.training import Example

from spacy_lstm_tagger.cli.demo import load_demo_records, records_to_docbin

# A small model, so tests train in seconds on two CPU cores.
SMALL_MODEL = {
    "@architectures": "spacy-lstm-tagger.LSTMTagger.v1",
    "rnn_type": "lstm",
    "hidden_width": 16,
    "depth": 1,
    "bidirectional": True,
    "dropout": 0.0,
    "word_dropout": 0.0,
    "nO": None,
    "tok2vec": {
        "@architectures": "spacy.MultiHashEmbed.v2",
        "width": 32,
        "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"],
        "rows": [500, 100, 200, 100],
        "include_static_vectors": False,
    },
}


def char_tok2vec(kind: str = "lstm", words: Optional[Dict] = None) -> Dict:
    """A small word embedding beside a small character encoder."""
    return {
        "@architectures": "spacy-lstm-tagger.WordCharEmbed.v1",
        "words": words or SMALL_MODEL["tok2vec"],
        "chars": {
            "@architectures": "spacy-lstm-tagger.CharEmbed.v1",
            "width": 16,
            "char_width": 8,
            "kind": kind,
            "rows": 256,
            "max_chars": 10,
            "window": 1,
        },
    }


def small_model(**overrides) -> Dict:
    """The small model config with some settings changed."""
    return {**SMALL_MODEL, **overrides}


def make_nlp(target: str = "tag", **model_overrides) -> Language:
    """A blank English pipeline with an uninitialized small `lstm_tagger`."""
    nlp = spacy.blank("en")
    nlp.add_pipe("lstm_tagger", config={"target": target, "model": small_model(**model_overrides)})
    return nlp


def records_to_examples(nlp: Language, records: List[Dict]) -> List[Example]:
    """Examples whose predicted docs have the gold words but no annotation."""
    examples = []
    for record in records:
        gold = Doc(nlp.vocab, words=record["words"], tags=record["tags"], pos=record["pos"])
        examples.append(Example(Doc(nlp.vocab, words=record["words"]), gold))
    return examples


def train_nlp(
    nlp: Language, examples: List[Example], n_iter: int = 30, learn_rate: Optional[float] = None
) -> Language:
    """Initialize and train on the examples, all in one batch per step.

    learn_rate (Optional[float]): Overrides the default optimizer's learning rate.
    """
    optimizer = nlp.initialize(lambda: examples)
    if learn_rate is not None:
        optimizer.learn_rate = learn_rate
    for _ in range(n_iter):
        nlp.update(examples, sgd=optimizer)
    return nlp


@pytest.fixture(scope="session")
def demo_records() -> List[Dict]:
    """The embedded demo corpus: words, UPOS and Penn tags per sentence."""
    return load_demo_records()


@pytest.fixture(scope="session")
def trained_nlp(demo_records) -> Language:
    """A small tagger (target "tag") trained on 40 demo sentences. Do not modify."""
    nlp = make_nlp("tag")
    return train_nlp(nlp, records_to_examples(nlp, demo_records[:40]), n_iter=40)


@pytest.fixture(scope="session")
def trained_char_nlp(demo_records) -> Language:
    """trained_nlp's tagger with character features beside its words. Do not modify."""
    nlp = make_nlp("tag", tok2vec=char_tok2vec())
    return train_nlp(nlp, records_to_examples(nlp, demo_records[:40]), n_iter=40)


@pytest.fixture
def corpus_dir(tmp_path: Path, demo_records) -> Path:
    """train.spacy (160 sentences) and dev.spacy (40) written from the demo corpus."""
    vocab = spacy.blank("en").vocab
    records_to_docbin(demo_records[:160], vocab).to_disk(tmp_path / "train.spacy")
    records_to_docbin(demo_records[160:200], vocab).to_disk(tmp_path / "dev.spacy")
    return tmp_path


def read_docbin(path: Path, nlp: Language) -> List[Doc]:
    """The docs of a .spacy file."""
    return list(DocBin().from_disk(path).get_docs(nlp.vocab))


def run_command(cmd: List, cwd: Path, timeout: float = 300) -> str:
    """Run a command as a user would, outside the repository so the source tree is not
    importable from the working directory; fail with its output if it fails.

    cmd (List): The command and its arguments (str or Path).
    cwd (Path): The working directory.
    RETURNS (str): Its standard output.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    command = " ".join(map(str, cmd))
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout
