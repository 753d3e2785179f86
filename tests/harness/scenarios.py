"""tests/scenarios.cfg: one INI section per scenario (see docs/testing.md)."""

import configparser
import re
import shlex
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

OUTCOMES = ("pass", "fail", "config-error", "panic")
KEYS = ("config", "smp", "timeout", "exit", "expect", "log", "qemu_args",
        "groups", "oracle", "oracle_violations")
DEFAULT_TIMEOUT = 60.0
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass
class Scenario:
    name: str
    config: str = ""                 # hv config, relative to the repository
    smp: int = 1
    timeout: float = DEFAULT_TIMEOUT
    exit: str = "pass"
    expect: List[Tuple[str, str]] = field(default_factory=list)
    log: List[str] = field(default_factory=list)
    qemu_args: List[str] = field(default_factory=list)
    groups: List[str] = field(default_factory=list)
    oracle: bool = True
    oracle_violations: int = 0       # violations the oracle must find (known holes)
    error: Optional[str] = None      # problem in its section: the scenario fails


class ScenarioFileError(Exception):
    pass


def _parser():
    return configparser.ConfigParser(
        interpolation=None,
        comment_prefixes=("#", ";"),
        inline_comment_prefixes=(";",),
        empty_lines_in_values=False,
        strict=True,
    )


def parse_expect(text):
    pairs = []
    for token in text.split():
        key, sep, value = token.partition("=")
        if not sep or not key:
            raise ValueError("expect: %r is not KEY=VALUE" % token)
        pairs.append((key, value))
    return pairs


def parse_timeout(text):
    text = text.strip()
    if text.endswith("s"):
        text = text[:-1].strip()
    value = float(text)
    if not value > 0:
        raise ValueError("timeout must be > 0")
    return value


def _section(name, sec):
    sc = Scenario(name=name, config="tests/configs/%s.cfg" % name)
    try:
        if not NAME_RE.match(name):
            raise ValueError("scenario name may only use letters, digits, '.', '_' and '-'")
        unknown = sorted(set(sec.keys()) - set(KEYS))
        if unknown:
            raise ValueError("unknown key %r (known: %s)" % (unknown[0], ", ".join(KEYS)))
        if "config" in sec:
            sc.config = sec["config"].strip()
        if "smp" in sec:
            sc.smp = int(sec["smp"])
            if sc.smp < 1:
                raise ValueError("smp must be >= 1")
        if "timeout" in sec:
            sc.timeout = parse_timeout(sec["timeout"])
        if "exit" in sec:
            sc.exit = sec["exit"].strip()
            if sc.exit not in OUTCOMES:
                raise ValueError("exit = %r, expected one of %s" % (sc.exit, " | ".join(OUTCOMES)))
        if "expect" in sec:
            sc.expect = parse_expect(sec["expect"])
        if "log" in sec:
            sc.log = [l.strip() for l in sec["log"].splitlines() if l.strip()]
        if "qemu_args" in sec:
            sc.qemu_args = shlex.split(sec["qemu_args"])
        if "groups" in sec:
            sc.groups = sec["groups"].replace(",", " ").split()
        if "oracle" in sec:
            sc.oracle = sec.getboolean("oracle")
        if "oracle_violations" in sec:
            sc.oracle_violations = sec.getint("oracle_violations")
    except ValueError as e:
        sc.error = "scenarios.cfg [%s]: %s" % (name, e)
    return sc


def loads(text, source="tests/scenarios.cfg"):
    """Parse scenario-file text. Raises ScenarioFileError when the file as a
    whole cannot be read; a bad section only marks that scenario (error)."""
    cp = _parser()
    try:
        cp.read_string(text, source=source)
    except configparser.Error as e:
        raise ScenarioFileError(" ".join(str(e).split())) from None
    return [_section(name, cp[name]) for name in cp.sections()]


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ScenarioFileError("%s: %s" % (path, e.strerror)) from None
    return loads(text, source=str(path))
