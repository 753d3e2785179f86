"""Running hv in Bochs 2.7 (the bochs-* platforms) and judging how it ended.

Files of one run (PLATFORM = bochs-ryzen, ...; NAME = the scenario):
    build/bochs/PLATFORM/NAME.bochsrc   generated from tests/bochs/*.bochsrc.in
    build/logs/PLATFORM/NAME.log        COM1: hv's serial console
    build/logs/PLATFORM/NAME.bochs.log  Bochs's own log and debugger output

Bochs is started as
    bochs -q -unlock -f NAME.bochsrc -rc tests/bochs/run.rc   (stdin /dev/null)
run.rc is 100 lines of `continue`: one to start the machine, the others for
each time Bochs's debugger stops it (a magic breakpoint, a triple fault, which
Bochs 2.7 also turns into a debugger stop). After the last one Bochs reads
stdin, /dev/null, and quits. hv ends Bochs by writing "Shutdown" to port
0x8900 (hv/x86/platform.c; Bochs exits 1). Bochs's status does not carry
hv's exit code: the outcome is the last `hv: exit pass|fail|config-error|panic`
line of the serial log. Bochs ending without such a line is a crash; still
running at the timeout, a timeout (with Bochs's first panic line, if any).

Every Bochs run is also checked for Bochs refusing PRED_CMD (MSR 0x49): on
corei7_icelake_u and tigerlake IBPB is real, so a barrier the CPU model did
not execute ("WRMSR IA32_PRED_CMD: not enabled in the cpu model") fails the
scenario, whatever hv reported.
"""

import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .common import BUILD, CHILDREN, ROOT, rel, stop

BOCHS = os.environ.get("HV_BOCHS", "bochs")
TEMPLATE_DIR = ROOT / "tests" / "bochs"
RC_FILE = TEMPLATE_DIR / "run.rc"
CONFIG_DIR = BUILD / "bochs"
MEGS = 512
BIOS_FILES = ("/usr/share/bochs/BIOS-bochs-latest", "/usr/share/vgabios/vgabios.bin")

EXIT_RE = re.compile(r"^hv: exit (pass|fail|config-error|panic)\s*$")
# Bochs log lines: 11-digit tick, level letter (i, d, e, p), [MODULE] message.
LEVEL_RE = re.compile(r"^\d{11}([iedp])\[([^\]]*)\]\s?(.*)$")
PRED_CMD_REFUSED = ("IA32_PRED_CMD: not enabled in the cpu model",
                    "reserved bits of IA32_PRED_CMD")


def template(boot):
    return TEMPLATE_DIR / ("%s.bochsrc.in" % ("ovmf" if boot == "uefi" else "mb2"))


def render(text, values):
    """Fill @KEY@ fields; an unknown field is an error (a template typo)."""
    def sub(m):
        key = m.group(1)
        if key not in values:
            raise KeyError("bochsrc template: unknown field @%s@" % key)
        return str(values[key])
    return "".join(line if line.lstrip().startswith("#") else
                   re.sub(r"@([A-Z0-9_]+)@", sub, line)
                   for line in text.splitlines(keepends=True))


