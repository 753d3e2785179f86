"""tests/run.py: command-line front end (see docs/testing.md)."""

import argparse
import copy
import fnmatch
import os
import re
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
from . import bochs, esp, iso, judge, oracle, platforms, qemu, report, reset, scenarios, screen, unit, usb
from .common import (CHILDREN, ESP_DIR, HV_EFI, HV_MB2, ISO_DIR, OVMF, QEMU, ROOT,
                     SCENARIOS, Interrupted, rel)

VERBOSE_LOG_LINES = 200


# ----------------------------------------------------------------- output

class Printer:
    """Whole result blocks, one at a time, flushed at once (parallel jobs)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.passed = 0
        self.failed = 0
        self.skipped = 0        # checks that did not run: neither passed nor failed
        self.entries = []       # report.Entry, for --tap and --junit

    def block(self, lines, passed=0, failed=0, entries=(), skipped=0):
        with self.lock:
            self.passed += passed
            self.failed += failed
            self.skipped += skipped
            self.entries.extend(entries)
            for line in lines:
                print(line)
            sys.stdout.flush()

    def summary(self):
        print("%d passed, %d failed%s" % (self.passed, self.failed,
                                          ", %d skipped" % self.skipped if self.skipped else ""))
        sys.stdout.flush()


def status_line(ok, what, detail):
    return "%s  %s (%s)" % ("PASS" if ok else "FAIL", what, detail)


def short(text, limit=80):
    """A file name or value fit for a one-line message."""
    text = str(text)
    if len(text) <= limit:
        return text
    return "%s...%s (%d characters)" % (text[:limit // 2], text[-limit // 4:], len(text))


def os_error(e):
    """'File name too long: build/guest/aaaa...aa.bin (260 characters)'."""
    what = e.strerror or str(e)
    if e.filename is not None:
        what += ": " + short(rel(e.filename) if isinstance(e.filename, (str, Path))
                             else e.filename)
    return what


def harness_error(e):
    """The message for an exception the harness did not expect: the run it
    happened in fails with this reason, the others go on."""
    if isinstance(e, OSError):
        return "harness error: " + os_error(e)
    return "harness error: %s: %s" % (type(e).__name__, short(e, 200))


# ------------------------------------------------------------- scenarios

@dataclass
class ScenarioResult:
    ok: bool
    detail: str
    verbose: List[str] = field(default_factory=list)
    reason: str = ""        # why it failed (detail without time and log path)
    log: str = ""           # the serial log, as shown, if one was written
    tail: List[str] = field(default_factory=list)   # its last lines, on failure
    elapsed: float = 0.0

    def __post_init__(self):
        if not self.ok and not self.reason:
            self.reason = self.detail


def _have_tool(tool):
    return bool(shutil.which(tool)) or os.path.exists("/usr/sbin/" + tool) \
        or os.path.exists("/sbin/" + tool)


def preflight(platform=platforms.BY_NAME[platforms.DEFAULT]):
    """Problems that would make every scenario on platform fail, found once."""
    if platform.boot == "uefi":
        if not HV_EFI.is_file():
            return "%s not found; build hv first" % rel(HV_EFI)
        if not OVMF.is_file():
            return "firmware %s not found; install ovmf or set HV_OVMF" % OVMF
        for tool in ("mkfs.fat", "mmd", "mcopy"):
            if not _have_tool(tool):
                return "%s not found; install dosfstools and mtools" % tool
    else:
        if not HV_MB2.is_file():
            return "%s not found; build hv first (make)" % rel(HV_MB2)
        for tool, pkg in (("grub-mkrescue", "grub-common and grub-pc-bin"),
                          ("xorriso", "xorriso"), ("mformat", "mtools")):
            if not _have_tool(tool):
                return "%s not found; install %s" % (tool, pkg)
        if not os.path.isdir("/usr/lib/grub/i386-pc"):
            return "/usr/lib/grub/i386-pc not found; install grub-pc-bin"
    if platform.emulator == "qemu":
        if not shutil.which(QEMU):
            return "%s not found; install qemu-system-x86 or set HV_QEMU" % QEMU
    else:
        if not shutil.which(bochs.BOCHS):
            return "%s not found; install bochs, bochsbios and vgabios (or set HV_BOCHS)" % bochs.BOCHS
        for f in bochs.BIOS_FILES:
            if not os.path.isfile(f):
                return "%s not found; install bochsbios and vgabios" % f
    return None


def boot_medium(platform, name, config):
    """Build what the platform boots for config: an ESP image (uefi) or a
    GRUB ISO (mb2). Returns (path, [copied images], [missing images]);
    raises esp.EspError or iso.IsoError."""
    if platform.boot.startswith("usb"):                # the `make usb` image (usb.py)
        out = ISO_DIR / platform.name / ("%s.img" % name)
        copied = usb.build(config, out, HV_EFI, HV_MB2, timeout=1,
                           default=1 if platform.boot == "usb-mb2" else 0)
        return out, copied, []
    if platform.boot == "uefi":
        esp_dir = ESP_DIR if platform.name == platforms.DEFAULT else ESP_DIR / platform.name
        return esp.build(name, config, HV_EFI, esp_dir=esp_dir)
    out = ISO_DIR / platform.name / ("%s.iso" % name)
    copied, missing = iso.build(name, config, HV_MB2, out)
    return out, copied, missing


def start_command(platform, name, smp, medium, log_path, accel_name, qemu_args):
    """The emulator command line for one boot (Bochs: also writes its bochsrc)."""
    if platform.emulator == "qemu":
        if platform.boot in ("uefi", "usb", "usb-mb2"):
            return qemu.command(medium, smp, accel_name, qemu_args)
        return qemu.command_iso(medium, smp, accel_name, qemu_args)
    rc = bochs.write_config(platform, name, smp, medium, log_path, OVMF)
    return bochs.command(rc)


def run_scenario(sc, accel_name, verbose, platform=platforms.BY_NAME[platforms.DEFAULT]):
    """Build the boot medium, boot it, judge the log. Never raises but for an
    interruption: whatever goes wrong (a file name too long, an unwritable
    log directory, an emulator that cannot be executed...) fails this run
    with a reason, and the other runs go on."""
    try:
        return _run_scenario(sc, accel_name, verbose, platform)
    except (KeyboardInterrupt, Interrupted):
        raise
    except Exception as e:          # noqa: BLE001 - see the docstring
        return ScenarioResult(False, harness_error(e))


def _prepare_log_dir(log_dir, stale):
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        for path in stale:              # never judge or show an old run
            if path.exists():
                path.unlink()
    except OSError as e:
        return "cannot write the log directory %s: %s" % (short(rel(log_dir)), os_error(e))
    return None


def _run_scenario(sc, accel_name, verbose, platform):
    sc = scenarios.for_platform(sc, platform.name)
    log_dir = platform.log_dir
    log_path = log_dir / ("%s.log" % sc.name)
    trace_path = log_dir / ("%s.trace" % sc.name)
    bochs_log = log_dir / ("%s.bochs.log" % sc.name)
    log_ref = "log %s" % rel(log_path)
    problem = _prepare_log_dir(log_dir, (log_path, trace_path, bochs_log))
    if problem:
        return ScenarioResult(False, problem)
    if sc.error:
        return ScenarioResult(False, sc.error)
    config = ROOT / sc.config
    try:
        found = config.is_file()
    except OSError as e:                # ENAMETOOLONG, EACCES on a directory...
        return ScenarioResult(False, "config %s: %s" % (short(sc.config), e.strerror))
    if not found:
        return ScenarioResult(False, "config %s not found" % short(sc.config))
    if platform.config_lines or platform.expect:     # a platform variant (platforms.py)
        config = platforms.variant_config(platform, sc.name, config)
        sc = copy.copy(sc)
        sc.expect = sc.expect + list(platform.expect)
    start = time.monotonic()
    try:
        medium, _, _ = boot_medium(platform, sc.name, config)
    except esp.EspError as e:
        return ScenarioResult(False, "ESP: %s" % e)
    except iso.IsoError as e:
        return ScenarioResult(False, "ISO: %s" % e)
    except usb.UsbError as e:
        return ScenarioResult(False, "USB image: %s" % e)
    except OSError as e:
        return ScenarioResult(False, "%s: %s" % ("ESP" if platform.boot == "uefi" else "ISO",
                                                 os_error(e)))

    cmd = start_command(platform, sc.name, sc.smp, medium, log_path, accel_name, sc.qemu_args)
    try:
        if platform.emulator == "qemu" and sc.screen:
            run = screen.run_to_log(cmd, log_path, sc.timeout, ROOT)
        elif platform.emulator == "qemu" and sc.reset:
            run = reset.run_to_log(cmd, log_path, sc.timeout, ROOT)
        elif platform.emulator == "qemu":
            run = qemu.run_to_log(cmd, log_path, sc.timeout, ROOT, sc.serial_input,
                                  sc.serial_input_after)
        elif sc.serial_input:
            return ScenarioResult(False, "serial_input: the harness cannot type into %s's "
                                  "serial port (docs/testing.md)" % platform.name)
        else:
            run = bochs.run_to_log(cmd, log_path, bochs_log, sc.timeout, ROOT,
                                   platform.bad_msrs_allowed)
    except FileNotFoundError:
        return ScenarioResult(False, "%s not found" % short(cmd[0]))
    except PermissionError:
        return ScenarioResult(False, "%s: permission denied (not executable?)" % short(cmd[0]))
    except OSError as e:                # ENOEXEC: not a program at all
        if e.filename is None:
            e.filename = cmd[0]
        return ScenarioResult(False, "cannot start %s" % os_error(e))
    with open(log_path, "rb") as f:
        log = judge.parse_log(f.read())
    oracle.write_trace(trace_path, log.trace)
    elapsed = time.monotonic() - start

    reason = judge.verdict(sc, run, log)
    if reason is None and not run.timed_out:
        if platform.emulator != "qemu":
            run.pred_cmd_refusals = sc.pred_cmd_refusals
        reason = run.check()
    if run.timed_out and getattr(run, "note", ""):
        reason += "; " + run.note
    notes = []
    if getattr(run, "restarts", 0):
        notes.append("Bochs started %d more time%s: its VNC server lost the port race (tests/harness/bochs.py)"
                     % (run.restarts, "" if run.restarts == 1 else "s"))
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
        return ScenarioResult(True, "; ".join(["%.1f s" % elapsed] + notes), log=rel(log_path),
                              elapsed=elapsed)
    if run.timed_out:
        detail = "%s; %s" % (reason, log_ref)
    else:
        detail = "%s; %.1f s; %s" % (reason, elapsed, log_ref)
    if verbose:
        emu = platform.emulator
        extra.append("    %s: %s" % (emu, " ".join(shlex.quote(a) for a in cmd)))
        if emu == "qemu":
            for line in run.stderr.splitlines():
                extra.append("    qemu stderr: %s" % line)
        else:
            panic, error = bochs.log_problems(run.stderr)
            for line in (panic, error):
                if line:
                    extra.append("    bochs log: %s" % line)
            extra.append("    bochs log: %s" % rel(bochs_log))
        lines = log.lines[:-1] if log.lines and log.lines[-1] == "" else log.lines
        shown = lines[-VERBOSE_LOG_LINES:]
        head = "    --- %s" % rel(log_path)
        if len(shown) < len(lines):
            head += " (last %d of %d lines)" % (len(shown), len(lines))
        extra.append(head + " ---")
        extra.extend("    | " + l for l in shown)
        extra.append("    --- end of %s ---" % rel(log_path))
    return ScenarioResult(False, detail, extra, reason=reason, log=rel(log_path),
                          tail=report.tail_of(log_path), elapsed=elapsed)


def scenario_job(sc, accel_name, blocker, verbose, printer,
                 platform=platforms.BY_NAME[platforms.DEFAULT]):
    if blocker:
        res = ScenarioResult(False, blocker)
    else:
        res = run_scenario(sc, accel_name, verbose, platform)
    if CHILDREN.stopping:       # interrupted: its emulator was killed by us
        return
    entry = report.Entry("scenario", platform.name, sc.name, res.ok,
                         res.reason if not res.ok else res.detail, res.elapsed, res.log,
                         res.tail)
    printer.block([status_line(res.ok, "scenario " + platform.label(sc.name), res.detail)]
                  + res.verbose, passed=int(res.ok), failed=int(not res.ok), entries=[entry])


def unit_entries(res):
    """The report entries of one unit-test binary: one per case, plus one
    for a binary-level problem (as in `N passed, M failed`)."""
    tail = report.tail_text(res.output)
    out = []
    for i, (name, ok, msg) in enumerate(res.cases):
        out.append(report.Entry("unit", res.binary, name, ok, msg if not ok else "",
                                res.elapsed if i == 0 else 0.0,
                                tail=[] if ok else tail, skipped=msg == "# SKIP"))
    return out


def unit_job(path, printer):
    try:
        res = unit.run(path)
    except (KeyboardInterrupt, Interrupted):
        raise
    except Exception as e:          # noqa: BLE001 - one binary fails, the rest go on
        res = unit.UnitResult(path.name, failed=1, problem=harness_error(e))
        res.cases.append((path.name, False, res.problem))
    total = res.passed + res.failed + res.skipped
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
    printer.block(lines, passed=res.passed, failed=res.failed, entries=unit_entries(res),
                  skipped=res.skipped)


# ------------------------------------------------------------- selection

SLOW_GROUP = "slow"     # run only when asked for (by name or `-g slow`: make test-slow)


def select(names, groups, all_scenarios, binaries):
    """Returns (scenarios, unit binaries) to run, or raises ValueError.
    Everything by default, except the scenarios of group `slow`."""
    if not names and not groups:
        return [sc for sc in all_scenarios if SLOW_GROUP not in sc.groups], list(binaries)
    chosen_sc, chosen_bin = [], []
    for sc in all_scenarios:
        if any(fnmatch.fnmatchcase(sc.name, n) for n in names) or \
                any(g in sc.groups for g in groups):
            chosen_sc.append(sc)
    for b in binaries:
        if any(fnmatch.fnmatchcase(b.name, n) for n in names) or "unit" in names \
                or "unit" in groups:
            chosen_bin.append(b)
    if ("unit" in names or "unit" in groups) and not binaries:
        raise ValueError("'unit' asked, but there is no unit-test binary in %s (run make)"
                         % rel(unit.UNIT_DIR))
    for n in names:
        if n == "unit":
            continue
        if not any(fnmatch.fnmatchcase(sc.name, n) for sc in all_scenarios) and \
                not any(fnmatch.fnmatchcase(b.name, n) for b in binaries):
            raise ValueError("no scenario or unit-test binary matches %r" % n)
    return chosen_sc, chosen_bin


def runs(chosen_sc, chosen_platforms):
    """The (scenario, platform) pairs to run, platform by platform."""
    return [(sc, p) for p in chosen_platforms for sc in chosen_sc if scenarios.runs_on(sc, p)]


def longest_first(todo):
    """The runs in the order to start them: the probably longest first, so that
    one long run does not start last and leave the other jobs idle. A long
    timeout and many emulated CPUs (Bochs emulates them one after another)
    mean long."""
    def cost(item):
        sc, p = item
        sc = scenarios.for_platform(sc, p.name)
        return sc.timeout * (sc.smp if p.emulator == "bochs" else 1)
    return sorted(todo, key=cost, reverse=True)     # stable: file order otherwise


def cmd_test(args):
    """tests/run.py test. Whatever happens (a usage error, an interruption,
    a harness error) the last line on stdout is `N passed, M failed`, and
    --tap/--junit are written when they can be (not after a usage error)."""
    printer = Printer()
    status = 125
    write_reports = False
    interrupted = False
    try:
        for path in (args.tap, args.junit):
            if path:
                try:
                    report.check_writable(path)
                except OSError as e:
                    print("tests/run.py: cannot write %s: %s" % (short(path), os_error(e)),
                          file=sys.stderr)
                    status = 2
                    return status
        write_reports = True
        status = _cmd_test(args, printer)
        interrupted = status == 130
        if args.list:
            write_reports = False
            return status
    except (KeyboardInterrupt, Interrupted):
        CHILDREN.stop_all()
        print("interrupted")
        interrupted, status = True, 130
    except BrokenPipeError:
        CHILDREN.stop_all()
        raise
    except Exception as e:          # noqa: BLE001 - a harness bug: say so, close properly
        print("tests/run.py: %s" % harness_error(e), file=sys.stderr)
        status = 125
    finally:
        # The reports first: a closed stdout (`| head`) must not lose them.
        if write_reports:
            for path, make in ((args.tap, report.tap), (args.junit, report.junit)):
                if not path:
                    continue
                try:
                    report.write(path, make(printer.entries, interrupted))
                except OSError as e:
                    print("tests/run.py: cannot write %s: %s" % (short(path), os_error(e)),
                          file=sys.stderr)
                    if status in (0, 1):
                        status = 125
        if not args.list:
            printer.summary()
    return status


def _cmd_test(args, printer):
    file_error = None
    try:
        chosen_platforms = platforms.parse(args.platform)
    except ValueError as e:
        print("tests/run.py: %s" % e, file=sys.stderr)
        return 2
    try:
        all_scenarios = scenarios.load(args.scenarios)
    except scenarios.ScenarioFileError as e:
        all_scenarios, file_error = [], str(e)
    try:
        binaries = unit.find()
    except OSError as e:
        binaries = []
        printer.block([status_line(False, "unit " + rel(unit.UNIT_DIR),
                                   "cannot list: %s" % os_error(e))], failed=1,
                      entries=[report.Entry("unit", "build", rel(unit.UNIT_DIR), False,
                                            "cannot list: %s" % os_error(e))])
    groups = [g for arg in args.group for g in arg.replace(",", " ").split()]
    try:
        chosen_sc, chosen_bin = select(args.names, groups, all_scenarios, binaries)
    except ValueError as e:
        if file_error:
            print("tests/run.py: %s" % file_error, file=sys.stderr)
        print("tests/run.py: %s (try --list)" % e, file=sys.stderr)
        return 2
    todo = runs(chosen_sc, chosen_platforms)
    if chosen_sc and not todo:
        print("tests/run.py: none of the selected scenarios runs on %s (see their "
              "`platforms` key)" % ", ".join(p.name for p in chosen_platforms), file=sys.stderr)
        return 2

    if args.list:
        nw = max([len(p.label(sc.name)) for sc, p in todo] + [1])
        cw = max([len(sc.config) for sc, _ in todo] + [1])
        for sc, p in todo:
            print("scenario %-*s  %-*s  %s" % (nw, p.label(sc.name), cw, sc.config,
                                              " ".join(sc.groups) or "-"))
        for b in chosen_bin:
            print("unit     %s" % b.name)
        if file_error:
            print("tests/run.py: %s" % file_error, file=sys.stderr)
            return 1
        return 0

    accel_name = "tcg"
    if any(p.emulator == "qemu" for _, p in todo):
        try:
            acc = accel_mod.choose()
        except ValueError as e:
            print("tests/run.py: %s" % e, file=sys.stderr)
            return 2
        accel_name = acc.name
        print(acc.line())
    elif todo:
        print("accel: none (no QEMU scenarios; %s)" % ", ".join(
            sorted({p.name for _, p in todo})))
    else:
        print("accel: none (no scenarios to run)")
    sys.stdout.flush()

    if file_error:
        printer.block([status_line(False, "scenarios " + rel(args.scenarios), file_error)],
                      failed=1, entries=[report.Entry("scenario", "file", rel(args.scenarios),
                                                      False, file_error)])
    blockers = {p.name: preflight(p) for p in {p for _, p in todo}}

    jobs = max(1, args.jobs or os.cpu_count() or 1)
    pool = ThreadPoolExecutor(max_workers=jobs)
    futures = [pool.submit(unit_job, b, printer) for b in chosen_bin]
    futures += [pool.submit(scenario_job, sc, accel_name, blockers[p.name], args.verbose,
                            printer, p) for sc, p in longest_first(todo)]
    try:
        for fut in as_completed(futures):
            try:
                fut.result()
            except (KeyboardInterrupt, Interrupted, BrokenPipeError):
                raise
            except Exception as e:      # noqa: BLE001 - the jobs catch their own; belt and braces
                printer.block([status_line(False, "harness", harness_error(e))], failed=1,
                              entries=[report.Entry("scenario", "harness", "job", False,
                                                    harness_error(e))])
    except (KeyboardInterrupt, Interrupted):
        CHILDREN.stop_all()
        pool.shutdown(wait=True, cancel_futures=True)
        print("interrupted")
        return 130
    pool.shutdown(wait=True)
    return 0 if printer.failed == 0 else 1


# ------------------------------------------------------------------ boot

def config_name(config):
    """NAME for a config file: its file name without .cfg, made file-name safe."""
    name = config.name[:-4] if config.name.endswith(".cfg") else config.name
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name) or "boot"


def config_pcpus(config):
    """The global `pcpus = N` of an hv config (before its first section), else 1:
    a boot gives the machine as many CPUs as the config asks hv to use."""
    try:
        for line in config.read_text(errors="replace").splitlines():
            line = line.split("#", 1)[0].strip()
            if line.startswith("["):
                break
            key, eq, val = line.partition("=")
            if eq and key.strip() == "pcpus" and val.strip().isdigit():
                return max(1, int(val.strip()))
    except OSError:
        pass
    return 1


def config_names_input(config):
    """Does the config's global part set console_input (docs/config.md)?"""
    try:
        text = Path(config).read_text(errors="replace")
    except OSError:
        return False
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("["):
            return False
        if re.match(r"console_input\s*=", line):
            return True
    return False


