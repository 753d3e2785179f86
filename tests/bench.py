#!/usr/bin/env python3
"""hv's benchmark: path lengths beside KVM's, the barrier-policy matrix, charts.

    tests/bench.py [--no-kvm] [--no-bochs] [--no-matrix] [--out-dir build/bench]

Everything is counted in emulated instructions, deterministic run to run:

1. Paths (guest/bench.asm): CPUID exit, unknown hypercall, port exit, vCPU
   switch by yield (2, 16, 64, 256 vCPUs on one pCPU), IPI + HLT ping-pong,
   self-IPI + HLT + EOI and the TSC-deadline timer tick's overhead (work
   lost per tick, by difference: hv_tick; 2 vCPUs only), for every hv config
   variant in VARIANTS and every backend: SVM under QEMU TCG with
   -icount shift=7,sleep=off (the TSC advances 128 per instruction), VT-x
   in Bochs icelake (the TSC advances a fixed amount per instruction there
   too; the guest's no-exit loop, 2 instructions per iteration, calibrates
   it). The guest reports raw rdtsc deltas; this script divides.
2. KVM (tests/kvm/bench_kvm.py): Debian's kernel booted in the same QEMU
   CPU with the same -icount, running the same loops through the KVM API;
   skipped, with the reason in the report, when the packages cannot be
   fetched. KVM loops hv cannot run yet show "hv: not yet".
2b. A Linux boot (Debian's kernel, hv's initramfs): instructions from
   power-on to /init, hv's share of the VM's run (the report's TSC
   counters, svm_enter's glue from the profile machinery), exits per
   reason during the boot and the pingpong workload.
   (--only-linux: this section alone, build/bench/linux.md.)
3. The policy matrix (guest/matrix.asm): POLICIES x WORKLOADS with tracing
   on; per cell the switches, barriers, the oracle's required minimum and
   violations (build/oracle), guest PRED_CMD exits and instructions per unit
   of guest work.
4. Charts (python3-matplotlib, PNG and SVG) and build/bench/report.md.

Logs: build/logs/bench-*.log, build/logs/bochs-icelake/bench-*.log,
build/bench/kvm-shift7.log. docs/benchmarks.md explains the method.
"""

import argparse
import json
import os
import platform as host_platform
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import accel, bochs, cli, esp, judge, oracle as oracle_mod, platforms, qemu  # noqa: E402
from harness.common import BUILD, CHILDREN, HV_EFI, LOG_DIR, ORACLE, ROOT, rel  # noqa: E402
sys.path.insert(0, str(Path(__file__).resolve().parent / "kvm"))
import bench_kvm  # noqa: E402  (tick_overhead: the same arithmetic for hv and KVM)

SHIFT = 7
ICOUNT = ["-icount", "shift=%d,sleep=off" % SHIFT]
ITER = 1000                      # guest/bench.asm's ITER
OUT_DIR = BUILD / "bench"

# hv config variants the path table shows, one column each per backend:
# (name, extra global config lines). hv's own speculation measures as `auto`
# picks them on the emulated CPU (the figure held against KVM's, which was
# measured with its own retpolines and RSB filling) and `off`
# (docs/security.md, "Host-side speculation mitigations").
VARIANTS = [
    ("auto", ["mitigations = auto"]),
    ("off", ["mitigations = off"]),
]

# Backends: (column name, platform name in tests/harness/platforms.py).
BACKENDS = [("SVM", "qemu"), ("VT-x", "bochs-icelake")]

# The paths, one row each: key, label, hv's counter in guest/bench.asm (None:
# hv cannot run this loop yet, with the reason), KVM's loop in
# tests/kvm/guest.asm. Adding hv's row for a loop = a guest measuring it and
# its counter (or a function of the log) here.
PATHS = [
    ("cpuid", "CPUID exit", 0, "cpuid"),
    ("hypercall", "unknown hypercall", 1, "hypercall"),
    ("pio-kernel", "port exit, handled in the hypervisor", 2, "pio-kernel"),
    ("pio-user", "port exit to user space and back", (2, "hv has no user space: the same exit as above"),
     "pio-user"),
    ("switch", "vCPU switch, 2 vCPUs on 1 CPU (hv: yield; KVM: user-space ping-pong)", 3,
     "switch-user"),
    ("switch-ipi", "vCPU switch by IPI + HLT", 5, "switch-ipi"),
    ("selfipi", "self-IPI + HLT + EOI", 6, "selfipi"),
    ("timer-tick", "timer tick overhead (TSC-deadline, per tick)", "tick", "timer-tick"),
]
# The timer-tick row is not one counter divided by ITER: guest/bench.asm's
# counters 7-11 (iterations without and with the timer, ticks, W, P) and
# bench_kvm.tick_overhead() give the work lost per tick, like KVM's loop.
TICK = "tick"
TICK_COUNTERS = {"iters_a": 7, "iters_b": 8, "ticks": 9, "window": 10, "period": 11}
# Events per loop iteration where not 1 (as tests/kvm/kvmbench.c counts them):
# one IPI round trip is two vCPU switches.
EVENTS = {"switch-ipi": 2}
NOT_YET = "hv: not yet (no guest interrupts)"

SWITCH_CASES = [  # name, VMs, vCPUs per VM, memory (QEMU only)
    ("exits+switch-2", 1, 2, "2M"),
    ("switch-16", 1, 16, "2M"),
    ("switch-64", 1, 64, "4M"),
    ("switch-256", 4, 64, "4M"),
]

# ---- the policy matrix -----------------------------------------------------
POLICIES = [("never", "never", "trap"), ("switch", "switch", "trap"),
            ("switch-migrate", "switch-migrate", "trap"),
            ("guest+passthrough", "guest", "passthrough"), ("guest+trap", "guest", "trap")]
STEPS = 100


def marg(mode, total_vcpus, steps=STEPS):
    """guest/matrix.asm's `arg`: IBPB mode | migrate, vCPUs in the run, steps."""
    return mode | (total_vcpus << 8) | (steps << 16)


