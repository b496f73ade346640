"""FLOPs per token, the machine's GEMM peak, and the speed tables, for speed.py."""

import time
from typing import Dict, List

import spacy
import torch
from torch import nn

from spacy_lstm_tagger.layers.shim import torch_modules
from spacy_lstm_tagger.layers.torch_module import RecurrentTagger

GATES = {nn.LSTM: 4, nn.GRU: 3}
# The speed columns, in order: (clock, threads) as speed.py stores them.
CLOCKS = ("words_per_cpu_second_1t", "words_per_wall_second_1t", "words_per_wall_second_2t")


def rnn_flops(rnn: nn.RNNBase) -> int:
    """Multiply-adds x 2 per token of a (stacked, maybe bidirectional) LSTM or GRU:
    each layer and direction multiplies its input and its state by its gate weights."""
    gates = GATES[type(rnn)] * rnn.hidden_size
    directions = 2 if rnn.bidirectional else 1
    total = 0
    for layer in range(rnn.num_layers):
        n_in = rnn.input_size if layer == 0 else rnn.hidden_size * directions
        total += directions * 2 * gates * (n_in + rnn.hidden_size)
    return total


def flops_per_token(nlp: spacy.Language) -> int:
    """FLOPs per token of the recurrent taggers' encoders and output layers, counted
    from the layer sizes. The character encoder runs once per new form at inference
    (its vectors are cached), and hash embeddings are sums, not products: both left out.

    RETURNS (int): The FLOPs; 0 for a pipeline without our tagger.
    """
    total = 0
    for _, pipe in nlp.components:
        for module in torch_modules(pipe.model, RecurrentTagger) if hasattr(pipe, "model") else []:
            if module.is_built:
                rnns = [m for m in module.encoder.modules() if type(m) in GATES]
                total += sum(rnn_flops(rnn) for rnn in rnns)
                total += 2 * module.output.in_features * module.output.out_features
    return total


def gemm_peak(threads: int, n: int = 2048, repeats: int = 10) -> Dict[str, float]:
    """The best GFLOP/s of an n x n matrix product, float32 and bfloat16.

    threads (int): Torch threads.
    RETURNS (Dict[str, float]): GFLOP/s per dtype.
    """
    torch.set_num_threads(threads)
    peaks = {}
    for name, dtype in (("float32", torch.float32), ("bfloat16", torch.bfloat16)):
        a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
        torch.mm(a, b)
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            torch.mm(a, b)
            best = min(best, time.perf_counter() - start)
        peaks[name] = round(2 * n**3 / best / 1e9, 1)
    return peaks


ABOUT = (
    "Our UPOS and XPOS taggers (`configs/ewt_upos.cfg`, `configs/ewt_xpos.cfg`) against "
    "spaCy's CNN `tagger`, its tagger and morphologizer on one `tok2vec`, and its `tagger` "
    "with spaCy's own BiLSTM encoder, each trained briefly (speed does not depend on how "
    "long a model trained), timed in one process with the systems and precisions "
    "interleaved. `reference` is float32 with our fast paths off, `bfloat16` the opt-in "
    "precision. The GFLOP/s column counts the recurrent layers' multiply-adds from the "
    "layer sizes and compares them with the same run's measured matrix-product peak. This "
    "machine's speed varies between runs, so every run is kept and only ratios within one "
    "run compare."
)


def short_commit(commit: str) -> str:
    """RETURNS (str): The commit's first 7 characters, with its '+dirty' if recorded."""
    return commit[:7] + ("+dirty" if commit.endswith("+dirty") else "")


def distinct(runs: List[Dict], key: str) -> str:
    """RETURNS (str): The runs' distinct values of a meta key, "not recorded" if none."""
    values = sorted({str(run["meta"][key]) for run in runs if run["meta"].get(key)})
    return ", ".join(f"`{v}`" for v in values) or "not recorded"


