#!/usr/bin/env python3
"""KVM measured in the same emulated CPU as hv: `make bench-kvm`.

    tests/kvm/bench_kvm.py [--out build/bench/kvm.txt] [--n 1000] [--reps 6]

Fetches Debian's kernel and busybox-static (tests/linux/fetch.py: apt-get
download + dpkg -x under build/linux, nothing installed), builds an
initramfs with busybox, the kvm modules (the load order read from each
module's .modinfo `depends=`), the static runner tests/kvm/kvmbench.c and the
guest tests/kvm/guest.asm, and boots it in QEMU TCG with the fixed CPU,
-icount and clock of ../shared/KVM-BENCH.md's measurement, under a timeout.
The runner prints one line per loop and repetition; this script turns them
into instructions per event (TSC delta / 2^shift / events), checks the
calibration loop comes out at exactly 2.000 per iteration, drops the warm-up
repetition and checks the rest agree. The loop timer-tick reports iterations
of a loop with and without a TSC-deadline tick instead: tick_overhead()
turns them into the work lost per tick (tests/bench.py uses it for hv too).

As a module: `measure(shift=7, n=1000, reps=6, timeout=...) -> dict` with
per loop: per_event (instructions), exits, emul, io, halt (per event), and
the kernel version. tests/bench.py calls it.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "linux"))
import fetch as linux_fetch  # noqa: E402

BUILD = ROOT / "build" / "kvm"
# Loops in kvmbench.c's order; the label is the row of the bench table.
LOOPS = ["calib", "cpuid", "hypercall", "pio-kernel", "pio-user", "switch-user",
         "switch-ipi", "selfipi", "timer-tick"]
# kvm-amd's module and the ones it needs: resolved from .modinfo below.
ROOT_MODULE = "kvm-amd"
RTC_BASE = "2024-01-01T00:00:00"
# The timer-tick loop's body in both guests (guest/bench.asm and guest.asm,
# TICK_WINDOW): rdtsc; sub; inc; cmp; jb.
TICK_LOOP_INSNS = 5
RUNNING = []      # the QEMU of a measurement in progress, for a caller's signal handler


def qemu_cmd(vmlinuz, initrd, shift):
    return ["qemu-system-x86_64", "-machine", "q35", "-cpu", "max", "-m", "1024", "-smp", "1",
            "-kernel", str(vmlinuz), "-initrd", str(initrd),
            "-append", "console=ttyS0 quiet panic=-1",
            "-nographic", "-no-reboot", "-icount", "shift=%d,sleep=off" % shift,
            "-rtc", "clock=vm,base=%s" % RTC_BASE, "-seed", "1"]


def modinfo(path):
    """The .modinfo key=value strings of a kernel module (uncompressed .ko)."""
    data = path.read_bytes()
    info = {}
    for m in re.finditer(rb"(?<![\w.])(depends|name|vermagic)=([^\0]*)\0", data):
        info.setdefault(m.group(1).decode(), m.group(2).decode())
    return info


def module_order(moddir, root=ROOT_MODULE):
    """[paths] of root and everything it depends on, dependencies first."""
    index = {}
    for p in moddir.rglob("*.ko"):
        index[p.name[:-3].replace("_", "-")] = p
    order, seen = [], set()

    def visit(name):
        key = name.replace("_", "-")
        if key in seen:
            return
        seen.add(key)
        if key not in index:
            raise SystemExit("bench-kvm: module %s not in %s" % (name, moddir))
        deps = modinfo(index[key]).get("depends", "")
        for d in filter(None, deps.split(",")):
            visit(d)
        order.append(index[key])
    visit(root)
    return order


def cpio_newc(entries):
    """A cpio 'newc' archive of [(name, mode, data or None for dirs, link target)]."""
    out = bytearray()
    ino = 1

    def pad4(b):
        b.extend(b"\0" * (-len(b) % 4))

    for name, mode, data in entries + [("TRAILER!!!", 0, b"")]:
        data = data or b""
        nb = name.encode() + b"\0"
        hdr = "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X" % (
            ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(nb), 0)
        out.extend(hdr.encode())
        out.extend(nb)
        pad4(out)
        out.extend(data)
        pad4(out)
        ino += 1
    return bytes(out)


INIT = """#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /tmp
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t devtmpfs dev /dev
/bin/busybox mount -t debugfs debugfs /sys/kernel/debug
echo "bench-kvm: kernel $(/bin/busybox uname -r)"
{insmods}
echo "bench-kvm: kvm_amd nested=$(/bin/busybox cat /sys/module/kvm_amd/parameters/nested) npt=$(/bin/busybox cat /sys/module/kvm_amd/parameters/npt) nrips=$(/bin/busybox cat /sys/module/kvm_amd/parameters/nrips)"
echo "bench-kvm: $(/bin/busybox grep -m1 'model name' /proc/cpuinfo)"
echo "bench-kvm: spectre_v2: $(/bin/busybox cat /sys/devices/system/cpu/vulnerabilities/spectre_v2)"
echo "bench-kvm: kvm lapic_timer_advance_ns=$(/bin/busybox cat /sys/module/kvm/parameters/lapic_timer_advance_ns) clocksource=$(/bin/busybox cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
/kvmbench /guest.bin {n} {reps} {shift}
echo "bench-kvm: runner status $?"
/bin/busybox poweroff -f
"""


def build_initrd(got, n, reps, shift=7):
    BUILD.mkdir(parents=True, exist_ok=True)
    runner = BUILD / "kvmbench"
    guest = BUILD / "guest.bin"
    src = HERE / "kvmbench.c"
    if not runner.exists() or runner.stat().st_mtime < src.stat().st_mtime:
        subprocess.run(["gcc", "-static", "-O2", "-Wall", "-Wextra", "-Werror", "-pthread",
                        "-o", str(runner), str(src)], check=True)
    subprocess.run(["nasm", "-f", "bin", "-o", str(guest), str(HERE / "guest.asm")], check=True)
    mods = module_order(got["modules"])
    insmods = "\n".join("/bin/busybox insmod /lib/%s || echo 'bench-kvm: insmod %s failed'" % (
        p.name, p.name) for p in mods)
    d, f, x = 0o040755, 0o100644, 0o100755
    entries = [("bin", d, None), ("lib", d, None), ("proc", d, None), ("sys", d, None),
               ("dev", d, None), ("bin/busybox", x, got["busybox"].read_bytes()),
               ("init", x, INIT.format(insmods=insmods, n=n, reps=reps, shift=shift).encode()),
               ("kvmbench", x, runner.read_bytes()), ("guest.bin", f, guest.read_bytes())]
    entries += [("lib/" + p.name, f, p.read_bytes()) for p in mods]
    import gzip
    initrd = BUILD / "initrd.gz"
    # mtime=0: the same inputs give the same bytes
    initrd.write_bytes(gzip.compress(cpio_newc(entries), mtime=0))
    return initrd, [p.name for p in mods]


LINE = re.compile(r"kvmbench loop=(\S+) rep=(\d+) n=(\d+) events=(\d+) tsc=(\d+) exits=(\d+) "
                  r"emul=(\d+) io=(\d+) halt=(\d+)")


TICK_LINE = re.compile(r"kvmbench loop=(\S+) rep=(\d+) window=(\d+) period=(\d+) iters_a=(\d+) "
                       r"iters_b=(\d+) ticks=(\d+) exits_a=(\d+) emul_a=(\d+) io_a=(\d+) halt_a=(\d+) "
                       r"exits_b=(\d+) emul_b=(\d+) io_b=(\d+) halt_b=(\d+)")
TICK_KEYS = ("window", "period", "iters_a", "iters_b", "ticks", "exits_a", "emul_a", "io_a", "halt_a",
             "exits_b", "emul_b", "io_b", "halt_b")


def parse_tick(text):
    """{loop name: result} for the timer-tick lines: per_event = instructions
    lost per tick (tick_overhead, per repetition, averaged over the timed
    ones); exits etc. per tick = window B's counters minus window A's over
    the ticks (window B also holds the timer's set-up: four more exits or
    so, under 0.1 per tick). Raises ValueError naming the repetition when a
    repetition fails tick_overhead's checks."""
    runs = {}
    for m in TICK_LINE.finditer(text):
        r = dict(zip(TICK_KEYS, map(int, m.groups()[2:])), rep=int(m.group(2)))
        runs.setdefault(m.group(1), []).append(r)
    res = {}
    for name, reps in runs.items():
        for r in reps:
            try:
                r["lost"] = tick_overhead(r["iters_a"], r["iters_b"], r["ticks"], r["window"], r["period"])
            except ValueError as e:
                raise ValueError("%s rep %d: %s" % (name, r["rep"], e))
        timed = [r for r in reps if r["rep"] > 0] or reps
        per = [r["lost"] for r in timed]
        ticks = sum(r["ticks"] for r in timed)
        x = dict(per_event=sum(per) / len(per), spread=max(per) - min(per), reps=per,
                 warmup=reps[0]["lost"], tick=timed[-1])
        for k in ("exits", "emul", "io", "halt"):
            x[k] = sum(r[k + "_b"] - r[k + "_a"] for r in timed) / ticks
        res[name] = x
    return res


