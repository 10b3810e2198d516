"""What the command groups share: the one-line usage error, the progress display, the Dask connection,
file stems and the check for the 'plot' extra.

Every module of :mod:`uprising.cli` imports from here; nothing here imports a command module, so the
package has no import circle (``tests/test_layers.py`` checks it).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import click


class UsageFailure(Exception):
    """A bad command-line value; :func:`uprising.cli.main` reports it in one line and exits with code 2."""


class Progress:
    """Progress of many runs (or of one run's steps) on stderr: a rich bar with an ETA on a terminal, else a
    line every 10% (so a log file stays short).

    Called as ``progress(done, todo, record)``; a ``record`` whose status is ``failed`` is counted and shown.
    A driver that reports several labelled phases calls :meth:`phase` instead: a bar, or lines, per phase.
    """

    def __init__(self, label: str, already: int = 0, unit: str = "runs"):
        from rich.console import Console

        self.label = label
        self.unit = unit
        self.console = Console(stderr=True)
        self.bar = None
        self.started = time.perf_counter()
        self.failed = 0
        self.already = already
        # per shown line of progress (None: the main one, else a phase's label): rich task, next logged count, start
        self._shown: dict[str | None, dict[str, Any]] = {None: {"task": None, "next": 0, "started": self.started}}

    def __enter__(self) -> "Progress":
        if self.console.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn, \
                TimeElapsedColumn, TimeRemainingColumn

            self.bar = RichProgress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                    TextColumn(self.unit), TimeElapsedColumn(), TextColumn("eta"),
                                    TimeRemainingColumn(), console=self.console)
            self.bar.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)

    def __call__(self, done: int, todo: int, record: dict | None) -> None:
        if record is not None and record.get("status") == "failed":
            self.failed += 1
        note = f" ({self.failed} failed)" if self.failed else ""
        self._show(None, self.label, done, todo, note)

    def line(self, text: str) -> None:
        """A line of news between the bars (or among the logged lines)."""
        if self.bar is not None:
            self.bar.console.print(text, highlight=False, markup=False)
        else:
            click.echo(text, err=True)

    def phase(self, label: str, done: int, todo: int) -> None:
        """``done`` of ``todo`` in the phase ``label`` (the ``progress(label, done, total)`` of a driver with
        several phases, such as the validation suite)."""
        self._show(label, label, done, todo)

    def _show(self, key: str | None, label: str, done: int, todo: int, note: str = "") -> None:
        shown = self._shown.setdefault(key, {"task": None, "next": 0, "started": time.perf_counter()})
        if self.bar is not None:
            if shown["task"] is None:
                shown["task"] = self.bar.add_task(label, total=todo)
            self.bar.update(shown["task"], completed=done, description=f"{label}{note}")
            return
        if todo == 0:
            return
        if done >= shown["next"] or done == todo:
            elapsed = time.perf_counter() - shown["started"]
            eta = f", eta {elapsed / done * (todo - done):.0f} s" if 0 < done < todo else ""
            click.echo(f"{label}: {done}/{todo} {self.unit} ({100 * done // todo}%){note}, {elapsed:.0f} s{eta}",
                       err=True)
            while shown["next"] <= done:
                shown["next"] += max(1, todo // 10)


def connect(cluster: str | None):
    """``(executor, close)`` for a Dask scheduler address, or ``(None, None)`` for local processes; an
    unreachable scheduler is a :class:`UsageFailure` naming ``--cluster``."""
    if cluster is None:
        return None, None
    from ..execution import dask_executor

    try:
        return dask_executor(cluster)
    except (OSError, TimeoutError, ValueError) as exc:
        raise UsageFailure(f"--cluster: cannot reach the scheduler at {cluster}: {' '.join(str(exc).split())}") \
            from None


def file_stem(text: str) -> str:
    """``text`` made safe as a file name's stem (runs of other characters become one ``_``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


def seed_option(help: str = "Root seed."):
    """The ``--seed`` option: the root seed of the runs (an integer, at least 0; default 0)."""
    return click.option("--seed", type=click.IntRange(0, None), default=0, show_default=True, help=help)


def sets_option(help: str = "Override a parameter; repeatable."):
    """The ``--set KEY=VALUE`` option (repeatable), read by :func:`uprising.scenario.parse_sets`."""
    return click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help=help)


def workers_option(help: str = "Local worker processes (default: one per CPU)."):
    """The ``--workers`` option: local worker processes, 1 to 1024 (default None: one per CPU)."""
    return click.option("--workers", type=click.IntRange(1, 1024), default=None, help=help)


def cluster_option(help: str = "Run on this Dask scheduler."):
    """The ``--cluster tcp://HOST:PORT`` option: a Dask scheduler to run on (see :func:`connect`)."""
    return click.option("--cluster", metavar="tcp://HOST:PORT", default=None, help=help)


