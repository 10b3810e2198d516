"""The web explorer in a real browser: Debian's chromium driven by Playwright, against ``uprising serve``
started as a user starts it (a fresh process on 127.0.0.1, a free port).

The page is loaded, a lever changed, runs made and their charts checked for data, the map's time slider
moved, a lattice animated, two variants compared, a CSV downloaded, a run cancelled and a screenshot
checked for content. Every request the page makes must go to the local server. CI installs chromium
(.ci/run); without it these tests fail, they do not skip.
"""

from __future__ import annotations

import http.server
import io
import queue
import re
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest

from app_helpers import TOWNS, scenarios_folder
from conftest import cli_cmd

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic",
        # evil.example resolves to this machine, as a DNS-rebinding attacker's name does once rebound
        "--host-resolver-rules=MAP evil.example 127.0.0.1"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``uprising serve --port 0`` in a fresh process; its address from the line it prints."""
    root = tmp_path_factory.mktemp("serve")
    folder = scenarios_folder(root / "scenarios", kazakhstan=True)
    proc = subprocess.Popen(cli_cmd("serve", "--port", "0", "--results", str(root / "results"), "--scenarios",
                                    str(folder)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=root)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        first = lines.get(timeout=60)
    except queue.Empty:
        proc.kill()
        pytest.fail("uprising serve printed no address in 60 s: " + proc.stderr.read()[-2000:])
    match = re.search(r"http://127\.0\.0\.1:\d+/", first)
    assert match, first
    yield match.group(0), root / "results"
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
    err = proc.stderr.read()
    assert "Traceback" not in err, err[-3000:]


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: the browser tests need Debian's chromium "
                    "(apt-get install chromium; .ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    url, _ = server
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.requests = []
    page.errors = []
    page.on("request", lambda r: page.requests.append(r.url))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    # a request the Content-Security-Policy blocks never reaches the network (no "request" event); the
    # browser reports it on the console, so a console error fails the test too
    # (the refusals of our own server, HTTP 4xx on bad input, are logged too: those are expected)
    page.on("console", lambda m: page.errors.append(m.text)
            if m.type == "error" and "the server responded with a status of 4" not in m.text else None)
    page.goto(url)
    wait(page, "document.querySelectorAll('#levers [data-key]').length > 0")
    yield page
    context.close()


def wait(page, expression: str, timeout: float = 60.0):
    """Poll a JavaScript expression until it is truthy (the page's CSP forbids wait_for_function's eval)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = page.evaluate(expression)
        if value:
            return value
        time.sleep(0.1)
    message = page.evaluate("document.getElementById('message').textContent")
    raise AssertionError(f"timed out waiting for {expression!r}; the page says: {message!r}")


def assert_local_only(page, server_url: str):
    hosts = {urlparse(u).netloc for u in page.requests if not u.startswith(("data:", "blob:"))}
    assert hosts == {urlparse(server_url).netloc}, hosts
    assert not page.errors, page.errors


def chart(page, div: str) -> dict:
    """What plotly drew in ``div``: its traces' names and point counts, and the job it shows."""
    return page.evaluate(f"""(() => {{
        const d = document.getElementById('{div}');
        return {{job: d.dataset.job || null, step: d.dataset.step || null,
                 traces: (d.data || []).map(t => ({{name: t.name, n: (t.y || []).length,
                     y: Array.from(t.y || []), color: t.marker ? t.marker.color : null}})),
                 svg: d.querySelectorAll('.scatterlayer .trace').length}};
    }})()""")


def pick_scenario(page, sid: str, lever_id: str):
    page.select_option("#scenario", sid)
    wait(page, f"!!document.getElementById('{lever_id}')")


def run(page, previous_job=None) -> dict:
    page.click("#run")
    wait(page, f"(document.getElementById('chart-national').dataset.job || null) !== {previous_job!r}"
               .replace("None", "null"))
    wait(page, "!document.getElementById('run').disabled")
    return chart(page, "chart-national")


def active_median(drawn: dict) -> list[float]:
    return next(t["y"] for t in drawn["traces"] if t["name"] == "active")


