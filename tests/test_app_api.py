"""The web explorer's JSON API (FastAPI's TestClient): scenarios and levers, jobs with progress, cancelling,
two jobs at once, results equal to the driver's runs, one-line errors, downloads kept inside the results
folder, and assets served locally (no CDN)."""

from __future__ import annotations

import csv
import importlib.resources
import re
import threading
import time

import numpy as np
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from app_helpers import (KAZAKHSTAN, TOWNS, TWO_TOWNS, assert_no_server_path, assert_one_line_error, client_headers, counts_by_run,
                         scenarios_folder, wait_job)
from conftest import ROOT
from uprising.app import levers as L
from uprising.app.server import create_app, plotly_js
from uprising.country.scenario import CountryScenario
from uprising.country.simulate import simulate_country
from uprising.scenario import ScenarioError

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("app")
    return scenarios_folder(root / "scenarios", kazakhstan=True), root / "results"


@pytest.fixture(scope="module")
def client(folders):
    scenarios, results = folders
    with TestClient(create_app(results, scenarios), base_url="http://127.0.0.1:8050") as c:
        yield c


@pytest.fixture(scope="module")
def towns(folders):
    return CountryScenario.load(folders[0] / "two-towns.toml")


def start(client, scenario="two-towns", **body):
    res = client.post("/api/jobs", json={"scenario": scenario, **body})
    assert res.status_code == 202, res.text
    return res.json()


# ---------------------------------------------------------------------- scenarios and levers
def test_scenarios_are_the_country_files_and_their_levers_come_from_the_file(client):
    listed = client.get("/api/scenarios").json()
    assert [s["id"] for s in listed["scenarios"]] == ["kazakhstan-2022", "two-towns"]  # not the Model I file
    s = client.get("/api/scenarios/two-towns").json()
    assert [c["name"] for c in s["cities"]] == list(TOWNS)
    levers = {lv["key"]: lv for lv in s["levers"]}
    assert levers["price.peak"]["default"] == 120.0
    assert levers["price.caps"]["default"] == "file" and levers["price.caps_at"]["default"] == "2022-01-02T12:00"
    assert levers["intervention.troops"]["default"] == 2000 and levers["intervention.role"]["default"] == "guard"
    assert levers["intervention.arrive"]["default"] == "2022-01-02T00:00"
    assert levers["intervention.leave"]["default"] == "2022-01-02T20:00"
    assert levers["shoot_order.on"]["default"] is True and levers["shoot_order.at"]["default"] == "2022-01-02T06:00"
    assert levers["blackout.level"]["default"] == 0.9
    assert levers["shock.cabinet-falls"]["default"] == -0.02
    assert levers["police.per_1000"]["default"] == 57.0
    run = {r["key"]: r for r in s["run"]}
    assert run["scale"]["max"] == 0.05 and run["replicates"]["max"] == 20
    assert {v["name"] for v in s["variants"]} == {"no-troops", "no-shoot-order", "late-cap", "no-blackout"}
    assert s["outline"] and len(s["outline"][0]) > 50  # the shipped outline (the towns lie in Kazakhstan)


def test_every_shipped_episode_gets_the_explorers_levers_without_code(tmp_path):
    # issue 16: a scenario anyone can write gets the levers from its file alone: the shipped episodes (Kazakhstan,
    # Ecuador, Iran) are all listed, none skipped, each with its own first price and its own variants
    with TestClient(create_app(tmp_path / "results", ROOT / "scenarios"), base_url="http://127.0.0.1:8050") as c:
        listed = c.get("/api/scenarios").json()
        assert listed.get("skipped", []) == []
        ids = {s["id"] for s in listed["scenarios"]}
        assert {"ecuador-2019", "iran-2019", "kazakhstan-2022", "kazakhstan-2022-v2"} <= ids
        ecuador = c.get("/api/scenarios/ecuador-2019").json()
        levers = {lv["key"]: lv for lv in ecuador["levers"]}
        assert levers["price.peak"]["default"] == 198.7 and levers["price.caps_at"]["default"] == "2019-10-13T22:00"
        assert {v["name"] for v in ecuador["variants"]} >= {"no-repeal", "internet-shutdown"}
        iran = {lv["key"]: lv for lv in c.get("/api/scenarios/iran-2019").json()["levers"]}
        assert iran["price.peak"]["default"] == 150.0 and iran["shoot_order.on"]["default"] is True


def test_levers_at_their_defaults_leave_the_scenario_as_it_is(towns):
    assert L.apply_levers(towns, {}).hash() == towns.hash()
    defaults = {s["key"]: s["default"] for s in L.lever_specs(towns)}
    assert L.apply_levers(towns, defaults).hash() == towns.hash()
    assert L.apply_levers(towns, {}, scale=0.02).hash() == towns.replace({"scale": 0.02}).hash()


def test_levers_edit_the_events_and_cities_they_name(towns):
    s = L.apply_levers(towns, {"police.per_1000": 40, "price.peak": 150, "price.caps": "at",
                               "price.caps_at": "2022-01-01T18:00", "intervention.troops": 1000,
                               "intervention.role": "arrest", "intervention.arrive": "2022-01-01T12:00",
                               "shoot_order.at": "2022-01-01T09:00", "blackout.level": 0.5,
                               "shock.cabinet-falls": 0.01})
    ev = {e.id: e for e in s.events}
    assert [c.police_per_1000 for c in s.cities] == [40, 40, 40]
    assert ev["price-rise"].price == 150 and str(ev["cap"].at) == "2022-01-01 18:00:00"
    assert ev["troops"].troops == {"Oilton": 1000} and ev["troops"].role == "arrest"
    assert str(ev["troops"].start) == "2022-01-01 12:00:00" and str(ev["troops"].end) == "2022-01-02 20:00:00"
    assert str(ev["shoot-order"].at) == "2022-01-01 09:00:00"
    assert ev["blackout"].level == 0.5 and ev["cabinet-falls"].delta == 0.01
    off = L.apply_levers(towns, {"price.caps": "none", "intervention.on": False, "shoot_order.on": False,
                                 "blackout.on": False})
    kinds = [e.kind for e in off.events]
    assert "intervention" not in kinds and "shoot_order" not in kinds and "blackout" not in kinds
    assert [e.id for e in off.events if e.kind == "price"] == ["price-rise"]
    # an order is added where the file has none, for every city
    again = L.apply_levers(off, {"shoot_order.on": True, "shoot_order.at": "2022-01-02T00:00"})
    order = [e for e in again.events if e.kind == "shoot_order"]
    assert len(order) == 1 and order[0].cities == ["all"] and str(order[0].at) == "2022-01-02 00:00:00"


