"""Fixtures for Sabha's end-to-end tests.

The suite runs inside a loopback-only network namespace (tools/test.sh does
`unshare -n sh -c 'ip link set lo up && exec python -m pytest Tests/e2e'`), so every server and peer a test starts
lives there and can reach nothing but 127.0.0.0/8.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from e2ekit import metrics as metrics_mod  # noqa: E402
from e2ekit.server import SabhaServer  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def network_interfaces() -> list[str]:
    # Not /sys/class/net: sysfs shows the namespace it was mounted in, not ours.
    import socket

    return sorted(name for _, name in socket.if_nameindex())


def pytest_configure(config):
    if os.environ.get("SABHA_E2E_ALLOW_HOST_NETWORK") == "1":
        return
    ifaces = network_interfaces()
    if ifaces != ["lo"]:
        pytest.exit(
            "the e2e suite must run in a loopback-only network namespace (found interfaces "
            f"{ifaces}); use tools/test.sh, or: unshare -n sh -c 'ip link set lo up && exec .venv/bin/python -m pytest Tests/e2e'",
            returncode=4,
        )


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture
def screenshot(repo_root, tmp_path):
    """screenshot(driver, name) -> Path: saves the page as <name>.png, into docs/img/ only on request
    (SABHA_UPDATE_SCREENSHOTS=1, so test runs leave the tree clean), else into the test's tmp_path."""
    def save(driver, name: str) -> Path:
        folder = repo_root / "docs" / "img" if os.environ.get("SABHA_UPDATE_SCREENSHOTS") == "1" else tmp_path
        folder.mkdir(parents=True, exist_ok=True)
        out = folder / f"{name}.png"
        assert driver.save_screenshot(str(out)), f"screenshot {out} not saved"
        return out
    return save


@pytest.fixture(scope="session")
def sabha_bin() -> Path:
    """The debug build made by `swift build` (override with SABHA_BIN)."""
    path = Path(os.environ.get("SABHA_BIN", REPO / ".build" / "debug" / "sabha"))
    if not path.is_file():
        pytest.fail(f"{path} does not exist: run `swift build` first (tools/test.sh does)")
    return path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)
    # A failing test shows the log of every server (and browser console) it started, to see who is at fault.
    if rep.failed:
        for title, read in getattr(item, "_log_sources", []):
            rep.sections.append((title, read()[-20000:] or "(empty)"))


@pytest.fixture
def start_server(request, sabha_bin, tmp_path):
    """Factory: start_server(*extra_args, env=None) -> SabhaServer (free ports, own data dir, ready on /healthz).

    `env` adds environment variables for the server process (e.g. the SABHA_SMTP_URL of docs/meetings.md).
    The returned server can be stopped or killed (.kill(): SIGKILL) and started again on the same ports and data."""
    servers: list[SabhaServer] = []
    if not hasattr(request.node, "_log_sources"):
        request.node._log_sources = []

    def start(*extra_args: str, env: dict[str, str] | None = None) -> SabhaServer:
        n = len(servers)
        srv = SabhaServer(
            binary=sabha_bin,
            data_dir=tmp_path / f"data{n}",
            log_path=tmp_path / f"sabha{n}.log",
            extra_args=list(extra_args),
            env=dict(env or {}),
        )
        servers.append(srv)
        request.node._log_sources.append((f"sabha serve log ({srv.log_path.name})", srv.log_text))
        srv.start()
        return srv

    yield start
    for srv in servers:
        srv.stop()


@pytest.fixture
def server(start_server) -> SabhaServer:
    """A server with default options. Has .base_url, .udp_port, .data_dir, .token(room, identity, role)."""
    return start_server()


@pytest.fixture
def browsers(tmp_path, request):
    """Factory: browsers(name, **options) -> a headless Chromium (selenium driver), quit after the test; its console goes
    in failure reports. `options` go to e2ekit.browser.chromium (extra_flags, phone)."""
    from e2ekit.browser import chromium, console_log

    drivers = []
    if not hasattr(request.node, "_log_sources"):
        request.node._log_sources = []

    def make(name: str, **options):
        d = chromium(str(tmp_path / f"chromedriver-{name}.log"), **options)
        drivers.append(d)
        request.node._log_sources.append((f"browser console ({name})", lambda: console_log(d)))
        return d

    yield make
    for d in drivers:
        d.quit()


