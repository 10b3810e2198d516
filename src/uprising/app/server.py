"""The explorer's web server: a JSON API over the country model, and the page that uses it.

``create_app(results_dir, scenarios_dir)`` returns a FastAPI application. Every asset
the page loads is served by it (the page, its script and style, and plotly.js from
the installed ``plotly`` package), so the explorer works with no internet. Runs are
jobs (:mod:`uprising.app.jobs`): the handlers start, poll, cancel and read them, and
never run a simulation themselves. Bad input comes back as HTTP 400, 404, 409 or 422
with ``{"error": "<one line>"}``; the page shows that line (never a traceback).
"""

from __future__ import annotations

import contextlib
import importlib.resources
import json
import logging
import re
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
from ..country.scenario import CountryScenario, is_country_file
from ..scenario import ScenarioError
from . import levers as L
from .jobs import Arm, Job, JobManager

log = logging.getLogger("uprising.app")
STATIC = Path(__file__).resolve().parent / "static"
SERIES = ("quiet", "active", "violent", "jailed", "killed", "injured")
FIGURES = {"run": ("cities", "record", "map"), "compare": ("compare",)}
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'")


class ApiError(Exception):
    """A request the API refuses: an HTTP status and one line saying what is wrong and what is allowed."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


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
    """The country scenarios in a folder (``*.toml`` files with ``[[cities]]``), by file stem; reloaded on change."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._cache: dict[Path, tuple[float, CountryScenario | ScenarioError]] = {}
        self._lock = threading.Lock()

    def _load(self, path: Path) -> CountryScenario | ScenarioError:
        mtime = path.stat().st_mtime
        with self._lock:
            hit = self._cache.get(path)
            if hit and hit[0] == mtime:
                return hit[1]
        try:
            value: CountryScenario | ScenarioError = CountryScenario.load(path)
        except ScenarioError as exc:
            value = exc
        with self._lock:
            self._cache[path] = (mtime, value)
        return value

    def all(self) -> tuple[dict[str, tuple[Path, CountryScenario]], list[dict[str, str]]]:
        ok, skipped = {}, []
        for path in sorted(self.folder.glob("*.toml")):
            if not is_country_file(path):
                continue
            value = self._load(path)
            if isinstance(value, ScenarioError):
                skipped.append({"file": path.name, "error": str(value)})
            else:
                ok[path.stem] = (path, value)
        return ok, skipped

    def get(self, sid: Any) -> tuple[Path, CountryScenario]:
        ok, _ = self.all()
        if not isinstance(sid, str) or sid not in ok:
            raise ApiError(404, f"scenario: unknown scenario {sid!r}; allowed: {', '.join(ok) or '(none)'}")
        return ok[sid]


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
    return [t.strftime("%Y-%m-%dT%H:%M") for t in r.times()]


def _median(values) -> float:
    return round(float(np.median(values)), 3)


def summary(results) -> dict[str, Any]:
    """Headline figures, medians over the runs, in people."""
    return {"runs": len(results), "peak_unrest": _median([O.peak(r)[0] for r in results]),
            "deaths": _median([O.killed_by(r)["total"] for r in results]),
            "detained": _median([O.detained_by(r, r.clock.day_of(r.steps)) for r in results]),
            "injured": _median([sum(O.injured(r).values()) for r in results]),
            "agents": int(results[0].citizens.sum()), "residents_per_agent": round(results[0].residents_per_agent, 3)}


def arm_results(job: Any, arm: str) -> tuple[str, list]:
    """The runs of ``arm`` of a finished job (its first arm by default), or a one-line ApiError."""
    arm = arm or job.arms[0].name
    if arm not in job.results:
        raise ApiError(422, f"arm: unknown arm {arm!r}; allowed: {', '.join(job.results)}")
    return arm, job.results[arm]


# ---------------------------------------------------------------------- paths
def safe_path(root: Path, rel: Any) -> Path:
    """``rel`` inside the results folder ``root``, or ApiError: absolute paths, ``..`` and links out are refused."""
    if not isinstance(rel, str) or not rel.strip():
        raise ApiError(400, "path: give a file of the results folder, e.g. app/JOB/runs.csv")
    if "\x00" in rel:
        raise ApiError(400, "path: must not contain NUL characters")
    text = rel.replace("\\", "/")
    if text.startswith("/") or re.match(r"^[A-Za-z]:", text):
        raise ApiError(400, f"path: {rel!r} is absolute; give a path relative to the results folder")
    if ".." in PurePosixPath(text).parts:
        raise ApiError(400, f"path: {rel!r} leaves the results folder ('..' is not allowed)")
    base = root.resolve()
    full = (base / text).resolve()
    if not full.is_relative_to(base):
        raise ApiError(400, f"path: {rel!r} resolves outside the results folder")
    if not full.is_file():
        raise ApiError(404, f"path: no such file in the results folder: {rel!r}")
    return full