def test_explore_the_two_towns_run_map_lattice_compare_download(page, server, tmp_path):
    url, results = server
    assert {"two-towns", "kazakhstan-2022"} <= set(page.eval_on_selector_all("#scenario option", "os => os.map(o => o.value)"))
    pick_scenario(page, "two-towns", "lever-shock_cabinet-falls")
    page.fill("#run-replicates", "2")
    first = run(page)
    assert first["job"] and first["svg"] > 0
    assert len(active_median(first)) == 49 and max(active_median(first)) > 0
    # change a lever and run again: the chart shows the new run
    page.fill("#lever-police_per_1000", "25")
    second = run(page, first["job"])
    assert second["job"] != first["job"]
    assert active_median(second) != active_median(first)
    assert "police.per_1000" not in page.inner_text("#message")
    city = chart(page, "chart-city")
    assert city["job"] == second["job"] and any(t["n"] == 49 for t in city["traces"])
    assert second["job"] in page.inner_text("#summary")

    # the map: the outline and the towns, coloured at the slider's time
    page.click("[data-tab=map]")
    drawn = wait(page, "document.getElementById('chart-map').dataset.job")
    assert drawn == second["job"]
    m = chart(page, "chart-map")
    towns = m["traces"][-1]
    assert towns["n"] == 3 and any(t["name"] == "outline" and t["n"] > 50 for t in m["traces"])
    page.fill("#map-slider", "0")
    wait(page, "document.getElementById('chart-map').dataset.step === '0'")
    assert chart(page, "chart-map")["traces"][-1]["color"] == [0, 0, 0]  # nobody is out at the start
    assert page.inner_text("#map-time") == "2022-01-01 00:00"
    page.fill("#map-slider", "30")
    wait(page, "document.getElementById('chart-map').dataset.step === '30'")
    assert page.inner_text("#map-time") == "2022-01-02 06:00"

    # a lattice animates
    page.click("[data-tab=lattice]")
    page.select_option("#lattice-city", "Oilton")
    page.click("#lattice-run")
    wait(page, "Number(document.getElementById('lattice-canvas').dataset.drawn || 0) >= 4")
    frames = page.evaluate("window.uprisingState.lattice.meta.frames")
    assert frames > 10
    colours = page.evaluate("""(() => {
        const c = document.getElementById('lattice-canvas');
        const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const seen = new Set();
        for (let i = 0; i < px.length; i += 4) seen.add(px[i] + ',' + px[i + 1] + ',' + px[i + 2]);
        return seen.size;
    })()""")
    assert colours >= 3  # empty, quiet and police at least
    page.fill("#lattice-slider", str(frames - 1))
    wait(page, f"document.getElementById('lattice-canvas').dataset.frame === '{frames - 1}'")
    assert "Oilton, 2022-01-03 00:00" in page.inner_text("#lattice-time")

    # compare the current levers and a variant with the baseline
    page.click("[data-tab=compare]")
    page.check("#compare-arms input[value=levers]")
    page.check("#compare-arms input[value=no-troops]")
    page.click("#compare-run")
    wait(page, "document.getElementById('chart-diff').dataset.job")
    wait(page, "!document.getElementById('run').disabled")
    comp = chart(page, "chart-compare")
    assert [t["name"] for t in comp["traces"] if not t["name"].endswith("5-95%")] == ["baseline", "levers", "no-troops"]
    assert all(t["n"] == 49 for t in comp["traces"] if not t["name"].endswith("5-95%"))
    diff = chart(page, "chart-diff")
    assert [t["name"] for t in diff["traces"]] == ["levers", "no-troops"] and all(t["n"] == 5 for t in diff["traces"])
    assert page.locator("#compare-table tr").count() == 1 + 2 * 9

    # download the run's CSV
    page.click("[data-tab=downloads]")
    link = page.locator("#downloads a", has_text="runs (CSV)").first
    with page.expect_download() as info:
        link.click()
    saved = tmp_path / "runs.csv"
    info.value.save_as(saved)
    text = saved.read_text()
    assert text.startswith('"run_id"') and text.count("\n") == 2 * 3 * 49 + 1
    assert {c for c in TOWNS if f'"{c}"' in text} == set(TOWNS)

    # a screenshot with content (charts drawn, not a blank page)
    page.click("[data-tab=timelines]")
    shot = page.screenshot(full_page=True)
    import matplotlib.image as mpimg

    pixels = (mpimg.imread(io.BytesIO(shot), format="png")[:, :, :3] * 255).astype(np.uint8)
    distinct = len(np.unique(pixels.reshape(-1, 3), axis=0))
    not_white = float((pixels.min(axis=2) < 235).mean())
    assert distinct > 200 and not_white > 0.05, (distinct, not_white)
    assert_local_only(page, url)


