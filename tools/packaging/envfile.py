#!/usr/bin/env python3
"""Writes /etc/sabha/sabha.env for the Debian package: every `sabha serve` option, commented out, with its help
text and its SABHA_* variable, from `sabha --experimental-dump-help` (tools/package-deb.sh).

    envfile.py DUMP_HELP_JSON VERSION > sabha.env
"""

from __future__ import annotations

import re
import sys
import textwrap

import dumphelp

HEADER = """\
# /etc/sabha/sabha.env: the settings of the Sabha server (sabha.service), one VARIABLE=value a line.
# systemd reads this file when the service starts: after a change, `systemctl restart sabha`.
# Written for sabha {version} from its own help (`sabha serve --help`, `man sabha`): every option of
# `sabha serve` is below, commented out, at its default where it has a plain one. Remove the '#' to set one.
# Syntax (systemd.exec(5), EnvironmentFile=): no spaces around '='; quote a value that has spaces ("...").
#
# Before the first start, set at least these three (the server's own defaults suit one machine only):
#   SABHA_HTTP        where browsers connect. The default 127.0.0.1:8080 is reachable from this machine
#                     alone: use 0.0.0.0:8080 (or the server's address), or keep 127.0.0.1 behind a proxy.
#   SABHA_PUBLIC_URL  the address people open (https://vc.dept.gov.in), used in every link the server prints.
#   SABHA_ANNOUNCE_IP the server's address as clients reach it, for the media (UDP) path; also set
#                     SABHA_RTC to an address they can reach (e.g. 0.0.0.0:40000) and open its ports.
#
# Secrets go here too (SABHA_ADMIN_KEY, SABHA_TURN_SECRET, the passwords in SABHA_SMTP_URL, SABHA_CALDAV_PASSWORD,
# SABHA_IMAP_PASSWORD): keep this file root-only (mode 0640, owner root); systemd reads it before it starts the
# server. The server runs as a dynamic user, made up at start, so a file named in an option must be readable by it:
# the TLS key and certificate (SABHA_TLS_KEY, SABHA_TLS_CERT) through a group, as in
# /usr/share/doc/sabha/examples/tls.conf; for the TURN secret prefer SABHA_TURN_SECRET to SABHA_TURN_SECRET_FILE.
#
# SABHA_DATA_DIR is set by the unit (/var/lib/sabha, its StateDirectory=); leave it unset here.
"""

SECRET = re.compile(r"(KEY|SECRET|PASSWORD)$|^SABHA_(SMTP|IMAP)_URL$")


def comment(text: str) -> list[str]:
    return textwrap.wrap(text, width=114, initial_indent="# ", subsequent_indent="#   ",
                         break_long_words=False, break_on_hyphens=False)


def render(serve: dumphelp.Command, version: str) -> str:
    out = [HEADER.format(version=version)]
    seen: set[str] = set()
    for arg in serve.arguments:
        if arg.kind == "positional":
            continue
        names = ", ".join(arg.names)
        value = f" {arg.value_name.upper()}" if arg.kind == "option" else ""
        out.append("")
        out.extend(comment(f"{names}{value}: {arg.help}"))
        env = arg.env
        if env is None:
            out.append("#   (no environment variable: add the option to ExecStart= with `systemctl edit sabha`)")
            continue
        default = arg.default_in_help or ""
        if env == "SABHA_DATA_DIR":
            out.append("#   (set by sabha.service to /var/lib/sabha, the one directory the service may write: leave it)")
            default = "/var/lib/sabha"
        if SECRET.search(env):
            out.append("#   (a secret: it stays in this root-only file)")
        if env in seen:
            out.append(f"#   (set with {env} above)")
            continue
        seen.add(env)
        out.append(f"#{env}={default}")
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    command = dumphelp.load(argv[1])
    sys.stdout.write(render(command.find("serve"), argv[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
