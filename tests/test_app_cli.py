"""``uprising serve``: its options, the warning when it listens beyond this machine, and one-line errors."""

from __future__ import annotations

import socket

import pytest

from app_helpers import scenarios_folder
from uprising.cli import main
from uprising.cli.app import is_loopback


@pytest.fixture
def no_serving(monkeypatch):
    """uvicorn's server returns at once (the command's checks, messages and socket are real)."""
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn.Server, "run",
                        lambda self, sockets=None: calls.append([s.getsockname() for s in sockets]))
    return calls


def run_main(capsys, *args):
    code = 0
    try:
        main(list(args))
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_loopback_addresses():
    for host in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "192.168.1.10", "::", "10.0.0.1"):
        assert not is_loopback(host), host


def test_serve_listens_on_loopback_by_default_and_prints_its_address(tmp_path, capsys, no_serving):
    folder = scenarios_folder(tmp_path / "scenarios")
    code, out, err = run_main(capsys, "serve", "--port", "0", "--scenarios", str(folder),
                              "--results", str(tmp_path / "results"))
    assert code == 0, err
    assert "warning" not in err
    assert "uprising explorer: http://127.0.0.1:" in out
    (name,), = no_serving
    assert name[0] == "127.0.0.1" and name[1] > 0 and f"127.0.0.1:{name[1]}/" in out


def test_serve_warns_when_bound_beyond_this_machine(tmp_path, capsys, no_serving):
    folder = scenarios_folder(tmp_path / "scenarios")
    code, out, err = run_main(capsys, "serve", "--host", "0.0.0.0", "--port", "0", "--scenarios", str(folder),
                              "--results", str(tmp_path / "results"))
    assert code == 0, err
    assert "uprising: warning: serving on 0.0.0.0, reachable from other machines" in err
    assert "http://0.0.0.0:" in out


@pytest.mark.parametrize("args, words", [
    (["--port", "70000"], ["--port", "70000"]),
    (["--port", "-1"], ["--port"]),
    (["--scenarios", "MISSING"], ["--scenarios", "not a folder"]),
    (["--scenarios", "EMPTY"], ["--scenarios", "no country scenario"]),
    (["--host", "no.such.host.invalid"], ["--host", "no.such.host.invalid"]),
])
def test_serve_bad_options_are_one_line_errors_with_exit_code_2(tmp_path, capsys, no_serving, args, words):
    (tmp_path / "empty").mkdir()
    folder = scenarios_folder(tmp_path / "scenarios")
    args = [{"MISSING": str(tmp_path / "missing"), "EMPTY": str(tmp_path / "empty")}.get(a, a) for a in args]
    if "--scenarios" not in args:
        args += ["--scenarios", str(folder)]
    code, out, err = run_main(capsys, "serve", *args, "--results", str(tmp_path / "results"))
    assert code == 2, (out, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("uprising: error: "), err
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert not no_serving


def test_serve_says_when_the_port_is_taken(tmp_path, capsys, no_serving):
    folder = scenarios_folder(tmp_path / "scenarios")
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        port = str(taken.getsockname()[1])
        code, _, err = run_main(capsys, "serve", "--port", port, "--scenarios", str(folder))
    finally:
        taken.close()
    assert code == 2 and err.count("\n") == 1
    assert f"--port: {port} on 127.0.0.1 is in use" in err


def test_serve_skips_a_bad_scenario_file_with_a_one_line_warning(tmp_path, capsys, no_serving):
    """A deeply nested TOML crashed serve at start; now it, and any file that cannot be used, is skipped."""
    folder = scenarios_folder(tmp_path / "scenarios")
    (folder / "deep.toml").write_text("[[cities]]\nname = " + "[" * 50_000 + "]" * 50_000 + "\n")
    (folder / "broken.toml").write_text('[[cities]]\nname = "Oilton"\n')
    code, out, err = run_main(capsys, "serve", "--port", "0", "--scenarios", str(folder),
                              "--results", str(tmp_path / "results"))
    assert code == 0, err
    lines = err.splitlines()
    assert len(lines) == 2, err
    for name, line in zip(("broken.toml", "deep.toml"), lines):
        assert line.startswith("uprising: warning: --scenarios: ") and name in line and "skipped" in line, line
        assert len(line) < 300, line
    assert no_serving and "uprising explorer: http://127.0.0.1:" in out


def test_serve_with_only_bad_scenario_files_is_a_one_line_error(tmp_path, capsys, no_serving):
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "deep.toml").write_text("[[cities]]\nname = " + "[" * 50_000 + "]" * 50_000 + "\n")
    code, out, err = run_main(capsys, "serve", "--port", "0", "--scenarios", str(folder))
    assert code == 2, (out, err)
    lines = err.splitlines()
    assert lines[-1].startswith("uprising: error: --scenarios: ") and "no usable country scenario" in lines[-1], err
    assert "Traceback" not in err and not no_serving


def test_serve_answers_only_its_own_host_names_and_origin(tmp_path, capsys, monkeypatch):
    """The app that serve runs refuses other Host headers, and state-changing requests from other origins."""
    import uvicorn
    from fastapi.testclient import TestClient

    apps = []
    monkeypatch.setattr(uvicorn.Server, "run",
                        lambda self, sockets=None: apps.append((self.config.app, sockets[0].getsockname()[1])))
    folder = scenarios_folder(tmp_path / "scenarios")
    code, out, err = run_main(capsys, "serve", "--port", "0", "--host", "localhost", "--scenarios", str(folder),
                              "--results", str(tmp_path / "results"))
    assert code == 0, err
    (app, port), = apps
    with TestClient(app, base_url=f"http://localhost:{port}") as client:
        assert client.get("/api/scenarios").status_code == 200
        assert client.get("/api/scenarios", headers={"host": f"127.0.0.1:{port}"}).status_code == 200
        assert client.get("/api/scenarios", headers={"host": f"evil.example:{port}"}).status_code in (400, 421)
        for origin, status in ((f"http://localhost:{port + 1}", 403), ("http://evil.example", 403),
                               (f"http://localhost:{port}", 404), (f"http://127.0.0.1:{port}", 404)):
            res = client.post("/api/jobs/0123456789ab/cancel", headers={"origin": origin})
            assert res.status_code == status, (origin, res.text)


def test_serve_keep_hours_reaches_the_server_and_is_bounded(tmp_path, capsys, no_serving, monkeypatch):
    import uprising.app.server as server

    seen = {}
    real = server.create_app
    monkeypatch.setattr(server, "create_app", lambda *a, **k: seen.update(k) or real(*a, **k))
    folder = scenarios_folder(tmp_path / "scenarios")
    code, out, err = run_main(capsys, "serve", "--port", "0", "--scenarios", str(folder),
                              "--results", str(tmp_path / "results"), "--keep-hours", "2.5")
    assert code == 0, err
    assert seen["keep_hours"] == 2.5
    code, out, err = run_main(capsys, "serve", "--port", "0", "--scenarios", str(folder), "--keep-hours", "0")
    assert code == 2 and len(err.splitlines()) == 1 and "--keep-hours" in err