def test_bad_levers_show_a_message_and_no_traceback(page, server):
    url, _ = server
    pick_scenario(page, "two-towns", "lever-shock_cabinet-falls")
    page.fill("#lever-police_per_1000", "9999")
    page.click("#run")
    wait(page, "!document.getElementById('message').hidden && document.getElementById('message').textContent")
    message = page.inner_text("#message")
    assert "police.per_1000" in message and "[0, 500]" in message
    page.fill("#lever-police_per_1000", "57")
    page.fill("#run-scale", "0.5")
    page.click("#run")
    wait(page, "document.getElementById('message').textContent.includes('scale')")
    assert "(0, 0.05]" in page.inner_text("#message")
    page.fill("#run-scale", "0.01")
    page.fill("#lever-shoot_order_at", "")  # an empty time
    page.click("#run")
    wait(page, "document.getElementById('message').textContent.includes('shoot_order.at')")
    body = page.inner_text("body")
    assert "Traceback" not in body and 'File "' not in body
    assert page.evaluate("document.getElementById('chart-national').dataset.job || null") is None
    assert_local_only(page, url)
    # what the browser shows for a download outside the results folder, or an unknown scenario
    for path, words in (("api/download?path=..%2F..%2Fetc%2Fpasswd", "leaves the results folder"),
                        ("api/download?path=%2Fetc%2Fpasswd", "is absolute"),
                        ("api/scenarios/atlantis", "unknown scenario 'atlantis'")):
        response = page.goto(url + path)
        assert response.status in (400, 404)
        text = page.inner_text("body")
        assert words in text and "Traceback" not in text and "root:" not in text, text


def test_a_long_run_can_be_cancelled_from_the_page(page, server):
    url, _ = server
    pick_scenario(page, "two-towns", "lever-shock_cabinet-falls")
    page.fill("#run-scale", "0.05")
    page.fill("#run-replicates", "20")
    page.click("#run")
    wait(page, "/running, [1-9]/.test(document.getElementById('progress-text').textContent)")
    assert page.is_enabled("#cancel") and page.is_disabled("#run")
    width = page.evaluate("parseFloat(document.getElementById('progress-bar').style.width)")
    assert 0 <= width < 100
    page.click("#cancel")
    wait(page, "document.getElementById('message').textContent.includes('was cancelled')", timeout=15)
    assert page.is_enabled("#run") and page.is_disabled("#cancel")
    assert_local_only(page, url)


def test_the_kazakhstan_scenario_at_a_tiny_scale(page, server):
    url, _ = server
    pick_scenario(page, "kazakhstan-2022", "lever-shock_cabinet-resigns")
    assert page.locator("#timeline-city option").count() == 1 + 14
    page.fill("#run-scale", "0.002")
    page.fill("#run-replicates", "1")
    page.fill("#lever-intervention_troops", "4000")
    drawn = run(page)
    assert len(active_median(drawn)) == 481 and max(active_median(drawn)) > 0
    page.click("[data-tab=map]")
    wait(page, "document.getElementById('chart-map').dataset.job")
    m = chart(page, "chart-map")
    assert m["traces"][-1]["n"] == 14 and m["traces"][0]["name"] == "outline"
    assert_local_only(page, url)


def test_two_tabs_run_at_once_and_keep_their_own_runs(browser, server):
    url, _ = server
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    try:
        tabs = []
        for police in ("20", "90"):
            tab = context.new_page()
            tab.requests, tab.errors = [], []
            tab.on("request", lambda r, t=tab: t.requests.append(r.url))
            tab.on("pageerror", lambda e, t=tab: t.errors.append(str(e)))
            tab.goto(url)
            wait(tab, "document.querySelectorAll('#levers [data-key]').length > 0")
            pick_scenario(tab, "two-towns", "lever-shock_cabinet-falls")
            tab.fill("#run-scale", "0.03")
            tab.fill("#run-replicates", "4")
            tab.fill("#lever-police_per_1000", police)
            tabs.append(tab)
        for tab in tabs:  # both start before either is done
            tab.click("#run")
        drawn = []
        for tab in tabs:
            wait(tab, "document.getElementById('chart-national').dataset.job")
            drawn.append(chart(tab, "chart-national"))
        assert drawn[0]["job"] != drawn[1]["job"]
        statuses = [tabs[0].evaluate(f"fetch('/api/jobs/{d['job']}').then(r => r.json())") for d in drawn]
        assert statuses[0]["started"] < statuses[1]["finished"] and statuses[1]["started"] < statuses[0]["finished"]
        for tab, d in zip(tabs, drawn):
            own = tab.evaluate(f"fetch('/api/jobs/{d['job']}/timeline').then(r => r.json())")
            assert active_median(d) == own["series"]["active"]["median"]  # each tab shows its own run
        assert active_median(drawn[0]) != active_median(drawn[1])
        for tab in tabs:
            assert_local_only(tab, url)
    finally:
        context.close()


