"""Morphological features (UD FEATS, `token.morph`) for the `lstm_tagger`.

Two designs, chosen by the component's `morph_mode`:
- "string": one softmax over whole FEATS strings, as UDPipe 2 and spaCy's
  morphologizer do; only analyses seen in training can be predicted.
- "features": one softmax per feature (e.g. Case, over its values and `NONE`), as
  Stanza does; the analysis is put together from the features, so combinations
  never seen in training can be predicted.

With `restrict_morph_by_pos`, a token's analysis is chosen among those seen with
its predicted UPOS in training ("string"), or its features among the features seen
with that UPOS ("features"). A UPOS never seen with a morph annotation is not
restricted.
"""

from collections import defaultdict
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy
from spacy.morphology import Morphology
from spacy.vocab import Vocab

from ..errors import UnknownFeatureError

MORPH_MODES = ("string", "features")
# The value of a feature that a token does not have, as UD writes an empty column.
NONE = "_"


def feature_labels(morph_labels: Iterable[str]) -> Dict[str, List[str]]:
    """The features of a set of FEATS strings, each with its values and `NONE`.

    morph_labels (Iterable[str]): FEATS strings, e.g. "Case=Nom|Number=Sing".
    RETURNS (Dict[str, List[str]]): Each feature's values, sorted; features sorted.
    """
    values: Dict[str, set] = defaultdict(set)
    for label in morph_labels:
        for feature, value in Morphology.feats_to_dict(label).items():
            values[feature].add(value)
    return {feature: sorted(values[feature] | {NONE}) for feature in sorted(values)}


def feature_truths(
    morphs: Sequence[Optional[str]], features: Sequence[str]
) -> Dict[str, List[Optional[str]]]:
    """Each token's gold value of each feature: its value, `NONE` if the token's
    analysis lacks the feature, or None where the analysis is missing.

    morphs (Sequence[Optional[str]]): Each token's gold FEATS string, or None.
    features (Sequence[str]): The features that have an output head.
    RETURNS (Dict[str, List[Optional[str]]]): One list of values per feature.
    RAISES (UnknownFeatureError): For a gold feature without a head, as for an unknown label.
    """
    parsed = [None if morph is None else Morphology.feats_to_dict(morph) for morph in morphs]
    for feats in parsed:
        for feature, value in (feats or {}).items():
            if feature not in features:
                raise UnknownFeatureError(feature, value)
    return {f: [None if p is None else p.get(f, NONE) for p in parsed] for f in features}


def feature_keys(
    vocab: Vocab, features: Sequence[str], values: Sequence[Sequence[str]], ids: numpy.ndarray
) -> numpy.ndarray:
    """The morph key (`token.morph.key`) of each token's predicted feature values.

    vocab (Vocab): The vocab, whose morphology table gets the analyses.
    features (Sequence[str]): The features, in column order.
    values (Sequence[Sequence[str]]): Each feature's values (its head's labels).
    ids (numpy.ndarray): Each token's value index per feature, shape (n_tokens, n_features).
    RETURNS (numpy.ndarray): One uint64 morph key per token.
    """
    # Tokens share few distinct analyses: build each one once.
    rows = [tuple(row) for row in ids.tolist()]
    keys: Dict[Tuple[int, ...], int] = {}
    for row in set(rows):
        chosen = zip(features, (labels[i] for labels, i in zip(values, row)))
        keys[row] = vocab.morphology.add({f: v for f, v in chosen if v != NONE})
    return numpy.asarray([keys[row] for row in rows], dtype="uint64")


def morph_by_pos(pairs: Iterable[Tuple[Optional[str], Optional[str]]]) -> Dict[str, List[str]]:
    """The FEATS strings seen with each UPOS.

    pairs (Iterable[Tuple[Optional[str], Optional[str]]]): (UPOS, FEATS) of each gold
        token; None where missing.
    RETURNS (Dict[str, List[str]]): Each UPOS's FEATS strings, sorted.
    """
    table: Dict[str, set] = defaultdict(set)
    for pos, morph in pairs:
        if pos is not None and morph is not None:
            table[pos].add(morph)
    return {pos: sorted(table[pos]) for pos in sorted(table)}


def string_mask(
    pos_labels: Sequence[str], morph_labels: Sequence[str], table: Dict[str, List[str]]
) -> numpy.ndarray:
    """Which FEATS strings each UPOS allows ("string" mode).

    pos_labels (Sequence[str]): The UPOS labels, in column order.
    morph_labels (Sequence[str]): The FEATS labels, in column order.
    table (Dict[str, List[str]]): The FEATS strings seen with each UPOS.
    RETURNS (numpy.ndarray): Boolean, shape (n_pos, n_morph).
    """
    seen = [set(table[pos]) if pos in table else None for pos in pos_labels]
    return _allowed(seen, morph_labels)


def feature_mask(
    pos_labels: Sequence[str], features: Sequence[str], table: Dict[str, List[str]]
) -> numpy.ndarray:
    """Which features each UPOS allows ("features" mode).

    pos_labels (Sequence[str]): The UPOS labels, in column order.
    features (Sequence[str]): The features, in column order.
    table (Dict[str, List[str]]): The FEATS strings seen with each UPOS.
    RETURNS (numpy.ndarray): Boolean, shape (n_pos, n_features).
    """
    seen = [feature_labels(table[pos]) if pos in table else None for pos in pos_labels]
    return _allowed(seen, features)


def _allowed(seen: Sequence, columns: Sequence[str]) -> numpy.ndarray:
    """One row per UPOS: which columns it was seen with; None (never seen) allows all."""
    return numpy.asarray(
        [[s is None or column in s for column in columns] for s in seen], dtype=bool
    ).reshape(len(seen), len(columns))


class PosRestriction:
    """Chooses each token's morph among what training showed with its predicted UPOS.

    xp (Any): The array module of the scores (numpy or cupy).
    pos_labels (Sequence[str]): The UPOS labels, in column order.
    morph_labels (Sequence[Sequence[str]]): The labels of each morph head.
    features (Optional[Sequence[str]]): The features of the morph heads ("features"
        mode), or None for one head of FEATS strings ("string" mode).
    table (Dict[str, List[str]]): The FEATS strings seen with each UPOS.
    """

    def __init__(
        self,
        xp: Any,
        pos_labels: Sequence[str],
        morph_labels: Sequence[Sequence[str]],
        features: Optional[Sequence[str]],
        table: Dict[str, List[str]],
    ) -> None:
        self.xp = xp
        self.by_feature = features is not None
        if features is None:
            self.mask = xp.asarray(string_mask(pos_labels, morph_labels[0], table))
        else:
            self.mask = xp.asarray(feature_mask(pos_labels, features, table))
            self.none_ids = xp.asarray([labels.index(NONE) for labels in morph_labels])

    def __call__(self, pos_ids: Any, morph_ids: Any, morph_scores: Sequence[Any]) -> Any:
        """The morph choices, restricted.

        pos_ids (Any): Each token's predicted UPOS index, shape (n_tokens,).
        morph_ids (Any): Each token's unrestricted choice per morph head, shape
            (n_tokens, n_heads).
        morph_scores (Sequence[Any]): Each morph head's probabilities or logits.
        RETURNS (Any): The choices, shape (n_tokens, n_heads).
        """
        allowed = self.mask[pos_ids]
        if self.by_feature:
            return self.xp.where(allowed, morph_ids, self.none_ids)
        # -inf is never chosen over an allowed string, as probability or as logit.
        return self.xp.where(allowed, morph_scores[0], -self.xp.inf).argmax(axis=1)[:, None]
