"""Test scores and speed for benchmarks/joint.py (its tables: joint_render.py).

Run as a script, it measures in a fresh process of its own and prints JSON:
    python benchmarks/joint_measure.py evaluate MODEL TRAIN.spacy TEST.spacy --attrs pos,tag
    python benchmarks/joint_measure.py evaluate MODEL TRAIN.spacy TEST.spacy --restrict
    python benchmarks/joint_measure.py speed TEST.spacy NAME=MODEL [NAME=MODEL ...]
"""

import json
import resource
import sys
from pathlib import Path
from typing import Dict, Iterable, List

import spacy
import torch
import typer
from spacy.tokens import Doc

sys.path.insert(0, str(Path(__file__).parent))
from measure import measure_speed  # noqa: E402

from spacy_lstm_tagger.cli.corpus_io import gold_tokenized, read_corpus  # noqa: E402
from spacy_lstm_tagger.cli.scores import token_pairs  # noqa: E402

# Each target attribute's name in the results.
FIELDS = {"pos": "upos", "tag": "xpos", "morph": "feats"}
# The component setting that restricts FEATS to those seen with the predicted UPOS.
RESTRICT = {"components": {"lstm_tagger": {"restrict_morph_by_pos": True}}}
# The suffix of a system timed in bfloat16 (opt-in, `inference_precision.v1`).
BFLOAT16 = ", bfloat16"
# The suffix of lstm_joint scored and timed with RESTRICT.
RESTRICTED = ", FEATS restricted by UPOS"
app = typer.Typer(add_completion=False)


def tally(
    gold: List[Doc], docs: Iterable[Doc], attrs: List[str], train_forms: set, pairs: set
) -> Dict[str, List[int]]:
    """Count right and scored tokens, on all tokens and on out-of-vocabulary ones.

    pairs (set): The (UPOS, FEATS) pairs of the training corpus.
    RETURNS (Dict[str, List[int]]): Per key (an attribute's field, and "alltags" when
        all three are written and scored): right, total, OOV right, OOV total. With
        "pos" and "morph" written, "seen_pair" counts the tokens whose predicted
        (UPOS, FEATS) pair occurs in training: the others contradict their UPOS.
    """
    counts: Dict[str, List[int]] = {}
    both = {"pos", "morph"} <= set(attrs)
    all_three = set(attrs) == set(FIELDS)
    docs = list(docs)
    # The rules of `report` and `crossval`: who is scored, and what is a value.
    for doc_index, g, values in token_pairs(gold, docs, attrs):
        checks = {FIELDS[attr]: label == guess for attr, (label, guess) in values.items()}
        if all_three and len(checks) == len(FIELDS):
            checks["alltags"] = all(checks.values())
        if both:
            p = docs[doc_index][g.i]
            checks["seen_pair"] = (p.pos_, str(p.morph)) in pairs
        oov = g.text not in train_forms
        for key, ok in checks.items():
            c = counts.setdefault(key, [0, 0, 0, 0])
            c[0], c[1] = c[0] + ok, c[1] + 1
            if oov:
                c[2], c[3] = c[2] + ok, c[3] + 1
    return counts


def score(
    model: Path, attrs: List[str], train: Path, test: Path, restrict: bool = False
) -> Dict[str, float]:
    """Accuracy of each written attribute on test (gold tokens), overall and on tokens
    whose form never occurs in train, and this process's peak RSS.

    restrict (bool): Load the `lstm_tagger` with `restrict_morph_by_pos` on; off otherwise.
    RETURNS (Dict[str, float]): E.g. `upos_acc`, `oov_upos_acc`, `seen_pair_acc` (the
        share of tokens whose predicted UPOS and FEATS were seen together in train),
        `eval_peak_rss_mb`.
    """
    nlp = spacy.load(model, config=RESTRICT if restrict else {})
    if not restrict and "lstm_tagger" in nlp.pipe_names:
        # The plain scores are unrestricted, whatever the pipeline's config says.
        nlp.get_pipe("lstm_tagger").restrict_morph_by_pos = False
    train_docs = read_corpus(train, nlp.vocab)
    train_forms = {t.text for doc in train_docs for t in doc}
    pairs = {(t.pos_, str(t.morph)) for doc in train_docs for t in doc if t.has_morph()}
    gold = read_corpus(test, nlp.vocab)
    docs = nlp.pipe([gold_tokenized(nlp, doc) for doc in gold], batch_size=1000)
    result: Dict[str, float] = {}
    counts = tally(gold, docs, attrs, train_forms, pairs)
    for key, (right, total, oov_right, oov_total) in counts.items():
        result[f"{key}_acc"] = right / total
        if oov_total:
            result[f"oov_{key}_acc"] = oov_right / oov_total
    tokens = [t.text for doc in gold for t in doc]
    result["n_tokens"] = len(tokens)
    result["n_oov_tokens"] = sum(text not in train_forms for text in tokens)
    result["eval_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return result


@app.command()
def evaluate(
    model: Path, train: Path, test: Path, attrs: str = "pos,tag,morph", restrict: bool = False
) -> None:
    """Print the test scores of one pipeline as JSON (run in a fresh process)."""
    print(json.dumps(score(model, attrs.split(","), train, test, restrict)))


@app.command()
def speed(test: Path, models: List[str], repeats: int = 5) -> None:
    """Print the words/s of `NAME=MODEL` pipelines as JSON: one torch thread, the systems
    interleaved in this process, median of `repeats` rounds after a warm-up. A NAME
    ending in BFLOAT16 runs its recurrent tagger in bfloat16; one ending in RESTRICTED
    restricts FEATS by UPOS."""
    torch.set_num_threads(1)
    paths = {n: Path(p) for n, p in (item.split("=", 1) for item in models)}
    bfloat16 = [name for name in paths if name.endswith(BFLOAT16)]
    configs = {name: RESTRICT for name in paths if name.endswith(RESTRICTED)}
    print(json.dumps(measure_speed(paths, test, repeats, bfloat16, configs)))


if __name__ == "__main__":
    app()
