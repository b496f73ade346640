"""The error report's pictures: a confusion matrix and per-label F1 bars.

matplotlib is optional (the `report` extra), so it is imported only when drawing, and the
figures are drawn on the Agg canvas without pyplot, leaving the caller's backend alone.
"""

from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import numpy

from ..errors import Errors

DPI = 120


def require_matplotlib() -> Tuple[Any, Any]:
    """Import matplotlib's Figure and Agg canvas, or say how to install it.

    RETURNS (Tuple[Any, Any]): The `Figure` and `FigureCanvasAgg` classes.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as err:
        raise ImportError(Errors.E215) from err
    return Figure, FigureCanvasAgg


def _new_figure(width: float, height: float) -> Tuple[Any, Any]:
    """A figure on an Agg canvas and its axes."""
    figure_class, canvas_class = require_matplotlib()
    figure = figure_class(figsize=(width, height))
    canvas_class(figure)
    return figure, figure.subplots()


def plot_confusion(labels: Sequence[str], counts: Sequence[Sequence[int]], path: Path) -> None:
    """Draw a confusion matrix, coloured by each row's share and annotated with counts.

    labels (Sequence[str]): Row (gold) and column (predicted) labels.
    counts (Sequence[Sequence[int]]): counts[i][j]: tokens of gold labels[i] tagged labels[j].
    path (Path): The PNG file to write.
    """
    matrix = numpy.asarray(counts, dtype="float64")
    totals = matrix.sum(axis=1, keepdims=True)
    shares = numpy.divide(matrix, totals, out=numpy.zeros_like(matrix), where=totals > 0)
    size = max(5.0, 0.42 * len(labels) + 2.0)
    # Room for long tick labels (whole FEATS strings), which would squeeze the matrix.
    margin = 0.07 * max(0, max((len(label) for label in labels), default=0) - 12)
    figure, axes = _new_figure(size + 1.2 + margin, size + margin)
    from matplotlib.colors import PowerNorm

    # A square-root scale, so that errors of a few percent still show next to the diagonal.
    norm = PowerNorm(gamma=0.5, vmin=0.0, vmax=1.0)
    image = axes.imshow(shares, cmap="Blues", norm=norm)
    ticks = numpy.arange(len(labels))
    axes.set_xticks(ticks, labels, rotation=90)
    axes.set_yticks(ticks, labels)
    font_size = 8 if len(labels) <= 20 else 6
    for row, column in zip(*numpy.nonzero(matrix)):
        # White on dark cells, black on light ones.
        colour = "white" if norm(shares[row, column]) > 0.6 else "black"
        axes.text(
            column,
            row,
            str(int(matrix[row, column])),
            ha="center",
            va="center",
            fontsize=font_size,
            color=colour,
        )
    axes.set_xlabel("Predicted label")
    axes.set_ylabel("Gold label")
    axes.set_title("Confusion matrix (colour: share of the gold row; numbers: tokens)")
    colour_bar = figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04)
    colour_bar.set_label("Share of the gold label's tokens (square-root scale)")
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)


def plot_f1(
    label_rows: List[Dict[str, Any]],
    path: Path,
    title: str = "F1 per label",
    unit: str = "label",
) -> None:
    """Draw per-label F1 as horizontal bars, best at the top, with each label's support.

    label_rows (List[Dict[str, Any]]): Per label: "label", "f1" and "support".
    path (Path): The PNG file to write.
    title (str): The picture's title.
    unit (str): What a bar is, for the axis title: "label", or "feature" for UD features.
    """
    rows = sorted(label_rows, key=lambda row: (-row["f1"], row["label"]))
    positions = numpy.arange(len(rows))
    figure, axes = _new_figure(7.5, max(2.5, 0.28 * len(rows) + 1.2))
    axes.barh(positions, [row["f1"] for row in rows], color="tab:blue")
    axes.set_yticks(positions, [row["label"] for row in rows])
    # Best at the top, and no blank margin above and below the bars.
    axes.set_ylim(len(rows) - 0.5, -0.5)
    for position, row in zip(positions, rows):
        axes.text(
            row["f1"] + 0.01,
            position,
            f"{row['f1']:.3f}  (n={row['support']})",
            va="center",
            fontsize=8,
        )
    # Room right of the longest bar for its text.
    axes.set_xlim(0.0, 1.3)
    axes.set_xticks(numpy.linspace(0.0, 1.0, 6))
    axes.set_xlabel(f"F1 (n = gold tokens of the {unit})")
    axes.set_title(title)
    axes.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
