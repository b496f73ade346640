"""Shared fixtures: small corpora written by the tests, and small fast models."""

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import numpy
import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.training import Example

from spacy_lstm_tagger.cli.demo import DEMO_CONFIG, load_demo_records, records_to_docbin

# Every shipped training config: configs/*.cfg and the package's demo config.
SHIPPED_CONFIGS = [*sorted((Path(__file__).parent.parent / "configs").glob("*.cfg")), DEMO_CONFIG]

# A small model, so tests train in seconds on two CPU cores.
SMALL_MODEL = {
    "@architectures": "spacy-lstm-tagger.LSTMTagger.v1",
    "rnn_type": "lstm",
    "hidden_width": 16,
    "depth": 1,
    "bidirectional": True,
    "dropout": 0.0,
    "word_dropout": 0.0,
    "nO": None,
    "tok2vec": {
        "@architectures": "spacy.MultiHashEmbed.v2",
        "width": 32,
        "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"],
        "rows": [500, 100, 200, 100],
        "include_static_vectors": False,
    },
}


def char_tok2vec(kind: str = "lstm", words: Optional[Dict] = None) -> Dict:
    """A small word embedding beside a small character encoder."""
    return {
        "@architectures": "spacy-lstm-tagger.WordCharEmbed.v1",
        "words": words or SMALL_MODEL["tok2vec"],
        "chars": {
            "@architectures": "spacy-lstm-tagger.CharEmbed.v1",
            "width": 16,
            "char_width": 8,
            "kind": kind,
            "rows": 256,
            "max_chars": 10,
            "window": 1,
        },
    }


# The width of the small vectors tables the tests build (a user's clone has no vectors).
VECTORS_WIDTH = 6


def vectors_tok2vec(**settings) -> Dict:
    """char_tok2vec with `ConcatHashEmbed.v2` words that read the vocab's static vectors;
    `settings` override the words' settings."""
    words = {
        "@architectures": "spacy-lstm-tagger.ConcatHashEmbed.v2",
        "width": 8,
        "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"],
        "rows": [500, 100, 200, 100],
        "include_static_vectors": True,
        "vectors_width": None,
        "vectors_attr": "ORTH",
        "vectors_dropout": 0.0,
        **settings,
    }
    return char_tok2vec(words=words)


def add_vectors(vocab, words: Sequence[str], width: int = VECTORS_WIDTH, seed: int = 0) -> None:
    """Give each word (as written) a random vector of its own in `vocab.vectors`."""
    rng = numpy.random.default_rng(seed)
    for word in dict.fromkeys(words):
        vocab.set_vector(word, rng.normal(size=width).astype("float32"))


def small_model(**overrides) -> Dict:
    """The small model config with some settings changed."""
    return {**SMALL_MODEL, **overrides}


def make_nlp(target: str = "tag", **model_overrides) -> Language:
    """A blank English pipeline with an uninitialized small `lstm_tagger`."""
    nlp = spacy.blank("en")
    nlp.add_pipe("lstm_tagger", config={"target": target, "model": small_model(**model_overrides)})
    return nlp


def records_to_examples(nlp: Language, records: List[Dict]) -> List[Example]:
    """Examples whose predicted docs have the gold words but no annotation."""
    examples = []
    for record in records:
        gold = Doc(nlp.vocab, words=record["words"], tags=record["tags"], pos=record["pos"])
        examples.append(Example(Doc(nlp.vocab, words=record["words"]), gold))
    return examples


def train_nlp(
    nlp: Language,
    examples: List[Example],
    n_iter: int = 30,
    learn_rate: Optional[float] = None,
    drop: float = 0.0,
) -> Language:
    """Initialize and train on the examples, all in one batch per step.

    learn_rate (Optional[float]): Overrides the default optimizer's learning rate.
    drop (float): The dropout rate given to `nlp.update`.
    """
    optimizer = nlp.initialize(lambda: examples)
    if learn_rate is not None:
        optimizer.learn_rate = learn_rate
    for _ in range(n_iter):
        nlp.update(examples, sgd=optimizer, drop=drop)
    return nlp