def speed_table(results: Dict) -> str:
    """RETURNS (str): The Markdown section: one row per system and precision."""
    meta = results["meta"]
    base = {key: results["spacy_tagger"]["float32"][key] for key in CLOCKS}
    rows: List[str] = [
        "## Speed: words per second on a CPU (EWT test, gold tokens, batch 1000)\n",
        ABOUT + "\n",
        "The latest run:\n",
        f"- command: `{meta['command']}`\n- commit: `{meta['commit']}`",
        f"- date: {meta['date']}\n- machine: {meta['machine']}, torch {meta['torch']}",
        f"- measured GEMM peak (2048 x 2048): {gemm_text(meta['gemm_peak_gflops'])}",
        f"- each system trained {meta['train_steps']} steps; accuracy is on EWT test\n",
        "| system | precision | accuracy | words/s 1 thread, CPU time | x spaCy tagger | "
        "words/s 1 thread, wall | x spaCy tagger | words/s 2 threads, wall | "
        "x spaCy tagger | GFLOP/s (1 thread, CPU time; share of peak) | peak RSS MB | "
        "n_process=2 vs 1, wall |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, res in results.items():
        if name == "meta":
            continue
        for variant in ("reference", "float32", "bfloat16"):
            if variant in res:
                rows.append(row(name, variant, res, base, meta["gemm_peak_gflops"]))
    return "\n".join(rows)


def gemm_text(peaks: Dict) -> str:
    """RETURNS (str): The GEMM peaks, e.g. "1 thread: float32 90 ..."."""
    return "; ".join(
        f"{t[0]} thread{'s' if t[0] != '1' else ''}: "
        + ", ".join(f"{d} {v:,.0f} GFLOP/s" for d, v in p.items())
        for t, p in peaks.items()
    )


def row(name: str, variant: str, res: Dict, base: Dict, peaks: Dict) -> str:
    """RETURNS (str): One table row."""
    v = res[variant]
    acc = ", ".join(f"{k.split('_')[0]} {x:.2%}" for k, x in v["accuracy"].items())
    speeds = "".join(f"{v[key]:,.0f} | {v[key] / base[key]:.2f} | " for key in CLOCKS)
    flops = res["flops_per_token"]
    dtype = "bfloat16" if variant == "bfloat16" else "float32"
    if flops:
        gflops = flops * v[CLOCKS[0]] / 1e9
        share = f"{gflops:.1f} ({gflops / peaks['1t'][dtype]:.0%})"
    else:
        share = ""
    multi = ""
    if variant == "float32" and "n_process=2" in res:
        multi = f"{res['n_process=2']:,.0f} vs {res['n_process=1']:,.0f}"
    return f"| {name} | {variant} | {acc} | {speeds}{share} | {res['peak_rss_mb']:,.0f} | {multi} |"


def history_table(runs: List[Dict]) -> str:
    """RETURNS (str): Each recorded run's words/s ratios to spaCy's tagger, one row
    per run: 1 thread (CPU time) and 2 threads (wall), float32 and bfloat16."""
    ours = [name for name in runs[-1] if name.startswith("lstm_tagger")]
    head = ["date", "commit", "spaCy tagger words/s (1t)"] + [
        f"{name} {variant} x spaCy (1t / 2t)"
        for name in ours
        for variant in ("float32", "bfloat16")
    ]
    rows = [
        "### Every recorded run: speed relative to spaCy's tagger\n",
        "- commands: " + distinct(runs, "command"),
        "- machines: " + distinct(runs, "machine") + "\n",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for run in runs:
        base = run["spacy_tagger"]["float32"]
        cells = [
            run["meta"]["date"],
            short_commit(run["meta"]["commit"]),
            f"{base[CLOCKS[0]]:,.0f}",
        ]
        for name in ours:
            for variant in ("float32", "bfloat16"):
                v = run.get(name, {}).get(variant)
                cells.append(
                    f"{v[CLOCKS[0]] / base[CLOCKS[0]]:.2f} / {v[CLOCKS[2]] / base[CLOCKS[2]]:.2f}"
                    if v
                    else ""
                )
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)