@pytest.fixture
def firefox_route():
    """Firefox gathers ICE candidates only towards its default route (e2ekit/firefox.py): in the suite's
    loopback-only namespace that is `default dev lo src 127.0.0.1`, added for the test when missing and removed
    after it, so that every other test sees the namespace as before (no route but 127.0.0.0/8)."""
    from e2ekit.firefox import available, loopback_default_route, remove_loopback_default_route

    reason = available()
    if reason:  # tools/setup.sh installs both: a missing one is a broken setup, not a reason to skip
        pytest.fail(reason)
    added = loopback_default_route()
    yield
    if added:
        remove_loopback_default_route()


@pytest.fixture
def firefoxes(tmp_path, request, firefox_route):
    """Factory: firefoxes(name) -> a headless Firefox ESR (selenium driver), quit after the test; its geckodriver log
    (with the page's console, see e2ekit/firefox.py) goes in failure reports."""
    from e2ekit.firefox import firefox

    drivers = []
    if not hasattr(request.node, "_log_sources"):
        request.node._log_sources = []

    def make(name: str):
        log = tmp_path / f"geckodriver-{name}.log"
        d = firefox(str(log))
        drivers.append(d)
        request.node._log_sources.append((f"firefox log ({name})", lambda: log.read_text(errors="replace") if log.exists() else ""))
        return d

    yield make
    for d in drivers:
        try:
            d.quit()
        except Exception:  # a browser that already died must not hide the test's own failure
            pass


@pytest.fixture
def metrics():
    """metrics(base_url) -> Metrics parsed from GET /metrics."""
    return metrics_mod.fetch


@pytest.fixture
def smtp_maildir(tmp_path, request):
    """A running SMTP sink (aiosmtpd, e2ekit/smtp_sink.py) on 127.0.0.1: .url for SABHA_SMTP_URL, .messages(rcpt),
    .stop()/.start() for an outage on the same port."""
    from e2ekit.groupware import SmtpSink

    sink = SmtpSink(tmp_path / "maildir", tmp_path / "smtp.log")
    if not hasattr(request.node, "_log_sources"):
        request.node._log_sources = []
    request.node._log_sources.append(("smtp sink log", sink.log_text))
    sink.start()
    yield sink
    sink.stop()


def _radicale(tmp_path, request, lenient: bool):
    from e2ekit.groupware import Radicale

    name = "radicale-lenient" if lenient else "radicale"
    server = Radicale(root=tmp_path / name, log_path=tmp_path / f"{name}.log", lenient=lenient)
    if not hasattr(request.node, "_log_sources"):
        request.node._log_sources = []
    request.node._log_sources.append((f"{name} log", server.log_text))
    server.start()
    try:
        server.make_calendars()
        yield server
    finally:
        server.stop()


@pytest.fixture
def radicale(tmp_path, request):
    """Radicale (htpasswd plain auth, owner_only rights, storage in tmp_path) with the organizer calendar
    /collector/calendar/ and the resource calendar /collector/conference-room/ (.organizer_url, .resource_url)."""
    yield from _radicale(tmp_path, request, lenient=False)


@pytest.fixture
def lenient_radicale(tmp_path, request):
    """The same behind e2ekit/radicale_lenient.py: calendar objects Radicale refuses on PUT (garbage, a VEVENT
    without DTSTART) are kept and served anyway, so a test can show them to Sabha's calendar watcher."""
    yield from _radicale(tmp_path, request, lenient=True)


@pytest.fixture
def reply_mailbox(tmp_path, request):
    """Dovecot (imap_server.py) holding the mailbox that answers to invitations arrive in: .append(raw) -> UID,
    .messages(), .flags(uid); .env() is what `sabha serve` needs to read it (plain IMAP on loopback)."""
    from imap_server import DovecotIMAP

    server = DovecotIMAP(tmp_path / "imap")
    if not hasattr(request.node, "_log_sources"):
        request.node._log_sources = []
    request.node._log_sources.append(("dovecot log", server.log_text))
    server.start()
    server.env = lambda: {"SABHA_IMAP_URL": f"imap://127.0.0.1:{server.port}/INBOX?starttls=off",
                          "SABHA_IMAP_USER": server.user, "SABHA_IMAP_PASSWORD": server.password}
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def topo(request):
    """Namespaces S and V and the veth between them (e2ekit/netns.py); everything inside is ended and both are deleted
    afterwards. Skips where namespaces or nftables are unavailable."""
    from e2ekit.netns import Topology, create_or_skip, unavailable_reason

    reason = unavailable_reason(need_nft=True)
    if reason:
        pytest.skip(reason)
    t = Topology()
    create_or_skip(t)
    if not hasattr(request.node, "_log_sources"):
        request.node._log_sources = []
    request.node._log_sources.append(("network namespace commands", lambda: "\n".join(t.log)))
    try:
        yield t
    finally:
        t.destroy()
