"""An error report for a trained tagger on a gold corpus: accuracy, per-label precision,
recall and F1, seen vs unseen words, frequent confusions with examples, and pictures."""

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple, Union

import spacy
import srsly
from spacy.tokens import Doc
from wasabi import msg

from .corpus_io import EvaluationInputError, gold_tokenized, read_corpus, tagger_target
from .plots import plot_confusion, plot_f1, require_matplotlib

NO_LABEL = "(none)"
OTHER = "(other)"
Pair = Tuple[str, str]


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
    attr (str): "tag" or "pos".
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
    for doc_index, (gold, pred) in enumerate(zip(golds, preds)):
        for gold_token, pred_token in zip(gold, pred):
            label = getattr(gold_token, f"{attr}_")
            if not label:  # No gold label: not scored, as in spaCy's scorer.
                continue
            guess = getattr(pred_token, f"{attr}_") or NO_LABEL
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
    """All numbers of the report, as a JSON-serializable dict.

    golds (List[Doc]): The gold docs.
    preds (List[Doc]): The predicted docs, on the gold tokenization.
    attr (str): "tag" or "pos".
    train_forms (Optional[Set[str]]): Word forms seen in training, or None.
    top_labels (int): Labels shown on their own in the confusion matrix.
    n_confusions (int): How many of the most frequent confusions to list.
    RETURNS (Dict[str, Any]): The report.
    """
    counts = count_tags(golds, preds, attr, train_forms)
    pairs = counts["pairs"]
    tokens = sum(pairs.values())
    if not tokens:
        raise EvaluationInputError(
            f"No token of the corpus has a gold {attr!r} value, so there is nothing to "
            "score. Check the corpus annotation, or choose the attribute with --attr."
        )
    correct = sum(count for (label, guess), count in pairs.items() if label == guess)
    wrong = sorted(
        ((pair, count) for pair, count in pairs.items() if pair[0] != pair[1]),
        key=lambda item: (-item[1], item[0]),
    )
    labels, matrix = confusion_matrix(pairs, top_labels)
    return {
        "target": attr,
        "docs": len(golds),
        "tokens": tokens,
        "correct": correct,
        "accuracy": correct / tokens,
        "labels": label_scores(pairs),
        "seen": _seen_rows(counts["seen"]),
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


def _seen_rows(seen: Optional[Counter]) -> Optional[List[Dict[str, Any]]]:
    if seen is None:
        return None
    rows = []
    for name, flags in (("seen", (True,)), ("unseen", (False,)), ("all", (True, False))):
        tokens = sum(seen[flag, ok] for flag in flags for ok in (True, False))
        correct = sum(seen[flag, True] for flag in flags)
        accuracy = correct / tokens if tokens else None
        rows.append({"tokens": name, "count": tokens, "correct": correct, "accuracy": accuracy})
    return rows


def run_report(
    model: Union[str, Path],
    corpus_path: Union[str, Path],
    output_dir: Union[str, Path],
    *,
    train_corpus: Optional[Union[str, Path]] = None,
    attr: Optional[str] = None,
    top_labels: int = 20,
    n_confusions: int = 10,
) -> Dict[str, Any]:
    """Tag a gold corpus on its own tokenization and write report.md, report.json,
    confusion.png and f1.png to output_dir.

    model (Union[str, Path]): A pipeline directory or installed package name.
    corpus_path (Union[str, Path]): The gold corpus: `.spacy` or CoNLL-U.
    output_dir (Union[str, Path]): Where the report goes.
    train_corpus (Optional[Union[str, Path]]): The training corpus, for seen vs unseen words.
    attr (Optional[str]): "tag" or "pos"; None for the `lstm_tagger`'s target.
    top_labels (int): Labels shown on their own in the confusion matrix.
    n_confusions (int): How many of the most frequent confusions to list.
    RETURNS (Dict[str, Any]): The report's numbers.
    """
    require_matplotlib()  # Fail before the slow work, not after it.
    try:
        nlp = spacy.load(model)
    except OSError as err:
        raise EvaluationInputError(f"Cannot load the pipeline {model}: {err}") from err
    target = tagger_target(nlp, attr)
    golds = read_corpus(corpus_path, nlp.vocab)
    train_forms = None
    if train_corpus is not None:
        train_forms = {token.text for doc in read_corpus(train_corpus, nlp.vocab) for token in doc}
    preds = list(nlp.pipe(gold_tokenized(nlp, gold) for gold in golds))
    report = build_report(golds, preds, target, train_forms, top_labels, n_confusions)
    train_name = None if train_corpus is None else str(train_corpus)
    report.update(model=str(model), corpus=str(corpus_path), train_corpus=train_name)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    plot_confusion(
        report["matrix"]["labels"], report["matrix"]["counts"], output_dir / "confusion.png"
    )
    plot_f1(report["labels"], output_dir / "f1.png")
    srsly.write_json(output_dir / "report.json", report)
    (output_dir / "report.md").write_text(render_markdown(report), encoding="utf8")
    print_report(report)
    msg.good(f"Wrote report.md, report.json, confusion.png and f1.png to {output_dir}")
    return report


def _tables(report: Dict[str, Any]) -> Dict[str, Tuple[Tuple[str, ...], List[Tuple]]]:
    """The report's tables as (header, rows), shared by the terminal and Markdown views."""
    tables = {
        "labels": (
            ("Label", "Precision", "Recall", "F1", "Support", "Predicted"),
            [
                (
                    row["label"],
                    f"{row['precision']:.3f}",
                    f"{row['recall']:.3f}",
                    f"{row['f1']:.3f}",
                    row["support"],
                    row["predicted"],
                )
                for row in report["labels"]
            ],
        ),
        "confusions": (
            ("Gold", "Predicted", "Tokens", "Share of errors"),
            [
                (
                    row["gold"],
                    row["predicted"],
                    row["count"],
                    f"{row['count'] / max(1, report['tokens'] - report['correct']):.1%}",
                )
                for row in report["confusions"]
            ],
        ),
    }
    if report["seen"] is not None:
        tables["seen"] = (
            ("Tokens", "Count", "Correct", "Accuracy"),
            [
                (row["tokens"], row["count"], row["correct"], _percent(row["accuracy"]))
                for row in report["seen"]
            ],
        )
    return tables


def _percent(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{value:.2%}"


def _markdown_table(header: Tuple[str, ...], rows: List[Tuple]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += [
        "| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows
    ]
    return "\n".join(lines)


def render_markdown(report: Dict[str, Any]) -> str:
    """The report as Markdown, with the pictures linked from the same directory.

    report (Dict[str, Any]): The report from `build_report`, with "model" and "corpus".
    RETURNS (str): The Markdown text.
    """
    tables = _tables(report)
    attr = report["target"]
    parts = [
        "# Tagger error report",
        f"- Model: `{report['model']}`\n- Corpus: `{report['corpus']}`: {report['docs']} docs, "
        f"{report['tokens']} tokens with a gold `{attr}` (tagged on the gold tokenization)",
        f"## Accuracy\n\n**{attr} accuracy: {report['accuracy']:.2%}** "
        f"({report['correct']} of {report['tokens']} tokens)",
    ]
    if "seen" in tables:
        parts.append(
            f"## Seen and unseen words\n\nA token is *seen* if its exact form (case-sensitive) "
            f"occurs in the training corpus `{report['train_corpus']}`.\n\n"
            + _markdown_table(*tables["seen"])
        )
    parts.append("## Per label\n\n![F1 per label](f1.png)\n\n" + _markdown_table(*tables["labels"]))
    merged = f" `{OTHER}` merges the less frequent labels." * (OTHER in report["matrix"]["labels"])
    parts.append(
        "## Confusion matrix\n\n![Confusion matrix](confusion.png)\n\nRows are gold labels, "
        "columns predicted labels; the colour (square-root scale) is the share of the row's "
        f"tokens and the numbers are token counts.{merged}"
    )
    parts.append("## Most frequent confusions\n\n" + _markdown_table(*tables["confusions"]))
    for rank, row in enumerate(report["confusions"], start=1):
        examples = "\n".join(row["examples"])
        parts.append(
            f"### {rank}. gold {row['gold']} → predicted {row['predicted']} "
            f"({row['count']} tokens)\n\n```text\n{examples}\n```"
        )
    return "\n\n".join(parts) + "\n"


def print_report(report: Dict[str, Any]) -> None:
    """Print the report's tables to the terminal.

    report (Dict[str, Any]): The report from `build_report`.
    """
    tables = _tables(report)
    msg.divider(f"Tagger report: {report['target']} on {report['corpus']}")
    msg.good(
        f"{report['target']} accuracy: {report['accuracy']:.2%} "
        f"({report['correct']} of {report['tokens']} tokens in {report['docs']} docs)"
    )
    if "seen" in tables:
        msg.text("Tokens whose form occurs (seen) or not (unseen) in the training corpus:")
        msg.table(tables["seen"][1], header=tables["seen"][0], divider=True, aligns=tuple("lrrr"))
    msg.divider("Per label")
    msg.table(tables["labels"][1], header=tables["labels"][0], divider=True, aligns=tuple("lrrrrr"))
    msg.divider("Most frequent confusions (gold → predicted)")
    msg.table(
        tables["confusions"][1], header=tables["confusions"][0], divider=True, aligns=tuple("llrr")
    )
    for row in report["confusions"][:3]:
        msg.text(f"{row['gold']} → {row['predicted']}, e.g.: {row['examples'][0]}")
