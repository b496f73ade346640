"""The tagger on a transformer: `lstm_tagger` whose tok2vec is a listener of a
`curated_transformer` component (spacy-curated-transformers), as in
configs/gpu/ewt_joint_trf.cfg, with a tiny BERT whose weights the test makes (random)
and a character piece encoder whose vocabulary the test writes: nothing is downloaded.
"""

import builtins
import string
from pathlib import Path
from typing import Dict, Iterator, List, Sequence

import numpy
import pytest
import spacy
import torch
from conftest import JOINT_TARGETS, joint_examples
from spacy.language import Language
from thinc.types import Floats2d

from spacy_lstm_tagger.cli.demo import load_demo_records

trf_pipe = pytest.importorskip("spacy_curated_transformers.pipeline.transformer")

# The transformer's hidden width: the listener's width, and the LSTM's input width.
WIDTH = 16
# The character piece encoder's vocabulary: its special pieces, then one piece a character.
PIECES = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", *string.ascii_letters, *string.digits]
PIECES += list(string.punctuation)
TEXTS = ["The dog ate the apple .", "Sarah saw a banana near the river ."]
N_UPDATES = 30


def transformer_config(hidden_width: int = WIDTH) -> Dict:
    """A one-layer BERT with two heads over `PIECES`, without dropout.

    hidden_width (int): The width of its token vectors.
    RETURNS (Dict): The `curated_transformer` component's config.
    """
    model = {
        "@architectures": "spacy-curated-transformers.BertTransformer.v1",
        "vocab_size": len(PIECES),
        "hidden_width": hidden_width,
        "intermediate_width": 2 * hidden_width,
        "num_attention_heads": 2,
        "num_hidden_layers": 1,
        "max_position_embeddings": 128,
        "model_max_length": 128,
        "attention_probs_dropout_prob": 0.0,
        "hidden_dropout_prob": 0.0,
        "piece_encoder": {"@architectures": "spacy-curated-transformers.CharEncoder.v1"},
        "with_spans": {
            "@architectures": "spacy-curated-transformers.WithStridedSpans.v1",
            "stride": 96,
            "window": 128,
        },
    }
    return {"model": model}


def tagger_config(width: int = WIDTH) -> Dict:
    """A small joint `lstm_tagger` (UPOS, Penn tags, features) on the transformer's last
    layer, one vector per token: the mean of its pieces'.

    width (int): The listener's width.
    RETURNS (Dict): The component's config.
    """
    listener = {
        "@architectures": "spacy-curated-transformers.LastTransformerLayerListener.v1",
        "width": width,
        "pooling": {"@layers": "reduce_mean.v1"},
        "upstream": "transformer",
    }
    model = {
        "@architectures": "spacy-lstm-tagger.LSTMTagger.v2",
        "hidden_width": 16,
        "depth": 1,
        "dropout": 0.0,
        "word_dropout": 0.0,
        "tok2vec": listener,
    }
    return {"target": JOINT_TARGETS, "restrict_morph_by_pos": True, "model": model}


def make_trf_nlp(pieces_path: Path, width: int = WIDTH) -> Language:
    """A blank English pipeline with the tiny transformer and a tagger listening to it;
    `nlp.initialize` reads the piece vocabulary from `pieces_path`.

    pieces_path (Path): A file of `PIECES`, one a line.
    width (int): The listener's width (the transformer's is `WIDTH`).
    RETURNS (Language): The uninitialized pipeline.
    """
    nlp = spacy.blank("en")
    nlp.add_pipe("curated_transformer", name="transformer", config=transformer_config())
    nlp.add_pipe("lstm_tagger", config=tagger_config(width))
    loader = {"@model_loaders": "spacy-curated-transformers.CharEncoderLoader.v1"}
    init = {"piecer_loader": {**loader, "path": str(pieces_path)}}
    nlp.config["initialize"]["components"]["transformer"] = init
    return nlp


def write_pieces(directory: Path) -> Path:
    """RETURNS (Path): A file of `PIECES`, one a line, in `directory`."""
    path = directory / "pieces.txt"
    path.write_text("".join(f"{piece}\n" for piece in PIECES), encoding="utf8")
    return path


def probabilities(nlp: Language, texts: Sequence[str]) -> List[Floats2d]:
    """The tagger's probabilities for the texts: the transformer annotates the docs
    (`doc._.trf_data`), which the listener reads outside training.

    RETURNS (List[Floats2d]): One (n_tokens, n_outputs) array per text.
    """
    docs = list(nlp.get_pipe("transformer").pipe(nlp.make_doc(text) for text in texts))
    assert all(doc._.trf_data is not None for doc in docs)
    return [numpy.asarray(p) for p in nlp.get_pipe("lstm_tagger").model.predict(docs)]


def tags(docs) -> List[List[tuple]]:
    """RETURNS (List[List[tuple]]): Each token's (pos_, tag_, morph) per doc."""
    return [[(t.pos_, t.tag_, str(t.morph)) for t in doc] for doc in docs]


