"""The `lstm_tagger` pipeline component: factory and `TrainablePipe`."""

from functools import partial
from itertools import islice
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Tuple, Union

import numpy
from spacy.errors import Errors as SpacyErrors
from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.util import ensure_path
from spacy.vocab import Vocab
from thinc.api import Config, Model, set_dropout_rate
from thinc.types import Floats2d, Ints2d

from ..errors import (
    EmptyCorpusError,
    Errors,
    LSTMTaggerError,
    WeightsError,
    strip_prefix,
)
from ..layers.joint_model import get_heads, logits_only, set_heads
from ..layers.static_vectors import check_vocab as check_vectors
from ..layers.tagger_converters import split_rows
from ..layers.tagger_model import get_torch_module, validate_weights
from .labels import Labels, TargetLabels
from .scorer import score_tags
from .targets import (
    Decoder,
    collect_labels,
    examples_loss,
    predicted_values,
    target_attrs,
    validate_targets,
    write_values,
)

# v2: one output head per target, so a list of targets works with the defaults; with a
# single target its one softmax computes exactly what v1 computes.
DEFAULT_MODEL_CONFIG = """
[model]
@architectures = "spacy-lstm-tagger.LSTMTagger.v2"
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
@architectures = "spacy-lstm-tagger.CharEmbed.v2"
width = 64
char_width = 32
kind = "lstm"
rows = 512
max_chars = 20
window = 1
init_scale = 0.1
"""
DEFAULT_MODEL = Config().from_str(DEFAULT_MODEL_CONFIG)["model"]


@Language.factory(
    "lstm_tagger",
    assigns=["token.tag", "token.pos", "token.morph"],
    default_config={
        "model": DEFAULT_MODEL,
        "target": "tag",
        "overwrite": False,
        "neg_prefix": "!",
        "label_smoothing": 0.0,
        "morph_mode": "string",
        "restrict_morph_by_pos": False,
        "scorer": {"@scorers": "spacy-lstm-tagger.tagger_scorer.v1"},
    },
    # spaCy's weights are static per factory. Scores a component does not produce
    # read as 0 without changing which checkpoint is best; a config's
    # [training.score_weights] sets its targets' weights and null for the others,
    # which spaCy then neither shows nor counts. morph_acc is null here so that
    # single-target pipelines keep today's columns; joint configs weight it.
    default_score_weights={
        "tag_acc": 0.5,
        "pos_acc": 0.5,
        "morph_acc": None,
        "morph_per_feat": None,
    },
)
def make_lstm_tagger(
    nlp: Language,
    name: str,
    model: Model[List[Doc], List[Floats2d]],
    target: Union[str, List[str]],
    overwrite: bool,
    neg_prefix: str,
    label_smoothing: float,
    morph_mode: str,
    restrict_morph_by_pos: bool,
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
        morph_mode=morph_mode,
        restrict_morph_by_pos=restrict_morph_by_pos,
        scorer=scorer,
    )


