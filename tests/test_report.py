"""The error report: its counts, its tables and its pictures."""

import sys
from collections import Counter
from pathlib import Path
from typing import Dict

import pytest
import spacy
import srsly
from conftest import JOINT_MODEL, make_nlp, read_docbin
from spacy.tokens import Doc
from spacy.vocab import Vocab
from typer.testing import CliRunner

from spacy_lstm_tagger.cli.app import app
from spacy_lstm_tagger.cli.corpus_io import EvaluationInputError, gold_examples, tagger_targets
from spacy_lstm_tagger.cli.demo import records_to_docbin
from spacy_lstm_tagger.cli.plots import require_matplotlib
from spacy_lstm_tagger.cli.report import OTHER, build_report, confusion_matrix, mark_token

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def report_run(tmp_path_factory, trained_nlp, demo_records) -> Dict:
    """A report, through the command line, of the shared tagger (target "tag") on
    60 sentences it never saw, with its 40 training sentences for seen vs unseen."""
    root = tmp_path_factory.mktemp("report")
    trained_nlp.to_disk(root / "model")
    vocab = spacy.blank("en").vocab
    records_to_docbin(demo_records[:40], vocab).to_disk(root / "train.spacy")
    records_to_docbin(demo_records[300:360], vocab).to_disk(root / "eval.spacy")
    args = ["report", str(root / "model"), str(root / "eval.spacy"), "--output", str(root / "out")]
    result = CliRunner().invoke(app, [*args, "--train-corpus", str(root / "train.spacy")])
    assert result.exit_code == 0, result.output
    report_json = srsly.read_json(root / "out" / "report.json")
    return {
        "root": root,
        "out": root / "out",
        "json": report_json,
        "report": report_json["reports"]["tag"],
        "stdout": result.output,
    }


def test_a_one_attribute_report_has_the_layout_of_several(report_run):
    """report.json nests the one attribute's report as it nests each of several; there is
    no AllTags for one attribute."""
    report_json = report_run["json"]
    assert set(report_json) == {
        "targets",
        "docs",
        "reports",
        "all_tags",
        "model",
        "corpus",
        "train_corpus",
    }
    assert report_json["targets"] == ["tag"] and report_json["all_tags"] is None
    assert report_json["docs"] == report_run["report"]["docs"] == 60


def test_report_counts_add_up(report_run, trained_nlp, demo_records):
    """The report's counts are those counted by hand from the model's tags on the
    evaluation words: per label, seen and unseen in training, and confusions."""
    report = report_run["report"]
    records = demo_records[300:360]
    n_tokens = sum(len(record["words"]) for record in records)
    assert report["target"] == "tag"
    assert report["docs"] == 60
    assert report["tokens"] == n_tokens
    assert sum(map(sum, report["matrix"]["counts"])) == n_tokens
    train_forms = {word for record in demo_records[:40] for word in record["words"]}
    docs = trained_nlp.pipe(Doc(trained_nlp.vocab, words=r["words"]) for r in records)
    # (gold, predicted, seen in training) for every token.
    tokens = [
        (gold, token.tag_, token.text in train_forms)
        for doc, record in zip(docs, records)
        for token, gold in zip(doc, record["tags"])
    ]
    assert report["correct"] == sum(gold == pred for gold, pred, _ in tokens)
    rows = report["labels"]
    assert {row["label"]: row["support"] for row in rows if row["support"]} == Counter(
        gold for gold, _, _ in tokens
    )
    assert {row["label"]: row["predicted"] for row in rows if row["predicted"]} == Counter(
        pred for _, pred, _ in tokens
    )
    seen = {
        name: (len(part), sum(gold == pred for gold, pred, _ in part))
        for name, part in (
            ("seen", [t for t in tokens if t[2]]),
            ("unseen", [t for t in tokens if not t[2]]),
            ("all", tokens),
        )
    }
    assert {row["tokens"]: (row["count"], row["correct"]) for row in report["seen"]} == seen
    assert seen["unseen"][0] > 0  # the evaluation has unseen words to count
    wrong = Counter((gold, pred) for gold, pred, _ in tokens if gold != pred)
    top = sorted(wrong.items(), key=lambda item: (-item[1], item[0]))[:10]
    assert [(c["gold"], c["predicted"], c["count"]) for c in report["confusions"]] == [
        (gold, pred, count) for (gold, pred), count in top
    ]


def test_report_accuracy_agrees_with_spacy_scorer(report_run):
    """The report's accuracy is spaCy's score of the same model on the same corpus."""
    nlp = spacy.load(report_run["root"] / "model")
    golds = read_docbin(report_run["root"] / "eval.spacy", nlp)
    expected = nlp.evaluate(gold_examples(nlp, golds))["tag_acc"]
    assert report_run["report"]["accuracy"] == pytest.approx(expected)


def test_report_files_and_terminal_output(report_run):
    """The markdown report shows the pictures, the label table and each confusion with up to 3
    marked examples, most frequent first."""
    out, report = report_run["out"], report_run["report"]
    markdown = (out / "report.md").read_text(encoding="utf8")
    for needle in ("![Confusion matrix](confusion.png)", "![F1 per label](f1.png)", "| Label |"):
        assert needle in markdown
    for confusion in report["confusions"]:
        assert f"gold {confusion['gold']} → predicted {confusion['predicted']}" in markdown
        assert 1 <= len(confusion["examples"]) <= 3
        assert all("[[" in example for example in confusion["examples"])
    counts = [confusion["count"] for confusion in report["confusions"]]
    assert counts == sorted(counts, reverse=True)
    assert "Per label" in report_run["stdout"] and "seen" in report_run["stdout"]


