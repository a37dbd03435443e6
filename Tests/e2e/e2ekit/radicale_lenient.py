"""Radicale with a lenient layer in front, for the bad-input tests only: a calendar object that Radicale refuses
(PUT answered 400: not iCalendar at all, a VEVENT without DTSTART, ...) is kept by this layer instead and served
to clients as if the server had stored it, the way a less strict CalDAV server (or a broken import) would.

Everything else is plain Radicale. The kept objects show up in the collection's listings: PROPFIND Depth 1,
REPORT calendar-query and sync-collection (appended), calendar-multiget (for their hrefs), GET/HEAD, and DELETE
removes them. Each change bumps the collection's CS:getctag and D:sync-token (a suffix this layer strips again
from tokens clients send back), so a client that polls those sees the change.

Usage: radicale_lenient.py --config FILE   (the arguments of `python -m radicale`)
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import sys
import threading
import xml.etree.ElementTree as ET

import radicale.__main__
import radicale.server

NS = {"D": "DAV:", "C": "urn:ietf:params:xml:ns:caldav", "CS": "http://calendarserver.org/ns/"}
for prefix, uri in NS.items():
    ET.register_namespace(prefix, uri)
SUFFIX = re.compile(r"-lenient\d+")
# SABHA_TEST_REFUSE_ATTACH=1: PUTs whose calendar data has an ATTACH are refused (403), as servers do that keep no
# attachments in events.
REFUSE_ATTACH = os.environ.get("SABHA_TEST_REFUSE_ATTACH") == "1"


def clark(name: str) -> str:
    prefix, local = name.split(":")
    return f"{{{NS[prefix]}}}{local}"


class Lenient:
    def __init__(self, app) -> None:
        self.app = app
        self.kept: dict[str, bytes] = {}   # href -> body
        self.generation: dict[str, int] = {}  # collection href -> changes made here
        self.lock = threading.Lock()

    @staticmethod
    def collection_of(href: str) -> str:
        return href.rsplit("/", 1)[0] + "/"

    def etag(self, body: bytes) -> str:
        return '"lenient-' + hashlib.sha1(body).hexdigest() + '"'

    def bump(self, collection: str) -> None:
        self.generation[collection] = self.generation.get(collection, 0) + 1

    def __call__(self, environ, start_response):
        environ.pop("HTTP_ACCEPT_ENCODING", None)  # plain bodies, so this layer can edit them
        method = environ["REQUEST_METHOD"].upper()
        path = environ.get("PATH_INFO", "")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        if method in ("PROPFIND", "REPORT") and body:
            body = SUFFIX.sub("", body.decode("utf-8", "replace")).encode()
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))

        if method == "PUT" and REFUSE_ATTACH and re.search(rb"(^|\n)ATTACH[;:]", body):
            # As servers that take no attachments in calendar data answer (CalDAV precondition, RFC 4791 5.3.2.1).
            print(f"lenient: refused {path}: it has an ATTACH", file=sys.stderr, flush=True)
            error = (b'<?xml version="1.0"?><D:error xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
                     b'<C:valid-calendar-data/></D:error>')
            start_response("403 Forbidden", [("Content-Type", "application/xml"), ("Content-Length", str(len(error)))])
            return [error]
        with self.lock:
            kept = dict(self.kept)
        if path in kept and method in ("GET", "HEAD"):
            data = kept[path]
            start_response("200 OK", [("Content-Type", "text/calendar; charset=utf-8"),
                                      ("Content-Length", str(len(data))), ("ETag", self.etag(data))])
            return [b"" if method == "HEAD" else data]
        if path in kept and method == "DELETE":
            with self.lock:
                self.kept.pop(path, None)
                self.bump(self.collection_of(path))
            start_response("204 No Content", [("Content-Length", "0")])
            return [b""]

        status, headers, out = self.call(environ)
        if method == "PUT" and status.startswith("400") and path.endswith(".ics"):
            with self.lock:
                created = path not in self.kept
                self.kept[path] = body
                self.bump(self.collection_of(path))
            print(f"lenient: kept {path} ({len(body)} bytes) that Radicale refused", file=sys.stderr, flush=True)
            start_response("201 Created" if created else "204 No Content",
                           [("Content-Length", "0"), ("ETag", self.etag(body))])
            return [b""]
        if method in ("PUT", "DELETE") and path in kept and status[:1] == "2":
            with self.lock:  # Radicale now holds a real object under that name: it replaces ours
                self.kept.pop(path, None)
        if method in ("PROPFIND", "REPORT") and status.startswith("207"):
            listing = method == "REPORT" or environ.get("HTTP_DEPTH", "infinity") != "0"
            out = self.edit_multistatus(path, body, out, listing)
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers.append(("Content-Length", str(len(out))))
        start_response(status, headers)
        return [out]

    def call(self, environ):
        captured = {}

        def start(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers

        chunks = self.app(environ, start)
        try:
            out = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        return captured["status"], captured["headers"], out

    def edit_multistatus(self, path: str, request: bytes, out: bytes, listing: bool) -> bytes:
        collection = path if path.endswith("/") else path + "/"
        with self.lock:
            kept = {h: b for h, b in self.kept.items() if self.collection_of(h) == collection}
            gen = self.generation.get(collection, 0)
        if not gen:
            return out
        try:
            root = ET.fromstring(out)
            req = ET.fromstring(request) if request.strip() else None
        except ET.ParseError:
            return out
        # The collection's change markers.
        for tag in ("CS:getctag", "D:sync-token"):
            for el in root.iter(clark(tag)):
                text = (el.text or "").strip()
                if text:  # inside the quotes of a quoted ctag, so it stays one opaque token
                    el.text = text[:-1] + f"-lenient{gen}\"" if text.endswith('"') else text + f"-lenient{gen}"
        if not kept or not listing:
            return ET.tostring(root, xml_declaration=True, encoding="utf-8")
        wants_data = req is not None and req.find(".//" + clark("C:calendar-data")) is not None
        multiget = req is not None and req.tag == clark("C:calendar-multiget")
        if multiget:
            asked = {(h.text or "").strip() for h in req.iter(clark("D:href"))}
            kept = {h: b for h, b in kept.items() if h in asked}
            for resp in list(root.findall(clark("D:response"))):
                if (resp.findtext(clark("D:href")) or "").strip() in kept:
                    root.remove(resp)
        insert_at = len(root.findall(clark("D:response")))
        for href, data in sorted(kept.items()):
            resp = ET.Element(clark("D:response"))
            ET.SubElement(resp, clark("D:href")).text = href
            propstat = ET.SubElement(resp, clark("D:propstat"))
            prop = ET.SubElement(propstat, clark("D:prop"))
            ET.SubElement(prop, clark("D:getetag")).text = self.etag(data)
            ET.SubElement(prop, clark("D:getcontenttype")).text = "text/calendar; charset=utf-8; component=VEVENT"
            ET.SubElement(prop, clark("D:resourcetype"))
            if wants_data:
                text = data.decode("utf-8", "replace")
                text = "".join(ch for ch in text if ch in "\t\r\n" or ord(ch) >= 0x20)  # only what XML can carry
                ET.SubElement(prop, clark("C:calendar-data")).text = text
            ET.SubElement(propstat, clark("D:status")).text = "HTTP/1.1 200 OK"
            root.insert(insert_at, resp)
            insert_at += 1
        return ET.tostring(root, xml_declaration=True, encoding="utf-8")


_Application = radicale.server.Application
radicale.server.Application = lambda configuration: Lenient(_Application(configuration))

if __name__ == "__main__":
    sys.argv[0] = "radicale"
    radicale.__main__.run()