def cmd_boot(args):
    config = Path(args.config).resolve()
    if not config.is_file():
        print("tests/run.py boot: %s: no such file" % args.config, file=sys.stderr)
        return qemu.BOOT_EXIT["harness-error"]
    name = config_name(config)
    try:
        platform, = platforms.parse([args.platform])
    except ValueError as e:
        print("tests/run.py boot: %s" % e, file=sys.stderr)
        return 2
    err = sys.stderr
    if args.gdb and platform.emulator != "qemu":
        print("tests/run.py boot: --gdb needs QEMU; Bochs has its own debugger: run the "
              "printed bochs command without -rc", file=err)
        return 2
    acc = accel_mod.Accel("tcg", "not used")
    if platform.emulator == "qemu":
        try:
            acc = accel_mod.choose()
        except ValueError as e:
            print("tests/run.py: %s" % e, file=sys.stderr)
            return 2
        print(acc.line(), file=err)
    blocker = preflight(platform)
    if blocker:
        print("tests/run.py boot: %s" % blocker, file=err)
        return qemu.BOOT_EXIT["harness-error"]
    try:
        medium, copied, missing = boot_medium(platform, name, config)
    except (esp.EspError, iso.IsoError) as e:
        print("tests/run.py boot: %s: %s" % ("ESP" if platform.boot == "uefi" else "ISO", e),
              file=err)
        return qemu.BOOT_EXIT["harness-error"]
    extra = [a for chunk in (args.qemu_args or []) for a in shlex.split(chunk)]
    timeout = args.timeout
    if args.gdb:
        extra += ["-s", "-S"]
        timeout = 0
    log_dir = platform.log_dir
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / ("%s.log" % name)
    bochs_log = log_dir / ("%s.bochs.log" % name)
    smp = args.smp if args.smp is not None else config_pcpus(config)
    cmd = start_command(platform, name, smp, medium, log_path, acc.name, extra)
    typing = platform.emulator == "qemu" and sys.stdin.isatty() and not args.gdb
    if typing and "stdio" in cmd:
        # At a terminal: what you type goes to the machine's COM1, and on to
        # the VM the config's console_input names (docs/platform.md). The
        # multiplexer passes Ctrl-C to the guest; Ctrl-A X quits QEMU.
        cmd[cmd.index("stdio")] = "mon:stdio"
    print("%s: %s (hv.cfg from %s; images: %s%s)" % (
        "esp" if platform.boot == "uefi" else "iso",
        rel(medium), rel(config), " ".join(copied) or "none",
        "; not in %s: %s" % (rel(esp.GUEST_DIR), " ".join(missing)) if missing else ""), file=err)
    print("%s: %s" % (platform.emulator, " ".join(shlex.quote(a) for a in cmd)), file=err)
    if platform.emulator == "bochs":
        print("bochs: %s, its log %s" % (platform.cpu_model, rel(bochs_log)), file=err)
    if args.gdb:
        print("gdb: QEMU waits for a debugger: gdb -ex 'target remote :1234'", file=err)
    if timeout is None:
        # A person typing into a VM (console_input) is the run's timeout:
        # they quit with Ctrl-A X. Everything else keeps the 60 s default.
        timeout = 0 if typing and config_names_input(config) else 60
        if timeout == 0:
            print("timeout: none (a terminal and console_input; --timeout S sets one)", file=err)
    if typing:
        print("serial input: what you type goes to COM1 (a VM named by console_input gets it); "
              "Ctrl-A X quits QEMU, Ctrl-A H lists the other keys", file=err)
    err.flush()
    try:
        if platform.emulator == "qemu":
            run = qemu.run_tee(cmd, log_path, timeout, ROOT)
        else:
            run = bochs.run_tee(cmd, log_path, bochs_log, timeout, ROOT,
                                platform.bad_msrs_allowed)
    except KeyboardInterrupt:
        CHILDREN.stop_all()
        print("\ninterrupted; log %s" % rel(log_path), file=err)
        return 130
    with open(log_path, "rb") as f:
        log = judge.parse_log(f.read())
    oracle.write_trace(log_dir / ("%s.trace" % name), log.trace)
    if run.timed_out:
        print("hv outcome: timeout after %g s; log %s" % (timeout, rel(log_path)), file=err)
        return qemu.BOOT_EXIT["timeout"]
    detail = run.status()
    if run.error:
        detail += "; " + run.error
    print("hv outcome: %s (%s, %.1f s); log %s" % (
        run.outcome, detail, run.elapsed, rel(log_path)), file=err)
    problem = run.check()
    if problem:
        print("tests/run.py boot: %s" % problem, file=err)
    return qemu.BOOT_EXIT[run.outcome]


