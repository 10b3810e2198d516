"""Animations of a lattice over time (``uprising animate``): a GIF (Pillow) or an MP4 (imageio-ffmpeg's ffmpeg).

The frames come from a snapshots file written by ``uprising run --snapshot-every K``:

* Model I: ``NAME-seedS-snapshots.npz`` with arrays ``steps`` and ``kinds`` (frames x height x width);
* a country: ``NAME-seedS-snapshots.npz`` with ``CITY/steps`` and ``CITY/kinds`` for each city kept.

Each cell is drawn in the colour of its kind (:data:`uprising.viz.style.COLOURS`: empty, quiet, active,
jailed, cop, violent), with a legend that counts the cells of each kind in the frame, and the frame's time
in the title: the step, and for a country run the clock time too (read from the scenario in the result
table ``NAME-seedS.parquet`` beside the snapshots, when it is there). Bad input raises
:class:`uprising.scenario.ScenarioError` (one line) before anything is written.
"""

from __future__ import annotations

import itertools
import json
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from ..kernels import codes  # noqa: E402
from ..scenario import ScenarioError, echo  # noqa: E402
from .style import COLOURS, KIND_NAMES, RC  # noqa: E402

ANIMATION_FORMATS = ("gif", "mp4")
FPS_RANGE = (0.1, 60.0)
SUFFIX = "-snapshots.npz"


@dataclass
class Frames:
    """The lattice over time: ``kinds`` (frames x height x width, cell kinds 0..5), the step of each frame,
    its time label, and what the lattice is."""

    kinds: np.ndarray
    steps: np.ndarray
    labels: list[str]
    name: str  # the scenario's name
    city: str | None  # the city (a country run), or None (Model I)
    kinds_shown: tuple[int, ...]  # the kinds the legend lists

    @property
    def title(self) -> str:
        return f"{self.name}: {self.city}" if self.city else self.name


# ------------------------------------------------------------------ reading
def snapshots_path(path: str | Path) -> Path:
    """The snapshots file of ``path``: itself for an ``.npz``, ``STEM-snapshots.npz`` beside a result table."""
    path = Path(path)
    if not path.exists():
        raise ScenarioError(str(path), "(file)", "no such file; give a snapshots .npz or a result .parquet written "
                            "by uprising run --snapshot-every K")
    if path.suffix.lower() == ".npz":
        return path
    if path.suffix.lower() == ".parquet":
        from .publication import result_kind

        result_kind(path)  # a Parquet file that is not a result is reported as such
        beside = path.with_name(path.stem + SUFFIX)
        if not beside.is_file():
            raise ScenarioError(str(path), "(snapshots)", f"no {beside.name} beside it; run uprising run with "
                                "--snapshot-every K to keep the lattice")
        return beside
    raise ScenarioError(str(path), "(file)", "not a snapshots .npz nor a result .parquet; give the -snapshots.npz "
                        "of uprising run --snapshot-every K, or the result table beside it")


def _clock_of(npz: Path):
    """The clock of the country scenario in the result table beside a snapshots file (None if there is none)."""
    import pyarrow.parquet as pq

    if not npz.name.endswith(SUFFIX):
        return None
    table = npz.with_name(npz.name[: -len(SUFFIX)] + ".parquet")
    if not table.is_file():
        return None
    try:
        meta = pq.read_schema(table).metadata or {}
    except Exception:  # noqa: BLE001
        return None
    text = meta.get(b"uprising.country_scenario")
    if text is None:
        return None
    from ..country.scenario import CountryScenario

    try:
        scenario = CountryScenario.from_dict(json.loads(text.decode()), source=str(table))
    except (ScenarioError, ValueError):
        return None
    return scenario.name, scenario.clock.clock()


def _name_of(npz: Path) -> str:
    stem = npz.name[: -len(SUFFIX)] if npz.name.endswith(SUFFIX) else npz.stem
    return stem


