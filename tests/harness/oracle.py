"""The oracle hook: an optional program, build/oracle, that checks the
`trace ` lines of a passing run.

    build/oracle --scenario NAME < build/logs/NAME.trace

Exit status 0 = the trace is acceptable; anything else fails the scenario,
with the oracle's last non-empty output line as the reason. The trace file
holds the log's `trace ` lines verbatim (prefix included, CR and ANSI
escapes removed), one per line.
"""

import os
import subprocess
from dataclasses import dataclass

from .common import ORACLE, describe_returncode, rel, run_captured

ORACLE_TIMEOUT = 120


@dataclass
class OracleResult:
    ran: bool
    ok: bool
    message: str


def write_trace(path, trace_lines):
    """Write the trace file (or remove a stale one when there is no trace)."""
    if trace_lines:
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(line + "\n" for line in trace_lines)
    elif os.path.exists(path):
        os.unlink(path)


def run(name, trace_path, expect_violations=0, oracle=ORACLE, timeout=ORACLE_TIMEOUT):
    if not os.path.isfile(oracle):
        return OracleResult(False, False, "%s does not exist (run make)" % rel(oracle))
    if not os.access(oracle, os.X_OK):
        return OracleResult(False, False, "%s is not executable" % rel(oracle))
    with open(trace_path, "rb") as trace:
        rc, out, _ = run_captured([str(oracle), "--scenario", name,
                                   "--expect-violations", str(expect_violations)], timeout,
                                  stdin=trace, stderr=subprocess.STDOUT)
    if rc is None:
        return OracleResult(True, False, "oracle timed out after %d s" % timeout)
    lines = [l.strip() for l in out.splitlines() if l.strip()]
    if rc == 0:
        return OracleResult(True, True, "oracle ok")
    last = lines[-1] if lines else "no output"
    return OracleResult(True, False, "oracle %s: %s" % (describe_returncode(rc), last))
