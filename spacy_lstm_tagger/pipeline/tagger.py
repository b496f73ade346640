"""The `lstm_tagger` pipeline component: factory, scorer and `TrainablePipe`."""

from functools import partial
from itertools import islice
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy
from spacy.attrs import POS, TAG
from spacy.errors import Errors
from spacy.language import Language
from spacy.parts_of_speech import IDS as UPOS_IDS
from spacy.pipeline import Tok2Vec, TrainablePipe
from spacy.tokens import Doc
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.util import ensure_path
from spacy.vocab import Vocab
from thinc.api import Config, Model, SequenceCategoricalCrossentropy, set_dropout_rate
from thinc.types import Floats2d, Ints1d

from ..errors import OWN_PREFIX, TaggerErrors
from ..layers.tagger_model import get_torch_module, validate_weights
from .scorer import score_tags

TARGETS = {"tag": "TAG", "pos": "POS"}

DEFAULT_MODEL_CONFIG = """
[model]
@architectures = "spacy-lstm-tagger.LSTMTagger.v1"
rnn_type = "lstm"
hidden_width = 128
depth = 2
bidirectional = true
dropout = 0.33
word_dropout = 0.1
nO = null

[model.tok2vec]
@architectures = "spacy-lstm-tagger.WordCharEmbed.v1"

[model.tok2vec.words]
@architectures = "spacy-lstm-tagger.ConcatHashEmbed.v1"
width = 32
attrs = ["NORM", "PREFIX", "SUFFIX", "SHAPE"]
rows = [5000, 1000, 2500, 2500]

[model.tok2vec.chars]
@architectures = "spacy-lstm-tagger.CharEmbed.v1"
width = 64
char_width = 32
kind = "lstm"
rows = 512
max_chars = 20
window = 1
"""
DEFAULT_MODEL = Config().from_str(DEFAULT_MODEL_CONFIG)["model"]


@Language.factory(
    "lstm_tagger",
    assigns=["token.tag", "token.pos"],
    default_config={
        "model": DEFAULT_MODEL,
        "target": "tag",
        "overwrite": False,
        "neg_prefix": "!",
        "label_smoothing": 0.0,
        "scorer": {"@scorers": "spacy-lstm-tagger.tagger_scorer.v1"},
    },
    # Only one of the two is produced; the other reads as 0 and does not change
    # which checkpoint is best. The shipped configs weight their target alone.
    default_score_weights={"tag_acc": 0.5, "pos_acc": 0.5},
)
def make_lstm_tagger(
    nlp: Language,
    name: str,
    model: Model[List[Doc], List[Floats2d]],
    target: str,
    overwrite: bool,
    neg_prefix: str,
    label_smoothing: float,
    scorer: Optional[Callable],
) -> "LSTMTagger":
    """Create an `LSTMTagger` component."""
    return LSTMTagger(
        nlp.vocab,
        model,
        name,
        target=target,
        overwrite=overwrite,
        neg_prefix=neg_prefix,
        label_smoothing=label_smoothing,
        scorer=scorer,
    )