# ---------------------------------------------------------------------- the application
def create_app(results_dir: str | Path = "results", scenarios_dir: str | Path = "scenarios",
               workers: int = 2, keep: int = 20) -> FastAPI:
    """The explorer: the page at ``/``, the JSON API under ``/api``; runs are written to ``results_dir/app``."""
    results_dir = Path(results_dir)
    registry = Scenarios(Path(scenarios_dir))
    manager = JobManager(results_dir, workers=workers, keep=keep)
    plot_lock = threading.Lock()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        manager.shutdown()

    app = FastAPI(title="uprising explorer", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.manager = manager
    app.state.registry = registry
    app.state.results_dir = results_dir

    # ------------------------------------------------------------------ errors: one line, no traceback
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    @app.exception_handler(ScenarioError)
    async def _scenario_error(request: Request, exc: ScenarioError):
        return JSONResponse({"error": str(exc).splitlines()[0]}, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "request"
        message = str(first.get("msg", "invalid")).splitlines()[0]
        if first.get("type") == "json_invalid":
            message = "the body is not valid JSON"
        return JSONResponse({"error": f"{where}: {message}"}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else "error"
        if exc.status_code == 404:
            detail = f"not found: {request.url.path}"
        return JSONResponse({"error": detail}, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception):
        log.exception("request %s failed", request.url.path)
        text = str(exc).splitlines()[0] if str(exc) else ""
        return JSONResponse({"error": f"internal error ({type(exc).__name__}): {text}"}, status_code=500)

    @app.middleware("http")
    async def _headers(request: Request, call_next):
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
    def job_or_404(job_id: str) -> Job:
        job = manager.get(job_id)
        if job is None:
            raise ApiError(404, f"job: unknown job {job_id!r} (finished jobs are kept for a while, then forgotten)")
        return job

    def finished(job_id: str, kinds: tuple[str, ...] | None = None) -> Job:
        job = job_or_404(job_id)
        if kinds is not None and job.kind not in kinds:
            raise ApiError(409, f"job: {job.id} is a {job.kind} job; this needs a {' or '.join(kinds)} job")
        if job.state != "done":
            why = f"failed: {job.error}" if job.state == "failed" else job.state
            raise ApiError(409, f"job: {job.id} is {why}; its results come when it is done")
        return job

    @app.post("/api/jobs", status_code=202)
    def start(req: JobRequest) -> dict[str, Any]:
        path, s = registry.get(req.scenario)
        run = L.parse_run(s, req.run)
        scale = run["scale"]
        if req.kind == "run":
            arms = [Arm("run", L.apply_levers(s, req.levers, scale=scale))]
        elif req.kind == "lattice":
            names = [c.name for c in s.cities]
            if req.city not in names:
                raise ApiError(422, f"city: unknown city {req.city!r}; allowed: {', '.join(names)}")
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
                    raise ApiError(422, f"arms: unknown variant {name!r}; allowed: {', '.join(allowed)}")
        job = manager.submit(req.kind, req.scenario, arms, run["replicates"], run["seed"],
                             city=req.city if req.kind == "lattice" else None, source_path=path)
        return job.status()

    @app.get("/api/jobs/{job_id}")
    def status(job_id: str) -> dict[str, Any]:
        return job_or_404(job_id).status()

    @app.post("/api/jobs/{job_id}/cancel")
    def cancel(job_id: str) -> dict[str, Any]:
        job = job_or_404(job_id)
        manager.cancel(job)
        return job.status()

    @app.get("/api/jobs/{job_id}/timeline")
    def timeline(job_id: str, city: str = "", arm: str = "") -> dict[str, Any]:
        job = finished(job_id, ("run", "compare"))
        arm, results = arm_results(job, arm)
        names = results[0].names
        if city and city not in names:
            raise ApiError(422, f"city: unknown city {city!r}; allowed: {', '.join(names)} (or none: national)")
        i = names.index(city) if city else None
        return {"job": job.id, "arm": arm, "city": city or None, "unit": "people", "times": _times(results[0]),
                "series": {name: _band(np.array([_series(r, name, i) for r in results])) for name in SERIES},
                "summary": summary(results) if i is None else None, "runs": len(results)}

    @app.get("/api/jobs/{job_id}/map")
    def city_map(job_id: str, arm: str = "") -> dict[str, Any]:
        job = finished(job_id, ("run", "compare"))
        arm, results = arm_results(job, arm)
        s = results[0].scenario
        share = np.array([r.unrest() * 1000.0 / r.citizens[:, None] for r in results])  # run x city x step
        per = np.median(share, axis=0)
        return {"job": job.id, "times": _times(results[0]),
                "cities": [{"name": c.name, "lat": c.lat, "lon": c.lon, "population": c.population}
                           for c in s.cities],
                "unrest_per_1000": np.round(per, 3).tolist(), "max": round(float(per.max(initial=0.0)), 3)}

    @app.get("/api/jobs/{job_id}/compare")
    def comparison(job_id: str) -> dict[str, Any]:
        from ..country.compare import markdown, rows_as_dicts

        job = finished(job_id, ("compare",))
        r0 = job.results[job.arms[0].name][0]
        return {"job": job.id, "times": _times(r0), "unit": "people",
                "arms": [{"name": a.name, "description": a.description,
                          "unrest": _band(np.array([O.national_unrest(r) for r in job.results[a.name]]))}
                         for a in job.arms],
                "rows": rows_as_dicts(job.compare_rows or []), "markdown": markdown(job.compare_rows or [])}

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
            raise ApiError(422, f"figure: unknown figure {name!r} for a {job.kind} job; allowed: "
                                f"{', '.join(k + '.png' for k in kinds)}")
        path = results_dir / "app" / job.id / f"{stem}.png"
        with plot_lock:  # pyplot is not thread-safe
            if not path.is_file():
                make_figure(job, stem, path)
        with job.lock:
            job.files.setdefault(f"figure: {stem}", f"app/{job.id}/{stem}.png")
        return FileResponse(path, media_type="image/png", filename=f"{job.scenario_id}-{stem}.png")

    @app.get("/api/download")
    def download(path: str = "") -> FileResponse:
        full = safe_path(results_dir, path)
        return FileResponse(full, filename=full.name)

    return app


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