# name, description, pcpus, [(VM name, vCPUs, matrix mode[, pin])]
WORKLOADS = [
    ("no-ibpb", "1 VM, 4 vCPUs on 1 pCPU, the guest never issues IBPB", 1, [("a", 4, 0)]),
    ("ibpb-every", "1 VM, 4 vCPUs on 1 pCPU, guest IBPB on every task switch "
     "(like spectre_v2_user=on)", 1, [("a", 4, 2)]),
    ("ibpb-once", "1 VM, 4 vCPUs on 1 pCPU, one guest IBPB at start (like a prctl opt-in)",
     1, [("a", 4, 1)]),
    ("mixed-4x2", "4 VMs x 2 vCPUs on 2 pCPUs (VM i pinned to pCPU i mod 2): no IBPB, IBPB "
     "once, on every switch, on every 4th", 2,
     [("m0", 2, 0, "0"), ("m1", 2, 1, "1"), ("m2", 2, 2, "0"), ("m3", 2, 3, "1")]),
    ("migrate-4p", "2 VMs x 2 vCPUs on 4 pCPUs; every step each vCPU of VM a moves to the "
     "other of its two pCPUs (vCPU 0: 0 and 1, vCPU 1: 2 and 3) and every 4th step issues "
     "IBPB; VM b only yields, its vCPUs pinned to pCPUs 2 and 3", 4,
     [("a", 2, 3 | 4), ("b", 2, 0, "2,3")]),
]


def kv(log, key, default=None):
    vals = log.kv.get(key)
    if not vals:
        if default is not None:
            return default
        raise KeyError(key)
    return int(vals[-1])


def boot(platform_name, name, text, smp, timeout, extra=()):
    """Build the medium for config text, boot it, return the parsed log."""
    plat = platforms.BY_NAME[platform_name]
    with tempfile.TemporaryDirectory() as d:
        cfg = Path(d) / "hv.cfg"
        cfg.write_text(text)
        medium, _, missing = cli.boot_medium(plat, name, cfg)
    if missing:
        raise SystemExit("bench %s: images missing: %s (run make)" % (name, " ".join(missing)))
    log_dir = plat.log_dir
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / ("%s.log" % name)
    cmd = cli.start_command(plat, name, smp, medium, log_path, "tcg", list(extra))
    if plat.emulator == "qemu":
        run = qemu.run_to_log(cmd, log_path, timeout, ROOT)
    else:
        run = bochs.run_to_log(cmd, log_path, log_dir / ("%s.bochs.log" % name), timeout, ROOT,
                               plat.bad_msrs_allowed)
    log = judge.parse_log(log_path.read_bytes())
    if run.timed_out or run.outcome != "pass":
        raise SystemExit("bench %s on %s: hv outcome %s; log %s" % (
            name, platform_name, "timeout" if run.timed_out else run.outcome, rel(log_path)))
    return log, log_path


# ---- 1. hv's paths ------------------------------------------------------------
def path_config(vms, vcpus, memory, extra):
    lines = list(extra) + ["slice_us = 10000000", "policy = guest", ""]
    for i in range(vms):
        lines += ["[vm b%d]" % i, "image = bench.bin", "vcpus = %d" % vcpus,
                  "memory = %s" % memory, "arg = %d" % (vms * vcpus), ""]
    return "\n".join(lines)


GUEST_FIXED = [5]     # set by the QEMU run (it comes first in BACKENDS)


def config(vms, vcpus, memory):
    """The path benchmark's config, first variant (tests/profile.py uses it)."""
    return path_config(vms, vcpus, memory, VARIANTS[0][1])


def hv_paths(backend, platform_name, variant, extra, timeout):
    """{path key: instructions}, plus switch scaling and memory per vCPU."""
    res = {"switch_scale": []}
    cases = SWITCH_CASES if platform_name == "qemu" else SWITCH_CASES[:1]
    for name, nvms, vcpus, mem in cases:
        tag = "bench-%s-%s" % (name, variant) if variant != "default" else "bench-%s" % name
        log, log_path = boot(platform_name, tag, path_config(nvms, vcpus, mem, extra), 1, timeout,
                             ICOUNT if platform_name == "qemu" else ())
        calib = kv(log, "vm.b0.counter.4")
        # The no-exit loop is 2 x ITER instructions plus the few between the
        # two rdtsc outside it (FIXED, the same in every timed loop of the
        # guest). Under QEMU the TSC unit is known (2^SHIFT), which gives
        # FIXED; in Bochs the same guest code gives the unit.
        if platform_name == "qemu":
            unit = 1 << SHIFT
            fixed = calib // unit - 2 * ITER
            if calib % unit or not 0 <= fixed <= 8:
                raise SystemExit("bench: calibration loop took %d TSC units: not (2 x %d + a few) "
                                 "x %d; is -icount on? log %s" % (calib, ITER, unit, rel(log_path)))
            res["fixed"] = fixed
            GUEST_FIXED[0] = fixed
        else:
            fixed = GUEST_FIXED[0]
            unit = calib / (2.0 * ITER + fixed)
        per_insn = float(unit)
        res["tsc_per_insn"] = per_insn

        def per(delta, count):
            return (delta / per_insn - fixed) / count
        if name.startswith("exits"):
            for key, _, counter, _ in PATHS:
                if isinstance(counter, tuple):       # (counter, why it is the same figure)
                    counter = counter[0]
                if counter == TICK:
                    res.update(hv_tick(log, log_path, per_insn))
                elif counter is not None:
                    res[key] = per(kv(log, "vm.b0.counter.%d" % counter), ITER * EVENTS.get(key, 1))
            res["bytes_per_vcpu"] = kv(log, "hv.bytes_per_vcpu")
            res["loop"] = per(calib, ITER)
        cost = [per(kv(log, "vm.b%d.counter.3" % i), ITER * nvms * vcpus) for i in range(nvms)]
        res["switch_scale"].append((nvms * vcpus, sum(cost) / len(cost)))
        if name.startswith("exits"):
            res["switch"] = cost[0]
    return res


