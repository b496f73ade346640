"""An error report for a trained tagger on a gold corpus, for each scored attribute (UPOS,
tag, morph): accuracy, per-label precision, recall and F1, seen vs unseen words, frequent
confusions with examples, and pictures; for morph, per-feature scores; for several
attributes, AllTags (the share of tokens with all of them right).

report.json holds {"targets", "docs", "reports", "all_tags", "model", "corpus",
"train_corpus"}, for one attribute as for several: "reports" has, per attribute, the report
of `build_report` (keys "target", "docs", "tokens", "correct", "accuracy", "labels", "seen",
"confusions", "matrix", and "features" for morph); "all_tags" is None for one attribute.
The pictures are confusion.png and f1.png for one attribute, confusion_<attr>.png and
f1_<attr>.png for several.
"""

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple, Union

import spacy
import srsly
from spacy.tokens import Doc
from wasabi import msg

from ..errors import Errors
from .corpus_io import EvaluationInputError, gold_tokenized, read_corpus, tagger_targets
from .plots import plot_confusion, plot_f1, require_matplotlib
from .report_render import (
    feature_rows,
    picture_names,
    print_report,
    render_markdown,
    shown_label_rows,
)
from .scores import NO_LABEL, OTHER, Pair, feature_scores, score_tokens, seen_rows, token_pairs

__all__ = ["NO_LABEL", "OTHER", "build_report", "build_reports", "run_report"]


def count_tags(
    golds: List[Doc],
    preds: List[Doc],
    attr: str,
    train_forms: Optional[Set[str]] = None,
    n_examples: int = 3,
) -> Dict[str, Any]:
    """Count (gold, predicted) label pairs over tokens with a gold label.

    golds (List[Doc]): The gold docs.
    preds (List[Doc]): The predicted docs, on the gold tokenization.
    attr (str): "tag", "pos" or "morph" (see `scores` for the values compared).
    train_forms (Optional[Set[str]]): Word forms of the training corpus, to split
        the tokens into seen and unseen; None to skip that.
    n_examples (int): Examples to keep per confusion.
    RETURNS (Dict[str, Any]): "pairs" (Counter of (gold, predicted)), "examples" (up to
        n_examples (doc index, token index) per wrong pair), "seen" (Counter of
        (seen in training, correct)), or None without train_forms.
    """
    pairs: Counter = Counter()
    examples: Dict[Pair, List[Tuple[int, int]]] = defaultdict(list)
    seen: Counter = Counter()
    for doc_index, gold_token, found in token_pairs(golds, preds, [attr]):
        if attr not in found:  # No gold value: not scored, as in spaCy's scorer.
            continue
        label, guess = found[attr]
        pairs[label, guess] += 1
        if guess != label and len(examples[label, guess]) < n_examples:
            examples[label, guess].append((doc_index, gold_token.i))
        if train_forms is not None:
            seen[gold_token.text in train_forms, guess == label] += 1
    return {"pairs": pairs, "examples": examples, "seen": None if train_forms is None else seen}


def label_scores(pairs: Counter) -> List[Dict[str, Any]]:
    """Precision, recall, F1 and support of every gold or predicted label.

    pairs (Counter): Token counts of (gold, predicted) label pairs.
    RETURNS (List[Dict[str, Any]]): One row per label, most frequent gold label first.
    """
    support, predicted = _marginals(pairs)
    rows = []
    for label in _labels_by_frequency(support, predicted):
        correct = pairs[label, label]
        precision = correct / predicted[label] if predicted[label] else 0.0
        recall = correct / support[label] if support[label] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if correct else 0.0
        rows.append(
            {
                "label": label,
                "precision": precision,
                "recall": recall,
                "f1": f1,
                "support": support[label],
                "predicted": predicted[label],
            }
        )
    return rows


def _marginals(pairs: Counter) -> Tuple[Counter, Counter]:
    """Token counts per gold label and per predicted label."""
    gold: Counter = Counter()
    predicted: Counter = Counter()
    for (label, guess), count in pairs.items():
        gold[label] += count
        predicted[guess] += count
    return gold, predicted


