"""Cross-validation: fold splits, held-out scoring, resume, and CoNLL-U input."""

import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest
import spacy
import srsly
from conftest import read_docbin
from hypothesis import given
from hypothesis import strategies as st
from spacy.tokens import Doc
from spacy.vocab import Vocab
from typer.testing import CliRunner

from spacy_lstm_tagger.cli import crossval
from spacy_lstm_tagger.cli.app import app
from spacy_lstm_tagger.cli.corpus_io import EvaluationInputError, gold_examples, read_corpus
from spacy_lstm_tagger.cli.crossval import make_folds, run_crossval
from spacy_lstm_tagger.cli.demo import DEMO_CONFIG, records_to_docbin

# The demo config made tiny, so that each fold trains in a few seconds.
OVERRIDES = {
    "training.max_steps": 30,
    "training.eval_frequency": 10,
    "components.lstm_tagger.model.hidden_width": 16,
    "components.lstm_tagger.model.tok2vec.words.width": 8,
}
N_DOCS = 60
N_FOLDS = 3


def words_of(path: Path) -> List[List[str]]:
    """The words of each doc of a .spacy file."""
    return [[t.text for t in doc] for doc in read_docbin(path, spacy.blank("en"))]


def write_conllu(records: List[Dict], path: Path) -> None:
    """Write records as CoNLL-U: the first word heads the sentence, the others attach to it."""
    blocks = []
    for number, record in enumerate(records):
        lines = [f"# sent_id = s{number}"]
        for i, (word, pos, tag) in enumerate(zip(record["words"], record["pos"], record["tags"])):
            head, dep = (0, "root") if i == 0 else (1, "dep")
            lines.append(f"{i + 1}\t{word}\t{word.lower()}\t{pos}\t{tag}\t_\t{head}\t{dep}\t_\t_")
        blocks.append("\n".join(lines))
    path.write_text("\n\n".join(blocks) + "\n\n", encoding="utf8")


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory, demo_records) -> Path:
    path = tmp_path_factory.mktemp("cv_corpus") / "corpus.spacy"
    records_to_docbin(demo_records[:N_DOCS], spacy.blank("en").vocab).to_disk(path)
    return path


@pytest.fixture(scope="module")
def cv_run(tmp_path_factory, corpus_file) -> Dict:
    """One cross-validation through the command line, with a spy on the training call."""
    output = tmp_path_factory.mktemp("cv_out")
    trained = []

    def spy_train(config_path, output_path, overrides):
        trained.append(dict(overrides))
        return real_train(config_path, output_path, overrides=overrides)

    real_train = crossval.train
    args = [f"--{key}={value}" for key, value in OVERRIDES.items()]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(crossval, "train", spy_train)
        result = CliRunner().invoke(
            app,
            [
                "crossval",
                str(DEMO_CONFIG),
                str(corpus_file),
                "--folds",
                str(N_FOLDS),
                "--output",
                str(output),
                *args,
            ],
        )
    assert result.exit_code == 0, result.output
    return {"output": output, "trained": trained, "stdout": result.output}


@given(
    n_docs=st.integers(min_value=6, max_value=80),
    n_folds=st.integers(min_value=2, max_value=6),
    seed=st.integers(min_value=0, max_value=10**6),
)
def test_folds_are_disjoint_and_cover_the_corpus(n_docs, n_folds, seed):
    """Test folds partition the corpus in near-equal parts; each fold's train, dev and test parts
    are non-empty and partition it too."""
    folds = make_folds(n_docs, n_folds, seed=seed)
    assert len(folds) == n_folds
    tests = [set(fold["test"]) for fold in folds]
    assert set().union(*tests) == set(range(n_docs))
    assert sum(len(test) for test in tests) == n_docs
    assert max(map(len, tests)) - min(map(len, tests)) <= 1
    for fold in folds:
        parts = [set(fold[name]) for name in ("train", "dev", "test")]
        assert all(parts)
        assert sum(map(len, parts)) == n_docs
        assert set().union(*parts) == set(range(n_docs))