def test_troops_are_split_in_the_files_proportions():
    assert L._split(2030, [1500, 530]) == [1500, 530]
    assert L._split(1000, [1500, 530]) == [739, 261]
    assert sum(L._split(7, [1, 1, 1])) == 7


@pytest.mark.parametrize("levers, words", [
    ({"police.per_1000": -1}, ["police.per_1000", "[0, 500]"]),
    ({"police.per_1000": "many"}, ["police.per_1000", "expected a number"]),
    ({"blackout.level": 1.5}, ["blackout.level", "[0, 1]"]),
    ({"price.caps": "sometimes"}, ["price.caps", "file | at | none"]),
    ({"shoot_order.at": "2022-13-45T99:00"}, ["shoot_order.at", "not a time", "YYYY-MM-DDTHH:MM"]),
    ({"intervention.arrive": "2023-01-01T00:00"}, ["intervention.arrive", "outside the run"]),
    ({"intervention.arrive": "2022-01-02T22:00"}, ["intervention.arrive", "arrive before it leaves"]),
    ({"intervention.on": "yes"}, ["intervention.on", "true or false"]),
    ({"legitimacy": 0.5}, ["unknown lever", "police.per_1000"]),
])
def test_bad_levers_raise_one_line_naming_the_lever(towns, levers, words):
    with pytest.raises(ScenarioError) as err:
        L.apply_levers(towns, levers)
    text = str(err.value)
    assert "\n" not in text and text.startswith("levers: ")
    for word in words:
        assert word in text, (word, text)


# ---------------------------------------------------------------------- jobs
def test_a_job_runs_to_the_end_with_its_progress_and_writes_its_tables(client, folders, towns):
    job = start(client, run={"replicates": 2, "seed": 3, "scale": 0.01}, levers={"police.per_1000": 50})
    assert job["state"] in ("queued", "running", "done") and job["total"] == 2 * 48
    seen = wait_job(client, job["id"])
    assert seen[-1]["state"] == "done", seen[-1]
    done = [s["done"] for s in seen]
    assert done == sorted(done) and done[-1] == seen[-1]["total"] == 96
    files = seen[-1]["files"]
    results = folders[1]
    assert files["runs (CSV)"] == f"app/{job['id']}/runs.csv"
    table = pq.read_table(results / files["runs (Parquet)"])
    assert table.num_rows == 2 * 3 * 49 and set(table.column("seed").to_pylist()) == {3}
    csv_text = (results / files["runs (CSV)"]).read_text()
    assert csv_text.count("\n") == 2 * 3 * 49 + 1 and '"city"' in csv_text.splitlines()[0]
    # the results are the driver's runs of the edited scenario
    edited = towns.replace({"cities.*.police_per_1000": 50, "scale": 0.01})
    direct = [simulate_country(edited, 3, r) for r in range(2)]
    nat = client.get(f"/api/jobs/{job['id']}/timeline").json()
    assert len(nat["times"]) == 49 and nat["times"][0] == "2022-01-01T00:00"
    active = np.array([r.national("active") / r.scale for r in direct])
    assert np.allclose(nat["series"]["active"]["median"], np.median(active, axis=0), atol=1e-3)
    assert np.allclose(nat["series"]["active"]["high"], np.percentile(active, 95, axis=0), atol=1e-3)
    killed = np.array([np.cumsum(np.r_[0, (r.national("killed_protesters") + r.national("killed_bystanders")
                                           + r.national("killed_security"))[1:]]) / r.scale for r in direct])
    assert np.allclose(nat["series"]["killed"]["median"], np.median(killed, axis=0), atol=1e-3)
    city = client.get(f"/api/jobs/{job['id']}/timeline", params={"city": "Portville"}).json()
    jailed = np.array([r.column("jailed")[1] / r.scale for r in direct])
    assert np.allclose(city["series"]["jailed"]["median"], np.median(jailed, axis=0), atol=1e-3)
    m = client.get(f"/api/jobs/{job['id']}/map").json()
    share = np.median([r.unrest() * 1000.0 / r.citizens[:, None] for r in direct], axis=0)
    assert np.allclose(m["unrest_per_1000"], share, atol=1e-3) and [c["name"] for c in m["cities"]] == list(TOWNS)


def test_cancel_stops_a_long_job_within_a_few_steps(client):
    job = start(client, scenario="kazakhstan-2022", run={"replicates": 20, "scale": 0.01})
    total = job["total"]
    assert total == 20 * 480
    seen = wait_job(client, job["id"], until=("running",))
    while seen[-1]["done"] == 0:
        seen = wait_job(client, job["id"], until=("running",))
    asked = time.monotonic()
    assert client.get("/api/scenarios").status_code == 200  # the server answers while the job runs
    assert time.monotonic() - asked < 1.0
    assert client.get(f"/api/jobs/{job['id']}").json()["state"] == "running"
    res = client.post(f"/api/jobs/{job['id']}/cancel")
    asked = time.monotonic()
    assert res.status_code == 200
    final = wait_job(client, job["id"], timeout=10)[-1]
    assert final["state"] == "cancelled", final
    assert time.monotonic() - asked < 3.0
    assert 0 < final["done"] < 480, final  # stopped inside its first run, not at the end of it
    assert_one_line_error(client.get(f"/api/jobs/{job['id']}/timeline"), 409, "cancelled")


