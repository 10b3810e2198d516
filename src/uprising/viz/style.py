"""The house style of uprising's figures: one colour per state, readable fonts, vector-friendly output.

:data:`RC` is applied with ``matplotlib.rc_context`` around each figure (never globally, so a
program that imports these modules keeps its own settings). :func:`save` writes a figure in the
format its suffix names (PNG, SVG or PDF): SVG keeps its text as text (``svg.fonttype = none``:
labels are searchable and editable), PDF embeds TrueType fonts (type 42), and neither carries a
creation date, so the same figure gives the same file.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Callable, TypeVar

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

#: one colour per state of a citizen (and per cell kind in the lattice views), the same in every figure
COLOURS = {"empty": "#f2f2f2", "quiet": "#7570b3", "active": "#d95f02", "jailed": "#1b9e77", "cop": "#1f78b4",
           "violent": "#7f0000", "killed": "#000000", "injured": "#e7298a", "detained": "#1f78b4",
           "security": "#e31a1c", "legitimacy": "#27ae60", "arrests": "#8e44ad", "releases": "#666666"}

#: cell kinds of a lattice snapshot (uprising.kernels.codes: EMPTY .. VIOLENT) and their names
KIND_NAMES = ("empty", "quiet", "active", "jailed", "cop", "violent")

FORMATS = ("png", "svg", "pdf")

RC = {
    "font.family": "DejaVu Sans",
    "font.size": 9.5,
    "axes.titlesize": 10.5,
    "axes.labelsize": 9.5,
    "axes.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "legend.fontsize": 8.5,
    "legend.frameon": False,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "figure.titlesize": 12,
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.08,
    "svg.fonttype": "none",
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "lines.linewidth": 1.5,
}

F = TypeVar("F", bound=Callable)


def styled(fn: F) -> F:
    """Run ``fn`` (which makes and saves figures) under :data:`RC`."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with plt.rc_context(RC):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


_METADATA = {"png": {"Software": "uprising"}, "svg": {"Date": None, "Creator": "uprising"},
             "pdf": {"CreationDate": None, "Creator": "uprising"}}


def save(fig, path: str | Path, close: bool = True) -> Path:
    """Write ``fig`` to ``path`` in the format of its suffix (under :data:`RC`); close it unless ``close`` is False."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = path.suffix.lower().lstrip(".")
    with plt.rc_context(RC):
        fig.savefig(path, metadata=_METADATA.get(fmt))
    if close:
        plt.close(fig)
    return path


def save_formats(fig, base: str | Path, formats: tuple[str, ...] | list[str]) -> list[Path]:
    """Write ``fig`` as ``base.FORMAT`` for each format, then close it; the paths written."""
    base = Path(base)
    out = [save(fig, base.with_name(f"{base.name}.{fmt}"), close=False) for fmt in formats]
    plt.close(fig)
    return out


def thousands(ax, axis: str = "y") -> None:
    """Tick labels with thousands separators (12,500 rather than 12500)."""
    fmt = FuncFormatter(lambda v, _: f"{v:,.0f}" if abs(v) >= 1000 or float(v).is_integer() else f"{v:g}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def runs_phrase(n: int) -> str:
    """'1 run' or 'N runs, median and 5-95% band'."""
    return "1 run" if n == 1 else f"{n} runs, median and 5-95% band"


def legend_above(ax, ncol: int = 2, **kwargs):
    """The legend of ``ax`` above its top edge and under its title, which is lifted to make room: outside the
    data, so it hides no line and no label (the event labels sit inside the top of the axes; issue 13,
    item 10). Returns the legend."""
    legend = ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=ncol, frameon=False, borderaxespad=0.3,
                       **kwargs)
    fig = ax.figure
    if not hasattr(fig.canvas, "get_renderer"):  # a figure made without pyplot
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(fig)
    height = legend.get_window_extent(fig.canvas.get_renderer()).height * 72.0 / fig.dpi  # in points
    if ax.get_title():
        ax.set_title(ax.get_title(), pad=height + 8.0, fontsize=ax.title.get_fontsize())
    return legend
