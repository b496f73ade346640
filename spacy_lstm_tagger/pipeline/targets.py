"""What the `lstm_tagger` predicts: its targets (token attributes), their gold values,
labels and output heads, and how predicted labels are written to the docs.

A target is "pos" (`token.pos`, UPOS), "tag" (`token.tag`, e.g. XPOS) or "morph"
(`token.morph`, UD FEATS). A morph label is a canonical FEATS string, "_" for the
empty analysis. Each target has one output head, except "morph" with
`morph_mode = "features"`, which has one head per feature (see `morph.py`).
"""

from typing import Any, Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy
from spacy.attrs import IDS as ATTR_IDS
from spacy.errors import Errors as SpacyErrors
from spacy.morphology import Morphology
from spacy.parts_of_speech import IDS as UPOS_IDS
from spacy.tokens import Doc
from spacy.training import Example
from spacy.vocab import Vocab
from thinc.api import SequenceCategoricalCrossentropy, get_array_module
from thinc.types import Floats2d

from ..errors import Errors, LSTMTaggerError, UnknownFeatureError, UnknownLabelError
from .morph import (
    MORPH_MODES,
    PosRestriction,
    feature_keys,
    feature_labels,
    feature_truths,
    morph_by_pos,
)

# Each target and the spaCy attribute it writes.
TARGETS = {"tag": "TAG", "pos": "POS", "morph": "MORPH"}
ASSIGNS = {"tag": "token.tag_", "pos": "token.pos_", "morph": "token.morph"}


class Head(NamedTuple):
    """One softmax of the model's output: a target's labels, or one feature's values."""

    target: str
    feature: Optional[str]
    labels: List[str]


def validate_targets(target: Union[str, Sequence[str]], morph_mode: str, name: str) -> List[str]:
    """The component's targets as a list; a bad setting gives an error naming the fix.

    target (Union[str, Sequence[str]]): The `target` setting: one target or a list.
    morph_mode (str): The `morph_mode` setting.
    name (str): The component name, for the message.
    RETURNS (List[str]): The targets.
    """
    targets = [target] if isinstance(target, str) else target
    valid = ", ".join(repr(t) for t in TARGETS)
    if not isinstance(targets, (list, tuple)) or not targets:
        raise LSTMTaggerError(Errors.E007.format(name=name, target=target, valid=valid))
    for value in targets:
        if value not in TARGETS:
            raise LSTMTaggerError(Errors.E007.format(name=name, target=value, valid=valid))
    if len(set(targets)) < len(targets):
        raise LSTMTaggerError(Errors.E008.format(name=name, targets=list(targets)))
    if morph_mode not in MORPH_MODES:
        raise LSTMTaggerError(Errors.E009.format(name=name, mode=morph_mode))
    return list(targets)


def gold_values(example: Example, target: str) -> List[Optional[str]]:
    """The gold labels of the predicted doc's tokens for one target; None where missing.

    For "morph", a token whose morph was never set is missing, and one set to the
    empty analysis has the label "_" (spaCy aligns them as "" and "_").

    example (Example): The example.
    target (str): The target.
    RETURNS (List[Optional[str]]): One label or None per predicted token.
    """
    aligned = example.get_aligned(TARGETS[target], as_string=True)
    return [value if value else None for value in aligned]


def normalize_label(vocab: Vocab, target: str, label: str, name: str) -> str:
    """Check a label for a target; a morph label becomes its canonical FEATS string.

    vocab (Vocab): The vocab, for the morphology table.
    target (str): The target the label is for.
    label (str): The label.
    name (str): The component name, for the message.
    RETURNS (str): The label to store.
    """
    if not isinstance(label, str):
        raise ValueError(SpacyErrors.E187)
    if target == "pos" and label not in UPOS_IDS:
        raise LSTMTaggerError(Errors.E012.format(label=label, name=name))
    if target != "morph":
        return label
    try:
        feats = Morphology.feats_to_dict(label)
    except ValueError:
        feats = None
    if feats is None or not all(field and value for field, value in feats.items()):
        raise LSTMTaggerError(Errors.E013.format(label=label, name=name))
    return vocab.strings[vocab.morphology.add(feats)]


def output_heads(
    targets: Sequence[str], labels: Dict[str, List[str]], morph_mode: str
) -> List[Head]:
    """The model's output heads, in column order: one per target, or one per feature
    for "morph" in "features" mode (one of FEATS strings if no label has a feature).

    targets (Sequence[str]): The targets.
    labels (Dict[str, List[str]]): The labels of each target.
    morph_mode (str): "string" or "features".
    RETURNS (List[Head]): The heads.
    """
    heads = []
    for target in targets:
        by_feature = target == "morph" and morph_mode == "features"
        features = feature_labels(labels[target]) if by_feature else {}
        if features:
            heads.extend(Head(target, feature, values) for feature, values in features.items())
        else:
            heads.append(Head(target, None, labels[target]))
    return heads