def parse(text, shift):
    runs = {}
    for m in LINE.finditer(text):
        name, rep, n, ev, tsc, ex, em, io, ha = m.groups()
        runs.setdefault(name, []).append(dict(rep=int(rep), n=int(n), events=int(ev), tsc=int(tsc),
                                              exits=int(ex), emul=int(em), io=int(io), halt=int(ha)))
    # The guest executes a fixed few instructions between its two rdtsc outside
    # the loop (two stores, the rdtsc): the calibration loop (2 per iteration)
    # shows how many; they are taken off every loop.
    fixed = 0
    if runs.get("calib"):
        c = runs["calib"][-1]
        fixed = c["tsc"] // (1 << shift) - 2 * c["n"]
    res = {"_fixed": fixed}
    for name, reps in runs.items():
        timed = [r for r in reps if r["rep"] > 0] or reps
        per = [(r["tsc"] / (1 << shift) - fixed) / r["events"] for r in timed]
        ev = sum(r["events"] for r in timed)
        res[name] = dict(per_event=sum(per) / len(per), spread=max(per) - min(per), reps=per,
                         warmup=reps[0]["tsc"] / (1 << shift) / reps[0]["events"],
                         exits=sum(r["exits"] for r in timed) / ev,
                         emul=sum(r["emul"] for r in timed) / ev,
                         io=sum(r["io"] for r in timed) / ev,
                         halt=sum(r["halt"] for r in timed) / ev)
    res.update(parse_tick(text))
    return res


