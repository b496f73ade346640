"""Training steps per second of the joint model on EWT train, one torch thread: the packed
path against the fast path (`paths.reference_paths`), with the batcher's shipped buffer
and a larger one. Writes benchmarks/results/train_steps/DATE.json (BENCHMARKS.md shows the
latest) and prints the table.

    OMP_NUM_THREADS=1 python -m benchmarks.train_steps    # idle machine, minutes

`configs/ewt_joint.cfg` is initialized on EWT train (the converted corpus of WORK). Each
variant trains the same pipeline from the same weights on the same first STEPS batches
of one shuffled epoch (its buffer's batches), as `spacy train` does: `nlp.update` with
the config's dropout and optimizer. Rounds are interleaved, and the median counts. Tokens
per second is the figure to compare: a larger buffer puts more tokens in a batch of the
same padded size.
"""

import copy
import random
import statistics
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Dict, List, Optional

import typer

from .common import RESULTS, ROOT, WORK, convert, latest_json, metadata, write_json
from .joint_render import how

RESULT_DIR = RESULTS / "train_steps"
STEPS = 60
BUFFERS = (256, 2048)
PATHS = ("packed", "fast")


def batches_of(nlp, examples: List, buffer: int, seed: int) -> List[List]:
    """RETURNS (List[List]): The first STEPS batches of one epoch, shuffled with `seed`,
    by the config's batcher with this buffer."""
    from spacy import util

    config = copy.deepcopy(nlp.config["training"]["batcher"])
    config["buffer"] = buffer
    batcher = util.registry.resolve({"b": config})["b"]
    shuffled = list(examples)
    random.Random(seed).shuffle(shuffled)
    return list(batcher(shuffled))[:STEPS]


def time_steps(nlp, batches: List[List], path: str) -> Dict[str, float]:
    """Train on the batches (dropout and optimizer of the config); RETURNS seconds per
    step and tokens per second."""
    from spacy import util

    from spacy_lstm_tagger import reference_paths

    optimizer = util.registry.resolve({"o": nlp.config["training"]["optimizer"]})["o"]
    dropout = float(nlp.config["training"]["dropout"])
    context = reference_paths() if path == "packed" else nullcontext()
    tokens = sum(len(eg) for batch in batches for eg in batch)
    with context:
        start = time.perf_counter()
        for batch in batches:
            nlp.update(batch, drop=dropout, sgd=optimizer)
        seconds = time.perf_counter() - start
    return {"s_per_step": seconds / len(batches), "tokens_per_s": tokens / seconds}


def measure(work: Path, repeats: int) -> Dict[str, Dict[str, float]]:
    """RETURNS (Dict[str, Dict[str, float]]): Per variant ("PATH, buffer N"): the median
    seconds per step and tokens per second, and tokens per step."""
    import torch
    from spacy import util
    from spacy.training import Corpus
    from spacy.training.initialize import init_nlp

    torch.set_num_threads(1)
    corpus = convert("ewt", work / "corpus" / "ewt", splits=("train", "dev"))
    overrides = {"paths.train": str(corpus["train"]), "paths.dev": str(corpus["dev"])}
    config = util.load_config(ROOT / "configs" / "ewt_joint.cfg", overrides=overrides)
    nlp = init_nlp(config)
    examples = list(Corpus(corpus["train"], gold_preproc=True)(nlp))
    weights = nlp.to_bytes()
    batches = {buffer: batches_of(nlp, examples, buffer, seed=0) for buffer in BUFFERS}
    runs: Dict[str, List[Dict[str, float]]] = {}
    for _ in range(repeats):
        for buffer in BUFFERS:
            for path in PATHS:
                nlp.from_bytes(weights)  # every variant starts from the same weights
                name = f"{path}, buffer {buffer}"
                runs.setdefault(name, []).append(time_steps(nlp, batches[buffer], path))
                print(name, runs[name][-1], flush=True)
    out = {}
    for name, results in runs.items():
        buffer = int(name.rsplit(" ", 1)[1])
        tokens = sum(len(eg) for batch in batches[buffer] for eg in batch) / STEPS
        out[name] = {
            "s_per_step": statistics.median(r["s_per_step"] for r in results),
            "tokens_per_s": statistics.median(r["tokens_per_s"] for r in results),
            "tokens_per_step": tokens,
        }
    return out


def table(results: Dict[str, Dict[str, float]]) -> str:
    """RETURNS (str): One row per variant, and its tokens/s against packed, buffer 256."""
    base = results.get(f"packed, buffer {BUFFERS[0]}", {}).get("tokens_per_s")
    rows = [
        "| variant | ms per step | tokens per step | tokens/s | × packed, buffer 256 |",
        "|---|---|---|---|---|",
    ]
    for name, r in results.items():
        ratio = f"{r['tokens_per_s'] / base:.2f}×" if base else ""
        cells = [name, f"{1000 * r['s_per_step']:.0f}", f"{r['tokens_per_step']:,.0f}"]
        rows.append("| " + " | ".join([*cells, f"{r['tokens_per_s']:,.0f}", ratio]) + " |")
    return "\n".join(rows)


def section(runs: Path = RESULT_DIR) -> Optional[str]:
    """RETURNS (Optional[str]): The `train-steps` section of BENCHMARKS.md from the latest
    result file; None without one."""
    data = latest_json(runs)
    if data is None:
        return None
    meta = data["meta"]
    return "\n".join(
        [
            "## Training steps: packed and fast paths, EWT train\n",
            "`configs/ewt_joint.cfg` initialized on EWT train; each variant trains the same "
            f"weights on the first {meta.get('steps', STEPS)} batches of one shuffled epoch "
            "(`nlp.update`, the config's dropout and optimizer), one torch thread, rounds "
            f"interleaved, median of {meta.get('repeats', '?')}. packed: "
            "`reference_paths()`; fast: the default at one thread. buffer: the batcher's "
            "`buffer` (docs sorted by length before they are cut into batches of 2,000 padded "
            "tokens).\n",
            f"- {how([meta])}\n",
            table(data["results"]),
        ]
    )


def main(
    work: Path = typer.Option(WORK / "train_steps", help="Scratch folder"),
    repeats: int = typer.Option(3, help="Interleaved rounds (median)"),
) -> None:
    """Time training steps of every variant into RESULT_DIR/DATE.json."""
    results = measure(work, repeats)
    meta = {**metadata("train_steps"), "repeats": repeats, "steps": STEPS, "threads": 1}
    stamp = time.strftime("%Y%m%d-%H%M%S")
    write_json(RESULT_DIR / f"{stamp}.json", {"meta": meta, "results": results})
    print(table(results))


if __name__ == "__main__":
    typer.run(main)
