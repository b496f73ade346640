"""K-fold cross-validation: train a config on K-1 folds with spaCy's training loop and
score it on the held-out fold, for every fold.

Each fold scores every chosen attribute (by default every target of the trained
`lstm_tagger`) and, for several, AllTags, by the rules of `scores`. `fold_<i>/scores.json`
holds "targets", "accuracies" ({attr: accuracy}), "all_tags" (AllTags counts, or None for
one attribute), "test_docs", "test_tokens" and "scores" (spaCy's scores of the held-out
fold, `morph_per_feat` included). `summary.json` holds "targets", "scores" ({attr: {"mean",
"std"}}), "all_tags" ({"mean", "std"}, or None for one attribute) and "per_fold" rows with
"fold", "accuracies", "all_tags", "test_docs" and "test_tokens".
"""

import random
import statistics
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import spacy
import srsly
from spacy.cli.train import train
from spacy.language import Language
from spacy.scorer import Scorer
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from spacy.vocab import Vocab
from wasabi import msg

from ..errors import Errors
from .corpus_io import (
    EvaluationInputError,
    chosen_attrs,
    gold_tokenized,
    read_corpus,
    tagger_targets,
)
from .scores import score_tokens

PARTS = ("train", "dev", "test")
SPLIT_FILE = "split.json"
SCORES_FILE = "scores.json"
SUMMARY_FILE = "summary.json"


def make_folds(
    n_docs: int, n_folds: int, seed: int = 0, dev_fraction: float = 0.1
) -> List[Dict[str, List[int]]]:
    """Split document indices into folds. Each fold's test part is one of K disjoint
    parts; its dev part is carved from the other K-1 parts and the rest is for training.

    n_docs (int): The number of documents.
    n_folds (int): K, the number of folds.
    seed (int): Seed of the shuffle; the same seed gives the same folds.
    dev_fraction (float): Share of each fold's training documents held out as dev.
    RETURNS (List[Dict[str, List[int]]]): Per fold, sorted indices under "train", "dev", "test".
    """
    if n_folds < 2:
        raise EvaluationInputError(Errors.E208.format(n_folds=n_folds))
    if not 0.0 < dev_fraction < 1.0:
        raise EvaluationInputError(Errors.E209.format(dev_fraction=dev_fraction))
    order = list(range(n_docs))
    random.Random(seed).shuffle(order)
    # Dealing round-robin makes the test parts differ in size by at most one.
    tests = [set(order[i::n_folds]) for i in range(n_folds)]
    folds = []
    for i, test in enumerate(tests):
        rest = [index for index in order if index not in test]
        # A per-fold shuffle, so the dev parts differ between folds.
        random.Random(f"{seed}/{i}").shuffle(rest)
        n_dev = max(1, round(len(rest) * dev_fraction))
        if not test or len(rest) <= n_dev:
            raise EvaluationInputError(Errors.E210.format(n_docs=n_docs, n_folds=n_folds))
        parts = {"train": rest[n_dev:], "dev": rest[:n_dev], "test": list(test)}
        folds.append({name: sorted(parts[name]) for name in PARTS})
    return folds


