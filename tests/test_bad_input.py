"""Bad data, bad configs, bad model files and diverging training: each gets an error
that names the problem and the fix, raised by this package, not a traceback from
inside torch or thinc."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import numpy
import pytest
import spacy
import srsly
import torch
from conftest import SMALL_MODEL, make_nlp, records_to_examples, small_model, squared_error_loss
from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from thinc.api import Config, registry

from spacy_lstm_tagger.cli.demo import DEMO_CONFIG, records_to_docbin
from spacy_lstm_tagger.errors import PREFIX, EmptyCorpusError, WeightsError
from spacy_lstm_tagger.layers.tagger_model import get_torch_module


def initialized_nlp(records: List[Dict], **model_overrides) -> Language:
    """A small untrained tagger initialized on the records."""
    nlp = make_nlp(**model_overrides)
    nlp.initialize(lambda: records_to_examples(nlp, records))
    return nlp


def unannotated(nlp: Language, records: List[Dict]) -> List[Example]:
    """Examples whose gold docs have the words and nothing else."""
    return [
        Example(Doc(nlp.vocab, words=r["words"]), Doc(nlp.vocab, words=r["words"])) for r in records
    ]


# Bad training data, through the Python API.


@pytest.mark.parametrize("get_examples", [lambda: [], lambda: iter([])], ids=["list", "gen"])
def test_empty_corpus(get_examples: Callable) -> None:
    """An empty training corpus raises TypeError (as spaCy's E930) with our message."""
    with pytest.raises(TypeError, match=r"\[E001\]"):
        make_nlp().initialize(get_examples)


@pytest.mark.parametrize("target,attr", [("tag", "token.tag_"), ("pos", "token.pos_")])
def test_corpus_without_the_target_annotation(demo_records, target: str, attr: str) -> None:
    """A corpus without the target attribute is refused, naming the attribute."""
    nlp = make_nlp(target)
    examples = unannotated(nlp, demo_records[:5])
    with pytest.raises(ValueError, match=rf"\[E014\] .* value for {re.escape(attr)}"):
        nlp.initialize(lambda: examples)


@pytest.mark.parametrize("gold_tag,label", [("NNS", "NNS"), ("!NNS", "NNS")])
def test_initialize_labels_that_miss_a_gold_label(demo_records, gold_tag, label) -> None:
    """A gold label (or negated label) outside the given labels stops training with a clear
    error."""
    nlp = make_nlp()
    nlp.config["initialize"]["components"]["lstm_tagger"] = {"labels": ["DT", "NN"]}
    gold = Doc(nlp.vocab, words=["the", "dogs"], tags=["DT", gold_tag])
    examples = [Example(Doc(nlp.vocab, words=["the", "dogs"]), gold)]
    nlp.initialize(lambda: examples)
    with pytest.raises(ValueError, match=rf"\[E002\] .* label '{label}': .* of its 2 labels"):
        nlp.update(examples)


def tag_accuracy(nlp: Language, words: List[List[str]], gold: List[List[str]]) -> float:
    """Token accuracy counted by hand: the share of tokens with a gold tag whose tag,
    predicted on the gold words, is that gold tag."""
    docs = nlp.pipe(Doc(nlp.vocab, words=doc_words) for doc_words in words)
    pairs = [(t.tag_, g) for doc, doc_gold in zip(docs, gold) for t, g in zip(doc, doc_gold)]
    scored = [predicted == tag for predicted, tag in pairs if tag]
    return sum(scored) / len(scored)


def test_dev_labels_never_seen_in_training_count_as_errors(trained_nlp, demo_records) -> None:
    """The dev score is the share of tokens tagged right (counted by hand); gold
    labels the tagger has never seen are errors, scoring 0."""
    records = demo_records[40:45]
    dev = records_to_examples(trained_nlp, records)
    words, tags = [r["words"] for r in records], [r["tags"] for r in records]
    expected = tag_accuracy(trained_nlp, words, tags)
    assert expected > 0.5  # so that the 0 below comes from the unseen labels
    assert trained_nlp.evaluate(dev)["tag_acc"] == pytest.approx(expected)
    for example in dev:
        for token in example.reference:
            token.tag_ = "NEVER-SEEN"
    assert trained_nlp.evaluate(dev)["tag_acc"] == 0.0


def test_docs_with_missing_values_train_and_score(demo_records) -> None:
    """Tokens and docs without gold tags add nothing to the loss (computed by hand
    over the annotated tokens) and are not scored: a doc without any gold tag gets
    no score, the others score the share of their annotated tokens tagged right."""
    nlp = initialized_nlp(demo_records[:12])
    pipe = nlp.get_pipe("lstm_tagger")
    partial = records_to_examples(nlp, demo_records[8:10])
    for example in partial:
        example.reference[0].tag_ = ""
    missing = unannotated(nlp, demo_records[10:12])
    batch = [*partial, *missing]
    gold = [[t.tag_ for t in eg.reference] for eg in batch]
    assert gold[0][0] == "" and gold[2] == [""] * len(gold[2])
    # The small model has no dropout: the training pass gives predict's probabilities.
    probs = pipe.model.predict([eg.predicted for eg in batch])
    losses = nlp.update(batch, sgd=nlp.create_optimizer())
    assert losses["lstm_tagger"] == pytest.approx(squared_error_loss(probs, gold, pipe.labels))
    assert nlp.update(missing)["lstm_tagger"] == 0.0
    assert nlp.evaluate(missing)["tag_acc"] is None
    words = [[t.text for t in eg.reference] for eg in partial]
    expected = tag_accuracy(nlp, words, gold[:2])
    assert nlp.evaluate(partial)["tag_acc"] == pytest.approx(expected)


def test_tokenization_that_differs_from_the_gold(demo_records) -> None:
    """A predicted tokenization that splits a gold token trains: both pieces learn
    the gold token's tag (the loss, computed by hand, counts all five tokens)."""
    nlp = initialized_nlp(demo_records)
    pipe = nlp.get_pipe("lstm_tagger")
    gold = {"words": ["New York", "is", "big", "."], "tags": ["NNP", "VBZ", "JJ", "."]}
    assert set(gold["tags"]) <= set(pipe.labels)
    gold["spaces"] = [True, True, False, False]
    example = Example.from_dict(nlp.make_doc("New York is big."), gold)
    assert [t.text for t in example.predicted] == ["New", "York", "is", "big", "."]
    probs = pipe.model.predict([example.predicted])
    expected = squared_error_loss(probs, [["NNP", "NNP", "VBZ", "JJ", "."]], pipe.labels)
    assert nlp.update([example])["lstm_tagger"] == pytest.approx(expected, rel=1e-5)


def test_update_before_initialize_is_e109(demo_records) -> None:
    """`update` before `initialize` raises spaCy's E109."""
    nlp = make_nlp()
    with pytest.raises(ValueError, match=r"\[E109\].*initialize"):
        nlp.update(records_to_examples(nlp, demo_records[:2]))


# Bad training data and config, through `python -m spacy train`.


def spacy_train_stderr(tmp_path: Path, train_docs: DocBin, labels: Optional[List] = None) -> str:
    """Run `spacy train` on the demo config (with `labels` in [initialize]), expect it
    to fail and return its stderr."""
    train_docs.to_disk(tmp_path / "train.spacy")
    config = Config().from_disk(DEMO_CONFIG, interpolate=False)
    if labels is not None:
        config["initialize"]["components"]["lstm_tagger"] = {"labels": labels}
    config.to_disk(tmp_path / "config.cfg")
    cmd = [sys.executable, "-m", "spacy", "train", str(tmp_path / "config.cfg"), "--paths.train"]
    cmd += [str(tmp_path / "train.spacy"), "--paths.dev", str(tmp_path / "train.spacy")]
    cmd += ["--training.max_steps", "2", "--components.lstm_tagger.model.hidden_width", "8"]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode != 0
    return result.stderr


def assert_raised_here(stderr: str, code: str, error: str = "LSTMTaggerError") -> None:
    """The error is ours: the last line carries the package's exception class and the
    message's code, and the innermost frame of the final traceback is in this package,
    not in torch or thinc."""
    last_line = stderr.strip().splitlines()[-1]
    assert last_line.startswith(f"spacy_lstm_tagger.errors.{error}: {PREFIX}[{code}]")
    final_traceback = stderr.rsplit("Traceback (most recent call last)", 1)[1]
    innermost = re.findall(r'File "([^"]+)"', final_traceback)[-1]
    assert "spacy_lstm_tagger" in innermost, innermost


@pytest.mark.slow
def test_spacy_train_empty_corpus(tmp_path: Path) -> None:
    """`spacy train` on an empty corpus fails with our message, raised in this package."""
    stderr = spacy_train_stderr(tmp_path, DocBin())
    # A TypeError too, as spaCy's own components raise for no examples (E930).
    assert issubclass(EmptyCorpusError, TypeError)
    assert_raised_here(stderr, "E001", "EmptyCorpusError")


@pytest.mark.slow
def test_spacy_train_labels_that_miss_gold_labels(tmp_path: Path, demo_records) -> None:
    """`spacy train` with labels that miss gold labels fails with our message and points to
    `spacy init labels`."""
    docs = records_to_docbin(demo_records[:10], spacy.blank("en").vocab)
    stderr = spacy_train_stderr(tmp_path, docs, labels=["DET", "NOUN"])
    assert_raised_here(stderr, "E002")
    assert "spacy init labels" in stderr


# Bad configs.


@pytest.mark.parametrize(
    "overrides,message",
    [
        # The code, and the setting and value the message names.
        ({"rnn_type": "transformer"}, r"\[E113\] .*'transformer'.*Choose one of: gru, lstm"),
        ({"hidden_width": 0}, r"\[E101\] hidden_width .* got 0"),
        ({"depth": -1}, r"\[E101\] depth .* got -1"),
        ({"nO": 0}, r"\[E101\] nO .* got 0"),
        ({"dropout": 1.0}, r"\[E102\] dropout .* got 1.0"),
        ({"dropout": -0.1}, r"\[E102\] dropout .* got -0.1"),
        ({"word_dropout": 1.5}, r"\[E102\] word_dropout .* got 1.5"),
    ],
    ids=["rnn_type", "hidden_width", "depth", "nO", "dropout_1", "dropout_neg", "word_dropout"],
)
def test_bad_model_settings_refused_when_built(overrides: Dict, message: str) -> None:
    """Bad model settings are refused when the model is built, naming the setting."""
    with pytest.raises(ValueError, match=message):
        make_nlp(**overrides)


@pytest.mark.parametrize("value", [True, 2.5, "64"])
def test_hidden_width_of_wrong_type_refused(value) -> None:
    # ConfigValidationError (True, 2.5) is a ValueError too.
    """A hidden_width that is not an integer is refused."""
    with pytest.raises(ValueError, match="hidden_width"):
        make_nlp(hidden_width=value)


@pytest.mark.parametrize(
    "config,message",
    [
        ({"label_smoothing": -0.1}, r"\[E018\] .* got -0.1"),
        ({"label_smoothing": 1.0}, r"\[E018\] .* got 1.0"),
        ({"target": "lemma"}, r"\[E007\] .*'lemma'.*Valid values: 'tag', 'pos'"),
    ],
)
def test_bad_component_settings_refused_when_built(config: Dict, message: str) -> None:
    """Bad component settings are refused when the component is built."""
    with pytest.raises(ValueError, match=message):
        spacy.blank("en").add_pipe("lstm_tagger", config={"model": SMALL_MODEL, **config})


@pytest.mark.parametrize("nO", [5, 100])
def test_config_nO_that_disagrees_with_the_labels(demo_records, nO: int) -> None:
    """An nO that disagrees with the number of labels is refused at initialize."""
    nlp = make_nlp(nO=nO)
    examples = records_to_examples(nlp, demo_records[:10])
    with pytest.raises(ValueError, match=rf"\[E005\] .* set to {nO} outputs"):
        nlp.initialize(lambda: examples)


def test_listener_width_that_disagrees_with_the_upstream_tok2vec(demo_records) -> None:
    """A listener width that differs from the upstream tok2vec's is refused, naming both widths."""
    nlp = spacy.blank("en")
    upstream = {"@architectures": "spacy.HashEmbedCNN.v2", "width": 64, "depth": 1}
    upstream.update(embed_size=500, window_size=1, maxout_pieces=3, subword_features=True)
    nlp.add_pipe("tok2vec", config={"model": {**upstream, "pretrained_vectors": None}})
    listener = {"@architectures": "spacy.Tok2VecListener.v1", "width": 96, "upstream": "*"}
    nlp.add_pipe("lstm_tagger", config={"model": small_model(tok2vec=listener)})
    examples = records_to_examples(nlp, demo_records[:5])
    message = r"\[E006\] .*'tok2vec', whose token vectors are 64 wide.*width = 96"
    with pytest.raises(ValueError, match=message):
        nlp.initialize(lambda: examples)


def test_token_vectors_of_another_width_than_the_weights(trained_nlp) -> None:
    """Token vectors of another width than the weights expect are refused with both widths."""
    layer = trained_nlp.get_pipe("lstm_tagger").model.get_ref("output_layer")
    width = layer.get_dim("nI")
    message = rf"\[E100\] .* {2 * width} wide, but the recurrent layer was built for {width}\."
    with pytest.raises(ValueError, match=message):
        layer.predict([layer.ops.alloc2f(3, 2 * width)])


# Bad model files.


@pytest.fixture(scope="module")
def saved_pipeline(trained_nlp, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("saved") / "pipeline"
    trained_nlp.to_disk(path)
    return path


def corrupt_torch_payload(data: bytes) -> bytes:
    """Keep the file's msgpack structure but cut the torch weights inside it short."""
    msg = srsly.msgpack_loads(data)
    for shims in msg["shims"]:
        for i, shim_bytes in enumerate(shims):
            shim = srsly.msgpack_loads(shim_bytes)
            shim["state"] = shim["state"][: len(shim["state"]) // 2]
            shims[i] = srsly.msgpack_dumps(shim)
    return srsly.msgpack_dumps(msg)


def drop_a_label(cfg_path: Path) -> None:
    cfg = json.loads(cfg_path.read_text())
    cfg["labels"] = cfg["labels"][:-1]
    cfg_path.write_text(json.dumps(cfg))


def save_nan_weights(component_dir: Path) -> None:
    """Overwrite the component's files with weights that hold a NaN."""
    nlp = spacy.load(component_dir.parent)
    get_torch_module(nlp.get_pipe("lstm_tagger").model).output.weight.data[0, 0] = float("nan")
    nlp.get_pipe("lstm_tagger").to_disk(component_dir)


def cut(path: Path, keep: float) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


BROKEN = r"\[E152\]"
# How to damage the component's directory, and what the error says is wrong.
MODEL_FILE_DAMAGE: Dict[str, Tuple[Callable[[Path], object], str]] = {
    "truncated": (lambda d: cut(d / "model", 0.5), BROKEN),
    "last_bytes_cut": (lambda d: cut(d / "model", 0.999), BROKEN),
    "empty": (lambda d: cut(d / "model", 0.0), BROKEN),
    "random_bytes": (
        lambda d: (d / "model").write_bytes(numpy.random.default_rng(0).bytes(4096)),
        BROKEN,
    ),
    "torch_payload_cut": (
        lambda d: (d / "model").write_bytes(corrupt_torch_payload((d / "model").read_bytes())),
        # The model's own error, nested in the component's.
        r"\[E151\] .*: \[E157\]",
    ),
    "missing": (lambda d: (d / "model").unlink(), r"\[E150\]"),
    "cfg_label_removed": (
        lambda d: drop_a_label(d / "cfg"),
        r"\[E153\] .* {n1} labels, .* {n} outputs",
    ),
    "cfg_missing": (lambda d: (d / "cfg").unlink(), r"\[E153\] .* 0 labels, .* {n} outputs"),
    "nan_weights": (save_nan_weights, r"\[E154\]"),
}


@pytest.mark.parametrize("damage", list(MODEL_FILE_DAMAGE))
def test_spacy_load_of_a_damaged_model_file(saved_pipeline, trained_nlp, tmp_path, damage) -> None:
    """`spacy.load` of a damaged model file names the component, the file and the problem."""
    path = tmp_path / "pipeline"
    shutil.copytree(saved_pipeline, path)
    change, problem = MODEL_FILE_DAMAGE[damage]
    n_labels = len(trained_nlp.get_pipe("lstm_tagger").labels)
    change(path / "lstm_tagger")
    with pytest.raises(WeightsError, match=problem.format(n=n_labels, n1=n_labels - 1)) as error:
        spacy.load(path)
    assert "component 'lstm_tagger'" in str(error.value)
    assert str(path / "lstm_tagger" / "model") in str(error.value)


@pytest.mark.parametrize("keep", [0.0, 0.5, 0.999])
def test_from_bytes_of_damaged_bytes(trained_nlp, keep: float) -> None:
    """`from_bytes` of cut bytes says the data is truncated or corrupted."""
    data = trained_nlp.get_pipe("lstm_tagger").to_bytes()
    with pytest.raises(ValueError, match=rf"{BROKEN} .* from the bytes data"):
        make_nlp().get_pipe("lstm_tagger").from_bytes(data[: int(len(data) * keep)])


# Numerical safety.


@pytest.mark.parametrize("where", ["torch", "tok2vec"])
def test_nan_weights_stop_training_with_a_clear_error(demo_records, where: str) -> None:
    """NaN or infinite weights in torch or in the tok2vec stop training with advice on the learn
    rate."""
    nlp = initialized_nlp(demo_records[:8])
    model = nlp.get_pipe("lstm_tagger").model
    if where == "torch":
        get_torch_module(model).output.bias.data[0] = float("nan")
    else:
        embed = next(node for node in model.walk() if node.name.startswith("hashembed"))
        embed.get_param("E")[:] = numpy.inf
    examples = records_to_examples(nlp, demo_records[:8])
    with pytest.raises(ValueError, match=r"\[E004\]"):
        nlp.update(examples)


def torch_parameter_change(nlp: Language, examples: List[Example], grad_clip: float) -> float:
    """The largest norm of a torch parameter's change after one SGD step (learn rate
    1) on a loss gradient scaled up 10^4 times."""
    pipe = nlp.get_pipe("lstm_tagger")
    module = get_torch_module(pipe.model)
    before = {name: param.detach().clone() for name, param in module.named_parameters()}
    original_get_loss = pipe.get_loss

    def huge_get_loss(examples, scores):
        loss, d_scores = original_get_loss(examples, scores)
        return loss, [d * 1e4 for d in d_scores]

    pipe.get_loss = huge_get_loss
    sgd = {"@optimizers": "SGD.v1", "learn_rate": 1.0, "L2": 0.0, "grad_clip": grad_clip}
    optimizer = registry.resolve({"sgd": {**sgd, "use_averages": False}})["sgd"]
    nlp.update(examples, sgd=optimizer)
    after = {name: param.detach() for name, param in module.named_parameters()}
    return max(float(torch.linalg.norm(after[name] - before[name])) for name in before)


def test_grad_clip_from_the_optimizer_config_clips_torch_gradients(demo_records) -> None:
    """The optimizer's grad_clip clips the torch module's gradients: a clipped SGD step is no
    longer than the threshold."""
    clip = 0.01
    changes = {}
    for grad_clip in (0.0, clip):
        nlp = initialized_nlp(demo_records[:8])
        examples = records_to_examples(nlp, demo_records[:8])
        changes[grad_clip] = torch_parameter_change(nlp, examples, grad_clip)
    # SGD with learn rate 1: a clipped step is at most as long as the clip threshold.
    assert changes[clip] <= clip * (1 + 1e-4)
    assert changes[0.0] > 1000 * clip