def _labels_by_frequency(gold: Counter, predicted: Counter) -> List[str]:
    """Labels by gold count, then predicted count, then name."""
    labels = set(gold) | set(predicted)
    return sorted(labels, key=lambda label: (-gold[label], -predicted[label], label))


def confusion_matrix(pairs: Counter, top_n: int = 20) -> Tuple[List[str], List[List[int]]]:
    """The confusion matrix of the top_n most frequent labels; the others merged as "(other)".

    pairs (Counter): Token counts of (gold, predicted) label pairs.
    top_n (int): The most labels to show on their own.
    RETURNS (Tuple[List[str], List[List[int]]]): Labels, and counts[gold][predicted].
    """
    labels = _labels_by_frequency(*_marginals(pairs))
    if len(labels) > top_n:
        labels = [*labels[:top_n], OTHER]
    index = {label: i for i, label in enumerate(labels)}
    counts = [[0] * len(labels) for _ in labels]
    for (label, guess), count in pairs.items():
        counts[index.get(label, index.get(OTHER))][index.get(guess, index.get(OTHER))] += count
    return labels, counts


def mark_token(doc: Doc, i: int, window: int = 10) -> str:
    """The words around token i, with the token marked as [[word]].

    doc (Doc): The doc.
    i (int): The token index.
    window (int): Words to show on each side.
    RETURNS (str): The text.
    """
    start, end = max(0, i - window), min(len(doc), i + window + 1)
    words = [f"[[{t.text}]]" if t.i == i else t.text for t in doc[start:end]]
    return " ".join(["…"] * (start > 0) + words + ["…"] * (end < len(doc)))


def build_report(
    golds: List[Doc],
    preds: List[Doc],
    attr: str,
    train_forms: Optional[Set[str]] = None,
    top_labels: int = 20,
    n_confusions: int = 10,
) -> Dict[str, Any]:
    """All numbers of one attribute's report, as a JSON-serializable dict.

    golds (List[Doc]): The gold docs.
    preds (List[Doc]): The predicted docs, on the gold tokenization.
    attr (str): "tag", "pos" or "morph".
    train_forms (Optional[Set[str]]): Word forms seen in training, or None.
    top_labels (int): Labels shown on their own in the confusion matrix.
    n_confusions (int): How many of the most frequent confusions to list.
    RETURNS (Dict[str, Any]): The report; for "morph", with "features" from
        `scores.feature_scores`.
    """
    counts = count_tags(golds, preds, attr, train_forms)
    pairs = counts["pairs"]
    tokens = sum(pairs.values())
    if not tokens:
        raise EvaluationInputError(Errors.E206.format(attr=attr))
    correct = sum(count for (label, guess), count in pairs.items() if label == guess)
    wrong = sorted(
        ((pair, count) for pair, count in pairs.items() if pair[0] != pair[1]),
        key=lambda item: (-item[1], item[0]),
    )
    labels, matrix = confusion_matrix(pairs, top_labels)
    report = {
        "target": attr,
        "docs": len(golds),
        "tokens": tokens,
        "correct": correct,
        "accuracy": correct / tokens,
        "labels": label_scores(pairs),
        "seen": None if counts["seen"] is None else seen_rows(counts["seen"]),
        "confusions": [
            {
                "gold": gold,
                "predicted": guess,
                "count": count,
                "examples": [mark_token(golds[d], i) for d, i in counts["examples"][gold, guess]],
            }
            for (gold, guess), count in wrong[:n_confusions]
        ],
        "matrix": {"labels": labels, "counts": matrix},
    }
    if attr == "morph":
        report["features"] = feature_scores(golds, preds)
    return report