def head_truths(example: Example, heads: Sequence[Head]) -> List[List[Optional[str]]]:
    """The gold label of each predicted token for each head; None where missing.

    example (Example): The example.
    heads (Sequence[Head]): The output heads.
    RETURNS (List[List[Optional[str]]]): One list of labels per head.
    """
    gold = {target: gold_values(example, target) for target in {head.target for head in heads}}
    features = [head.feature for head in heads if head.feature is not None]
    by_feature = feature_truths(gold["morph"], features) if features else {}
    return [gold[h.target] if h.feature is None else by_feature[h.feature] for h in heads]


def heads_loss(
    heads: Sequence[Head],
    scores: Sequence[Floats2d],
    truths: Sequence[List[List[Optional[str]]]],
    neg_prefix: str,
    label_smoothing: float,
) -> Tuple[float, List[Floats2d]]:
    """The sum of the heads' cross-entropies, and its gradient: each head's is thinc's
    `SequenceCategoricalCrossentropy` over its own columns, which gives no loss and
    a zero gradient row for a token whose gold label is missing (None).

    heads (Sequence[Head]): The output heads.
    scores (Sequence[Floats2d]): Predicted probabilities, one array per doc.
    truths (Sequence[List[List[Optional[str]]]]): Each doc's `head_truths`.
    neg_prefix (str): Prefix of gold values meaning "not this label".
    label_smoothing (float): Label smoothing of each head's loss.
    RETURNS (Tuple[float, List[Floats2d]]): The loss and its gradient, per doc.
    RAISES (UnknownLabelError): With the gold label and the head's number of labels, for a gold
        label that the head does not have.
    """
    loss, grads, start = 0.0, [], 0
    for i, head in enumerate(heads):
        end = start + len(head.labels)
        loss_func = SequenceCategoricalCrossentropy(
            names=head.labels,
            normalize=False,
            neg_prefix=neg_prefix,
            label_smoothing=label_smoothing,
        )
        try:
            d_head, head_loss = loss_func([s[:, start:end] for s in scores], [t[i] for t in truths])
        except KeyError as err:
            # thinc's loss looks each gold label up by name.
            label = err.args[0] if head.feature is None else f"{head.feature}={err.args[0]}"
            raise UnknownLabelError(label, len(head.labels)) from err
        loss += float(head_loss)
        grads.append(d_head)
        start = end
    return loss, [get_array_module(parts[0]).hstack(parts) for parts in zip(*grads)]


def examples_loss(
    examples: Sequence[Example],
    heads: Sequence[Head],
    scores: Sequence[Floats2d],
    neg_prefix: str,
    label_smoothing: float,
    name: str,
) -> Tuple[float, List[Floats2d]]:
    """`heads_loss` against the examples' gold labels; a gold label or feature that
    the heads lack gives an error that names it.

    examples (Sequence[Example]): The batch of examples.
    heads (Sequence[Head]): The output heads.
    scores (Sequence[Floats2d]): Predicted probabilities, one array per doc.
    neg_prefix (str): Prefix of gold values meaning "not this label".
    label_smoothing (float): Label smoothing of each head's loss.
    name (str): The component name, for the message.
    RETURNS (Tuple[float, List[Floats2d]]): The loss and its gradient, per doc.
    """
    try:
        truths = [head_truths(eg, heads) for eg in examples]
    except UnknownFeatureError as err:
        features = [head.feature for head in heads if head.feature is not None]
        feature, value = err.args
        message = Errors.E003.format(name=name, feature=f"{feature}={value}", features=features)
        raise LSTMTaggerError(message) from err
    try:
        return heads_loss(heads, scores, truths, neg_prefix, label_smoothing)
    except UnknownLabelError as err:
        label, n_labels = err.args
        message = Errors.E002.format(name=name, label=label, n_labels=n_labels)
        raise LSTMTaggerError(message) from err


def label_values(vocab: Vocab, target: str, labels: Sequence[str]) -> numpy.ndarray:
    """The attribute value (id) of each label of a target, as the docs store them.

    vocab (Vocab): The vocab.
    target (str): The target.
    labels (Sequence[str]): Its labels.
    RETURNS (numpy.ndarray): One uint64 value per label.
    """
    if target == "pos":
        values = [UPOS_IDS[label] for label in labels]
    elif target == "morph":
        values = [vocab.morphology.add(label) for label in labels]
    else:
        values = [vocab.strings.add(label) for label in labels]
    return numpy.asarray(values, dtype="uint64")


