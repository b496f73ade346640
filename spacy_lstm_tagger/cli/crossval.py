"""K-fold cross-validation: train a config on K-1 folds with spaCy's training loop and
score it on the held-out fold, for every fold."""

import random
import statistics
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import spacy
import srsly
from spacy.cli.train import train
from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab
from wasabi import msg

from .corpus_io import EvaluationInputError, gold_examples, read_corpus, tagger_target

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
        raise EvaluationInputError(f"--folds must be at least 2, got {n_folds}.")
    if not 0.0 < dev_fraction < 1.0:
        raise EvaluationInputError(f"--dev-fraction must be in (0, 1), got {dev_fraction}.")
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
            raise EvaluationInputError(
                f"The corpus has {n_docs} documents: too few for {n_folds} folds with a "
                "test, dev and training part each. Use fewer --folds or a larger corpus."
            )
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
    attr: Optional[str] = None,
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
    attr (Optional[str]): "tag" or "pos"; None to use the `lstm_tagger`'s target.
    RETURNS (Dict[str, Any]): The summary, also written to `summary.json`.
    """
    output_dir = Path(output_dir)
    docs = read_corpus(corpus_path, Vocab())
    folds = make_folds(len(docs), n_folds, seed=seed, dev_fraction=dev_fraction)
    msg.info(f"{len(docs)} documents from {corpus_path} in {n_folds} folds (seed {seed})")
    results = []
    for i, fold in enumerate(folds, start=1):
        msg.divider(f"Fold {i} of {n_folds}")
        fold_dir = output_dir / f"fold_{i}"
        results.append(_run_fold(config_path, docs, fold, fold_dir, overrides, restart, attr))
    accuracies = [result["accuracy"] for result in results]
    if len({result["target"] for result in results}) > 1:
        raise EvaluationInputError(
            f"The folds in {output_dir} scored different attributes (an earlier run used "
            "another --attr). Pass --restart to score all folds the same way."
        )
    summary = {
        "config": str(config_path),
        "corpus": str(corpus_path),
        "folds": n_folds,
        "seed": seed,
        "dev_fraction": dev_fraction,
        "overrides": dict(overrides or {}),
        "target": results[0]["target"],
        "accuracy_mean": statistics.mean(accuracies),
        # The sample standard deviation (n - 1): the folds are a sample of possible splits.
        "accuracy_std": statistics.stdev(accuracies),
        "per_fold": [
            {"fold": i, **{key: result[key] for key in ("accuracy", "test_docs", "test_tokens")}}
            for i, result in enumerate(results, start=1)
        ],
    }
    output_dir.mkdir(parents=True, exist_ok=True)
    srsly.write_json(output_dir / SUMMARY_FILE, summary)
    _print_summary(summary)
    return summary


def _run_fold(
    config_path: Union[str, Path],
    docs: List[Doc],
    fold: Dict[str, List[int]],
    fold_dir: Path,
    overrides: Optional[Dict[str, Any]],
    restart: bool,
    attr: Optional[str],
) -> Dict[str, Any]:
    """Train and score one fold, or read its scores when it is finished."""
    scores_path = fold_dir / SCORES_FILE
    if scores_path.exists() and not restart:
        _check_same_split(fold_dir, fold)
        msg.info(f"Skipping this fold: {scores_path} exists (use --restart to train it again)")
        return srsly.read_json(scores_path)
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
    target = tagger_target(nlp, attr)
    scores = nlp.evaluate(gold_examples(nlp, test_docs))
    if scores.get(f"{target}_acc") is None:
        raise EvaluationInputError(
            f"No held-out token of {fold_dir.name} has a gold {target!r} value to score. "
            "Check that the corpus is annotated for the attribute, or choose it with --attr."
        )
    result = {
        "target": target,
        "accuracy": scores[f"{target}_acc"],
        "test_docs": len(test_docs),
        "test_tokens": sum(len(doc) for doc in test_docs),
        "scores": scores,
    }
    srsly.write_json(scores_path, result)
    msg.good(f"Fold accuracy ({target}_acc) on its held-out documents: {result['accuracy']:.4f}")
    return result


def _check_same_split(fold_dir: Path, fold: Dict[str, List[int]]) -> None:
    """Refuse to reuse a finished fold whose documents differ from this run's split."""
    split_path = fold_dir / SPLIT_FILE
    if not split_path.exists() or srsly.read_json(split_path) != fold:
        raise EvaluationInputError(
            f"{fold_dir} holds a fold made with another split (a different corpus, "
            "--folds, --seed or --dev-fraction). Pass --restart to train it again, "
            "or choose another --output directory."
        )


def _print_summary(summary: Dict[str, Any]) -> None:
    key = f"{summary['target']}_acc"
    rows = [
        (row["fold"], row["test_docs"], row["test_tokens"], f"{row['accuracy']:.4f}")
        for row in summary["per_fold"]
    ]
    msg.divider("Cross-validation")
    msg.table(
        rows, header=("Fold", "Test docs", "Test tokens", key), divider=True, aligns=tuple("rrrr")
    )
    msg.good(
        f"{key} over {summary['folds']} folds: {summary['accuracy_mean']:.4f} "
        f"± {summary['accuracy_std']:.4f} (mean ± sample standard deviation)"
    )