def build_reports(
    golds: List[Doc],
    preds: List[Doc],
    attrs: Sequence[str],
    train_forms: Optional[Set[str]] = None,
    top_labels: int = 20,
    n_confusions: int = 10,
) -> Dict[str, Any]:
    """The reports of one attribute or several, with AllTags for several.

    golds (List[Doc]): The gold docs.
    preds (List[Doc]): The predicted docs, on the gold tokenization.
    attrs (Sequence[str]): The attributes to score.
    train_forms (Optional[Set[str]]): Word forms seen in training, or None.
    top_labels (int): Labels shown on their own in each confusion matrix.
    n_confusions (int): How many of the most frequent confusions to list per attribute.
    RETURNS (Dict[str, Any]): "targets", "docs", "reports" (`build_report`'s report per
        attribute) and "all_tags" (`scores.score_tokens`'s AllTags counts; None for one
        attribute).
    """
    reports = {
        attr: build_report(golds, preds, attr, train_forms, top_labels, n_confusions)
        for attr in attrs
    }
    all_tags = None
    if len(attrs) > 1:
        all_tags = score_tokens(golds, preds, attrs, train_forms)["all_tags"]
    return {"targets": list(attrs), "docs": len(golds), "reports": reports, "all_tags": all_tags}


def run_report(
    model: Union[str, Path],
    corpus_path: Union[str, Path],
    output_dir: Union[str, Path],
    *,
    train_corpus: Optional[Union[str, Path]] = None,
    attr: Optional[Union[str, Sequence[str]]] = None,
    top_labels: int = 20,
    n_confusions: int = 10,
) -> Dict[str, Any]:
    """Tag a gold corpus on its own tokenization and write report.md, report.json and
    the pictures (see the module's docstring) to output_dir.

    model (Union[str, Path]): A pipeline directory or installed package name.
    corpus_path (Union[str, Path]): The gold corpus: `.spacy` or CoNLL-U.
    output_dir (Union[str, Path]): Where the report goes.
    train_corpus (Optional[Union[str, Path]]): The training corpus, for seen vs unseen words.
    attr (Optional[Union[str, Sequence[str]]]): "tag", "pos", "morph" or several; None
        for every target of the pipeline's `lstm_tagger`.
    top_labels (int): Labels shown on their own in the confusion matrix.
    n_confusions (int): How many of the most frequent confusions to list.
    RETURNS (Dict[str, Any]): The report's numbers.
    """
    require_matplotlib()  # Fail before the slow work, not after it.
    try:
        nlp = spacy.load(model)
    except OSError as err:
        raise EvaluationInputError(Errors.E207.format(model=model, err=err)) from err
    attrs = tagger_targets(nlp, attr)
    golds = read_corpus(corpus_path, nlp.vocab)
    train_forms = None
    if train_corpus is not None:
        train_forms = {token.text for doc in read_corpus(train_corpus, nlp.vocab) for token in doc}
    preds = list(nlp.pipe(gold_tokenized(nlp, gold) for gold in golds))
    report = build_reports(golds, preds, attrs, train_forms, top_labels, n_confusions)
    train_name = None if train_corpus is None else str(train_corpus)
    report.update(model=str(model), corpus=str(corpus_path), train_corpus=train_name)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    pictures = write_pictures(report, output_dir)
    srsly.write_json(output_dir / "report.json", report)
    (output_dir / "report.md").write_text(render_markdown(report), encoding="utf8")
    print_report(report)
    msg.good(f"Wrote report.md, report.json, {', '.join(pictures)} to {output_dir}")
    return report


def write_pictures(report: Dict[str, Any], output_dir: Path) -> List[str]:
    """Draw each attribute's confusion matrix and F1 bars: per UD feature for a morph
    report with features, else per label (those of `shown_label_rows`).

    report (Dict[str, Any]): The report from `build_reports`.
    output_dir (Path): The directory to write to.
    RETURNS (List[str]): The names of the files written.
    """
    reports = report["reports"]
    written = []
    for attr, single in reports.items():
        confusion_png, f1_png = picture_names(attr, len(reports) > 1)
        matrix = single["matrix"]
        plot_confusion(matrix["labels"], matrix["counts"], output_dir / confusion_png)
        features = feature_rows(single)
        if features is None:
            plot_f1(shown_label_rows(single), output_dir / f1_png)
        else:
            rows = [{**row, "label": row["feature"]} for row in features]
            plot_f1(rows, output_dir / f1_png, title="F1 per UD feature", unit="feature")
        written += [confusion_png, f1_png]
    return written