def tick_overhead(iters_a, iters_b, ticks, window, period):
    """Instructions of work lost per timer tick: two windows of `window` TSC
    units run the same TICK_LOOP_INSNS-instruction loop, A without the timer
    (iters_a iterations), B with a TSC-deadline tick every `period` (iters_b
    iterations, `ticks` ticks). Anything else that steals time (KVM's L1
    tick) does so in both windows and cancels. Raises ValueError when the
    tick count is not window / period (within 1) or nothing was lost."""
    want = window // period if period else 0
    if want < 1:
        raise ValueError("window %d and period %d give no tick" % (window, period))
    if abs(ticks - want) > 1:
        raise ValueError("%d ticks in the timed window, expected W / P = %d / %d = %d (within 1)"
                         % (ticks, window, period, want))
    lost = (iters_a - iters_b) * TICK_LOOP_INSNS / ticks
    if lost <= 0:
        raise ValueError("no work lost to %d ticks: %d loop iterations without the timer, %d with"
                         % (ticks, iters_a, iters_b))
    return lost


def measure(shift=7, n=1000, reps=6, timeout=900, log_path=None):
    got = linux_fetch.fetch()
    initrd, mods = build_initrd(got, n, reps, shift)
    log_path = Path(log_path or ROOT / "build" / "bench" / ("kvm-shift%d.log" % shift))
    cmd = qemu_cmd(got["vmlinuz"], initrd, shift)
    t0 = time.time()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # the serial console goes straight to the log, so a long run can be watched
    with open(log_path, "wb") as f:
        f.write((" ".join(cmd) + "\n").encode())
        f.flush()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT)
        RUNNING.append(proc)
        try:
            proc.wait(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            timed_out = True
        except BaseException:        # interrupted (SIGTERM, ^C): never leave QEMU behind
            proc.kill()
            proc.wait()
            raise
        finally:
            RUNNING.remove(proc)
    out = log_path.read_bytes().decode("utf-8", "replace")
    try:
        res = parse(out, shift)
    except ValueError as e:
        raise RuntimeError("bench-kvm: %s (log %s)" % (e, log_path))
    info = dict(kernel=got["kernel_pkg"], modules=mods, seconds=time.time() - t0,
                log=log_path, shift=shift, n=n, reps=reps, cmd=cmd,
                lines=[l for l in out.splitlines() if l.startswith("bench-kvm:")],
                hung=[l.strip() for l in out.splitlines() if " hung: " in l])
    fixed = res.pop("_fixed")
    info["fixed"] = fixed
    missing = [l for l in LOOPS if l not in res]
    if timed_out or missing or "kvmbench: done" not in out:
        err = [l for l in out.splitlines() if "error" in l][-3:]
        raise RuntimeError("bench-kvm: %s; missing loops %s; %s; log %s" % (
            "timed out after %d s" % timeout if timed_out else "runner did not finish",
            ",".join(missing) or "none", " | ".join(err), log_path))
    cal = [r for r in LINE.finditer(out) if r.group(1) == "calib" and r.group(2) != "0"]
    tscs = {int(r.group(5)) for r in cal}
    unit = 1 << shift
    if len(tscs) != 1 or any(t % unit for t in tscs) or not 0 <= fixed <= 8:
        raise RuntimeError("bench-kvm: the calibration loop's TSC deltas %s are not one multiple "
                           "of %d for 2 x N + a few instructions: the TSC is not 2^%d per "
                           "instruction (log %s)" % (sorted(tscs), unit, shift, log_path))
    return dict(loops=res, info=info)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shift", type=int, default=7)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=6)
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--out", default=str(ROOT / "build" / "bench" / "kvm.txt"))
    args = ap.parse_args()
    try:
        r = measure(args.shift, args.n, args.reps, args.timeout)
    except RuntimeError as e:
        print(e)
        return 1
    lines = ["KVM (%s, QEMU TCG -cpu max, -icount shift=%d): instructions per event, %d timed "
             "repetitions of %d after a warm-up" % (r["info"]["kernel"], args.shift, args.reps - 1, args.n)]
    lines += r["info"]["lines"]
    lines += ["hung (left out): " + h for h in r["info"]["hung"]]
    lines.append("%-12s %10s %8s %7s %7s %7s %7s" % ("loop", "per event", "spread", "exits", "emul",
                                                    "io", "halt"))
    for name in LOOPS:
        x = r["loops"][name]
        lines.append("%-12s %10.1f %8.2f %7.2f %7.2f %7.2f %7.2f" % (
            name, x["per_event"], x["spread"], x["exits"], x["emul"], x["io"], x["halt"]))
    lines.append("(%.0f s; log %s)" % (r["info"]["seconds"], os.path.relpath(r["info"]["log"], ROOT)))
    text = "\n".join(lines)
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
