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
