"""The Debian package (tools/package-deb.sh, issue 18): built from the suite's debug binary, its control data and
contents checked, installed with `dpkg --root` into a scratch root (maintainer scripts run chrootless, with
DPKG_ROOT), the unit checked with `systemd-analyze verify` and `security`, the installed program run with the build
tree and the toolchain hidden (so it can only use what the package holds: its resources, its libraries), and the
package purged again, leaving nothing behind."""

from __future__ import annotations

import gzip
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
import requests

from e2ekit.process import terminate
from e2ekit.wait import wait_for

pytestmark = pytest.mark.server

SYSTEM_LIB = re.compile(r"^(/usr)?/lib(64|32|x32)?(/x86_64-linux-gnu)?/[^/]+$")


def run(*cmd, ok: bool = True, **kwargs) -> subprocess.CompletedProcess:
    out = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=120, **kwargs)
    if ok:
        assert out.returncode == 0, f"{shlex.join(str(c) for c in cmd)} exited {out.returncode}:\n{out.stdout}\n{out.stderr}"
    return out


def dpkg(root: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    """dpkg on the scratch root: maintainer scripts run here, with DPKG_ROOT set (--force-script-chrootless);
    the root has no libc6 & co. as packages (--force-depends)."""
    return run("dpkg", f"--root={root}", "--force-script-chrootless", "--force-depends", *args, ok=ok)


def scratch_root(path: Path) -> Path:
    """An empty root with just what `dpkg --root` needs: its admin directory."""
    admin = path / "var" / "lib" / "dpkg"
    for sub in ("info", "updates", "triggers"):
        (admin / sub).mkdir(parents=True)
    (admin / "status").touch()
    return path


def ldd(binary: Path) -> dict[str, Path]:
    libs = {}
    for line in run("ldd", binary).stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] == "=>" and parts[2] != "not":
            libs[parts[0]] = Path(parts[2])
    return libs


def toolchain_libraries(binary: Path) -> dict[str, Path]:
    """The libraries `binary` loads from outside Debian's library directories (the Swift runtime of a debug build)."""
    return {name: path for name, path in ldd(binary).items() if not SYSTEM_LIB.match(str(path))}


def debian_package_of(library: Path) -> str:
    """The package that holds a library (dpkg -S), under /lib or /usr/lib (merged /usr: either may be registered)."""
    candidates = {str(library), str(library.resolve())}
    candidates |= {c.removeprefix("/usr") if c.startswith("/usr/") else "/usr" + c for c in set(candidates)}
    for candidate in sorted(candidates):
        out = run("dpkg-query", "-S", candidate, ok=False)
        if out.returncode == 0:
            return out.stdout.split(":")[0]
    raise AssertionError(f"no Debian package holds {library}")


@pytest.fixture(scope="module")
def dump_help(sabha_bin) -> dict:
    """What the binary says its commands and options are: the source of sabha.env and the man page."""
    return json.loads(run(sabha_bin, "--experimental-dump-help").stdout)


