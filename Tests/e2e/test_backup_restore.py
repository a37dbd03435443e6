"""`sabha backup`, `sabha restore` and `sabha prune` against a real `sabha serve` and its SQLite store: a backup
taken while the server writes is a whole, consistent store and restores to the same rows; a restore is refused
while a server uses the data directory, and for a file that is not a Sabha store; pruning deletes exactly what is
older than the retention, from the command line and by the server itself."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from e2ekit.meeting import MeetingSocket
from e2ekit.server import SabhaServer, free_tcp_port, free_udp_port

pytestmark = pytest.mark.server


def sabha(server: SabhaServer, *args: str, data_dir: Path | None = None) -> subprocess.CompletedProcess:
    cmd = [str(server.binary), *args, "--data-dir", str(data_dir or server.data_dir)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def admin(server: SabhaServer, method: str, path: str, body=None) -> requests.Response:
    key = (server.data_dir / "admin.key").read_text().strip()
    return requests.request(method, server.base_url + path, json=body, headers={"Authorization": f"Bearer {key}"}, timeout=10)


def rows(db: Path) -> dict[str, list[tuple]]:
    """Every row of every table, in order: what 'the same store' means here."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {t: conn.execute(f'SELECT * FROM "{t}" ORDER BY rowid').fetchall() for t in tables}


def integrity(db: Path) -> str:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def room_count(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT COUNT(*) FROM room").fetchone()[0]


def test_a_backup_taken_while_the_server_writes_restores_to_the_same_store(start_server, tmp_path):
    server = start_server()
    # Audit rows and chat from a real meeting, then rooms created as fast as the API takes them while backups run.
    hosts = [MeetingSocket(server.base_url) for _ in range(3)]
    try:
        for i, ws in enumerate(hosts):
            ws.join(server.token("council", f"officer{i}", "host"))
        hosts[0].send({"type": "chat", "text": "before the backup"})
        time.sleep(0.5)
    finally:
        for ws in hosts:
            ws.close()

    stop = threading.Event()
    created: list[str] = []

    def write_rooms():
        deadline = time.monotonic() + 30
        while not stop.is_set() and time.monotonic() < deadline and len(created) < 2000:
            name = f"room-{len(created):04d}"
            assert admin(server, "POST", "/api/rooms", {"name": name, "title": f"Review {len(created)}"}).status_code == 201
            created.append(name)

    writer = threading.Thread(target=write_rooms)
    writer.start()
    backups = []
    try:
        time.sleep(0.5)
        for i in range(3):
            before = len(created)
            out = sabha(server, "backup", str(tmp_path / f"during-{i}.sqlite"))
            after = len(created)
            assert out.returncode == 0, out.stderr
            assert "Backed up" in out.stdout and f"during-{i}.sqlite" in out.stdout
            backups.append((tmp_path / f"during-{i}.sqlite", before, after))
            time.sleep(0.3)
    finally:
        stop.set()
        writer.join(timeout=40)
    assert len(created) > 20, "the writer made too few rooms to overlap the backups"
    assert any(after > before for _, before, after in backups), "no backup ran while rooms were being created"
    for path, before, after in backups:
        # A whole store, and a snapshot of one moment: every room the API had confirmed before the backup started,
        # none created after it finished (the 'council' room of the meeting is the one more; one more may have been
        # stored while its confirmation was on the way).
        assert integrity(path) == "ok"
        assert before + 1 <= room_count(path) <= after + 2, (path, before, room_count(path), after)
    assert not list(tmp_path.glob("*.partial-*")), "a partial backup was left behind"

    final = tmp_path / "final.sqlite"
    assert sabha(server, "backup", str(final)).returncode == 0
    original = rows(server.data_dir / "sabha.sqlite")
    assert len(original["room"]) == len(created) + 1 and original["audit"] and original["chatMessage"]
    assert server.stop() == 0

    # Into a fresh data directory: the same rows, and a server on it serves them.
    restored_dir = tmp_path / "restored"
    out = sabha(server, "restore", str(final), data_dir=restored_dir)
    assert out.returncode == 0, out.stderr
    assert f"{len(created) + 1} rooms" in out.stdout
    assert rows(restored_dir / "sabha.sqlite") == original
    restored = SabhaServer(binary=server.binary, data_dir=restored_dir, log_path=tmp_path / "restored.log")
    restored.start()
    try:
        names = {r["name"] for r in admin(restored, "GET", "/api/rooms").json()}
        assert names == set(created) | {"council"}

        # Not while a server uses the directory: refused, and the store is untouched.
        out = sabha(restored, "restore", str(backups[0][0]))
        assert out.returncode == 1
        assert "a running 'sabha serve'" in out.stderr and "stop it first" in out.stderr, out.stderr
        assert rows(restored_dir / "sabha.sqlite") == original
        # Nor a second server on the same store.
        second = subprocess.run([str(server.binary), "serve", "--data-dir", str(restored_dir), "--http", f"127.0.0.1:{free_tcp_port()}",
                                 "--rtc", f"127.0.0.1:{free_udp_port()}"], capture_output=True, text=True, timeout=30)
        assert second.returncode == 1 and "cannot serve: a running 'sabha serve'" in second.stderr, second.stderr
    finally:
        assert restored.stop() == 0

    # Over an existing store: the one it replaces is kept beside it.
    out = sabha(restored, "restore", str(backups[0][0]))
    assert out.returncode == 0, out.stderr
    kept = list(restored_dir.glob("sabha.sqlite.before-restore-*"))
    assert len(kept) == 1 and rows(kept[0]) == original
    assert room_count(restored_dir / "sabha.sqlite") == room_count(backups[0][0])

    # What is not a Sabha store is refused in words, and changes nothing.
    sqlite3.connect(tmp_path / "other.sqlite").execute("CREATE TABLE notes (text)").connection.commit()
    (tmp_path / "text.sqlite").write_text("not a database\n" * 100)
    for bad, words in [(tmp_path / "other.sqlite", "is not a Sabha store"), (tmp_path / "text.sqlite", "is not an SQLite database"),
                       (tmp_path / "missing.sqlite", "no backup at")]:
        out = sabha(restored, "restore", str(bad))
        assert out.returncode == 1 and words in out.stderr, (bad, out.stderr)
    assert room_count(restored_dir / "sabha.sqlite") == room_count(backups[0][0])


def stamp(days_ago: float) -> str:
    """A time as GRDB stores it (UTC, 'YYYY-MM-DD HH:MM:SS.SSS')."""
    t = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days_ago)
    return t.strftime("%Y-%m-%d %H:%M:%S.") + f"{t.microsecond // 1000:03d}"