def load_frames(path: str | Path, city: str | None = None) -> Frames:
    """The frames of a snapshots file (or of the one beside a result table); ``city`` chooses a country's city
    (needed when the file holds several)."""
    source = Path(path)
    npz_path = snapshots_path(source)
    try:
        with np.load(npz_path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        raise ScenarioError(str(npz_path), "(file)", "not a snapshots file (.npz) of uprising run --snapshot-every K")
    if "kinds" in arrays and "steps" in arrays:
        if city is not None:
            raise ScenarioError(str(npz_path), "--city", "a Model I snapshots file holds one lattice; leave --city out")
        kinds, steps, label_city, country = arrays["kinds"], arrays["steps"], None, False
    else:
        cities = [key[: -len("/kinds")] for key in arrays if key.endswith("/kinds")
                  and key[: -len("/kinds")] + "/steps" in arrays]
        if not cities:
            raise ScenarioError(str(npz_path), "(arrays)", "no lattice in it: a snapshots file holds 'steps' and "
                                "'kinds' (Model I) or 'CITY/steps' and 'CITY/kinds' (a country)")
        if city is None:
            if len(cities) > 1:
                raise ScenarioError(str(npz_path), "--city", f"the file holds {len(cities)} cities; choose one with "
                                    f"--city NAME: {', '.join(cities)}")
            city = cities[0]
        if city not in cities:
            raise ScenarioError(str(npz_path), "--city", f"unknown city {echo(city)}; allowed: {', '.join(cities)}")
        kinds, steps, label_city, country = arrays[f"{city}/kinds"], arrays[f"{city}/steps"], city, True
    kinds = np.asarray(kinds)
    steps = np.asarray(steps).astype(np.int64).reshape(-1)
    if kinds.ndim != 3 or kinds.shape[0] != steps.shape[0] or kinds.shape[0] == 0:
        raise ScenarioError(str(npz_path), "kinds", f"expected frames x height x width with one step per frame "
                            f"(got kinds {kinds.shape}, steps {steps.shape})")
    kinds = (kinds.astype(np.uint8) & codes.KIND_MASK)
    if kinds.max(initial=0) > codes.VIOLENT:
        raise ScenarioError(str(npz_path), "kinds", f"cell kinds must lie in 0..{codes.VIOLENT}")
    clock = _clock_of(npz_path) if country else None
    name = _name_of(npz_path)
    if clock is not None:
        name, clk = clock
        labels = [f"{clk.time_of(int(k)).strftime('%d %b %Y, %H:%M')} (step {int(k)})" for k in steps]
    else:
        labels = [f"step {int(k)}" for k in steps]
    shown = tuple(range(codes.VIOLENT + 1)) if country else tuple(range(codes.COP + 1))
    return Frames(kinds, steps, labels, name, label_city, shown)


def parse_fps(value: float | str, source: str = "--fps") -> float:
    try:
        fps = float(value)
    except (TypeError, ValueError):
        fps = math.nan
    lo, hi = FPS_RANGE
    if not (math.isfinite(fps) and lo <= fps <= hi):
        raise ScenarioError(source, "--fps", f"{echo(value)}: frames per second must be a number in [{lo:g}, {hi:g}]")
    return fps


def output_format(out: Path | None, fmt: str | None, source: str) -> str:
    """The animation's format: ``fmt`` if given (checked against ``out``'s suffix), else ``out``'s suffix, else gif."""
    if fmt is not None:
        fmt = fmt.strip().lower().lstrip(".")
        if fmt not in ANIMATION_FORMATS:
            raise ScenarioError(source, "--format", f"unknown format {echo(fmt)}; allowed: {' | '.join(ANIMATION_FORMATS)}")
    suffix = out.suffix.lower().lstrip(".") if out is not None else ""
    if out is not None and suffix not in ANIMATION_FORMATS:
        raise ScenarioError(source, "--out", f"{out.name}: the file must end in .gif or .mp4")
    if fmt is not None and out is not None and suffix != fmt:
        raise ScenarioError(source, "--out", f"{out.name} does not match --format {fmt}; name a .{fmt} file")
    return fmt or suffix or "gif"


# ------------------------------------------------------------------ drawing
#: the cells' colours: the house colours, with quiet citizens lighter so that the active ones stand out
CELL_COLOURS = {**{name: COLOURS[name] for name in KIND_NAMES}, "empty": "#ffffff", "quiet": "#cdc9e6"}


def colour_map() -> ListedColormap:
    return ListedColormap([CELL_COLOURS[name] for name in KIND_NAMES])


def iter_images(frames: Frames, size_px: int = 640, dpi: int = 100,
                progress: Callable[[int, int], None] | None = None) -> Iterator[np.ndarray]:
    """Each frame as an RGB array (height x width x 3, uint8), one at a time (a long animation is never held
    whole); all the same size, a multiple of 16 pixels each way."""
    side = size_px / dpi
    with plt.rc_context({**RC, "savefig.bbox": None, "axes.grid": False}):
        fig = plt.figure(figsize=(side, side + 0.9), dpi=dpi)
        ax = fig.add_axes((0.06, 0.115, 0.88, 0.77))
        im = ax.imshow(frames.kinds[0], cmap=colour_map(), vmin=-0.5, vmax=len(KIND_NAMES) - 0.5,
                       interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(True)
        h, w = frames.kinds.shape[1:]
        ax.set_xlabel(f"{w} x {h} cells (a torus)", fontsize=8)
        title = ax.set_title("", fontsize=10)
        handles = [Patch(facecolor=CELL_COLOURS[KIND_NAMES[k]], edgecolor="#999999", label=KIND_NAMES[k])
                   for k in frames.kinds_shown]
        legend = fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=8, frameon=False,
                            bbox_to_anchor=(0.5, -0.01), handlelength=1.2, columnspacing=1.5)
    try:
        yield from _draw_each(frames, fig, im, legend, title, progress)
    finally:
        plt.close(fig)


def _draw_each(frames: Frames, fig, im, legend, title, progress) -> Iterator[np.ndarray]:
    for i in range(frames.kinds.shape[0]):
        grid = frames.kinds[i]
        im.set_data(grid)
        counts = np.bincount(grid.reshape(-1), minlength=len(KIND_NAMES))
        for text, k in zip(legend.get_texts(), frames.kinds_shown):
            text.set_text(f"{KIND_NAMES[k]} ({counts[k]:,})")
        title.set_text(f"{frames.title}\n{frames.labels[i]}")
        with plt.rc_context({**RC, "savefig.bbox": None, "axes.grid": False}):
            fig.canvas.draw()
        rgb = np.asarray(fig.canvas.buffer_rgba())[:, :, :3].copy()
        yield _even(rgb)
        if progress:
            progress(i + 1, frames.kinds.shape[0])


def render(frames: Frames, size_px: int = 640, dpi: int = 100,
           progress: Callable[[int, int], None] | None = None) -> list[np.ndarray]:
    """All frames as RGB arrays (see :func:`iter_images`)."""
    return list(iter_images(frames, size_px, dpi, progress))


def _even(rgb: np.ndarray, block: int = 16) -> np.ndarray:
    """Pad an image with white to a multiple of ``block`` pixels each way (video codecs need it)."""
    h, w = rgb.shape[:2]
    ph, pw = (-h) % block, (-w) % block
    if ph or pw:
        rgb = np.pad(rgb, ((0, ph), (0, pw), (0, 0)), constant_values=255)
    return rgb


def _partial(path: Path) -> Path:
    return path.with_name(f".{path.stem}.partial{path.suffix}")


def write_gif(images: Iterable[np.ndarray], path: Path, fps: float) -> int:
    """Write a GIF (Pillow) of the images, each reduced to 128 colours as it comes; returns the frame count."""
    from PIL import Image

    frames = [Image.fromarray(img).convert("P", palette=Image.Palette.ADAPTIVE, colors=128) for img in images]
    tmp = _partial(path)
    frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:], duration=int(round(1000 / fps)),
                   loop=0, disposal=1)
    tmp.replace(path)
    return len(frames)