@pytest.fixture(scope="module")
def deb(sabha_bin, repo_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    # Uncompressed: the debug build is ~100 MB, and xz would take most of the test's time.
    built = run(repo_root / "tools" / "package-deb.sh", "--binary", sabha_bin, "--out", out, "--compression", "none")
    debs = list(out.glob("sabha_*_amd64.deb"))
    assert len(debs) == 1, (built.stdout, built.stderr, list(out.iterdir()))
    yield debs[0]
    shutil.rmtree(out)   # ~100 MB: not kept in pytest's last three temporary directories


@pytest.fixture(scope="module")
def control(deb) -> dict[str, str]:
    fields = {}
    for line in run("dpkg-deb", "--field", deb).stdout.splitlines():
        if line[:1] not in (" ", "\t") and ":" in line:
            key, value = line.split(":", 1)
            fields[key] = value.strip()
    return fields


@pytest.fixture(scope="module")
def installed(deb, tmp_path_factory):
    root = scratch_root(tmp_path_factory.mktemp("root"))
    out = dpkg(root, "-i", deb)
    assert "systemctl enable --now sabha" in out.stdout, "postinst tells the operator what to do next"
    assert "install ok installed" in dpkg(root, "-s", "sabha").stdout
    yield root
    shutil.rmtree(root)


def serve_options(dump_help: dict) -> list[dict]:
    serve = next(c for c in dump_help["command"]["subcommands"] if c["commandName"] == "serve")
    return [a for a in serve["arguments"] if a["kind"] != "positional" and a["preferredName"]["name"] != "help"]


def option_env(arg: dict) -> str:
    match = re.search(r"\(env (SABHA_[A-Z0-9_]+)", arg["abstract"]) or re.search(r"\b(SABHA_[A-Z0-9_]+)", arg["abstract"])
    assert match, f"--{arg['preferredName']['name']} names no SABHA_* variable in its help"
    return match.group(1)


def test_control_data_depends_and_maintainer_scripts(deb, control, sabha_bin, tmp_path):
    assert control["Package"] == "sabha"
    assert control["Architecture"] == "amd64"
    assert control["Maintainer"] == "Sabha developers <sabha@localhost>"
    assert control["Section"] == "net" and control["Priority"] == "optional"
    assert deb.name == f"sabha_{control['Version']}_amd64.deb"
    version = run(sabha_bin, "version", "--number", ok=False)
    if version.returncode == 0:
        assert control["Version"] == version.stdout.strip()
    else:  # a binary from before `sabha version`: the script says so and goes on
        assert control["Version"] == "0.0.0+unknown"

    depends = {d.strip().split(" ")[0] for d in control["Depends"].split(",")}
    # Every Debian library the program links (its NEEDED entries, resolved by ldd) is a dependency.
    needed = {line.split("[")[1].rstrip("]") for line in run("readelf", "-d", sabha_bin).stdout.splitlines() if "(NEEDED)" in line}
    system = {name: path for name, path in ldd(sabha_bin).items() if SYSTEM_LIB.match(str(path))}
    for name in sorted(needed & system.keys()):
        assert debian_package_of(system[name]) in depends, (name, control["Depends"])
    assert {"libssl3", "libsrtp2-1", "libsqlite3-0", "libc6"} <= depends, control["Depends"]
    assert "procps" in depends, "the unit's ExecReload runs /bin/kill"
    assert not any("swift" in d.lower() for d in depends), "the Swift runtime is in the package, not a dependency"
    assert int(control["Installed-Size"]) > 10_000

    info = run("dpkg-deb", "--info", deb).stdout
    for script in ("postinst", "prerm", "postrm"):
        assert re.search(rf"\*\s+{script}\s+#!/bin/sh", info), f"{script} missing or not executable:\n{info}"
    scripts = tmp_path / "DEBIAN"
    run("dpkg-deb", "--control", deb, scripts)
    assert (scripts / "conffiles").read_text().split() == ["/etc/sabha/sabha.env"]
    for script in ("postinst", "prerm", "postrm"):
        run("sh", "-n", scripts / script)
        text = (scripts / script).read_text()
        # Never started by the package (not enabled either: test_purge...); the running system only under the guard.
        code = re.sub(r"<<'MSG'\n.*?^MSG$", "", text, flags=re.S | re.M)   # postinst's message to the operator
        assert not re.search(r"(deb-systemd-invoke|systemctl)( --system)? (start|restart|enable)", code), script
        if "systemctl" in text or "deb-systemd-invoke" in text:
            assert '[ -z "${DPKG_ROOT:-}" ]' in text and "[ -d /run/systemd/system ]" in text, script


def test_contents_the_program_its_resources_and_libraries_unit_config_man_page(deb, sabha_bin):
    entries = {}
    for line in run("dpkg-deb", "--contents", deb).stdout.splitlines():
        mode, owner, size, _date, _time, path, *rest = line.split(None, 6) + [""]
        path = path.removeprefix(".")
        entries[path.rstrip("/") or "/"] = (mode, owner, rest[0] if rest else "")
    assert {owner for _, owner, _ in entries.values()} == {"root/root"}

    def mode(path):
        assert path in entries, f"{path} is not in the package"
        return entries[path][0]

    assert mode("/usr/lib/sabha/sabha") == "-rwxr-xr-x"
    assert mode("/usr/bin/sabha").startswith("l") and entries["/usr/bin/sabha"][2] == "-> ../lib/sabha/sabha"
    assert mode("/lib/systemd/system/sabha.service") == "-rw-r--r--"
    assert mode("/etc/sabha/sabha.env") == "-rw-r-----", "the settings may hold secrets: root-only"
    for path in ("/usr/share/man/man1/sabha.1.gz", "/usr/share/doc/sabha/copyright",
                 "/usr/share/doc/sabha/changelog.Debian.gz", "/usr/share/doc/sabha/examples/low-ports.conf",
                 "/usr/share/doc/sabha/examples/tls.conf"):
        assert mode(path) == "-rw-r--r--", path
    # The web client, as built beside the binary (Bundle.module looks next to the executable).
    public = Path(sabha_bin).parent / "sabha_Signalling.resources" / "Public"
    for file in public.rglob("*"):
        if file.is_file():
            mode(f"/usr/lib/sabha/sabha_Signalling.resources/Public/{file.relative_to(public)}")
    # Every library the build loads from the toolchain goes beside the program (none for a static release build).
    for name in toolchain_libraries(sabha_bin):
        assert mode(f"/usr/lib/sabha/{name}") == "-rw-r--r--", name
    assert not [p for p in entries if p.startswith(("/usr/local", "/opt", "/home", "/root", "/tmp", "/var"))]


def test_env_file_has_every_serve_option_commented_and_the_man_page_every_command(installed, dump_help):
    env = (installed / "etc" / "sabha" / "sabha.env").read_text()
    lines = env.splitlines()
    assert all(line == "" or line.startswith("#") for line in lines), "nothing is set: the server's own defaults hold"
    options = serve_options(dump_help)
    assert len(options) > 20
    comment = " ".join(line.lstrip("# ").strip() for line in lines if line.startswith("#"))
    for arg in options:
        var = option_env(arg)
        name = "--" + arg["preferredName"]["name"]
        assert sum(1 for line in lines if line.startswith(f"#{var}=")) == 1, f"{var} ({name}) is not in sabha.env once"
        assert name in comment, f"{name} is not described in sabha.env"
        first_words = " ".join(arg["abstract"].split()[:6])
        assert first_words in comment, f"the help of {name} is not in sabha.env: {first_words!r}"
    assert "root-only" in env
    for secret in ("SABHA_ADMIN_KEY", "SABHA_TURN_SECRET", "SABHA_SMTP_URL", "SABHA_CALDAV_PASSWORD", "SABHA_IMAP_PASSWORD"):
        at = lines.index(f"#{secret}=")
        assert "a secret" in lines[at - 1], f"{secret} is not marked as a secret"
    assert "#SABHA_HTTP=127.0.0.1:8080" in lines
    for var in ("SABHA_HTTP", "SABHA_PUBLIC_URL", "SABHA_ANNOUNCE_IP"):
        assert f"#   {var}" in env, f"the header tells the operator to set {var}"

    page = gzip.decompress((installed / "usr/share/man/man1/sabha.1.gz").read_bytes()).decode()
    assert page.startswith(".TH SABHA 1 ")

    def walk(command, path):
        yield path, command
        for sub in command.get("subcommands", []):
            if sub["commandName"] != "help":
                yield from walk(sub, path + [sub["commandName"]])

    for path, command in walk(dump_help["command"], ["sabha"]):
        if len(path) > 1:
            title = " ".join(path).replace("-", "\\-")
            assert f'.SS "{title}"' in page, f"{' '.join(path)} has no section in the man page"
        for arg in command.get("arguments", []):
            if arg["kind"] != "positional" and arg["preferredName"]["name"] != "help":
                assert "\\-\\-" + arg["preferredName"]["name"].replace("-", "\\-") in page, (path, arg["preferredName"])
    # It renders, without a warning (man-db's man, else groff).
    if shutil.which("man"):
        out = run("man", "--warnings", "-l", installed / "usr/share/man/man1/sabha.1.gz",
                  env={**os.environ, "MANWIDTH": "100", "MAN_KEEP_FORMATTING": "0", "LC_ALL": "C.UTF-8"})
    else:
        out = run("groff", "-man", "-Tutf8", "-ww", input=page)
    assert out.stderr.strip() == "", out.stderr
    assert "SABHA(1)" in out.stdout and "sabha serve" in out.stdout and "--http" in out.stdout, out.stdout[:2000]


def test_the_installed_unit_verifies_and_is_sandboxed(installed):
    unit = (installed / "lib/systemd/system/sabha.service").read_text()
    settings = [line.strip() for line in unit.splitlines() if line.strip() and not line.startswith("#")]
    for expected in ("ExecStart=/usr/bin/sabha serve", "DynamicUser=yes", "StateDirectory=sabha",
                     "Environment=SABHA_DATA_DIR=/var/lib/sabha", "EnvironmentFile=/etc/sabha/sabha.env",
                     "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "NoNewPrivileges=yes",
                     "SystemCallFilter=@system-service", "Restart=on-failure", "KillSignal=SIGTERM",
                     "TimeoutStopSec=90", "LimitNOFILE=65536", "ExecReload=/bin/kill -HUP $MAINPID"):
        assert expected in settings, expected
    assert not any(s.startswith("AmbientCapabilities=") for s in settings), "no capability by default"

    # A system with systemd: the host's units (sysinit.target, network-online.target, ...) and procps' /bin/kill
    # (a dependency) beside what the package installed. The man page is found where the package put it.
    units = installed / "lib/systemd/system"
    for unit_file in Path("/lib/systemd/system").iterdir():
        target = units / unit_file.name
        if not target.exists() and not target.is_symlink():
            if unit_file.is_symlink():
                target.symlink_to(os.readlink(unit_file))
            elif unit_file.is_file():
                shutil.copy2(unit_file, target)
    (installed / "bin").mkdir(exist_ok=True)
    shutil.copy2("/bin/kill", installed / "bin" / "kill")
    env = {**os.environ, "MANPATH": str(installed / "usr/share/man")}
    out = run("systemd-analyze", "verify", f"--root={installed}", "sabha.service", ok=False, env=env)
    assert out.returncode == 0 and "sabha" not in out.stdout + out.stderr, out.stdout + out.stderr

    out = run("systemd-analyze", "security", "--offline=yes", f"--root={installed}", "sabha.service", ok=False, env=env)
    match = re.search(r"Overall exposure level for sabha\.service: ([0-9.]+)", out.stdout)
    assert match, out.stdout[-2000:] + out.stderr
    assert float(match.group(1)) <= 2.5, f"the sandbox has gaps:\n{out.stdout}"


def test_the_installed_program_runs_on_what_the_package_holds(installed, sabha_bin, tmp_path, control):
    program = installed / "usr" / "bin" / "sabha"
    # Hide what the build tree offers besides the package: SwiftPM's fallback path to the resources (compiled into
    # the binary) and the toolchain's Swift runtime. Only this process's mount namespace sees the empty tmpfs.
    hide = set()
    binary = (installed / "usr/lib/sabha/sabha").read_bytes()
    for path in set(re.findall(rb"/[\x21-\x7e]*?\.resources", binary)):
        parent = Path(path.decode()).parent
        if parent.is_dir():
            hide.add(parent)
    hide |= {lib.parent for lib in toolchain_libraries(sabha_bin).values()}
    mounts = "".join(f"mount -t tmpfs -o size=1m sabha-hidden {shlex.quote(str(d))} && " for d in sorted(hide))

    def installed_sabha(*args: str) -> list[str]:
        return ["unshare", "-m", "sh", "-c", f"{mounts}exec env -i PATH=/usr/bin:/bin {shlex.quote(str(program))} "
                + " ".join(shlex.quote(a) for a in args)]

    version = subprocess.run(installed_sabha("version", "--number"), capture_output=True, text=True, timeout=30)
    if control["Version"] != "0.0.0+unknown":
        assert version.returncode == 0 and version.stdout.strip() == control["Version"], version
    helped = subprocess.run(installed_sabha("--help"), capture_output=True, text=True, timeout=30)
    assert helped.returncode == 0 and "serve" in helped.stdout, helped

    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(installed_sabha("serve", "--http", "127.0.0.1:0", "--rtc", "127.0.0.1:0",
                                                "--data-dir", str(tmp_path / "data")),
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=tmp_path)
    try:
        def url():
            assert proc.poll() is None, f"sabha serve exited {proc.returncode}:\n{log_path.read_text()}"
            match = re.search(r"Sabha is running\. Open (http://127\.0\.0\.1:\d+)/", log_path.read_text())
            return match and match.group(1)
        base = wait_for(url, 30, "the installed sabha serve to print its address")
        page = requests.get(base + "/", timeout=10)
        assert page.status_code == 200
        packaged = installed / "usr/lib/sabha/sabha_Signalling.resources/Public/index.html"
        assert page.content == packaged.read_bytes(), "/ is the packaged web client"
        assert requests.get(base + "/healthz", timeout=10).status_code == 200
        assert requests.get(base + "/meeting.js", timeout=10).status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, log_path.read_text()
    finally:
        terminate(proc)
    assert (tmp_path / "data" / "sabha.sqlite").exists()


def test_purge_removes_the_package_its_settings_and_its_data(deb, tmp_path):
    root = scratch_root(tmp_path / "root")
    dpkg(root, "-i", deb)
    state = root / "var/lib/systemd/deb-systemd-helper-enabled"
    assert list(state.glob("sabha.service*")), "postinst recorded the unit's state (deb-systemd-helper, in DPKG_ROOT)"
    assert not (root / "etc/systemd/system/multi-user.target.wants/sabha.service").exists(), "not enabled"

    # The operator's edit survives a reinstall (an upgrade to the same version).
    env = root / "etc/sabha/sabha.env"
    env.write_text(env.read_text() + "SABHA_HTTP=0.0.0.0:8080\n")
    dpkg(root, "-i", deb)
    assert env.read_text().endswith("SABHA_HTTP=0.0.0.0:8080\n")

    # What the service would have made: StateDirectory= with DynamicUser=yes.
    data = root / "var/lib/private/sabha"
    data.mkdir(parents=True)
    (data / "sabha.sqlite").write_bytes(b"store")
    (root / "var/lib/sabha").symlink_to("private/sabha")

    dpkg(root, "--remove", "sabha")
    assert not (root / "usr/lib/sabha").exists() and not (root / "usr/bin/sabha").is_symlink()
    assert env.exists(), "remove keeps the settings (a conffile)"
    assert (data / "sabha.sqlite").exists(), "remove keeps the data"

    dpkg(root, "--purge", "sabha")
    assert "sabha" not in dpkg(root, "-l", ok=False).stdout
    left = sorted(str(p.relative_to(root)) for p in root.rglob("*") if "var/lib/dpkg" not in str(p))
    # Only the directories dpkg and deb-systemd-helper keep for themselves may stay.
    assert all(p in ("var", "var/lib", "var/lib/private", "var/lib/systemd",
                     "var/lib/systemd/deb-systemd-helper-enabled") for p in left), left
    assert not (root / "etc").exists() or not any((root / "etc").rglob("*")), "purge removed /etc/sabha"
