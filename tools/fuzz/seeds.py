#!/usr/bin/env python3
"""Seed corpora for the fuzz targets, made from the repository's fixtures and RFC examples.

    python3 tools/fuzz/seeds.py OUTDIR

writes OUTDIR/<target>/<sha1> files (existing files are kept, so a corpus grown by earlier runs
stays). Sources:
  - Tests/Fixtures/pcap/chromium156-loopback-call.pcap: every UDP payload, sorted by its first byte
    (RFC 7983) into stun, dtls (several datagrams of one flight per seed), rtp, rtcp and srtp seeds;
  - Tests/Fixtures/sdp/*.sdp (and ../shared/fixtures/sdp when present): sdp, and meeting offers;
  - Tests/Fixtures/ical/*.ics (RFC 5545 examples): ical and booking;
  - packets built here from the RFC layouts (RTCP SR/RR/SDES/BYE/NACK/PLI/FIR/REMB, transport-wide
    feedback, a multistatus body as Radicale sends it, the meeting protocol's messages).
"""
import hashlib
import json
import os
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def write(out: Path, target: str, data: bytes) -> None:
    folder = out / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)


def pcap_udp_payloads(path: Path):
    """(src port, dst port, payload) of every IPv4/IPv6 UDP packet of a classic pcap (Ethernet or Linux cooked)."""
    data = path.read_bytes()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    offset = 24
    while offset + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(endian + "IIII", data[offset:offset + 16])
        frame = data[offset + 16:offset + 16 + caplen]
        offset += 16 + caplen
        if linktype == 1:      # Ethernet
            ethertype, ip = struct.unpack("!H", frame[12:14])[0], frame[14:]
        elif linktype == 113:  # Linux cooked v1
            ethertype, ip = struct.unpack("!H", frame[14:16])[0], frame[16:]
        elif linktype == 276:  # Linux cooked v2
            ethertype, ip = struct.unpack("!H", frame[0:2])[0], frame[20:]
        elif linktype == 0:    # BSD loopback
            ethertype = 0x86DD if struct.unpack("<I", frame[:4])[0] in (24, 28, 30) else 0x0800
            ip = frame[4:]
        else:
            continue
        if ethertype == 0x0800 and len(ip) >= 20 and ip[9] == 17:
            udp = ip[(ip[0] & 0x0F) * 4:]
        elif ethertype == 0x86DD and len(ip) >= 40 and ip[6] == 17:
            udp = ip[40:]
        else:
            continue
        if len(udp) >= 8:
            sport, dport = struct.unpack("!HH", udp[:4])
            yield sport, dport, udp[8:]