def write_mp4(images: Iterable[np.ndarray], path: Path, fps: float) -> int:
    """Write an H.264 MP4 (imageio-ffmpeg's bundled ffmpeg), streaming the images; returns the frame count."""
    import imageio_ffmpeg

    images = iter(images)
    first = next(images)
    h, w = first.shape[:2]
    tmp = _partial(path)
    writer = imageio_ffmpeg.write_frames(str(tmp), (w, h), fps=fps, codec="libx264", pix_fmt_in="rgb24",
                                         pix_fmt_out="yuv420p", macro_block_size=16, ffmpeg_log_level="error",
                                         output_params=["-movflags", "+faststart"])
    writer.send(None)
    count = 0
    try:
        for img in itertools.chain([first], images):
            writer.send(np.ascontiguousarray(img))
            count += 1
        writer.close()
    except BaseException:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)
    return count


def default_output(path: Path, frames: Frames, fmt: str) -> Path:
    npz = snapshots_path(path)
    stem = _name_of(npz)
    city = f"-{frames.city}" if frames.city else ""
    import re

    return npz.with_name(re.sub(r"[^A-Za-z0-9._-]+", "_", f"{stem}{city}") + f".{fmt}")


def animate(path: str | Path, out: str | Path | None = None, city: str | None = None, fmt: str | None = None,
            fps: float | str = 4, progress: Callable[[int, int], None] | None = None) -> tuple[Path, int]:
    """Write the animation of ``path``'s lattice (a snapshots .npz, or a result .parquet with its snapshots
    beside it); returns the file written and its number of frames."""
    path = Path(path)
    out_path = None if out is None else Path(out)
    fmt = output_format(out_path, fmt, str(path))
    rate = parse_fps(fps, str(path))
    frames = load_frames(path, city)
    out_path = out_path or default_output(path, frames, fmt)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    count = (write_gif if fmt == "gif" else write_mp4)(iter_images(frames, progress=progress), out_path, rate)
    return out_path, count


def strip_figure(frames: Frames, picks: list[int] | None = None, columns: int = 4):
    """A few frames side by side (for reports): ``picks`` are frame indices (default: evenly spaced)."""
    n = frames.kinds.shape[0]
    if picks is None:
        picks = sorted(set(np.linspace(0, n - 1, min(columns, n)).round().astype(int).tolist()))
    with plt.rc_context({**RC, "axes.grid": False}):
        fig, axes = plt.subplots(1, len(picks), figsize=(3.1 * len(picks), 3.6), squeeze=False)
        for ax, i in zip(axes[0], picks):
            ax.imshow(frames.kinds[i], cmap=colour_map(), vmin=-0.5, vmax=len(KIND_NAMES) - 0.5,
                      interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(frames.labels[i], fontsize=8.5, fontweight="normal")
        handles = [Patch(facecolor=CELL_COLOURS[KIND_NAMES[k]], edgecolor="#999999", label=KIND_NAMES[k])
                   for k in frames.kinds_shown]
        fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False)
        h, w = frames.kinds.shape[1:]
        fig.suptitle(f"{frames.title}: the lattice ({w} x {h} cells) at {len(picks)} times", x=0.01, ha="left")
        fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig
