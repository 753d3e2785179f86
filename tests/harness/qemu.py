"""The QEMU command line, running it under a timeout, and what its exit
status means.

hv writes a code c to isa-debug-exit (port 0xf4); QEMU then exits with
(c << 1) | 1:
    c = 0  pass          QEMU status 1   every VM ended as its config expected
    c = 1  fail          QEMU status 3   some VM did not
    c = 2  config-error  QEMU status 5   boot or config error
    c = 3  panic         QEMU status 7   hv panicked
Any other status (0 from QEMU itself, other codes, a signal) is "crash".
"""

import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass

from .common import CHILDREN, OVMF, QEMU, describe_returncode, first_line, rel, stop

OUTCOME_BY_STATUS = {1: "pass", 3: "fail", 5: "config-error", 7: "panic"}
# tests/run.py boot exits with hv's code; these two are the harness's own.
BOOT_EXIT = {"pass": 0, "fail": 1, "config-error": 2, "panic": 3, "crash": 4,
             "timeout": 124, "harness-error": 125}

# accelerator name -> (its -accel option, the matching -cpu option)
ACCEL_ARGS = {
    "tcg": (["-accel", "tcg,thread=single"], ["-cpu", "max"]),
    "kvm": (["-accel", "kvm"], ["-cpu", "host"]),
}


def outcome(returncode):
    return OUTCOME_BY_STATUS.get(returncode, "crash")


def describe_status(returncode):
    if returncode is not None and returncode >= 0:
        return "QEMU status %d" % returncode
    return "QEMU " + describe_returncode(returncode)


def command(esp, smp, accel, extra=()):
    accel_opt, cpu_opt = ACCEL_ARGS[accel]
    return [QEMU, "-machine", "q35", *cpu_opt, "-m", "512", "-smp", str(smp),
            *accel_opt, "-bios", rel(OVMF),
            "-drive", "format=raw,file=%s" % rel(esp),
            "-nodefaults", "-nic", "none", "-display", "none",
            "-serial", "stdio", "-monitor", "none",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", *extra]


def command_iso(iso, smp, accel, extra=()):
    """The Multiboot2 path (platform qemu-mb2): SeaBIOS boots the GRUB ISO."""
    accel_opt, cpu_opt = ACCEL_ARGS[accel]
    return [QEMU, "-machine", "q35", *cpu_opt, "-m", "512", "-smp", str(smp),
            *accel_opt, "-cdrom", rel(iso),
            "-nodefaults", "-nic", "none", "-display", "none",
            "-serial", "stdio", "-monitor", "none",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", *extra]


def startup_error(returncode, stderr, serial_bytes):
    """QEMU exits with status 1 on its own errors too (bad option, missing
    file...), which collides with hv's "pass". Such a status 1 is not hv's
    when the firmware printed nothing at all (OVMF and GRUB always do) or QEMU
    reported an error (not a warning) on stderr. Returns the reason or ''."""
    if returncode != 1:
        return ""
    err = first_line(stderr) if stderr else ""
    if err and "warning:" in err:
        err = ""
    if serial_bytes == 0:
        return "QEMU exited 1 with no serial output" + (": " + err if err else "")
    if err:
        return "QEMU exited 1 reporting: " + err
    return ""


@dataclass
class Run:
    returncode: int = None
    timed_out: bool = False
    elapsed: float = 0.0
    stderr: str = ""
    qemu_error: str = ""     # see startup_error()

    @property
    def outcome(self):
        if self.timed_out:
            return "timeout"
        if self.qemu_error:
            return "crash"
        return outcome(self.returncode)

    # The interface judge.py uses for every emulator (bochs.Run has the same).
    @property
    def error(self):
        return self.qemu_error

    def status(self):
        return describe_status(self.returncode)

    def check(self):
        """Platform checks beyond hv's own verdict: none for QEMU."""
        return None


def type_after(proc, log_path, marker, data, poll=0.05):
    """Wait until `marker` is in the serial log, then write `data` to QEMU's
    stdin (its -serial stdio: the bytes arrive on the guest machine's COM1,
    paced by QEMU's UART, which takes a byte only when its receive FIFO has
    room). Returns when done or when QEMU is gone."""
    want = marker.encode("utf-8")
    while proc.poll() is None:
        try:
            with open(log_path, "rb") as f:
                if want in f.read():
                    break
        except OSError:
            pass
        time.sleep(poll)
    else:
        return
    try:
        proc.stdin.write(data)
        proc.stdin.flush()
    except (BrokenPipeError, OSError, ValueError):
        pass


def run_to_log(cmd, log_path, timeout, cwd, serial_input=b"", input_after=""):
    """Run QEMU with its serial output (stdout) going straight into log_path
    and stdin from /dev/null (parallel QEMUs must not touch the terminal).
    With serial_input: stdin is a pipe, and those bytes are written to it
    once input_after appears in the log (type_after)."""
    start = time.monotonic()
    res = Run()
    typist = None
    with open(log_path, "wb") as log, tempfile.TemporaryFile() as errf:
        # stderr into a file, not a pipe: communicate() would close stdin.
        proc = CHILDREN.popen(cmd, cwd=str(cwd),
                              stdin=subprocess.PIPE if serial_input else subprocess.DEVNULL,
                              stdout=log, stderr=errf)
        if serial_input:
            typist = threading.Thread(target=type_after, daemon=True,
                                      args=(proc, log_path, input_after, serial_input))
            typist.start()
        try:
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                res.timed_out = True
                stop(proc)
                proc.wait()
        finally:
            if typist:
                typist.join(5)
            if proc.stdin:
                try:
                    proc.stdin.close()
                except OSError:
                    pass
            CHILDREN.forget(proc)
        errf.seek(0)
        err = errf.read()
    res.returncode = proc.returncode
    res.elapsed = time.monotonic() - start
    res.stderr = err.decode("utf-8", errors="replace")
    res.qemu_error = startup_error(res.returncode, res.stderr, os.path.getsize(log_path))
    return res


def run_tee(cmd, log_path, timeout, cwd):
    """Run QEMU interactively (stdin and stderr inherited) and copy its serial
    output both to our stdout and to log_path, as it arrives."""
    start = time.monotonic()
    res = Run()
    out = sys.stdout.buffer
    with open(log_path, "wb") as log:
        proc = CHILDREN.popen(cmd, cwd=str(cwd), stdout=subprocess.PIPE)
        timer = None
        if timeout:
            def expire():
                res.timed_out = True
                stop(proc)
            timer = threading.Timer(timeout, expire)
            timer.daemon = True
            timer.start()
        try:
            fd = proc.stdout.fileno()
            while True:
                chunk = os.read(fd, 4096)
                if not chunk:
                    break
                log.write(chunk)
                log.flush()
                out.write(chunk)
                out.flush()
            proc.wait()
        finally:
            if timer:
                timer.cancel()
            stop(proc)
            CHILDREN.forget(proc)
    res.returncode = proc.returncode
    res.elapsed = time.monotonic() - start
    res.qemu_error = startup_error(res.returncode, "", os.path.getsize(log_path))
    return res
