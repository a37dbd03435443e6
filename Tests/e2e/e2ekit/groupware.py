"""Mail and calendar servers for the scheduled-meetings tests (docs/meetings.md): an aiosmtpd sink that keeps
every message per recipient, a Radicale CalDAV server with two calendars, the iMIP mail parser and a strict
RFC 5545 checker for the invitations Sabha sends."""

from __future__ import annotations

import email
import email.policy
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests

from e2ekit.process import terminate

from e2ekit.server import free_tcp_port

HERE = Path(__file__).resolve().parent


# ---------------------------------------------------------------------------------------------------- SMTP sink


class SmtpSink:
    """The SMTP server of smtp_sink.py in a subprocess. stop() and start() again keep the port (an outage)."""

    def __init__(self, outdir: Path, log_path: Path) -> None:
        self.outdir = outdir
        self.log_path = log_path
        self.refuse: list[str] = []   # recipients answered 550 at RCPT TO (takes effect at the next start())
        self.port = 0
        self.proc: subprocess.Popen | None = None
        outdir.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?starttls=off"

    def start(self, timeout: float = 15.0) -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        log = open(self.log_path, "ab")
        cmd = [sys.executable, str(HERE / "smtp_sink.py"), str(self.outdir), "--port", str(self.port)]
        cmd += [arg for address in self.refuse for arg in ("--refuse", address)]
        deadline = time.monotonic() + timeout
        while True:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log)
            line = self.proc.stdout.readline().decode().strip()  # "READY <port>", or "" when it died (port busy)
            if line.startswith("READY "):
                self.port = int(line.split()[1])
                log.close()
                return
            self.proc.wait(5)
            if time.monotonic() > deadline:
                log.close()
                raise AssertionError(f"the SMTP sink did not start on port {self.port}: see {self.log_path}")
            time.sleep(0.2)  # the old socket may still be closing: bounded retry

    def stop(self) -> None:
        """Ends the server at once (as an outage would): connections are refused until start()."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.kill()
        self.proc.wait(10)
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def files(self, recipient: str) -> list[Path]:
        folder = self.outdir / recipient.lower()
        if not folder.is_dir():
            return []
        return sorted(folder.glob("*.eml"), key=lambda p: (int(p.name.split("-")[0]), p.name))

    def messages(self, recipient: str) -> list["Mail"]:
        """Every message delivered to `recipient`, oldest first."""
        return [Mail.parse(p.read_bytes()) for p in self.files(recipient)]

    def recipients(self) -> list[str]:
        return sorted(p.name for p in self.outdir.iterdir() if p.is_dir())

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


@dataclass
class Mail:
    raw: bytes
    msg: email.message.EmailMessage
    content_types: list[str]          # every part's type, in tree order (multipart containers included)
    plain: str | None
    html: str | None
    calendar: str | None              # the text/calendar part, decoded
    calendar_method: str | None       # its method= parameter
    attachment: str | None            # the invite.ics attachment, decoded
    attachment_type: str | None

    @property
    def subject(self) -> str:
        return str(self.msg["Subject"] or "")

    @classmethod
    def parse(cls, raw: bytes) -> "Mail":
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        types, plain, html, cal, method, att, att_type = [], None, None, None, None, None, None
        for part in msg.walk():
            ctype = part.get_content_type()
            types.append(ctype)
            if part.is_multipart():
                continue
            filename = part.get_filename()
            payload = part.get_payload(decode=True) or b""
            text = payload.decode(part.get_content_charset() or "utf-8")
            if filename == "invite.ics" or part.get_content_disposition() == "attachment":
                att, att_type = text, ctype
            elif ctype == "text/calendar":
                cal, method = text, part.get_param("method")
            elif ctype == "text/plain" and plain is None:
                plain = text
            elif ctype == "text/html" and html is None:
                html = text
        return cls(raw, msg, types, plain, html, cal, method, att, att_type)


# ---------------------------------------------------------------------------------------------------- Radicale

RADICALE_USER = "collector"
RADICALE_PASSWORD = "collector-secret-1"


@dataclass
class Radicale:
    root: Path
    log_path: Path
    port: int = 0
    lenient: bool = False   # behind radicale_lenient.py: objects Radicale refuses are kept and served anyway
    refuse_attach: bool = False  # (lenient only) PUTs with an ATTACH property are refused 403, as some servers do
    proc: subprocess.Popen | None = None
    calendars: dict = field(default_factory=dict)

    user = RADICALE_USER
    password = RADICALE_PASSWORD

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def organizer_url(self) -> str:
        return f"{self.base_url}/{self.user}/calendar/"

    @property
    def resource_url(self) -> str:
        return f"{self.base_url}/{self.user}/conference-room/"

    def start(self, timeout: float = 20.0) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_tcp_port()
        htpasswd = self.root / "htpasswd"
        htpasswd.write_text(f"{self.user}:{self.password}\n")
        config = self.root / "config"
        config.write_text(
            "[server]\n"
            f"hosts = 127.0.0.1:{self.port}\n"
            "[auth]\n"
            "type = htpasswd\n"
            f"htpasswd_filename = {htpasswd}\n"
            "htpasswd_encryption = plain\n"
            "delay = 0\n"
            "[rights]\n"
            "type = owner_only\n"
            "[storage]\n"
            f"filesystem_folder = {self.root / 'collections'}\n"
            "[web]\n"
            "type = none\n"
            "[logging]\n"
            "level = info\n"
        )
        self._log = open(self.log_path, "ab")
        entry = [str(HERE / "radicale_lenient.py")] if self.lenient else ["-m", "radicale"]
        env = dict(os.environ, **({"SABHA_TEST_REFUSE_ATTACH": "1"} if self.refuse_attach else {}))
        self.proc = subprocess.Popen([sys.executable, *entry, "--config", str(config)], env=env,
                                     stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"radicale exited with {self.proc.returncode}: {self.log_text()[-3000:]}")
            try:
                r = requests.request("PROPFIND", self.base_url + "/", auth=(self.user, self.password),
                                     headers={"Depth": "0"}, timeout=2)
                if r.status_code in (207, 200):
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"radicale did not answer within {timeout}s")
            time.sleep(0.1)

    def stop(self) -> None:
        terminate(self.proc)
        if self.proc is not None:
            self._log.close()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def client(self):
        import caldav

        return caldav.DAVClient(url=self.base_url + "/", username=self.user, password=self.password, timeout=10)

    def make_calendars(self) -> None:
        """The organizer calendar /collector/calendar/ and the resource calendar /collector/conference-room/."""
        principal = self.client().principal()
        self.calendars["organizer"] = principal.make_calendar(name="Collector", cal_id="calendar")
        self.calendars["resource"] = principal.make_calendar(name="Conference room", cal_id="conference-room")
        for url in (self.organizer_url, self.resource_url):
            r = requests.request("PROPFIND", url, auth=(self.user, self.password), headers={"Depth": "0"}, timeout=5)
            assert r.status_code == 207, f"PROPFIND {url}: {r.status_code} {r.text[:500]}"

    def calendar(self, which: str):
        """'organizer' or 'resource': a caldav.Calendar."""
        import caldav

        url = self.organizer_url if which == "organizer" else self.resource_url
        return caldav.Calendar(client=self.client(), url=url)

    def objects(self, which: str) -> dict[str, str]:
        """href -> raw iCalendar text of every object in the calendar (plain WebDAV, no caching)."""
        url = self.organizer_url if which == "organizer" else self.resource_url
        body = ('<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
                '<D:prop><D:getetag/><C:calendar-data/></D:prop>'
                '<C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>')
        r = requests.request("REPORT", url, data=body.encode(), auth=(self.user, self.password),
                             headers={"Depth": "1", "Content-Type": "application/xml; charset=utf-8"}, timeout=10)
        assert r.status_code == 207, f"REPORT {url}: {r.status_code} {r.text[:500]}"
        import xml.etree.ElementTree as ET

        ns = {"D": "DAV:", "C": "urn:ietf:params:xml:ns:caldav"}
        out = {}
        for resp in ET.fromstring(r.content).findall("D:response", ns):
            href = resp.findtext("D:href", namespaces=ns)
            data = resp.find(".//C:calendar-data", ns)
            if href and data is not None and data.text:
                out[href] = data.text
        return out

    def events(self, which: str) -> list:
        """Every VEVENT (icalendar components) in the calendar."""
        import icalendar

        found = []
        for text in self.objects(which).values():
            found += [c for c in icalendar.Calendar.from_ical(text).walk("VEVENT")]
        return found

    def put_raw(self, which: str, name: str, body: bytes, content_type: str = "text/calendar; charset=utf-8") -> int:
        url = (self.organizer_url if which == "organizer" else self.resource_url) + name
        r = requests.put(url, data=body, auth=(self.user, self.password), headers={"Content-Type": content_type}, timeout=10)
        return r.status_code


# ---------------------------------------------------------------------------------------------------- iCalendar


def strict_ics_check(text: str):
    """Checks an iTIP object the way a strict receiver would; returns the parsed icalendar.Calendar.

    RFC 5545: CRLF line ends, lines folded at 75 octets, VCALENDAR with VERSION:2.0, PRODID and (iTIP) METHOD;
    each VEVENT has UID, DTSTAMP, SEQUENCE, DTSTART with TZID, DTEND, ORGANIZER and ATTENDEEs with ROLE, PARTSTAT,
    RSVP; every TZID used is defined by a VTIMEZONE.
    """
    import icalendar

    raw = text.encode("utf-8")
    assert raw.endswith(b"\r\n"), "the object does not end with CRLF"
    lines = raw[:-2].split(b"\r\n")
    for i, line in enumerate(lines):
        assert b"\n" not in line and b"\r" not in line, f"line {i + 1} has a bare LF or CR: {line[:80]!r}"
        assert len(line) <= 75, f"line {i + 1} is {len(line)} octets (> 75): {line!r}"
        try:  # RFC 5545 3.1: folding inside a multi-octet character is "improperly folded"
            line.decode("utf-8")
        except UnicodeDecodeError:
            raise AssertionError(f"line {i + 1} splits a UTF-8 character: {line!r}") from None
    assert lines[0] == b"BEGIN:VCALENDAR", f"starts with {lines[0]!r}"
    assert lines[-1] == b"END:VCALENDAR", f"ends with {lines[-1]!r}"
    unfolded = raw.replace(b"\r\n ", b"").replace(b"\r\n\t", b"").decode("utf-8").split("\r\n")
    assert "VERSION:2.0" in unfolded, "no VERSION:2.0"
    assert any(ln.startswith("PRODID:") for ln in unfolded), "no PRODID"
    assert any(ln.startswith("METHOD:") for ln in unfolded), "no METHOD"

    cal = icalendar.Calendar.from_ical(text)
    assert str(cal.get("VERSION")) == "2.0"
    assert cal.get("METHOD") is not None and cal.get("PRODID") is not None
    events = list(cal.walk("VEVENT"))
    assert events, "no VEVENT"
    tz_ids = {str(tz.get("TZID")) for tz in cal.walk("VTIMEZONE")}
    for ev in events:
        for prop in ("UID", "DTSTAMP", "SEQUENCE", "DTSTART", "DTEND", "ORGANIZER"):
            assert ev.get(prop) is not None, f"VEVENT without {prop}"
        int(ev.get("SEQUENCE"))
        tzid = ev["DTSTART"].params.get("TZID")
        assert tzid, f"DTSTART has no TZID: {ev['DTSTART'].to_ical()!r}"
        assert tzid in tz_ids, f"DTSTART TZID {tzid!r} has no VTIMEZONE (defined: {sorted(tz_ids)})"
        end_tzid = ev["DTEND"].params.get("TZID")
        assert end_tzid is None or end_tzid in tz_ids, f"DTEND TZID {end_tzid!r} has no VTIMEZONE"
        attendees = ev.get("ATTENDEE")
        assert attendees, "VEVENT without ATTENDEE"
        if not isinstance(attendees, list):
            attendees = [attendees]
        for att in attendees:
            for param in ("ROLE", "PARTSTAT", "RSVP"):
                assert att.params.get(param), f"ATTENDEE {att} has no {param}"
            assert str(att).lower().startswith("mailto:"), f"ATTENDEE {att} is not a mailto: URI"
        assert str(ev["ORGANIZER"]).lower().startswith("mailto:"), f"ORGANIZER {ev['ORGANIZER']} is not mailto:"
    for tz in cal.walk("VTIMEZONE"):
        assert tz.walk("STANDARD") or tz.walk("DAYLIGHT"), f"VTIMEZONE {tz.get('TZID')} has no STANDARD/DAYLIGHT"
    return cal


def event_of(cal):
    (ev,) = list(cal.walk("VEVENT"))
    return ev


def event_text_fields(ev) -> str:
    """LOCATION, DESCRIPTION, URL and CONFERENCE values joined (where a join link may be)."""
    parts = []
    for prop in ("LOCATION", "DESCRIPTION", "URL", "CONFERENCE"):
        v = ev.get(prop)
        if v is None:
            continue
        for x in (v if isinstance(v, list) else [v]):
            parts.append(f"{prop}:{x}")
    return "\n".join(parts)


def link_token(link: str) -> str:
    """The t= token of a join link."""
    (tok,) = parse_qs(urlsplit(link).query)["t"]
    return tok


def link_room(link: str) -> str:
    path = urlsplit(link).path
    assert path.startswith("/m/"), link
    return path[len("/m/"):]


def sabha_env(smtp: SmtpSink | None, radicale: Radicale | None, **extra: str) -> dict[str, str]:
    """The environment of docs/meetings.md for a server that mails through `smtp` and writes to / watches `radicale`."""
    env = {"SABHA_OUTBOX_RETRY": "1s", "SABHA_WATCH_INTERVAL": "1s"}
    if smtp is not None:
        env |= {"SABHA_SMTP_URL": smtp.url, "SABHA_SMTP_FROM": "Sabha <meet@dept.example>"}
    if radicale is not None:
        env |= {"SABHA_CALDAV_URL": radicale.organizer_url, "SABHA_CALDAV_USER": radicale.user,
                "SABHA_CALDAV_PASSWORD": radicale.password, "SABHA_RESOURCE_CALENDAR_URL": radicale.resource_url}
    return env | extra
