"""What `report` and `crossval` score, and how: each attribute's gold and predicted value
of a token, per-attribute accuracy, AllTags (every scored attribute right) and the
per-feature scores of `token.morph`.

The rules, shared by both commands:

- "tag" and "pos": the value is `token.tag_` / `token.pos_`; a gold token is scored when
  the value is not empty, as in spaCy's scorer.
- "morph": the value is `str(token.morph)`; a gold token is scored when `token.has_morph()`
  (an empty analysis, "_" in CoNLL-U, is a real analysis and is scored; it is shown as "_").
- A prediction without a value is shown as "(none)" and is wrong.
- AllTags counts the tokens with a gold value for every scored attribute; one is right
  when all its scored attributes are right.
"""

from collections import Counter
from typing import Any, Dict, Iterator, List, Optional, Sequence, Set, Tuple

from spacy.tokens import Doc, Token
from spacy.training import Example

from ..pipeline.scorer import score_morph

# The attributes that `crossval` and `report` score.
ATTRS = ("tag", "pos", "morph")
NO_LABEL = "(none)"
# The empty morphological analysis, written as in CoNLL-U.
EMPTY_MORPH = "_"
OTHER = "(other)"
Pair = Tuple[str, str]


def gold_value(token: Token, attr: str) -> Optional[str]:
    """A gold token's value of an attribute.

    token (Token): The gold token.
    attr (str): "tag", "pos" or "morph".
    RETURNS (Optional[str]): The value, or None when the token is not scored for attr.
    """
    if attr == "morph":
        return (str(token.morph) or EMPTY_MORPH) if token.has_morph() else None
    return getattr(token, f"{attr}_") or None


def predicted_value(token: Token, attr: str) -> str:
    """A predicted token's value of an attribute, NO_LABEL when it has none.

    token (Token): The predicted token.
    attr (str): "tag", "pos" or "morph".
    RETURNS (str): The value.
    """
    return gold_value(token, attr) or NO_LABEL


def token_pairs(
    golds: Sequence[Doc], preds: Sequence[Doc], attrs: Sequence[str]
) -> Iterator[Tuple[int, Token, Dict[str, Pair]]]:
    """Each gold token with its (gold, predicted) values of the attributes it is scored for.

    golds (Sequence[Doc]): The gold docs.
    preds (Sequence[Doc]): The predicted docs, on the gold tokenization.
    attrs (Sequence[str]): The attributes.
    YIELDS (Tuple[int, Token, Dict[str, Pair]]): The doc index, the gold token, and
        (gold, predicted) per attribute with a gold value (possibly none).
    """
    for doc_index, (gold, pred) in enumerate(zip(golds, preds)):
        for gold_token, pred_token in zip(gold, pred):
            pairs = {}
            for attr in attrs:
                label = gold_value(gold_token, attr)
                if label is not None:
                    pairs[attr] = (label, predicted_value(pred_token, attr))
            yield doc_index, gold_token, pairs


def score_tokens(
    golds: Sequence[Doc],
    preds: Sequence[Doc],
    attrs: Sequence[str],
    train_forms: Optional[Set[str]] = None,
) -> Dict[str, Any]:
    """Token accuracy of each attribute, and AllTags.

    golds (Sequence[Doc]): The gold docs.
    preds (Sequence[Doc]): The predicted docs, on the gold tokenization.
    attrs (Sequence[str]): The attributes.
    train_forms (Optional[Set[str]]): Word forms of the training corpus, to split
        AllTags into seen and unseen words; None to skip that.
    RETURNS (Dict[str, Any]): "attrs": per attribute, "tokens", "correct" and "accuracy"
        (None without tokens); "all_tags": "tokens" (those with a gold value for every
        attribute), "correct", "accuracy" (None without tokens) and "seen" (rows of
        `seen_rows`, or None without train_forms).
    """
    tokens: Counter = Counter()
    correct: Counter = Counter()
    seen: Counter = Counter()
    for _, gold_token, pairs in token_pairs(golds, preds, attrs):
        for attr, (label, guess) in pairs.items():
            tokens[attr] += 1
            correct[attr] += label == guess
        if len(pairs) == len(attrs):
            all_right = all(label == guess for label, guess in pairs.values())
            tokens[None] += 1
            correct[None] += all_right
            if train_forms is not None:
                seen[gold_token.text in train_forms, all_right] += 1
    return {
        "attrs": {attr: _accuracy(tokens[attr], correct[attr]) for attr in attrs},
        "all_tags": {
            **_accuracy(tokens[None], correct[None]),
            "seen": None if train_forms is None else seen_rows(seen),
        },
    }


def _accuracy(tokens: int, correct: int) -> Dict[str, Any]:
    return {"tokens": tokens, "correct": correct, "accuracy": correct / tokens if tokens else None}


def seen_rows(seen: Counter) -> List[Dict[str, Any]]:
    """Token counts and accuracy of words seen in training, unseen, and all.

    seen (Counter): Token counts by (seen in training, correct).
    RETURNS (List[Dict[str, Any]]): Rows "seen", "unseen" and "all", each with "tokens"
        (the row's name), "count", "correct" and "accuracy" (None without tokens).
    """
    rows = []
    for name, flags in (("seen", (True,)), ("unseen", (False,)), ("all", (True, False))):
        tokens = sum(seen[flag, ok] for flag in flags for ok in (True, False))
        correct = sum(seen[flag, True] for flag in flags)
        accuracy = correct / tokens if tokens else None
        rows.append({"tokens": name, "count": tokens, "correct": correct, "accuracy": accuracy})
    return rows


def feature_scores(golds: Sequence[Doc], preds: Sequence[Doc]) -> Dict[str, Any]:
    """Precision, recall and F1 of each UD feature of `token.morph`, from spaCy's
    `Scorer.score_token_attr_per_feat` as the component's scorer calls it: over
    (token, feature=value) pairs, leaving out tokens whose gold analysis is missing or
    empty. The support (gold tokens with the feature) is counted here, as spaCy's
    scores do not give it.

    golds (Sequence[Doc]): The gold docs.
    preds (Sequence[Doc]): The predicted docs, on the gold tokenization.
    RETURNS (Dict[str, Any]): "micro": micro-averaged "precision", "recall" and "f1"
        (None when no token has a gold or predicted feature); "per_feat": one row per
        feature ("feature", "precision", "recall", "f1", "support"), by support.
    """
    scores = score_morph([Example(pred, gold) for gold, pred in zip(golds, preds)])
    support: Counter = Counter()
    for gold in golds:
        for token in gold:
            support.update(token.morph.to_dict().keys())  # None for empty or missing ones.
    per_feat = [
        {"feature": name, **_prf(prf), "support": support[name]}
        for name, prf in scores.get("morph_per_feat", {}).items()
    ]
    per_feat.sort(key=lambda row: (-row["support"], row["feature"]))
    micro = None
    if "morph_micro_f" in scores:
        micro = {
            "precision": scores["morph_micro_p"],
            "recall": scores["morph_micro_r"],
            "f1": scores["morph_micro_f"],
        }
    return {"micro": micro, "per_feat": per_feat}


def _prf(prf: Dict[str, float]) -> Dict[str, float]:
    return {"precision": prf["p"], "recall": prf["r"], "f1": prf["f"]}
