"""Write the demo corpus shipped in spacy_lstm_tagger/data/demo_corpus.jsonl.

The sentences come from a small hand-written grammar and lexicon (no treebank
text), each word with its Universal POS tag and Penn Treebank tag. Run from the
repository root: `python scripts/make_demo_corpus.py`. The output is
deterministic, so rerunning it leaves the file unchanged.
"""

import json
import random
from pathlib import Path

OUTPUT = Path(__file__).parent.parent / "spacy_lstm_tagger" / "data" / "demo_corpus.jsonl"
N_SENTENCES = 800

NOUNS = (
    "dog cat boy girl teacher farmer child bird horse doctor apple book letter song car house "
    "garden river cake ball watch paint saw train window city friend pencil table kitten "
    "baker singer painter lemon banana chair bottle story"
).split()
PLURALS = {n: n + "s" for n in NOUNS}
PLURALS.update({"child": "children", "watch": "watches", "city": "cities", "story": "stories"})
ADJS = "big small red happy old young quiet green tired clever".split()
PAST = (
    "ate saw liked found wrote bought watched painted carried opened cleaned visited "
    "helped pushed cooked wanted"
).split()
PRESENT = (
    "eats sees likes finds writes buys watches paints carries opens cleans visits helps trains"
).split()
GERUNDS = "running sleeping singing reading walking laughing cooking painting jumping".split()
ADVS = "quickly slowly happily quietly often loudly badly".split()
PREPS = "in on near with under behind".split()
NAMES = "Mary John Anna Peter Lucy Tom Sarah David Emma Paul".split()
PRONOUNS = [("he", "PRP"), ("she", "PRP"), ("they", "PRP"), ("we", "PRP"), ("I", "PRP")]


def noun_phrase(rng: random.Random):
    """A determiner, maybe an adjective, and a singular or plural noun."""
    noun = rng.choice(NOUNS)
    if rng.random() < 0.3:
        words = [(rng.choice(["the", "some"]), "DET", "DT"), (PLURALS[noun], "NOUN", "NNS")]
    else:
        determiner = rng.choice(["the", "a", "this", "that", "every"])
        words = [(determiner, "DET", "DT"), (noun, "NOUN", "NN")]
    if rng.random() < 0.4:
        words.insert(1, (rng.choice(ADJS), "ADJ", "JJ"))
    return words


def subject(rng: random.Random):
    """A noun phrase, a name or a pronoun."""
    roll = rng.random()
    if roll < 0.2:
        return [(rng.choice(NAMES), "PROPN", "NNP")]
    if roll < 0.35:
        word, tag = rng.choice(PRONOUNS)
        return [(word, "PRON", tag)]
    return noun_phrase(rng)


def sentence(rng: random.Random):
    """One sentence from one of four patterns."""
    pattern = rng.randrange(4)
    words = subject(rng)
    if pattern == 0:
        words += [(rng.choice(PAST), "VERB", "VBD")] + noun_phrase(rng)
    elif pattern == 1:
        words += [(rng.choice(PRESENT), "VERB", "VBZ")] + noun_phrase(rng)
        words += [(rng.choice(PREPS), "ADP", "IN")] + noun_phrase(rng)
    elif pattern == 2:
        words += [("was", "AUX", "VBD"), (rng.choice(GERUNDS), "VERB", "VBG")]
        words += [(rng.choice(ADVS), "ADV", "RB")]
    else:
        words += [(rng.choice(PAST), "VERB", "VBD")] + noun_phrase(rng)
        words += [(",", "PUNCT", ","), (rng.choice(["and", "but"]), "CCONJ", "CC")]
        words += subject(rng) + [(rng.choice(PAST), "VERB", "VBD")] + noun_phrase(rng)
    words.append((".", "PUNCT", "."))
    first, upos, xpos = words[0]
    if upos not in ("PROPN",) and first != "I":
        words[0] = (first.capitalize(), upos, xpos)
    return words


def main() -> None:
    rng = random.Random(0)
    with OUTPUT.open("w", encoding="utf8") as file_:
        for _ in range(N_SENTENCES):
            words = sentence(rng)
            record = {
                "words": [w for w, _, _ in words],
                "pos": [p for _, p, _ in words],
                "tags": [t for _, _, t in words],
            }
            file_.write(json.dumps(record) + "\n")
    print(f"Wrote {N_SENTENCES} sentences to {OUTPUT}")


if __name__ == "__main__":
    main()
