"""A throwaway PostgreSQL server for the tests: Debian's server binaries (initdb, pg_ctl) in a
temporary folder, listening on 127.0.0.1 at a free port, with fsync off (nothing here needs
to survive a crash of the machine; benchmarks ask for ``durable``). initdb refuses to run as
root, so as root the server runs as the ``postgres`` system user (``runuser``).
Stopped and removed at the end of the session.

Binaries are ``PG_BINDIR``'s if it is set; else the newest ``/usr/lib/postgresql/*/bin``, then
``pg_config --bindir``. Without them the PostgreSQL tests are skipped with one loud line; with
them, a server that does not start fails the run."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

USER = "daihuan"


def server_binaries() -> Path | None:
    if os.environ.get("PG_BINDIR"):  # exactly these, or none
        chosen = Path(os.environ["PG_BINDIR"])
        return chosen if (chosen / "initdb").exists() and (chosen / "pg_ctl").exists() else None
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                         key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
                         reverse=True)
    if shutil.which("pg_config"):
        found = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        if found.returncode == 0:
            candidates.append(Path(found.stdout.strip()))
    return next((c for c in candidates if (c / "initdb").exists() and (c / "pg_ctl").exists()),
                None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ThrowawayPostgres:
    def __init__(self, bindir: Path, durable: bool = False) -> None:
        self.bindir = bindir
        self.durable = durable  # benchmarks: PostgreSQL's default fsync and commit
        self.folder = Path(tempfile.mkdtemp(prefix="daihuan-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self._as_postgres = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({done.returncode}):\n{done.stdout}\n"
                               f"{done.stderr}\n{self._log_tail()}")

    def _log_tail(self) -> str:
        log = self.folder / "server.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-20:]) if log.exists() \
            else ""

    def start(self) -> str:
        """Start the server and give the URL of its ``postgres`` database."""
        if self._as_postgres:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root, initdb needs a 'postgres' system user to "
                                   "run as; there is none (install Debian's postgresql "
                                   "package, or run the tests as another user)") from None
            if shutil.which("runuser") is None:
                raise RuntimeError("running as root, and no runuser to start PostgreSQL as "
                                   "the 'postgres' user")
            shutil.chown(self.folder, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", USER, "--auth=trust", "-E", "UTF8",
                  "--locale=C", "--no-sync")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "server.log"),
                  "-w", "-t", "60", "-o",
                  f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
                  + ("" if self.durable else
                     " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"),
                  "start")
        return self.url("postgres")

    def url(self, database: str) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    async def create_database(self, name: str, template: str | None = None) -> str:
        """A new database ``name`` (dropped first if left over), empty or a copy of
        ``template``; gives its URL."""
        copy = f' TEMPLATE "{template}"' if template else ""
        await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
                          f'CREATE DATABASE "{name}"{copy}')
        return self.url(name)

    async def drop_database(self, name: str) -> None:
        await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def _admin(self, *statements: str) -> None:
        import asyncpg

        admin = await asyncpg.connect(self.url("postgres"))
        try:
            for statement in statements:
                await admin.execute(statement)
        finally:
            await admin.close()

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
