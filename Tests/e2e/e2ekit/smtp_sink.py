"""A mail sink for the groupware e2e tests: an aiosmtpd SMTP server on 127.0.0.1 that stores every accepted
message once per recipient as <outdir>/<recipient>/<unique>.eml (a Maildir-like folder per recipient).

Usage: smtp_sink.py OUTDIR [--port N] [--refuse ADDRESS ...]. --refuse answers RCPT TO for that address with a
permanent 550 (a bounce at the door). Port 0 (the default) picks a free one. Prints "READY <port>" once
listening and serves until stdin closes or it is killed; the test kills it to simulate an outage and starts it
again with --port N on the same port (asyncio sets SO_REUSEADDR, so the port can be bound again at once).

Files are written to a temporary name and renamed, so a reader never sees half a message. Names are unique
across restarts (time + counter + pid), so nothing is ever overwritten and duplicates stay countable.
"""

import argparse
import asyncio
import itertools
import os
import sys
import time

from aiosmtpd.smtp import SMTP


class Handler:
    def __init__(self, outdir, refused):
        self.outdir = outdir
        self.refused = {a.lower() for a in refused}
        self.counter = itertools.count(1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refused:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        n = next(self.counter)
        for rcpt in envelope.rcpt_tos:
            folder = os.path.join(self.outdir, rcpt.lower())
            os.makedirs(folder, exist_ok=True)
            name = f"{time.time_ns()}-{os.getpid()}-{n}.eml"
            path = os.path.join(folder, name)
            with open(path + ".tmp", "wb") as f:
                f.write(envelope.original_content)
            os.rename(path + ".tmp", path)
        return "250 Message accepted for delivery"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("outdir")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--refuse", action="append", default=[])
    args = parser.parse_args()
    handler = Handler(args.outdir, args.refuse)

    async def serve():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTP(handler, hostname="sabha-e2e-smtp", enable_SMTPUTF8=True),
            "127.0.0.1", args.port, reuse_address=True)
        port = server.sockets[0].getsockname()[1]
        print(f"READY {port}", flush=True)
        await loop.run_in_executor(None, sys.stdin.read)
        server.close()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
