"""Command line of the web explorer: ``uprising serve`` (the ``app`` extra)."""

from __future__ import annotations

import ipaddress
import socket
import sys
from pathlib import Path

import click

from ..scenario import echo
from .common import UsageFailure


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or a name) only reaches this machine."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    if host.lower() == "localhost":
        return True
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback for info in infos)


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (port 0: a free one), or a one-line UsageFailure."""
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise UsageFailure(f"--host: {echo(host)}: {exc.strerror or exc}; give an address such as 127.0.0.1") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        why = "is in use" if exc.errno in (98, 48, 10048) else f"cannot be used ({exc.strerror or exc})"
        raise UsageFailure(f"--port: {port} on {host} {why}; choose another with --port (0 picks a free one)") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


@click.command("serve")
@click.option("--port", type=click.IntRange(0, 65535), default=8050, show_default=True,
              help="TCP port (0: any free port; the address is printed).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but a loopback address is reachable from other machines.")
@click.option("--results", "results_dir", type=click.Path(path_type=Path), default=Path("results"),
              show_default=True, help="Folder for the runs' tables and figures (written under app/).")
@click.option("--scenarios", "scenarios_dir", type=click.Path(path_type=Path), default=Path("scenarios"),
              show_default=True, help="Folder of country scenarios (*.toml files with [[cities]]).")
@click.option("--keep-hours", type=click.FloatRange(0.01, 24 * 365), default=24.0, show_default=True,
              help="How long a finished job is kept for the tab that ran it (it can drop it sooner).")
def serve(port: int, host: str, results_dir: Path, scenarios_dir: Path, keep_hours: float) -> None:
    """Start the web explorer: pick a scenario, set its levers, run, compare and download, offline.

    It listens on 127.0.0.1 by default; every asset it loads is served by itself (no CDN, fonts or tiles).
    """
    try:
        import uvicorn

        from ..app.server import Scenarios, create_app
    except ImportError as exc:
        raise UsageFailure(f"serve: needs the 'app' extra ({exc.name} is missing): pip install 'uprising[app]'") from None

    if not scenarios_dir.is_dir():
        raise UsageFailure(f"--scenarios: {scenarios_dir}: not a folder")
    usable, skipped = Scenarios(scenarios_dir).all()
    for bad in skipped:  # a file that cannot be used is skipped (the page lists it too), never fatal
        click.echo(f"uprising: warning: --scenarios: {bad['file']}: {bad['error']} (skipped)", err=True)
    if not usable and skipped:
        raise UsageFailure(f"--scenarios: {scenarios_dir}: no usable country scenario in it ({len(skipped)} "
                           "skipped; see the warnings above)")
    if not usable:
        raise UsageFailure(f"--scenarios: {scenarios_dir}: no country scenario in it (a *.toml file with [[cities]])")
    if results_dir.exists() and not results_dir.is_dir():
        raise UsageFailure(f"--results: {results_dir}: exists and is not a folder")
    if not host.strip():
        raise UsageFailure("--host: empty; give an address such as 127.0.0.1")
    sock = listen(host, port)
    if not is_loopback(host):
        click.echo(f"uprising: warning: serving on {host}, reachable from other machines; the explorer has no "
                   "login and runs simulations for anyone who can reach it (use --host 127.0.0.1 to keep it local)",
                   err=True)
    bound = sock.getsockname()
    shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
    app = create_app(results_dir, scenarios_dir, host=host, port=bound[1], keep_hours=keep_hours)
    click.echo(f"uprising explorer: http://{shown}:{bound[1]}/ (scenarios from {scenarios_dir}, results in "
               f"{results_dir / 'app'}; Ctrl-C stops it)")
    sys.stdout.flush()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