def hv_tick(log, log_path, per_insn):
    """The timer-tick row from guest/bench.asm's counters 7-11: {"timer-tick":
    instructions lost per tick, "tick_*": the raw figures}."""
    got = {k: log.kv.get("vm.b0.counter.%d" % c) for k, c in TICK_COUNTERS.items()}
    missing = [k for k, v in got.items() if not v]
    if missing:
        raise SystemExit("bench: guest/bench.asm reported no timer-tick counters (%s missing: "
                         "no TSC-deadline timer in CPUID.1:ECX[24], or the guest stopped before "
                         "them); log %s" % (", ".join(missing), rel(log_path)))
    f = {k: int(v[-1]) for k, v in got.items()}
    try:
        lost = bench_kvm.tick_overhead(f["iters_a"], f["iters_b"], f["ticks"], f["window"], f["period"])
    except ValueError as e:
        raise SystemExit("bench: hv's timer-tick loop: %s; log %s" % (e, rel(log_path)))
    out = {"timer-tick": lost}
    out.update(("tick_" + k, v) for k, v in f.items())
    # W and P in instructions (the guest scales them by its TSC per instruction)
    out["tick_window_insns"] = f["window"] / per_insn
    out["tick_period_insns"] = f["period"] / per_insn
    return out


# ---- 2b. a Linux boot ----------------------------------------------------------
# Debian's kernel with hv's initramfs (tests/linux/initramfs.py), under QEMU
# -icount: the TSC is 2^SHIFT x the instructions since power-on, hv does not
# offset the guest's TSC, and /init's first command (guest/linux/tsc.c)
# prints it. hv's report splits the VM's run into TSC inside the vendor's
# entry call (svm_enter: the guest, plus svm_enter's own instructions once
# per exit) and TSC in the rest of hv; svm_enter's length per exit comes
# from the profile machinery (tests/profile.py) on the bench guest.
# (name, kernel, vCPUs, workload, extra command line, extra global lines)
LINUX_RUNS = [
    ("pvh-hello", "vmlinux", 1, "hello", "", []),
    ("bzimage-hello", "bzImage", 1, "hello", "", []),
    ("pvh-hello-2vcpu-on", "vmlinux", 2, "hello", "spectre_v2_user=on", ["virtual_ibpb = on"]),
    ("pvh-pingpong-2vcpu-on", "vmlinux", 2, "pingpong", "spectre_v2_user=on hv.n=1000", ["virtual_ibpb = on"]),
]
LINUX_EXITS = ["io", "npf", "wrmsr", "rdmsr", "cpuid", "hlt", "intr", "irq-window", "emulated",
               "exception", "cache", "other"]


def linux_config(kernel, vcpus, workload, cmdline, extra):
    # trace = on: hv splits the VM's run into guest and hv time only when
    # tracing (tsc_split, hv/core.h), so the path figures above pay no RDTSC
    return "\n".join(["policy = guest", "trace = on"] + extra + [
        "", "[vm linux]", "kernel = linux/%s" % kernel, "initrd = linux/initramfs.cpio.gz",
        "cmdline = console=ttyS0 panic=-1 hv.workload=%s %s" % (workload, cmdline),
        # under -icount a virtual second is 7.8 M instructions: a bzImage
        # boot is about 900 s of the VM's run time (docs/platform.md)
        "vcpus = %d" % vcpus, "memory = 128M", "limit_ms = 3600000", ""])


def enter_length(timeout):
    """Instructions of svm_enter per exit (the entry/exit glue the report's
    guest TSC includes), from a profile of the bench guest: the most
    frequent exit path's instructions inside svm_enter, plus the call."""
    import profile as prof
    syms = prof.symbols()
    vmruns = prof.vmrun_offsets()
    size = max(a for a, _ in syms) + 0x1000
    with tempfile.TemporaryDirectory() as d:
        cfg = Path(d) / "hv.cfg"
        cfg.write_text(config(1, 2, "2M"))
        image, _, _ = esp.build("profile", cfg, HV_EFI)
    base = prof.image_base(image, timeout)
    pieces, _ = prof.trace(image, base, size, vmruns, timeout)
    if not pieces:
        raise SystemExit("bench: the profile saw no VMRUN")
    key, _ = pieces.most_common(1)[0]
    # svm_enter's whole extent (its speculation sites carry global labels of
    # their own, so name lookup would split it): nm -S gives start and size
    out = subprocess.run(["nm", "-S", str(prof.HV_SO)], capture_output=True, text=True, check=True).stdout
    m = re.search(r"^([0-9a-f]+) ([0-9a-f]+) T svm_enter$", out, re.M)
    if not m:
        raise SystemExit("bench: no svm_enter with a size in nm -S of %s" % rel(prof.HV_SO))
    lo, n = int(m.group(1), 16), int(m.group(2), 16)
    return sum(1 for off in key if lo <= off < lo + n) + 1


def linux_boot(timeout):
    """{run name: figures} and svm_enter's length, or raises SystemExit."""
    k = enter_length(timeout)
    res = {"enter_len": k}
    for name, kernel, vcpus, workload, cmdline, extra in LINUX_RUNS:
        try:
            res[name] = linux_run(name, kernel, vcpus, workload, cmdline, extra, k, timeout)
        except SystemExit as e:
            res[name] = dict(error=str(e))
    if all("error" in res[n[0]] for n in LINUX_RUNS):
        raise SystemExit("; ".join(res[n[0]]["error"] for n in LINUX_RUNS))
    return res