def test_two_jobs_at_once_keep_their_own_results(client, folders, towns):
    """Two tabs: different levers, started together, each job's table is the driver's runs of its own levers."""
    levers_a = {"police.per_1000": 30, "shoot_order.on": False}
    levers_b = {"police.per_1000": 80, "price.peak": 200}
    ids = {}

    def tab(name, levers):
        ids[name] = start(client, levers=levers, run={"replicates": 3, "seed": 11, "scale": 0.02})["id"]

    threads = [threading.Thread(target=tab, args=("a", levers_a)), threading.Thread(target=tab, args=("b", levers_b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = {name: wait_job(client, job_id) for name, job_id in ids.items()}
    assert all(s[-1]["state"] == "done" for s in statuses.values())
    a, b = statuses["a"][-1], statuses["b"][-1]
    assert a["started"] < b["finished"] and b["started"] < a["finished"]  # they ran at the same time
    tables = {}
    for name, levers in (("a", levers_a), ("b", levers_b)):
        edited = L.apply_levers(towns, levers, scale=0.02)
        got = counts_by_run(folders[1] / "app" / ids[name] / "runs.parquet")
        assert sorted(got) == [(11, 0), (11, 1), (11, 2)]
        for rep in range(3):
            r = simulate_country(edited, 11, rep)
            want = np.stack([r.column(c) for c in ("quiet", "active", "violent", "jailed", "killed_protesters")], axis=-1)
            assert np.array_equal(got[(11, rep)], want), (name, rep)
        tables[name] = got
    assert not np.array_equal(tables["a"][(11, 0)], tables["b"][(11, 0)])


def test_a_comparison_pairs_variants_with_the_baseline_on_the_same_seeds(client, folders, towns):
    job = start(client, kind="compare", arms=["no-troops", "levers"], levers={"police.per_1000": 30},
                run={"replicates": 3, "seed": 2})
    seen = wait_job(client, job["id"])
    assert seen[-1]["state"] == "done" and seen[-1]["total"] == 3 * 3 * 48
    data = client.get(f"/api/jobs/{job['id']}/compare").json()
    assert [a["name"] for a in data["arms"]] == ["baseline", "no-troops", "levers"]
    rows = {(r["variant"], r["outcome"]): r for r in data["rows"]}
    assert len(rows) == 2 * 9 and "| no-troops |" in data["markdown"]
    base = [simulate_country(towns.replace({"scale": 0.01}), 2, r) for r in range(3)]
    lever = [simulate_country(L.apply_levers(towns, {"police.per_1000": 30}, scale=0.01), 2, r) for r in range(3)]
    peak = lambda runs: np.array([(r.unrest().sum(axis=0) / r.scale).max() for r in runs])  # noqa: E731
    row = rows[("levers", "peak_unrest")]
    assert row["baseline_mean"] == pytest.approx(peak(base).mean())
    assert row["difference"] == pytest.approx((peak(lever) - peak(base)).mean())
    assert row["difference_ci_low"] <= row["difference"] <= row["difference_ci_high"]
    table = pq.read_table(folders[1] / "app" / job["id"] / "runs.parquet")
    assert set(table.column("arm").to_pylist()) == {"baseline", "no-troops", "levers"}
    assert (folders[1] / "app" / job["id"] / "compare.csv").read_text().startswith("\"variant\",")
    png = client.get(f"/api/jobs/{job['id']}/figure/compare.png")
    assert png.status_code == 200 and png.content[:8] == PNG and len(png.content) > 5000


def test_a_lattice_job_returns_the_snapshots_of_one_city(client, towns):
    job = start(client, kind="lattice", city="Hilltop", run={"seed": 4})
    assert wait_job(client, job["id"])[-1]["state"] == "done"
    meta = client.get(f"/api/jobs/{job['id']}/lattice").json()
    frames = client.get(f"/api/jobs/{job['id']}/lattice.bin").content
    w, h, n = meta["width"], meta["height"], meta["frames"]
    assert n == len(meta["steps"]) == len(meta["times"]) > 10 and len(frames) == n * w * h
    kinds = np.frombuffer(frames, dtype=np.uint8).reshape(n, h, w)
    direct = simulate_country(towns.replace({"scale": 0.01}), 4, 0, snapshot_every=meta["every"],
                              snapshot_cities=["Hilltop"]).snapshots["Hilltop"]
    assert meta["steps"] == sorted(direct)
    for i, k in enumerate(meta["steps"]):
        assert np.array_equal(kinds[i], direct[k])
    assert set(np.unique(kinds)) <= {0, 1, 2, 3, 4, 5}


def test_run_figures_are_pngs_drawn_by_the_server(client):
    job = start(client, run={"replicates": 2})
    assert wait_job(client, job["id"])[-1]["state"] == "done"
    for kind in ("cities", "map", "record"):
        res = client.get(f"/api/jobs/{job['id']}/figure/{kind}.png")
        assert res.status_code == 200 and res.content[:8] == PNG, kind
        assert "attachment" in res.headers["content-disposition"]
    assert_one_line_error(client.get(f"/api/jobs/{job['id']}/figure/compare.png"), 422, "cities.png")


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize("body, status, words", [
    ({"scenario": "two-towns", "run": {"scale": 0.5}}, 422, ["scale", "(0, 0.05]", "0.5"]),
    ({"scenario": "two-towns", "run": {"scale": 0}}, 422, ["scale", "(0, 0.05]"]),
    ({"scenario": "two-towns", "run": {"replicates": 21}}, 422, ["replicates", "[1, 20]"]),
    ({"scenario": "two-towns", "run": {"replicates": 2.5}}, 422, ["replicates", "whole number"]),
    ({"scenario": "two-towns", "run": {"steps": 5}}, 422, ["steps", "unknown run setting"]),
    ({"scenario": "atlantis"}, 404, ["unknown scenario 'atlantis'", "two-towns"]),
    ({"scenario": "../two-towns"}, 404, ["unknown scenario"]),
    ({"scenario": "two-towns", "levers": {"police.per_1000": 9999}}, 422, ["police.per_1000", "[0, 500]"]),
    ({"scenario": "two-towns", "levers": {"police.per_1000": 480}}, 422, ["police_per_1000", "do not fit"]),
    ({"scenario": "two-towns", "levers": {"price.caps": "at", "price.caps_at": "soon"}}, 422,
     ["price.caps_at", "not a time: 'soon'"]),
    ({"scenario": "two-towns", "levers": {"price.caps_at": "2022-02-30T10:00"}}, 422, ["price.caps_at", "not a time"]),
    ({"scenario": "two-towns", "levers": {"nope": 1}}, 422, ["nope", "unknown lever"]),
    ({"scenario": "two-towns", "kind": "compare", "arms": ["no-such"]}, 422, ["unknown variant 'no-such'", "levers"]),
    ({"scenario": "two-towns", "kind": "compare", "arms": []}, 422, ["arms", "1 to 3"]),
    ({"scenario": "two-towns", "kind": "lattice", "city": "Gotham"}, 422, ["unknown city 'Gotham'", "Oilton"]),
    ({"scenario": "two-towns", "kind": "dance"}, 422, ["kind"]),
    ({"scenario": "two-towns", "extra": 1}, 422, ["extra"]),
    ({"levers": {}}, 422, ["scenario"]),
])
def test_bad_input_gets_one_line_json_errors(client, body, status, words):
    assert_one_line_error(client.post("/api/jobs", json=body), status, *words)


def test_malformed_requests_and_unknown_things_get_one_line_errors(client):
    assert_one_line_error(client.post("/api/jobs", content=b"{not json", headers={"content-type": "application/json"}),
                          422, "not valid JSON")
    assert_one_line_error(client.get("/api/scenarios/atlantis"), 404, "unknown scenario")
    assert_one_line_error(client.get("/api/jobs/123456789abc"), 404, "unknown job")
    assert_one_line_error(client.post("/api/jobs/123456789abc/cancel"), 404, "unknown job")
    assert_one_line_error(client.get("/api/nothing-here"), 404, "not found")


def test_results_of_a_running_job_are_refused_until_it_is_done(client):
    job = start(client, run={"replicates": 20, "scale": 0.05})
    assert_one_line_error(client.get(f"/api/jobs/{job['id']}/timeline"), 409, job["id"])
    client.post(f"/api/jobs/{job['id']}/cancel")
    assert wait_job(client, job["id"], timeout=10)[-1]["state"] == "cancelled"


# ---------------------------------------------------------------------- downloads
@pytest.fixture(scope="module")
def finished_job(client):
    job = start(client, run={"replicates": 1})
    assert wait_job(client, job["id"])[-1]["state"] == "done"
    return client.get(f"/api/jobs/{job['id']}").json()


def test_a_download_serves_a_file_of_the_results_folder(client, finished_job):
    res = client.get("/api/download", params={"path": finished_job["files"]["runs (CSV)"]})
    assert res.status_code == 200 and res.text.startswith('"run_id"')
    # named after its job, so that the tables of two jobs (both runs.csv on the server) never overwrite each other
    assert f'filename="uprising-two-towns-run-{finished_job["id"]}-runs.csv"' in res.headers["content-disposition"]
    res = client.get("/api/download", params={"path": finished_job["files"]["runs (Parquet)"]})
    assert res.status_code == 200 and res.content[:4] == b"PAR1"


@pytest.mark.parametrize("query, status, words", [
    ("path=../x", 400, ["'../x'", "'..' is not allowed"]),
    ("path=..%2F..%2Fetc%2Fpasswd", 400, ["'..' is not allowed"]),
    ("path=%2e%2e%2fscenarios%2ftwo-towns.toml", 400, ["'..' is not allowed"]),
    ("path=app/..%5C..%5Cscenarios%5Ctwo-towns.toml", 400, ["'..' is not allowed"]),
    ("path=%2Fetc%2Fpasswd", 400, ["absolute"]),
    ("path=C:%5Cwindows%5Cwin.ini", 400, ["absolute"]),
    ("path=app/none.csv", 404, ["no such file"]),
    ("path=", 400, ["path"]),
    ("path=app%00x", 400, ["NUL"]),
])
def test_download_refuses_paths_outside_the_results_folder(client, finished_job, query, status, words):
    assert_one_line_error(client.get("/api/download?" + query), status, *words)


def test_download_refuses_a_link_that_leads_out_of_the_results_folder(client, folders, finished_job):
    scenarios, results = folders
    link = results / "app" / "escape.toml"
    link.symlink_to(scenarios / "two-towns.toml")
    try:
        assert_one_line_error(client.get("/api/download", params={"path": "app/escape.toml"}), 400,
                              "outside the results folder")
    finally:
        link.unlink()


# ---------------------------------------------------------------------- offline assets
def test_every_asset_is_served_by_the_app_itself(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "default-src 'self'" in page.headers["content-security-policy"]
    static = importlib.resources.files("uprising.app").joinpath("static")
    texts = {name: static.joinpath(name).read_text(encoding="utf-8") for name in ("index.html", "app.js", "app.css")}
    for name, text in texts.items():
        assert not re.search(r"https?://", text), f"{name} names an external URL"
        assert not re.search(r"""["'`(=]\s*//[A-Za-z0-9-]+\.""", text), f"{name} names a protocol-relative URL"
        assert "@import" not in text and "fonts.googleapis" not in text
    refs = re.findall(r'(?:src|href)="([^"]+)"', texts["index.html"])
    assert refs and all(ref.startswith("/") and not ref.startswith("//") or ref.startswith("data:") for ref in refs)
    for ref in refs:
        if not ref.startswith("data:"):
            assert client.get(ref).status_code == 200, ref
    js = client.get("/vendor/plotly.min.js")
    assert js.status_code == 200 and js.content == plotly_js().read_bytes() and b"plotly.js" in js.content[:200]
    assert client.get("/static/app.js").text == texts["app.js"]


# ---------------------------------------------------------------------- DNS rebinding: host names and origins
@pytest.fixture(scope="module")
def lan(folders):
    """The explorer as ``uprising serve --host 192.168.1.10 --port 8050`` makes it."""
    scenarios, results = folders
    with TestClient(create_app(results, scenarios, host="192.168.1.10", port=8050),
                    base_url="http://127.0.0.1:8050") as c:
        yield c


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.1:8050", "localhost", "localhost:8050", "LOCALHOST:8050",
                                  "[::1]", "[::1]:8050", "192.168.1.10", "192.168.1.10:8050"])
def test_the_servers_own_host_names_are_answered(lan, host):
    res = lan.get("/api/scenarios", headers={"host": host})
    assert res.status_code == 200, (host, res.text)
    assert "default-src 'self'" in res.headers["content-security-policy"]


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8050", "127.0.0.1.evil.example:8050",
                                  "localhost.evil.example", "192.168.1.11:8050", "::1", "[::2]:8050",
                                  "127.0.0.1:80x", "127.0.0.1:8050:1", "", "localhost@evil.example"])
