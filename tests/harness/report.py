"""Machine-readable results of `tests/run.py test` for CI systems: TAP
(version 13, as kvm-unit-tests and TAP consumers read it) and JUnit XML (as
Jenkins, GitLab and most CI servers read it). See docs/testing.md.

One entry per unit-test case (BINARY.CASE; a binary that crashed, timed out
or could not run adds one entry named after the binary, exactly as it counts
in `N passed, M failed`) and one per scenario run (per platform). A scenario
entry carries its platform and log path; a failing entry its reason and the
last TAIL_LINES lines of its log (unit tests: of the binary's output).
"""

import json
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import List

TAIL_LINES = 40
# Characters XML 1.0 does not allow, even escaped (XML 1.0 section 2.2).
_XML_BAD = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass
class Entry:
    kind: str               # "unit" or "scenario"
    suite: str              # unit: the binary; scenario: the platform
    name: str               # unit: BINARY.CASE (or BINARY); scenario: its name
    ok: bool
    message: str = ""       # the reason of a failure; a passing entry's note
    elapsed: float = 0.0    # seconds (unit cases: the binary's time, on its first case)
    log: str = ""           # the log path as shown to the user
    tail: List[str] = field(default_factory=list)
    skipped: bool = False   # a passing cmocka case marked # SKIP

    @property
    def label(self):
        if self.kind == "unit":
            return "unit " + self.name
        return "scenario " + (self.name if self.suite == "qemu" else
                              "%s/%s" % (self.suite, self.name))


def tail_of(path, n=TAIL_LINES):
    """The last n non-empty-at-the-end lines of a log file, [] if unreadable."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            data = f.read()
    except OSError:
        return []
    return tail_text(data, n)


def tail_text(data, n=TAIL_LINES):
    if isinstance(data, bytes):
        data = data.decode("utf-8", errors="replace")
    lines = data.replace("\r", "").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    return lines[-n:]


def ordered(entries):
    """Unit entries first (by binary, cases in their order), then scenarios
    by platform and name: the same file for the same results, whatever order
    the parallel jobs finished in."""
    units = sorted((e for e in entries if e.kind == "unit"), key=lambda e: e.suite)
    scs = sorted((e for e in entries if e.kind != "unit"), key=lambda e: (e.suite, e.name))
    return units + scs


# ------------------------------------------------------------------- TAP

def _tap_desc(text):
    # '#' starts a directive in TAP; a description must not contain one.
    return text.replace("\\", "\\\\").replace("#", "\\#").replace("\n", " ")


def _yaml_str(text):
    return json.dumps(text, ensure_ascii=True)     # JSON strings are YAML strings


def tap(entries, interrupted=False):
    entries = ordered(entries)
    out = ["TAP version 13", "1..%d" % len(entries)]
    for i, e in enumerate(entries, 1):
        line = "%s %d - %s" % ("ok" if e.ok else "not ok", i, _tap_desc(e.label))
        if e.skipped:
            line += " # SKIP"
        out.append(line)
        meta = []
        if e.kind == "scenario":
            meta.append(("platform", _yaml_str(e.suite)))
            if e.log:
                meta.append(("log", _yaml_str(e.log)))
        if e.elapsed:
            meta.append(("duration_ms", "%d" % round(e.elapsed * 1000)))
        if e.message:
            meta.append(("message", _yaml_str(e.message)))
        if not meta and e.ok:
            continue
        out.append("  ---")
        out.extend("  %s: %s" % kv for kv in meta)
        if not e.ok and e.tail:
            out.append("  log_tail:")
            out.extend("    - %s" % _yaml_str(l) for l in e.tail)
        out.append("  ...")
    if interrupted:
        out.append("Bail out! interrupted")
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------- JUnit

def _x(text):
    return _XML_BAD.sub("\ufffd", str(text))


def junit(entries, interrupted=False):
    """The JUnit XML document (bytes): one <testsuite> per unit binary and
    per scenario platform."""
    entries = ordered(entries)
    root = ET.Element("testsuites", name="hv tests/run.py test")
    suites = {}
    for e in entries:
        key = (e.kind, e.suite)
        if key not in suites:
            s = ET.SubElement(root, "testsuite",
                              name=_x("%s.%s" % (e.kind, e.suite)))
            suites[key] = (s, [])
        suites[key][1].append(e)
    total = {"tests": 0, "failures": 0, "skipped": 0, "time": 0.0}
    for (kind, suite), (s, es) in suites.items():
        fails = sum(not e.ok for e in es)
        skips = sum(e.skipped for e in es)
        secs = sum(e.elapsed for e in es)
        s.set("tests", str(len(es)))
        s.set("failures", str(fails))
        s.set("errors", "0")
        s.set("skipped", str(skips))
        s.set("time", "%.3f" % secs)
        for k, v in (("tests", len(es)), ("failures", fails), ("skipped", skips), ("time", secs)):
            total[k] += v
        for e in es:
            case = ET.SubElement(s, "testcase", classname=_x("%s.%s" % (kind, suite)),
                                 name=_x(e.name), time="%.3f" % e.elapsed)
            if kind == "scenario":
                props = ET.SubElement(case, "properties")
                ET.SubElement(props, "property", name="platform", value=_x(e.suite))
                if e.log:
                    ET.SubElement(props, "property", name="log", value=_x(e.log))
            if e.skipped:
                ET.SubElement(case, "skipped", message=_x(e.message or "skipped"))
            if not e.ok:
                f = ET.SubElement(case, "failure", message=_x(e.message or "failed"),
                                  type="failure")
                text = e.message or "failed"
                if e.tail:
                    text += "\n--- last %d lines of %s ---\n%s" % (
                        len(e.tail), e.log or "its output", "\n".join(e.tail))
                f.text = _x(text)
            if e.log:
                # Jenkins' attachments plugin and GitLab read this form.
                out = ET.SubElement(case, "system-out")
                out.text = _x("log: %s\n[[ATTACHMENT|%s]]" % (e.log, e.log))
    root.set("tests", str(total["tests"]))
    root.set("failures", str(total["failures"]))
    root.set("errors", "0")
    root.set("skipped", str(total["skipped"]))
    root.set("time", "%.3f" % total["time"])
    if interrupted:
        root.set("interrupted", "true")
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


# ---------------------------------------------------------------- files

def check_writable(path):
    """Raise OSError now (before any test runs) if path cannot be written:
    its directory is created, a file there is opened for appending."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        raise IsADirectoryError(21, "is a directory", str(path))
    with open(path, "ab"):
        pass


def write(path, data):
    """Write data (str or bytes) to path through a temporary file, so that a
    reader never sees half a report. Raises OSError."""
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / (".%s.tmp%d" % (path.name, os.getpid()))
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