def write_config(platform, name, smp, medium, serial_log, ovmf, out_dir=CONFIG_DIR):
    """Write build/bochs/PLATFORM/NAME.bochsrc; returns its path."""
    values = {"CPU_MODEL": platform.cpu_model, "CPUS": smp, "MEGS": MEGS,
              "IGNORE_BAD_MSRS": 0 if platform.bad_msrs_allowed is None else 1,
              "CPU_PANIC_ACTIONS": "".join(", CPU%x=report" % i for i in range(smp)),
              "SERIAL_LOG": Path(serial_log).resolve(), "OVMF": ovmf,
              "ISO": Path(medium).resolve(), "DISK": Path(medium).resolve()}
    text = render(template(platform.boot).read_text(), values)
    path = Path(out_dir) / platform.name / ("%s.bochsrc" % name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def command(bochsrc):
    return [BOCHS, "-q", "-unlock", "-f", rel(bochsrc), "-rc", rel(RC_FILE)]


def hv_outcome(serial_text):
    """The outcome hv printed last (`hv: exit X`), or None."""
    outcome = None
    for line in serial_text.splitlines():
        m = EXIT_RE.match(line.replace("\r", ""))
        if m:
            outcome = m.group(1)
    return outcome


def log_problems(bochs_log):
    """(first panic line, last error line) of a Bochs log, '' when none."""
    panic, error = "", ""
    for line in bochs_log.splitlines():
        m = LEVEL_RE.match(line)
        if not m:
            continue
        msg = "[%s] %s" % (m.group(2).strip(), m.group(3).strip())
        if m.group(1) == "p" and not panic:
            panic = msg
        elif m.group(1) == "e":
            error = msg
    return panic, error


def pred_cmd_refusals(bochs_log):
    """Lines where Bochs refused a PRED_CMD write."""
    return [l for l in bochs_log.splitlines() if any(p in l for p in PRED_CMD_REFUSED)]


UNKNOWN_MSR_RE = re.compile(r"(RDMSR|WRMSR): Unknown register (0x[0-9a-fA-F]+)")


def unknown_msrs(bochs_log, allowed):
    """[(RDMSR|WRMSR, msr)] Bochs did not know and ignored (ignore_bad_msrs=1),
    except the allowed ones, in order, without duplicates."""
    seen = []
    for m in UNKNOWN_MSR_RE.finditer(bochs_log):
        item = (m.group(1), int(m.group(2), 16))
        if item[1] not in allowed and item not in seen:
            seen.append(item)
    return seen


@dataclass
class Run:
    returncode: int = None
    timed_out: bool = False
    elapsed: float = 0.0
    stderr: str = ""           # Bochs's log (stdout and stderr together)
    hv_exit: str = None        # from the serial log
    error: str = ""            # why this is a crash, when it is one
    note: str = ""             # what Bochs said when it had to be killed at the timeout
    restarts: int = 0          # starts lost to the VNC port race (run_to_log)
    bochs_log_path: str = ""
    bad_msrs_allowed: object = None   # platforms.Platform.bad_msrs_allowed
    pred_cmd_refusals: int = 0        # refusals the scenario expects (its guest's own writes)

    @property
    def outcome(self):
        if self.timed_out:
            return "timeout"
        return self.hv_exit or "crash"

    def status(self):
        if self.returncode is None:
            return "Bochs still running"
        if self.returncode < 0:
            return "Bochs killed by signal %d" % -self.returncode
        return "Bochs status %d" % self.returncode

    def check(self):
        """Platform checks beyond hv's own verdict: None or the reason."""
        bad = pred_cmd_refusals(self.stderr)
        if self.pred_cmd_refusals and len(bad) != self.pred_cmd_refusals:
            return "Bochs refused PRED_CMD %d time%s, the scenario expects exactly %d; see %s" % (
                len(bad), "" if len(bad) == 1 else "s", self.pred_cmd_refusals, self.bochs_log_path)
        if bad and not self.pred_cmd_refusals:
            return "Bochs refused PRED_CMD %d time%s (%s); see %s" % (
                len(bad), "" if len(bad) == 1 else "s", bad[0].split("]", 1)[-1].strip(),
                self.bochs_log_path)
        if isinstance(self.bad_msrs_allowed, tuple):
            bad = unknown_msrs(self.stderr, self.bad_msrs_allowed)
            if bad:
                return "Bochs ignored %s (no such MSR in this CPU model; on hardware a #GP)" % \
                    ", ".join("%s 0x%x" % b for b in bad)
        return None


# Bochs 2.7's VNC server (gui/rfb.cc) binds one socket to 5900, 5901, ... in
# turn with SO_REUSEADDR and listens on the first it got. Two Bochs starting
# at the same instant can both bind the same port before either listens:
# the second's listen fails, its socket stays bound, every further bind
# fails, and it panics "RFB could not bind any port between 5900 and 5949"
# before the machine runs. Seen now and then with two Bochs at
# a time (a few runs of the whole suite here). Nothing of the guest has run
# then, so the harness starts it again, and says so in the scenario's line.
RFB_RACE = "RFB could not bind any port"
RFB_RESTARTS = 3


def lost_rfb_race(res, serial_log):
    """Did this run end before the machine ran, on the VNC port race?"""
    return (not res.timed_out and RFB_RACE in res.stderr and
            (not os.path.exists(serial_log) or os.path.getsize(serial_log) == 0))


def run_to_log(cmd, serial_log, bochs_log, timeout, cwd=ROOT, bad_msrs_allowed=None):
    """Run Bochs (stdin /dev/null, stdout+stderr into bochs_log) under a timeout,
    then read hv's outcome from the serial log. A start lost to the VNC port
    race (RFB_RACE, above) is started again, at most RFB_RESTARTS times."""
    restarts = 0
    while True:
        res = run_once(cmd, serial_log, bochs_log, timeout, cwd, bad_msrs_allowed)
        if restarts == RFB_RESTARTS or not lost_rfb_race(res, serial_log):
            res.restarts = restarts
            return res
        restarts += 1
        time.sleep(0.2 * restarts)


def run_once(cmd, serial_log, bochs_log, timeout, cwd=ROOT, bad_msrs_allowed=None):
    """One Bochs run (run_to_log)."""
    start = time.monotonic()
    res = Run(bochs_log_path=rel(bochs_log), bad_msrs_allowed=bad_msrs_allowed)
    for stale in (serial_log, bochs_log):
        if os.path.exists(stale):
            os.unlink(stale)
    with open(bochs_log, "wb") as out:
        proc = CHILDREN.popen(cmd, cwd=str(cwd), stdin=subprocess.DEVNULL,
                              stdout=out, stderr=subprocess.STDOUT)
        try:
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                res.timed_out = True
                stop(proc)
        finally:
            CHILDREN.forget(proc)
    res.returncode = proc.returncode
    res.elapsed = time.monotonic() - start
    with open(bochs_log, "rb") as f:
        res.stderr = f.read().decode("utf-8", errors="replace")
    serial = b""
    if os.path.exists(serial_log):
        with open(serial_log, "rb") as f:
            serial = f.read()
    else:
        open(serial_log, "wb").close()
    res.hv_exit = hv_outcome(serial.decode("utf-8", errors="replace"))
    if res.timed_out:
        panic, _ = log_problems(res.stderr)
        if panic:
            res.note = "Bochs: " + panic
    if not res.hv_exit and not res.timed_out:
        panic, error = log_problems(res.stderr)
        why = "%s without an `hv: exit` line" % res.status().replace("status", "exited")
        if not serial:
            why += " and no serial output"
        if panic or error:
            why += ": %s" % (panic or error)
        res.error = why
    return res


def run_tee(cmd, serial_log, bochs_log, timeout, cwd=ROOT, bad_msrs_allowed=None, poll=0.1):
    """Run Bochs like run_to_log, and copy the serial log to our stdout as it
    grows (make bochs)."""
    import sys
    import threading
    out = sys.stdout.buffer
    done = threading.Event()
    if os.path.exists(serial_log):      # not the last run's lines
        os.unlink(serial_log)

    def follow():
        pos = 0
        while True:
            finished = done.is_set()
            try:
                with open(serial_log, "rb") as f:
                    f.seek(pos)
                    chunk = f.read()
            except OSError:
                chunk = b""
            if chunk:
                pos += len(chunk)
                out.write(chunk)
                out.flush()
            if finished:
                return
            time.sleep(poll)

    t = threading.Thread(target=follow, daemon=True)
    t.start()
    try:
        return run_to_log(cmd, serial_log, bochs_log, timeout or None, cwd, bad_msrs_allowed)
    finally:
        done.set()
        t.join()
