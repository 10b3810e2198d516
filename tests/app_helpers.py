"""Shared helpers of the web explorer's tests: a scenarios folder, job polling, one-line error checks."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from conftest import ROOT

DATA = Path(__file__).resolve().parent / "data"
TWO_TOWNS = DATA / "two-towns.toml"
KAZAKHSTAN = ROOT / "scenarios" / "kazakhstan-2022.toml"
TOWNS = ("Oilton", "Portville", "Hilltop")


def scenarios_folder(path: Path, kazakhstan: bool = False) -> Path:
    """A scenarios folder with the two towns (and the Kazakhstan scenario and its targets, if asked)."""
    path.mkdir(parents=True, exist_ok=True)
    shutil.copy(TWO_TOWNS, path / "two-towns.toml")
    if kazakhstan:
        shutil.copy(KAZAKHSTAN, path / KAZAKHSTAN.name)
        shutil.copy(KAZAKHSTAN.with_name("kazakhstan-2022-targets.csv"), path / "kazakhstan-2022-targets.csv")
    (path / "not-a-country.toml").write_text('name = "model one"\nwidth = 10\nheight = 10\n')
    return path


def wait_job(client, job_id: str, timeout: float = 60.0, until=("done", "failed", "cancelled")) -> list[dict]:
    """Poll a job until its state is one of ``until``; every status seen, in order."""
    seen = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        res = client.get(f"/api/jobs/{job_id}")
        assert res.status_code == 200, res.text
        seen.append(res.json())
        if seen[-1]["state"] in until:
            return seen
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {seen[-1]['state'] if seen else '?'} after {timeout} s")


def assert_one_line_error(res, status: int | tuple[int, ...], *words: str) -> str:
    """A refused request: the status, a JSON body {"error": one line} naming ``words``, no traceback."""
    statuses = status if isinstance(status, tuple) else (status,)
    assert res.status_code in statuses, (res.status_code, res.text)
    body = res.json()
    assert set(body) == {"error"}, body
    message = body["error"]
    assert isinstance(message, str) and message and "\n" not in message, message
    assert "Traceback" not in message and 'File "' not in message, message
    for word in words:
        assert word in message, (word, message)
    return message


def counts_by_run(path: Path, arm: str | None = None) -> dict[tuple[int, int], np.ndarray]:
    """The counts of a runs table, per (seed, replicate): an array city x step x (quiet, active, violent, jailed)."""
    table = pq.read_table(path).to_pandas()
    if arm is not None:
        table = table[table["arm"] == arm]
    out = {}
    for (seed, rep), rows in table.groupby(["seed", "replicate"]):
        cities = list(dict.fromkeys(rows["city"]))
        out[(int(seed), int(rep))] = np.stack([
            rows[rows["city"] == c].sort_values("step")[["quiet", "active", "violent", "jailed", "killed_protesters"]]
            .to_numpy() for c in cities])
    return out


def assert_no_server_path(res, *folders: Path) -> None:
    """No response body names a folder of the server (absolute, as given or resolved), nor its parent."""
    body = res.text
    for folder in folders:
        for form in {str(folder), str(folder.resolve()), str(folder.resolve().parent)}:
            assert form not in body, (form, res.status_code, body[:300])


def client_headers(client_id: str) -> dict[str, str]:
    """The header by which the page names its client (its tab)."""
    return {"X-Uprising-Client": client_id}
