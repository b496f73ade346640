"""Test scores, speed and the Markdown section of benchmarks/joint.py.

Run as a script, it measures in a fresh process of its own and prints JSON:
    python benchmarks/joint_measure.py evaluate MODEL TRAIN.spacy TEST.spacy --attrs pos,tag
    python benchmarks/joint_measure.py speed TEST.spacy NAME=MODEL [NAME=MODEL ...]
"""

import json
import resource
import statistics
import sys
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Tuple

import spacy
import torch
import typer
from spacy.tokens import Doc, Token

sys.path.insert(0, str(Path(__file__).parent))
from measure import measure_speed  # noqa: E402

from spacy_lstm_tagger.cli.corpus_io import gold_tokenized, read_corpus  # noqa: E402

# A target attribute: its name in the results, its value, whether the gold token has one.
FIELDS: Dict[str, Tuple[str, Callable[[Token], str], Callable[[Token], bool]]] = {
    "pos": ("upos", lambda t: t.pos_, lambda t: bool(t.pos_)),
    "tag": ("xpos", lambda t: t.tag_, lambda t: bool(t.tag_)),
    "morph": ("feats", lambda t: str(t.morph), lambda t: t.has_morph()),
}
# Column label, result key, format, and the scale of the value (accuracies in %).
COLUMNS = [
    ("UPOS", "upos_acc", "{:.2f}", 100),
    ("XPOS", "xpos_acc", "{:.2f}", 100),
    ("FEATS", "feats_acc", "{:.2f}", 100),
    ("AllTags", "alltags_acc", "{:.2f}", 100),
    ("OOV UPOS", "oov_upos_acc", "{:.2f}", 100),
    ("OOV XPOS", "oov_xpos_acc", "{:.2f}", 100),
    ("OOV FEATS", "oov_feats_acc", "{:.2f}", 100),
    ("OOV AllTags", "oov_alltags_acc", "{:.2f}", 100),
    ("words/s (1 thread)", "words_per_second", "{:,.0f}", 1),
    ("train s to best dev", "train_seconds", "{:,.0f}", 1),
    ("disk MB", "disk_mb", "{:.1f}", 1),
]
# The systems that lstm_joint is compared with, attribute by attribute.
RIVALS = ("spacy_pair", "lstm_upos", "lstm_xpos")
app = typer.Typer(add_completion=False)


def token_checks(gold: Token, pred: Token, attrs: Iterable[str]) -> Dict[str, bool]:
    """Whether each written attribute of a token is right, and all three together.

    gold (Token): The gold token.
    pred (Token): The predicted token.
    attrs (Iterable[str]): The attributes the system writes ("pos", "tag", "morph").
    RETURNS (Dict[str, bool]): Keyed "upos", "xpos", "feats" and "alltags".
    """
    checks = {}
    for attr in attrs:
        name, value, present = FIELDS[attr]
        if present(gold):
            checks[name] = value(gold) == value(pred)
    if set(attrs) == set(FIELDS) and len(checks) == len(FIELDS):
        checks["alltags"] = all(checks.values())
    return checks


def tally(
    gold: List[Doc], docs: Iterable[Doc], attrs: List[str], train_forms: set
) -> Dict[str, List[int]]:
    """Count right and scored tokens, on all tokens and on out-of-vocabulary ones.

    RETURNS (Dict[str, List[int]]): Per key: right, total, OOV right, OOV total.
    """
    counts: Dict[str, List[int]] = {}
    for gold_doc, doc in zip(gold, docs):
        for g, p in zip(gold_doc, doc):
            oov = g.text not in train_forms
            for key, ok in token_checks(g, p, attrs).items():
                c = counts.setdefault(key, [0, 0, 0, 0])
                c[0], c[1] = c[0] + ok, c[1] + 1
                if oov:
                    c[2], c[3] = c[2] + ok, c[3] + 1
    return counts