def rtcp(packet_type: int, count: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    return struct.pack("!BBH", 0x80 | count, packet_type, (4 + len(body)) // 4 - 1) + body


def twcc_fci(base=100, statuses=(1, 1, 0, 2, 1), deltas=(4, 8, -20, 12), reference=0x000123, count=7) -> bytes:
    """Transport-wide feedback FCI (after the 12-byte header... minus the common header): SSRCs, base,
    status count, reference time, feedback count, one two-bit vector chunk, deltas."""
    chunk = 0xC000
    for i, s in enumerate(statuses[:7]):
        chunk |= s << (12 - 2 * i)
    fci = struct.pack("!IIHH", 0x11111111, 0x22222222, base, len(statuses))
    fci += struct.pack("!I", (reference << 8) | count)[0:4]
    fci += struct.pack("!H", chunk)
    for s, d in zip([s for s in statuses if s], deltas):
        fci += struct.pack("!B", d) if s == 1 else struct.pack("!h", d)
    return fci


def rtcp_seeds():
    block = struct.pack("!IB3sIIII", 0x1234, 12, (5).to_bytes(3, "big"), 70000, 30, 0x12345678, 65536)
    sr = rtcp(200, 1, struct.pack("!IQIII", 0xAAAA, 0xE1234567_89ABCDEF, 90000, 100, 120000) + block)
    rr = rtcp(201, 1, struct.pack("!I", 0xBBBB) + block)
    cname = b"fuzz@sabha"
    sdes = rtcp(202, 1, struct.pack("!IBB", 0xAAAA, 1, len(cname)) + cname + b"\0")
    bye = rtcp(203, 1, struct.pack("!IB", 0xAAAA, 6) + b"leave!")
    nack = rtcp(205, 1, struct.pack("!IIHH", 0xBBBB, 0xAAAA, 1000, 0b1010_0000_0000_0101))
    pli = rtcp(206, 1, struct.pack("!II", 0xBBBB, 0xAAAA))
    fir = rtcp(206, 4, struct.pack("!IIIB3x", 0xBBBB, 0, 0xAAAA, 7))
    remb = rtcp(206, 15, struct.pack("!II4sB", 0xBBBB, 0, b"REMB", 1) + ((5 << 18) | 40000).to_bytes(3, "big") + struct.pack("!I", 0xAAAA))
    twcc = rtcp(205, 15, twcc_fci())
    yield from (sr + sdes, rr + sdes + bye, rr + nack, rr + pli, rr + fir, rr + remb, rr + twcc, sr, nack, twcc)


MULTISTATUS = b"""<?xml version="1.0" encoding="utf-8"?>
<multistatus xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><sync-token>http://radicale.org/ns/sync/e055</sync-token>
<response><href>/resource/calendar/event-1.ics</href><propstat><prop><getetag>"abc"</getetag>
<C:calendar-data>BEGIN:VCALENDAR&#13;
END:VCALENDAR&#13;
</C:calendar-data></prop><status>HTTP/1.1 200 OK</status></propstat></response>
<response><href>/resource/calendar/gone.ics</href><status>HTTP/1.1 404 Not Found</status></response></multistatus>"""


REPLY_CALENDAR = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:room-42@meet.example.in\r\n"
    "DTSTAMP:20260301T101500Z\r\nSEQUENCE:2\r\nATTENDEE;PARTSTAT=ACCEPTED;SENT-BY=\"mailto:pa@example.in\":mailto:su\r\n"
    " nil@example.in\r\nCOMMENT:see you\\, then\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


def imip_seeds():
    """iMIP replies as mail clients send them: the calendar inline (7bit, quoted-printable) or base64, nested."""
    import base64
    import quopri

    head = "From: Sunil <sunil@example.in>\r\nSender: office@example.in\r\nMIME-Version: 1.0\r\n"
    alt = ("Content-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\n"
           "Accepted\r\n--b1\r\nContent-Type: text/calendar; charset=utf-8; method=REPLY\r\n"
           "Content-Transfer-Encoding: {cte}\r\n\r\n{body}\r\n--b1--\r\n")
    yield (head + alt.format(cte="7bit", body=REPLY_CALENDAR)).encode()
    yield (head + alt.format(cte="base64", body=base64.encodebytes(REPLY_CALENDAR.encode()).decode())).encode()
    yield (head + alt.format(cte="quoted-printable", body=quopri.encodestring(REPLY_CALENDAR.encode()).decode())).encode()
    mixed = ("Content-Type: multipart/mixed; boundary=m\n\n--m\n" + alt.format(cte="8bit", body=REPLY_CALENDAR)
             + "--m\nContent-Type: application/ics; name=invite.ics\nContent-Transfer-Encoding: base64\n\n"
             + base64.encodebytes(REPLY_CALENDAR.encode()).decode() + "--m--\n")
    yield (head + mixed).replace("\r\n", "\n").encode()


IMAP_STREAMS = [
    b"* OK [CAPABILITY IMAP4rev1 STARTTLS LITERAL+] ready\r\ns1 OK done\r\n* 3 EXISTS\r\n* 0 RECENT\r\n"
    b"* OK [UIDVALIDITY 1796485633] UIDs valid\r\n* FLAGS (\\Answered \\Seen)\r\ns2 OK [READ-ONLY] Examine done\r\n",
    b"* 1 FETCH (UID 4 RFC822.SIZE 1234)\r\n* 2 FETCH (UID 9 RFC822.SIZE 77 FLAGS (\\Seen))\r\ns3 OK\r\n",
    b"* 2 FETCH (UID 9 BODY[] {12}\r\nFrom: a@b.c\r\n)\r\n+ go on\r\n* 2 FETCH (BODY[] {3+}\nabc UID 9)\ns4 OK\n",
    b"* BYE shutting down\r\ns5 NO [UNAVAILABLE] try later\r\n",
]


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(sys.argv[1])
    fixtures = ROOT / "Tests" / "Fixtures"

    # The captured call: one seed per datagram class, and DTLS flights as multi-datagram seeds.
    flight = {}
    for sport, dport, payload in pcap_udp_payloads(fixtures / "pcap" / "chromium156-loopback-call.pcap"):
        if not payload:
            continue
        first = payload[0]
        if first <= 3:
            write(out, "stun", payload)
        elif 20 <= first <= 63:
            flight.setdefault((sport, dport), []).append(payload)
        elif 128 <= first <= 191:
            is_rtcp = len(payload) > 1 and 192 <= payload[1] <= 223
            if not is_rtcp:
                write(out, "rtp", payload)
            else:
                write(out, "rtcp", payload)
            write(out, "srtp", b"\x00" + payload)  # raw mode, AES_CM_128_HMAC_SHA1_80 as in the capture
    # ICE-TCP: the call's first datagrams as one RFC 4571 stream (STUN, DTLS, SRTP, SRTCP framed back to back).
    stream = [payload for _, _, payload in pcap_udp_payloads(fixtures / "pcap" / "chromium156-loopback-call.pcap") if payload]
    for start in range(0, min(len(stream), 64), 8):
        write(out, "icetcp", b"".join(struct.pack("!H", len(d)) + d for d in stream[start:start + 8]))
    write(out, "icetcp", b"\x00\x05hello\x00\x00")
    write(out, "icetcp", b"\xff\xff" + bytes(64))
    for datagrams in flight.values():
        for start in range(0, len(datagrams), 4):
            write(out, "dtls", b"".join(struct.pack("!H", len(d)) + d for d in datagrams[start:start + 4]))

    for packet in rtcp_seeds():
        write(out, "rtcp", packet)
    for statuses, deltas in (((1, 1, 0, 2, 1), (4, 8, -20, 12)), ((1,) * 7, (1, 2, 3, 4, 5, 6, 7)), ((0, 0, 2), (-300,))):
        fci = twcc_fci(statuses=statuses, deltas=deltas)
        write(out, "twcc", b"\x00" + fci)
        write(out, "twcc", b"\x81" + fci)
        # bwe: send 16 packets (op 0x10 sends 2), then the feedback (op 2) with a u16 time step.
        write(out, "bwe", b"\x00\x64" + b"\x10\x00\x10" * 8 + b"\x02\x00\x20" + bytes([len(fci)]) + fci)

    sdps = sorted((fixtures / "sdp").glob("*.sdp"))
    shared = ROOT.parent / "shared" / "fixtures" / "sdp"
    if shared.is_dir():
        sdps += sorted(shared.glob("*.sdp"))
    for path in sdps:
        sdp = path.read_bytes()
        write(out, "sdp", sdp)
        write(out, "meeting", json.dumps({"type": "offer", "sdp": sdp.decode(), "sources": {"0": "microphone", "1": "camera"}}).encode())
    for message in (
        {"type": "join", "version": 1, "token": "eyJhbGciOiJIUzI1NiJ9.e30.sig", "name": "Asha", "room": "review"},
        {"type": "join", "version": 1, "token": "t", "resume": "r-1"},
        {"type": "mute", "kind": "audio", "muted": True},
        {"type": "ping", "id": 7}, {"type": "leave"}, {"type": "end-meeting"},
        {"type": "remove", "participant": "p-2"},
        {"type": "mute-participant", "participant": "p-2", "kind": "video"},
        {"type": "video-size", "track": "t-1", "width": 320, "height": 180},
    ):
        write(out, "meeting", json.dumps(message).encode())

    for path in sorted((fixtures / "ical").glob("*.ics")):
        write(out, "ical", path.read_bytes())
        write(out, "booking", path.read_bytes())
    write(out, "caldav", MULTISTATUS)
    for mail in imip_seeds():
        write(out, "imip", mail)
    for stream in IMAP_STREAMS:
        write(out, "imap", b"\x10" + stream)  # first byte: where the target cuts the stream in two reads

    # The stateful targets read programs; a few bytes are enough to start from.
    for target in ("rewriter", "replay", "nack", "rtxbuffer"):
        write(out, target, bytes(range(0, 64)))
        write(out, target, bytes([0x01, 0x00, 0x10]) * 20)
    for key in ("srtp",):
        write(out, key, b"\x02" + b"\x05\x00\x01\x04abcd" * 4 + b"\x85\x00")
        write(out, key, b"\x03" + b"\x45\x00\x01\x00" * 4 + b"\xc5\x00")
    return 0


if __name__ == "__main__":
    sys.exit(main())
