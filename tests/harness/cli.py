"""tests/run.py: command-line front end (see docs/testing.md)."""

import argparse
import fnmatch
import os
import shlex
import shutil
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import List

from . import accel as accel_mod
from . import esp, judge, oracle, qemu, scenarios, unit
from .common import (CHILDREN, HV_EFI, LOG_DIR, OVMF, QEMU, ROOT, SCENARIOS, Interrupted,
                     rel)

VERBOSE_LOG_LINES = 200


# ----------------------------------------------------------------- output

class Printer:
    """Whole result blocks, one at a time, flushed at once (parallel jobs)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.passed = 0
        self.failed = 0

    def block(self, lines, passed=0, failed=0):
        with self.lock:
            self.passed += passed
            self.failed += failed
            for line in lines:
                print(line)
            sys.stdout.flush()

    def summary(self):
        print("%d passed, %d failed" % (self.passed, self.failed))
        sys.stdout.flush()


def status_line(ok, what, detail):
    return "%s  %s (%s)" % ("PASS" if ok else "FAIL", what, detail)


# ------------------------------------------------------------- scenarios

@dataclass
class ScenarioResult:
    ok: bool
    detail: str
    verbose: List[str] = field(default_factory=list)


def preflight():
    """Problems that would make every scenario fail, found once."""
    if not HV_EFI.is_file():
        return "%s not found; build hv first" % rel(HV_EFI)
    if not OVMF.is_file():
        return "firmware %s not found; install ovmf or set HV_OVMF" % OVMF
    if not shutil.which(QEMU):
        return "%s not found; install qemu-system-x86 or set HV_QEMU" % QEMU
    for tool in ("mkfs.fat", "mmd", "mcopy"):
        if not shutil.which(tool) and not os.path.exists("/usr/sbin/" + tool) \
                and not os.path.exists("/sbin/" + tool):
            return "%s not found; install dosfstools and mtools" % tool
    return None


def run_scenario(sc, accel_name, verbose):
    """Build the ESP, boot it, judge the log. Never raises for test failures."""
    log_path = LOG_DIR / ("%s.log" % sc.name)
    trace_path = LOG_DIR / ("%s.trace" % sc.name)
    log_ref = "log %s" % rel(log_path)
    for stale in (log_path, trace_path):     # never judge or show an old run
        if stale.exists():
            stale.unlink()
    if sc.error:
        return ScenarioResult(False, sc.error)
    config = ROOT / sc.config
    if not config.is_file():
        return ScenarioResult(False, "config %s not found" % sc.config)
    start = time.monotonic()
    try:
        image, _, _ = esp.build(sc.name, config, HV_EFI)
    except esp.EspError as e:
        return ScenarioResult(False, "ESP: %s" % e)

    LOG_DIR.mkdir(parents=True, exist_ok=True)
    cmd = qemu.command(image, sc.smp, accel_name, sc.qemu_args)
    try:
        run = qemu.run_to_log(cmd, log_path, sc.timeout, ROOT)
    except FileNotFoundError:
        return ScenarioResult(False, "%s not found" % QEMU)
    with open(log_path, "rb") as f:
        log = judge.parse_log(f.read())
    oracle.write_trace(trace_path, log.trace)
    elapsed = time.monotonic() - start

    reason = judge.verdict(sc, run, log)
    notes = []
    if reason is None and log.trace:
        n = "%d trace line%s" % (len(log.trace), "" if len(log.trace) == 1 else "s")
        if not sc.oracle:
            notes.append("%s, oracle disabled" % n)
        else:
            res = oracle.run(sc.name, trace_path, sc.oracle_violations)
            if not res.ok:
                reason = res.message
            elif res.ran:
                notes.append("oracle ok on %s" % n)
            else:
                notes.append("%s, no oracle ran" % n)

    extra = []
    if reason is None:
        return ScenarioResult(True, "; ".join(["%.1f s" % elapsed] + notes))
    if run.timed_out:
        detail = "%s; %s" % (reason, log_ref)
    else:
        detail = "%s; %.1f s; %s" % (reason, elapsed, log_ref)
    if verbose:
        extra.append("    qemu: %s" % " ".join(shlex.quote(a) for a in cmd))
        for line in run.stderr.splitlines():
            extra.append("    qemu stderr: %s" % line)
        lines = log.lines[:-1] if log.lines and log.lines[-1] == "" else log.lines
        shown = lines[-VERBOSE_LOG_LINES:]
        head = "    --- %s" % rel(log_path)
        if len(shown) < len(lines):
            head += " (last %d of %d lines)" % (len(shown), len(lines))
        extra.append(head + " ---")
        extra.extend("    | " + l for l in shown)
        extra.append("    --- end of %s ---" % rel(log_path))
    return ScenarioResult(False, detail, extra)


def scenario_job(sc, accel_name, blocker, verbose, printer):
    if blocker:
        res = ScenarioResult(False, blocker)
    else:
        res = run_scenario(sc, accel_name, verbose)
    if CHILDREN.stopping:       # interrupted: its QEMU was killed by us
        return
    printer.block([status_line(res.ok, "scenario " + sc.name, res.detail)] + res.verbose,
                  passed=int(res.ok), failed=int(not res.ok))


def unit_job(path, printer):
    res = unit.run(path)
    total = res.passed + res.failed
    what = "unit " + res.binary
    if res.failed == 0:
        detail = "%d test%s" % (total, "" if total == 1 else "s")
        if res.skipped:
            detail += ", %d skipped" % res.skipped
        lines = [status_line(True, what, "%s, %.1f s" % (detail, res.elapsed))]
    else:
        parts = []
        cases = len(res.failures)
        if cases:
            parts.append("%d of %d failed" % (cases, res.passed + cases))
        if res.problem:
            parts.append(res.problem)
        lines = [status_line(False, what, "%s; %.1f s" % ("; ".join(parts), res.elapsed))]
        for name, msg in res.failures:
            lines.append("FAIL  unit %s%s" % (name, " (%s)" % msg if msg else ""))
    printer.block(lines, passed=res.passed, failed=res.failed)


# ------------------------------------------------------------- selection

def select(names, groups, all_scenarios, binaries):
    """Returns (scenarios, unit binaries) to run, or raises ValueError."""
    if not names and not groups:
        return list(all_scenarios), list(binaries)
    chosen_sc, chosen_bin = [], []
    for sc in all_scenarios:
        if any(fnmatch.fnmatchcase(sc.name, n) for n in names) or \
                any(g in sc.groups for g in groups):
            chosen_sc.append(sc)
    for b in binaries:
        if any(fnmatch.fnmatchcase(b.name, n) for n in names) or "unit" in names \
                or "unit" in groups:
            chosen_bin.append(b)
    for n in names:
        if n == "unit":
            continue
        if not any(fnmatch.fnmatchcase(sc.name, n) for sc in all_scenarios) and \
                not any(fnmatch.fnmatchcase(b.name, n) for b in binaries):
            raise ValueError("no scenario or unit-test binary matches %r" % n)
    return chosen_sc, chosen_bin


def cmd_test(args):
    printer = Printer()
    file_error = None
    try:
        all_scenarios = scenarios.load(args.scenarios)
    except scenarios.ScenarioFileError as e:
        all_scenarios, file_error = [], str(e)
    binaries = unit.find()
    groups = [g for arg in args.group for g in arg.replace(",", " ").split()]
    try:
        chosen_sc, chosen_bin = select(args.names, groups, all_scenarios, binaries)
    except ValueError as e:
        if file_error:
            print("tests/run.py: %s" % file_error, file=sys.stderr)
        print("tests/run.py: %s (try --list)" % e, file=sys.stderr)
        return 2

    if args.list:
        nw = max([len(sc.name) for sc in chosen_sc] + [1])
        cw = max([len(sc.config) for sc in chosen_sc] + [1])
        for sc in chosen_sc:
            print("scenario %-*s  %-*s  %s" % (nw, sc.name, cw, sc.config,
                                              " ".join(sc.groups) or "-"))
        for b in chosen_bin:
            print("unit     %s" % b.name)
        if file_error:
            print("tests/run.py: %s" % file_error, file=sys.stderr)
            return 1
        return 0

    accel_name = "tcg"
    if chosen_sc:
        try:
            acc = accel_mod.choose()
        except ValueError as e:
            print("tests/run.py: %s" % e, file=sys.stderr)
            return 2
        accel_name = acc.name
        print(acc.line())
    else:
        print("accel: none (no scenarios to run)")
    sys.stdout.flush()

    if file_error:
        printer.block([status_line(False, "scenarios " + rel(args.scenarios), file_error)],
                      failed=1)
    blocker = preflight() if chosen_sc else None

    jobs = max(1, args.jobs or os.cpu_count() or 1)
    pool = ThreadPoolExecutor(max_workers=jobs)
    futures = [pool.submit(unit_job, b, printer) for b in chosen_bin]
    futures += [pool.submit(scenario_job, sc, accel_name, blocker, args.verbose, printer)
                for sc in chosen_sc]
    try:
        for fut in as_completed(futures):
            fut.result()
    except (KeyboardInterrupt, Interrupted):
        CHILDREN.stop_all()
        pool.shutdown(wait=True, cancel_futures=True)
        print("interrupted")
        printer.summary()
        return 130
    pool.shutdown(wait=True)
    printer.summary()
    return 0 if printer.failed == 0 else 1


# ------------------------------------------------------------------ boot

def cmd_boot(args):
    config = Path(args.config).resolve()
    if not config.is_file():
        print("tests/run.py boot: %s: no such file" % args.config, file=sys.stderr)
        return qemu.BOOT_EXIT["harness-error"]
    name = config.name[:-4] if config.name.endswith(".cfg") else config.name
    name = "".join(c if c.isalnum() or c in "._-" else "_" for c in name) or "boot"
    try:
        acc = accel_mod.choose()
    except ValueError as e:
        print("tests/run.py: %s" % e, file=sys.stderr)
        return 2
    err = sys.stderr
    print(acc.line(), file=err)
    blocker = preflight()
    if blocker:
        print("tests/run.py boot: %s" % blocker, file=err)
        return qemu.BOOT_EXIT["harness-error"]
    try:
        image, copied, missing = esp.build(name, config, HV_EFI)
    except esp.EspError as e:
        print("tests/run.py boot: ESP: %s" % e, file=err)
        return qemu.BOOT_EXIT["harness-error"]
    extra = [a for chunk in (args.qemu_args or []) for a in shlex.split(chunk)]
    timeout = args.timeout
    if args.gdb:
        extra += ["-s", "-S"]
        timeout = 0
    cmd = qemu.command(image, args.smp, acc.name, extra)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log_path = LOG_DIR / ("%s.log" % name)
    print("esp: %s (hv.cfg from %s; images: %s%s)" % (
        rel(image), rel(config), " ".join(copied) or "none",
        "; not in %s: %s" % (rel(esp.GUEST_DIR), " ".join(missing)) if missing else ""), file=err)
    print("qemu: %s" % " ".join(shlex.quote(a) for a in cmd), file=err)
    if args.gdb:
        print("gdb: QEMU waits for a debugger: gdb -ex 'target remote :1234'", file=err)
    err.flush()
    try:
        run = qemu.run_tee(cmd, log_path, timeout, ROOT)
    except KeyboardInterrupt:
        CHILDREN.stop_all()
        print("\ninterrupted; log %s" % rel(log_path), file=err)
        return 130
    with open(log_path, "rb") as f:
        log = judge.parse_log(f.read())
    oracle.write_trace(LOG_DIR / ("%s.trace" % name), log.trace)
    if run.timed_out:
        print("hv outcome: timeout after %g s; log %s" % (timeout, rel(log_path)), file=err)
        return qemu.BOOT_EXIT["timeout"]
    print("hv outcome: %s (%s, %.1f s); log %s" % (
        run.outcome, qemu.describe_status(run.returncode), run.elapsed, rel(log_path)), file=err)
    return qemu.BOOT_EXIT[run.outcome]


# -------------------------------------------------------------- selftest

def cmd_selftest(args):
    import unittest
    from . import selftest
    suite = unittest.defaultTestLoader.loadTestsFromModule(selftest)
    result = unittest.TextTestRunner(verbosity=2 if args.verbose else 1).run(suite)
    return 0 if result.wasSuccessful() else 1


# ------------------------------------------------------------------ main

def parser():
    p = argparse.ArgumentParser(
        prog="tests/run.py",
        description="hv test harness: unit tests, QEMU scenarios, interactive boots.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    t = sub.add_parser("test", help="run unit tests and scenarios",
                       description="Run build/unit/test_* and the scenarios of "
                       "tests/scenarios.cfg; print one line per result and a final "
                       "'N passed, M failed'. Exit status 0 iff nothing failed.")
    t.add_argument("names", nargs="*", metavar="NAME",
                   help="scenario names, unit-test binary names (test_*), shell-style "
                   "patterns, or 'unit' for every unit-test binary (default: everything)")
    t.add_argument("-j", "--jobs", type=int, default=2, metavar="N",
                   help="parallel jobs (default 2; 0 = one per CPU)")
    t.add_argument("-g", "--group", action="append", default=[], metavar="G",
                   help="only scenarios in group G (repeatable or comma-separated; "
                   "group 'unit' = the unit tests)")
    t.add_argument("--list", action="store_true", help="list what would run, run nothing")
    t.add_argument("-v", "--verbose", action="store_true",
                   help="print the QEMU command and log of failing scenarios")
    t.add_argument("--scenarios", type=Path, default=SCENARIOS, metavar="FILE",
                   help="scenario file (default tests/scenarios.cfg)")
    t.set_defaults(func=cmd_test)

    b = sub.add_parser("boot", help="boot one hv config interactively (make run)",
                       description="Build the ESP for CONFIG and boot it with the serial "
                       "console on stdout (also saved to build/logs/NAME.log). Exit "
                       "status: 0 pass, 1 fail, 2 config-error, 3 panic, 4 crash, "
                       "124 timeout, 125 harness error.")
    b.add_argument("config", metavar="CONFIG", help="hv config file (becomes hv.cfg)")
    b.add_argument("--smp", type=int, default=1, metavar="N", help="QEMU -smp (default 1)")
    b.add_argument("--timeout", type=float, default=60, metavar="S",
                   help="seconds before QEMU is killed (default 60, 0 = none)")
    b.add_argument("--gdb", action="store_true",
                   help="add -s -S (gdb stub on :1234, wait for it) and disable the timeout")
    b.add_argument("--qemu-args", nargs=argparse.REMAINDER, metavar="ARG",
                   help="extra QEMU arguments: everything after this option "
                   "(each word is also split shell-style)")
    b.set_defaults(func=cmd_boot)

    s = sub.add_parser("selftest", help="run the harness's own unit tests")
    s.add_argument("-v", "--verbose", action="store_true")
    s.set_defaults(func=cmd_selftest)
    return p


def _sigterm(signum, frame):
    raise KeyboardInterrupt()


def main(argv=None):
    args = parser().parse_args(argv)
    if getattr(args, "jobs", 0) < 0:
        parser().error("-j must be >= 0")
    if getattr(args, "smp", 1) < 1:
        parser().error("--smp must be >= 1")
    signal.signal(signal.SIGTERM, _sigterm)
    try:
        return args.func(args)
    except (KeyboardInterrupt, Interrupted):
        print("\ninterrupted", file=sys.stderr)
        return 130
    finally:
        CHILDREN.stop_all()