def squared_error_loss(probs: Sequence, gold: Sequence[Sequence[str]], labels: Sequence) -> float:
    """The loss spaCy's taggers report (thinc's unnormalized categorical cross-entropy
    returns the sum of its squared gradient), computed by hand: the sum over the tokens
    with a gold label of the squared distance between the probabilities and the
    one-hot gold label.

    probs (Sequence): One (n_tokens, n_labels) array per doc.
    gold (Sequence[Sequence[str]]): Each doc's gold labels; "" or None: not scored.
    labels (Sequence): The component's labels, in the order of the columns.
    RETURNS (float): The loss.
    """
    total = 0.0
    for doc_probs, doc_gold in zip(probs, gold):
        for row, label in zip(numpy.asarray(doc_probs, dtype="float64"), doc_gold):
            if label:
                truth = numpy.zeros_like(row)
                truth[list(labels).index(label)] = 1.0
                total += float(((row - truth) ** 2).sum())
    return total


def predicted_labels(nlp: Language, docs: Sequence[Union[str, Doc]]) -> List[List[str]]:
    """The label of highest probability for each token, read from the model's
    probabilities (not from the docs' annotation).

    docs (Sequence[Union[str, Doc]]): Docs, or texts to make docs of.
    RETURNS (List[List[str]]): One list of labels per doc.
    """
    pipe = nlp.get_pipe("lstm_tagger")
    probs = pipe.model.predict([nlp.make_doc(d) if isinstance(d, str) else d for d in docs])
    return [[pipe.labels[i] for i in numpy.asarray(p).argmax(axis=1)] for p in probs]


def run_in_training_mode(monkeypatch: pytest.MonkeyPatch, nlp: Language) -> None:
    """Make the component's recurrent layer run as in training even when asked to
    predict: the bug that the batch-invariance and round-trip tests must catch. The
    change is undone when the test ends.
    """
    layer = nlp.get_pipe("lstm_tagger").model.get_ref("output_layer")
    forward = layer._func  # thinc keeps a layer's forward function here
    monkeypatch.setattr(layer, "_func", lambda model, X, is_train: forward(model, X, True))


@pytest.fixture(scope="session")
def demo_records() -> List[Dict]:
    """The embedded demo corpus: words, UPOS and Penn tags per sentence."""
    return load_demo_records()


@pytest.fixture(scope="session")
def trained_nlp(demo_records) -> Language:
    """A small tagger (target "tag") fit to 40 demo sentences: it tags every token of
    them right (test_component checks). Do not modify."""
    spacy.util.fix_random_seed(0)
    nlp = make_nlp("tag")
    examples = records_to_examples(nlp, demo_records[:40])
    return train_nlp(nlp, examples, n_iter=40, learn_rate=0.01)


@pytest.fixture(scope="session")
def trained_char_nlp(demo_records) -> Language:
    """trained_nlp's tagger with character features beside its words. Do not modify."""
    spacy.util.fix_random_seed(0)
    nlp = make_nlp("tag", tok2vec=char_tok2vec())
    examples = records_to_examples(nlp, demo_records[:40])
    return train_nlp(nlp, examples, n_iter=40, learn_rate=0.01)


# Demo words left out of the test vectors table, so that some tokens have no vector.
NO_VECTOR_WORDS = ("banana", "singer", "Sarah")


def demo_vector_words(records: List[Dict]) -> List[str]:
    """The words of the demo records that the test vectors table has."""
    return [w for r in records for w in r["words"] if w not in NO_VECTOR_WORDS]


@pytest.fixture(scope="session")
def trained_vectors_nlp(demo_records) -> Language:
    """trained_char_nlp's tagger with static vectors beside its words, from a small
    random table of the demo words (less NO_VECTOR_WORDS). Do not modify."""
    spacy.util.fix_random_seed(0)
    nlp = make_nlp("tag", tok2vec=vectors_tok2vec())
    add_vectors(nlp.vocab, demo_vector_words(demo_records))
    examples = records_to_examples(nlp, demo_records[:40])
    return train_nlp(nlp, examples, n_iter=40, learn_rate=0.01)


