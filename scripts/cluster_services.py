"""Postgres and Redis for a Celery cluster on this machine, from Debian's packages, private to the cluster.

Nothing here uses a system-wide service: a cluster runs its own ``postgres`` (a fresh ``initdb`` in a
temporary directory, on a free loopback port, as the ``postgres`` OS user, since root may not run it) and
its own ``redis-server`` (a free port, a temporary directory, nothing saved). :func:`ensure_packages`
installs Debian's ``postgresql`` and ``redis-server`` when they are missing (as root, with ``apt-get``);
without root or apt it raises :class:`ServicesError` saying what to install.

``tests/support/cluster.py`` runs the servers as components of its cluster with the commands built here.
By hand::

    python scripts/cluster_services.py install   # the packages, if missing
    python scripts/cluster_services.py try       # start both privately, say how long each took, stop
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

#: the OS user Debian's package creates; it owns the data directory and runs the server
POSTGRES_USER = "postgres"
#: the database Airflow's metadata and Celery's results go to
DATABASE = "airflow"
PACKAGES = ("postgresql", "redis-server")
POSTGRES_BINARIES = Path("/usr/lib/postgresql")


class ServicesError(RuntimeError):
    """Postgres or Redis is missing, or did not start; the message says what to do or which failed."""


def postgres_bin(name: str) -> Path:
    """The newest installed Postgres's program ``name`` (``postgres``, ``initdb``, ``pg_isready``, ``psql``)."""
    found = sorted(POSTGRES_BINARIES.glob(f"*/bin/{name}"), key=lambda path: _version(path.parent.parent.name))
    if not found:
        raise ServicesError(f"no {POSTGRES_BINARIES}/*/bin/{name}: {install_hint()}")
    return found[-1]


def redis_server() -> str:
    """The ``redis-server`` program."""
    found = shutil.which("redis-server") or shutil.which("redis-server", path="/usr/bin:/usr/sbin")
    if not found:
        raise ServicesError(f"no redis-server: {install_hint()}")
    return found


def missing_packages() -> list[str]:
    """The Debian packages of :data:`PACKAGES` whose programs are not installed."""
    missing = [] if any(POSTGRES_BINARIES.glob("*/bin/postgres")) else ["postgresql"]
    has_redis = shutil.which("redis-server") or shutil.which("redis-server", path="/usr/bin:/usr/sbin")
    return missing + ([] if has_redis else ["redis-server"])


def install_hint() -> str:
    return "install Debian's packages as root: apt-get install -y postgresql redis-server"


def ensure_packages() -> None:
    """Install the missing packages with ``apt-get`` (quiet, non-interactive), when root and apt are there."""
    missing = missing_packages()
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise ServicesError(f"missing {', '.join(missing)}: {install_hint()}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing]
    done = subprocess.run(install, env=env, capture_output=True, check=False)
    if done.returncode:  # an empty or stale package list: update it once
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, check=False)
        done = subprocess.run(install, env=env, capture_output=True, check=False)
    if done.returncode or missing_packages():
        raise ServicesError(f"apt-get install {' '.join(missing)} failed: {(done.stdout + done.stderr)[-2000:]!r}")


def as_postgres(command: list[str]) -> list[str]:
    """``command`` run as the ``postgres`` user. ``setpriv`` execs it (``runuser`` would stay in between as
    its parent and turn a signal to the group into its own stop-then-kill), so the server is the process
    started and a signal reaches it as sent."""
    return ["setpriv", f"--reuid={POSTGRES_USER}", f"--regid={POSTGRES_USER}", "--init-groups", "--", *command]


def init_postgres(data: Path) -> None:
    """A new database cluster in the empty directory ``data`` (made the ``postgres`` user's), trusting local
    connections: a throwaway for tests, on loopback only."""
    account = _postgres_account()
    os.chown(data, account.pw_uid, account.pw_gid)
    data.chmod(0o700)
    initdb = [str(postgres_bin("initdb")), "-D", str(data), "-U", POSTGRES_USER, "-A", "trust", "-E", "UTF8"]
    done = subprocess.run(as_postgres([*initdb, "--locale=C", "--no-sync"]), capture_output=True, check=False)
    if done.returncode:
        raise ServicesError(f"initdb failed: {(done.stdout + done.stderr)[-3000:].decode(errors='replace')}")