def cmd_iso(args):
    """tests/run.py iso CONFIG [-o FILE]: the GRUB ISO for CONFIG (make iso)."""
    config = Path(args.config).resolve()
    if not config.is_file():
        print("tests/run.py iso: %s: no such file" % args.config, file=sys.stderr)
        return 2
    out = Path(args.output) if args.output else ISO_DIR / ("%s.iso" % config_name(config))
    try:
        copied, missing = iso.build(config_name(config), config, HV_MB2, out)
    except iso.IsoError as e:
        print("tests/run.py iso: %s" % e, file=sys.stderr)
        return 1
    except OSError as e:
        print("tests/run.py iso: %s" % os_error(e), file=sys.stderr)
        return 1
    print("iso: %s (hv-mb2.elf, hv.cfg from %s; images: %s)" % (
        rel(out), rel(config), " ".join(copied) or "none"))
    if missing:
        print("iso: warning: not in %s, left out (hv will report them): %s" % (
            rel(esp.GUEST_DIR), " ".join(missing)), file=sys.stderr)
    print("boot it: qemu-system-x86_64 -cpu max -m 512 -cdrom %s -serial stdio -display none, "
          "or write it to a USB stick (docs/booting.md)" % rel(out))
    return 0


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
                   help="print the emulator command and log of failing scenarios")
    t.add_argument("--scenarios", type=Path, default=SCENARIOS, metavar="FILE",
                   help="scenario file (default tests/scenarios.cfg)")
    t.add_argument("-p", "--platform", action="append", default=[], metavar="P",
                   help="where to run the scenarios (repeatable or comma-separated; "
                   "default qemu): " + ", ".join(platforms.BY_NAME))
    t.add_argument("--tap", metavar="FILE",
                   help="also write the results as TAP version 13 to FILE")
    t.add_argument("--junit", metavar="FILE",
                   help="also write the results as JUnit XML to FILE")
    t.set_defaults(func=cmd_test)

    b = sub.add_parser("boot", help="boot one hv config interactively (make run, make bochs)",
                       description="Build the ESP (or, for a Multiboot2 platform, the GRUB "
                       "ISO) for CONFIG and boot it with the serial console on stdout (also "
                       "saved to build/logs/[PLATFORM/]NAME.log). Exit "
                       "status: 0 pass, 1 fail, 2 config-error, 3 panic, 4 crash, "
                       "124 timeout, 125 harness error.")
    b.add_argument("config", metavar="CONFIG", help="hv config file (becomes hv.cfg)")
    b.add_argument("-p", "--platform", default=platforms.DEFAULT, metavar="P",
                   help="where to boot (default qemu): " + ", ".join(platforms.BY_NAME))
    b.add_argument("--smp", type=int, default=None, metavar="N",
                   help="CPUs of the emulated machine (default: the config's `pcpus`, else 1)")
    b.add_argument("--timeout", type=float, default=None, metavar="S",
                   help="seconds before QEMU is killed (default 60, 0 = none; at a terminal "
                        "with a config that names console_input: none, a person is typing)")
    b.add_argument("--gdb", action="store_true",
                   help="add -s -S (gdb stub on :1234, wait for it) and disable the timeout")
    b.add_argument("--qemu-args", nargs=argparse.REMAINDER, metavar="ARG",
                   help="extra QEMU arguments: everything after this option "
                   "(each word is also split shell-style)")
    b.set_defaults(func=cmd_boot)

    i = sub.add_parser("iso", help="build a GRUB ISO that boots a config (make iso)",
                       description="Build a GRUB rescue ISO with build/hv-mb2.elf, CONFIG "
                       "as the module hv.cfg and the guest images it names as modules.")
    i.add_argument("config", metavar="CONFIG", help="hv config file (becomes hv.cfg)")
    i.add_argument("-o", "--output", metavar="FILE",
                   help="the ISO to write (default build/iso/NAME.iso)")
    i.set_defaults(func=cmd_iso)

    s = sub.add_parser("selftest", help="run the harness's own unit tests")
    s.add_argument("-v", "--verbose", action="store_true")
    s.set_defaults(func=cmd_selftest)
    return p


def _sigterm(signum, frame):
    raise KeyboardInterrupt()


def main(argv=None):
    # A log with bytes that are not UTF-8 is decoded with U+FFFD; a terminal
    # or pipe in another encoding must not make printing it fail.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError):
            pass
    args = parser().parse_args(argv)
    if getattr(args, "jobs", 0) < 0:
        parser().error("-j must be >= 0")
    if getattr(args, "smp", 1) is not None and getattr(args, "smp", 1) < 1:
        parser().error("--smp must be >= 1")
    signal.signal(signal.SIGTERM, _sigterm)
    try:
        return args.func(args)
    except (KeyboardInterrupt, Interrupted):
        print("\ninterrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:         # `tests/run.py test | head`: the reader went away
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except Exception as e:          # noqa: BLE001 - boot/iso/selftest: a clear line, status 125
        print("tests/run.py %s: %s" % (args.command, harness_error(e)), file=sys.stderr)
        return qemu.BOOT_EXIT["harness-error"]
    finally:
        CHILDREN.stop_all()