def other_local_site():
    """A web server on another port of this machine (another origin on the same address): (server, its URL)."""

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<!doctype html><html><body>another site on this machine</body></html>")

        def log_message(self, *args):
            pass

    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    return site, f"http://127.0.0.1:{site.server_address[1]}/"


def test_a_rebound_host_name_or_another_origin_cannot_use_the_explorer(browser, server):
    """DNS rebinding: evil.example now resolves to 127.0.0.1, so its page would be same-origin with its own API
    calls; the server refuses its host name. A page of another origin gets 403 on every state-changing request."""
    url, _ = server
    port = urlparse(url).port
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    site, site_url = other_local_site()
    try:
        page = context.new_page()
        statuses = []
        page.on("response", lambda r: statuses.append((r.request.method, urlparse(r.url).path, r.status)))
        # under its other name, localhost, the page works as usual
        page.goto(f"http://localhost:{port}/")
        wait(page, "document.querySelectorAll('#levers [data-key]').length > 0")
        pick_scenario(page, "two-towns", "lever-shock_cabinet-falls")
        page.fill("#run-replicates", "1")
        drawn = run(page)
        assert drawn["job"] and max(active_median(drawn)) > 0
        csv = page.evaluate(f"fetch('/api/jobs/{drawn['job']}').then(r => r.json()).then(j => j.files['runs (CSV)'])")

        # the rebound name: the page, the API and the results are all refused
        response = page.goto(f"http://evil.example:{port}/")
        assert response.status in (400, 421)
        assert "host" in page.inner_text("body") and "Traceback" not in page.inner_text("body")
        post = page.evaluate("""fetch('/api/jobs', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                body: JSON.stringify({scenario: 'two-towns', run: {replicates: 20}})})
                                .then(r => r.status)""")
        assert post in (400, 421)
        read = page.evaluate(f"fetch('/api/download?path={csv}').then(r => r.status)")
        assert read in (400, 421)

        # another origin on this machine: its POSTs carry its Origin and are refused
        page.goto(site_url)
        for path in ("/api/jobs", f"/api/jobs/{drawn['job']}/cancel"):
            page.evaluate(f"""fetch('{url.rstrip("/")}{path}', {{method: 'POST', mode: 'no-cors',
                              headers: {{'Content-Type': 'text/plain'}},
                              body: JSON.stringify({{scenario: 'two-towns'}})}}).then(r => r.type, e => String(e))""")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len([s for s in statuses if s[0] == "POST"]) < 4:
            time.sleep(0.1)
        posts = [s for s in statuses if s[0] == "POST"]
        # the localhost page's own run, the rebound page's, then the other site's two
        assert [s[2] for s in posts] == [202, post, 403, 403], posts
    finally:
        site.shutdown()
        context.close()


