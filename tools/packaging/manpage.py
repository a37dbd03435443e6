#!/usr/bin/env python3
"""Writes the man page sabha(1) in roff (man macros) from `sabha --experimental-dump-help`: every subcommand,
every option with its help, the environment variables, and the files of the Debian package (tools/package-deb.sh).

    manpage.py DUMP_HELP_JSON VERSION DATE > sabha.1        (DATE as YYYY-MM-DD)
"""

from __future__ import annotations

import sys

import dumphelp


def text(s: str) -> str:
    """Plain text for roff: backslashes escaped, no line starting with a control character."""
    s = s.replace("\\", "\\e")
    # Non-ASCII as groff's Unicode escapes (\[u2026]), so that the page needs no input encoding (preconv).
    s = "".join(c if ord(c) < 128 else f"\\[u{ord(c):04X}]" for c in s)
    lines = []
    for line in s.splitlines() or [""]:
        if line.startswith((".", "'")):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def name(s: str) -> str:
    """An option or command name: its hyphens are real minus signs (copy and paste into a shell works)."""
    return text(s).replace("-", "\\-")


def paragraphs(s: str) -> str:
    """Help text with blank lines between paragraphs (a discussion): one .PP each."""
    parts = [" ".join(p.split()) for p in s.split("\n\n") if p.strip()]
    return "\n.PP\n".join(text(p) for p in parts)


def synopsis(command: dumphelp.Command) -> str:
    words = [f"\\fB{name(command.name)}\\fR"]
    if command.subcommands:
        words.append("\\fIsubcommand\\fR")
    # A long list of optional settings (serve) reads better as [options]: they follow, one by one.
    many = sum(1 for arg in command.arguments if arg.optional) > 6
    if many:
        words.append("[\\fIoptions\\fR]")
    for arg in command.arguments:
        if many and arg.optional:
            continue
        if arg.kind == "positional":
            word = f"\\fI{text(arg.value_name)}\\fR" + ("..." if arg.repeating else "")
        else:
            word = f"\\fB{name(arg.long_name)}\\fR"
            if arg.kind == "option":
                word += f" \\fI{text(arg.value_name)}\\fR"
            if arg.repeating:
                word += " ..."
        words.append(word if not arg.optional else f"[{word}]")
    return ".HP 4\n" + " ".join(words) + "\n"


def argument(arg: dumphelp.Argument) -> str:
    if arg.kind == "positional":
        head = f"\\fI{text(arg.value_name)}\\fR"
    else:
        head = ", ".join(f"\\fB{name(n)}\\fR" for n in arg.names)
        if arg.kind == "option":
            head += f" \\fI{text(arg.value_name)}\\fR"
    body = text(arg.help) if arg.help else "(no description)"
    extra = []
    if arg.choices:
        extra.append("One of: " + ", ".join(text(c) for c in arg.choices) + ".")
    if arg.default is not None:
        extra.append(f"Default: {text(arg.default)}.")
    if arg.repeating and arg.kind != "positional":
        extra.append("May be given more than once.")
    if not arg.optional and arg.kind != "positional":
        extra.append("Required.")
    return f".TP\n{head}\n{body}" + ("".join(" " + e for e in extra)) + "\n"


def command_section(command: dumphelp.Command) -> str:
    out = [f'.SS "{name(command.name)}"\n', synopsis(command), ".PP\n", text(command.abstract) + "\n"]
    if command.discussion:
        out.append(".PP\n" + paragraphs(command.discussion) + "\n")
    if command.subcommands:
        out.append(".PP\nSubcommands: " + ", ".join(f"\\fB{name(s.path[-1])}\\fR" for s in command.subcommands) + ".\n")
    for arg in command.arguments:
        out.append(argument(arg))
    return "".join(out)


def environment(root: dumphelp.Command) -> str:
    """Every SABHA_* variable, with the option that reads it and the commands that have that option."""
    seen: dict[str, dict[str, list[str]]] = {}
    for command in root.walk():
        for arg in command.arguments:
            env = arg.env
            if env and arg.kind != "positional":
                commands = seen.setdefault(env, {}).setdefault(arg.long_name, [])
                top = command.path[1]   # room create, room list, ... -> room
                if top not in commands:
                    commands.append(top)
    out = [".SH ENVIRONMENT\n",
           "Every option of \\fBsabha serve\\fR (and the data directory of every command) can be set with an "
           "environment variable instead; an option on the command line wins over its variable. With the Debian "
           "package, the service reads them from \\fI/etc/sabha/sabha.env\\fR.\n"]
    for env in sorted(seen):
        uses = [f"\\fB{name(option)}\\fR of " + ", ".join(f"\\fB{name(c)}\\fR" for c in commands)
                for option, commands in seen[env].items()]
        out.append(f".TP\n\\fB{name(env)}\\fR\n" + "; ".join(uses) + "\n")
    return "".join(out)


FILES = r""".SH FILES
.TP
.I /etc/sabha/sabha.env
The service's settings, one \fBSABHA_\fR\fIVARIABLE\fR\fB=\fR\fIvalue\fR a line; every option of \fBsabha serve\fR
is listed there, commented out. Root-only: it may hold secrets.
.TP
.I /var/lib/sabha
The service's data directory (\fB\-\-data\-dir\fR): the store \fIsabha.sqlite\fR, the token signing key
\fItoken\-hs256.key\fR and \fIadmin.key\fR. The service runs as a dynamic user, so the directory is really
\fI/var/lib/private/sabha\fR.
.TP
.I /lib/systemd/system/sabha.service
The systemd unit: \fBsystemctl enable \-\-now sabha\fR starts it, \fBsystemctl reload sabha\fR (SIGHUP) reloads the
TLS certificate, \fBsystemctl stop sabha\fR (SIGTERM) drains the meetings before the server exits.
.TP
.I /usr/lib/sabha/
The program and its resources (the browser client).
"""


def render(root: dumphelp.Command, version: str, date: str) -> str:
    out = [
        f'.TH SABHA 1 "{date}" "sabha {text(version)}" "User Commands"\n',
        ".nh\n.ad l\n",
        ".SH NAME\n",
        f"sabha \\- {text(root.abstract[:1].lower() + root.abstract[1:].rstrip('.'))}\n",
        ".SH SYNOPSIS\n",
        ".B sabha\n.I subcommand\n[\\fIoptions\\fR]\n.br\n.B sabha\n.I subcommand\n\\fB\\-\\-help\\fR\n",
        ".SH DESCRIPTION\n",
        text(root.abstract) + "\n",
    ]
    if root.discussion:
        out.append(".PP\n" + paragraphs(root.discussion) + "\n")
    out.append(".PP\nEvery subcommand takes \\fB\\-h\\fR, \\fB\\-\\-help\\fR: its help, as below.\n")
    out.append(".SH COMMANDS\n")
    for command in root.walk():
        if command is root:
            continue
        out.append(command_section(command))
    out.append(environment(root))
    out.append(FILES)
    out.append(".SH SEE ALSO\n\\fBsystemctl\\fR(1), \\fBjournalctl\\fR(1), \\fBsystemd.exec\\fR(5)\n")
    return "".join(out)


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    sys.stdout.write(render(dumphelp.load(argv[1]), argv[2], argv[3]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
