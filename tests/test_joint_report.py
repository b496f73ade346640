"""`report` and `crossval` of a joint tagger (UPOS, tags and features): a section and
pictures per attribute, per-feature scores for morph, and AllTags, each checked against
counts by hand and spaCy's scorer."""

import shutil
import statistics
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest
import spacy
import srsly
from conftest import demo_morphs, joint_examples, make_joint_nlp, train_nlp
from spacy.language import Language
from spacy.scorer import Scorer
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from spacy.vocab import Vocab
from typer.testing import CliRunner

from spacy_lstm_tagger.cli.app import app
from spacy_lstm_tagger.cli.corpus_io import EvaluationInputError, gold_examples, read_corpus
from spacy_lstm_tagger.cli.crossval import run_crossval
from spacy_lstm_tagger.cli.report import build_reports
from spacy_lstm_tagger.cli.report_render import render_markdown
from spacy_lstm_tagger.cli.scores import NO_LABEL, OTHER, score_tokens

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ATTRS = ["pos", "tag", "morph"]
TRAIN, EVAL = slice(0, 40), slice(300, 340)


def gold_docs(vocab: Vocab, records: List[Dict], drop_morph: bool = False) -> List[Doc]:
    """Gold docs with UPOS, tags and features; with drop_morph, every other doc has no
    features at all and the others lack them on their first token."""
    docs = []
    for i, r in enumerate(records):
        morphs = None if drop_morph and i % 2 == 0 else demo_morphs(r["tags"])
        doc = Doc(vocab, words=r["words"], tags=r["tags"], pos=r["pos"], morphs=morphs)
        if drop_morph and morphs is not None:
            doc[0].set_morph(None)
        docs.append(doc)
    return docs


def write_docbin(path: Path, docs: List[Doc]) -> Path:
    DocBin(docs=docs, store_user_data=False).to_disk(path)
    return path


