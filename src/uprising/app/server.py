"""The explorer's web server: a JSON API over the country model, and the page that uses it.

``create_app(results_dir, scenarios_dir)`` returns a FastAPI application. Every asset
the page loads is served by it (the page, its script and style, and plotly.js from
the installed ``plotly`` package), so the explorer works with no internet. Runs are
jobs (:mod:`uprising.app.jobs`): the handlers start, poll, cancel and read them, and
never run a simulation themselves. Bad input comes back as HTTP 400, 403, 404, 409,
410, 421, 422 or 429 with ``{"error": "<one line>"}``; the page shows that line (never
a traceback, never a path of the server's folders, never a huge value echoed whole).

Against DNS rebinding (a web page whose host name is re-pointed at 127.0.0.1), the server
answers only requests whose ``Host`` names it (:func:`host_names`: 127.0.0.1, localhost,
[::1] and ``--host``), and refuses a state-changing request (POST, PUT, PATCH, DELETE)
whose ``Origin`` is another site (:func:`origin_allowed`).
"""

from __future__ import annotations

import contextlib
import csv
import importlib.resources
import json
import logging
import os
import re
import socket
import threading
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..country import observables as O
from ..country.scenario import CountryScenario
from ..scenario import ScenarioError, read_toml
from ..viz.unrest_colours import UNREST_LEGEND, UNREST_MAX_PER_1000, UNREST_STOPS
from . import levers as L
from .jobs import (ANONYMOUS, KEEP_HOURS, KEEP_PER_CLIENT, MAX_WAITING, MAX_WAITING_PER_CLIENT, Arm, Job, JobManager,
                   QueueFull, duration)
from .levers import shown

log = logging.getLogger("uprising.app")
STATIC = Path(__file__).resolve().parent / "static"
SERIES = ("quiet", "active", "violent", "jailed", "killed", "injured")
FIGURES = {"run": ("cities", "record", "map"), "compare": ("compare",)}
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'")
#: the names a local server answers to whatever ``--host`` is
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
#: the methods that change the server's state: their Origin is checked
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: the header by which the page names its client (a random id it keeps for its tab)
CLIENT_HEADER = "X-Uprising-Client"
CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{8,64}", re.ASCII)
JOB_ID = re.compile(r"[0-9a-f]{12}", re.ASCII)
HOST = re.compile(r"(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9.-]+))(?::(?P<port>[0-9]{1,5}))?", re.ASCII)
ORIGIN = re.compile(r"(?P<scheme>https?)://(?P<netloc>[^/?#]+)", re.ASCII)
#: most characters of an error line
MESSAGE_CHARS = 300
#: most characters of a download path; longest name of a file
PATH_CHARS = 1024
NAME_CHARS = 255
#: largest scenario file read (bytes)
SCENARIO_BYTES = 10_000_000


class ApiError(Exception):
    """A request the API refuses: an HTTP status and one line saying what is wrong and what is allowed."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def host_names(host: str | None = None) -> frozenset[str]:
    """The host names the server answers to: 127.0.0.1, localhost, ::1, and ``host`` (``--host``) when given.

    A wildcard ``host`` (0.0.0.0 or ::) adds this machine's own name. Rule: a request whose ``Host`` names
    anything else is refused, so that a page whose name was rebound to this machine cannot use it.
    """
    names = set(LOOPBACK_NAMES)
    if host and host.strip():
        name = host.strip().strip("[]").lower()
        names.add(name)
        if name in ("0.0.0.0", "::"):
            names.update({socket.gethostname().lower(), socket.getfqdn().lower()})
    return frozenset(names)


def split_host(value: str) -> tuple[str, int | None] | None:
    """A ``Host`` header or an origin's ``host[:port]`` as (lower-case name, port or None); None if malformed."""
    match = HOST.fullmatch(value or "")
    if match is None:
        return None
    port = int(match["port"]) if match["port"] else None
    if port is not None and port > 65535:
        return None
    return (match["v6"] or match["name"]).lower(), port


def host_allowed(value: str | None, names: frozenset[str], port: int | None) -> bool:
    """Whether a ``Host`` header names this server: one of ``names``, and ``port`` when known and given."""
    parts = split_host(value) if value is not None else None
    if parts is None:
        return False
    name, given = parts
    return name in names and (given is None or port is None or given == port)


