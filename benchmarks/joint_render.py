"""The Markdown of joint.py, every figure read from the result files: a treebank's
table, which differences are larger than the seeds' spread, whether the targets are met,
and the README's summary table."""

import json
import statistics
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

from .common import RESULTS
from .joint_measure import RESTRICTED as RESTRICTED_SUFFIX
from .systems import (
    SCHEDULE_SYSTEMS,
    SHAPE_SYSTEMS,
    SHIPPED_TRAININGS,
    SYSTEMS,
    TITLES,
    step_budget,
)

JOINT = RESULTS / "joint"

# Column label, result key, format, and the scale of the value (accuracies in %).
ACCURACIES = [
    ("UPOS", "upos_acc", "{:.2f}", 100),
    ("XPOS", "xpos_acc", "{:.2f}", 100),
    ("FEATS", "feats_acc", "{:.2f}", 100),
    ("AllTags", "alltags_acc", "{:.2f}", 100),
]
COLUMNS = [
    *ACCURACIES,
    *((f"OOV {label}", f"oov_{key}", fmt, scale) for label, key, fmt, scale in ACCURACIES),
    ("UPOS+FEATS seen in train", "seen_pair_acc", "{:.2f}", 100),
    ("words/s (1 thread)", "words_per_second", "{:,.0f}", 1),
    ("train s to best dev", "train_seconds", "{:,.0f}", 1),
    ("disk MB", "disk_mb", "{:.1f}", 1),
]
# The systems that lstm_joint is compared with, attribute by attribute.
RIVALS = ("spacy_pair", "lstm_upos", "lstm_xpos")
# lstm_joint's models scored again with FEATS restricted to those seen with the UPOS.
RESTRICTED = "lstm_joint" + RESTRICTED_SUFFIX
# Per attribute: its label, result key, spaCy's systems that write it, and our
# single-target system for it (None: there is none).
TARGETS: List[Tuple[str, str, Tuple[str, ...], Optional[str]]] = [
    ("UPOS", "upos_acc", ("spacy_pair", "spacy_morphologizer"), "lstm_upos"),
    ("XPOS", "xpos_acc", ("spacy_pair", "spacy_tagger"), "lstm_xpos"),
    ("FEATS", "feats_acc", ("spacy_pair", "spacy_morphologizer"), None),
]


def with_restricted(runs: Dict[str, List[Dict]]) -> Dict[str, List[Dict]]:
    """RETURNS (Dict[str, List[Dict]]): The runs, plus a row of lstm_joint's scores with
    FEATS restricted by UPOS, where the result files have them ("restricted")."""
    restricted = [r["restricted"] for r in runs.get("lstm_joint", []) if "restricted" in r]
    out = dict(runs)
    if restricted:
        out[RESTRICTED] = restricted
    return out


def values_of(results: List[Dict], key: str, scale: float = 100) -> List[float]:
    """RETURNS (List[float]): Each seed's value of `key`, scaled."""
    return [r[key] * scale for r in results if key in r]


def cell(values: List[float], fmt: str) -> str:
    """RETURNS (str): The mean of the values, ± their sd when there are several."""
    if not values:
        return ""
    text = fmt.format(statistics.mean(values))
    if len(values) > 1:
        text += " ± " + fmt.format(statistics.stdev(values))
    return text


