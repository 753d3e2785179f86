#!/usr/bin/env python3
"""Random guests: seeded streams of random instructions, run under hv.

    tests/fuzz/guests.py --seeds 0-199 [-j 2] [--batch 15] [--smp 1]

Each seed makes one flat long-mode image (build/fuzz/guests/randSEED.bin):
a short fixed prologue, then random bytes biased toward what makes VM exits
or upsets a hypervisor (IN/OUT on random ports, RDMSR/WRMSR with random ECX,
CPUID, HLT, VMMCALL with random RAX, 0F 01 xx, INT n, MOV to/from CR and DR,
UD2, SVM instructions, jumps, raw bytes), then an exit hypercall. Three
seeds in four get an IDT whose handlers skip one byte and go on (so the
stream keeps running through its faults); the others have no IDT, so their
first exception is a triple fault.

Up to --batch (15) random VMs and one `hello` VM share one hv boot; each
random VM has limit_ms = 200. Their results cannot be predicted, so hv's own
verdict on them is ignored (their `expect` is a placeholder). A boot is
judged only on what must hold whatever the guests do:
  (a) hv's outcome is pass or fail (never panic, crash, timeout or config error),
  (b) the hello VM ended with exit 0,
  (c) kv hv.image_intact=1,
  (d) every random VM has a result.
For each seed it prints how the guest ended (result and reason). A boot that
breaks a rule is re-run one seed at a time to name the seed(s) responsible.

Booting, the ESP, QEMU and log parsing are tests/harness's (esp, qemu,
judge, accel): the same code `tests/run.py test` uses. Files go to
build/fuzz/: guests/, configs/, esp/, logs/. Exit status 0 if no boot broke
a rule, 1 otherwise, 2 for usage errors.
"""

import argparse
import os
import random
import shutil
import struct
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.dont_write_bytecode = True
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from harness import accel as accel_mod          # noqa: E402
from harness import esp, judge, qemu            # noqa: E402
from harness.common import BUILD, CHILDREN, GUEST_DIR, HV_EFI, Interrupted, rel  # noqa: E402

FUZZ = BUILD / "fuzz"
LIMIT_MS = 200
BOOT_TIMEOUT = 90          # seconds per hv boot (OVMF ~3 s, 15 x 200 ms of guests)
LOAD = 0x100000            # long-mode load address (docs/guest-abi.md)

# ---------------------------------------------------------------- prologue
#
# Assembled once per run with NASM. RBX holds the seed (the config's `arg`)
# and its low two bits choose whether the IDT is loaded (not when both are 0). The random body starts
# at label `body`, right after the prologue.

PROLOGUE = r"""
bits 64
default rel
org 0x100000
        test bl, 3
        jz no_idt
        lea rdi, [idt]
        lea rax, [stubs]
        mov ecx, 32
.gate:  mov rdx, rax
        mov [rdi], dx
        mov word [rdi + 2], 0x08
        mov word [rdi + 4], 0x8E00
        shr rdx, 16
        mov [rdi + 6], dx
        shr rdx, 16
        mov [rdi + 8], rdx
        add rdi, 16
        add rax, 16
        dec ecx
        jnz .gate
        lidt [idtr]
no_idt:
        jmp body

; every exception: count it, skip one byte, go on; after 2000, exit 0xEE
        align 16
stubs:
%assign v 0
%rep 32
        align 16
  %if v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 || v == 29 || v == 30
        add rsp, 8                      ; drop the error code
  %endif
        jmp handler
%assign v v + 1
%endrep
handler:
        inc qword [faults]
        cmp qword [faults], 2000
        jae .enough
        add qword [rsp], 1
        iretq
.enough:
        mov eax, 0
        mov ebx, 0xEE
        vmmcall
        jmp $
        align 16
idt:    times 32 dq 0, 0
idtr:   dw 32 * 16 - 1
        dq idt
faults: dq 0
        align 16
body:
"""

EPILOGUE = bytes([0xB8, 0, 0, 0, 0,          # mov eax, HC_EXIT
                  0x31, 0xDB,                # xor ebx, ebx
                  0x0F, 0x01, 0xD9,          # vmmcall
                  0xEB, 0xFE])               # jmp $