@pytest.fixture(scope="session")
def vectors_dir(tmp_path_factory, demo_records) -> Path:
    """A pipeline directory with only a small vectors table, for `[initialize] vectors`."""
    nlp = spacy.blank("en")
    add_vectors(nlp.vocab, demo_vector_words(demo_records))
    path = tmp_path_factory.mktemp("vectors") / "vectors"
    nlp.to_disk(path)
    return path


def load_shipped_config(path: Path, vectors: Path):
    """A shipped config, with [paths] vectors pointing at `vectors` if it reads vectors
    (the shipped value names a package this machine may not have).

    RETURNS (Config): The config, interpolated.
    """
    raw = spacy.util.load_config(path, interpolate=False)
    has_vectors = raw.get("paths", {}).get("vectors") is not None
    overrides = {"paths.vectors": str(vectors)} if has_vectors else {}
    return spacy.util.load_config(path, overrides=overrides)


# The dropout rate the default model is trained with, as `[training] dropout` would give.
DEFAULT_TRAIN_DROPOUT = 0.33


@pytest.fixture(scope="session")
def trained_default_nlp(demo_records) -> Language:
    """The shipped default model (`nlp.add_pipe("lstm_tagger")` with no model config: a
    2-layer BiLSTM over hash and character embeddings, with dropout and word dropout)
    trained briefly on 40 demo sentences with `nlp.update(drop=0.33)`, so dropout is
    really on while training and stays set on the model afterwards, as after
    `spacy train`. Do not modify."""
    spacy.util.fix_random_seed(0)
    nlp = spacy.blank("en")
    nlp.add_pipe("lstm_tagger")
    examples = records_to_examples(nlp, demo_records[:40])
    optimizer = nlp.initialize(lambda: examples)
    optimizer.learn_rate = 0.01
    # 24 updates, batches of 10 sentences: a few seconds.
    for _ in range(6):
        for start in range(0, len(examples), 10):
            batch = examples[start : start + 10]
            nlp.update(batch, sgd=optimizer, drop=DEFAULT_TRAIN_DROPOUT)
    return nlp


@pytest.fixture
def corpus_dir(tmp_path: Path, demo_records) -> Path:
    """train.spacy (160 sentences) and dev.spacy (40) written from the demo corpus."""
    vocab = spacy.blank("en").vocab
    records_to_docbin(demo_records[:160], vocab).to_disk(tmp_path / "train.spacy")
    records_to_docbin(demo_records[160:200], vocab).to_disk(tmp_path / "dev.spacy")
    return tmp_path


def read_docbin(path: Path, nlp: Language) -> List[Doc]:
    """The docs of a .spacy file."""
    return list(DocBin().from_disk(path).get_docs(nlp.vocab))


