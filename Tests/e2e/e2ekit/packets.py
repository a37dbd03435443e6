"""Hand-made datagrams for the bad-input test: STUN (RFC 8489), a DTLS record (RFC 6347), RTP (RFC 3550),
and a raw-socket sender that forges the source address and port of a UDP datagram."""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
import struct
import zlib

MAGIC_COOKIE = 0x2112A442
BINDING_REQUEST = 0x0001
ATTR_USERNAME = 0x0006
ATTR_MESSAGE_INTEGRITY = 0x0008
ATTR_PRIORITY = 0x0024
ATTR_ICE_CONTROLLING = 0x802A
ATTR_FINGERPRINT = 0x8028


def _attr(kind: int, value: bytes) -> bytes:
    pad = (4 - len(value) % 4) % 4
    return struct.pack("!HH", kind, len(value)) + value + b"\x00" * pad


def stun_binding_request(username: str, integrity_key: bytes | None, *, transaction_id: bytes | None = None) -> bytes:
    """A binding request as an ICE agent sends it: USERNAME, PRIORITY, ICE-CONTROLLING, MESSAGE-INTEGRITY
    (HMAC-SHA1 with `integrity_key`, or 20 random bytes when None: a wrong integrity) and a correct FINGERPRINT."""
    tid = transaction_id or os.urandom(12)
    attrs = _attr(ATTR_USERNAME, username.encode())
    attrs += _attr(ATTR_PRIORITY, struct.pack("!I", 1853824767))
    attrs += _attr(ATTR_ICE_CONTROLLING, os.urandom(8))
    # MESSAGE-INTEGRITY covers the header with a length that already counts the MI attribute (RFC 8489 14.5).
    header = struct.pack("!HHI", BINDING_REQUEST, len(attrs) + 24, MAGIC_COOKIE) + tid
    if integrity_key is None:
        mac = os.urandom(20)
    else:
        mac = hmac.new(integrity_key, header + attrs, hashlib.sha1).digest()
    attrs += _attr(ATTR_MESSAGE_INTEGRITY, mac)
    header = struct.pack("!HHI", BINDING_REQUEST, len(attrs) + 8, MAGIC_COOKIE) + tid
    crc = (zlib.crc32(header + attrs) ^ 0x5354554E) & 0xFFFFFFFF
    attrs += _attr(ATTR_FINGERPRINT, struct.pack("!I", crc))
    return header + attrs


def truncated_stun() -> bytes:
    """A STUN header that announces 40 bytes of attributes and then stops after 4."""
    full = stun_binding_request("a:b", None)
    return full[:24]


def dtls_client_hello_like() -> bytes:
    """A DTLS 1.2 handshake record carrying the start of a ClientHello: looks like a new DTLS peer."""
    body = struct.pack("!H", 0xFEFD) + os.urandom(32) + b"\x00" + b"\x00" + struct.pack("!H", 2) + b"\xc0\x2b" + b"\x01\x00"
    handshake = struct.pack("!B", 1) + len(body).to_bytes(3, "big") + struct.pack("!H", 0) + (0).to_bytes(3, "big") + len(body).to_bytes(3, "big") + body
    record = struct.pack("!BHH", 22, 0xFEFF, 0) + (0).to_bytes(6, "big") + struct.pack("!H", len(handshake)) + handshake
    return record


def garbage(n: int, seed: int) -> list[bytes]:
    """Datagrams whose first byte is in no RFC 7983 range (not STUN 0-3, DTLS 20-63, RTP/RTCP 128-191)."""
    import random

    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        first = rnd.choice(list(range(64, 128)) + list(range(192, 256)))
        out.append(bytes([first]) + rnd.randbytes(rnd.randint(0, 200)))
    return out


def srtp_with_bad_tag(ssrc: int, seq: int, timestamp: int, payload_type: int = 96) -> bytes:
    """An RTP header for a real SSRC and a plausible sequence number, then random 'ciphertext' and tag."""
    header = struct.pack("!BBHII", 0x80, payload_type & 0x7F, seq & 0xFFFF, timestamp & 0xFFFFFFFF, ssrc)
    return header + os.urandom(120) + os.urandom(16)


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def spoofed_udp(src: tuple[str, int], dst: tuple[str, int], payload: bytes) -> None:
    """Send one UDP datagram with a forged source, through a raw IPv4 socket (IPPROTO_RAW implies IP_HDRINCL).
    Needs CAP_NET_RAW (root in the test namespace)."""
    src_ip, dst_ip = socket.inet_aton(src[0]), socket.inet_aton(dst[0])
    udp_len = 8 + len(payload)
    pseudo = src_ip + dst_ip + struct.pack("!BBH", 0, socket.IPPROTO_UDP, udp_len)
    udp = struct.pack("!HHHH", src[1], dst[1], udp_len, 0)
    csum = _checksum(pseudo + udp + payload) or 0xFFFF
    udp = struct.pack("!HHHH", src[1], dst[1], udp_len, csum)
    total = 20 + udp_len
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0x4000, 64, socket.IPPROTO_UDP, 0, src_ip, dst_ip)
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) as s:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
        s.sendto(ip + udp + payload, (dst[0], 0))


def send_from_fresh_socket(dst: tuple[str, int], payloads: list[bytes]) -> tuple[str, int]:
    """Send from a new ephemeral port (an address the server has never seen); returns that address."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        for p in payloads:
            s.sendto(p, dst)
        return s.getsockname()
