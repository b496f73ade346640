"""Inference speed of model shapes, before training any of them.

Speed does not depend on the weights, so each shape is built from a config with
overrides, initialized on the labels of a corpus and timed untrained, interleaved
with a trained reference pipeline (spaCy's `tagger`) in one process:

    python -m benchmarks.speed_shapes configs/ewt_upos.cfg REFERENCE_MODEL \
        --corpus benchmarks/work/speed/corpus

It prints each shape's words per second and its ratio to the reference. Used to
choose the defaults: an ablation that wins on dev must still tag faster than spaCy.
"""

import json
import tempfile
from pathlib import Path
from typing import Dict

import typer
from spacy.training import Corpus
from spacy.util import load_config, load_model_from_config

from .joint_measure import measure_speed

MODEL = "components.lstm_tagger.model"
PREVIOUS_WORDS = {
    "@architectures": "spacy.MultiHashEmbed.v2",
    "width": 96,
    "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"],
    "rows": [5000, 1000, 2500, 2500],
    "include_static_vectors": False,
}
# Shape name: config overrides on top of the given config.
SHAPES: Dict[str, Dict] = {
    "shipped": {},
    "depth 1": {f"{MODEL}.depth": 1},
    "hidden 192": {f"{MODEL}.hidden_width": 192},
    "no characters": {f"{MODEL}.tok2vec": "words"},
    "MultiHashEmbed words": {f"{MODEL}.tok2vec.words": PREVIOUS_WORDS},
    "previous default (MultiHashEmbed, no characters, depth 1)": {
        f"{MODEL}.tok2vec": PREVIOUS_WORDS,
        f"{MODEL}.depth": 1,
    },
}


def build_shape(config_path: Path, overrides: Dict, corpus: Path, out: Path) -> Path:
    """Build, initialize and save one untrained pipeline.

    An override whose value is "words" replaces the tok2vec with its own `words` part.
    """
    config = load_config(config_path, overrides={"paths.train": str(corpus)})
    resolved = dict(overrides)
    if "words" in overrides.values():
        tok2vec = config["components"]["lstm_tagger"]["model"]["tok2vec"]
        resolved = {k: (tok2vec["words"] if v == "words" else v) for k, v in overrides.items()}
    config = load_config(config_path, overrides={"paths.train": str(corpus), **resolved})
    nlp = load_model_from_config(config, auto_fill=True)
    reader = Corpus(str(corpus), gold_preproc=True)
    nlp.initialize(lambda: reader(nlp))
    nlp.to_disk(out)
    return out


def main(
    config: Path = typer.Argument(..., help="Training config of the shipped shape"),
    reference: Path = typer.Argument(..., help="A trained pipeline to compare with"),
    corpus: Path = typer.Option(..., help="Directory with en_ewt-ud-{dev,test}.spacy"),
    repeats: int = typer.Option(5, help="Speed repetitions (median reported)"),
) -> None:
    """Print words per second of each shape and its ratio to the reference."""
    with tempfile.TemporaryDirectory() as tmp:
        models = {
            name: build_shape(config, overrides, corpus / "en_ewt-ud-dev.spacy", Path(tmp) / str(i))
            for i, (name, overrides) in enumerate(SHAPES.items())
        }
        models["reference"] = reference
        speeds = measure_speed(models, corpus / "en_ewt-ud-test.spacy", repeats)
    ratios = {name: round(wps / speeds["reference"], 2) for name, wps in speeds.items()}
    print(json.dumps({"words_per_second": speeds, "ratio_to_reference": ratios}, indent=2))


if __name__ == "__main__":
    typer.run(main)
