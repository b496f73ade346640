"""The labels of the `lstm_tagger`: one sorted label set per target.

For a single target (`target = "pos"`) the labels are a flat list, as for spaCy's
tagger; for a list of targets they are a dict with a list per target, e.g.
`{"pos": ["ADJ", ...], "tag": ["DT", ...], "morph": ["Case=Nom|Number=Sing", "_", ...]}`.
The cfg, `label_data`, `spacy init labels` and `initialize(labels=...)` all use
this shape; `labels` gives tuples in it.
"""

from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from spacy.errors import Errors as SpacyErrors
from spacy.vocab import Vocab
from thinc.api import Model

from ..errors import Errors, LSTMTaggerError
from .targets import ASSIGNS, Head, normalize_label, output_heads

# A label set per target: a list for a single target, a dict of lists for a list.
Labels = Union[Sequence[str], Dict[str, Sequence[str]]]


class TargetLabels:
    """The label handling of `LSTMTagger`: its cfg holds "target", "labels" and
    "morph_mode"; it has a `vocab`, a `name` and a `model`."""

    cfg: Dict[str, Any]
    name: str
    vocab: Vocab
    model: Model

    @property
    def targets(self) -> List[str]:
        """RETURNS (List[str]): The targets, in the order of the output heads."""
        target = self.cfg["target"]
        return [target] if isinstance(target, str) else list(target)

    @property
    def _label_sets(self) -> Dict[str, List[str]]:
        """The stored label list of each target (the cfg's own lists)."""
        target = self.cfg["target"]
        return {target: self.cfg["labels"]} if isinstance(target, str) else self.cfg["labels"]

    @property
    def labels(self) -> Union[Tuple[str, ...], Dict[str, Tuple[str, ...]]]:
        """RETURNS (Union[Tuple[str, ...], Dict[str, Tuple[str, ...]]]): The labels,
        sorted: a tuple for a single target, a tuple per target for a list."""
        if isinstance(self.cfg["target"], str):
            return tuple(self.cfg["labels"])
        return {target: tuple(labels) for target, labels in self._label_sets.items()}

    @property
    def label_data(self) -> Union[List[str], Dict[str, List[str]]]:
        """RETURNS (Union[List[str], Dict[str, List[str]]]): The labels, as `spacy init
        labels` stores them: a list for a single target, a list per target for a list."""
        if isinstance(self.cfg["target"], str):
            return list(self.cfg["labels"])
        return {target: list(labels) for target, labels in self._label_sets.items()}

    def _heads(self) -> List[Head]:
        """RETURNS (List[Head]): The model's output heads for the current labels."""
        return output_heads(self.targets, self._label_sets, self.cfg["morph_mode"])

    def add_label(self, label: str, target: Optional[str] = None) -> int:
        """Add a label; labels stay sorted. Possible only before the model is built.

        label (str): The label to add; a FEATS string ("_" for none) for "morph".
        target (Optional[str]): The target it is for; needed with several targets.
        RETURNS (int): 0 if the label was already present, otherwise 1.
        """
        targets = self.targets
        if target is None and len(targets) > 1:
            raise LSTMTaggerError(
                Errors.E016.format(name=self.name, targets=targets, label=label, example=targets[0])
            )
        target = targets[0] if target is None else target
        if target not in targets:
            message = Errors.E017.format(name=self.name, target=target, targets=targets)
            raise LSTMTaggerError(message)
        label = normalize_label(self.vocab, target, label, self.name)
        labels = self._label_sets[target]
        if label in labels:
            return 0
        self._allow_extra_label()
        labels[:] = sorted([*labels, label])
        self.vocab.strings.add(label)
        return 1

    def _allow_extra_label(self) -> None:
        """Refuse a label once the output layer has its size (spaCy's E922)."""
        layer = self.model.get_ref("output_layer")
        if layer.has_dim("nO") and layer.get_dim("nO") == self._n_outputs(self._label_sets):
            raise ValueError(SpacyErrors.E922.format(name=self.name, nO=layer.get_dim("nO")))

    def _n_outputs(self, label_sets: Dict[str, List[str]]) -> int:
        heads = output_heads(self.targets, label_sets, self.cfg["morph_mode"])
        return sum(len(head.labels) for head in heads)

    def _read_labels(self, labels: Labels) -> Dict[str, List[str]]:
        """The labels given to `initialize`, checked, one list per target."""
        target, targets = self.cfg["target"], self.targets
        if isinstance(target, str):
            given: Any = {target: labels}
            expected = "a list of labels"
        else:
            given = labels
            expected = f"a dict with a list of labels for each of {targets}"
        shape_ok = isinstance(given, dict) and sorted(given) == sorted(targets)
        if not shape_ok or not all(isinstance(v, (list, tuple)) for v in given.values()):
            message = Errors.E015.format(
                name=self.name, target=target, expected=f"expected {expected}, got {labels!r}"
            )
            raise LSTMTaggerError(message)
        return {
            t: [normalize_label(self.vocab, t, label, self.name) for label in given[t]]
            for t in targets
        }

    def _add_labels(self, new: Dict[str, List[str]]) -> None:
        """Add the labels of each target, after checking the output count; every
        target must end up with labels."""
        current = self._label_sets
        merged = {t: sorted(set(current[t]) | set(new.get(t, []))) for t in self.targets}
        self._check_n_outputs(self._n_outputs(merged))
        for target, labels in new.items():
            for label in labels:
                self.add_label(label, target)
        for target, labels in self._label_sets.items():
            if not labels:
                raise LSTMTaggerError(
                    Errors.E014.format(name=self.name, attr=ASSIGNS[target], target=target)
                )

    def _check_n_outputs(self, n_labels: int) -> None:
        """Refuse a config nO that disagrees with the number of outputs."""
        layer = self.model.get_ref("output_layer")
        if layer.has_dim("nO") and layer.get_dim("nO") != n_labels:
            raise LSTMTaggerError(
                Errors.E005.format(name=self.name, n_labels=n_labels, nO=layer.get_dim("nO"))
            )
