"""tests/scenarios.cfg: one INI section per scenario (see docs/testing.md).

Besides the plain keys, a section may say where it runs and how results
differ by platform (tests/harness/platforms.py):

    platforms = qemu bochs-*           patterns; default every platform (`*`);
                                       `!P` excludes (`platforms = * !bochs-ryzen`)
    expect.bochs-icelake = run.barriers=hardware
    timeout.bochs-* = 120

`KEY.PLATFORM = VALUE` (PLATFORM a name or a shell-style pattern) applies on
the platforms it matches: for `expect` its pairs are merged over the plain
ones (same key: this value wins), for every other key it replaces the plain
value. Pattern overrides apply first, in file order, then exact names.
"""

import configparser
import copy
import fnmatch
import math
import re
import shlex
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from . import platforms as platforms_mod

OUTCOMES = ("pass", "fail", "config-error", "panic")
KEYS = ("config", "smp", "timeout", "exit", "expect", "log", "qemu_args",
        "groups", "oracle", "oracle_violations", "pred_cmd_refusals", "platforms", "screen", "reset",
        "serial_input", "serial_input_after")
# Keys that may carry a `.PLATFORM` suffix.
PER_PLATFORM_KEYS = tuple(k for k in KEYS if k not in ("platforms", "groups"))
DEFAULT_TIMEOUT = 60.0
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
NAME_MAX = 100      # NAME.bochs.log, NAME.iso... must stay valid host file names


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
    pred_cmd_refusals: int = 0       # Bochs PRED_CMD refusals the guest itself causes
    platforms: List[str] = field(default_factory=lambda: ["*"])   # patterns
    # (platform pattern, key, raw value) from `KEY.PLATFORM = VALUE` lines
    overrides: List[Tuple[str, str, str]] = field(default_factory=list)
    error: Optional[str] = None      # problem in its section: the scenario fails
    screen: bool = False             # QEMU with a display, judged by screendump (screen.py)
    reset: bool = False              # hv ends by resetting the machine (reset.py)
    serial_input: bytes = b""        # typed into QEMU's serial port (hv's COM1)...
    serial_input_after: str = ""     # ...once this text is in the serial log


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
    if not value > 0 or not math.isfinite(value):
        raise ValueError("timeout must be a finite number > 0, not %r" % text)
    return value


def parse_input(text):
    """serial_input: the text as written (one line: leading and trailing
    blanks dropped), with the escapes \\n \\r \\t \\\\ and \\xHH for other bytes."""
    text = text.strip()
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c != "\\":
            out += c.encode("utf-8")
            i += 1
            continue
        nxt = text[i + 1:i + 2]
        if nxt in ("n", "r", "t", "\\"):
            out += {"n": b"\n", "r": b"\r", "t": b"\t", "\\": b"\\"}[nxt]
            i += 2
        elif nxt == "x" and re.fullmatch(r"[0-9A-Fa-f]{2}", text[i + 2:i + 4]):
            out.append(int(text[i + 2:i + 4], 16))
            i += 4
        else:
            raise ValueError("serial_input: bad escape %r at column %d (known: \\n \\r \\t "
                             "\\\\ \\xHH)" % (text[i:i + 4], i + 1))
    if not out:
        raise ValueError("serial_input is empty")
    return bytes(out)


def parse_bool(text):
    value = configparser.ConfigParser.BOOLEAN_STATES.get(text.strip().lower())
    if value is None:
        raise ValueError("not a boolean: %r" % text.strip())
    return value