def test_two_clients_keep_their_own_jobs_and_see_their_place_in_the_queue(browser, server):
    """Another client's many jobs never evict a run this page shows; a queued job shows its place in the queue;
    the page says so when a job it shows is gone."""
    url, _ = server
    contexts = [browser.new_context(viewport={"width": 1200, "height": 900}) for _ in range(2)]
    try:
        pages = []
        for context in contexts:
            tab = context.new_page()
            tab.goto(url)
            wait(tab, "document.querySelectorAll('#levers [data-key]').length > 0")
            pick_scenario(tab, "two-towns", "lever-shock_cabinet-falls")
            pages.append(tab)
        a, b = pages
        clients = [tab.evaluate("window.uprisingState.client") for tab in pages]
        assert all(isinstance(c, str) and len(c) >= 16 for c in clients) and clients[0] != clients[1]
        a.fill("#run-replicates", "1")
        mine = run(a)["job"]

        # the other client runs 22 jobs, one after the other
        theirs = b.evaluate("""(async () => {
            const headers = {'Content-Type': 'application/json', 'X-Uprising-Client': window.uprisingState.client};
            const ids = [];
            for (let i = 0; i < 22; i++) {
                const body = JSON.stringify({scenario: 'two-towns', run: {replicates: 1, scale: 0.002, seed: i}});
                let job = await (await fetch('/api/jobs', {method: 'POST', headers, body})).json();
                ids.push(job.id);
                while (job.state === 'queued' || job.state === 'running') {
                    await new Promise((r) => setTimeout(r, 50));
                    job = await (await fetch('/api/jobs/' + job.id, {headers})).json();
                }
                if (job.state !== 'done') return 'job ' + job.id + ' ' + job.state + ' ' + job.error;
            }
            return ids;
        })()""")
        assert isinstance(theirs, list) and len(theirs) == 22, theirs
        # this page's run is still there: another city's timeline loads, and the server lists it as this client's
        a.select_option("#timeline-city", "Hilltop")
        wait(a, f"document.getElementById('chart-city').dataset.city === 'Hilltop'")
        assert chart(a, "chart-city")["job"] == mine
        assert a.is_hidden("#message") or "unknown job" not in a.inner_text("#message")
        listed = a.evaluate("""fetch('/api/jobs', {headers: {'X-Uprising-Client': window.uprisingState.client}})
                               .then(r => r.json())""")
        assert mine in [j["id"] for j in listed["jobs"]] and not set(theirs) & {j["id"] for j in listed["jobs"]}

        # the other client fills both workers; this page's next run waits, and says where it is in the queue
        busy = b.evaluate("""Promise.all([0, 1].map(() => fetch('/api/jobs', {method: 'POST',
            headers: {'Content-Type': 'application/json', 'X-Uprising-Client': window.uprisingState.client},
            body: JSON.stringify({scenario: 'kazakhstan-2022', run: {replicates: 20, scale: 0.01}})})
            .then(r => r.json()).then(j => j.id)))""")
        wait(b, "Promise.all(" + repr(busy) + ".map((id) => fetch('/api/jobs/' + id).then(r => r.json())))"
                ".then((js) => js.every((j) => j.state === 'running'))")
        a.click("#run")
        text = wait(a, "/queued: number [0-9]+ in the queue/.test(document.getElementById('progress-text').textContent)"
                       " && document.getElementById('progress-text').textContent")
        assert text
        a.click("#cancel")
        wait(a, "document.getElementById('message').textContent.includes('was cancelled')", timeout=15)
        for job_id in busy:
            b.evaluate(f"""fetch('/api/jobs/{job_id}/cancel', {{method: 'POST',
                           headers: {{'X-Uprising-Client': window.uprisingState.client}}}}).then(r => r.status)""")

        # the run this page shows is dropped (as another tab of this client may do): the page says it is gone
        a.evaluate(f"""fetch('/api/jobs/{mine}', {{method: 'DELETE',
                       headers: {{'X-Uprising-Client': window.uprisingState.client}}}}).then(r => r.status)""")
        a.evaluate("window.uprisingCheckJobs()")
        wait(a, "document.getElementById('message').textContent.includes('is gone')")
        message = a.inner_text("#message")
        assert mine in message and "unknown job" not in message
    finally:
        for context in contexts:
            context.close()


# ---------------------------------------------------------------------- what the page shows (issue 13, items 7-10)
def layout_of(page, div: str) -> dict:
    """The parts of a plotly chart's layout the tests read: its shapes, annotations' texts and axes' formats."""
    return page.evaluate(f"""(() => {{
        const l = document.getElementById('{div}').layout || {{}};
        const axes = Object.keys(l).filter(k => k.startsWith('xaxis')).map(k => l[k]);
        return {{shapes: (l.shapes || []).length, notes: (l.annotations || []).map(a => a.text),
                 title: l.title ? l.title.text : '', tickformats: axes.map(a => a.tickformat || null),
                 hoverformats: axes.map(a => a.hoverformat || null)}};
    }})()""")


@pytest.fixture
def wide(browser, server):
    """The page at 1440x900 (a laptop's screen), on the two towns; every request checked as in ``page``."""
    url, _ = server
    context = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.requests, page.errors = [], []
    page.on("request", lambda r: page.requests.append(r.url))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(url)
    wait(page, "document.querySelectorAll('#levers [data-key]').length > 0")
    pick_scenario(page, "two-towns", "lever-shock_cabinet-falls")
    yield page
    assert_local_only(page, url)
    context.close()