def origin_allowed(value: str | None, names: frozenset[str], port: int | None) -> bool:
    """Whether a state-changing request may come from the page at ``value`` (its ``Origin`` header).

    No Origin (a request not made by a web page, such as curl or the tests' client) is allowed; otherwise
    the origin must be http(s)://NAME[:PORT] with NAME one of ``names`` and PORT this server's port when known.
    """
    if value is None:
        return True
    match = ORIGIN.fullmatch(value)
    parts = split_host(match["netloc"]) if match else None
    if parts is None:
        return False
    name, given = parts
    given = given if given is not None else (443 if match["scheme"] == "https" else 80)
    return name in names and (port is None or given == port)


def plotly_js() -> Path:
    """plotly.min.js as shipped inside the installed ``plotly`` package (never a CDN)."""
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


def outline() -> list[list[list[float]]]:
    """The rings of the country outline shipped as package data (lon, lat pairs)."""
    text = importlib.resources.files("uprising").joinpath("data/kazakhstan.geojson").read_text(encoding="utf-8")
    rings = []
    for feature in json.loads(text)["features"]:
        geom = feature["geometry"]
        polygons = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
        for polygon in polygons:
            rings.extend(polygon)
    return rings


# ---------------------------------------------------------------------- scenarios
class Scenarios:
    """The country scenarios in a folder (``*.toml`` files with ``[[cities]]``), by file stem; reloaded on change.

    A file that cannot be used (unreadable, not TOML, nested too deeply, too large, or an invalid scenario) is
    listed as skipped with one line saying why, never raised: one bad file does not hide the others.
    A TOML file without ``[[cities]]`` (a Model I scenario) is not listed at all.
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._cache: dict[Path, tuple[tuple[int, int], CountryScenario | str | None]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def read(path: Path) -> CountryScenario | str | None:
        """The scenario in ``path``, the one line saying why it cannot be used, or None if it is not a country's."""
        where = str(path)
        try:
            if path.stat().st_size > SCENARIO_BYTES:
                return f"larger than {SCENARIO_BYTES // 1_000_000} MB; a scenario is a small TOML file"
            if "cities" not in read_toml(path, "scenario"):
                return None
            return CountryScenario.load(path)
        except ScenarioError as exc:
            text = f"{exc.field}: {exc.message}" if exc.source == where else str(exc)
        except RecursionError:
            text = "nested too deeply to read (a scenario is a few levels of tables and lists)"
        except (OSError, ValueError, MemoryError) as exc:
            text = f"cannot be read ({type(exc).__name__}: {getattr(exc, 'strerror', None) or exc})"
        return text.replace(where, path.name).splitlines()[0][:MESSAGE_CHARS] if text else "cannot be read"

    def _load(self, path: Path) -> CountryScenario | str | None:
        try:
            info = path.stat()
        except OSError as exc:
            return f"cannot be read ({exc.strerror or type(exc).__name__}; a broken link?)"
        stamp = (info.st_mtime_ns, info.st_size)
        with self._lock:
            hit = self._cache.get(path)
            if hit and hit[0] == stamp:
                return hit[1]
        value = self.read(path)
        with self._lock:
            self._cache[path] = (stamp, value)
        return value

    def all(self) -> tuple[dict[str, tuple[Path, CountryScenario]], list[dict[str, str]]]:
        """The usable scenarios by id, and the files skipped: [{"file": name, "error": one line}]."""
        ok, skipped = {}, []
        try:
            paths = sorted(self.folder.glob("*.toml"))
        except OSError:
            paths = []
        for path in paths:
            value = self._load(path)
            if isinstance(value, str):
                skipped.append({"file": path.name, "error": value})
            elif value is not None:
                ok[path.stem] = (path, value)
        return ok, skipped

    def get(self, sid: Any) -> tuple[Path, CountryScenario]:
        ok, skipped = self.all()
        if isinstance(sid, str) and sid in ok:
            return ok[sid]
        for bad in skipped:
            if isinstance(sid, str) and bad["file"] == sid + ".toml":
                raise ApiError(422, f"scenario: {shown(sid)} cannot be used: {bad['error']}")
        raise ApiError(404, f"scenario: unknown scenario {shown(sid)}; allowed: {', '.join(ok) or '(none)'}")