class LSTMTagger(TargetLabels, TrainablePipe):
    """Tagger on a recurrent network, writing `token.pos_`, `token.tag_` and/or `token.morph`.

    vocab (Vocab): The shared vocabulary.
    model (Model[List[Doc], List[Floats2d]]): Per-token label probabilities.
    name (str): The component instance name, used as the key in losses.
    target (Union[str, List[str]]): "tag" (`token.tag_`), "pos" (UPOS, `token.pos_`),
        "morph" (UD FEATS, `token.morph`), or a list of them, predicted jointly by
        several output heads (`spacy-lstm-tagger.LSTMTagger.v2`).
    overwrite (bool): Whether to overwrite values that are already set.
    neg_prefix (str): Prefix of gold values meaning "not this label", as in spaCy's tagger.
    label_smoothing (float): Label smoothing of each head's cross-entropy loss.
    morph_mode (str): "string": one softmax over whole FEATS strings; "features":
        one softmax per feature (see `morph.py`).
    restrict_morph_by_pos (bool): Choose each token's morph among those seen with its
        predicted UPOS in training; needs "pos" and "morph" in `target`.
    scorer (Optional[Callable]): The scorer; gets `target` from the cfg.
    """

    def __init__(
        self,
        vocab: Vocab,
        model: Model[List[Doc], List[Floats2d]],
        name: str = "lstm_tagger",
        *,
        target: Union[str, List[str]] = "tag",
        overwrite: bool = False,
        neg_prefix: str = "!",
        label_smoothing: float = 0.0,
        morph_mode: str = "string",
        restrict_morph_by_pos: bool = False,
        scorer: Optional[Callable] = score_tags,
    ) -> None:
        targets = validate_targets(target, morph_mode, name)
        if not 0.0 <= label_smoothing < 1.0:
            raise LSTMTaggerError(Errors.E018.format(name=name, value=label_smoothing))
        if restrict_morph_by_pos and not {"pos", "morph"} <= set(targets):
            raise LSTMTaggerError(Errors.E011.format(name=name, target=target))
        several = len(targets) > 1 or ("morph" in targets and morph_mode == "features")
        if several and get_heads(model) is None:
            n_heads = "one head per feature" if len(targets) == 1 else "several heads"
            raise LSTMTaggerError(Errors.E010.format(name=name, n_heads=n_heads, target=target))
        self.vocab = vocab
        self.model = model
        self.name = name
        self.scorer = scorer
        # A decode-time choice, read from the config (not the saved cfg), so that
        # it can be changed when a trained pipeline is loaded.
        self.restrict_morph_by_pos = restrict_morph_by_pos
        single = isinstance(target, str)
        cfg = {
            "labels": [] if single else {t: [] for t in targets},
            "target": target if single else targets,
            "overwrite": overwrite,
            "neg_prefix": neg_prefix,
            "label_smoothing": label_smoothing,
            "morph_mode": morph_mode,
            "morph_by_pos": {},
        }
        self.cfg = dict(sorted(cfg.items()))

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        labels: Optional[Labels] = None,
    ) -> None:
        """Collect the labels (or take `labels`), then build the model.

        get_examples (Callable[[], Iterable[Example]]): Representative training examples.
        nlp (Language): The current nlp object.
        labels (Optional[Labels]): Labels, e.g. from `spacy init labels`: a list for a
            single target, a dict with a list per target for a list of targets.
        """
        # spaCy's own check calls an empty list invalid and lets an empty generator
        # pass; both are refused with a TypeError (as spaCy's E930), with our message.
        if callable(get_examples) and next(iter(get_examples()), None) is None:
            raise EmptyCorpusError(Errors.E001.format(name=self.name))
        validate_get_examples(get_examples, "LSTMTagger.initialize")
        found: Dict[str, List[str]] = {}
        table: Dict[str, List[str]] = {}
        # The FEATS seen with each UPOS come from the examples, given labels or not.
        if labels is None or {"pos", "morph"} <= set(self.targets):
            found, table = collect_labels(get_examples(), self.targets)
        self._add_labels(found if labels is None else self._read_labels(labels))
        self.cfg["morph_by_pos"] = table
        self._check_listener_width(nlp)
        heads = self._heads()
        if get_heads(self.model) is not None:
            set_heads(self.model, [len(head.labels) for head in heads])
        n_outputs = sum(len(head.labels) for head in heads)
        doc_sample = [eg.x for eg in islice(get_examples(), 10)]
        label_sample = [self.model.ops.alloc2f(len(doc), n_outputs) for doc in doc_sample]
        self.model.initialize(X=doc_sample, Y=label_sample)

    def _check_listener_width(self, nlp: Optional[Language]) -> None:
        """Refuse a listener whose width differs from its upstream component's: a
        tok2vec, or a transformer (spacy-curated-transformers) that has `listener_map`."""
        for upstream, proc in nlp.pipeline if nlp is not None else []:
            listeners = getattr(proc, "listener_map", {}).get(self.name, [])
            if not listeners or not proc.model.has_dim("nO"):
                continue
            for listener in listeners:
                if listener.get_dim("nO") != proc.model.get_dim("nO"):
                    raise LSTMTaggerError(
                        Errors.E006.format(
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
                raise WeightsError(Errors.E150.format(name=self.name, path=model_path))
            self._load_weights(
                lambda: self.model.from_bytes(model_path.read_bytes()), str(model_path)
            )
        return self

    def _load_weights(self, load: Callable[[], object], source: str) -> None:
        """Run `load`, turning its failures into an error that names `source`, then
        check that the weights fit the labels and are finite."""
        try:
            load()
        except LSTMTaggerError as err:
            # The model's own loading already names the problem: nest its message.
            reason = strip_prefix(str(err))
            message = Errors.E151.format(name=self.name, source=source, reason=reason)
            raise WeightsError(message) from err
        except Exception as err:
            # Anything else (msgpack, torch, thinc) means the data itself is bad.
            details = f"{type(err).__name__}: {err}"
            message = Errors.E152.format(name=self.name, source=source, err=details)
            raise WeightsError(message) from err
        heads = [len(head.labels) for head in self._heads()]
        validate_weights(self.model, sum(heads), self.name, source)
        check_vectors(self.model, self.vocab)
        stored = get_heads(self.model)
        if stored and stored != heads:
            message = Errors.E155.format(
                name=self.name, expected=heads, source=source, found=stored
            )
            raise WeightsError(message)

    def _require_model(self) -> None:
        if not all(self._label_sets.values()) or not get_torch_module(self.model).is_built:
            raise ValueError(SpacyErrors.E109.format(name=self.name))

    def predict(self, docs: Iterable[Doc]) -> List[Ints2d]:
        """Find the best label of each token for each output head, without changing
        the docs.

        docs (Iterable[Doc]): The documents to predict.
        RETURNS (List[Ints2d]): Label indices, one (n_tokens, n_heads) array per doc.
        """
        docs = list(docs)
        self._require_model()
        heads = self._heads()
        if not any(len(doc) for doc in docs):
            return [numpy.zeros((0, len(heads)), dtype="int64") for _ in docs]
        table = self.cfg["morph_by_pos"] if self.restrict_morph_by_pos else None
        ops = self.model.ops
        # One decoding pass over all tokens of the batch, then split per doc. Only
        # each head's argmax is needed, which the logits give without a softmax.
        with logits_only(self.model):
            scores = ops.xp.concatenate(self.model.predict(docs))
        ids = ops.to_numpy(Decoder(heads, ops.xp, table)(scores))
        return split_rows(ids, [len(doc) for doc in docs])

    def set_annotations(self, docs: Iterable[Doc], batch_label_ids: List[Ints2d]) -> None:
        """Write the predicted labels to the targets' attributes.

        docs (Iterable[Doc]): The documents to modify.
        batch_label_ids (List[Ints2d]): The label indices from `predict`.
        """
        docs = [docs] if isinstance(docs, Doc) else list(docs)
        lengths = [len(doc) for doc in docs]
        if not sum(lengths):
            return
        ids = numpy.concatenate([numpy.asarray(doc_ids) for doc_ids in batch_label_ids])
        values = predicted_values(self.vocab, self._heads(), ids)
        attrs = target_attrs(values)
        # All targets of a doc in one array: one to_array and one from_array call per doc.
        stacked = numpy.stack(list(values.values()), axis=1)
        for doc, doc_values in zip(docs, split_rows(stacked, lengths)):
            if len(doc):
                write_values(doc, attrs, doc_values, self.cfg["overwrite"])

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
        """The sum of the heads' cross-entropies against the gold labels; a token adds
        nothing to a head whose attribute it has no gold value for.

        examples (Iterable[Example]): The batch of examples.
        scores (List[Floats2d]): Predicted probabilities, one array per doc.
        RETURNS (Tuple[float, List[Floats2d]]): The loss and its gradient.
        """
        examples = list(examples)
        validate_examples(examples, "LSTMTagger.get_loss")
        # Probabilities that are all finite give a finite loss, so this is the one check.
        xp = self.model.ops.xp
        if not all(xp.isfinite(doc_scores).all() for doc_scores in scores):
            raise LSTMTaggerError(Errors.E004.format(name=self.name))
        loss_cfg = (self.cfg["neg_prefix"], self.cfg["label_smoothing"])
        return examples_loss(examples, self._heads(), scores, *loss_cfg, self.name)