def compare_two_runs(page, arm: str = "no-troops") -> None:
    """Compare ``arm`` with the baseline at 2 replicates, from the Compare tab."""
    page.fill("#run-replicates", "2")
    page.click("[data-tab=compare]")
    page.check(f"#compare-arms input[value={arm}]")
    page.click("#compare-run")
    wait(page, "document.getElementById('chart-diff').dataset.job")
    wait(page, "!document.getElementById('run').disabled")


def map_marker(page) -> dict:
    """The map's city markers: their colour scale, its range and the colour bar's title."""
    return page.evaluate("""(() => {
        const d = document.getElementById('chart-map'); const t = d.data[d.data.length - 1];
        return {scale: t.marker.colorscale, cmin: t.marker.cmin, cmax: t.marker.cmax,
                bar: t.marker.colorbar.title.text};
    })()""")


def test_the_map_is_light_when_calm_dark_when_disturbed_on_a_fixed_scale(wide):
    """Item 7: one sequential scale, light (calm) to dark (disturbed), fixed across the slider and across runs,
    its legend per 1,000 residents."""
    page = wide
    page.fill("#run-replicates", "2")
    drawn = run(page)
    page.click("[data-tab=map]")
    wait(page, "document.getElementById('chart-map').dataset.job")
    first = map_marker(page)
    assert first["scale"][0][1].lower() == "#ffffcc" and first["scale"][-1][1].lower() == "#800026", first
    assert first["cmin"] == 0 and first["cmax"] == 100 and "per 1,000 residents" in first["bar"], first
    page.fill("#map-slider", "0")
    wait(page, "document.getElementById('chart-map').dataset.step === '0'")
    assert map_marker(page)["cmax"] == 100
    page.screenshot(path="/tmp/a2-map-start.png")
    page.fill("#map-slider", "30")
    wait(page, "document.getElementById('chart-map').dataset.step === '30'")
    assert map_marker(page)["cmax"] == 100
    page.screenshot(path="/tmp/a2-map.png")
    page.click("[data-tab=timelines]")
    page.fill("#lever-police_per_1000", "0")
    run(page, drawn["job"])
    page.click("[data-tab=map]")
    wait(page, f"document.getElementById('chart-map').dataset.job !== {drawn['job']!r}")
    assert map_marker(page)["cmax"] == 100  # another run, the same range


def test_numbers_come_with_intervals_and_the_scenarios_own_scale(wide):
    """Item 8: the default scale is the scenario's own (Kazakhstan states 0.02, as `uprising run` uses); the
    summary gives each median with 5-95% of the runs and the scale; a comparison of 2 runs warns and marks
    nothing significant."""
    page = wide
    pick_scenario(page, "kazakhstan-2022", "lever-shock_cabinet-resigns")
    assert page.input_value("#run-scale") == "0.02"
    pick_scenario(page, "two-towns", "lever-shock_cabinet-falls")
    assert page.input_value("#run-scale") == "0.01"
    page.fill("#run-replicates", "2")
    run(page)
    summary = page.inner_text("#summary")
    assert "5-95% of the runs" in summary and "scale 0.01" in summary, summary
    assert re.search(r"deaths [\d.,]+ \([\d.,]+ to [\d.,]+\)", summary), summary
    compare_two_runs(page)
    note = page.inner_text("#compare-note")
    assert "too few runs" in note and "20" in note, note
    assert page.locator("#compare-table td.sig").count() == 0
    assert "yes" not in page.eval_on_selector_all("#compare-table td", "ts => ts.map(t => t.textContent)")
    assert "scale 0.01" in layout_of(page, "chart-compare")["title"]


