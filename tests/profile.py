#!/usr/bin/env python3
"""Where hv's exit paths spend their instructions, function by function.

    tests/profile.py [--top N] [--out FILE]

Boots the benchmark guest (guest/bench.asm, the `make bench` configuration
with 2 vCPUs) twice under QEMU TCG with `-icount shift=7,sleep=off`:

1. a plain run, to learn where the UEFI loader put hv.efi (hv prints
   "image at 0x..."; the address is the same on every run of the same disk
   image and memory size);
2. a run with `-singlestep -d exec,nochain -dfilter BASE+SIZE`, where QEMU
   logs every instruction hv executes (one translation block per
   instruction), and nothing of the firmware or the guests.

The log is read as it streams from QEMU's stderr (nothing large is written)
and cut at hv's VMRUN: each piece is one exit's complete path through hv,
from #VMEXIT back to the next VMRUN. Identical pieces are counted together.
For the most frequent ones it prints their length and the functions they
pass through, in order and in total; function names come from `nm
build/hv.so` (static functions included; inlined code counts for the
function it was inlined into).

The bench guest runs its loops in this order: CPUID, unknown hypercall,
port I/O, yield (vCPU switch); the pieces are listed in the order they
first occur, so in that order too. The lengths are hv's alone; `make bench`
figures also include the guest's loop and the VMRUN/#VMEXIT themselves.
SVM only (QEMU has no VT-x under TCG). Writes FILE (default
build/profile.txt) as well as stdout. docs/benchmarks.md shows how the
figures were used.
"""

import argparse
import bisect
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench                                           # noqa: E402
from harness import esp, qemu                         # noqa: E402
from harness.common import BUILD, HV_EFI, LOG_DIR, ROOT, rel  # noqa: E402

HV_SO = BUILD / "hv.so"
ICOUNT = ["-icount", "shift=7,sleep=off"]


def symbols():
    """(address, name) of hv's functions, sorted, and the highest address."""
    out = subprocess.run(["nm", "-n", str(HV_SO)], capture_output=True, text=True, check=True).stdout
    syms = []
    for line in out.splitlines():
        f = line.split()
        if len(f) == 3 and f[1] in "tTwW":
            syms.append((int(f[0], 16), f[2]))
    return syms


def vmrun_offsets():
    """Offsets in hv.so of every VMRUN instruction."""
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(HV_SO)],
                         capture_output=True, text=True, check=True).stdout
    return {int(m.group(1), 16) for m in re.finditer(r"^\s*([0-9a-f]+):\s+vmrun\b", out, re.M)}


def image_base(image, timeout):
    log_path = LOG_DIR / "profile-base.log"
    run = qemu.run_to_log(qemu.command(image, 1, "tcg", ICOUNT), log_path, timeout, ROOT)
    m = re.search(rb"image at (0x[0-9a-f]+)", log_path.read_bytes())
    if run.timed_out or not m:
        raise SystemExit("profile: hv did not report its load address (log %s)" % rel(log_path))
    return int(m.group(1), 16)


def trace(image, base, size, vmruns, timeout):
    """Run with the exec log on stderr; return Counter{tuple of offsets: n}
    and the order in which each piece first occurred."""
    cmd = qemu.command(image, 1, "tcg", ICOUNT + ["-singlestep", "-d", "exec,nochain",
                                                  "-dfilter", "0x%x+0x%x" % (base, size)])
    serial = LOG_DIR / "profile.log"
    pieces, first = Counter(), {}
    cur, started = [], False
    deadline = time.monotonic() + timeout
    with open(serial, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=str(ROOT), stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.PIPE)
        try:
            for raw in proc.stderr:
                if time.monotonic() > deadline:
                    raise SystemExit("profile: QEMU still running after %d s; stopped" % timeout)
                if not raw.startswith(b"Trace"):
                    continue
                # "Trace 0: 0x7f.. [00000000/000000001e2926c0/0040c2b0/ff020201] "
                i = raw.index(b"[")
                off = int(raw[i + 18:i + 34], 16) - base
                if started:
                    cur.append(off)
                if off in vmruns:
                    if started:
                        key = tuple(cur)
                        pieces[key] += 1
                        first.setdefault(key, len(first))
                    started, cur = True, []
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    return pieces, first


def describe(key, syms):
    addrs = [a for a, _ in syms]

    def name(off):
        i = bisect.bisect_right(addrs, off) - 1
        return syms[i][1] if i >= 0 else "?"

    runs, total = [], Counter()
    for off in key:
        n = name(off)
        total[n] += 1
        if runs and runs[-1][0] == n:
            runs[-1][1] += 1
        else:
            runs.append([n, 1])
    return runs, total


def by_source_line(key):
    """Lines 'file:line count', in the order first executed, for one path."""
    offs = sorted(set(key))
    res = subprocess.run(["addr2line", "-e", str(HV_SO)] + ["0x%x" % o for o in offs],
                         capture_output=True, text=True, check=True).stdout.split("\n")
    where = {o: res[i].split(" ")[0].replace(str(ROOT) + "/", "") for i, o in enumerate(offs)}
    count, order = Counter(), []
    for o in key:
        if where[o] not in count:
            order.append(where[o])
        count[where[o]] += 1
    return ["    %-40s %d" % (w, count[w]) for w in order]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--top", type=int, default=4, help="how many of the most frequent paths (default 4)")
    ap.add_argument("--out", default=str(BUILD / "profile.txt"))
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--source", type=int, action="append", default=[], metavar="LEN",
                    help="for the path of LEN instructions, also count its instructions by "
                         "source line (addr2line on build/hv.so); may be repeated")
    args = ap.parse_args()
    if not HV_SO.is_file():
        raise SystemExit("profile: %s not found; run make first" % rel(HV_SO))
    syms = symbols()
    vmruns = vmrun_offsets()
    size = max(a for a, _ in syms) + 0x1000
    with tempfile.TemporaryDirectory() as d:
        cfg = Path(d) / "hv.cfg"
        cfg.write_text(bench.config(1, 2, "2M"))
        image, _, _ = esp.build("profile", cfg, HV_EFI)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    base = image_base(image, args.timeout)
    pieces, first = trace(image, base, size, vmruns, args.timeout)
    if not pieces:
        raise SystemExit("profile: no VMRUN seen in the trace (is this the SVM build?)")
    top = sorted(pieces.most_common(args.top), key=lambda kv: first[kv[0]])
    out = ["hv exit paths, instructions hv executes from #VMEXIT to the next VMRUN",
           "(QEMU TCG single-step trace of the make-bench guest; hv.efi at 0x%x)" % base,
           "the %d most frequent, in the order they first occur; the guest's loops run in the order" % len(top),
           "CPUID, unknown hypercall, port I/O, yield (a vCPU switch)", ""]
    for key, n in top:
        runs, total = describe(key, syms)
        out.append("%d instructions, seen %d times" % (len(key), n))
        out.append("  in order: " + " > ".join("%s %d" % (f, c) for f, c in runs))
        out.append("  by function: " + ", ".join("%s %d" % (f, c) for f, c in total.most_common()))
        if len(key) in args.source:
            out += by_source_line(key)
        out.append("")
    text = "\n".join(out).rstrip() + "\n"
    print(text, end="")
    Path(args.out).write_text(text)
    print("written to %s" % rel(Path(args.out)))


if __name__ == "__main__":
    main()
