"""How often the default `lstm_tagger` fails spaCy's partial-annotation test, over seeds:

    OMP_NUM_THREADS=1 python -m benchmarks.partial_annotation --seeds 96 --char-scale 1 0.1

The setup is spaCy's `test_incomplete_data` (spacy/tests/pipeline/test_tagger.py): a blank
English pipeline, "I like green eggs" with only "like" = V and "green" = J, "He hates green
eggs" with misaligned words, 50 `nlp.update` calls. A seed passes when the last loss is
below 1e-5 and "I like blue eggs" comes out with "like" = V and "blue" = J.

`--char-scale` multiplies the character embedding table after `initialize`: with the
factory's default `CharEmbed.v2` (N(0, 0.1^2)) a scale s gives N(0, (0.1 s)^2). Each line
records the default's character encoder (`char_init`); lines without it were measured
before `CharEmbed.v2`, when the default was `CharEmbed.v1`, N(0, 1).
Prints one JSON line per scale and appends it to results/partial_annotation.jsonl.
"""

import json
from pathlib import Path
from typing import Dict, List, Optional

import spacy
import torch
import typer
from spacy.training import Example

from spacy_lstm_tagger.layers.char_module import CharEncoder
from spacy_lstm_tagger.layers.shim import torch_modules

from .common import RESULTS, metadata
from .joint_render import recorded

RESULT_FILE = RESULTS / "partial_annotation.jsonl"
# The default's character encoder in the lines recorded before `char_init` was.
V1 = "spacy-lstm-tagger.CharEmbed.v1, N(0, 1)"
# spaCy's PARTIAL_DATA, as in its tagger tests.
PARTIAL_DATA = [
    ("I like green eggs", {"tags": ["", "V", "J", ""]}),
    (
        "He hates green eggs",
        {"words": ["He", "hate", "s", "green", "eggs"], "tags": ["", "V", "S", "J", ""]},
    ),
]


def char_encoders(nlp) -> List[CharEncoder]:
    """RETURNS (List[CharEncoder]): The character encoders of the pipeline's tagger."""
    return torch_modules(nlp.get_pipe("lstm_tagger").model, CharEncoder)


def default_char_init() -> str:
    """RETURNS (str): The factory default's character encoder and its init scale."""
    nlp = spacy.blank("en")
    nlp.add_pipe("lstm_tagger")
    chars = nlp.config["components"]["lstm_tagger"]["model"]["tok2vec"]["chars"]
    return f"{chars['@architectures']}, init_scale {chars.get('init_scale', 'none (N(0, 1))')}"


def one_seed(seed: int, char_scale: float) -> Dict:
    """Train spaCy's partial-annotation setup once.

    seed (int): The seed of `spacy.util.fix_random_seed`.
    char_scale (float): Factor applied to the character embeddings after initialize.
    RETURNS (Dict): The last loss and the tags of "like" and "blue".
    """
    spacy.util.fix_random_seed(seed)
    nlp = spacy.blank("en")
    nlp.add_pipe("lstm_tagger")
    examples = [Example.from_dict(nlp.make_doc(text), ann) for text, ann in PARTIAL_DATA]
    optimizer = nlp.initialize(get_examples=lambda: examples)
    with torch.no_grad():
        for encoder in char_encoders(nlp):
            encoder.embed.weight.mul_(char_scale)
    for _ in range(50):
        losses: Dict[str, float] = {}
        nlp.update(examples, sgd=optimizer, losses=losses)
    doc = nlp("I like blue eggs")
    return {"loss": losses["lstm_tagger"], "like": doc[1].tag_, "blue": doc[2].tag_}


def section(path: Path = RESULT_FILE) -> Optional[str]:
    """RETURNS (Optional[str]): BENCHMARKS.md's section, or None without results."""
    if not path.exists():
        return None
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    metas = [line["meta"] for line in lines]
    rows = [
        f"| {line.get('char_init', V1)} | {line['char_scale']:g} | {line['seeds']} | "
        f"{line['failed']} | {', '.join(map(str, line['failed_seeds'])) or '-'} | "
        f"{line['max_loss']:.1e} |"
        for line in lines
    ]
    return "\n".join(
        [
            "## Partial annotation: spaCy's `test_incomplete_data`, over seeds",
            "",
            "spaCy's tagger test with two partly annotated sentences (one with misaligned "
            "words) and 50 updates, run with the default `lstm_tagger` once per seed. A seed "
            'fails when the last loss is not below 1e-5 or "I like blue eggs" is not '
            'tagged V for "like" and J for "blue". The scale multiplies the default\'s '
            "character embedding table after `initialize`: `CharEmbed.v2`'s init_scale 0.1 "
            "with scale 1 draws it as v1's with scale 0.1 does, from N(0, 0.01).",
            "",
            f"- commands: {recorded([m.get('command') for m in metas])}",
            f"- commits: {recorded([m.get('commit') for m in metas])}",
            f"- machines: {recorded([m.get('machine') for m in metas])}",
            "",
            "| default character encoder | scale | seeds | failed | failed seeds | "
            "largest last loss |",
            "|---|---|---|---|---|---|",
            *rows,
        ]
    )


def main(
    seeds: int = typer.Option(96, help="Seeds 0 .. N-1"),
    char_scale: List[float] = typer.Option([1.0], help="Character embedding scales to try"),
) -> None:
    """Count the seeds that fail, per character embedding scale."""
    for scale in char_scale:
        runs = [one_seed(seed, scale) for seed in range(seeds)]
        failed = [
            seed
            for seed, run in enumerate(runs)
            if not (run["loss"] < 1e-5 and run["like"] == "V" and run["blue"] == "J")
        ]
        line = {
            "char_scale": scale,
            "char_init": default_char_init(),
            "seeds": seeds,
            "failed": len(failed),
            "failed_seeds": failed,
            "max_loss": max(run["loss"] for run in runs),
            "blue_tags": sorted({run["blue"] for run in runs}),
            "meta": metadata("partial_annotation"),
        }
        print(json.dumps(line), flush=True)
        with RESULT_FILE.open("a") as file:
            file.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    typer.run(main)
