"""Reads `sabha --experimental-dump-help` (swift-argument-parser's JSON description of every command) for the
generated parts of the Debian package: the man page (manpage.py) and /etc/sabha/sabha.env (envfile.py).
Standard library only."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field


@dataclass
class Argument:
    kind: str                  # "option", "flag" or "positional"
    names: list[str]           # "--http", "-h", ...; empty for a positional
    value_name: str
    help: str
    optional: bool
    repeating: bool
    default: str | None
    choices: list[str]

    @property
    def long_name(self) -> str:
        longs = [n for n in self.names if n.startswith("--")]
        return (longs or self.names or [self.value_name])[0]

    @property
    def env(self) -> str | None:
        """The SABHA_* variable the help names: "(env SABHA_HTTP, ..." first, else any SABHA_* it mentions
        (--turn-secret: "better SABHA_TURN_SECRET ...")."""
        match = re.search(r"\(env (SABHA_[A-Z0-9_]+)", self.help) or re.search(r"\b(SABHA_[A-Z0-9_]+)", self.help)
        return match.group(1) if match else None

    @property
    def default_in_help(self) -> str | None:
        """"default 127.0.0.1:8080)" -> "127.0.0.1:8080"; None for a default that is not a literal value
        ("default: <data-dir>/admin.key", "default http://<--http>")."""
        if self.default is not None:
            return self.default
        match = re.search(r"\bdefault ([^\s;)]+)", self.help)
        if not match:
            return None
        value = match.group(1).rstrip(",.")
        return None if "<" in value else value


@dataclass
class Command:
    path: list[str]            # ["sabha", "room", "create"]
    abstract: str
    discussion: str
    arguments: list[Argument]
    subcommands: list[Command] = field(default_factory=list)

    @property
    def name(self) -> str:
        return " ".join(self.path)

    def walk(self):
        yield self
        for sub in self.subcommands:
            yield from sub.walk()

    def find(self, *path: str) -> Command:
        for command in self.walk():
            if command.path[1:] == list(path):
                return command
        raise KeyError(" ".join(path))


def _argument(raw: dict) -> Argument:
    names = []
    for n in raw.get("names", []):
        names.append(("--" if n["kind"] == "long" else "-") + n["name"])
    return Argument(
        kind=raw["kind"],
        names=names,
        value_name=raw.get("valueName", ""),
        help=" ".join(raw.get("abstract", "").split()),
        optional=raw.get("isOptional", False),
        repeating=raw.get("isRepeating", False),
        default=raw.get("defaultValue"),
        choices=list(raw.get("allValues", [])),
    )


def _merge_inversions(arguments: list[Argument]) -> list[Argument]:
    """A flag with inversion (--rtc-tcp / --no-rtc-tcp) is two entries with the same help: one entry, both names."""
    merged: list[Argument] = []
    for arg in arguments:
        previous = merged[-1] if merged else None
        if (previous is not None and arg.kind == "flag" and previous.kind == "flag" and arg.help == previous.help
                and arg.long_name == "--no-" + previous.long_name[2:]):
            previous.names += arg.names
            continue
        merged.append(arg)
    return merged


def _command(raw: dict, parent: list[str]) -> Command:
    path = parent + [raw["commandName"]]
    arguments = [_argument(a) for a in raw.get("arguments", []) if a.get("shouldDisplay", True)]
    # --help is on every command; the man page says so once.
    arguments = [a for a in arguments if a.long_name != "--help"]
    command = Command(
        path=path,
        abstract=" ".join(raw.get("abstract", "").split()),
        discussion=raw.get("discussion", "").strip(),
        arguments=_merge_inversions(arguments),
    )
    for sub in raw.get("subcommands", []):
        if sub.get("shouldDisplay", True) and sub["commandName"] != "help":
            command.subcommands.append(_command(sub, path))
    return command


def load(path: str) -> Command:
    with open(path, encoding="utf-8") as f:
        return _command(json.load(f)["command"], [])
