"""Choose the QEMU accelerator: KVM only if it demonstrably works *with nested
virtualization*, TCG otherwise. Nothing is cached; the probe runs every time.

The probe boots build/kvm-probe.rom (from tests/kvm-probe.asm) as the
firmware of a KVM guest; it reports what CPUID shows through isa-debug-exit.
Merely having /dev/kvm proves nothing: it may exist and still be unable to
run a guest (QEMU then fails or aborts), or KVM may run guests without
offering them SVM/VMX.
"""

import os
from dataclasses import dataclass

from .common import PROBE_ASM, PROBE_ROM, QEMU, describe_returncode, first_line, rel, run_captured

PROBE_TIMEOUT = 10
PROBE_CODES = {0x20: None, 0x21: "SVM", 0x22: "VMX"}   # see tests/kvm-probe.asm
KVM_DEV = "/dev/kvm"


@dataclass
class Accel:
    name: str       # "tcg" or "kvm"
    reason: str

    def line(self):
        return "accel: %s (%s)" % (self.name, self.reason)


def build_probe():
    """Assemble the probe ROM; returns an error string or None."""
    try:
        PROBE_ROM.parent.mkdir(parents=True, exist_ok=True)
        rc, out, err = run_captured(["nasm", "-f", "bin", "-o", str(PROBE_ROM), str(PROBE_ASM)], 30)
        if rc != 0:
            return "nasm failed: %s" % (first_line(err + out, skip_warnings=False) or
                                        "status %s" % rc)
        size = PROBE_ROM.stat().st_size
    except FileNotFoundError as e:
        if e.filename in (None, "nasm"):
            return "nasm not installed"
        return "%s: %s" % (rel(e.filename), e.strerror)
    except OSError as e:                # build/ not writable...
        return "cannot build %s: %s" % (rel(PROBE_ROM), e.strerror)
    if size != 0x10000:
        return "%s is %d bytes, expected 65536" % (rel(PROBE_ROM), size)
    return None


def probe_command():
    return [QEMU, "-bios", str(PROBE_ROM), "-accel", "kvm", "-cpu", "host",
            "-machine", "q35", "-nodefaults", "-display", "none", "-monitor", "none",
            "-serial", "none", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]


def probe():
    """Returns Accel("kvm", ...) if KVM with nested SVM/VMX works, else
    Accel("tcg", "kvm probe: <why not>")."""
    def no(why):
        return Accel("tcg", "kvm probe: " + why)

    if not os.path.exists(KVM_DEV):
        return no("no %s" % KVM_DEV)
    if not os.access(KVM_DEV, os.R_OK | os.W_OK):
        return no("%s is not readable and writable" % KVM_DEV)
    error = build_probe()
    if error:
        return no(error)
    try:
        rc, out, err = run_captured(probe_command(), PROBE_TIMEOUT)
    except FileNotFoundError:
        return no("%s not found" % QEMU)
    if rc is None:
        return no("qemu timed out after %d s" % PROBE_TIMEOUT)
    code = (rc - 1) >> 1 if rc > 0 and rc & 1 else None
    if code in PROBE_CODES:
        ext = PROBE_CODES[code]
        if ext:
            return Accel("kvm", "nested %s" % ext)
        return no("KVM works but its guests see neither SVM nor VMX (nested virtualization off)")
    detail = first_line(err) or first_line(out)
    return no("qemu %s%s" % (describe_returncode(rc), ": " + detail if detail else ""))


def choose():
    forced = os.environ.get("HV_ACCEL", "").strip()
    if forced:
        if forced not in ("tcg", "kvm"):
            raise ValueError("HV_ACCEL=%s: expected tcg or kvm" % forced)
        return Accel(forced, "forced by HV_ACCEL=%s" % forced)
    return probe()