def transformer_weights(nlp: Language) -> List[torch.Tensor]:
    """RETURNS (List[torch.Tensor]): Copies of the transformer's torch weights."""
    encoder = nlp.get_pipe("transformer").model.get_ref("transformer").shims[0]._model
    return [param.detach().clone() for param in encoder.parameters()]


@pytest.fixture(scope="module", autouse=True)
def scalar_transformer_loss() -> Iterator[None]:
    """spacy-curated-transformers (0.3.1, and 2.1.2 alike) turns its loss, a 1-element
    array, into a number with `float()`, which NumPy 2.4 refuses ("only 0-dimensional
    arrays can be converted to Python scalars"), so that every update fails. Where it
    does, its module gets a `float` that reads such an array's one element."""
    try:
        float(numpy.zeros(1))
    except TypeError:
        pass
    else:
        yield
        return

    def to_float(value) -> float:
        return builtins.float(value.item() if hasattr(value, "item") else value)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(trf_pipe, "float", to_float, raising=False)
        yield


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Dict:
    """The pipeline, initialized and trained N_UPDATES steps on 20 demo sentences.

    RETURNS (Dict): "nlp", the losses of each update ("losses"), the transformer's
        weights after initialize ("initial_weights"), and "pieces_dir", the folder of the
        piece vocabulary file.
    """
    spacy.util.fix_random_seed(0)
    pieces_dir = tmp_path_factory.mktemp("pieces")
    nlp = make_trf_nlp(write_pieces(pieces_dir))
    examples = joint_examples(nlp, load_demo_records()[:20])
    optimizer = nlp.initialize(lambda: examples)
    optimizer.learn_rate = 0.01
    initial_weights = transformer_weights(nlp)
    losses = [dict(nlp.update(examples, sgd=optimizer, drop=0.0)) for _ in range(N_UPDATES)]
    return {
        "nlp": nlp,
        "losses": losses,
        "initial_weights": initial_weights,
        "pieces_dir": pieces_dir,
    }


def test_listener_feeds_the_lstm_the_transformers_width(trained) -> None:
    """The listener is the tagger's tok2vec, registered with the transformer; the LSTM
    reads vectors as wide as the transformer's."""
    nlp = trained["nlp"]
    tagger = nlp.get_pipe("lstm_tagger")
    listener = tagger.model.get_ref("tok2vec")
    assert nlp.get_pipe("transformer").listener_map == {"lstm_tagger": [listener]}
    assert tagger.model.get_ref("output_layer").get_dim("nI") == WIDTH


def test_training_lowers_the_loss_and_fine_tunes_the_transformer(trained) -> None:
    """The tagger's loss falls, and its gradient reaches the transformer's weights."""
    losses = [step["lstm_tagger"] for step in trained["losses"]]
    assert all(numpy.isfinite(losses))
    assert losses[-1] < 0.8 * losses[0]
    after = transformer_weights(trained["nlp"])
    assert any(not torch.equal(a, b) for a, b in zip(trained["initial_weights"], after))


def test_tags_texts_with_nlp_and_pipe(trained) -> None:
    """`nlp(text)` and `nlp.pipe(texts)` write pos_, tag_ and morph, alike."""
    nlp = trained["nlp"]
    one_by_one = tags(nlp(text) for text in TEXTS)
    piped = tags(nlp.pipe(TEXTS, batch_size=1))
    assert one_by_one == piped
    assert [len(doc) for doc in one_by_one] == [len(text.split()) for text in TEXTS]
    assert all(pos and tag for doc in piped for pos, tag, _ in doc)


def test_saved_pipeline_loads_with_the_same_tags_and_probabilities(trained, tmp_path) -> None:
    """`spacy.load` (no --code: entry points register everything) rebuilds the pipeline,
    the piece vocabulary included: the file it was initialized from is gone."""
    nlp = trained["nlp"]
    before = probabilities(nlp, TEXTS)
    before_tags = tags(nlp.pipe(TEXTS))
    nlp.to_disk(tmp_path / "pipeline")
    for path in trained["pieces_dir"].iterdir():
        path.unlink()
    loaded = spacy.load(tmp_path / "pipeline")
    assert loaded.pipe_names == ["transformer", "lstm_tagger"]
    assert tags(loaded.pipe(TEXTS)) == before_tags
    for x, y in zip(before, probabilities(loaded, TEXTS)):
        numpy.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-7)


def test_listener_narrower_than_the_transformer_is_refused(tmp_path) -> None:
    """A listener width other than the transformer's hidden width stops `initialize`
    with an error that gives both widths (as for a tok2vec listener)."""
    nlp = make_trf_nlp(write_pieces(tmp_path), width=2 * WIDTH)
    examples = joint_examples(nlp, load_demo_records()[:2])
    message = rf"\[E006\] .* {WIDTH} wide, but its listener has width = {2 * WIDTH}"
    with pytest.raises(ValueError, match=message):
        nlp.initialize(lambda: examples)