def postgres_command(data: Path, port: int) -> list[str]:
    """The server on ``127.0.0.1:port`` (socket in ``data``), durability off: a crash may lose the last
    commits, which a test's throwaway database does not mind."""
    settings = {
        "listen_addresses": "127.0.0.1",
        "port": str(port),
        "unix_socket_directories": str(data),
        "max_connections": "300",
        "shared_buffers": "64MB",
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
    }
    return as_postgres([str(postgres_bin("postgres")), "-D", str(data), *_flags(settings)])


def wait_postgres(port: int, timeout: float = 60.0, alive: Callable[[], bool] = lambda: True) -> None:
    """Wait until the server accepts connections, then create :data:`DATABASE` unless it exists."""
    ready = [str(postgres_bin("pg_isready")), "-q", "-h", "127.0.0.1", "-p", str(port), "-U", POSTGRES_USER]
    _wait(lambda: subprocess.run(ready, check=False).returncode == 0, timeout, f"postgres on :{port}", alive)
    psql = [str(postgres_bin("psql")), "-h", "127.0.0.1", "-p", str(port), "-U", POSTGRES_USER, "-tAq", "-c"]
    exists = subprocess.run([*psql, f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"], capture_output=True)
    if exists.stdout.strip() != b"1":
        done = subprocess.run([*psql, f"CREATE DATABASE {DATABASE}"], capture_output=True, check=False)
        if done.returncode:
            raise ServicesError(f"CREATE DATABASE {DATABASE}: {done.stderr.decode(errors='replace')}")


def redis_command(directory: Path, port: int) -> list[str]:
    """A ``redis-server`` on ``127.0.0.1:port`` that saves nothing, working in ``directory``."""
    settings = {"port": str(port), "bind": "127.0.0.1", "dir": str(directory), "save": "", "appendonly": "no"}
    return [redis_server(), *_flags(settings), "--daemonize", "no", "--protected-mode", "no"]


def wait_redis(port: int, timeout: float = 30.0, alive: Callable[[], bool] = lambda: True) -> None:
    """Wait until the server answers ``PING``."""
    _wait(lambda: _redis_ping(port), timeout, f"redis on :{port}", alive)


def _redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _wait(ready: Callable[[], bool], timeout: float, what: str, alive: Callable[[], bool]) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if not alive():
            raise ServicesError(f"{what} exited (see its log)")
        if time.monotonic() > deadline:
            raise ServicesError(f"{what} did not answer within {timeout:.0f}s")
        time.sleep(0.1)


def _flags(settings: dict[str, str]) -> list[str]:
    """``--name value`` pairs, as both servers take their settings on the command line."""
    if "listen_addresses" in settings:  # postgres: -c name=value
        return [part for name, value in settings.items() for part in ("-c", f"{name}={value}")]
    return [part for name, value in settings.items() for part in (f"--{name}", value)]


def _postgres_account() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(POSTGRES_USER)
    except KeyError:
        raise ServicesError(f"no {POSTGRES_USER} user: {install_hint()}") from None


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def try_services() -> None:
    """Start a private Postgres and Redis, print how long each took to answer, stop both, remove their files."""
    postgres_data = Path(tempfile.mkdtemp(prefix="cluster-postgres-"))
    redis_dir = Path(tempfile.mkdtemp(prefix="cluster-redis-"))
    servers: list[subprocess.Popen[bytes]] = []
    try:
        started = time.monotonic()
        init_postgres(postgres_data)
        initialised = time.monotonic()
        port = _free_port()
        servers.append(subprocess.Popen(postgres_command(postgres_data, port), stderr=subprocess.DEVNULL))
        wait_postgres(port, alive=lambda: servers[0].poll() is None)
        ready = time.monotonic()
        print(f"postgres: initdb {initialised - started:.1f} s, then up with its database {ready - initialised:.1f} s")
        port = _free_port()
        servers.append(subprocess.Popen(redis_command(redis_dir, port), stdout=subprocess.DEVNULL))
        wait_redis(port, alive=lambda: servers[1].poll() is None)
        print(f"redis: started {time.monotonic() - ready:.1f} s")
    finally:
        for server in servers:
            server.terminate()  # postgres: a smart shutdown, no client is connected
            server.wait(timeout=30)
        shutil.rmtree(postgres_data, ignore_errors=True)
        shutil.rmtree(redis_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("install", "try"), help="install the packages / try private servers")
    action = parser.parse_args(argv).action
    try:
        ensure_packages()
        if action == "try":
            try_services()
    except ServicesError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
