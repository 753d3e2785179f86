"""cmocka unit-test binaries: build/unit/test_*, run with
CMOCKA_MESSAGE_OUTPUT=TAP. Every TAP `ok` / `not ok` line is one test case,
named BINARY.CASE. `not ok ... # SKIP` / `# TODO` count as passed (TAP
directives). A binary that crashes, times out, prints no plan, runs fewer
cases than planned, or exits nonzero without a failing case adds one failure
of its own, named after the binary.
"""

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Tuple

from .common import UNIT_DIR, describe_returncode, run_captured

UNIT_TIMEOUT = 300   # the exhaustive policy check takes ~10 s alone, more on a busy machine
PLAN_RE = re.compile(r"^\s*1\.\.(\d+)")
RESULT_RE = re.compile(r"^\s*(not ok|ok)\b\s*(\d+)?\s*(.*)$")
DIRECTIVE_RE = re.compile(r"#\s*(SKIP|TODO)\b\s*(.*)$", re.IGNORECASE)
GROUP_SUMMARY_RE = re.compile(r"^#\s*(not )?ok - ")


@dataclass
class UnitResult:
    binary: str
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    failures: List[Tuple[str, str]] = field(default_factory=list)   # (name, message)
    problem: str = ""       # binary-level failure, already counted in failed
    elapsed: float = 0.0
    # every case in output order: (BINARY.CASE, ok, message or directive note)
    cases: List[Tuple[str, bool, str]] = field(default_factory=list)
    output: str = ""        # the binary's stdout and stderr (report tails)


def find(unit_dir=UNIT_DIR):
    """The executable build/unit/test_* files. Raises OSError when the
    directory exists but cannot be listed."""
    unit_dir = Path(unit_dir)
    if not unit_dir.is_dir():
        return []
    return sorted(p for p in unit_dir.iterdir()
                  if p.name.startswith("test_") and p.is_file() and os.access(p, os.X_OK))


def _case_name(desc):
    """cmocka: 'ok 1 - name', 'not ok 2 - name [message]', 'not ok 3 # SKIP name'."""
    desc = desc.strip()
    if desc.startswith("-"):
        desc = desc[1:].strip()
    d = DIRECTIVE_RE.search(desc)
    directive = d.group(1).upper() if d else None
    if d and desc.startswith("#"):
        desc = d.group(2)
    elif d:
        desc = desc[:d.start()]
    parts = desc.split(None, 1)
    name = parts[0] if parts else "?"
    extra = parts[1].strip() if len(parts) > 1 else ""
    return name, extra, directive


def parse_tap(binary, out, returncode, timed_out=False):
    res = UnitResult(binary)
    planned, results, has_plan = 0, 0, False
    current = None          # index into res.failures of the last `not ok`
    for line in out.splitlines():
        m = PLAN_RE.match(line)
        if m:
            has_plan = True
            planned += int(m.group(1))
            current = None
            continue
        m = RESULT_RE.match(line)
        if m:
            results += 1
            name, extra, directive = _case_name(m.group(3))
            full = "%s.%s" % (binary, name)
            current = None
            if m.group(1) == "ok" or directive:
                if directive == "SKIP":     # not run: never counted as passed
                    res.skipped += 1
                else:
                    res.passed += 1
                res.cases.append((full, True, "# %s" % directive if directive else ""))
            else:
                res.failed += 1
                res.failures.append((full, extra))
                res.cases.append((full, False, extra))
                current = len(res.failures) - 1
            continue
        s = line.strip()
        if current is not None and s.startswith("#") and not GROUP_SUMMARY_RE.match(s):
            name, msg = res.failures[current]
            note = s.lstrip("#").strip()
            res.failures[current] = (name, "%s; %s" % (msg, note) if msg else note)
            res.cases[-1] = (name, False, res.failures[current][1])

    problem = ""
    if timed_out:
        problem = "timed out after %d s" % UNIT_TIMEOUT
    elif returncode is not None and returncode < 0:
        problem = describe_returncode(returncode)
    elif not has_plan:
        problem = "no TAP plan in output, exit status %s" % returncode
    elif results < planned:
        problem = "planned %d tests, ran %d" % (planned, results)
    elif returncode and not res.failed:
        problem = "exit status %d but no failing test" % returncode
    if problem:
        if results and (timed_out or (returncode or 0) < 0):
            problem += " after %d test%s" % (results, "" if results == 1 else "s")
        res.problem = problem
        res.failed += 1
        res.cases.append((binary, False, problem))
    return res


def run(path, timeout=UNIT_TIMEOUT):
    path = Path(path)
    start = time.monotonic()
    env = dict(os.environ, CMOCKA_MESSAGE_OUTPUT="TAP")
    try:
        rc, out, err = run_captured([str(path)], timeout, env=env)
    except OSError as e:
        problem = "cannot run: %s" % (e.strerror or e)
        return UnitResult(path.name, failed=1, problem=problem, elapsed=time.monotonic() - start,
                          cases=[(path.name, False, problem)])
    res = parse_tap(path.name, out, rc, timed_out=rc is None)
    res.elapsed = time.monotonic() - start
    res.output = out + err
    return res
