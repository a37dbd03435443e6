"""A throwaway PostgreSQL cluster for the tests of `sabha serve --database postgres://…` (tools/dev/scratch-postgres.sh,
Debian's postgresql package): one per test session, listening on 127.0.0.1 only, and a fresh database for each test.

Use it by importing the fixtures into the test module:
    from e2ekit.postgres import database_url, postgres_cluster, psql  # noqa: F401 (fixtures)
"""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "tools" / "dev" / "scratch-postgres.sh"
PSQL = Path("/usr/lib/postgresql/15/bin/psql")


class ScratchPostgres:
    """A cluster in `folder` (which must be reachable by the postgres user when we are root: directly under /tmp)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.url = ""
        self._names = itertools.count(1)

    def _run(self, *args: str, timeout: float = 60) -> str:
        out = subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout)
        if out.returncode != 0:
            raise RuntimeError(f"scratch-postgres.sh {' '.join(args)} failed ({out.returncode}): {out.stderr.strip()}")
        return out.stdout.strip()

    def start(self) -> str:
        self.url = self._run("start", str(self.folder))
        assert self.url.startswith("postgres://sabha:sabha@127.0.0.1:"), self.url
        return self.url

    def stop(self) -> None:
        self._run("stop", str(self.folder))

    def create_database(self, hint: str = "t") -> str:
        """A new empty database owned by sabha, named after `hint` (e.g. the test) and unique in the session: its URL."""
        name = re.sub(r"[^a-z0-9_]", "_", hint.lower()).strip("_")[:48] or "t"
        return self._run("createdb", str(self.folder), f"{'t_' if name[0].isdigit() else ''}{name}_{next(self._names)}")

    def log_text(self) -> str:
        try:
            return (self.folder / "postgres.log").read_text(errors="replace")
        except OSError:
            return ""


def psql(url: str, sql: str, timeout: float = 30) -> list[list[str]]:
    """Runs `sql` against `url` with psql; the rows, each a list of text fields (NULL as "")."""
    out = subprocess.run([str(PSQL), "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
                         capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise AssertionError(f"psql {sql!r} failed ({out.returncode}): {out.stderr.strip()}")
    return [line.split("\t") for line in out.stdout.splitlines() if line]


@pytest.fixture(scope="session")
def postgres_cluster():
    """One scratch cluster for the session, stopped and deleted at its end."""
    if not SCRIPT.is_file():
        pytest.fail(f"{SCRIPT} is missing")
    # Not under pytest's tmp_path: as root, the cluster runs as the postgres user, who cannot enter /tmp/pytest-of-root.
    folder = Path(tempfile.mkdtemp(prefix="sabha-pg-", dir="/tmp"))
    cluster = ScratchPostgres(folder)
    try:
        cluster.start()
    except RuntimeError as exc:   # tools/setup.sh installs postgresql: its absence is a broken setup, not a skip
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(str(exc))
    try:
        yield cluster
    finally:
        try:
            cluster.stop()
        finally:
            shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def database_url(postgres_cluster, request) -> str:
    """The URL of a fresh database for this test (owned by sabha, password sabha); the cluster's log goes in failure
    reports."""
    if not hasattr(request.node, "_log_sources"):
        request.node._log_sources = []
    request.node._log_sources.append(("postgres log", lambda: postgres_cluster.log_text()[-8000:]))
    return postgres_cluster.create_database(request.node.name)