def score(model: Path, attrs: List[str], train: Path, test: Path) -> Dict[str, float]:
    """Accuracy of each written attribute on test (gold tokens), overall and on tokens
    whose form never occurs in train, and this process's peak RSS.

    RETURNS (Dict[str, float]): E.g. `upos_acc`, `oov_upos_acc`, `eval_peak_rss_mb`.
    """
    nlp = spacy.load(model)
    train_forms = {t.text for doc in read_corpus(train, nlp.vocab) for t in doc}
    gold = read_corpus(test, nlp.vocab)
    docs = nlp.pipe([gold_tokenized(nlp, doc) for doc in gold], batch_size=1000)
    result: Dict[str, float] = {}
    for key, (right, total, oov_right, oov_total) in tally(gold, docs, attrs, train_forms).items():
        result[f"{key}_acc"] = right / total
        if oov_total:
            result[f"oov_{key}_acc"] = oov_right / oov_total
    tokens = [t.text for doc in gold for t in doc]
    result["n_tokens"] = len(tokens)
    result["n_oov_tokens"] = sum(text not in train_forms for text in tokens)
    result["eval_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return result


@app.command()
def evaluate(model: Path, train: Path, test: Path, attrs: str = "pos,tag,morph") -> None:
    """Print the test scores of one pipeline as JSON (run in a fresh process)."""
    print(json.dumps(score(model, attrs.split(","), train, test)))


@app.command()
def speed(test: Path, models: List[str], repeats: int = 5) -> None:
    """Print the words/s of `NAME=MODEL` pipelines as JSON: one torch thread, the systems
    interleaved in this process, median of `repeats` rounds after a warm-up."""
    torch.set_num_threads(1)
    paths = dict(item.split("=", 1) for item in models)
    print(json.dumps(measure_speed({n: Path(p) for n, p in paths.items()}, test, repeats)))


def cell(values: List[float], fmt: str, scale: float) -> str:
    """RETURNS (str): The mean of the values, ± their sd when there are several."""
    if not values:
        return ""
    text = fmt.format(statistics.mean(values) * scale)
    if len(values) > 1:
        text += " ± " + fmt.format(statistics.stdev(values) * scale)
    return text


def table(runs: Dict[str, List[Dict]], speeds: Dict[str, float]) -> str:
    """RETURNS (str): One row per system: mean ± sd over its seeds, and its speed."""
    head = "| system | seeds | " + " | ".join(c[0] for c in COLUMNS) + " |"
    rows = [head, "|" + "---|" * (len(COLUMNS) + 2)]
    for name, results in runs.items():
        cells = []
        for _, key, fmt, scale in COLUMNS:
            if key == "words_per_second":
                values = [speeds[name]] if name in speeds else []
            else:
                values = [r[key] for r in results if key in r]
            cells.append(cell(values, fmt, scale))
        rows.append(f"| {name} | {len(results)} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def difference(runs: Dict[str, List[Dict]], key: str, other: str) -> Optional[str]:
    """RETURNS (Optional[str]): lstm_joint minus `other` on `key`, in points, and whether
    it is larger than the sum of their seed sds (a system with one seed has none); None
    if one of them does not write the attribute."""
    sides = [[r[key] * 100 for r in runs.get(n, []) if key in r] for n in ("lstm_joint", other)]
    if not all(sides):
        return None
    text = f"vs {other} {statistics.mean(sides[0]) - statistics.mean(sides[1]):+.2f} points"
    single = [n for n, s in zip(("lstm_joint", other), sides) if len(s) == 1]
    if len(single) == 2:
        return text + " (one seed each: no sd to judge it by)"
    sds = sum(statistics.stdev(s) for s in sides if len(s) > 1)
    diff = abs(statistics.mean(sides[0]) - statistics.mean(sides[1]))
    text += f", {'larger' if diff > sds else 'not larger'} than the sum of seed sds {sds:.2f}"
    return text + (f" ({single[0]}: one seed, no sd)" if single else "")


def comparisons(runs: Dict[str, List[Dict]]) -> str:
    """RETURNS (str): A line per attribute: is lstm_joint's difference to spacy_pair and
    to our single-target systems larger than the sum of their seed sds?"""
    lines = []
    for label, key, _, _ in COLUMNS[:4]:
        parts = [d for d in (difference(runs, key, o) for o in RIVALS) if d]
        if parts:
            lines.append(f"- {label}, lstm_joint " + "; ".join(parts) + ".")
    return "\n".join(lines)


def section(title: str, runs: Dict[str, List[Dict]], speed_file: Path) -> str:
    """The Markdown section of a treebank, every figure read from the result files.

    title (str): The section's heading.
    runs (Dict[str, List[Dict]]): Per system, the result of each seed.
    speed_file (Path): The speed results (may not exist yet).
    RETURNS (str): The section.
    """
    timed = json.loads(speed_file.read_text()) if speed_file.exists() else {}
    speed_meta = timed.get("meta", {})
    metas = [r["meta"] for results in runs.values() for r in results]

    def distinct(key: str) -> str:
        return ", ".join(sorted({str(m[key]) for m in metas}))

    dates = sorted(m["date"] for m in metas)
    lines = [
        f"## {title}, test set, gold tokenization\n",
        f"- commits: `{distinct('commit')}`; results from {dates[0]} to {dates[-1]}",
        f"- training overrides: `{distinct('training_overrides')}`; quick: {distinct('quick')}",
        f"- machine: {distinct('machine')}; model-best (best on dev) of each training",
        f"- speed: {speed_meta.get('date', 'not measured')}, commit "
        f"`{speed_meta.get('commit', '')}`, one torch thread, `nlp.pipe(batch_size=1000)`, "
        f"median of {speed_meta.get('repeats', '')} rounds after a warm-up, seed 0 models",
        "- mean ± sd over seeds; accuracies in %; AllTags: UPOS, XPOS and FEATS all right\n",
        table(runs, timed.get("words_per_second", {})),
        "",
        comparisons(runs),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    app()