def table(runs: Dict[str, List[Dict]], speeds: Dict[str, float]) -> str:
    """RETURNS (str): One row per system: mean ± sd over its seeds, and its speed."""
    head = "| system | seeds | " + " | ".join(c[0] for c in COLUMNS) + " |"
    rows = [head, "|" + "---|" * (len(COLUMNS) + 2)]
    for name, results in with_restricted(runs).items():
        cells = []
        for _, key, fmt, scale in COLUMNS:
            if key == "words_per_second":
                values = [speeds[name]] if name in speeds else []
            else:
                values = values_of(results, key, scale)
            cells.append(cell(values, fmt))
        rows.append(f"| {shown_name(name, results)} | {len(results)} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def shown_name(name: str, results: List[Dict]) -> str:
    """RETURNS (str): A system's name in the table, with how many of its seeds stopped
    before their training's end: by joint.py's --time-cap (they may not have converged),
    or by patience before the step where their schedule ends (the rate still high)."""
    notes = []
    capped = sum(r.get("stopped_by") == "time_cap" for r in results)
    if capped:
        notes.append(f"{capped} stopped by the time cap")
    budget = step_budget(name) if name in SYSTEMS else None
    if budget:  # without a step budget, patience is how a training ends
        ran = [r for r in results if r.get("stopped_by") != "time_cap"]
        early = [r["last_step"] for r in ran if r.get("last_step", budget) < budget]
        if early:
            steps = ", ".join(f"{step:,}" for step in early)
            notes.append(f"patience stopped {len(early)} at {steps} of {budget:,} steps")
    return f"{name} ({'; '.join(notes)})" if notes else name


def mean_gap(first: List[float], second: List[float]) -> Tuple[float, float]:
    """RETURNS (Tuple[float, float]): The mean of `first` minus that of `second`, and the
    sum of their seed sds (a side with one seed adds none)."""
    spread = sum(statistics.stdev(s) for s in (first, second) if len(s) > 1)
    return statistics.mean(first) - statistics.mean(second), spread


def difference(runs: Dict[str, List[Dict]], key: str, other: str) -> Optional[str]:
    """RETURNS (Optional[str]): lstm_joint minus `other` on `key`, in points, and whether
    it is larger than the sum of their seed sds (a system with one seed has none); None
    if one of them does not write the attribute."""
    sides = [values_of(runs.get(n, []), key) for n in ("lstm_joint", other)]
    if not all(sides):
        return None
    gap, sds = mean_gap(*sides)
    text = f"vs {other} {gap:+.2f} points"
    single = [n for n, s in zip(("lstm_joint", other), sides) if len(s) == 1]
    if len(single) == 2:
        return text + " (one seed each: no sd to judge it by)"
    text += f", {'larger' if abs(gap) > sds else 'not larger'} than the sum of seed sds {sds:.2f}"
    return text + (f" ({single[0]}: one seed, no sd)" if single else "")


def converged_lines(names: Iterable[str], joint: Path = JOINT) -> List[str]:
    """RETURNS (List[str]): For each system named that the joint benchmark trained to
    convergence on EWT (its rows are in the joint-ewt table), lstm_joint's difference on
    test, per attribute; empty if none has results."""
    runs = load_runs(joint / "ewt")
    lines = []
    for name in (n for n in names if n in runs):
        parts = [difference(runs, key, name) for _, key, _, _ in ACCURACIES]
        lines += [f"- {a[0]}, lstm_joint {d}." for a, d in zip(ACCURACIES, parts) if d]
    if lines:
        lines.insert(0, "\nTrained to convergence (EWT test, the joint benchmark's rows):\n")
    return lines


def accuracy_held(runs: Dict[str, List[Dict]], name: str) -> Optional[Tuple[bool, str]]:
    """Whether a system keeps lstm_joint's test accuracy, the throughput issue's condition
    on a faster shape or training: on UPOS, XPOS and FEATS its seed mean is no lower than
    lstm_joint's by more than the sum of their seed sds (a system with one seed has none).

    runs (Dict[str, List[Dict]]): joint.py's EWT runs.
    name (str): The system.
    RETURNS (Optional[Tuple[bool, str]]): Held or not, and each attribute's difference
        with that sum; None without results of both.
    """
    if not runs.get(name) or not runs.get("lstm_joint"):
        return None
    held, parts = True, []
    for label, key, _, _ in ACCURACIES[:3]:
        diff, spread = mean_gap(*(values_of(runs[n], key) for n in (name, "lstm_joint")))
        held = held and diff >= -spread
        parts.append(f"{label} {diff:+.2f} (sds {spread:.2f})")
    word = "held" if held else "**not held**"
    return held, f"accuracy {word} against lstm_joint: " + ", ".join(parts)


def comparisons(runs: Dict[str, List[Dict]]) -> str:
    """RETURNS (str): A line per attribute: is lstm_joint's difference to spacy_pair and
    to our single-target systems larger than the sum of their seed sds?"""
    lines = []
    for label, key, _, _ in ACCURACIES:
        parts = [d for d in (difference(runs, key, o) for o in RIVALS) if d]
        if parts:
            lines.append(f"- {label}, lstm_joint " + "; ".join(parts) + ".")
    return "\n".join(lines) or "- none yet: lstm_joint or its rivals have no results"


def mean_of(runs: Dict[str, List[Dict]], name: str, key: str) -> Optional[float]:
    """RETURNS (Optional[float]): The seed mean of a system's `key` in %, None if missing."""
    values = values_of(runs.get(name, []), key)
    return statistics.mean(values) if values else None


def verdict(ours: float, base: float, margin: float, name: str) -> str:
    """RETURNS (str): "met" or "missed": lstm_joint's mean against `name`'s + `margin`."""
    needed = base + margin
    word = "met" if ours >= needed else "**missed**"
    plus = f" + {margin}" if margin else ""
    return (
        f"{word}: {ours:.2f} against {needed:.2f} ({name} {base:.2f}{plus}), {ours - needed:+.2f}"
    )


def accuracy_targets(runs: Dict[str, List[Dict]]) -> List[str]:
    """RETURNS (List[str]): Per attribute, lstm_joint's seed mean against our
    single-target system and against the better spaCy system + 0.5."""
    lines = []
    for label, key, spacy_names, own in TARGETS:
        joint = mean_of(runs, "lstm_joint", key)
        if joint is None:
            continue
        own_mean = mean_of(runs, own, key) if own else None
        if own_mean is not None:
            lines.append(f"- {label} ≥ {own}: " + verdict(joint, own_mean, 0, own))
        found = [(mean_of(runs, n, key), n) for n in spacy_names if mean_of(runs, n, key)]
        if found:
            best, name = max(found)
            lines.append(f"- {label} ≥ best spaCy + 0.5: " + verdict(joint, best, 0.5, name))
    return lines


def targets(runs: Dict[str, List[Dict]], speeds: Dict[str, float]) -> str:
    """The targets on this treebank, met or missed, on seed means; a target whose
    systems have no result yet is left out and named.

    runs (Dict[str, List[Dict]]): Per system, the result of each seed.
    speeds (Dict[str, float]): Words/s of each system's seed-0 model.
    RETURNS (str): A Markdown list.
    """
    lines = accuracy_targets(runs)
    if "lstm_joint" in speeds and "spacy_pair" in speeds:
        for name in ("lstm_joint", "lstm_joint, bfloat16"):
            if name in speeds:
                ratio = speeds[name] / speeds["spacy_pair"]
                word = "met" if ratio >= 2 else "**missed**"
                lines.append(f"- words/s ≥ 2× spacy_pair, {name}: {word}: {ratio:.2f}×")
    joint = mean_of(runs, "lstm_joint", "feats_acc")
    spacy = mean_of(runs, "spacy_morphologizer", "feats_acc")
    if joint is not None and spacy is not None:
        text = verdict(joint, spacy, 0.5, "spacy_morphologizer")
        lines.append("- FEATS ≥ spacy_morphologizer + 0.5: " + text)
    missing = [n for n in ("lstm_joint", "spacy_pair", *RIVALS[1:]) if n not in runs]
    if missing:
        lines.append(f"- not judged yet: no results for {', '.join(missing)}")
    return "\n".join(lines)


# What each result file records of how it was made, in the order the sections show it.
PROVENANCE = ("commit", "date", "machine", "command")


def recorded(values: List[object]) -> str:
    """RETURNS (str): The distinct values, each in backticks, or "not recorded"."""
    found = sorted({str(v) for v in values if v not in (None, "")})
    missing = sum(v in (None, "") for v in values)
    text = ", ".join(f"`{v}`" for v in found)
    if missing:
        text += ("; " if text else "") + "not recorded" + (f" for {missing}" if found else "")
    return text


def provenance_lines(meta: Dict) -> List[str]:
    """RETURNS (List[str]): One Markdown list line per provenance key of one result file
    (commit, date, machine, command), "not recorded" where it has none."""
    return [f"- {key}: {recorded([meta.get(key)])}" for key in PROVENANCE]


def how(metas: List[Dict]) -> str:
    """RETURNS (str): The commits, dates, machines and commands the result files record."""
    keys = PROVENANCE
    return "; ".join(f"{k}: {recorded([m.get(k) for m in metas])}" for k in keys)


def speed_line(meta: Dict) -> str:
    """RETURNS (str): How, when and where the speeds were measured (speed.json's meta)."""
    if not meta:
        return "- speed: not measured yet"
    return (
        f"- speed: {meta['date']}, commit {recorded([meta.get('commit')])}, machine "
        f"{recorded([meta.get('machine')])}, command {recorded([meta.get('command')])}; one "
        f"torch thread, `nlp.pipe(batch_size=1000)`, median of {meta['repeats']} rounds after "
        "a warm-up, seed 0 models"
    )


def meta_lines(runs: Dict[str, List[Dict]]) -> List[str]:
    """RETURNS (List[str]): Commits, dates, machines and commands of the result files."""
    metas = [r["meta"] for results in runs.values() for r in results]
    dates = sorted(m["date"] for m in metas)
    lines = [
        f"- commits: {recorded([m.get('commit') for m in metas])}; "
        f"results from {dates[0]} to {dates[-1]}",
        f"- machine: {recorded([m.get('machine') for m in metas])}",
        f"- commands: {recorded([m.get('command') for m in metas])}",
        f"- training overrides: {recorded([m.get('training_overrides') for m in metas])}; "
        f"quick: {recorded([m.get('quick') for m in metas])}",
    ]
    rescored: Dict[str, List[str]] = {}
    for m in metas:
        if "rescored" in m:
            date, commit = m["rescored"].rsplit(", ", 1)
            rescored.setdefault(commit, []).append(date)
    for commit, dates in sorted(rescored.items()):
        lines.append(
            f"- scored again on test (`--rescore`): {len(dates)} result files, "
            f"{min(dates)} to {max(dates)}, commit `{commit}`"
        )
    return lines


ABOUT = (
    "Our joint tagger (`lstm_joint`: UPOS, XPOS and FEATS from one network) against "
    "spaCy's `tagger` and `morphologizer` sharing one `tok2vec` (`spacy_pair`, as "
    "`en_core_web_sm` is built), and against single-target systems, ours and spaCy's. "
    "Each system trains with `spacy train` to convergence (patience on dev, no epoch cap), "
    "gold tokens, one thread, and its model-best is scored once on test. Rows with several "
    "seeds give mean ± sd; the lines below the table say which differences are larger "
    "than the seeds' spread, and which targets are met."
)


def section(title: str, runs: Dict[str, List[Dict]], speed_file: Path) -> str:
    """The Markdown section of a treebank, every figure read from the result files.

    title (str): The section's heading.
    runs (Dict[str, List[Dict]]): Per system, the result of each seed.
    speed_file (Path): The speed results (may not exist yet).
    RETURNS (str): The section.
    """
    timed = json.loads(speed_file.read_text()) if speed_file.exists() else {}
    speeds = timed.get("words_per_second", {})
    lines = [
        f"## {title}, test set, gold tokenization\n",
        ABOUT + "\n",
        *meta_lines(runs),
        speed_line(timed.get("meta", {})),
        "- mean ± sd over seeds; accuracies in %; AllTags: UPOS, XPOS and FEATS all right; "
        "UPOS+FEATS seen in train: the share of tokens whose predicted UPOS and FEATS occur "
        "together in the training corpus (the others contradict their UPOS)\n",
        table(runs, speeds),
        "",
        "Differences of lstm_joint's seed mean:\n",
        comparisons(runs),
        "",
        "Targets (seed means):\n",
        targets(runs, speeds),
    ]
    return "\n".join(lines)


def load_runs(results: Path) -> Dict[str, List[Dict]]:
    """RETURNS (Dict[str, List[Dict]]): Per system (SYSTEMS order), each seed's result."""
    runs: Dict[str, List[Dict]] = {}
    for name in SYSTEMS:
        files = sorted(results.glob(f"{name}_s*.json"))
        if files:
            runs[name] = [json.loads(path.read_text()) for path in files]
    return runs


def load_speeds(results: Path) -> Dict[str, float]:
    """RETURNS (Dict[str, float]): The words/s of each timed system, if measured."""
    speed_file = results / "speed.json"
    return json.loads(speed_file.read_text())["words_per_second"] if speed_file.exists() else {}


def treebank_section(treebank: str, results: Optional[Path] = None) -> Optional[str]:
    """RETURNS (Optional[str]): The `joint-TREEBANK` section from the treebank's result
    folder (default: benchmarks/results/joint/TREEBANK), None without result files."""
    results = results or JOINT / treebank
    runs = load_runs(results)
    return section(TITLES[treebank], runs, results / "speed.json") if runs else None


def readme_summary(joint: Path = JOINT) -> str:
    """RETURNS (str): The README's `joint-summary` table, of every treebank with results."""
    folders = [joint / name for name in TITLES if (joint / name).exists()]
    by_treebank = {f.name: (load_runs(f), load_speeds(f)) for f in folders if load_runs(f)}
    return summary_table(by_treebank)


def summary_table(by_treebank: Dict[str, Tuple[Dict[str, List[Dict]], Dict[str, float]]]) -> str:
    """The README's table: every system on each treebank with results (but the shapes
    and schedules that the frontier and train_time train to convergence, which
    BENCHMARKS.md shows, other than the shipped configs' schedules), and lstm_joint
    with FEATS restricted by UPOS (as the joint configs decode).

    by_treebank (Dict[str, Tuple[Dict[str, List[Dict]], Dict[str, float]]]): Per treebank
        name, its runs and speeds.
    RETURNS (str): A Markdown table, means ± sd over seeds.
    """
    keys = ACCURACIES
    head = "| treebank | system | seeds | " + " | ".join(c[0] for c in keys) + " | words/s |"
    rows = [head, "|" + "---|" * (len(keys) + 4)]
    for treebank, (runs, speeds) in by_treebank.items():
        for name, results in with_restricted(runs).items():
            if name in SHAPE_SYSTEMS or (
                name in SCHEDULE_SYSTEMS and name not in SHIPPED_TRAININGS
            ):
                continue
            cells = [cell(values_of(results, key, scale), fmt) for _, key, fmt, scale in keys]
            speed = f"{speeds[name]:,.0f}" if name in speeds else ""
            row = [treebank, name, str(len(results)), *cells, speed]
            rows.append("| " + " | ".join(row) + " |")
    return "\n".join(rows)