# ---------------------------------------------------------------------- requests
class JobRequest(BaseModel):
    """``POST /api/jobs``: what to run."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["run", "compare", "lattice"] = "run"
    scenario: str
    levers: dict[str, Any] = Field(default_factory=dict)
    run: dict[str, Any] = Field(default_factory=dict)
    arms: list[str] = Field(default_factory=list, description="compare: variant names, or 'levers'")
    city: str | None = Field(None, description="lattice: the city to animate")


# ---------------------------------------------------------------------- measurements
#: the explorer's cumulative series: what they sum
CUMULATIVE = {"killed": ("killed_protesters", "killed_bystanders", "killed_security"),
              "injured": ("injured_protesters", "injured_security")}


def _series(r, name: str, i: int | None) -> np.ndarray:
    """A run's ``name`` per step in people, for city ``i`` (None: all cities); killed and injured cumulative."""
    if name in CUMULATIVE:
        return r.people(CUMULATIVE[name], i, cumulative=True)
    return r.people(name, i)


def _band(runs: np.ndarray) -> dict[str, list[float]]:
    lo, mid, hi = np.percentile(runs, [5, 50, 95], axis=0)
    return {"median": np.round(mid, 3).tolist(), "low": np.round(lo, 3).tolist(), "high": np.round(hi, 3).tolist()}


def _times(r) -> list[str]:
    return [t.strftime(ISO_MINUTES) for t in r.times()]


def _median(values) -> float:
    return round(float(np.median(values)), 3)


#: what every interval the explorer shows of an ensemble is (the timelines' bands and the summary's ranges)
INTERVAL = "5-95% of the runs"
#: times as the API gives them: ISO 8601, 24-hour clock
ISO_MINUTES = "%Y-%m-%dT%H:%M"


def summary(results) -> dict[str, Any]:
    """Headline figures in people: medians over the runs, each with its interval (:data:`INTERVAL`: the 5th and
    95th percentiles of the runs' values), and the scale (agents per resident) the runs were made at."""
    values = {"peak_unrest": [O.peak(r)[0] for r in results],
              "deaths": [O.killed_by(r)["total"] for r in results],
              "detained": [O.detained_by(r, r.clock.day_of(r.steps)) for r in results],
              "injured": [sum(O.injured(r).values()) for r in results]}
    out: dict[str, Any] = {"runs": len(results), **{k: _median(v) for k, v in values.items()}}
    out["intervals"] = {k: [round(float(x), 3) for x in np.percentile(v, [5, 95])] for k, v in values.items()}
    out.update(interval=INTERVAL, scale=results[0].scenario.scale, agents=int(results[0].citizens.sum()),
               residents_per_agent=round(results[0].residents_per_agent, 3))
    return out


def events_of(scenario: CountryScenario) -> list[dict[str, Any]]:
    """The scenario's timeline events as marks for a chart, whatever their kind: id, kind, start and end (ISO
    8601, end None for an instant or open event), cities and a label (kind and id). Rule: every timeline shows
    the events of the scenario that made it, so that a counterfactual's edits (caps dropped, a force moved)
    show where they act."""
    out = []
    for e in sorted(scenario.events, key=lambda e: e.span()[0]):
        start, end = e.span()
        out.append({"id": e.id, "kind": e.kind, "start": start.strftime(ISO_MINUTES),
                    "end": end.strftime(ISO_MINUTES) if end is not None else None, "cities": list(e.cities),
                    "label": f"{e.kind.replace('_', ' ')}: {e.id}"})
    return out


def arm_results(job: Any, arm: str) -> tuple[str, list]:
    """The runs of ``arm`` of a finished job (its first arm by default), or a one-line ApiError."""
    arm = arm or job.arms[0].name
    if arm not in job.results:
        raise ApiError(422, f"arm: unknown arm {shown(arm)}; allowed: {', '.join(job.results)}")
    return arm, job.results[arm]