PLOT_EXTRA = "the 'plot' extra: pip install 'uprising[plot]'"


def need_plot_extra(or_else: str = "") -> None:
    """A :class:`UsageFailure` unless matplotlib (the 'plot' extra) is installed; ``or_else`` names the
    command's way around it (such as ``--no-plot``)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageFailure(f"figures need {PLOT_EXTRA}" + (f" (or pass {or_else})" if or_else else "")) from None


def plotting(module: str) -> Any:
    """The figure module ``uprising.viz.MODULE``, or None after one line on stderr saying that the figures
    are skipped, where the 'plot' extra is not installed (the tables are written all the same)."""
    import importlib

    try:
        return importlib.import_module(f"uprising.viz.{module}")
    except ImportError:
        click.echo(f"figures skipped: they need {PLOT_EXTRA}", err=True)
        return None


# ------------------------------------------------------------------ checks made before any work


def writable_folder(path: Path, option: str) -> Path:
    """``path`` if it is a folder this process may write in, or one it may create; else a one-line
    :class:`UsageFailure` naming ``option`` (issue 13, item 6: checked before any run, so a bad ``--out`` does
    not throw away a finished simulation). Nothing is created here.

    The nearest existing folder on the way must not be a file and must be writable by :func:`os.access`
    (which also says no on a read-only file system; root may write in a folder without write permission,
    as the operating system lets it)."""
    if path.exists() and not path.is_dir():
        raise UsageFailure(f"{option}: {path}: is a file, not a folder; give a folder (it is made if missing)")
    nearest = path
    while not nearest.exists():
        if nearest.parent == nearest:
            break
        nearest = nearest.parent
    if nearest.exists() and not nearest.is_dir():
        raise UsageFailure(f"{option}: {path}: cannot be made, {nearest} is a file; give a folder")
    if not os.access(nearest, os.W_OK | os.X_OK):
        raise UsageFailure(f"{option}: {path}: cannot write in {nearest} (no permission or a read-only file "
                           "system); give a folder you may write in")
    return path


def writable_file(path: Path, option: str) -> Path:
    """``path`` if it names a file that may be written (an existing folder is refused; its folder is checked
    with :func:`writable_folder`); else a one-line :class:`UsageFailure` naming ``option``."""
    if path.is_dir():
        raise UsageFailure(f"{option}: {path}: is a folder; give a file name")
    writable_folder(path.parent if str(path.parent) else Path("."), option)
    if path.exists() and not os.access(path, os.W_OK):
        raise UsageFailure(f"{option}: {path}: cannot be overwritten (no permission)")
    return path


def available_memory() -> int | None:
    """Bytes of memory this machine has available now: ``MemAvailable`` of ``/proc/meminfo`` (Linux), else the
    free physical pages (:func:`os.sysconf`); None where neither is known."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(estimate: dict[str, Any], source: str, available: int | None = None) -> None:
    """A one-line :class:`UsageFailure` naming the file and the field to change when a scenario's memory
    ``estimate`` (its ``memory_estimate(...)``: ``bytes``, ``field``, ``detail``) exceeds what the machine has
    available (``available``, default :func:`available_memory`); checked before any run (issue 13, item 6)."""
    available = available_memory() if available is None else available
    if available is None or estimate["bytes"] <= available:
        return
    gib = 1024 ** 3
    raise UsageFailure(f"{source}: {estimate['field']}: the runs need about {estimate['bytes'] / gib:,.1f} GiB of "
                       f"memory ({estimate['detail']}) and this machine has {available / gib:,.1f} GiB available; "
                       f"allowed: {estimate['allowed']}")


def need_module(module: str, extra: str, option: str) -> None:
    """A one-line :class:`UsageFailure` naming ``option`` and the extra to install when the optional
    ``module`` is missing (checked before any work)."""
    import importlib

    try:
        importlib.import_module(module)
    except ImportError:
        top = module.split(".")[0]
        raise UsageFailure(f"{option}: needs {top}, which is not installed; install the {extra} extra: "
                           f"pip install 'uprising[{extra}]'") from None


# ------------------------------------------------------------------ the kernels' compile cache


def kernels_cold() -> bool:
    """Whether a run must compile the numba kernels first (:func:`uprising.kernels.cache.kernel_state`); when that
    cannot be told, False: say nothing rather than something untrue."""
    from ..kernels.cache import COLD, kernel_state

    return kernel_state() == COLD


def say_if_compiling() -> None:
    """One line on stderr, "compiling kernels (first run only)", when :func:`kernels_cold` (issue 13,
    item 10: a cold first run was silent for up to two minutes)."""
    if kernels_cold():
        click.echo("compiling kernels (first run only; later runs load them from numba's cache)", err=True)
