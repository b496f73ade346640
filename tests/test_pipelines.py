"""Pipelines in production: pickle, weights across devices, a shared tok2vec,
a frozen annotating component, and spaCy's CLI commands on a pipeline with `lstm_tagger`."""

import json
import pickle
import sys
from collections import Counter
from io import BytesIO
from pathlib import Path

import pytest
import spacy
import torch
from conftest import read_docbin, records_to_examples, run_command, small_model, squared_error_loss
from spacy.cli.train import train
from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.training import Corpus, Example
from spacy.util import load_model_from_config
from test_serialization import assert_same_predictions
from thinc.api import Config

from spacy_lstm_tagger.cli.demo import DEMO_CONFIG, records_to_docbin
from spacy_lstm_tagger.layers.tagger_model import get_torch_module, serialize_module

PROJECT_ROOT = Path(__file__).resolve().parents[1]
WIDTH = 32
TOK2VEC = {
    "@architectures": "spacy.Tok2Vec.v2",
    "embed": {
        "@architectures": "spacy.MultiHashEmbed.v2",
        "width": WIDTH,
        "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"],
        "rows": [500, 100, 200, 100],
        "include_static_vectors": False,
    },
    "encode": {
        "@architectures": "spacy.MaxoutWindowEncoder.v2",
        "width": WIDTH,
        "depth": 1,
        "window_size": 1,
        "maxout_pieces": 2,
    },
}
LISTENER = {"@architectures": "spacy.Tok2VecListener.v1", "width": WIDTH, "upstream": "tok2vec"}


def test_pickle_round_trip(trained_nlp):
    """A pickled and unpickled pipeline gives the same probabilities and tags."""
    assert_same_predictions(trained_nlp, pickle.loads(pickle.dumps(trained_nlp)))


def test_weights_saved_on_gpu_load_on_cpu(trained_nlp, monkeypatch):
    # torch.save asks these taggers where each tensor lives (a private registry, the
    # only way to write GPU-tagged weights without a GPU): tag every tensor cuda:0.
    """Weights saved on a GPU load on a CPU-only machine and predict the same."""
    registry = torch.serialization._package_registry
    gpu_tagger = (-1, lambda _storage: "cuda:0", lambda _storage, _location: None)
    monkeypatch.setattr(torch.serialization, "_package_registry", [gpu_tagger, *registry])
    module_bytes = serialize_module(get_torch_module(trained_nlp.get_pipe("lstm_tagger").model))
    nlp_bytes = trained_nlp.to_bytes()
    monkeypatch.undo()
    if not torch.cuda.is_available():  # the weights really claim a GPU
        with pytest.raises(RuntimeError, match="CUDA"):
            torch.load(BytesIO(module_bytes), weights_only=True)
    nlp = load_model_from_config(trained_nlp.config).from_bytes(nlp_bytes)
    module = get_torch_module(nlp.get_pipe("lstm_tagger").model)
    assert {p.device.type for p in module.parameters()} == {"cpu"}
    assert_same_predictions(trained_nlp, nlp)


def test_pickle_round_trip_of_the_default_model(trained_default_nlp):
    """The shipped default model (with its character encoder) pickles, and the copy
    gives the same probabilities and tags."""
    assert_same_predictions(trained_default_nlp, pickle.loads(pickle.dumps(trained_default_nlp)))


def tok2vec_gradient(nlp: Language) -> float:
    """The summed absolute gradient held by the tok2vec's parameters."""
    tok2vec = nlp.get_pipe("tok2vec").model
    grads = [n.get_grad(p) for n in tok2vec.walk() for p in n.grad_names if n.has_grad(p)]
    return sum(float(abs(grad).sum()) for grad in grads)


def test_listener_backprops_into_shared_tok2vec(demo_records, monkeypatch):
    """The tagger's gradient reaches the shared tok2vec through its listener: with the
    tagger's gradient zeroed, the tok2vec gets no gradient; with it, it does. The
    tagger's loss is computed on the tok2vec's vectors (checked by hand)."""
    nlp = spacy.blank("en")
    nlp.add_pipe("tok2vec", config={"model": TOK2VEC})
    nlp.add_pipe("lstm_tagger", config={"model": small_model(tok2vec=LISTENER)})
    examples = records_to_examples(nlp, demo_records[:20])
    nlp.initialize(lambda: examples)
    assert nlp.get_pipe("tok2vec").listening_components == ["lstm_tagger"]
    pipe = nlp.get_pipe("lstm_tagger")
    # Negative control: the listener passes back only what the tagger sends.
    get_loss = pipe.get_loss
    monkeypatch.setattr(
        pipe, "get_loss", lambda egs, scores: (0.0, [s * 0 for s in get_loss(egs, scores)[1]])
    )
    assert nlp.update(examples, sgd=False)["tok2vec"] == 0.0  # sgd=False keeps the gradients
    assert tok2vec_gradient(nlp) == 0.0
    monkeypatch.undo()
    # No dropout in training: the tagger's probabilities are those of prediction.
    docs = list(nlp.get_pipe("tok2vec").pipe(eg.predicted.copy() for eg in examples))
    probs = pipe.model.predict(docs)
    gold = [[t.tag_ for t in eg.reference] for eg in examples]
    losses = nlp.update(examples, sgd=False)
    assert losses["lstm_tagger"] == pytest.approx(squared_error_loss(probs, gold, pipe.labels))
    # The tok2vec's "loss" is the squared gradient its listeners sent back.
    assert losses["tok2vec"] > 0
    assert tok2vec_gradient(nlp) > 0


def flat_tree_docbin(records, vocab) -> DocBin:
    """Gold docs with UPOS and a trivial projective tree (all words under the last)."""
    docbin = DocBin()
    for record in records:
        words, n = record["words"], len(record["words"])
        heads, deps = [n - 1] * n, ["dep"] * (n - 1) + ["ROOT"]
        docbin.add(Doc(vocab, words=words, pos=record["pos"], heads=heads, deps=deps))
    return docbin


def test_shared_tok2vec_parser_config_trains(demo_records, tmp_path):
    """The shipped shared-tok2vec config trains a tagger and a parser that both listen to the
    tok2vec, and model-last's saved scores are its own."""
    vocab = spacy.blank("en").vocab
    flat_tree_docbin(demo_records[:60], vocab).to_disk(tmp_path / "train.spacy")
    flat_tree_docbin(demo_records[160:180], vocab).to_disk(tmp_path / "dev.spacy")
    overrides = {
        "paths.train": str(tmp_path / "train.spacy"),
        "paths.dev": str(tmp_path / "dev.spacy"),
        "training.max_steps": 10,
        "training.eval_frequency": 5,
        "components.tok2vec.model.encode.width": WIDTH,
        "components.tok2vec.model.encode.depth": 1,
        "components.lstm_tagger.model.hidden_width": 16,
        "components.parser.min_action_freq": 1,
    }
    config = PROJECT_ROOT / "configs" / "ewt_tok2vec_parser.cfg"
    train(config, tmp_path / "out", overrides=overrides)
    nlp = spacy.load(tmp_path / "out" / "model-last")
    assert nlp.get_pipe("tok2vec").listening_components == ["lstm_tagger", "parser"]
    meta = json.loads((tmp_path / "out" / "model-last" / "meta.json").read_text())
    # The scores saved with model-last are its own on the dev corpus, read as the
    # training loop reads it: the tagger and the parser both ran on the shared vectors.
    dev = Corpus(tmp_path / "dev.spacy", gold_preproc=True)(nlp)
    scores = nlp.evaluate(dev)
    for key in ("pos_acc", "dep_uas"):
        assert meta["performance"][key] == pytest.approx(scores[key], abs=1e-6), key
    doc = nlp("The dog ate the apple .")
    assert all(token.pos_ for token in doc) and all(token.dep_ for token in doc)


def test_frozen_annotating_tagger_feeds_new_component(trained_nlp, corpus_dir, demo_records):
    """A sourced, frozen lstm_tagger annotates TAG during training; a new UPOS tagger
    whose only feature is that TAG can only learn if the annotation reaches it."""
    trained_nlp.to_disk(corpus_dir / "source")
    config = Config().from_disk(DEMO_CONFIG, interpolate=False)
    upos_model = small_model(tok2vec={**small_model()["tok2vec"], "attrs": ["TAG"], "rows": [100]})
    config["nlp"]["pipeline"] = ["lstm_tagger", "upos"]
    config["components"] = {
        "lstm_tagger": {"source": str(corpus_dir / "source")},
        "upos": {"factory": "lstm_tagger", "target": "pos", "model": upos_model},
    }
    training = {"max_steps": 20, "eval_frequency": 10, "frozen_components": ["lstm_tagger"]}
    config["training"].update({**training, "annotating_components": ["lstm_tagger"]})
    config.to_disk(corpus_dir / "frozen.cfg")
    paths = {
        "paths.train": str(corpus_dir / "train.spacy"),
        "paths.dev": str(corpus_dir / "dev.spacy"),
    }
    train(corpus_dir / "frozen.cfg", corpus_dir / "out", overrides=paths)
    nlp = spacy.load(corpus_dir / "out" / "model-last")
    assert_same_predictions(trained_nlp, nlp)  # frozen: weights unchanged
    counts = Counter(pos for record in demo_records[160:200] for pos in record["pos"])
    majority = max(counts.values()) / sum(counts.values())
    meta = json.loads((corpus_dir / "out" / "model-last" / "meta.json").read_text())
    assert meta["performance"]["pos_acc"] > majority + 0.25


