"""Reading hv's serial log and judging a scenario.

Report lines hv prints (one per line, anywhere in the log):
    kv KEY=VALUE       a result; scenarios match these with `expect`
    trace ...          an event for the oracle (extracted to NAME.trace)
Carriage returns and ANSI escape sequences (OVMF's console clears the screen
without a newline) are removed before lines are matched.
"""

import re
from dataclasses import dataclass, field
from typing import Dict, List

from .common import first_line

ANSI_RE = re.compile(r"\x1b(\[[0-9;?=]*[ -/]*[@-~]|[@-Z\\-_])")


@dataclass
class Log:
    lines: List[str]
    kv: Dict[str, List[str]] = field(default_factory=dict)
    trace: List[str] = field(default_factory=list)

    @property
    def text(self):
        return "\n".join(self.lines)


def clean(line):
    return ANSI_RE.sub("", line).replace("\r", "")


def parse_log(data):
    """data: the serial log, bytes or str."""
    if isinstance(data, bytes):
        data = data.decode("utf-8", errors="replace")
    log = Log(lines=[clean(l) for l in data.split("\n")])
    for line in log.lines:
        if line.startswith("kv "):
            key, sep, value = line[3:].partition("=")
            if sep and key.strip():
                log.kv.setdefault(key.strip(), []).append(value.strip())
        elif line.startswith("trace "):
            log.trace.append(line)
    return log


def last_line(log, limit=100):
    for line in reversed(log.lines):
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[:limit - 3] + "..."
    return ""


def check_expect(expect, kv):
    """First mismatch between expected KEY=VALUE pairs and the log's kv lines,
    or None. A key reported twice with different values is a mismatch."""
    for key, want in expect:
        got = kv.get(key)
        if not got:
            return "%s: missing (expected %s)" % (key, want)
        values = list(dict.fromkeys(got))
        if len(values) > 1:
            return "%s: expected %s, got conflicting values %s" % (key, want, ", ".join(values))
        if want.startswith(">") and want[1:].isdigit():     # KEY=>N: a count above N
            if not values[0].isdigit() or int(values[0]) <= int(want[1:]):
                return "%s: expected more than %s, got %s" % (key, want[1:], values[0])
            continue
        if values[0] != want:
            return "%s: expected %s, got %s" % (key, want, values[0])
    return None


def verdict(scenario, run, log):
    """None if the run meets the scenario's expectations (the oracle aside),
    else the first reason it does not."""
    if run.timed_out:
        return "timeout after %g s" % scenario.timeout
    got = run.outcome
    if got != scenario.exit:
        if run.error:
            return "%s (expected hv outcome %s)" % (run.error, scenario.exit)
        why = "hv outcome %s (%s), expected %s" % (got, run.status(), scenario.exit)
        if got == "crash" and first_line(run.stderr):
            why += "; qemu: %s" % first_line(run.stderr)
        tail = last_line(log)
        if tail:
            why += "; last line: %s" % tail
        return why
    mismatch = check_expect(scenario.expect, log.kv)
    if mismatch:
        return mismatch
    text = log.text
    for want in scenario.log:
        if want not in text:
            return "log: missing %r" % want
    return None