def test_any_other_host_name_is_refused_in_one_line(lan, host):
    """A page of evil.example whose name was rebound to 127.0.0.1 reaches the server with its own name."""
    for res in (lan.get("/api/scenarios", headers={"host": host}), lan.get("/", headers={"host": host}),
                lan.post("/api/jobs", json={"scenario": "two-towns"}, headers={"host": host}),
                lan.get("/api/download", params={"path": "app/x/runs.csv"}, headers={"host": host})):
        assert_one_line_error(res, (400, 421), "host")
        assert "default-src 'self'" in res.headers["content-security-policy"]


def test_a_default_server_refuses_other_host_names_too(client):
    assert_one_line_error(client.post("/api/jobs", json={"scenario": "two-towns"}, headers={"host": "evil.example"}),
                          (400, 421), "host")
    assert_one_line_error(client.get("/api/scenarios", headers={"host": "evil.example:8050"}), (400, 421), "host")
    assert client.get("/api/scenarios", headers={"host": "localhost:8050"}).status_code == 200


@pytest.mark.parametrize("origin", ["http://evil.example", "http://evil.example:8050", "null",
                                    "http://127.0.0.1:9999", "https://localhost:8050.evil.example", "file://",
                                    "http://localhost:8050/x", "not a url"])
def test_a_state_changing_request_from_another_origin_is_refused(lan, origin):
    headers = {"origin": origin}
    assert_one_line_error(lan.post("/api/jobs", json={"scenario": "two-towns", "run": {"replicates": 1}},
                                   headers=headers), 403, "origin")
    job = lan.post("/api/jobs", json={"scenario": "two-towns", "run": {"replicates": 1}})
    assert job.status_code == 202, job.text
    job_id = job.json()["id"]
    assert_one_line_error(lan.post(f"/api/jobs/{job_id}/cancel", headers=headers), 403, "origin")
    assert_one_line_error(lan.delete(f"/api/jobs/{job_id}", headers=headers), 403, "origin")
    assert_one_line_error(lan.put(f"/api/jobs/{job_id}", headers=headers), 403, "origin")
    assert wait_job(lan, job_id)[-1]["state"] == "done"  # nothing cancelled it