# spaCy's CLI, each command in a fresh interpreter as a user runs it.
BASE_CONFIG = """
[paths]
train = null
dev = null

[nlp]
lang = "en"
pipeline = ["lstm_tagger"]

[components]

[components.lstm_tagger]
factory = "lstm_tagger"
"""


def spacy_cli(*args, cwd: Path) -> str:
    """Run `python -m spacy ARGS`. RETURNS (str): Its standard output."""
    return run_command([sys.executable, "-m", "spacy", *args], cwd)


@pytest.fixture(scope="module")
def cli_dir(tmp_path_factory, trained_nlp, demo_records) -> Path:
    """train.spacy, dev.spacy, the trained pipeline and a filled config from `init fill-config`."""
    path = tmp_path_factory.mktemp("cli")
    vocab = spacy.blank("en").vocab
    records_to_docbin(demo_records[:160], vocab).to_disk(path / "train.spacy")
    records_to_docbin(demo_records[160:200], vocab).to_disk(path / "dev.spacy")
    trained_nlp.to_disk(path / "pipeline")
    (path / "base.cfg").write_text(BASE_CONFIG)
    spacy_cli("init", "fill-config", "base.cfg", "filled.cfg", cwd=path)
    return path


def test_cli_fill_config_completes_the_component(cli_dir):
    """`init fill-config` writes the component's default model, scorer and score
    weights into a config that only names the factory."""
    filled = Config().from_disk(cli_dir / "filled.cfg", interpolate=False)
    component = filled["components"]["lstm_tagger"]
    assert component["model"]["@architectures"] == "spacy-lstm-tagger.LSTMTagger.v2"
    assert component["scorer"]["@scorers"] == "spacy-lstm-tagger.tagger_scorer.v1"
    factory_weights = Language.get_factory_meta("lstm_tagger").default_score_weights
    assert filled["training"]["score_weights"] == factory_weights


def test_cli_evaluate_gold_preproc(cli_dir, trained_nlp):
    """`spacy evaluate --gold-preproc` reports the accuracy `nlp.evaluate` gives on the gold
    words."""
    spacy_cli("evaluate", "pipeline", "dev.spacy", "--gold-preproc", "-o", "m.json", cwd=cli_dir)
    metrics = json.loads((cli_dir / "m.json").read_text())
    gold = read_docbin(cli_dir / "dev.spacy", trained_nlp)
    examples = [Example(Doc(trained_nlp.vocab, words=[t.text for t in d]), d) for d in gold]
    assert metrics["tag_acc"] == pytest.approx(trained_nlp.evaluate(examples)["tag_acc"])


def test_cli_debug_data(cli_dir):
    """`spacy debug data` initializes a pipeline with the component."""
    paths = ["--paths.train", "train.spacy", "--paths.dev", "dev.spacy"]
    out = spacy_cli("debug", "data", "filled.cfg", *paths, cwd=cli_dir)
    assert "Pipeline can be initialized with data" in out


def test_cli_init_labels_then_assemble(cli_dir, trained_nlp, demo_records):
    """`init labels` writes the tag set; `assemble` builds a pipeline that sources the
    trained tagger and initializes a new one from those labels."""
    paths = ["--paths.train", "train.spacy", "--paths.dev", "dev.spacy"]
    spacy_cli("init", "labels", "filled.cfg", "labels", *paths, cwd=cli_dir)
    labels = json.loads((cli_dir / "labels" / "lstm_tagger.json").read_text())
    assert labels == sorted({tag for record in demo_records[:160] for tag in record["tags"]})
    config = Config().from_disk(cli_dir / "filled.cfg", interpolate=False)
    config["nlp"]["pipeline"] = ["lstm_tagger", "new_tagger"]
    config["components"]["lstm_tagger"] = {"source": str(cli_dir / "pipeline")}
    config["components"]["new_tagger"] = {"factory": "lstm_tagger", "model": small_model()}
    read_labels = {"@readers": "spacy.read_labels.v1", "path": "labels/lstm_tagger.json"}
    config["initialize"]["components"] = {"new_tagger": {"labels": read_labels}}
    config.to_disk(cli_dir / "assemble.cfg")
    spacy_cli("assemble", "assemble.cfg", "assembled", cwd=cli_dir)
    nlp = spacy.load(cli_dir / "assembled")
    assert list(nlp.get_pipe("new_tagger").labels) == labels
    assert_same_predictions(trained_nlp, nlp)