def linux_run(name, kernel, vcpus, workload, cmdline, extra, k, timeout):
    """One Linux boot's figures (instructions), or raises SystemExit."""
    log, log_path = boot("qemu", "bench-linux-" + name, linux_config(kernel, vcpus, workload, cmdline, extra),
                         1, timeout, ICOUNT)
    unit = 1 << SHIFT
    m = [re.search(r"hv-linux: tsc=(\d+)", l) for l in log.lines]
    m = [x for x in m if x]
    if not m:
        raise SystemExit("bench linux %s: no 'hv-linux: tsc=' line (initramfs without "
                         "guest/linux/tsc.c? make linux-initramfs); log %s" % (name, rel(log_path)))
    if kv(log, "vm.linux.status") != 0:
        raise SystemExit("bench linux %s: the VM did not end with status 0; log %s" % (name, rel(log_path)))
    exits = {r: kv(log, "vm.linux.exits.%s" % r, 0) for r in LINUX_EXITS}
    n_exits = kv(log, "vm.linux.exits.total")
    guest_raw = kv(log, "vm.linux.tsc.guest") / unit
    hv_c = kv(log, "vm.linux.tsc.hv") / unit
    # every exit ran svm_enter once; the report counted it with the guest
    glue = k * n_exits
    r = dict(
        kernel=kernel, vcpus=vcpus, workload=workload, log=rel(log_path),
        to_init=int(m[0].group(1)) / unit,
        before_hv=kv(log, "hv.tsc.start") / unit,
        hv_boot=(kv(log, "vm.linux.tsc.first_entry") - kv(log, "hv.tsc.start")) / unit,
        guest=guest_raw - glue, hv_run=hv_c + glue, hv_c=hv_c, exits=exits, n_exits=n_exits,
        messages=sum(int(x.group(1)) for x in (re.search(r"messages=(\d+) ok", l) for l in log.lines) if x))
    r["share"] = r["hv_run"] / (r["hv_run"] + r["guest"])
    return r


# ---- 3. the matrix ----------------------------------------------------------
def matrix_config(workload, policy, track):
    _, _, pcpus, vms = workload
    total = sum(v[1] for v in vms)
    lines = ["policy = %s" % policy, "track = %s" % track, "trace = on", "virtual_ibpb = on",
             "pcpus = %d" % pcpus, "slice_us = 10000000", ""]
    for name, vcpus, mode, *pin in vms:
        lines += ["[vm %s]" % name, "image = matrix.bin", "vcpus = %d" % vcpus,
                  "arg = %d" % marg(mode, total)]
        if pin:
            lines.append("pin = %s" % pin[0])
        lines.append("")
    return "\n".join(lines)


def run_oracle(name, trace_path):
    if not Path(ORACLE).exists():
        return None
    with open(trace_path, "rb") as f:
        out = subprocess.run([str(ORACLE), "--scenario", name], stdin=f, capture_output=True,
                             text=True, timeout=120).stdout
    m = re.search(r"entries=(\d+) barriers=(\d+) required=(\d+) violations=(\d+)", out)
    if not m:
        return dict(error=out.strip()[-200:])
    return dict(zip(("entries", "barriers", "required", "violations"), map(int, m.groups())))


def matrix_cell(workload, pol, timeout):
    wname, _, pcpus, vms = workload
    label, policy, track = pol
    name = "bench-matrix-%s-%s" % (wname, label.replace("+", "-"))
    log, log_path = boot("qemu", name, matrix_config(workload, policy, track), pcpus, timeout, ICOUNT)
    trace_path = LOG_DIR / ("%s.trace" % name)
    oracle_mod.write_trace(trace_path, log.trace)
    orc = run_oracle(name, trace_path) or {}
    n = kv(log, "run.pcpus")

    def total(suffix):
        return sum(kv(log, "pcpu.%d.%s" % (p, suffix), 0) for p in range(n))
    per_unit = [kv(log, "vm.%s.counter.0" % v[0]) for v in vms]
    cell = dict(workload=wname, policy=label, log=rel(log_path), trace=trace_path,
                switches=total("switches"), entries=total("entries"),
                issued=total("barriers.issued"), intra=total("barriers.issued.intra-vm"),
                cross=total("barriers.issued.cross-vm"), migr=total("barriers.issued.migration"),
                pol=total("barriers.issued.policy"), holes=total("barriers.skipped.hole"),
                pred_cmd=total("pred_cmd_writes"), migrations=total("migrations_in"),
                per_unit=sum(per_unit) / len(per_unit), oracle=orc)
    return cell


# ---- report -----------------------------------------------------------------
def fmt(x, nd=0):
    if x is None:
        return "–"
    return ("{:,.%df}" % nd).format(x)


def machine():
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ver = lambda cmd: (subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines() or ["?"])[0]
    return ["host: %s, %d CPUs, %s, Linux %s" % (cpu, os.cpu_count() or 0, host_platform.machine(),
                                                host_platform.release()),
            "QEMU: %s" % ver(["qemu-system-x86_64", "--version"]),
            "Bochs: %s" % (ver(["dpkg-query", "-W", "-f", "${Version}", "bochs"]) or "?"),
            "hv commit: %s" % ver(["git", "-C", str(ROOT), "describe", "--always", "--dirty"])]