def add_old_rows(db: Path, audit_days: list[float], chat_days: list[float]) -> None:
    with sqlite3.connect(db) as conn:
        for i, days in enumerate(audit_days):
            conn.execute("INSERT INTO audit (at, room, identity, participant, event, address) VALUES (?, 'archive', ?, ?, 'joined', '127.0.0.1')",
                         (stamp(days), f"old{i}", f"p-old{i}"))
        for i, days in enumerate(chat_days):
            conn.execute("INSERT INTO chatMessage (room, at, participant, identity, name, text) VALUES ('archive', ?, ?, ?, 'Old', 'old text')",
                         (stamp(days), f"p-old{i}", f"old{i}"))


def ages(db: Path, table: str) -> list[str]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return [r[0] for r in conn.execute(f'SELECT identity FROM "{table}" WHERE room = \'archive\' ORDER BY identity')]


def test_pruning_deletes_what_is_older_than_the_retention_and_keeps_the_rest(start_server):
    server = start_server()
    ws = MeetingSocket(server.base_url)
    try:
        ws.join(server.token("council", "asha", "host"))
    finally:
        ws.close()
    assert server.stop() == 0
    db = server.data_dir / "sabha.sqlite"
    recent = rows(db)["audit"]
    assert recent, "the join left no audit rows"
    # 200 and 181 days: past the default 180; 179 and 10 days: within it.
    add_old_rows(db, audit_days=[200, 181, 179, 10], chat_days=[400, 30])

    out = sabha(server, "prune")
    assert out.returncode == 0, out.stderr
    assert "Pruned 2 audit rows, 1 chat messages, 0 finished outbox items" in out.stdout, out.stdout
    assert "audit 180 days, chat 180 days, finished outbox items 30 days" in out.stdout
    assert ages(db, "audit") == ["old2", "old3"] and ages(db, "chatMessage") == ["old1"]
    assert [r for r in rows(db)["audit"] if r[2] != "archive"] == recent, "a recent row went"

    # 0 keeps for ever; a bad value is explained.
    out = sabha(server, "prune", "--audit-retention-days", "0", "--chat-retention-days", "0")
    assert out.returncode == 0 and "Pruned 0 audit rows, 0 chat messages" in out.stdout and "audit for ever" in out.stdout
    out = sabha(server, "prune", "--audit-retention-days", "99999")
    assert out.returncode != 0 and "--audit-retention-days must be a whole number from 0 to 36500" in out.stderr

    # The server prunes by itself when it starts (and every six hours), with its own retention, and says so.
    server.extra_args = ["--audit-retention-days", "5", "--chat-retention-days", "20"]
    server.start()
    deadline = time.monotonic() + 15
    while ages(db, "audit") != [] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ages(db, "audit") == [] and ages(db, "chatMessage") == []
    assert "pruned the store to its retention" in server.log_text()
    assert "audit 5 days, chat 20 days" in server.log_text()
    # The recent audit rows (this minute's join and leave) stay.
    assert [r for r in rows(db)["audit"] if r[2] != "archive"] == recent
