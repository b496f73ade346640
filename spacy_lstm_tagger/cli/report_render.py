"""The error report as Markdown and in the terminal, for one scored attribute or several.

A morph report can have hundreds of labels (whole FEATS strings), so its label table shows
only the labels of its confusion matrix (the most frequent ones; report.json has them
all) and its F1 picture is per UD feature rather than per label.
"""

from typing import Any, Dict, List, Optional, Tuple

from wasabi import msg

from .scores import OTHER

Table = Tuple[Tuple[str, ...], List[Tuple]]
FEATURE_NOTE = (
    "Per UD feature, as spaCy's scorer counts them: over (token, feature=value) pairs, "
    "leaving out tokens whose gold analysis is missing or empty; support is the number "
    "of gold tokens with the feature."
)


def picture_names(attr: str, several: bool) -> Tuple[str, str]:
    """The file names of an attribute's confusion matrix and F1 picture.

    attr (str): The attribute.
    several (bool): Whether the report scores several attributes.
    RETURNS (Tuple[str, str]): `confusion.png` and `f1.png`, with `_<attr>` when several.
    """
    suffix = f"_{attr}" if several else ""
    return f"confusion{suffix}.png", f"f1{suffix}.png"


def shown_label_rows(report: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The rows of the label table to show: all of them, except for a morph report whose
    confusion matrix merges labels, where only the matrix's own labels are shown.

    report (Dict[str, Any]): A one-attribute report from `build_report`.
    RETURNS (List[Dict[str, Any]]): The rows, most frequent gold label first.
    """
    labels = report["matrix"]["labels"]
    if report["target"] != "morph" or OTHER not in labels:
        return report["labels"]
    return [row for row in report["labels"] if row["label"] in set(labels)]


def feature_rows(report: Dict[str, Any]) -> Optional[List[Dict[str, Any]]]:
    """A morph report's per-feature rows; None for other reports or without features.

    report (Dict[str, Any]): A one-attribute report from `build_report`.
    RETURNS (Optional[List[Dict[str, Any]]]): The rows, by support.
    """
    features = report.get("features")
    return features["per_feat"] if features and features["per_feat"] else None


def _prf_cells(row: Dict[str, Any]) -> Tuple[str, str, str]:
    return f"{row['precision']:.3f}", f"{row['recall']:.3f}", f"{row['f1']:.3f}"


def _tables(report: Dict[str, Any]) -> Dict[str, Table]:
    """A one-attribute report's tables as (header, rows), shared by the terminal and
    Markdown views."""
    errors = max(1, report["tokens"] - report["correct"])
    tables = {
        "labels": (
            ("Label", "Precision", "Recall", "F1", "Support", "Predicted"),
            [
                (row["label"], *_prf_cells(row), row["support"], row["predicted"])
                for row in shown_label_rows(report)
            ],
        ),
        "confusions": (
            ("Gold", "Predicted", "Tokens", "Share of errors"),
            [
                (row["gold"], row["predicted"], row["count"], f"{row['count'] / errors:.1%}")
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
    features = feature_rows(report)
    if features is not None:
        tables["features"] = (
            ("Feature", "Precision", "Recall", "F1", "Support"),
            [(row["feature"], *_prf_cells(row), row["support"]) for row in features],
        )
    return tables


def _joint_tables(report: Dict[str, Any]) -> Dict[str, Table]:
    """A several-attribute report's overview tables: accuracy, and seen vs unseen."""
    rows = [(attr, report["reports"][attr]) for attr in report["targets"]]
    rows.append(("AllTags", report["all_tags"]))
    tables = {
        "accuracy": (
            ("Attribute", "Accuracy", "Correct", "Tokens"),
            [(name, _percent(r["accuracy"]), r["correct"], r["tokens"]) for name, r in rows],
        )
    }
    if report["all_tags"]["seen"] is not None:
        tables["seen"] = (
            ("Attribute", "Seen", "Unseen", "All"),
            [
                (name, *(f"{_percent(s['accuracy'])} of {s['count']}" for s in r["seen"]))
                for name, r in rows
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


def _label_note(report: Dict[str, Any]) -> str:
    """Says when the label table leaves labels out."""
    shown, total = len(shown_label_rows(report)), len(report["labels"])
    if shown == total:
        return ""
    return f"The {shown} labels of the confusion matrix, of {total}; report.json has them all."


def render_markdown(report: Dict[str, Any]) -> str:
    """The report as Markdown, with the pictures linked from the same directory.

    report (Dict[str, Any]): The report from `build_reports`, with "model" and "corpus".
    RETURNS (str): The Markdown text.
    """
    if len(report["targets"]) > 1:
        return _render_joint(report)
    attr = report["targets"][0]
    single = report["reports"][attr]
    seen_intro = (
        "A token is *seen* if its exact form (case-sensitive) occurs in the training "
        f"corpus `{report['train_corpus']}`.\n\n"
    )
    parts = [
        "# Tagger error report",
        f"- Model: `{report['model']}`\n- Corpus: `{report['corpus']}`: {report['docs']} docs, "
        f"{single['tokens']} tokens with a gold `{attr}` (tagged on the gold tokenization)",
        f"## Accuracy\n\n**{attr} accuracy: {single['accuracy']:.2%}** "
        f"({single['correct']} of {single['tokens']} tokens)",
        *_attr_sections(single, 2, picture_names(attr, False), seen_intro),
    ]
    return "\n\n".join(parts) + "\n"


def _render_joint(report: Dict[str, Any]) -> str:
    """The Markdown of a report on several attributes: an overview, then one section each."""
    tables = _joint_tables(report)
    names = ", ".join(f"`{attr}`" for attr in report["targets"])
    parts = [
        "# Tagger error report",
        f"- Model: `{report['model']}`\n- Corpus: `{report['corpus']}`: {report['docs']} docs "
        f"(tagged on the gold tokenization)\n- Scored: {names}",
        "## Accuracy\n\n"
        + _markdown_table(*tables["accuracy"])
        + "\n\nEach attribute is scored on the tokens with a gold value for it. **AllTags** "
        f"is the share of the {report['all_tags']['tokens']} tokens with a gold value for "
        "every scored attribute that have all of them right.",
    ]
    if "seen" in tables:
        parts.append(
            "## Seen and unseen words\n\nAccuracy of the tokens whose exact form "
            "(case-sensitive) occurs (seen) or not (unseen) in the training corpus "
            f"`{report['train_corpus']}`.\n\n" + _markdown_table(*tables["seen"])
        )
    for attr in report["targets"]:
        single = report["reports"][attr]
        parts.append(
            f"## {attr}\n\n**{attr} accuracy: {single['accuracy']:.2%}** "
            f"({single['correct']} of {single['tokens']} tokens with a gold `{attr}`)"
        )
        parts += _attr_sections(single, 3, picture_names(attr, True), None)
    return "\n\n".join(parts) + "\n"


def _attr_sections(
    report: Dict[str, Any], level: int, pictures: Tuple[str, str], seen_intro: Optional[str]
) -> List[str]:
    """The Markdown sections of one attribute, headed at `level`; no seen vs unseen
    section when seen_intro is None."""
    tables, head = _tables(report), "#" * level
    confusion_png, f1_png = pictures
    parts = []
    if "seen" in tables and seen_intro is not None:
        parts.append(
            f"{head} Seen and unseen words\n\n{seen_intro}" + _markdown_table(*tables["seen"])
        )
    note = _label_note(report)
    labels = (f"{note}\n\n" if note else "") + _markdown_table(*tables["labels"])
    if "features" in tables:
        micro = report["features"]["micro"]
        parts.append(
            f"{head} Per feature\n\n![F1 per feature]({f1_png})\n\n{FEATURE_NOTE}\n\n"
            + _markdown_table(*tables["features"])
            + f"\n\nMicro-average: precision {micro['precision']:.3f}, recall "
            f"{micro['recall']:.3f}, F1 {micro['f1']:.3f}."
        )
        parts.append(f"{head} Per label\n\n{labels}")
    else:
        parts.append(f"{head} Per label\n\n![F1 per label]({f1_png})\n\n{labels}")
    merged = f" `{OTHER}` merges the less frequent labels." * (OTHER in report["matrix"]["labels"])
    parts.append(
        f"{head} Confusion matrix\n\n![Confusion matrix]({confusion_png})\n\nRows are gold "
        "labels, columns predicted labels; the colour (square-root scale) is the share of the "
        f"row's tokens and the numbers are token counts.{merged}"
    )
    parts.append(f"{head} Most frequent confusions\n\n" + _markdown_table(*tables["confusions"]))
    for rank, row in enumerate(report["confusions"], start=1):
        examples = "\n".join(row["examples"])
        parts.append(
            f"{head}# {rank}. gold {row['gold']} → predicted {row['predicted']} "
            f"({row['count']} tokens)\n\n```text\n{examples}\n```"
        )
    return parts


def print_report(report: Dict[str, Any]) -> None:
    """Print the report's tables to the terminal.

    report (Dict[str, Any]): The report from `build_reports`, with "corpus".
    """
    if len(report["targets"]) == 1:
        attr = report["targets"][0]
        msg.divider(f"Tagger report: {attr} on {report['corpus']}")
        _print_attr(report["reports"][attr], seen=True)
        return
    tables = _joint_tables(report)
    msg.divider(f"Tagger report: {', '.join(report['targets'])} on {report['corpus']}")
    msg.table(
        tables["accuracy"][1], header=tables["accuracy"][0], divider=True, aligns=tuple("lrrr")
    )
    msg.text(
        "AllTags: tokens with every attribute right, of the "
        f"{report['all_tags']['tokens']} with a gold value for all of them."
    )
    if "seen" in tables:
        msg.text("Accuracy of tokens whose form occurs (seen) or not (unseen) in training:")
        msg.table(tables["seen"][1], header=tables["seen"][0], divider=True, aligns=tuple("lrrr"))
    for attr in report["targets"]:
        msg.divider(f"{attr}")
        _print_attr(report["reports"][attr], seen=False)


def _print_attr(report: Dict[str, Any], seen: bool) -> None:
    """Print one attribute's accuracy and tables; seen vs unseen only when `seen`."""
    tables = _tables(report)
    msg.good(
        f"{report['target']} accuracy: {report['accuracy']:.2%} "
        f"({report['correct']} of {report['tokens']} tokens in {report['docs']} docs)"
    )
    if seen and "seen" in tables:
        msg.text("Tokens whose form occurs (seen) or not (unseen) in the training corpus:")
        msg.table(tables["seen"][1], header=tables["seen"][0], divider=True, aligns=tuple("lrrr"))
    if "features" in tables:
        msg.divider("Per feature")
        header, rows = tables["features"]
        msg.table(rows, header=header, divider=True, aligns=tuple("lrrrr"))
        micro = report["features"]["micro"]
        msg.text(
            f"Micro-average: precision {micro['precision']:.3f}, recall {micro['recall']:.3f}, "
            f"F1 {micro['f1']:.3f}"
        )
    msg.divider("Per label")
    msg.table(tables["labels"][1], header=tables["labels"][0], divider=True, aligns=tuple("lrrrrr"))
    if _label_note(report):
        msg.text(_label_note(report))
    msg.divider("Most frequent confusions (gold → predicted)")
    msg.table(
        tables["confusions"][1], header=tables["confusions"][0], divider=True, aligns=tuple("llrr")
    )
    for row in report["confusions"][:3]:
        msg.text(f"{row['gold']} → {row['predicted']}, e.g.: {row['examples'][0]}")