def run_crossval(
    config_path: Union[str, Path],
    corpus_path: Union[str, Path],
    output_dir: Union[str, Path],
    *,
    n_folds: int = 5,
    seed: int = 0,
    dev_fraction: float = 0.1,
    overrides: Optional[Dict[str, Any]] = None,
    restart: bool = False,
    attr: Optional[Union[str, List[str]]] = None,
) -> Dict[str, Any]:
    """Cross-validate a training config on a corpus, writing one directory per fold.

    config_path (Union[str, Path]): The training config.
    corpus_path (Union[str, Path]): The corpus: a `.spacy` DocBin or a CoNLL-U file.
    output_dir (Union[str, Path]): Gets `fold_<i>/` (split, data, model, scores) and the summary.
    n_folds (int): K, the number of folds.
    seed (int): Seed of the split.
    dev_fraction (float): Share of the training folds used to choose the best model.
    overrides (Optional[Dict[str, Any]]): Config overrides, as for `spacy train`.
    restart (bool): Train folds again even when their scores exist.
    attr (Optional[Union[str, List[str]]]): "tag", "pos", "morph" or several; None for
        every target of the trained `lstm_tagger`.
    RETURNS (Dict[str, Any]): The summary, also written to `summary.json`.
    """
    output_dir = Path(output_dir)
    attrs = chosen_attrs(attr)  # Refuse a bad --attr before training anything.
    docs = read_corpus(corpus_path, Vocab())
    folds = make_folds(len(docs), n_folds, seed=seed, dev_fraction=dev_fraction)
    msg.info(f"{len(docs)} documents from {corpus_path} in {n_folds} folds (seed {seed})")
    results = []
    for i, fold in enumerate(folds, start=1):
        msg.divider(f"Fold {i} of {n_folds}")
        fold_dir = output_dir / f"fold_{i}"
        results.append(_run_fold(config_path, docs, fold, fold_dir, overrides, restart, attrs))
    targets = results[0]["targets"]
    if any(result["targets"] != targets for result in results):
        raise EvaluationInputError(Errors.E211.format(output_dir=output_dir))
    summary = {
        "config": str(config_path),
        "corpus": str(corpus_path),
        "folds": n_folds,
        "seed": seed,
        "dev_fraction": dev_fraction,
        "overrides": dict(overrides or {}),
        **summarize(results, targets),
    }
    output_dir.mkdir(parents=True, exist_ok=True)
    srsly.write_json(output_dir / SUMMARY_FILE, summary)
    _print_summary(summary)
    return summary


def summarize(results: List[Dict[str, Any]], targets: List[str]) -> Dict[str, Any]:
    """The mean and sample standard deviation of each attribute's and AllTags' accuracy
    over the folds, and one row per fold.

    results (List[Dict[str, Any]]): Each fold's scores.json.
    targets (List[str]): The attributes, the same for every fold.
    RETURNS (Dict[str, Any]): The summary's scores (see the module's docstring).
    """
    per_fold = []
    for i, result in enumerate(results, start=1):
        all_tags = result["all_tags"]
        per_fold.append(
            {
                "fold": i,
                "accuracies": result["accuracies"],
                "all_tags": None if all_tags is None else all_tags["accuracy"],
                "test_docs": result["test_docs"],
                "test_tokens": result["test_tokens"],
            }
        )
    scores = {attr: _mean_std([row["accuracies"][attr] for row in per_fold]) for attr in targets}
    all_tags = None
    if len(targets) > 1:
        all_tags = _mean_std([row["all_tags"] for row in per_fold])
    return {
        "targets": targets,
        "scores": scores,
        "all_tags": all_tags,
        "per_fold": per_fold,
    }


def _mean_std(values: List[Optional[float]]) -> Dict[str, Optional[float]]:
    """The mean and sample standard deviation of the values that are not None."""
    known = [value for value in values if value is not None]
    return {
        "mean": statistics.mean(known) if known else None,
        # The sample standard deviation (n - 1): the folds are a sample of possible splits.
        "std": statistics.stdev(known) if len(known) > 1 else None,
    }


def _run_fold(
    config_path: Union[str, Path],
    docs: List[Doc],
    fold: Dict[str, List[int]],
    fold_dir: Path,
    overrides: Optional[Dict[str, Any]],
    restart: bool,
    attrs: Optional[List[str]],
) -> Dict[str, Any]:
    """Train and score one fold, or read its scores when it is finished."""
    scores_path = fold_dir / SCORES_FILE
    if scores_path.exists() and not restart:
        _check_same_split(fold_dir, fold)
        result = srsly.read_json(scores_path)
        if attrs is not None and result["targets"] != attrs:
            message = Errors.E212.format(fold_dir=fold_dir, found=result["targets"], attrs=attrs)
            raise EvaluationInputError(message)
        msg.info(f"Skipping this fold: {scores_path} exists (use --restart to train it again)")
        return result
    fold_dir.mkdir(parents=True, exist_ok=True)
    srsly.write_json(fold_dir / SPLIT_FILE, fold)
    for part in PARTS:
        DocBin(docs=[docs[i] for i in fold[part]]).to_disk(fold_dir / f"{part}.spacy")
    msg.info(
        f"{len(fold['train'])} training, {len(fold['dev'])} dev and "
        f"{len(fold['test'])} held-out test documents"
    )
    paths = {f"paths.{part}": str(fold_dir / f"{part}.spacy") for part in ("train", "dev")}
    train(config_path, fold_dir / "training", overrides={**(overrides or {}), **paths})
    nlp = spacy.load(fold_dir / "training" / "model-best")
    test_docs = read_corpus(fold_dir / "test.spacy", nlp.vocab)
    result = score_fold(nlp, test_docs, attrs, fold_dir.name)
    srsly.write_json(scores_path, result)
    accuracies = [f"{attr}_acc {acc:.4f}" for attr, acc in result["accuracies"].items()]
    if result["all_tags"] is not None:
        accuracies.append(f"AllTags {_number(result['all_tags']['accuracy'])}")
    msg.good(f"Fold accuracy on its held-out documents: {', '.join(accuracies)}")
    return result