@pytest.mark.parametrize("origin", ["http://127.0.0.1:8050", "http://localhost:8050", "http://[::1]:8050",
                                    "http://192.168.1.10:8050"])
def test_a_state_changing_request_from_the_servers_own_origin_is_answered(lan, origin):
    res = lan.post("/api/jobs", json={"scenario": "two-towns", "run": {"replicates": 1}}, headers={"origin": origin})
    assert res.status_code == 202, res.text
    assert wait_job(lan, res.json()["id"])[-1]["state"] == "done"


# ---------------------------------------------------------------------- no 500s, no server paths
@pytest.fixture
def own_app(tmp_path):
    """A fresh explorer on its own folders (a test may spoil them): (client, scenarios, results)."""
    scenarios = scenarios_folder(tmp_path / "scenarios")
    results = tmp_path / "results"
    (results / "app").mkdir(parents=True)
    with TestClient(create_app(results, scenarios), base_url="http://127.0.0.1:8050") as c:
        yield c, scenarios, results


def test_long_paths_and_link_loops_get_one_line_errors_without_server_paths(own_app):
    client, scenarios, results = own_app
    app_dir = results / "app"
    (app_dir / "loop-a").symlink_to(app_dir / "loop-b")
    (app_dir / "loop-b").symlink_to(app_dir / "loop-a")
    (app_dir / "self").symlink_to(app_dir / "self")
    for path in ("a" * 300, "app/" + "b" * 300 + ".csv", "a/" * 3000, "c" * 6000, "app/loop-a", "app/loop-a/x.csv",
                 "app/self", "app/self/runs.csv"):
        res = client.get("/api/download", params={"path": path})
        message = assert_one_line_error(res, (400, 404, 414), "path")
        assert len(message) < 400, len(message)  # the path is not echoed whole
        assert_no_server_path(res, results, scenarios)
    for url in ("/static/" + "d" * 300, "/static/" + "e/" * 3000, "/api/jobs/" + "f" * 6000,
                "/api/jobs/" + "f" * 300 + "/timeline", "/" + "g" * 6000):
        res = client.get(url)
        message = assert_one_line_error(res, (400, 404, 414))
        assert len(message) < 400, len(message)
        assert_no_server_path(res, results, scenarios)


@pytest.mark.parametrize("body, words", [
    ({"run": {"seed": 10**400}}, ["seed", "[0, 2147483647]"]),
    ({"run": {"replicates": -10**400}}, ["replicates", "[1, 20]"]),
    ({"run": {"scale": 10**400}}, ["scale"]),
    ({"levers": {"price.peak": 10**400}}, ["price.peak", "[0, 1e+06]"]),
    ({"levers": {"intervention.troops": 10**400}}, ["intervention.troops", "[0, 10000000]"]),
    ({"levers": {"police.per_1000": -10**400}}, ["police.per_1000"]),
    ({"levers": {"shock.cabinet-falls": "1" * 400}}, ["shock.cabinet-falls"]),
])
def test_huge_integers_get_one_line_errors(client, body, words):
    message = assert_one_line_error(client.post("/api/jobs", json={"scenario": "two-towns", **body}), 422, *words)
    assert len(message) < 400, message  # the 400 digits are not echoed whole


def test_a_bad_scenario_file_added_later_is_listed_as_unusable(own_app):
    client, scenarios, results = own_app
    (scenarios / "deep.toml").write_text("[[cities]]\nname = " + "[" * 50_000 + "]" * 50_000 + "\n")
    (scenarios / "broken.toml").write_text('[[cities]]\nname = "Oilton"\npopulation = -5\n')
    (scenarios / "garbage.toml").write_bytes(b"\xff\xfe[[cities]\n")
    (scenarios / "dangling.toml").symlink_to(scenarios / "nowhere.toml")
    listed = client.get("/api/scenarios")
    assert listed.status_code == 200, listed.text
    data = listed.json()
    assert [s["id"] for s in data["scenarios"]] == ["two-towns"]
    skipped = {s["file"]: s["error"] for s in data["skipped"]}
    assert {"deep.toml", "broken.toml", "garbage.toml", "dangling.toml"} <= set(skipped), skipped
    for error in skipped.values():
        assert error and "\n" not in error and len(error) < 400, error
    assert_no_server_path(listed, results, scenarios)
    assert client.post("/api/jobs", json={"scenario": "two-towns", "run": {"replicates": 1}}).status_code == 202
    for sid in ("deep", "broken", "garbage"):
        res = client.post("/api/jobs", json={"scenario": sid})
        assert_one_line_error(res, (404, 422), sid)
        assert_no_server_path(res, results, scenarios)
        res = client.get(f"/api/scenarios/{sid}")
        assert_one_line_error(res, (404, 422), sid)
        assert_no_server_path(res, results, scenarios)


