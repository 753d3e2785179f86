"""Paths, environment overrides and child-process bookkeeping."""

import os
import signal
import subprocess
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _env_path(var, default):
    value = os.environ.get(var)
    return Path(value).resolve() if value else default


# Everything the harness reads or writes under build/ hangs off BUILD, so
# HV_BUILD=/tmp/x lets the harness be exercised without touching the tree.
BUILD = _env_path("HV_BUILD", ROOT / "build")
HV_EFI = _env_path("HV_EFI", BUILD / "hv.efi")
HV_MB2 = _env_path("HV_MB2", BUILD / "hv-mb2.elf")
ISO_DIR = BUILD / "iso"
GUEST_DIR = BUILD / "guest"
UNIT_DIR = BUILD / "unit"
ESP_DIR = BUILD / "esp"
LOG_DIR = BUILD / "logs"
ORACLE = BUILD / "oracle"
PROBE_ROM = BUILD / "kvm-probe.rom"
PROBE_ASM = ROOT / "tests" / "kvm-probe.asm"
SCENARIOS = ROOT / "tests" / "scenarios.cfg"

QEMU = os.environ.get("HV_QEMU", "qemu-system-x86_64")
OVMF = _env_path("HV_OVMF", Path("/usr/share/ovmf/OVMF.fd"))


def rel(path):
    """A path as shown to the user: relative to the repository if inside it."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def signame(num):
    try:
        return signal.Signals(num).name
    except ValueError:
        return "signal %d" % num


def describe_returncode(rc, what="exited"):
    """'exited 3' / 'killed by SIGABRT' for a Popen returncode."""
    if rc is None:
        return "still running"
    if rc < 0:
        return "killed by %s" % signame(-rc)
    return "%s %d" % (what, rc)


def first_line(text, skip_warnings=True, limit=160):
    """The most telling line of a tool's stderr (errors before warnings)."""
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    if skip_warnings:
        real = [l for l in lines if "warning:" not in l]
        lines = real or lines
    if not lines:
        return ""
    line = lines[0]
    for prefix in ("qemu-system-x86_64: ", "qemu: "):
        if line.startswith(prefix):
            line = line[len(prefix):]
    return line if len(line) <= limit else line[:limit - 3] + "..."


class Children:
    """Every child process the harness starts, so that they can all be killed
    on timeout, Ctrl-C or SIGTERM; and a flag that refuses new ones once the
    harness is stopping."""

    def __init__(self):
        self._lock = threading.Lock()
        self._procs = set()
        self.stopping = False

    def popen(self, *args, **kwargs):
        with self._lock:
            if self.stopping:
                raise Interrupted()
            proc = subprocess.Popen(*args, **kwargs)
            self._procs.add(proc)
            return proc

    def forget(self, proc):
        with self._lock:
            self._procs.discard(proc)

    def stop_all(self):
        with self._lock:
            self.stopping = True
            procs = list(self._procs)
        for proc in procs:
            stop(proc)


class Interrupted(Exception):
    """The harness is shutting down; do not start anything new."""


CHILDREN = Children()


def stop(proc, grace=2.0):
    """End a child we started: SIGTERM (QEMU then restores the terminal),
    SIGKILL if it is still there after `grace` seconds."""
    if proc.poll() is not None:
        return
    try:
        proc.terminate()
        try:
            proc.wait(grace)
            return
        except subprocess.TimeoutExpired:
            pass
        proc.kill()
        proc.wait()
    except ProcessLookupError:
        pass


def run_captured(cmd, timeout, **kwargs):
    """Run a short helper (nasm, mkfs.fat, mcopy, an oracle...) to completion.
    Returns (returncode or None on timeout, stdout text, stderr text)."""
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    proc = CHILDREN.popen(cmd, cwd=str(ROOT), **kwargs)
    try:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop(proc, grace=0.5)
            out, err = proc.communicate()
            return None, _text(out), _text(err)
        return proc.returncode, _text(out), _text(err)
    finally:
        CHILDREN.forget(proc)


def _text(data):
    if data is None:
        return ""
    if isinstance(data, bytes):
        return data.decode("utf-8", errors="replace")
    return data