class LSTMTagger(TrainablePipe):
    """Part-of-speech tagger on a recurrent network, writing `token.tag_` or `token.pos_`.

    vocab (Vocab): The shared vocabulary.
    model (Model[List[Doc], List[Floats2d]]): Per-token label probabilities.
    name (str): The component instance name, used as the key in losses.
    target (str): "tag" (fine-grained, `token.tag_`) or "pos" (UPOS, `token.pos_`).
    overwrite (bool): Whether to overwrite values that are already set.
    neg_prefix (str): Prefix of gold values meaning "not this label", as in spaCy's tagger.
    label_smoothing (float): Label smoothing of the cross-entropy loss.
    scorer (Optional[Callable]): The scorer; gets `target` from the cfg.
    """

    def __init__(
        self,
        vocab: Vocab,
        model: Model[List[Doc], List[Floats2d]],
        name: str = "lstm_tagger",
        *,
        target: str = "tag",
        overwrite: bool = False,
        neg_prefix: str = "!",
        label_smoothing: float = 0.0,
        scorer: Optional[Callable] = score_tags,
    ) -> None:
        if target not in TARGETS:
            raise ValueError(
                f"Invalid target {target!r} for component '{name}'. Valid values: "
                f"{', '.join(repr(t) for t in TARGETS)}. Set it with "
                "nlp.add_pipe('lstm_tagger', config={'target': 'pos'}) or in the config."
            )
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(
                f"label_smoothing must be in [0, 1) for component '{name}', "
                f"got {label_smoothing!r}. Use 0.0 to turn it off."
            )
        self.vocab = vocab
        self.model = model
        self.name = name
        self.scorer = scorer
        cfg = {
            "labels": [],
            "target": target,
            "overwrite": overwrite,
            "neg_prefix": neg_prefix,
            "label_smoothing": label_smoothing,
        }
        self.cfg = dict(sorted(cfg.items()))

    @property
    def labels(self) -> Tuple[str, ...]:
        """RETURNS (Tuple[str]): The labels, sorted."""
        return tuple(self.cfg["labels"])

    @property
    def label_data(self) -> List[str]:
        """RETURNS (List[str]): The labels, as `spacy init labels` stores them."""
        return list(self.cfg["labels"])

    @property
    def _attr(self) -> int:
        return TAG if self.cfg["target"] == "tag" else POS

    def add_label(self, label: str) -> int:
        """Add a label; labels stay sorted. Possible only before the model is built.

        label (str): The label to add.
        RETURNS (int): 0 if the label was already present, otherwise 1.
        """
        if not isinstance(label, str):
            raise ValueError(Errors.E187)
        if label in self.labels:
            return 0
        if self.cfg["target"] == "pos" and label not in UPOS_IDS:
            raise ValueError(
                f"Label {label!r} is not a Universal POS tag, so component '{self.name}' "
                "with target 'pos' cannot write it to token.pos_. Use target 'tag' for "
                "treebank-specific tags."
            )
        self._allow_extra_label()
        self.cfg["labels"] = sorted([*self.labels, label])
        self.vocab.strings.add(label)
        return 1

    def _gold_values(self, example: Example) -> List[Optional[str]]:
        """The gold labels of the predicted doc's tokens; None where missing."""
        aligned = example.get_aligned(TARGETS[self.cfg["target"]], as_string=True)
        return [value if value else None for value in aligned]

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        labels: Optional[Sequence[str]] = None,
    ) -> None:
        """Collect the labels (or take `labels`), then build the model.

        get_examples (Callable[[], Iterable[Example]]): Representative training examples.
        nlp (Language): The current nlp object.
        labels (Optional[Sequence[str]]): Labels, e.g. from `spacy init labels`.
        """
        # spaCy's own check calls an empty list invalid and lets an empty generator
        # pass; both are refused with TypeError (spaCy's E930), with our message.
        if callable(get_examples) and next(iter(get_examples()), None) is None:
            raise TypeError(TaggerErrors.EMPTY_CORPUS.format(name=self.name))
        validate_get_examples(get_examples, "LSTMTagger.initialize")
        if labels is None:
            found = set()
            for example in get_examples():
                found.update(value for value in self._gold_values(example) if value)
            labels = sorted(found)
        self._check_n_outputs(len(set(labels) | set(self.labels)))
        for label in labels:
            self.add_label(label)
        if not self.labels:
            attr = "token.tag_" if self.cfg["target"] == "tag" else "token.pos_"
            raise ValueError(
                f"Component '{self.name}' found no labels: no token in the training "
                f"examples has a value for {attr} (target = {self.cfg['target']!r}). "
                "Check that the corpus is annotated for this target, or set the target "
                "that the corpus has."
            )
        self._check_listener_width(nlp)
        doc_sample = [eg.x for eg in islice(get_examples(), 10)]
        label_sample = [self.model.ops.alloc2f(len(doc), len(self.labels)) for doc in doc_sample]
        self.model.initialize(X=doc_sample, Y=label_sample)

    def _check_n_outputs(self, n_labels: int) -> None:
        """Refuse a config nO that disagrees with the number of labels."""
        layer = self.model.get_ref("output_layer")
        if layer.has_dim("nO") and layer.get_dim("nO") != n_labels:
            raise ValueError(
                TaggerErrors.NO_MISMATCH.format(
                    name=self.name, n_labels=n_labels, nO=layer.get_dim("nO")
                )
            )

    def _check_listener_width(self, nlp: Optional[Language]) -> None:
        """Refuse a Tok2VecListener whose width differs from its upstream tok2vec's."""
        for upstream, proc in nlp.pipeline if nlp is not None else []:
            if not isinstance(proc, Tok2Vec) or not proc.model.has_dim("nO"):
                continue
            for listener in proc.listener_map.get(self.name, []):
                if listener.get_dim("nO") != proc.model.get_dim("nO"):
                    raise ValueError(
                        TaggerErrors.LISTENER_WIDTH.format(
                            name=self.name,
                            upstream=upstream,
                            upstream_width=proc.model.get_dim("nO"),
                            width=listener.get_dim("nO"),
                        )
                    )

    def from_bytes(self, bytes_data: bytes, *, exclude: Iterable[str] = tuple()) -> "LSTMTagger":
        """Load the component from a bytestring; bad weights give an error that says so.

        bytes_data (bytes): The data, from `to_bytes`.
        exclude (Iterable[str]): Names of serialization fields to exclude.
        RETURNS (LSTMTagger): The loaded component.
        """
        load = partial(TrainablePipe.from_bytes, self, bytes_data, exclude=exclude)
        self._load_weights(load, "the bytes data")
        return self

    def from_disk(
        self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()
    ) -> "LSTMTagger":
        """Load the component from a directory; a missing or bad weights file gives an
        error that names it.

        path (Union[str, Path]): The component's directory.
        exclude (Iterable[str]): Names of serialization fields to exclude.
        RETURNS (LSTMTagger): The loaded component.
        """
        path = ensure_path(path)
        super().from_disk(path, exclude=[*exclude, "model"])
        if "model" not in exclude:
            model_path = path / "model"
            if not model_path.is_file():
                message = TaggerErrors.MISSING_WEIGHTS.format(name=self.name, path=model_path)
                raise ValueError(message)
            self._load_weights(
                lambda: self.model.from_bytes(model_path.read_bytes()), str(model_path)
            )
        return self

    def _load_weights(self, load: Callable[[], object], source: str) -> None:
        """Run `load`, turning its failures into an error that names `source`, then
        check that the weights fit the labels and are finite."""
        try:
            load()
        except Exception as err:
            if str(err).startswith(OWN_PREFIX):
                reason = str(err)[len(OWN_PREFIX) :]
            else:
                reason = TaggerErrors.BROKEN_WEIGHTS.format(err=f"{type(err).__name__}: {err}")
            message = TaggerErrors.UNREADABLE_WEIGHTS.format(
                name=self.name, source=source, reason=reason
            )
            raise ValueError(message) from err
        validate_weights(self.model, len(self.labels), self.name, source)

    def _require_model(self) -> None:
        if not self.labels or not get_torch_module(self.model).is_built:
            raise ValueError(Errors.E109.format(name=self.name))

    def predict(self, docs: Iterable[Doc]) -> List[Ints1d]:
        """Find the best label of each token, without changing the docs.

        docs (Iterable[Doc]): The documents to predict.
        RETURNS (List[Ints1d]): Label indices, one array per doc.
        """
        docs = list(docs)
        self._require_model()
        if not any(len(doc) for doc in docs):
            return [numpy.zeros((0,), dtype="int64") for _ in docs]
        scores = self.model.predict(docs)
        return [self.model.ops.to_numpy(doc_scores.argmax(axis=1)) for doc_scores in scores]

    def set_annotations(self, docs: Iterable[Doc], batch_label_ids: List[Ints1d]) -> None:
        """Write the predicted labels to `token.tag_` or `token.pos_`.

        docs (Iterable[Doc]): The documents to modify.
        batch_label_ids (List[Ints1d]): The label indices from `predict`.
        """
        if isinstance(docs, Doc):
            docs = [docs]
        strings = self.vocab.strings
        if self.cfg["target"] == "tag":
            values = [strings.add(label) for label in self.labels]
        else:
            values = [UPOS_IDS[label] for label in self.labels]
        label_values = numpy.asarray(values, dtype="uint64")
        attr = self._attr
        for doc, label_ids in zip(docs, batch_label_ids):
            if not len(doc):
                continue
            new = label_values[label_ids]
            if not self.cfg["overwrite"]:
                current = doc.to_array(attr)
                new = numpy.where(current == 0, new, current)
            doc.from_array([attr], new.reshape(-1, 1))

    def update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd: Optional[Callable] = None,
        losses: Optional[Dict[str, float]] = None,
    ) -> Dict[str, float]:
        """Learn from a batch of examples.

        examples (Iterable[Example]): A batch of examples.
        drop (float): The dropout rate of every layer, the torch ones included.
        sgd (thinc.api.Optimizer): The optimizer.
        losses (Optional[Dict[str, float]]): The running losses, updated in place.
        RETURNS (Dict[str, float]): The losses.
        """
        examples = list(examples)
        if losses is None:
            losses = {}
        losses.setdefault(self.name, 0.0)
        validate_examples(examples, "LSTMTagger.update")
        if not any(len(eg.predicted) for eg in examples):
            return losses
        self._require_model()
        set_dropout_rate(self.model, drop)
        scores, backprop = self.model.begin_update([eg.predicted for eg in examples])
        loss, d_scores = self.get_loss(examples, scores)
        backprop(d_scores)
        if sgd not in (None, False):
            self.finish_update(sgd)
        losses[self.name] += loss
        return losses

    def get_loss(
        self, examples: Iterable[Example], scores: List[Floats2d]
    ) -> Tuple[float, List[Floats2d]]:
        """Cross-entropy against the gold labels; tokens without one add nothing.

        examples (Iterable[Example]): The batch of examples.
        scores (List[Floats2d]): Predicted probabilities, one array per doc.
        RETURNS (Tuple[float, List[Floats2d]]): The loss and its gradient.
        """
        examples = list(examples)
        validate_examples(examples, "LSTMTagger.get_loss")
        loss_func = SequenceCategoricalCrossentropy(
            names=self.labels,
            normalize=False,
            neg_prefix=self.cfg["neg_prefix"],
            label_smoothing=self.cfg["label_smoothing"],
        )
        # Probabilities that are all finite give a finite loss, so this is the one check.
        xp = self.model.ops.xp
        if not all(xp.isfinite(doc_scores).all() for doc_scores in scores):
            raise ValueError(TaggerErrors.NON_FINITE_SCORES.format(name=self.name))
        truths = [self._gold_values(eg) for eg in examples]
        try:
            d_scores, loss = loss_func(scores, truths)
        except KeyError as err:
            # thinc's loss looks each gold label up by name.
            raise ValueError(
                TaggerErrors.UNKNOWN_GOLD_LABEL.format(
                    name=self.name, label=err.args[0], n_labels=len(self.labels)
                )
            ) from err
        return float(loss), d_scores