def test_no_response_names_the_results_or_scenarios_folder(own_app):
    client, scenarios, results = own_app
    (results / "app" / "escape.toml").symlink_to(scenarios / "two-towns.toml")
    (scenarios / "bad.toml").write_text('[[cities]]\nname = "X"\n')
    job = client.post("/api/jobs", json={"scenario": "two-towns", "run": {"replicates": 1}})
    assert job.status_code == 202
    responses = [job, client.get("/api/scenarios"), client.get("/api/scenarios/two-towns"),
                 client.get("/api/scenarios/bad"), client.get("/api/scenarios/../../etc"),
                 client.get("/api/download", params={"path": "app/escape.toml"}),
                 client.get("/api/download", params={"path": "app/none.csv"}),
                 client.get("/api/download", params={"path": "/etc/passwd"}),
                 client.get("/api/download", params={"path": "../x"}),
                 client.post("/api/jobs", json={"scenario": "bad"}),
                 client.post("/api/jobs", json={"scenario": "two-towns", "kind": "compare", "arms": ["x"]})]
    done = wait_job(client, job.json()["id"])
    responses += [client.get(f"/api/jobs/{job.json()['id']}"), client.get(f"/api/jobs/{job.json()['id']}/map")]
    assert done[-1]["state"] == "done"
    for res in responses:
        assert res.status_code < 500, res.text
        assert_no_server_path(res, results, scenarios)


# ---------------------------------------------------------------------- jobs: a bounded queue, each client's own jobs
LONG = {"scenario": "kazakhstan-2022", "run": {"replicates": 20, "scale": 0.01}}


@pytest.fixture
def one_worker(folders):
    """An explorer with one worker: a second job waits in the queue. Every job left is cancelled at the end."""
    scenarios, results = folders
    app = create_app(results, scenarios, workers=1)
    with TestClient(app, base_url="http://127.0.0.1:8050") as c:
        yield c
        with app.state.manager.lock:
            jobs = list(app.state.manager.jobs.values())
        for job in jobs:
            app.state.manager.cancel(job)


def test_the_queue_is_bounded_with_429_and_a_clear_line(one_worker):
    from uprising.app.jobs import MAX_WAITING, MAX_WAITING_PER_CLIENT

    assert MAX_WAITING_PER_CLIENT < MAX_WAITING <= 16
    first = "client-0000"
    ids = []
    for _ in range(MAX_WAITING_PER_CLIENT):
        res = one_worker.post("/api/jobs", json=LONG, headers=client_headers(first))
        assert res.status_code == 202, res.text
        ids.append(res.json()["id"])
    message = assert_one_line_error(one_worker.post("/api/jobs", json=LONG, headers=client_headers(first)), 429,
                                    f"{MAX_WAITING_PER_CLIENT} jobs")
    assert "cancel" in message, message
    for i in range(1, MAX_WAITING - MAX_WAITING_PER_CLIENT + 1):
        res = one_worker.post("/api/jobs", json=LONG, headers=client_headers(f"client-{i:04d}"))
        assert res.status_code == 202, res.text
    message = assert_one_line_error(one_worker.post("/api/jobs", json=LONG, headers=client_headers("someone-else")),
                                    429, "queue is full", f"{MAX_WAITING} jobs")
    assert "try again" in message, message
    # a cancelled job frees its place
    assert one_worker.post(f"/api/jobs/{ids[-1]}/cancel", headers=client_headers(first)).status_code == 200
    assert one_worker.post("/api/jobs", json=LONG, headers=client_headers(first)).status_code == 202
    docs = (ROOT / "docs" / "app.md").read_text()
    assert f"{MAX_WAITING} jobs" in docs and f"{MAX_WAITING_PER_CLIENT} per client" in docs


def test_a_queued_job_shows_its_place_in_the_queue(one_worker):
    ids = [one_worker.post("/api/jobs", json=LONG, headers=client_headers(f"client-{i:04d}")).json()["id"]
           for i in range(3)]
    wait_job(one_worker, ids[0], until=("running",))
    positions = [one_worker.get(f"/api/jobs/{i}").json()["queue_position"] for i in ids]
    assert positions == [None, 1, 2]
    one_worker.post(f"/api/jobs/{ids[1]}/cancel", headers=client_headers("client-0001"))
    assert one_worker.get(f"/api/jobs/{ids[2]}").json()["queue_position"] == 1
    mine = one_worker.get("/api/jobs", headers=client_headers("client-0002")).json()
    assert [j["id"] for j in mine["jobs"]] == [ids[2]] and mine["jobs"][0]["queue_position"] == 1


def test_a_clients_jobs_stay_however_many_jobs_other_clients_run(client):
    """Another tab's submissions never evict a user's run (before: only the last 20 jobs of all were kept)."""
    mine = start(client, run={"replicates": 1, "scale": 0.005})
    assert wait_job(client, mine["id"])[-1]["state"] == "done"
    for _ in range(25):
        other = client.post("/api/jobs", json={"scenario": "two-towns", "run": {"replicates": 1, "scale": 0.002}},
                            headers=client_headers("another-tab"))
        assert other.status_code == 202, other.text
        assert wait_job(client, other.json()["id"])[-1]["state"] == "done"
    assert client.get(f"/api/jobs/{mine['id']}").json()["state"] == "done"
    assert client.get(f"/api/jobs/{mine['id']}/timeline").status_code == 200
    theirs = client.get("/api/jobs", headers=client_headers("another-tab")).json()
    assert mine["id"] not in {j["id"] for j in theirs["jobs"]}


def test_a_job_its_client_dropped_is_gone_with_a_clear_message(client):
    job = client.post("/api/jobs", json={"scenario": "two-towns", "run": {"replicates": 1}},
                      headers=client_headers("tab-one-0"))
    job_id = job.json()["id"]
    assert wait_job(client, job_id)[-1]["state"] == "done"
    assert_one_line_error(client.delete(f"/api/jobs/{job_id}", headers=client_headers("tab-two-0")), 403,
                          "another client")
    res = client.delete(f"/api/jobs/{job_id}", headers=client_headers("tab-one-0"))
    assert res.status_code == 200, res.text
    for url in (f"/api/jobs/{job_id}", f"/api/jobs/{job_id}/timeline"):
        message = assert_one_line_error(client.get(url), 410, job_id, "is gone", "dropped")
        assert "unknown job" not in message
    gone = client.get("/api/jobs", headers=client_headers("tab-one-0")).json()["gone"]
    assert [g["id"] for g in gone] == [job_id] and "dropped" in gone[0]["reason"]