def assemble_prologue():
    FUZZ.mkdir(parents=True, exist_ok=True)
    src, out = FUZZ / "prologue.asm", FUZZ / "prologue.bin"
    src.write_text(PROLOGUE)
    res = subprocess.run(["nasm", "-f", "bin", "-o", str(out), str(src)],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    if res.returncode != 0:
        raise SystemExit("guests.py: nasm failed on the prologue: %s" % res.stdout.decode())
    return out.read_bytes()


# --------------------------------------------------------------- the body

MSRS = [0x10, 0x1B, 0x3A, 0x48, 0x49, 0x8B, 0xFE, 0x174, 0x175, 0x176, 0x1D9, 0x277, 0x2FF,
        0x6E0, 0x802, 0x80B, 0x830, 0x838, 0xC0000080, 0xC0000081, 0xC0000082, 0xC0000084,
        0xC0000100, 0xC0000101, 0xC0000102, 0xC0000103, 0xC0010010, 0xC0010114, 0xC0010117,
        0xC0010140, 0xC0011029, 0x40000000, 0x40000001, 0xFFFFFFFF]
PORTS = [0x20, 0x21, 0x40, 0x43, 0x60, 0x64, 0x70, 0x71, 0x80, 0x92, 0xA0, 0xCF8, 0xCF9,
         0xCFC, 0xF4, 0x3F8, 0x3F9, 0x3FD, 0x2F8, 0x1F0, 0x510, 0x511, 0xB000, 0xFFFF]
PREFIXES = [0x66, 0x67, 0xF2, 0xF3, 0x2E, 0x3E, 0x26, 0x64, 0x65, 0x36]


class Gen:
    def __init__(self, seed, mem):
        self.r = random.Random(seed)
        self.mem = mem
        self.out = bytearray()

    def value(self):
        """An interesting 64-bit value."""
        r = self.r
        k = r.randrange(10)
        if k == 0:
            return 0
        if k == 1:
            return 0xFFFFFFFFFFFFFFFF
        if k == 2:
            return r.randrange(16)
        if k == 3:
            return r.randrange(1 << 32)
        if k == 4:
            return r.randrange(self.mem)                        # inside guest RAM
        if k == 5:
            return self.mem + r.randrange(1 << 30)              # just outside it
        if k == 6:
            return 0x8000000000000000 | r.randrange(1 << 63)   # non-canonical mostly
        if k == 7:
            return 1 << r.randrange(64)
        return r.randrange(1 << 64)

    def imm32(self):
        return self.value() & 0xFFFFFFFF

    def emit(self, *bs):
        for b in bs:
            if isinstance(b, (bytes, bytearray)):
                self.out += b
            else:
                self.out.append(b & 0xFF)

    def prefixes(self, p=0.2):
        while self.r.random() < p:
            self.emit(self.r.choice(PREFIXES))

    def mov32(self, reg, val):          # mov r32, imm32 (eax=0 ... edi=7)
        self.emit(0xB8 + reg, struct.pack("<I", val & 0xFFFFFFFF))

    def mov64(self, reg, val):          # mov r64, imm64 (any of 16; never rsp)
        self.emit(0x48 | (1 if reg >= 8 else 0), 0xB8 + (reg & 7), struct.pack("<Q", val))

    # each chunk: one thing that may exit or upset hv
    def c_setreg(self):
        reg = self.r.choice([0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15])
        self.mov64(reg, self.value())

    def c_io(self):
        r = self.r
        port = r.choice(PORTS) if r.random() < 0.6 else r.randrange(0x10000)
        if r.random() < 0.5:
            self.mov32(2, port)                             # mov edx, port
            if r.random() < 0.3:
                self.emit(0x66)
            self.emit(r.choice([0xEC, 0xED, 0xEE, 0xEF]))   # in/out via DX
        else:
            self.emit(r.choice([0xE4, 0xE5, 0xE6, 0xE7]), port & 0xFF)

    def c_string_io(self):
        self.mov32(2, self.r.choice(PORTS))
        if self.r.random() < 0.5:
            self.emit(0xF3)                                 # rep
        self.emit(self.r.choice([0x6C, 0x6D, 0x6E, 0x6F]))

    def c_msr(self):
        r = self.r
        msr = r.choice(MSRS) if r.random() < 0.7 else r.randrange(1 << 32)
        self.mov32(1, msr)
        self.mov32(0, self.imm32())
        self.mov32(2, self.imm32() if r.random() < 0.3 else 0)
        self.prefixes(0.1)
        self.emit(0x0F, r.choice([0x30, 0x32]))

    def c_cpuid(self):
        r = self.r
        leaf = r.choice([0, 1, 7, 0xD, 0x40000000, 0x40000001, 0x80000000, 0x80000001,
                         0x80000008, 0x8000000A, r.randrange(1 << 32)])
        self.mov32(0, leaf)
        self.mov32(1, r.randrange(4))
        self.prefixes(0.3)
        self.emit(0x0F, 0xA2)

    def c_hypercall(self):
        r = self.r
        nr = r.randrange(6) if r.random() < 0.7 else self.imm32()
        if nr == 0 and r.random() < 0.8:
            nr = 1                                          # exit less often
        self.mov32(3, self.imm32() if r.random() < 0.5 else r.randrange(20))
        self.mov32(1, self.imm32())
        self.mov32(2, self.imm32())
        self.mov32(0, nr)
        self.prefixes(0.1)
        self.emit(0x0F, 0x01, 0xD9)

    def c_group7(self):
        self.prefixes(0.2)
        self.emit(0x0F, 0x01, self.r.randrange(256))

    def c_svm(self):
        self.emit(0x0F, 0x01, self.r.choice([0xD8, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF]))

    def c_exception(self):
        r = self.r
        k = r.randrange(4)
        if k == 0:
            self.emit(0xCD, r.randrange(256))               # int n
        elif k == 1:
            self.emit(0xCC)
        elif k == 2:
            self.emit(0xF1)
        else:
            self.emit(0x0F, 0x0B)

    def c_crdr(self):
        r = self.r
        write = r.random() < 0.5
        if r.random() < 0.7:                                # control registers
            cr = r.choice([0, 2, 3, 4, 8])
            if cr == 8:
                self.emit(0x44)                             # REX.R: CR8
            self.emit(0x0F, 0x22 if write else 0x20, 0xC0 | ((cr & 7) << 3) | self.gpr())
        elif write:
            # DR0-3 and DR6 only: QEMU 7.2 TCG segfaults when two vCPUs of a
            # nested guest write DR7 (or DR5, its alias) with some values
            # (docs/security.md, "QEMU TCG is not the hardware")
            self.emit(0x0F, 0x23, 0xC0 | (r.choice([0, 1, 2, 3, 6]) << 3) | self.gpr())
        else:
            self.emit(0x0F, 0x21, 0xC0 | (r.randrange(8) << 3) | self.gpr())

    def gpr(self):
        """A general register number 0-7 other than RSP (the handlers need a stack)."""
        return self.r.choice([0, 1, 2, 3, 5, 6, 7])

    def c_misc(self):
        r = self.r
        self.prefixes(0.1)
        self.emit(*r.choice([[0xF4], [0x0F, 0x08], [0x0F, 0x09], [0x0F, 0x01, 0xD1],
                             [0x0F, 0x31], [0x0F, 0x01, 0xF9], [0x0F, 0x33], [0xF3, 0x90],
                             [0xFB], [0xFA], [0x0F, 0x01, 0xD0], [0x0F, 0x07], [0x0F, 0x05],
                             [0x0F, 0x34], [0x0F, 0xAE, 0xF0]]))

    def c_jump(self):
        r = self.r
        if r.random() < 0.5:
            self.emit(0xEB, r.randrange(-16, 24))
        else:
            self.emit(0x70 + r.randrange(16), r.randrange(-16, 24))

    def c_raw(self):
        self.emit(bytes(self.r.randrange(256) for _ in range(self.r.randrange(1, 9))))

    CHUNKS = [("c_io", 16), ("c_msr", 14), ("c_cpuid", 10), ("c_hypercall", 12),
              ("c_setreg", 10), ("c_group7", 5), ("c_svm", 3), ("c_exception", 5),
              ("c_crdr", 5), ("c_misc", 8), ("c_jump", 5), ("c_raw", 6), ("c_string_io", 0.3)]

    def body(self, n):
        names = [c for c, _ in self.CHUNKS]
        weights = [w for _, w in self.CHUNKS]
        for _ in range(n):
            getattr(self, self.r.choices(names, weights)[0])()
        return bytes(self.out)


def make_guest(seed, prologue):
    """(image bytes, memory, vcpus) for one seed."""
    r = random.Random(seed * 7919 + 1)
    mem = r.choice([2, 2, 2, 4]) << 20
    vcpus = r.choice([1, 1, 1, 2])
    gen = Gen(seed, mem)
    body = gen.body(r.randrange(20, 400))
    return prologue + body + EPILOGUE, mem, vcpus


# ----------------------------------------------------------------- running

class Printer:
    """Prints a batch's lines together (boots run in parallel)."""

    def __init__(self, quiet=False):
        self.lock = threading.Lock()
        self.quiet = quiet

    def __call__(self, *lines):
        with self.lock:
            for line in lines:
                if not (self.quiet and line.startswith("seed ")):
                    print(line)
            sys.stdout.flush()


def write_batch(seeds, prologue, smp):
    """Images and config for one boot. Returns (name, config path)."""
    gdir = FUZZ / "guests"
    gdir.mkdir(parents=True, exist_ok=True)
    name = "fuzz-%d-%d" % (seeds[0], seeds[-1]) if len(seeds) > 1 else "fuzz-%d" % seeds[0]
    lines = ["# generated by tests/fuzz/guests.py: random guests %s and hello" % name,
             "# (random VMs: expect is a placeholder; the fuzzer judges the boot)"]
    if smp > 1:
        lines.append("pcpus = %d" % smp)
    lines.append("")
    for s in seeds:
        image, mem, vcpus = make_guest(s, prologue)
        (gdir / ("rand%d.bin" % s)).write_bytes(image)
        lines += ["[vm rand%d]" % s, "image = rand%d.bin" % s, "memory = %dM" % (mem >> 20),
                  "vcpus = %d" % vcpus, "arg = %d" % s, "limit_ms = %d" % LIMIT_MS,
                  "expect = limit", ""]
    lines += ["[vm hello]", "image = hello.bin", "expect = exit 0", ""]
    cdir = FUZZ / "configs"
    cdir.mkdir(parents=True, exist_ok=True)
    cfg = cdir / (name + ".cfg")
    cfg.write_text("\n".join(lines))
    return name, cfg


def boot(seeds, prologue, accel_name, smp):
    """Boot one batch. Returns (problems, {seed: (result, reason)}, seconds, log path)."""
    name, cfg = write_batch(seeds, prologue, smp)
    start = time.monotonic()
    img, _, missing = esp.build(name, cfg, HV_EFI, guest_dir=FUZZ / "guests", esp_dir=FUZZ / "esp")
    if missing:
        return ["images missing from the ESP: %s" % " ".join(missing)], {}, 0.0, None
    ldir = FUZZ / "logs"
    ldir.mkdir(parents=True, exist_ok=True)
    log_path = ldir / (name + ".log")
    cmd = qemu.command(img, smp, accel_name)
    run = qemu.run_to_log(cmd, log_path, BOOT_TIMEOUT, ROOT)
    log = judge.parse_log(log_path.read_bytes())
    elapsed = time.monotonic() - start

    def kv(key):
        values = log.kv.get(key) or []
        return values[0] if values else None

    problems = []
    if run.outcome not in ("pass", "fail"):
        what = "timeout after %d s" % BOOT_TIMEOUT if run.timed_out else \
            "hv outcome %s (%s)" % (run.outcome, run.status())
        problems.append("%s; last line: %s" % (what, judge.last_line(log)))
    if kv("vm.hello.result") != "exit" or kv("vm.hello.status") != "0":
        problems.append("hello ended %s %s, not exit 0" % (kv("vm.hello.result"),
                                                          kv("vm.hello.status")))
    if kv("hv.image_intact") != "1":
        problems.append("hv.image_intact=%s" % kv("hv.image_intact"))
    ends = {}
    for s in seeds:
        result = kv("vm.rand%d.result" % s)
        if result is None:
            problems.append("seed %d: no result line" % s)
        ends[s] = (result, kv("vm.rand%d.reason" % s) or "")
    for key, values in log.kv.items():
        if len(set(values)) > 1:
            problems.append("kv %s printed with different values: %s" % (key, ", ".join(values)))
    return problems, ends, elapsed, log_path


def run_batch(seeds, prologue, accel_name, smp, printer, bisect):
    problems, ends, elapsed, log_path = boot(seeds, prologue, accel_name, smp)
    lines = []
    for s in seeds:
        result, reason = ends.get(s, (None, ""))
        lines.append("seed %d: %s%s" % (s, result or "NO RESULT", " (%s)" % reason if reason else ""))
    where = rel(log_path) if log_path else "-"
    if not problems:
        printer("PASS  boot %d-%d (%d guests, %.1f s)" % (seeds[0], seeds[-1], len(seeds), elapsed),
                *lines)
        return [], ends
    printer("FAIL  boot %d-%d (%s; log %s)" % (seeds[0], seeds[-1], "; ".join(problems), where),
            *lines)
    bad = []
    if bisect and len(seeds) > 1:
        for s in seeds:
            p, _, _, lp = boot([s], prologue, accel_name, smp)
            if p:
                printer("FAIL  seed %d alone (%s; log %s)" % (s, "; ".join(p), rel(lp) if lp else "-"))
                bad.append(s)
        if not bad:
            printer("      no single seed of %d-%d fails alone: the combination does" %
                    (seeds[0], seeds[-1]))
            bad = list(seeds)
    else:
        bad = list(seeds)
    return bad, ends


def parse_seeds(text):
    a, sep, b = text.partition("-")
    try:
        first = int(a)
        last = int(b) if sep else first
    except ValueError:
        raise argparse.ArgumentTypeError("expected A-B or A, got %r" % text)
    if first < 0 or last < first:
        raise argparse.ArgumentTypeError("expected 0 <= A <= B, got %r" % text)
    return first, last


def main(argv=None):
    p = argparse.ArgumentParser(prog="tests/fuzz/guests.py",
                                description="Boot hv with seeded random guests (see the file's doc).")
    p.add_argument("--seeds", type=parse_seeds, default=(0, 199), metavar="A-B",
                   help="seed range, inclusive (default 0-199)")
    p.add_argument("-j", "--jobs", type=int, default=2, metavar="N",
                   help="hv boots at a time (default 2)")
    p.add_argument("--batch", type=int, default=15, metavar="N",
                   help="random VMs per boot, 1..15 (default 15; hv runs at most 16 VMs)")
    p.add_argument("--smp", type=int, default=1, metavar="N",
                   help="QEMU -smp and hv pcpus (default 1)")
    p.add_argument("--no-bisect", action="store_true",
                   help="do not re-run the seeds of a failing boot one by one")
    p.add_argument("--quiet", action="store_true", help="no per-seed lines")
    args = p.parse_args(argv)
    if not 1 <= args.batch <= 15 or args.jobs < 1 or args.smp < 1:
        p.error("--batch must be 1..15, -j and --smp at least 1")
    if not HV_EFI.is_file() or not (GUEST_DIR / "hello.bin").is_file():
        print("guests.py: build hv and the guests first: make build/hv.efi build/guest/hello.bin",
              file=sys.stderr)
        return 2

    prologue = assemble_prologue()
    (FUZZ / "guests").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(GUEST_DIR / "hello.bin", FUZZ / "guests" / "hello.bin")
    acc = accel_mod.choose()
    print(acc.line())
    first, last = args.seeds
    seeds = list(range(first, last + 1))
    batches = [seeds[i:i + args.batch] for i in range(0, len(seeds), args.batch)]
    printer = Printer(args.quiet)
    start = time.monotonic()
    bad, tally = [], {}
    pool = ThreadPoolExecutor(max_workers=args.jobs)
    futures = [pool.submit(run_batch, b, prologue, acc.name, args.smp, printer,
                           not args.no_bisect) for b in batches]
    try:
        for f in futures:
            b, ends = f.result()
            bad += b
            for result, _ in ends.values():
                tally[result or "none"] = tally.get(result or "none", 0) + 1
    except (KeyboardInterrupt, Interrupted):
        CHILDREN.stop_all()
        pool.shutdown(wait=True, cancel_futures=True)
        print("interrupted")
        return 130
    pool.shutdown(wait=True)
    elapsed = time.monotonic() - start
    print("fuzz: seeds %d-%d, %d boots, %.0f s; guests ended: %s" % (
        first, last, len(batches), elapsed,
        ", ".join("%s %d" % kv for kv in sorted(tally.items()))))
    if bad:
        print("fuzz: seeds that broke a rule: %s" % " ".join(str(s) for s in sorted(set(bad))))
    print("%d passed, %d failed" % (len(seeds) - len(set(bad)), len(set(bad))))
    return 1 if bad else 0

if __name__ == "__main__":
    sys.exit(main())