# ---------------------------------------------------------------------- paths
def safe_path(root: Path, rel: Any) -> Path:
    """``rel`` inside the results folder ``root``, or a one-line ApiError that never names the folder itself:
    absolute paths, ``..``, links out, link loops and names too long are refused, and ``rel`` is echoed cut."""
    if not isinstance(rel, str) or not rel.strip():
        raise ApiError(400, "path: give a file of the results folder, e.g. app/JOB/runs.csv")
    if "\x00" in rel:
        raise ApiError(400, "path: must not contain NUL characters")
    if len(rel) > PATH_CHARS:
        raise ApiError(400, f"path: too long ({len(rel):,} characters; a file of the results folder has at most "
                            f"{PATH_CHARS:,})")
    text = rel.replace("\\", "/")
    if text.startswith("/") or re.match(r"^[A-Za-z]:", text):
        raise ApiError(400, f"path: {shown(rel)} is absolute; give a path relative to the results folder")
    parts = PurePosixPath(text).parts
    if ".." in parts:
        raise ApiError(400, f"path: {shown(rel)} leaves the results folder ('..' is not allowed)")
    if any(len(part) > NAME_CHARS for part in parts):
        raise ApiError(400, f"path: {shown(rel)} has a name longer than {NAME_CHARS} characters")
    try:
        base = root.resolve()
        full = (base / text).resolve()
        inside = full.is_relative_to(base)
        is_file = inside and full.is_file() and os.access(full, os.R_OK)
    except (OSError, RuntimeError):  # a link loop (RuntimeError before Python 3.13), a path the system refuses
        raise ApiError(400, f"path: {shown(rel)} cannot be opened (a link loop, or a name the system refuses)") \
            from None
    if not inside:
        raise ApiError(400, f"path: {shown(rel)} resolves outside the results folder")
    if not is_file:
        raise ApiError(404, f"path: no such file in the results folder: {shown(rel)}")
    return full


# ---------------------------------------------------------------------- the application
def posterior_effects(scenarios_dir: Path, scenario_id: str, variants: list[str]) -> dict[str, Any] | None:
    """The effects over a posterior of ``variants`` of scenario ``scenario_id``, where the scenarios' folder holds
    ``ID-compare-posterior.csv`` (the compare-posterior.csv of ``uprising compare --posterior``): its rows for
    those variants, with the number of draws and the scale; None without the file, or when it cannot be read."""
    path = Path(scenarios_dir) / f"{scenario_id}-compare-posterior.csv"
    if not path.is_file():
        return None
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = [r for r in csv.DictReader(fh) if r.get("variant") in variants]
        numbers = ("posterior_mean", "posterior_ci_low", "posterior_ci_high", "posterior_interval_low",
                   "posterior_interval_high", "p_sign", "point_mean", "point_ci_low", "point_ci_high")
        out = [{"variant": r["variant"], "outcome": r["outcome"], **{k: float(r[k]) for k in numbers}} for r in rows]
        first = rows[0] if rows else {}
        return {"file": path.name, "rows": out, "draws": int(first.get("draws") or 0),
                "scale": float(first["scale"]) if first.get("scale") else None}
    except (OSError, ValueError, KeyError):
        return None


