"""A small aiosmtpd server for the SMTPClient tests (Tests/GroupwareBridgeTests/SMTP*.swift).

Listens on 127.0.0.1 at a free port, prints "READY <port>" on stdout and serves until stdin
closes (the test ends) or it is killed. Every accepted message is written, exactly as received
after aiosmtpd removed the dot-stuffing, to <outdir>/<n>-<recipient>.eml, once per recipient.

Options: --tls-cert/--tls-key enable STARTTLS and require it; --user/--password require AUTH
with those credentials (aiosmtpd offers AUTH only after STARTTLS); --only-login offers only
AUTH LOGIN; --refuse ADDRESS answers 550 to RCPT TO for that address (repeatable).
"""

import argparse
import asyncio
import itertools
import os
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


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
            path = os.path.join(self.outdir, f"{n}-{rcpt}.eml")
            with open(path + ".tmp", "wb") as f:
                f.write(envelope.original_content)
            os.rename(path + ".tmp", path)
        return "250 Message accepted for delivery"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("outdir")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--only-login", action="store_true")
    parser.add_argument("--refuse", action="append", default=[])
    args = parser.parse_args()

    tls_context = None
    if args.tls_cert:
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(args.tls_cert, args.tls_key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == args.user.encode()
            and auth_data.password == args.password.encode()
        )
        # handled=False: aiosmtpd then answers 535 itself (with the default handled=True it says nothing).
        return AuthResult(success=ok, handled=False)

    handler = Handler(args.outdir, args.refuse)

    def factory():
        return SMTP(
            handler,
            hostname="sabha-test-smtp",
            tls_context=tls_context,
            require_starttls=tls_context is not None,
            authenticator=authenticator if args.user else None,
            auth_required=bool(args.user),
            auth_exclude_mechanism=["PLAIN"] if args.only_login else None,
        )

    async def serve():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(factory, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        print(f"READY {port}", flush=True)
        # Serve until the test closes our stdin.
        await loop.run_in_executor(None, sys.stdin.read)
        server.close()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
