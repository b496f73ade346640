"""End to end, in subprocesses: spaCy's own CLI with the plugin found through its
entry points (no --code), and the package's demo command."""

import re
import sys
from pathlib import Path
from typing import List

import pytest
import spacy
from conftest import run_command

from spacy_lstm_tagger.cli.demo import DEMO_CONFIG

CONFIGS = sorted((Path(__file__).parent.parent / "configs").glob("*.cfg"))

pytestmark = pytest.mark.slow


def run_module(*args: str, cwd: Path) -> str:
    """Run `python -m ARGS` as a user would; check that it succeeded and return its stdout."""
    return run_command([sys.executable, "-m", *args], cwd, timeout=600)


def corpus_overrides(corpus_dir: Path) -> List[str]:
    """CLI overrides that point a config at the corpus the `corpus_dir` fixture wrote."""
    train, dev = corpus_dir / "train.spacy", corpus_dir / "dev.spacy"
    return ["--paths.train", str(train), "--paths.dev", str(dev)]


def test_spacy_train_then_load(corpus_dir: Path) -> None:
    """`spacy train` on the demo config (overrides reaching the model) gives a pipeline that
    loads and tags a known sentence right."""
    output = corpus_dir / "training"
    run_module(
        "spacy", "train", str(DEMO_CONFIG), "--output", str(output),
        *corpus_overrides(corpus_dir),
        "--training.max_steps", "60", "--training.eval_frequency", "20",
        "--components.lstm_tagger.model.hidden_width", "16",
        "--components.lstm_tagger.model.tok2vec.words.width", "8",
        cwd=corpus_dir,
    )  # fmt: skip
    nlp = spacy.load(output / "model-best")
    # The override reached the model: 4 tables of width 8, then the demo's 32 for characters.
    assert nlp.get_pipe("lstm_tagger").model.get_ref("output_layer").get_dim("nI") == 4 * 8 + 32
    doc = nlp("The dog ate the apple .")
    assert [t.pos_ for t in doc] == ["DET", "NOUN", "VERB", "DET", "NOUN", "PUNCT"]


@pytest.mark.parametrize("config", CONFIGS, ids=[path.name for path in CONFIGS])
def test_spacy_debug_config(config: Path, corpus_dir: Path) -> None:
    """Every shipped config passes `spacy debug config`."""
    stdout = run_module(
        "spacy", "debug", "config", str(config), *corpus_overrides(corpus_dir), cwd=corpus_dir
    )
    assert "Config is valid" in stdout


def test_demo_command(tmp_path: Path) -> None:
    """The demo command trains, scores at least 0.9 on held-out sentences and tags new ones
    right."""
    output = tmp_path / "demo"
    stdout = run_module(
        "spacy_lstm_tagger", "demo", "--max-steps", "100", "--output", str(output), cwd=tmp_path
    )
    accuracy = re.search(r"UPOS accuracy on \d+ held-out test sentences: ([0-9.]+)", stdout)
    assert accuracy is not None, stdout
    assert float(accuracy.group(1)) >= 0.9
    assert "The/DET dog/NOUN ate/VERB the/DET apple/NOUN" in stdout
    assert (output / "pipeline" / "model-best" / "config.cfg").exists()