def run_command(cmd: List, cwd: Path, timeout: float = 300) -> str:
    """Run a command as a user would, outside the repository so the source tree is not
    importable from the working directory; fail with its output if it fails.

    cmd (List): The command and its arguments (str or Path).
    cwd (Path): The working directory.
    RETURNS (str): Its standard output.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    command = " ".join(map(str, cmd))
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


# What a wheel of this project is built from.
PROJECT_ROOT = Path(__file__).resolve().parents[1]
PROJECT_FILES = ("pyproject.toml", "README.md", "LICENSE")


def build_project_wheel(tmp: Path, dist: Path) -> None:
    """Build this project's wheel from a copy of its sources, so nothing is written
    into the shared working tree.

    tmp (Path): A scratch directory; the copy goes into tmp/project.
    dist (Path): Where the wheel goes.
    """
    src = tmp / "project"
    src.mkdir()
    for name in PROJECT_FILES:
        if (PROJECT_ROOT / name).exists():
            shutil.copy(PROJECT_ROOT / name, src / name)
    shutil.copytree(
        PROJECT_ROOT / "spacy_lstm_tagger",
        src / "spacy_lstm_tagger",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    # -x: setuptools builds wheels itself; the `wheel` named in build-system.requires
    # is not needed and may be absent.
    run_command(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "-x", "-o", dist, src], tmp
    )


def fresh_venv(tmp: Path, leave_out: Sequence[str] = ()) -> Path:
    """A new virtual environment (tmp/venv) that sees this one's packages, except this
    project and the names in `leave_out`, through a `.pth` file that points at a view of
    this environment's site-packages (tmp/deps).

    leave_out (Sequence[str]): Prefixes of site-packages entries to leave out too, e.g.
        a pipeline package that the test installs itself.
    RETURNS (Path): Its Python interpreter.
    """
    run_command([sys.executable, "-m", "venv", "--without-pip", tmp / "venv"], tmp)
    python = tmp / "venv" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    view = tmp / "deps"
    view.mkdir()
    paths = sysconfig.get_paths()
    for lib in {paths["purelib"], paths["platlib"]}:
        for entry in Path(lib).iterdir():
            # Leave out this project (editable or not) and this env's .pth hooks.
            skip = entry.name.startswith(("spacy_lstm_tagger", "__editable__", *leave_out))
            if not skip and entry.suffix != ".pth":
                (view / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    purelib = run_command(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp
    )
    (Path(purelib.strip()) / "dependencies.pth").write_text(f"{view}\n")
    return python


# UD features for the demo corpus's Penn tags (it has none of its own), so that joint
# taggers have a morph target to learn; the other tags get the empty analysis.
DEMO_FEATS = {
    "NN": "Number=Sing",
    "NNS": "Number=Plur",
    "NNP": "Number=Sing",
    "DT": "PronType=Art",
    "PRP": "Case=Nom|PronType=Prs",
    "VBD": "Mood=Ind|Tense=Past|VerbForm=Fin",
    "VBZ": "Mood=Ind|Number=Sing|Person=3|Tense=Pres|VerbForm=Fin",
    "VBG": "VerbForm=Ger",
    "JJ": "Degree=Pos",
}


def demo_morphs(tags: Sequence[str]) -> List[str]:
    """The FEATS strings of a demo sentence, from its Penn tags ("" for none)."""
    return [DEMO_FEATS.get(tag, "") for tag in tags]


# The targets of a joint tagger, and the small model with several output heads.
JOINT_TARGETS = ["pos", "tag", "morph"]
JOINT_MODEL = {**SMALL_MODEL, "@architectures": "spacy-lstm-tagger.LSTMTagger.v2"}


def make_joint_nlp(morph_mode: str = "string", **config) -> Language:
    """A blank English pipeline with an uninitialized small joint `lstm_tagger`
    (UPOS, Penn tags and features); `config` overrides component settings."""
    nlp = spacy.blank("en")
    settings = {"target": JOINT_TARGETS, "morph_mode": morph_mode, "model": JOINT_MODEL}
    nlp.add_pipe("lstm_tagger", config={**settings, **config})
    return nlp


def joint_examples(nlp: Language, records: List[Dict]) -> List[Example]:
    """Examples whose gold docs have UPOS, tags and features (`DEMO_FEATS`), and whose
    predicted docs have the gold words and no annotation."""
    examples = []
    for record in records:
        words, tags = record["words"], record["tags"]
        gold = Doc(nlp.vocab, words=words, tags=tags, pos=record["pos"], morphs=demo_morphs(tags))
        examples.append(Example(Doc(nlp.vocab, words=words), gold))
    return examples


def training_examples(nlp: Language, demo_records: List[Dict]) -> List[Example]:
    """Gold docs with tags, UPOS, features (`DEMO_FEATS`) and a right-branching tree (for
    configs with a parser)."""
    examples = []
    for record in demo_records[:20]:
        n = len(record["words"])
        gold = Doc(
            nlp.vocab,
            words=record["words"],
            tags=record["tags"],
            pos=record["pos"],
            morphs=demo_morphs(record["tags"]),
            heads=[max(0, i - 1) for i in range(n)],
            deps=["ROOT"] + ["dep"] * (n - 1),
        )
        examples.append(Example(Doc(nlp.vocab, words=record["words"]), gold))
    return examples