def test_same_seed_gives_same_folds_in_another_process():
    """Resuming a cross-validation relies on it: a fresh interpreter, with another hash
    seed and another global random state, gives the same folds for the same seed; another
    seed gives other folds."""
    code = (
        "import json, random; random.seed(7)\n"
        "from spacy_lstm_tagger.cli.crossval import make_folds\n"
        "print(json.dumps(make_folds(50, 5, seed=3)))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "123"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr
    random.seed(99)  # the global state must not matter
    here = json.loads(json.dumps(make_folds(50, 5, seed=3)))
    assert json.loads(result.stdout.strip().splitlines()[-1]) == here
    assert make_folds(50, 5, seed=3) != make_folds(50, 5, seed=4)


@pytest.mark.parametrize(
    "n_docs,n_folds,dev_fraction,problem",
    [(20, 1, 0.1, r"\[E208\]"), (2, 2, 0.1, r"\[E210\]"), (20, 2, 1.0, r"\[E209\]")],
)
def test_bad_split_settings_are_explained(n_docs, n_folds, dev_fraction, problem):
    """Impossible split settings are refused, naming the setting."""
    with pytest.raises(EvaluationInputError, match=problem):
        make_folds(n_docs, n_folds, dev_fraction=dev_fraction)


def test_crossval_writes_folds_and_summary(cv_run, corpus_file):
    """The summary gathers each fold's own held-out score, their mean and sample
    standard deviation; each fold's split is the one `make_folds` gives."""
    output, stdout = cv_run["output"], cv_run["stdout"]
    summary = srsly.read_json(output / "summary.json")
    # The layout shared with several attributes; no AllTags for one.
    assert summary["targets"] == ["pos"] and summary["all_tags"] is None
    assert summary["overrides"] == OVERRIDES
    accuracies = [row["accuracies"]["pos"] for row in summary["per_fold"]]
    fold_scores = [
        srsly.read_json(output / f"fold_{i}" / "scores.json")["accuracies"]["pos"]
        for i in range(1, N_FOLDS + 1)
    ]
    assert accuracies == fold_scores
    assert summary["scores"]["pos"] == {
        "mean": pytest.approx(sum(accuracies) / N_FOLDS),
        "std": pytest.approx(statistics.stdev(accuracies)),
    }
    # Only the keys of this layout (no one-attribute copies of the scores).
    assert not {"target", "accuracy_mean", "accuracy_std"} & set(summary)
    assert set(summary["per_fold"][0]) == {
        "fold",
        "accuracies",
        "all_tags",
        "test_docs",
        "test_tokens",
    }
    assert sum(row["test_docs"] for row in summary["per_fold"]) == N_DOCS
    folds = make_folds(N_DOCS, N_FOLDS, seed=0)
    for i in range(1, N_FOLDS + 1):
        assert f"Fold {i} of {N_FOLDS}" in stdout
        assert srsly.read_json(output / f"fold_{i}" / "split.json") == folds[i - 1]
    assert "pos_acc" in stdout and "±" in stdout


def test_each_fold_trains_without_its_test_docs(cv_run, corpus_file):
    """Each fold trains and chooses its best model on its train and dev docs only, never on its
    test docs."""
    corpus = words_of(corpus_file)
    assert len(cv_run["trained"]) == N_FOLDS
    for i, overrides in enumerate(cv_run["trained"], start=1):
        split = srsly.read_json(cv_run["output"] / f"fold_{i}" / "split.json")
        assert not set(split["test"]) & (set(split["train"]) | set(split["dev"]))
        # The files the training loop read hold exactly the fold's train and dev docs.
        for part in ("train", "dev"):
            given_docs = words_of(Path(overrides[f"paths.{part}"]))
            assert given_docs == [corpus[index] for index in split[part]]
        assert overrides["training.max_steps"] == OVERRIDES["training.max_steps"]


@pytest.mark.parametrize("fold", range(1, N_FOLDS + 1))
def test_fold_scores_come_from_held_out_docs(cv_run, corpus_file, fold: int):
    """Each fold's score is its model-best's UPOS accuracy on the fold's held-out docs,
    on their gold words: spaCy's score and a count by hand agree with it."""
    fold_dir = cv_run["output"] / f"fold_{fold}"
    split = srsly.read_json(fold_dir / "split.json")
    scores = srsly.read_json(fold_dir / "scores.json")
    nlp = spacy.load(fold_dir / "training" / "model-best")
    corpus = read_corpus(corpus_file, nlp.vocab)
    held_out = [corpus[index] for index in split["test"]]
    assert scores["test_docs"] == len(held_out)
    assert scores["test_tokens"] == sum(len(doc) for doc in held_out)
    assert scores["targets"] == ["pos"] and not {"target", "accuracy"} & set(scores)
    expected = nlp.evaluate(gold_examples(nlp, held_out))["pos_acc"]
    assert scores["accuracies"]["pos"] == pytest.approx(expected)
    predicted = nlp.pipe(Doc(nlp.vocab, words=[t.text for t in doc]) for doc in held_out)
    correct = sum(
        token.pos_ == gold_token.pos_
        for doc, gold_doc in zip(predicted, held_out)
        for token, gold_token in zip(doc, gold_doc)
    )
    assert scores["accuracies"]["pos"] == pytest.approx(correct / scores["test_tokens"])


def test_resume_skips_finished_folds(cv_run, corpus_file, tmp_path, monkeypatch, capsys):
    """A rerun trains only the folds without scores and leaves the finished ones untouched."""
    output = tmp_path / "cv"
    shutil.copytree(cv_run["output"], output)
    (output / "fold_2" / "scores.json").unlink()
    kept = {i: (output / f"fold_{i}" / "scores.json").stat().st_mtime_ns for i in (1, 3)}
    trained_dirs = []
    real_train = crossval.train

    def spy_train(config_path, output_path, overrides):
        trained_dirs.append(Path(output_path).parent.name)
        return real_train(config_path, output_path, overrides=overrides)

    monkeypatch.setattr(crossval, "train", spy_train)
    summary = run_crossval(DEMO_CONFIG, corpus_file, output, n_folds=N_FOLDS, overrides=OVERRIDES)
    assert trained_dirs == ["fold_2"]
    assert capsys.readouterr().out.count("Skipping this fold") == 2
    for i, mtime in kept.items():
        assert (output / f"fold_{i}" / "scores.json").stat().st_mtime_ns == mtime
    assert (output / "fold_2" / "scores.json").exists()
    assert len(summary["per_fold"]) == N_FOLDS


def test_bad_attr_is_refused_before_training(corpus_file, tmp_path, monkeypatch):
    """An invalid --attr is refused, listing the valid ones, before any fold trains."""
    monkeypatch.setattr(crossval, "train", lambda *args, **kwargs: pytest.fail("trained"))
    with pytest.raises(EvaluationInputError, match=r"\[E204\] .*'lemma'.*'morph'"):
        run_crossval(DEMO_CONFIG, corpus_file, tmp_path / "cv", n_folds=N_FOLDS, attr=["lemma"])
    args = ["crossval", str(DEMO_CONFIG), str(corpus_file), "-o", str(tmp_path / "cv")]
    result = CliRunner().invoke(app, [*args, "--attr", "pos", "--attr", "lemma"])
    assert result.exit_code == 1 and "Invalid --attr 'lemma'" in result.output


def test_resume_refuses_a_different_split(cv_run, corpus_file, tmp_path):
    """Resuming with another seed (another split) is refused, pointing to --restart."""
    output = tmp_path / "cv"
    shutil.copytree(cv_run["output"], output)
    with pytest.raises(EvaluationInputError, match=r"\[E214\]"):
        run_crossval(DEMO_CONFIG, corpus_file, output, n_folds=N_FOLDS, seed=1)


def test_crossval_on_conllu(tmp_path, demo_records):
    """A CoNLL-U corpus cross-validates with one doc per sentence."""
    conllu = tmp_path / "corpus.conllu"
    write_conllu(demo_records[:30], conllu)
    summary = run_crossval(DEMO_CONFIG, conllu, tmp_path / "cv", n_folds=2, overrides=OVERRIDES)
    assert summary["targets"] == ["pos"]
    # One document per sentence, so the folds split the 30 sentences.
    assert sum(row["test_docs"] for row in summary["per_fold"]) == 30
    assert (tmp_path / "cv" / "fold_2" / "scores.json").exists()


def test_read_conllu_keeps_one_doc_per_sentence(tmp_path, demo_records):
    """Reading CoNLL-U keeps one doc per sentence, with its words, UPOS and tags."""
    conllu = tmp_path / "corpus.conllu"
    write_conllu(demo_records[:5], conllu)
    vocab = Vocab()
    docs = read_corpus(conllu, vocab)
    assert [[t.text for t in doc] for doc in docs] == [r["words"] for r in demo_records[:5]]
    assert [[t.pos_ for t in doc] for doc in docs] == [r["pos"] for r in demo_records[:5]]
    assert [[t.tag_ for t in doc] for doc in docs] == [r["tags"] for r in demo_records[:5]]
    assert all(doc.vocab is vocab for doc in docs)


@pytest.mark.parametrize(
    "name,text,problem",
    [("corpus.txt", "some text", r"\[E201\]"), ("bad.conllu", "1\tword\n", r"\[E203\]")],
)
def test_unreadable_corpus_is_explained(tmp_path, name, text, problem):
    """A corpus in an unknown format, or a broken CoNLL-U file, is explained without a traceback."""
    path = tmp_path / name
    path.write_text(text, encoding="utf8")
    with pytest.raises(EvaluationInputError, match=problem):
        read_corpus(path, Vocab())
    result = CliRunner().invoke(app, ["crossval", str(DEMO_CONFIG), str(path), "-o", "x"])
    assert result.exit_code == 1
    assert re.search(problem, result.output)