@pytest.mark.parametrize("name", ["confusion.png", "f1.png"])
def test_pictures_are_real_images(report_run, name):
    """The confusion matrix and F1 bars are real, non-blank PNG images."""
    from matplotlib.image import imread

    path = report_run["out"] / name
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    image = imread(path)
    assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 200
    assert image.std() > 0.05  # Not a blank canvas.


def tagged_docs(vocab: Vocab, words, gold_tags, pred_tags):
    gold = Doc(vocab, words=words, tags=gold_tags)
    return gold, Doc(vocab, words=words, tags=pred_tags)


def test_label_scores_on_known_counts():
    """Precision, recall, F1, accuracy, seen/unseen counts and confusions equal those computed by
    hand for a tiny known prediction."""
    gold, pred = tagged_docs(
        Vocab(), ["a", "b", "c", "d"], ["A", "A", "B", "C"], ["A", "B", "B", "A"]
    )
    report = build_report([gold], [pred], "tag", train_forms={"a", "b"})
    rows = {row["label"]: row for row in report["labels"]}
    assert rows["A"]["precision"] == pytest.approx(0.5) and rows["A"]["recall"] == pytest.approx(
        0.5
    )
    assert rows["B"]["precision"] == pytest.approx(0.5) and rows["B"]["recall"] == pytest.approx(
        1.0
    )
    assert rows["B"]["f1"] == pytest.approx(2 / 3)
    assert rows["C"] == {**rows["C"], "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert report["accuracy"] == pytest.approx(0.5)
    seen = {row["tokens"]: (row["count"], row["correct"]) for row in report["seen"]}
    assert seen == {"seen": (2, 1), "unseen": (2, 1), "all": (4, 2)}
    pairs = {(row["gold"], row["predicted"]): row["count"] for row in report["confusions"]}
    assert pairs == {("A", "B"): 1, ("C", "A"): 1}


def test_tokens_without_gold_label_are_not_scored():
    """Tokens without a gold label are not counted."""
    gold, pred = tagged_docs(Vocab(), ["a", "b", "c"], ["A", "", "B"], ["A", "A", "A"])
    report = build_report([gold], [pred], "tag")
    assert report["tokens"] == 2 and report["correct"] == 1
    assert report["seen"] is None


def test_confusion_matrix_merges_rare_labels_and_keeps_the_total():
    """Labels past the top N merge into one row and column, and the total count is kept."""
    pairs = Counter({("A", "A"): 5, ("B", "A"): 2, ("C", "C"): 1, ("C", "B"): 1})
    labels, counts = confusion_matrix(pairs, top_n=1)
    assert labels == ["A", OTHER]
    assert counts == [[5, 0], [2, 2]]
    labels, counts = confusion_matrix(pairs, top_n=5)
    assert labels == ["A", "B", "C"] and sum(map(sum, counts)) == 9


def test_mark_token_shows_a_window():
    """An example shows the token marked, with a window of words around it."""
    doc = Doc(Vocab(), words=[str(i) for i in range(30)])
    assert mark_token(doc, 0, window=2) == "[[0]] 1 2 …"
    assert mark_token(doc, 15, window=1) == "… 14 [[15]] 16 …"


def test_targets_need_attr_without_lstm_tagger():
    """Without an `lstm_tagger`, the attributes must be given, among tag, pos and morph;
    given ones are kept in their order, each once."""
    with pytest.raises(EvaluationInputError, match=r"\[E205\]"):
        tagger_targets(spacy.blank("en"))
    assert tagger_targets(spacy.blank("en"), "pos") == ["pos"]
    assert tagger_targets(spacy.blank("en"), ["morph", "tag", "morph"]) == ["morph", "tag"]
    with pytest.raises(EvaluationInputError, match=r"\[E204\] .*'lemma'.*'morph'"):
        tagger_targets(spacy.blank("en"), ["pos", "lemma"])


def test_targets_default_to_every_lstm_tagger_target():
    """Without --attr, every target of the `lstm_tagger` is scored, in its own order: a
    pipeline tagging both tag and pos is no longer refused."""
    assert tagger_targets(make_nlp("tag")) == ["tag"]
    nlp = spacy.blank("en")
    nlp.add_pipe("lstm_tagger", config={"target": ["pos", "tag"], "model": JOINT_MODEL})
    assert tagger_targets(nlp) == ["pos", "tag"]
    assert tagger_targets(nlp, ["tag"]) == ["tag"]


def test_missing_matplotlib_says_how_to_install(monkeypatch, report_run):
    """Without matplotlib, the report says how to install the extra."""
    for module in ("matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ImportError, match=r"pip install 'spacy-lstm-tagger\[report\]'"):
        require_matplotlib()
    root: Path = report_run["root"]
    args = ["report", str(root / "model"), str(root / "eval.spacy"), "-o", str(root / "out2")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1 and "spacy-lstm-tagger[report]" in result.output