def _set(sc, key, text, merge=False):
    """Parse one key's value into sc. merge: `expect` pairs are merged over
    the present ones instead of replacing them (per-platform overrides)."""
    if key == "config":
        sc.config = text.strip()
    elif key == "smp":
        sc.smp = int(text)
        if sc.smp < 1:
            raise ValueError("smp must be >= 1")
    elif key == "timeout":
        sc.timeout = parse_timeout(text)
    elif key == "exit":
        sc.exit = text.strip()
        if sc.exit not in OUTCOMES:
            raise ValueError("exit = %r, expected one of %s" % (sc.exit, " | ".join(OUTCOMES)))
    elif key == "expect":
        pairs = parse_expect(text)
        if merge:
            new = dict(pairs)
            sc.expect = [(k, new.pop(k)) if k in new else (k, v) for k, v in sc.expect]
            sc.expect += [(k, v) for k, v in pairs if k in new]
        else:
            sc.expect = pairs
    elif key == "log":
        sc.log = [l.strip() for l in text.splitlines() if l.strip()]
    elif key == "qemu_args":
        sc.qemu_args = shlex.split(text)
    elif key == "groups":
        sc.groups = text.replace(",", " ").split()
    elif key == "oracle":
        sc.oracle = parse_bool(text)
    elif key == "screen":
        sc.screen = parse_bool(text)
    elif key == "reset":
        sc.reset = parse_bool(text)
    elif key == "serial_input":
        sc.serial_input = parse_input(text)
    elif key == "serial_input_after":
        sc.serial_input_after = text.strip()
    elif key == "oracle_violations":
        sc.oracle_violations = int(text)
        if sc.oracle_violations < 0:
            raise ValueError("oracle_violations must be >= 0")
    elif key == "pred_cmd_refusals":
        sc.pred_cmd_refusals = int(text)
    elif key == "platforms":
        sc.platforms = text.replace(",", " ").split()
        for pat in sc.platforms:
            if not any(fnmatch.fnmatchcase(p, pat.lstrip("!")) for p in platforms_mod.BY_NAME):
                raise ValueError("platforms: no platform matches %r (known: %s)"
                                 % (pat, ", ".join(platforms_mod.BY_NAME)))


def _section(name, sec):
    sc = Scenario(name=name, config="tests/configs/%s.cfg" % name)
    try:
        if not NAME_RE.match(name):
            raise ValueError("scenario name may only use letters, digits, '.', '_' and '-'")
        if len(name) > NAME_MAX:
            raise ValueError("scenario name is %d characters long, at most %d"
                             % (len(name), NAME_MAX))
        for key in sec.keys():
            base, dot, pat = key.partition(".")
            if base not in KEYS or (dot and base not in PER_PLATFORM_KEYS):
                known = ", ".join(KEYS) + "; per platform: KEY.PLATFORM for " + \
                    ", ".join(PER_PLATFORM_KEYS)
                raise ValueError("unknown key %r (known: %s)" % (key, known))
            if dot and not any(fnmatch.fnmatchcase(p, pat) for p in platforms_mod.BY_NAME):
                raise ValueError("%s: no platform matches %r (known: %s)"
                                 % (key, pat, ", ".join(platforms_mod.BY_NAME)))
        for key in KEYS:
            if key in sec:
                _set(sc, key, sec[key])
        if bool(sc.serial_input) != bool(sc.serial_input_after):
            raise ValueError("serial_input and serial_input_after go together (the input is "
                             "typed once the log shows serial_input_after)")
        for key in sec.keys():
            base, dot, pat = key.partition(".")
            if dot:
                _set(copy.deepcopy(sc), base, sec[key], merge=True)     # validate now
                sc.overrides.append((pat, base, sec[key]))
    except ValueError as e:
        shown = name if len(name) <= 60 else name[:40] + "..."
        sc.error = "scenarios.cfg [%s]: %s" % (shown, e)
    return sc


def runs_on(sc, platform):
    """Does scenario sc run on platform (a platforms.Platform)?"""
    if platform.only_groups and not set(platform.only_groups) & set(sc.groups):
        return False
    return platforms_mod.runs_on(sc.platforms, platform)


def for_platform(sc, platform_name):
    """sc as it applies on one platform: its KEY.PLATFORM overrides applied
    (patterns first, in file order, then the exact name)."""
    if not sc.overrides:
        return sc
    out = copy.deepcopy(sc)
    matching = [o for o in sc.overrides if o[0] != platform_name
                and fnmatch.fnmatchcase(platform_name, o[0])]
    matching += [o for o in sc.overrides if o[0] == platform_name]
    for _, key, text in matching:
        _set(out, key, text, merge=True)
    return out


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
    except UnicodeDecodeError as e:
        raise ScenarioFileError("%s: not UTF-8 (byte 0x%02x at offset %d)"
                                % (path, e.object[e.start], e.start)) from None
    return loads(text, source=str(path))