def run_cli(*args: str) -> str:
    result = CliRunner().invoke(app, [str(arg) for arg in args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def joint_run(tmp_path_factory, demo_records) -> Dict:
    """A joint tagger (pos, tag, morph) fit briefly to 40 demo sentences, and its reports
    through the command line on 40 sentences it never saw: all attributes with the
    training corpus; morph alone; all attributes on a corpus where some tokens lack
    features."""
    root = tmp_path_factory.mktemp("joint_report")
    spacy.util.fix_random_seed(0)
    nlp = make_joint_nlp()
    train_nlp(nlp, joint_examples(nlp, demo_records[TRAIN]), n_iter=15, learn_rate=0.01)
    nlp.to_disk(root / "model")
    vocab = spacy.blank("en").vocab
    train = write_docbin(root / "train.spacy", gold_docs(vocab, demo_records[TRAIN]))
    full = write_docbin(root / "eval.spacy", gold_docs(vocab, demo_records[EVAL]))
    partial = gold_docs(vocab, demo_records[EVAL], drop_morph=True)
    partial_path = write_docbin(root / "partial.spacy", partial)
    model = root / "model"
    stdout = run_cli("report", model, full, "-o", root / "all", "--train-corpus", train)
    run_cli("report", model, full, "-o", root / "morph", "--attr", "morph")
    run_cli("report", model, partial_path, "-o", root / "partial")
    return {"root": root, "stdout": stdout, **{n: root / n for n in ("all", "morph", "partial")}}


def value(token, attr: str) -> str:
    """A token's value as the report shows it: the empty analysis as "_"."""
    if attr == "morph":
        return (str(token.morph) or "_") if token.has_morph() else NO_LABEL
    return getattr(token, f"{attr}_") or NO_LABEL


def hand_pairs(nlp: Language, golds: List[Doc]) -> List[Tuple[Dict[str, Tuple[str, str]], str]]:
    """For each gold token, (gold, predicted) per attribute it has gold for, and its form;
    the predictions are the model's own on the gold words."""
    preds = nlp.pipe(Doc(nlp.vocab, words=[t.text for t in gold]) for gold in golds)
    tokens = []
    for gold, pred in zip(golds, preds):
        for g, p in zip(gold, pred):
            known = {a: (value(g, a), value(p, a)) for a in ATTRS if value(g, a) != NO_LABEL}
            tokens.append((known, g.text))
    return tokens


def load_eval(joint_run, name: str) -> Tuple[Language, List[Doc]]:
    nlp = spacy.load(joint_run["root"] / "model")
    return nlp, read_corpus(joint_run["root"] / name, nlp.vocab)


def test_joint_report_layout_and_pictures(joint_run):
    """A report of every target has one section and two real pictures per attribute, and
    AllTags in report.json, report.md and the terminal."""
    from matplotlib.image import imread

    out = joint_run["all"]
    report = srsly.read_json(out / "report.json")
    assert report["targets"] == ATTRS and list(report["reports"]) == ATTRS
    assert report["train_corpus"].endswith("train.spacy")
    markdown = (out / "report.md").read_text(encoding="utf8")
    assert "| AllTags |" in markdown
    for attr in ATTRS:
        assert report["reports"][attr]["target"] == attr
        assert f"\n## {attr}\n" in markdown
        assert f"![Confusion matrix](confusion_{attr}.png)" in markdown
        for name in (f"confusion_{attr}.png", f"f1_{attr}.png"):
            assert (out / name).read_bytes()[:8] == PNG_SIGNATURE
            image = imread(out / name)
            assert image.shape[0] > 200 and image.shape[1] > 200 and image.std() > 0.05
    assert "![F1 per feature](f1_morph.png)" in markdown
    assert not (out / "confusion.png").exists()
    for needle in ("AllTags", "pos accuracy", "morph accuracy", "Per feature"):
        assert needle in joint_run["stdout"]


def test_joint_report_counts_match_hand_counts(joint_run):
    """Each attribute's counts, and AllTags (seen, unseen and all), are those counted by
    hand from the model's predictions on the gold words; AllTags is at most each
    attribute's accuracy."""
    report = srsly.read_json(joint_run["all"] / "report.json")
    nlp, golds = load_eval(joint_run, "eval.spacy")
    tokens = hand_pairs(nlp, golds)
    for attr in ATTRS:
        pairs = [known[attr] for known, _ in tokens]
        single = report["reports"][attr]
        assert single["tokens"] == len(pairs) == sum(len(doc) for doc in golds)
        assert single["correct"] == sum(gold == pred for gold, pred in pairs)
        rows = single["labels"]
        assert {r["label"]: r["support"] for r in rows if r["support"]} == Counter(
            gold for gold, _ in pairs
        )
        assert {r["label"]: r["predicted"] for r in rows if r["predicted"]} == Counter(
            pred for _, pred in pairs
        )
    assert any(row["label"] == "_" for row in report["reports"]["morph"]["labels"])
    train_forms = {
        t.text for doc in read_corpus(joint_run["root"] / "train.spacy", nlp.vocab) for t in doc
    }
    all_right = [
        (all(g == p for g, p in known.values()), text in train_forms) for known, text in tokens
    ]
    all_tags = report["all_tags"]
    assert all_tags["tokens"] == len(all_right)
    assert all_tags["correct"] == sum(ok for ok, _ in all_right)
    assert all_tags["accuracy"] == pytest.approx(all_tags["correct"] / all_tags["tokens"])
    assert all(all_tags["accuracy"] <= report["reports"][a]["accuracy"] for a in ATTRS)
    assert all_tags["correct"] < min(report["reports"][a]["correct"] for a in ATTRS)
    seen = {row["tokens"]: (row["count"], row["correct"]) for row in all_tags["seen"]}
    for name, flag in (("seen", True), ("unseen", False)):
        part = [ok for ok, is_seen in all_right if is_seen == flag]
        assert seen[name] == (len(part), sum(part))
    assert seen["unseen"][0] > 0


def test_joint_report_agrees_with_spacy_scorer(joint_run):
    """Each attribute's accuracy is spaCy's, and the morph per-feature scores are spaCy's
    `Scorer.score_token_attr_per_feat` on the same predictions (support counted by hand)."""
    report = srsly.read_json(joint_run["all"] / "report.json")
    nlp, golds = load_eval(joint_run, "eval.spacy")
    scores = nlp.evaluate(gold_examples(nlp, golds))
    for attr in ATTRS:
        assert report["reports"][attr]["accuracy"] == pytest.approx(scores[f"{attr}_acc"])
    preds = nlp.pipe(Doc(nlp.vocab, words=[t.text for t in gold]) for gold in golds)
    examples = [Example(pred, gold) for pred, gold in zip(preds, golds)]
    expected = Scorer.score_token_attr_per_feat(
        examples, "morph", getter=lambda token, attr: getattr(token, attr).key
    )
    features = report["reports"]["morph"]["features"]
    rows = {row["feature"]: row for row in features["per_feat"]}
    assert set(rows) == set(expected["morph_per_feat"]) and rows
    for name, prf in expected["morph_per_feat"].items():
        assert (rows[name]["precision"], rows[name]["recall"], rows[name]["f1"]) == pytest.approx(
            (prf["p"], prf["r"], prf["f"])
        )
    support = Counter(feat for gold in golds for t in gold for feat in t.morph.to_dict())
    assert {name: row["support"] for name, row in rows.items() if row["support"]} == support
    assert features["micro"]["f1"] == pytest.approx(expected["morph_micro_f"])
    assert "| Feature |" in (joint_run["all"] / "report.md").read_text(encoding="utf8")


def test_report_of_morph_alone(joint_run):
    """`--attr morph` gives a one-attribute report (the joint report's layout, without
    AllTags) with per-feature scores and the same numbers as in the joint report."""
    out = joint_run["morph"]
    report_json = srsly.read_json(out / "report.json")
    assert report_json["targets"] == ["morph"] and report_json["all_tags"] is None
    report = report_json["reports"]["morph"]
    joint = srsly.read_json(joint_run["all"] / "report.json")["reports"]["morph"]
    assert report["target"] == "morph"
    assert (report["correct"], report["tokens"]) == (joint["correct"], joint["tokens"])
    assert report["features"] == joint["features"]
    for name in ("confusion.png", "f1.png"):
        assert (out / name).read_bytes()[:8] == PNG_SIGNATURE
    assert not (out / "confusion_morph.png").exists()
    assert "![F1 per feature](f1.png)" in (out / "report.md").read_text(encoding="utf8")


def test_tokens_without_morph_are_left_out_of_morph_and_all_tags(joint_run):
    """Tokens whose gold morph is unset are not scored for morph nor for AllTags, and are
    still scored for pos and tag."""
    report = srsly.read_json(joint_run["partial"] / "report.json")
    nlp, golds = load_eval(joint_run, "partial.spacy")
    n_tokens = sum(len(doc) for doc in golds)
    with_morph = sum(t.has_morph() for doc in golds for t in doc)
    assert 0 < with_morph < n_tokens
    assert report["reports"]["pos"]["tokens"] == report["reports"]["tag"]["tokens"] == n_tokens
    assert report["reports"]["morph"]["tokens"] == with_morph
    tokens = hand_pairs(nlp, golds)
    complete = [known for known, _ in tokens if len(known) == len(ATTRS)]
    assert report["all_tags"]["tokens"] == len(complete) == with_morph
    assert report["all_tags"]["correct"] == sum(
        all(g == p for g, p in known.values()) for known in complete
    )


def test_score_tokens_on_known_values():
    """Accuracy per attribute and AllTags of a tiny known prediction, with a token without
    gold UPOS and one without gold features (the empty analysis is scored)."""
    vocab = Vocab()
    words = ["a", "b", "c", "d"]
    gold = Doc(vocab, words=words, pos=["NOUN", "", "VERB", "ADJ"], morphs=["", "A=1", "B=2", ""])
    gold[3].set_morph(None)
    pred = Doc(
        vocab, words=words, pos=["NOUN", "NOUN", "NOUN", "ADJ"], morphs=["", "A=1", "B=2", "A=1"]
    )
    scores = score_tokens([gold], [pred], ["pos", "morph"], train_forms={"a", "c"})
    assert scores["attrs"]["pos"] == {"tokens": 3, "correct": 2, "accuracy": pytest.approx(2 / 3)}
    assert scores["attrs"]["morph"] == {"tokens": 3, "correct": 3, "accuracy": 1.0}
    # Tokens a and c have both gold values; a is right on both, c wrong on pos.
    all_tags = scores["all_tags"]
    assert (all_tags["tokens"], all_tags["correct"]) == (2, 1)
    assert [(r["tokens"], r["count"], r["correct"]) for r in all_tags["seen"]] == [
        ("seen", 2, 1),
        ("unseen", 0, 0),
        ("all", 2, 1),
    ]


@pytest.fixture(scope="module")
def joint_cv(tmp_path_factory, demo_records) -> Dict:
    """Cross-validation of a small joint config through the command line: 2 folds of 30
    sentences, 20 training steps each."""
    root = tmp_path_factory.mktemp("joint_cv")
    make_joint_nlp().config.to_disk(root / "joint.cfg")
    corpus = write_docbin(root / "corpus.spacy", gold_docs(Vocab(), demo_records[:30]))
    overrides = ["--training.max_steps", "20", "--training.eval_frequency", "10"]
    output = root / "cv"
    stdout = run_cli("crossval", root / "joint.cfg", corpus, "-k", "2", "-o", output, *overrides)
    return {"root": root, "corpus": corpus, "output": output, "stdout": stdout}


def fold_mean_std(values: List[float]) -> Dict[str, Optional[float]]:
    return {
        "mean": pytest.approx(statistics.mean(values)),
        "std": pytest.approx(statistics.stdev(values)),
    }


def test_joint_crossval_summary(joint_cv):
    """The summary has each attribute's and AllTags' mean and sample standard deviation
    of the folds' own scores, and one column per attribute in the terminal."""
    output = joint_cv["output"]
    summary = srsly.read_json(output / "summary.json")
    folds = [srsly.read_json(output / f"fold_{i}" / "scores.json") for i in (1, 2)]
    assert summary["targets"] == ATTRS
    for attr in ATTRS:
        accuracies = [fold["accuracies"][attr] for fold in folds]
        assert summary["scores"][attr] == fold_mean_std(accuracies)
        assert [row["accuracies"][attr] for row in summary["per_fold"]] == accuracies
    assert summary["all_tags"] == fold_mean_std([fold["all_tags"]["accuracy"] for fold in folds])
    for fold in folds:
        assert fold["all_tags"]["accuracy"] <= min(fold["accuracies"].values())
        assert "morph_per_feat" in fold["scores"]
    header = next(line for line in joint_cv["stdout"].splitlines() if "Test docs" in line)
    assert header.split()[-4:] == ["pos_acc", "tag_acc", "morph_acc", "AllTags"]


def test_joint_crossval_fold_scores_by_hand(joint_cv):
    """A fold's accuracies are spaCy's, and its AllTags is counted by hand, for its
    model-best on its held-out docs."""
    fold_dir = joint_cv["output"] / "fold_1"
    fold = srsly.read_json(fold_dir / "scores.json")
    split = srsly.read_json(fold_dir / "split.json")
    nlp = spacy.load(fold_dir / "training" / "model-best")
    corpus = read_corpus(joint_cv["corpus"], nlp.vocab)
    held_out = [corpus[i] for i in split["test"]]
    scores = nlp.evaluate(gold_examples(nlp, held_out))
    for attr in ATTRS:
        assert fold["accuracies"][attr] == pytest.approx(scores[f"{attr}_acc"])
    tokens = hand_pairs(nlp, held_out)
    right = [all(g == p for g, p in known.values()) for known, _ in tokens]
    assert (fold["all_tags"]["tokens"], fold["all_tags"]["correct"]) == (len(right), sum(right))


def test_joint_crossval_resume_compares_attributes(joint_cv, tmp_path):
    """Resuming finished folds with other attributes, or with folds that scored different
    ones, is refused, pointing to --restart."""
    output = tmp_path / "cv"
    shutil.copytree(joint_cv["output"], output)
    config, corpus = joint_cv["root"] / "joint.cfg", joint_cv["corpus"]
    with pytest.raises(EvaluationInputError, match=r"\[E212\]"):
        run_crossval(config, corpus, output, n_folds=2, attr=["pos"])
    scores_path = output / "fold_2" / "scores.json"
    finished = srsly.read_json(scores_path)
    srsly.write_json(scores_path, {**finished, "targets": ["pos", "tag"]})
    with pytest.raises(EvaluationInputError, match=r"\[E211\]"):
        run_crossval(config, corpus, output, n_folds=2)
    srsly.write_json(scores_path, finished)
    # The same attributes as the finished folds: nothing to train, the same summary.
    summary = run_crossval(config, corpus, output, n_folds=2, attr=list(ATTRS))
    first = srsly.read_json(joint_cv["output"] / "summary.json")
    assert summary["targets"] == first["targets"] == ATTRS
    for attr in ATTRS:
        assert summary["scores"][attr]["mean"] == pytest.approx(first["scores"][attr]["mean"])
    assert summary["all_tags"]["mean"] == pytest.approx(first["all_tags"]["mean"])


def test_morph_labels_are_readable_and_the_label_table_is_cut():
    """The empty analysis shows as "_", an unset prediction as "(none)", and a morph label
    table shows only the confusion matrix's labels, saying how many there are in all."""
    vocab = Vocab()
    words = ["a", "b", "c", "d", "e", "f"]
    gold = Doc(vocab, words=words, morphs=["", "A=1", "A=1", "B=2", "C=3", "A=1|B=2"])
    pred = Doc(vocab, words=words, morphs=["", "A=1", "B=2", "B=2", "C=3", "A=1|B=2"])
    pred[4].set_morph(None)
    reports = build_reports([gold], [pred], ["morph"], top_labels=2)
    report = reports["reports"]["morph"]
    rows = {row["label"]: row for row in report["labels"]}
    assert rows["_"]["support"] == 1 and rows["_"]["f1"] == 1.0
    assert rows[NO_LABEL]["predicted"] == 1
    assert report["matrix"]["labels"] == ["A=1", "B=2", OTHER]
    reports.update(model="m", corpus="c", train_corpus=None)
    markdown = render_markdown(reports)
    label_table = markdown.split("## Per label")[1].split("##")[0]
    assert "| A=1 |" in label_table and "| B=2 |" in label_table
    assert "| C=3 |" not in label_table and "of 6; report.json has them all" in label_table
    assert "A=1\\|B=2" not in label_table  # Left out too ("|" is escaped in tables).
    features = {row["feature"]: row["support"] for row in report["features"]["per_feat"]}
    assert features == {"A": 3, "B": 2, "C": 1}