def charts(out_dir, paths_res, kvm, cells):
    try:
        import matplotlib
    except ImportError:
        return [], "python3-matplotlib missing: no charts"
    import matplotlib  # noqa: F811
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    made = []

    def save(fig, stem):
        for ext in ("png", "svg"):
            fig.savefig(out_dir / ("%s.%s" % (stem, ext)), dpi=110,
                        metadata={"Software": None} if ext == "png" else {"Date": None})
        plt.close(fig)
        made.append(stem)

    # hv vs KVM per path (log scale: a factor of ten apart)
    rows = [(label, key, kl) for key, label, c, kl in PATHS]
    cols = [("%s %s" % (b, v), paths_res.get((b, v), {})) for b, _ in BACKENDS for v, _ in VARIANTS]
    fig, ax = plt.subplots(figsize=(10, 4.8))
    n = len(cols) + 1
    w = 0.8 / n
    for j, (cname, r) in enumerate(cols):
        ys = [r.get(key) if c is not None else None for (label, key, kl), (_, _, c, _) in zip(rows, PATHS)]
        xs = [i + j * w for i, y in enumerate(ys) if y]
        ax.bar(xs, [y for y in ys if y], w, label="hv %s" % cname)
    if kvm:
        ys = [kvm["loops"].get(kl, {}).get("per_event") for _, _, kl in rows]
        ax.bar([i + (n - 1) * w for i in range(len(rows))], ys, w, label="KVM (%s)" % kvm["info"]["kernel"],
               color="gray")
    ax.set_yscale("log")
    ax.set_xticks([i + 0.4 - w / 2 for i in range(len(rows))])
    ax.set_xticklabels([r[1] for r in rows], rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("instructions per event (log scale)")
    ax.set_title("hv vs KVM, QEMU TCG -icount shift=%d (VT-x: Bochs icelake); "
                 "missing bar = not measurable yet" % SHIFT, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    save(fig, "paths")

    if cells:
        wl = [w[0] for w in WORKLOADS]
        pols = [p[0] for p in POLICIES]
        for stem, ylabel, val in (
                ("barriers", "barriers per 1,000 vCPU entries",
                 lambda c: 1000.0 * c["issued"] / c["entries"] if c["entries"] else 0),
                ("instructions", "instructions per unit of guest work (one guest task switch)",
                 lambda c: c["per_unit"])):
            fig, ax = plt.subplots(figsize=(10, 4.5))
            w = 0.8 / len(pols)
            for j, p in enumerate(pols):
                ys = [next((val(c) for c in cells if c["workload"] == x and c["policy"] == p), 0) for x in wl]
                ax.bar([i + j * w for i in range(len(wl))], ys, w, label=p)
            ax.set_xticks([i + 0.4 - w / 2 for i in range(len(wl))])
            ax.set_xticklabels(wl)
            ax.set_ylabel(ylabel)
            ax.set_title("%s by policy and workload (hv, QEMU TCG, -icount shift=%d)" % (ylabel, SHIFT),
                         fontsize=9)
            ax.legend(fontsize=8)
            fig.tight_layout()
            save(fig, stem)
    return made, None


def linux_report(linux, linux_err, kvm):
    """The report's Linux section (lines)."""
    L = ["", "## A Linux boot under hv", ""]
    if not linux:
        return L + ["not measured: %s" % linux_err]
    k = linux["enter_len"]
    L += ["Debian's kernel and hv's initramfs (tests/linux/initramfs.py), QEMU TCG `-icount shift=%d`, "
          "one pCPU, policy guest. Instructions (millions): *to /init* = the TSC that /init's first "
          "command reads / 2^%d, from power-on; *before hv* = firmware and hv's UEFI loader; *hv boot* "
          "= hv's core start to the VM's first entry (copying kernel and initrd included); *guest* and "
          "*hv* = the VM's whole run (first entry to power-off) split by hv's TSC counters, with "
          "svm_enter's %d instructions per exit (the entry/exit glue, from the profile of the bench "
          "guest) moved from the guest's side to hv's." % (SHIFT, SHIFT, k), "",
          "| run | vCPUs | to /init | before hv | hv boot | guest | hv | hv share | exits | exits per reason |",
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for name, _, _, _, _, _ in LINUX_RUNS:
        r = linux[name]
        if "error" in r:
            L.append("| %s | – | not measured: %s |||||||| " % (name, r["error"]))
            continue
        ex = ", ".join("%s %d" % (x, n) for x, n in sorted(r["exits"].items(), key=lambda t: -t[1]) if n)
        L.append("| %s | %d | %.1f | %.1f | %.1f | %.1f | %.2f | %.2f%% | %d | %s |" % (
            name, r["vcpus"], r["to_init"] / 1e6, r["before_hv"] / 1e6, r["hv_boot"] / 1e6, r["guest"] / 1e6,
            r["hv_run"] / 1e6, 100 * r["share"], r["n_exits"], ex))
    a, b = linux.get("pvh-hello-2vcpu-on"), linux.get("pvh-pingpong-2vcpu-on")
    if a and b and "error" not in a and "error" not in b:
        msgs = b["messages"] or 1
        diff = {x: b["exits"][x] - a["exits"][x] for x in LINUX_EXITS}
        L += ["", "The pingpong run minus the hello run of the same setup (%d messages): exits %+d (%s), "
              "hv %+.1f M and guest %+.1f M instructions. Two boots differ by tens of millions of "
              "instructions (to /init above), so this only roughly indicates the pingpong's exits (about %.1f per message) "
              "rather than measuring its instructions." % (
                  b["messages"], b["n_exits"] - a["n_exits"],
                  ", ".join("%s %+d" % (x, n) for x, n in sorted(diff.items(), key=lambda t: -t[1]) if n),
                  (b["hv_run"] - a["hv_run"]) / 1e6, (b["guest"] - a["guest"]) / 1e6,
                  (b["n_exits"] - a["n_exits"]) / msgs)]
    r = linux["pvh-hello"]
    L += ["", "KVM on the same kernel and initramfs: not measured. tests/kvm/kvmbench.c runs a real-mode "
          "program as its L2 guest; booting Linux there needs a loader in the runner (ELF segments, "
          "hvm_start_info or boot_params, ACPI or MP tables, a user-space UART for the console), which "
          "it does not have."]
    if kvm and "cpuid" in kvm["loops"] and "pio-kernel" in kvm["loops"] and "error" not in r:
        lo = min(kvm["loops"][x]["per_event"] for x in ("cpuid", "pio-kernel"))
        L += ["For scale only (not a measurement of KVM booting Linux): the PVH hello's %d exits at KVM's "
              "cheapest measured exit (%.0f instructions, everything included) would be %.0f M "
              "instructions; hv spent %.1f M on them (%.1f%%)." % (
                  r["n_exits"], lo, r["n_exits"] * lo / 1e6, r["hv_run"] / 1e6,
                  100.0 * r["hv_run"] / (r["n_exits"] * lo))]
    return L


def tick_report(paths_res, cols, kvm):
    """The lines under the paths table that say how the timer-tick row came out."""
    L = ["", "Timer tick overhead: work lost per tick, by difference (docs/benchmarks.md). Two windows "
         "of W TSC units run the same %d-instruction loop (rdtsc; sub; inc; cmp; jb) counting iterations, "
         "A without a timer and B with the x2APIC timer in TSC-deadline mode ticking every P (the handler "
         "counts, writes the next absolute deadline, EOIs: 20 instructions in both guests); per tick = "
         "(A - B) x %d / ticks. Whatever else takes time in both windows alike (KVM's L1 tick) cancels."
         % (bench_kvm.TICK_LOOP_INSNS, bench_kvm.TICK_LOOP_INSNS), ""]
    rows = []
    for b, v in cols:
        r = paths_res.get((b, v))
        if r and "tick_iters_a" in r:
            rows.append(("hv %s (%s)" % (b, v), r["tick_window_insns"], r["tick_period_insns"],
                         r["tick_iters_a"], r["tick_iters_b"], r["tick_ticks"], r["timer-tick"], "–"))
    k = kvm["loops"].get("timer-tick") if kvm else None
    if k:
        t = k["tick"]
        unit = float(1 << kvm["info"]["shift"])
        rows.append(("KVM (last repetition; per tick: mean of %d, spread %.1f)" % (len(k["reps"]), k["spread"]),
                     t["window"] / unit, t["period"] / unit, t["iters_a"], t["iters_b"], t["ticks"],
                     k["per_event"], "%.2f" % k["exits"]))
    if not rows:
        return L[:1] + ["Timer tick overhead: not measured."]
    L += ["| run | W (instructions) | P | iterations A | iterations B | ticks | per tick | exits per tick |",
          "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, w, p, a, b_, t, per, ex in rows:
        L.append("| %s | %s | %s | %s | %s | %d | %s | %s |" % (name, fmt(w), fmt(p), fmt(a), fmt(b_), t,
                                                               fmt(per, 1), ex))
    if len({(round(r[1]), round(r[2])) for r in rows}) > 1:
        L += ["", "**W and P differ between the runs above** (TICK_W_INSNS / TICK_P_INSNS in "
              "guest/bench.asm and tests/kvm/guest.asm must match): the rows are not comparable."]
    return L


def report(out_dir, paths_res, kvm, kvm_err, cells, made, chart_err, seconds, checks, repeat,
           linux=None, linux_err="not run"):
    L = ["# hv benchmark report", "",
         "Written by `make bench` (tests/bench.py). Every figure is a count of emulated",
         "instructions, deterministic run to run; docs/benchmarks.md explains the method.", "",
         "## Machine", ""]
    L += ["- " + m for m in machine()]
    L += ["- `make bench` took %.0f s" % seconds, ""]
    L += ["## Paths: hv beside KVM", ""]
    cols = [(b, v) for b, _ in BACKENDS for v, _ in VARIANTS]
    head = ["path"] + ["hv %s%s" % (b, "" if v == "default" else " (%s)" % v) for b, v in cols] + \
        ["KVM", "hv SVM / KVM", "KVM exits per event"]
    L.append("| " + " | ".join(head) + " |")
    L.append("|" + "---|" + "---:|" * (len(head) - 1))
    base = cols[0]
    for key, label, counter, kl in PATHS:
        cells_ = []
        for c in cols:
            r = paths_res.get(c)
            if counter is None:
                cells_.append(NOT_YET)
            elif r is None:
                cells_.append("not run")
            else:
                cells_.append(fmt(r.get(key), 1) + (" ¹" if isinstance(counter, tuple) else ""))
        k = kvm["loops"].get(kl) if kvm else None
        kv_ = fmt(k["per_event"], 1) if k else ("not measured" if not kvm else "–")
        hv0 = paths_res.get(base, {}).get(key) if counter is not None else None
        ratio = "%.1f%%" % (100.0 * hv0 / k["per_event"]) if (k and hv0) else "–"
        ex = "%.2f" % k["exits"] if k else "–"
        L.append("| " + " | ".join([label] + cells_ + [kv_, ratio, ex]) + " |")
    L.append("")
    L.append("¹ hv has no user space: a port exit is always handled inside hv, so the same figure "
             "stands against both of KVM's port paths.")
    L += tick_report(paths_res, cols, kvm)
    r0 = paths_res.get(base, {})
    if r0:
        L.append("")
        L.append("Switch cost by number of vCPUs on one pCPU (hv SVM): " + ", ".join(
            "%d vCPUs %s" % (n, fmt(c, 1)) for n, c in r0["switch_scale"]) +
            ". hv memory per vCPU: %s bytes." % fmt(r0.get("bytes_per_vcpu")))
        L.append("Calibration: the guest's no-exit loop came out at %s instructions per iteration "
                 "(SVM, QEMU)%s." % (fmt(r0.get("loop"), 3), "".join(
                     "; Bochs %s: TSC %s per instruction" % (v, fmt(paths_res[(b, v)]["tsc_per_insn"], 3))
                     for b, v in cols if b != "SVM" and (b, v) in paths_res)))
    if kvm:
        i = kvm["info"]
        L += ["", "KVM: %s in QEMU TCG `-cpu max -icount shift=%d,sleep=off`, modules %s; %d timed "
              "repetitions of %d after a warm-up; calibration loop %.3f per iteration; its log "
              "`%s`." % (i["kernel"], i["shift"], ", ".join(i["modules"]), i["reps"] - 1, i["n"],
                         kvm["loops"]["calib"]["per_event"], rel(i["log"]))]
        L += ["", "| KVM loop | per event | spread | exits | emulated insns | io exits | halt exits |",
              "|---|---:|---:|---:|---:|---:|---:|"]
        for name, x in kvm["loops"].items():
            L.append("| %s | %.1f | %.2f | %.2f | %.2f | %.2f | %.2f |" % (
                name, x["per_event"], x["spread"], x["exits"], x["emul"], x["io"], x["halt"]))
        L += ["", "Per event, from KVM's debugfs counters over the timed repetitions."]
        if i.get("hung"):
            L += ["", "Repetitions that did not end within the runner's time limit (left out; "
                  "the loop's later repetitions were not run):", ""]
            L += ["- `%s`" % h for h in i["hung"]]
        L += ["", "```"] + i["lines"] + ["```"]
    else:
        L += ["", "KVM: not measured: %s" % kvm_err]
    if "paths" in made:
        L += ["", "![hv vs KVM](paths.png)"]
    L += linux_report(linux, linux_err, kvm)
    L += ["", "## The policy matrix", ""]
    if cells:
        L.append("Workloads (guest/matrix.asm, %d steps per vCPU; trace on; virtual IBPB: QEMU TCG "
                 "has none, so barriers are recorded, not executed):" % STEPS)
        L.append("")
        for w in WORKLOADS:
            L.append("- **%s**: %s" % (w[0], w[1]))
        L += ["", "| workload | policy | entries | switches | barriers | intra-VM | cross-VM | migration | "
              "policy-only | holes | oracle minimum | violations | PRED_CMD exits | instr. per unit |",
              "|---|---|" + "---:|" * 12]
        for c in cells:
            o = c["oracle"]
            L.append("| %s | %s | %d | %d | %d | %d | %d | %d | %d | %d | %s | %s | %d | %s |" % (
                c["workload"], c["policy"], c["entries"], c["switches"], c["issued"], c["intra"], c["cross"],
                c["migr"], c["pol"], c["holes"], o.get("required", "–"), o.get("violations", "–"),
                c["pred_cmd"], fmt(c["per_unit"])))
        L += ["", "entries = vCPU dispatches; switches = those where the pCPU last ran another vCPU "
              "(a vCPU coming back to a pCPU it left is an entry, not a switch); "
              "barriers = issued by hv; intra-VM / cross-VM / migration = issued and needed by "
              "the contract for that reason; policy-only = issued only because the policy says so; "
              "holes = needed and skipped; oracle minimum / violations = build/oracle on the trace; "
              "instr. per unit = instructions (hv and all guests, all pCPUs) per step of guest work.",
              "", "Checks (issue 13's acceptance):", ""]
        L += ["- %s: %s" % ("PASS" if ok else "FAIL", what) for ok, what in checks]
        for stem, alt in (("barriers", "barriers per 1,000 entries"), ("instructions", "instructions per unit")):
            if stem in made:
                L += ["", "![%s](%s.png)" % (alt, stem)]
    else:
        L.append("not run (--no-matrix)")
    if chart_err:
        L += ["", "Charts: " + chart_err]
    L += ["", "## Run to run", ""] + repeat
    tl = [p for p in sorted(out_dir.glob("timeline-*.png"))]
    if tl:
        L += ["", "## Timelines", ""]
        for p in tl:
            L += ["![%s](%s)" % (p.stem, p.name), ""]
    (out_dir / "report.md").write_text("\n".join(L) + "\n")
    return "\n".join(L)


def counts(paths_res, kvm, cells):
    """Every measured count, flat, for comparing two runs."""
    out = {}
    for (b, v), r in paths_res.items():
        for k, x in r.items():
            if isinstance(x, (int, float)):
                out["hv %s %s %s" % (b, v, k)] = round(x, 4)
        for n, c in r.get("switch_scale", []):
            out["hv %s %s switch-%d" % (b, v, n)] = round(c, 4)
    if kvm:
        for name, x in kvm["loops"].items():
            out["kvm %s" % name] = round(x["per_event"], 4)
    for c in cells:
        for k in ("entries", "switches", "issued", "holes", "pred_cmd", "per_unit"):
            out["matrix %s %s %s" % (c["workload"], c["policy"], k)] = c[k]
        for k, x in c["oracle"].items():
            out["matrix %s %s oracle-%s" % (c["workload"], c["policy"], k)] = x
    return out


def compare_runs(path, now):
    """Lines saying how this run's counts compare with the previous run's
    (path, if it exists); then path holds this run's."""
    lines = []
    if path.exists():
        try:
            before = json.loads(path.read_text())
        except ValueError:
            before = {}
        same = [k for k in now if k in before and before[k] == now[k]]
        diff = [k for k in now if k in before and before[k] != now[k]]
        lines.append("Compared with the previous `make bench` (its counts were in `%s`): %d counts "
                     "identical, %d different, %d new." % (rel(path), len(same), len(diff),
                                                           len([k for k in now if k not in before])))
        multi = {w[0] for w in WORKLOADS if w[2] > 1}
        for k in diff:
            why = " (a run on several pCPUs)" if any(" %s " % m in k for m in multi) else ""
            lines.append("- %s: %s before, %s now%s" % (k, before[k], now[k], why))
    else:
        lines.append("No previous run's counts to compare with (`%s`)." % rel(path))
    path.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
    return lines


def acceptance(cells):
    get = {(c["workload"], c["policy"]): c for c in cells}
    checks = []
    c = get.get(("no-ibpb", "guest+trap"))
    if c:
        checks.append((c["intra"] == 0, "no-ibpb under guest+trap: %d intra-VM barriers (want 0)" % c["intra"]))
    c = get.get(("no-ibpb", "guest+passthrough"))
    if c:
        checks.append((c["intra"] == 0, "no-ibpb under guest+passthrough: %d intra-VM barriers (want 0)"
                       % c["intra"]))
    c = get.get(("no-ibpb", "switch"))
    if c:
        checks.append((c["issued"] == c["switches"], "no-ibpb under switch: %d barriers for %d vCPU "
                       "changes (want one each)" % (c["issued"], c["switches"])))
    for c in cells:
        o = c["oracle"]
        if "required" not in o:
            checks.append((False, "%s/%s: oracle gave no counts: %s" % (c["workload"], c["policy"],
                                                                        o.get("error", "no oracle"))))
            continue
        if c["policy"] == "guest+trap":
            checks.append((c["issued"] == o["required"] and o["violations"] == 0,
                           "%s under guest+trap: %d barriers, oracle minimum %d, %d violations" % (
                               c["workload"], c["issued"], o["required"], o["violations"])))
        if c["policy"] in ("never", "switch") and o["violations"]:
            checks.append((c["holes"] == o["violations"] or c["policy"] == "never",
                           "%s under %s: the oracle finds %d violations (hv's own count of holes: %d)" % (
                               c["workload"], c["policy"], o["violations"], c["holes"])))
    return checks


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out-dir", default=str(OUT_DIR))
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--no-kvm", action="store_true")
    ap.add_argument("--no-bochs", action="store_true")
    ap.add_argument("--no-matrix", action="store_true")
    ap.add_argument("--no-linux", action="store_true", help="skip the Linux boot (section 2b)")
    ap.add_argument("--only-linux", action="store_true", help="only the Linux boot (no paths, KVM, matrix)")
    args = ap.parse_args()
    if args.only_linux:
        args.no_kvm = args.no_bochs = args.no_matrix = True
    # first, before any work: this may re-run the script under the system's
    # python3 (the one that sees python3-matplotlib)
    sys.path.insert(0, str(ROOT / "tests"))
    import timeline
    have_mpl = timeline.ensure_matplotlib()
    if not have_mpl:
        print("bench: python3-matplotlib missing: no charts or timelines (make deps installs it)")
    def on_term(signum, frame):
        CHILDREN.stop_all()          # hv's emulators
        if "bench_kvm" in sys.modules:
            for p in list(sys.modules["bench_kvm"].RUNNING):
                p.kill()
        raise SystemExit("bench: stopped by signal %d" % signum)
    signal.signal(signal.SIGTERM, on_term)
    start = time.time()
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    acc = accel.choose()
    if acc.name != "tcg":
        print("bench: icount needs TCG; forcing it")

    # KVM in a thread: one QEMU of its own, beside hv's runs (2 CPUs)
    kvm_box = {}

    def kvm_job():
        try:
            sys.path.insert(0, str(ROOT / "tests" / "kvm"))
            import bench_kvm
            kvm_box["res"] = bench_kvm.measure(shift=SHIFT, log_path=out_dir / ("kvm-shift%d.log" % SHIFT))
        except (RuntimeError, SystemExit, subprocess.CalledProcessError, OSError) as e:
            kvm_box["err"] = str(e)
    kt = None
    if not args.no_kvm:
        kt = threading.Thread(target=kvm_job, daemon=True)
        kt.start()
        print("bench: KVM measurement started (Debian kernel in QEMU; log %s)" %
              rel(out_dir / ("kvm-shift%d.log" % SHIFT)))

    paths_res = {}
    for backend, plat in BACKENDS:
        if args.only_linux:
            break
        if plat != "qemu" and args.no_bochs:
            continue
        if plat != "qemu":
            blocker = cli.preflight(platforms.BY_NAME[plat])
            if blocker:
                print("bench: %s skipped: %s" % (backend, blocker))
                continue
        for variant, extra in VARIANTS:
            t = time.time()
            paths_res[(backend, variant)] = hv_paths(backend, plat, variant, extra, args.timeout)
            print("bench: hv %s %s paths: %s (%.0f s)" % (backend, variant, ", ".join(
                "%s %.1f" % (k, v) for k, v in paths_res[(backend, variant)].items()
                if isinstance(v, float) and k not in ("tsc_per_insn",)), time.time() - t))

    linux, linux_err = None, "--no-linux"
    if not args.no_linux:
        t = time.time()
        try:
            linux = linux_boot(args.timeout)
            for name, _, _, _, _, _ in LINUX_RUNS:
                r = linux[name]
                if "error" in r:
                    print("bench: linux %-22s not measured: %s" % (name, r["error"]))
                    continue
                print("bench: linux %-22s to /init %.0f M instructions; VM run: guest %.0f M, hv %.0f M "
                      "(%.2f%%), %d exits" % (name, r["to_init"] / 1e6, r["guest"] / 1e6, r["hv_run"] / 1e6,
                                             100 * r["share"], r["n_exits"]))
        except SystemExit as e:
            linux_err = str(e)
            print("bench: Linux boot not measured: %s" % linux_err)
        print("bench: Linux boot section %.0f s" % (time.time() - t))
    if args.only_linux:
        text = "\n".join(linux_report(linux, linux_err, None)[1:]) + "\n"
        (out_dir / "linux.md").write_text(text)
        print(text)
        print("bench: %s" % rel(out_dir / "linux.md"))
        return 0 if linux else 1

    cells = []
    if not args.no_matrix:
        for w in WORKLOADS:
            for p in POLICIES:
                c = matrix_cell(w, p, args.timeout)
                cells.append(c)
                print("bench: matrix %-11s %-17s switches %4d barriers %4d oracle min %s viol %s "
                      "PRED_CMD %3d per unit %d" % (c["workload"], c["policy"], c["switches"], c["issued"],
                                                    c["oracle"].get("required"), c["oracle"].get("violations"),
                                                    c["pred_cmd"], c["per_unit"]))
        # the 2-pCPU migration case (tests/configs/migrate-guest-trap.cfg's VM):
        # its timeline shows the migration-hole barrier, and under `switch` the hole
        if have_mpl:
            import compare
            cfg = (ROOT / "tests" / "configs" / "migrate-guest-trap.cfg").read_text()
            for label, policy, track in (("guest-trap", "guest", "trap"), ("switch", "switch", "trap")):
                name = "bench-timeline-migrate-2p-%s" % label
                log, _ = boot("qemu", name, compare.variant(cfg, policy, track), 2, args.timeout, ICOUNT)
                timeline.draw("\n".join(log.trace), out_dir / ("timeline-migrate-2p-%s" % label),
                              "2 pCPUs, one vCPU: pCPU 0 -> 1 (IBPB there) -> 0; policy %s, track %s"
                              % (policy, track))
        # timelines of the multi-pCPU matrix cells under guest+trap and under switch
        if have_mpl:
            for c in cells:
                if c["workload"] in ("mixed-4x2", "migrate-4p") and c["policy"] in ("guest+trap", "switch"):
                    timeline.draw(Path(c["trace"]).read_text(), out_dir / ("timeline-%s-%s" % (
                        c["workload"], c["policy"].replace("+", "-"))))

    if kt:
        kt.join()
    kvm = kvm_box.get("res")
    kvm_err = kvm_box.get("err", "--no-kvm")
    if kvm_err and not kvm:
        print("bench: KVM not measured: %s" % kvm_err)
    made, chart_err = charts(out_dir, paths_res, kvm, cells)
    checks = acceptance(cells)
    repeat = compare_runs(out_dir / "counts.json", counts(paths_res, kvm, cells))
    text = report(out_dir, paths_res, kvm, kvm_err, cells, made, chart_err, time.time() - start, checks,
                  repeat, linux, linux_err)
    print(text)
    print("bench: report %s (%.0f s)" % (rel(out_dir / "report.md"), time.time() - start))
    return 0 if all(ok for ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