def create_app(results_dir: str | Path = "results", scenarios_dir: str | Path = "scenarios",
               workers: int = 2, keep: int = KEEP_PER_CLIENT, host: str | None = None, port: int | None = None,
               keep_hours: float = KEEP_HOURS, max_waiting: int = MAX_WAITING,
               max_waiting_per_client: int = MAX_WAITING_PER_CLIENT) -> FastAPI:
    """The explorer: the page at ``/``, the JSON API under ``/api``; runs are written to ``results_dir/app``.

    ``host`` and ``port``: where ``uprising serve`` listens; the server answers only to the names of
    :func:`host_names` (and, when ``port`` is given, on that port). ``keep``: finished jobs kept per client;
    ``keep_hours``: how long a finished job is kept; ``max_waiting`` and ``max_waiting_per_client``: the bounds of
    the queue (jobs queued or running).
    """
    results_dir = Path(results_dir)
    scenarios_dir = Path(scenarios_dir)
    registry = Scenarios(scenarios_dir)
    manager = JobManager(results_dir, workers=workers, max_waiting=max_waiting,
                         max_waiting_per_client=max_waiting_per_client, keep_hours=keep_hours, keep_per_client=keep)
    plot_lock = threading.Lock()
    names = host_names(host)
    shown_names = ", ".join(f"[{n}]" if ":" in n else n for n in sorted(names))
    # the server's own folders as absolute paths, longest first: never named in a response
    folders = sorted({str(f) for d in (results_dir, scenarios_dir) for f in (d.absolute(), d.resolve())
                      if len(str(f)) > 1}, key=len, reverse=True)

    def one_line(text: str) -> str:
        """The first line of ``text`` without the server's folders, cut to MESSAGE_CHARS characters."""
        line = (str(text).splitlines() or [""])[0]
        for folder in folders:
            line = line.replace(folder, "<folder>")
        return line if len(line) <= MESSAGE_CHARS else line[:MESSAGE_CHARS - 3] + "..."

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": one_line(message)}, status_code=status)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        manager.shutdown()

    app = FastAPI(title="uprising explorer", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.manager = manager
    app.state.registry = registry
    app.state.results_dir = results_dir
    app.state.host_names = names

    # ------------------------------------------------------------------ errors: one line, no traceback
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return error(exc.status, exc.message)

    @app.exception_handler(ScenarioError)
    async def _scenario_error(request: Request, exc: ScenarioError):
        return error(422, str(exc))

    @app.exception_handler(QueueFull)
    async def _queue_full(request: Request, exc: QueueFull):
        return error(429, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        where = ".".join(shown(p).strip("'") if isinstance(p, str) else str(p)
                         for p in first.get("loc", ()) if p != "body") or "request"
        message = str(first.get("msg", "invalid"))
        if first.get("type") == "json_invalid":
            message = "the body is not valid JSON"
        return error(422, f"{where}: {message}")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else "error"
        if exc.status_code == 404:
            detail = f"not found: {shown(request.url.path, 80)}"
        return error(exc.status_code, detail)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception):
        log.exception("request %s failed", request.url.path[:200])
        return error(500, f"internal error ({type(exc).__name__}); the server's log has the details")

    @app.middleware("http")
    async def _headers(request: Request, call_next):
        """Rule (DNS rebinding): only this server's host names are answered, and a state-changing request
        must come from no page or from this server's own; every answer carries the Content-Security-Policy."""
        host_header = request.headers.get("host")
        origin = request.headers.get("origin")
        if not host_allowed(host_header, names, port):
            response = error(421, f"host: this server answers only to {shown_names}"
                                  f"{f' on port {port}' if port else ''} (this request was for "
                                  f"{shown(host_header) if host_header is not None else 'no host'})")
        elif request.method in STATE_CHANGING and not origin_allowed(origin, names, port):
            response = error(403, f"origin: a page of {shown(origin)} may not change anything here; only this "
                                  "server's own page may")
        else:
            response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    # ------------------------------------------------------------------ the page and its assets
    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly_asset() -> FileResponse:
        return FileResponse(plotly_js(), media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=86400"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    # ------------------------------------------------------------------ scenarios
    @app.get("/api/scenarios")
    def scenarios() -> dict[str, Any]:
        ok, skipped = registry.all()
        return {"scenarios": [{"id": sid, "name": s.name, "description": s.description, "file": path.name,
                               "cities": len(s.cities), "steps": s.clock.clock().ticks}
                              for sid, (path, s) in ok.items()], "skipped": skipped}

    @app.get("/api/scenarios/{sid}")
    def scenario(sid: str) -> dict[str, Any]:
        path, s = registry.get(sid)
        lon = [c.lon for c in s.cities]
        lat = [c.lat for c in s.cities]
        rings = outline()
        flat = [p for ring in rings for p in ring]
        inside = any(min(p[0] for p in flat) - 5 <= x <= max(p[0] for p in flat) + 5
                     and min(p[1] for p in flat) - 5 <= y <= max(p[1] for p in flat) + 5 for x, y in zip(lon, lat))
        clock = s.clock.clock()
        return {"id": sid, "name": s.name, "description": s.description, "file": path.name, "timezone": s.timezone,
                "clock": {"start": s.clock.start.strftime("%Y-%m-%dT%H:%M"),
                          "end": s.clock.end.strftime("%Y-%m-%dT%H:%M"), "tick_hours": s.clock.tick_hours,
                          "ticks": clock.ticks},
                "cities": [{"name": c.name, "region": c.region, "population": c.population, "lat": c.lat,
                            "lon": c.lon} for c in s.cities],
                "levers": L.lever_specs(s), "run": L.run_specs(s),
                "variants": [{"name": n, "description": v.description} for n, v in s.variants.items()],
                "outline": rings if inside else None}

    # ------------------------------------------------------------------ jobs
    def client_of(request: Request) -> str:
        """The client (the page's tab) a request comes from: its X-Uprising-Client header, or ``anonymous``."""
        value = request.headers.get(CLIENT_HEADER)
        if value is None:
            return ANONYMOUS
        if not CLIENT_ID.fullmatch(value):
            raise ApiError(400, f"{CLIENT_HEADER}: must be 8 to 64 letters, digits, '-' or '_' "
                                f"(got {shown(value)})")
        return value

    def job_or_404(job_id: str) -> Job:
        """The job, or 404 (never existed here) or 410 (it existed and was forgotten: the line says why)."""
        if not JOB_ID.fullmatch(job_id):
            raise ApiError(404, f"job: unknown job {shown(job_id)} (a job id is 12 hexadecimal digits)")
        job = manager.get(job_id)
        if job is None:
            why = manager.gone_reason(job_id)
            if why is not None:
                raise ApiError(410, f"job: {job_id} is gone: {why}; run it again")
            raise ApiError(404, f"job: unknown job {job_id!r} (no such job on this server; jobs live in its memory, "
                                "so a restart forgets them)")
        return job

    def job_status(job: Job) -> dict[str, Any]:
        """A job's status as the API gives it: its place in the queue, its error in one line without paths."""
        out = manager.status(job)
        if out.get("error"):
            out["error"] = one_line(out["error"])
        return out

    def own_job(job_id: str, request: Request, verb: str) -> Job:
        job = job_or_404(job_id)
        if job.client != client_of(request):
            raise ApiError(403, f"job: {job.id} belongs to another client; only the page that started it can {verb} it")
        return job

    def finished(job_id: str, kinds: tuple[str, ...] | None = None) -> Job:
        job = job_or_404(job_id)
        if kinds is not None and job.kind not in kinds:
            raise ApiError(409, f"job: {job.id} is a {job.kind} job; this needs a {' or '.join(kinds)} job")
        if job.state != "done":
            why = f"failed: {job.error}" if job.state == "failed" else job.state
            raise ApiError(409, f"job: {job.id} is {why}; its results come when it is done")
        return job

    @app.get("/api/jobs")
    def client_jobs(request: Request) -> dict[str, Any]:
        """This client's jobs (its header names it) and those of its jobs that are gone, with why."""
        client = client_of(request)
        jobs, gone = manager.client_jobs(client)
        return {"client": client, "jobs": [job_status(j) for j in jobs], "gone": gone,
                "limits": {"waiting": manager.max_waiting, "waiting_per_client": manager.max_waiting_per_client,
                           "keep": duration(manager.keep_hours * 3600.0), "keep_per_client": manager.keep_per_client}}

    @app.post("/api/jobs", status_code=202)
    def start(req: JobRequest, request: Request) -> dict[str, Any]:
        client = client_of(request)
        path, s = registry.get(req.scenario)
        run = L.parse_run(s, req.run)
        scale = run["scale"]
        if req.kind == "run":
            arms = [Arm("run", L.apply_levers(s, req.levers, scale=scale))]
        elif req.kind == "lattice":
            names = [c.name for c in s.cities]
            if req.city not in names:
                raise ApiError(422, f"city: unknown city {shown(req.city)}; allowed: {', '.join(names)}")
            arms = [Arm("run", L.apply_levers(s, req.levers, scale=scale))]
        else:
            allowed = ["levers", *s.variants]
            if not 1 <= len(req.arms) <= 3:
                raise ApiError(422, f"arms: choose 1 to 3 variants to compare with the baseline (got {len(req.arms)}); "
                                    f"allowed: {', '.join(allowed)}")
            if len(set(req.arms)) != len(req.arms):
                raise ApiError(422, "arms: a variant is named twice")
            arms = [Arm("baseline", s.variant("baseline").replace({"scale": scale}, source=req.scenario),
                        "the file's values")]
            for name in req.arms:
                if name == "levers":
                    arms.append(Arm("levers", L.apply_levers(s, req.levers, scale=scale), "the current levers"))
                elif name in s.variants:
                    arms.append(Arm(name, s.variant(name, source=req.scenario).replace({"scale": scale},
                                                                                      source=req.scenario),
                                    s.variants[name].description))
                else:
                    raise ApiError(422, f"arms: unknown variant {shown(name)}; allowed: {', '.join(allowed)}")
        job = manager.submit(req.kind, req.scenario, arms, run["replicates"], run["seed"],
                             city=req.city if req.kind == "lattice" else None, source_path=path, client=client,
                             levers=req.levers, settings=run)
        return job_status(job)

    @app.get("/api/jobs/{job_id}")
    def status(job_id: str) -> dict[str, Any]:
        return job_status(job_or_404(job_id))

    @app.post("/api/jobs/{job_id}/cancel")
    def cancel(job_id: str, request: Request) -> dict[str, Any]:
        job = own_job(job_id, request, "cancel")
        manager.cancel(job)
        return job_status(job)

    @app.delete("/api/jobs/{job_id}")
    def drop(job_id: str, request: Request) -> dict[str, Any]:
        """The client drops its job: cancelled if unfinished, its results forgotten (its files stay on disk)."""
        job = own_job(job_id, request, "drop")
        manager.drop(job)
        return {"id": job.id, "dropped": True}

    @app.get("/api/jobs/{job_id}/timeline")
    def timeline(job_id: str, city: str = "", arm: str = "") -> dict[str, Any]:
        job = finished(job_id, ("run", "compare"))
        arm, results = arm_results(job, arm)
        names = results[0].names
        if city and city not in names:
            raise ApiError(422, f"city: unknown city {shown(city)}; allowed: {', '.join(names)} (or none: national)")
        i = names.index(city) if city else None
        return {"job": job.id, "arm": arm, "city": city or None, "unit": "people", "times": _times(results[0]),
                "series": {name: _band(np.array([_series(r, name, i) for r in results])) for name in SERIES},
                "summary": summary(results) if i is None else None, "runs": len(results),
                "interval": INTERVAL, "scale": results[0].scenario.scale, "events": events_of(results[0].scenario)}

    @app.get("/api/jobs/{job_id}/map")
    def city_map(job_id: str, arm: str = "") -> dict[str, Any]:
        job = finished(job_id, ("run", "compare"))
        arm, results = arm_results(job, arm)
        s = results[0].scenario
        share = np.array([r.unrest() * 1000.0 / r.citizens[:, None] for r in results])  # run x city x step
        per = np.median(share, axis=0)
        low, high = np.percentile(share, [5, 95], axis=0)
        return {"job": job.id, "times": _times(results[0]),
                "cities": [{"name": c.name, "lat": c.lat, "lon": c.lon, "population": c.population}
                           for c in s.cities],
                "unrest_per_1000": np.round(per, 3).tolist(), "max": round(float(per.max(initial=0.0)), 3),
                "unrest_per_1000_low": np.round(low, 3).tolist(), "unrest_per_1000_high": np.round(high, 3).tolist(),
                "interval": INTERVAL,
                "range": [0.0, UNREST_MAX_PER_1000], "colour_scale": [[p, c] for p, c in UNREST_STOPS],
                "legend": UNREST_LEGEND, "scale": s.scale, "runs": len(results)}

    @app.get("/api/jobs/{job_id}/compare")
    def comparison(job_id: str, city: str = "") -> dict[str, Any]:
        """Per arm: bands (:data:`INTERVAL`) of unrest (active + violent), cumulative deaths and cumulative
        detentions (arrests and sweeps), for all cities or ``city``, and the arm's events; the paired rows, with
        significance marked only from :data:`~uprising.country.compare.ADVISED_REPLICATES` replicates on."""
        from ..country.compare import ADVISED_REPLICATES, markdown, rows_as_dicts

        job = finished(job_id, ("compare",))
        r0 = job.results[job.arms[0].name][0]
        names = r0.names
        if city and city not in names:
            raise ApiError(422, f"city: unknown city {shown(city)}; allowed: {', '.join(names)} (or none: national)")
        i = names.index(city) if city else None

        def band(runs, columns, cumulative):
            return _band(np.array([r.people(columns, i, cumulative=cumulative) for r in runs]))

        arms = []
        for a in job.arms:
            runs = job.results[a.name]
            arms.append({"name": a.name, "description": a.description,
                         "unrest": band(runs, ("active", "violent"), False),
                         "deaths": band(runs, CUMULATIVE["killed"], True),
                         "detained": band(runs, ("arrests", "swept"), True),
                         "events": events_of(runs[0].scenario)})
        scale = r0.scenario.scale
        return {"job": job.id, "times": _times(r0), "unit": "people", "city": city or None, "cities": list(names),
                "interval": INTERVAL, "replicates": job.replicates, "advised_replicates": ADVISED_REPLICATES,
                "scale": scale, "arms": arms, "rows": rows_as_dicts(job.compare_rows or []),
                "markdown": markdown(job.compare_rows or [], scale=scale),
                "posterior": posterior_effects(scenarios_dir, job.scenario_id, [a.name for a in job.arms[1:]])}

    @app.get("/api/jobs/{job_id}/lattice")
    def lattice(job_id: str) -> dict[str, Any]:
        job = finished(job_id, ("lattice",))
        return {"job": job.id, **(job.lattice or {}), "frames": len((job.lattice or {}).get("steps", []))}

    @app.get("/api/jobs/{job_id}/lattice.bin")
    def lattice_bytes(job_id: str) -> Response:
        job = finished(job_id, ("lattice",))
        return Response(job.lattice_bytes or b"", media_type="application/octet-stream")

    @app.get("/api/jobs/{job_id}/figure/{name}")
    def figure(job_id: str, name: str) -> FileResponse:
        job = finished(job_id, ("run", "compare"))
        kinds = FIGURES[job.kind]
        stem = name.removesuffix(".png")
        if stem not in kinds:
            raise ApiError(422, f"figure: unknown figure {shown(name)} for a {job.kind} job; allowed: "
                                f"{', '.join(k + '.png' for k in kinds)}")
        path = results_dir / "app" / job.id / f"{stem}.png"
        with plot_lock:  # pyplot is not thread-safe
            if not path.is_file():
                make_figure(job, stem, path)
        with job.lock:
            job.files.setdefault(f"figure: {stem}", f"app/{job.id}/{stem}.png")
        return FileResponse(path, media_type="image/png", filename=f"{job.scenario_id}-{job.kind}-{job.id}-{stem}.png")

    @app.get("/api/download")
    def download(path: str = "") -> FileResponse:
        full = safe_path(results_dir, path)
        return FileResponse(full, filename=download_name(path, full, manager))

    return app


def download_name(rel: str, full: Path, manager: JobManager) -> str:
    """The name a download is saved under: a job's file (app/ID/NAME) is named SCENARIO-KIND-ID-NAME, so that the
    tables of a run and of a comparison (both runs.csv on the server) never overwrite each other; others keep
    their name."""
    parts = PurePosixPath(rel.replace("\\", "/")).parts
    if len(parts) == 3 and parts[0] == "app" and JOB_ID.fullmatch(parts[1]):
        job = manager.get(parts[1])
        what = f"{job.scenario_id}-{job.kind}-" if job is not None else ""
        return f"uprising-{what}{parts[1]}-{full.name}"
    return full.name


def make_figure(job: Job, kind: str, path: Path) -> Path:
    """A PNG of a finished job, drawn by :mod:`uprising.viz.country_plots`."""
    from ..viz import country_plots as P

    if kind == "compare":
        base = job.arms[0].name
        return P.plot_compare(job.results[base], {a.name: job.results[a.name] for a in job.arms[1:]},
                              job.compare_rows or [], path)
    results = job.results[job.arms[0].name]
    if kind == "cities":
        return P.plot_cities(results, path)
    if kind == "map":
        return P.plot_map(results, path)
    targets = None
    if job.source_path is not None:
        from ..country.fit import find_targets, load_targets

        candidate = find_targets(Path(job.source_path))
        if candidate is not None:
            try:
                targets = load_targets(candidate, results[0].scenario).targets
            except ScenarioError:
                targets = None
    return P.plot_record(results, targets, path)