def test_a_finished_job_is_forgotten_after_the_stated_time(folders):
    scenarios, results = folders
    app = create_app(results, scenarios, keep_hours=1 / 3600)
    with TestClient(app, base_url="http://127.0.0.1:8050") as c:
        job_id = c.post("/api/jobs", json={"scenario": "two-towns", "run": {"replicates": 1}}).json()["id"]
        assert wait_job(c, job_id)[-1]["state"] == "done"
        time.sleep(1.2)
        message = assert_one_line_error(c.get(f"/api/jobs/{job_id}"), 410, job_id, "is gone", "1 s")
        assert "unknown job" not in message
    assert create_app(results, scenarios).state.manager.keep_hours == 24
    assert "24 h" in (ROOT / "docs" / "app.md").read_text()


def test_a_bad_client_id_is_refused(client):
    assert_one_line_error(client.get("/api/jobs", headers=client_headers("x" * 500)), 400, "X-Uprising-Client")
    assert_one_line_error(client.get("/api/jobs", headers=client_headers("a b")), 400, "X-Uprising-Client")


def test_folders_given_relative_are_kept_out_of_answers_and_messages_stay_whole(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    scenarios_folder(tmp_path / "scenarios")
    with TestClient(create_app("results", "scenarios"), base_url="http://localhost:8050") as c:
        res = c.get("/api/download", params={"path": "app/none.csv"})
        assert_one_line_error(res, 404, "no such file in the results folder")
        assert_no_server_path(res, tmp_path / "results", tmp_path / "scenarios")


# ---------------------------------------------------------------------- what the explorer shows (issue 13, 7-10)
def test_the_map_has_one_fixed_sequential_scale_shared_with_the_png_map(client):
    """Item 7: light for calm, dark for the most disturbed, a range fixed across runs (not each run's maximum),
    the legend in per 1,000 residents; the PNG map draws with the same stops and range."""
    from uprising.viz import country_plots as P
    from uprising.viz.unrest_colours import UNREST_MAX_PER_1000, UNREST_STOPS, relative_luminance

    light = [relative_luminance(c) for _, c in UNREST_STOPS]
    assert all(a > b for a, b in zip(light, light[1:])), light  # more unrest: darker, monotonically
    maps = []
    for police in (0, 200):  # a calm run and a wild one get the same range
        job = start(client, run={"replicates": 1}, levers={"police.per_1000": police})
        assert wait_job(client, job["id"])[-1]["state"] == "done"
        maps.append(client.get(f"/api/jobs/{job['id']}/map").json())
    for m in maps:
        assert m["interval"] == "5-95% of the runs"
        low, mid, high = (np.array(m[k]) for k in ("unrest_per_1000_low", "unrest_per_1000", "unrest_per_1000_high"))
        assert low.shape == mid.shape == high.shape and (low <= mid + 1e-9).all() and (mid <= high + 1e-9).all()
        assert m["range"] == [0.0, UNREST_MAX_PER_1000]
        assert m["colour_scale"] == [[p, c] for p, c in UNREST_STOPS]
        assert "per 1,000 residents" in m["legend"]
    towns = CountryScenario.load(TWO_TOWNS)
    fig = P.map_figure([simulate_country(towns, 0, 0)])
    cities = next(c for c in fig.axes[0].collections if c.get_array() is not None and len(c.get_array()) == 3)
    assert cities.get_clim() == (0.0, UNREST_MAX_PER_1000)
    cmap = cities.get_cmap()
    assert relative_luminance(_hex(cmap(0.0))) == pytest.approx(light[0], abs=0.01)
    assert relative_luminance(_hex(cmap(1.0))) == pytest.approx(light[-1], abs=0.01)
    assert "per 1,000 residents" in fig.axes[1].get_ylabel()


def _hex(rgba) -> str:
    return "#" + "".join(f"{round(255 * x):02x}" for x in rgba[:3])


def test_every_ensemble_number_comes_with_its_interval_and_the_scale(client):
    """Item 8: the summary gives 5-95% of the runs with each median, and says the scale it ran at."""
    job = start(client, run={"replicates": 3})
    assert wait_job(client, job["id"])[-1]["state"] == "done"
    s = client.get(f"/api/jobs/{job['id']}/timeline").json()["summary"]
    assert s["interval"] == "5-95% of the runs" and s["scale"] == 0.01
    for key in ("peak_unrest", "deaths", "detained", "injured"):
        low, high = s["intervals"][key]
        assert low <= s[key] <= high, (key, s)


def test_the_default_scale_is_the_scenarios_own(client):
    """Item 8: the explorer runs at the scale the file states (Kazakhstan: 0.02, as `uprising run` does)."""
    kz = CountryScenario.load(KAZAKHSTAN)
    spec = {s["key"]: s for s in client.get("/api/scenarios/kazakhstan-2022").json()["run"]}["scale"]
    assert spec["default"] == kz.scale == 0.02
    assert L.parse_run(kz, {})["scale"] == kz.scale


def test_a_comparison_with_too_few_runs_marks_nothing_significant(client, folders):
    """Item 8: with 2 replicates, no row is significant; the answer says how many runs are advised, and the
    compare.md written for download says 'too few runs' and the scale."""
    from uprising.country.compare import ADVISED_REPLICATES, TOO_FEW

    job = start(client, kind="compare", arms=["no-troops"], run={"replicates": 2})
    assert wait_job(client, job["id"])[-1]["state"] == "done"
    data = client.get(f"/api/jobs/{job['id']}/compare").json()
    assert data["advised_replicates"] == ADVISED_REPLICATES and data["replicates"] == 2
    assert data["scale"] == 0.01
    assert {r["significant"] for r in data["rows"]} == {TOO_FEW}
    md = (folders[1] / "app" / job["id"] / "compare.md").read_text()
    assert "yes |" not in md and TOO_FEW in md and "scale 0.01" in md


def test_timelines_carry_the_events_of_the_scenario_that_ran(client, towns):
    """Item 9: every timeline names the events (any kind) with their times, as edited by the levers."""
    job = start(client, run={"replicates": 1}, levers={"intervention.arrive": "2022-01-02T06:00"})
    assert wait_job(client, job["id"])[-1]["state"] == "done"
    for params in ({}, {"city": "Hilltop"}):
        events = client.get(f"/api/jobs/{job['id']}/timeline", params=params).json()["events"]
        assert {e["id"] for e in events} == {e.id for e in towns.events}
        assert {e["kind"] for e in events} == {e.kind for e in towns.events}
        force = next(e for e in events if e["kind"] == "intervention")
        assert force["start"] == "2022-01-02T06:00" and force["label"]
        assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d", e["start"]) for e in events)


def test_a_comparison_gives_deaths_detentions_and_a_city_per_variant(client, towns):
    """Item 9: per variant, bands of unrest, deaths and detentions, nationally or for one city, and events."""
    job = start(client, kind="compare", arms=["no-troops"], run={"replicates": 2})
    assert wait_job(client, job["id"])[-1]["state"] == "done"
    national = client.get(f"/api/jobs/{job['id']}/compare").json()
    city = client.get(f"/api/jobs/{job['id']}/compare", params={"city": "Portville"}).json()
    assert national["city"] is None and city["city"] == "Portville" and city["cities"] == list(TOWNS)
    for data in (national, city):
        for arm in data["arms"]:
            assert {"unrest", "deaths", "detained"} <= set(arm) and len(arm["deaths"]["median"]) == 49
            assert isinstance(arm["events"], list)
    no_troops = next(a for a in national["arms"] if a["name"] == "no-troops")
    assert "intervention" not in {e["kind"] for e in no_troops["events"]}
    assert "intervention" in {e["kind"] for e in national["arms"][0]["events"]}
    assert city["arms"][0]["deaths"]["high"][-1] <= national["arms"][0]["deaths"]["high"][-1]
    res = client.get(f"/api/jobs/{job['id']}/compare", params={"city": "Atlantis"})
    assert_one_line_error(res, 422, "city")


def test_levers_state_times_in_iso_and_the_price_its_unit(client):
    """Item 10: times in ISO 8601 with 24-hour clocks, and the price lever's unit from the mechanism."""
    levers = {lv["key"]: lv for lv in client.get("/api/scenarios/two-towns").json()["levers"]}
    assert levers["price.peak"]["unit"] == "currency per unit" and "currency per unit" in levers["price.peak"]["label"]
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", levers["price.peak"]["label"]), levers["price.peak"]["label"]
    assert not re.search(r"\d\d [A-Z][a-z]{2} ", " ".join(lv["label"] + lv["help"] for lv in levers.values()))


def test_a_first_run_says_the_kernels_are_compiling(client, monkeypatch):
    """Item 10: while the kernels are not yet loaded in this process, a running job says so (phase)."""
    from uprising.app import jobs as J

    release = threading.Event()
    real = J.simulate_country

    def slow(*args, **kwargs):
        release.wait(10)
        return real(*args, **kwargs)

    import uprising.kernels.cache as KC

    monkeypatch.setattr(J, "simulate_country", slow)
    for state, phase in ((KC.COLD, "compiling kernels (first run only)"),
                         (KC.UNKNOWN, "compiling kernels (first run only)"),
                         (KC.CACHED, "loading compiled kernels (first run only)")):
        monkeypatch.setattr(KC, "kernel_state", lambda state=state: state)
        release.clear()
        job = start(client, run={"replicates": 1})
        seen = wait_job(client, job["id"], until=("running",))
        assert seen[-1]["phase"] == phase
        release.set()
        last = wait_job(client, job["id"])[-1]
        assert last["state"] == "done" and last["phase"] is None
    monkeypatch.undo()
    assert KC.kernel_state() == KC.READY and J.kernel_phase() is None  # this process has run the kernels


def test_downloads_record_their_levers_and_have_distinct_names(client, folders):
    """Item 10: each job writes a JSON sidecar with its levers and run settings; download names differ by job."""
    import json

    run = start(client, run={"replicates": 1, "seed": 5}, levers={"police.per_1000": 40})
    comp = start(client, kind="compare", arms=["no-troops"], run={"replicates": 1})
    names = set()
    for job, kind in ((run, "run"), (comp, "compare")):
        status = wait_job(client, job["id"])[-1]
        assert status["state"] == "done"
        meta = json.loads((folders[1] / status["files"]["levers and settings (JSON)"]).read_text())
        assert meta["job"] == job["id"] and meta["kind"] == kind and meta["scenario"] == "two-towns"
        assert meta["run"]["scale"] == 0.01 and "levers" in meta
        res = client.get("/api/download", params={"path": status["files"]["runs (CSV)"]})
        name = re.search(r'filename="([^"]+)"', res.headers["content-disposition"])[1]
        assert job["id"] in name and name.endswith(".csv")
        names.add(name)
    assert len(names) == 2
    meta = json.loads((folders[1] / f"app/{run['id']}/levers.json").read_text())
    assert meta["levers"]["police.per_1000"] == 40 and meta["run"]["seed"] == 5


def test_a_comparison_shows_the_posterior_interval_when_the_scenario_has_one(client, folders):
    """Issue 15: with ``two-towns-compare-posterior.csv`` beside the scenario (what ``uprising compare --posterior``
    writes), the comparison carries its rows for the compared variants; without it, none."""
    from uprising.country import compare as C

    job = start(client, kind="compare", arms=["no-troops"], run={"replicates": 2})
    assert wait_job(client, job["id"])[-1]["state"] == "done"
    assert client.get(f"/api/jobs/{job['id']}/compare").json()["posterior"] is None
    drawn = {v: {o: np.array([1.0, 3.0, -1.0, 5.0]) * (i + 1) for o in C.OUTCOMES}
             for i, v in enumerate(["baseline", "no-troops", "no-blackout"])}
    rows = C.compare_posterior({}, drawn)
    path = folders[0] / "two-towns-compare-posterior.csv"
    with path.open("w", newline="") as fh:
        table = C.posterior_rows_as_dicts(rows, scale=0.005)
        w = csv.DictWriter(fh, fieldnames=list(table[0]))
        w.writeheader()
        w.writerows(table)
    try:
        post = client.get(f"/api/jobs/{job['id']}/compare").json()["posterior"]
    finally:
        path.unlink()
    assert post["file"] == path.name and post["draws"] == 4 and post["scale"] == 0.005
    assert {r["variant"] for r in post["rows"]} == {"no-troops"}  # only the variants compared
    deaths = next(r for r in post["rows"] if r["outcome"] == "deaths_total")
    assert deaths["posterior_mean"] == pytest.approx(2.0) and deaths["p_sign"] == pytest.approx(0.75)