def score_fold(
    nlp: Language, test_docs: List[Doc], attrs: Optional[List[str]], name: str
) -> Dict[str, Any]:
    """Score a fold's model on its held-out docs, tagged on their gold tokenization.

    nlp (Language): The fold's trained pipeline.
    test_docs (List[Doc]): The held-out gold docs.
    attrs (Optional[List[str]]): The attributes to score; None for the `lstm_tagger`'s targets.
    name (str): The fold's name, for messages.
    RETURNS (Dict[str, Any]): The fold's scores.json (see the module's docstring).
    """
    targets = tagger_targets(nlp, attrs)
    preds = list(nlp.pipe(gold_tokenized(nlp, doc) for doc in test_docs))
    counts = score_tokens(test_docs, preds, targets)
    for attr in targets:
        if not counts["attrs"][attr]["tokens"]:
            raise EvaluationInputError(Errors.E213.format(name=name, attr=attr))
    accuracies = {attr: counts["attrs"][attr]["accuracy"] for attr in targets}
    all_tags = None
    if len(targets) > 1:
        all_tags = {key: counts["all_tags"][key] for key in ("tokens", "correct", "accuracy")}
    # spaCy's own scores of the same predictions, as `nlp.evaluate` gives them (without
    # its speed): the components' scores, morph_per_feat among them.
    scores = Scorer(nlp).score([Example(pred, gold) for pred, gold in zip(preds, test_docs)])
    return {
        "targets": targets,
        "accuracies": accuracies,
        "all_tags": all_tags,
        "test_docs": len(test_docs),
        "test_tokens": sum(len(doc) for doc in test_docs),
        "scores": scores,
    }


def _check_same_split(fold_dir: Path, fold: Dict[str, List[int]]) -> None:
    """Refuse to reuse a finished fold whose documents differ from this run's split."""
    split_path = fold_dir / SPLIT_FILE
    if not split_path.exists() or srsly.read_json(split_path) != fold:
        raise EvaluationInputError(Errors.E214.format(fold_dir=fold_dir))


def _number(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _print_summary(summary: Dict[str, Any]) -> None:
    """Print a row per fold with a column per attribute (and AllTags), then the means."""
    several = summary["all_tags"] is not None
    columns = [f"{attr}_acc" for attr in summary["targets"]] + ["AllTags"] * several
    rows = []
    for row in summary["per_fold"]:
        cells = [_number(row["accuracies"][attr]) for attr in summary["targets"]]
        cells += [_number(row["all_tags"])] * several
        rows.append((row["fold"], row["test_docs"], row["test_tokens"], *cells))
    msg.divider("Cross-validation")
    header = ("Fold", "Test docs", "Test tokens", *columns)
    msg.table(rows, header=header, divider=True, aligns=tuple("r" * len(header)))
    means = [summary["scores"][attr] for attr in summary["targets"]]
    means += [summary["all_tags"]] * several
    for column, score in zip(columns, means):
        msg.good(
            f"{column} over {summary['folds']} folds: {_number(score['mean'])} "
            f"± {_number(score['std'])} (mean ± sample standard deviation)"
        )