def test_timelines_mark_the_events_and_compare_shows_deaths_detentions_and_a_city(wide):
    """Item 9: event marks with their labels on every timeline and compare panel; compare has per-variant
    panels of deaths and detentions, and a city picker."""
    page = wide
    page.fill("#run-replicates", "2")
    drawn = run(page)
    events = page.evaluate(f"fetch('/api/jobs/{drawn['job']}/timeline').then(r => r.json())")["events"]
    for div in ("chart-national", "chart-city"):
        lay = layout_of(page, div)
        assert lay["shapes"] >= len(events) >= 8, lay
        for e in events:
            assert any(e["label"] in (n or "") for n in lay["notes"]), (e["label"], lay["notes"])
    page.screenshot(path="/tmp/a2-timelines.png", full_page=True)
    compare_two_runs(page)
    wait(page, "(document.getElementById('chart-compare-deaths') || {dataset: {}}).dataset.job")
    for div in ("chart-compare", "chart-compare-deaths", "chart-compare-detained"):
        names = [t["name"] for t in chart(page, div)["traces"] if not t["name"].endswith("5-95%")]
        assert set(names) >= {"baseline", "no-troops"}, (div, names)
        assert layout_of(page, div)["shapes"] > 0, div
    national = chart(page, "chart-compare-deaths")
    page.select_option("#compare-city", "Hilltop")
    wait(page, "document.getElementById('chart-compare-deaths').dataset.city === 'Hilltop'")
    assert chart(page, "chart-compare-deaths")["traces"] != national["traces"]
    page.screenshot(path="/tmp/a2-compare.png", full_page=True)


def test_run_is_above_the_fold_times_are_iso_and_downloads_say_their_levers(wide):
    """Item 10: at 1440x900 Run and the progress bar are in view without scrolling; times in ISO 8601 with a
    24-hour clock in the levers and on the date axes; the price's unit; downloads named apart, with their
    levers."""
    page = wide
    for sid, lever in (("kazakhstan-2022", "lever-shock_cabinet-resigns"), ("two-towns", "lever-shock_cabinet-falls")):
        pick_scenario(page, sid, lever)  # Kazakhstan has the longest list of levers
        page.screenshot(path=f"/tmp/a2-{sid}-1440x900.png")
        for selector in ("#run", ".progress", "#progress-text"):
            box = page.locator(selector).bounding_box()
            assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 900, (sid, selector, box)
    times = page.eval_on_selector_all("#levers [data-type=time]", "xs => xs.map(x => [x.type, x.value])")
    assert times and all(t == "text" and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d", v) for t, v in times), times
    assert "currency per unit" in page.inner_text("#levers")
    assert not re.search(r"\b(AM|PM)\b|\d\d/\d\d/\d{4}", page.inner_text("body"))
    page.fill("#run-replicates", "2")
    run(page)
    for div in ("chart-national", "chart-city"):
        lay = layout_of(page, div)
        assert all(f and "%Y-%m-%d" in f and "%H:%M" in f for f in lay["tickformats"]), lay
        assert all(f == "%Y-%m-%d %H:%M" for f in lay["hoverformats"]), lay
    compare_two_runs(page)
    page.click("[data-tab=downloads]")
    names = []
    for link in page.locator("#downloads a", has_text="runs (CSV)").all():
        with page.expect_download() as info:
            link.click()
        names.append(info.value.suggested_filename)
    assert len(names) == 2 and len(set(names)) == 2, names
    assert page.locator("#downloads a", has_text="levers and settings (JSON)").count() == 2


def test_a_comparison_shows_the_posterior_interval_beside_the_seed_only_one(wide, server):
    """Issue 15: where the scenario has a posterior comparison beside it (``NAME-compare-posterior.csv``, what
    ``uprising compare --posterior`` writes), the comparison table adds its interval and P(sign) per row."""
    import csv

    import numpy as np

    from uprising.country import compare as C

    _, results = server
    path = results.parent / "scenarios" / "two-towns-compare-posterior.csv"
    drawn = {v: {o: np.array([1.0, 3.0, -1.0, 5.0]) * (i + 1) for o in C.OUTCOMES}
             for i, v in enumerate(["baseline", "no-troops"])}
    table = C.posterior_rows_as_dicts(C.compare_posterior({}, drawn), scale=0.005)
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(table[0]))
        w.writeheader()
        w.writerows(table)
    try:
        page = wide
        compare_two_runs(page)
        heads = page.eval_on_selector_all("#compare-table th", "ts => ts.map(t => t.textContent)")
        assert "over the posterior (95% CI, parameters and seeds)" in heads and "P(sign)" in heads, heads
        cells = page.eval_on_selector_all("#compare-table td.posterior", "ts => ts.map(t => t.textContent)")
        # the levers' arm (checked by default) has no posterior row: "-"; the variant's 9 rows have theirs
        shown = [c for c in cells if c != "-"]
        assert len(shown) == 2 * len(C.OUTCOMES) and "0.75" in shown, cells
        note = page.inner_text("#compare-posterior-note")
        assert "4 parameter sets" in note and "scale 0.005" in note, note
    finally:
        path.unlink()