def target_attrs(targets: Iterable[str]) -> List[int]:
    """RETURNS (List[int]): The attribute id each target writes, in order."""
    return [ATTR_IDS[TARGETS[target]] for target in targets]


def write_values(doc: Doc, attrs: List[int], values: numpy.ndarray, overwrite: bool) -> None:
    """Write every target's values to a doc in one `from_array` call; a value already
    set is kept unless `overwrite` (spaCy's tagger and morphologizer do the same).

    doc (Doc): The doc.
    attrs (List[int]): The attribute ids (`target_attrs`).
    values (numpy.ndarray): uint64 values, shape (n_tokens, len(attrs)).
    overwrite (bool): Whether to replace values that are already set.
    """
    if not overwrite:
        # reshape: to_array returns a 1-d array for a list of one attribute.
        current = doc.to_array(attrs).reshape(values.shape)
        values = numpy.where(current == 0, values, current)
    doc.from_array(attrs, values)


def collect_labels(
    examples: Iterable[Example], targets: Sequence[str]
) -> Tuple[Dict[str, List[str]], Dict[str, List[str]]]:
    """The labels of each target found in the examples, and the FEATS strings seen with
    each UPOS (empty unless "pos" and "morph" are both targets).

    examples (Iterable[Example]): The examples.
    targets (Sequence[str]): The targets.
    RETURNS (Tuple[Dict[str, List[str]], Dict[str, List[str]]]): Sorted labels per
        target, and sorted FEATS strings per UPOS.
    """
    found: Dict[str, set] = {target: set() for target in targets}
    pairs = set()
    for example in examples:
        gold = {target: gold_values(example, target) for target in targets}
        for target, values in gold.items():
            found[target].update(value for value in values if value is not None)
        if "pos" in gold and "morph" in gold:
            pairs.update(zip(gold["pos"], gold["morph"]))
    return {target: sorted(found[target]) for target in targets}, morph_by_pos(pairs)


class Decoder:
    """Chooses each token's label for each head: the most probable one, or with a
    UPOS table, the most probable morph seen with the token's predicted UPOS. The
    scores may be probabilities or logits: the choice is the same.

    heads (Sequence[Head]): The output heads.
    xp (Any): The array module of the scores.
    table (Optional[Dict[str, List[str]]]): FEATS strings seen with each UPOS, to
        restrict morph by the predicted UPOS; None not to.
    """

    def __init__(
        self, heads: Sequence[Head], xp: Any, table: Optional[Dict[str, List[str]]]
    ) -> None:
        offsets = numpy.cumsum([0] + [len(head.labels) for head in heads]).tolist()
        self.bounds = list(zip(offsets[:-1], offsets[1:]))
        self.xp = xp
        self.morph_cols = [i for i, head in enumerate(heads) if head.target == "morph"]
        self.restriction = None
        if table is not None:
            self.pos_col = next(i for i, head in enumerate(heads) if head.target == "pos")
            features = [heads[i].feature for i in self.morph_cols]
            self.restriction = PosRestriction(
                xp,
                heads[self.pos_col].labels,
                [heads[i].labels for i in self.morph_cols],
                None if features[0] is None else features,
                table,
            )

    def __call__(self, scores: Any) -> Any:
        """The label index of each token for each head.

        scores (Any): Probabilities or logits, shape (n_tokens, n_outputs).
        RETURNS (Any): Label indices, shape (n_tokens, n_heads).
        """
        columns = [scores[:, start:end] for start, end in self.bounds]
        ids = self.xp.stack([column.argmax(axis=1) for column in columns], axis=1)
        if self.restriction is not None:
            cols = self.morph_cols
            morph_scores = [columns[i] for i in cols]
            ids[:, cols] = self.restriction(ids[:, self.pos_col], ids[:, cols], morph_scores)
        return ids


def predicted_values(
    vocab: Vocab, heads: Sequence[Head], ids: numpy.ndarray
) -> Dict[str, numpy.ndarray]:
    """The attribute value of each token for each target, from its label indices.

    vocab (Vocab): The vocab.
    heads (Sequence[Head]): The output heads.
    ids (numpy.ndarray): Label indices, shape (n_tokens, n_heads).
    RETURNS (Dict[str, numpy.ndarray]): One uint64 value per token for each target.
    """
    values = {}
    for target in dict.fromkeys(head.target for head in heads):
        cols = [i for i, head in enumerate(heads) if head.target == target]
        first = heads[cols[0]]
        if first.feature is None:
            values[target] = label_values(vocab, target, first.labels)[ids[:, cols[0]]]
        else:
            features = [heads[i].feature for i in cols]
            feature_values = [heads[i].labels for i in cols]
            values[target] = feature_keys(vocab, features, feature_values, ids[:, cols])
    return values
