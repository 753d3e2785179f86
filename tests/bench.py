#!/usr/bin/env python3
"""hv's benchmark: path lengths of the exit and switch paths, in instructions.

    tests/bench.py [--out FILE]

Boots guest/bench.asm under QEMU with `-icount shift=7,sleep=off`, where the
TSC advances exactly 128 per emulated instruction, so the guest's rdtsc
deltas / 128 are instruction counts: deterministic, the same on every
machine, and comparable with the KVM figures DESIGN.md gives for the same
measurement (Linux 6.1 KVM under QEMU TCG, one CPU). The switch cost is
measured with 2, 16, 64 and 256 vCPUs on one pCPU, to show it stays flat.
Memory: hv's bytes per vCPU from the report. Writes a table to stdout and to
--out (default build/bench.txt); docs/benchmarks.md records the numbers.
"""

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import accel, esp, judge, qemu            # noqa: E402
from harness.common import BUILD, HV_EFI, LOG_DIR, ROOT, rel  # noqa: E402

ICOUNT = ["-icount", "shift=7,sleep=off"]
# KVM (Linux 6.1, QEMU TCG, -icount shift=0), DESIGN.md section 5
KVM = {"cpuid": 2650, "hypercall": 2800, "io": 3000, "switch": 6650}


def config(vms, vcpus, memory, mitigations="auto"):
    lines = ["slice_us = 10000000", "policy = guest", "mitigations = %s" % mitigations, ""]
    for i in range(vms):
        lines += ["[vm b%d]" % i, "image = bench.bin", "vcpus = %d" % vcpus,
                  "memory = %s" % memory, "arg = %d" % (vms * vcpus), ""]
    return "\n".join(lines)


CASES = [  # name, VMs, vCPUs per VM, memory
    ("exits+switch-2", 1, 2, "2M"),
    ("switch-16", 1, 16, "2M"),
    ("switch-64", 1, 64, "4M"),
    ("switch-256", 4, 64, "4M"),
]


def run_case(acc, name, text, timeout):
    with tempfile.TemporaryDirectory() as d:
        cfg = Path(d) / "hv.cfg"
        cfg.write_text(text)
        image, _, _ = esp.build("bench-" + name, cfg, HV_EFI)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log_path = LOG_DIR / ("bench-%s.log" % name)
    run = qemu.run_to_log(qemu.command(image, 1, acc.name, ICOUNT), log_path, timeout, ROOT)
    log = judge.parse_log(log_path.read_bytes())
    if run.timed_out or run.outcome != "pass":
        raise SystemExit("bench %s: hv outcome %s; log %s" % (
            name, "timeout" if run.timed_out else run.outcome, rel(log_path)))
    return log


def kv(log, key):
    return int(log.kv[key][-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(BUILD / "bench.txt"))
    ap.add_argument("--timeout", type=float, default=300)
    args = ap.parse_args()
    acc = accel.choose()
    if acc.name != "tcg":
        print("bench: icount needs TCG; forcing it")
        acc = accel.Accel("tcg", "forced for -icount")
    rows, switch = [], []
    for name, nvms, vcpus, mem in CASES:
        log = run_case(acc, name, config(nvms, vcpus, mem), args.timeout)
        if name.startswith("exits"):
            loop = kv(log, "vm.b0.counter.4")
            for label, key, ref in (("CPUID exit round trip", 0, "cpuid"),
                                    ("unknown hypercall round trip", 1, "hypercall"),
                                    ("port I/O exit round trip", 2, "io")):
                v = kv(log, "vm.b0.counter.%d" % key)
                rows.append((label, v, KVM[ref]))
            per_vcpu = kv(log, "hv.bytes_per_vcpu")
        cost = [kv(log, "vm.b%d.counter.3" % i) for i in range(nvms)]
        switch.append((nvms * vcpus, sum(cost) // len(cost)))
    out = []
    out.append("hv benchmark (QEMU TCG, -icount shift=7: instructions per operation, guest's view)")
    out.append("%-34s %8s %8s %7s" % ("operation", "hv", "KVM", "hv/KVM"))
    for label, v, ref in rows:
        out.append("%-34s %8d %8d %6.1f%%" % (label, v, ref, 100.0 * v / ref))
    for n, c in switch:
        out.append("%-34s %8d %8d %6.1f%%" % ("vCPU switch, %d vCPUs on 1 pCPU" % n, c, KVM["switch"],
                                              100.0 * c / KVM["switch"]))
    out.append("%-34s %8d %8s" % ("hv memory per vCPU (bytes)", per_vcpu, "-"))
    # The same exit paths with hv's speculation measures off (`mitigations = off`,
    # docs/security.md); the rows above are `auto`, what hv picks on this CPU.
    log = run_case(acc, "exits+switch-2-off", config(1, 2, "2M", "off"), args.timeout)
    out.append("with mitigations = off (the rows above: auto):")
    for label, key, ref in (("CPUID exit round trip", 0, "cpuid"),
                            ("unknown hypercall round trip", 1, "hypercall"),
                            ("port I/O exit round trip", 2, "io"),
                            ("vCPU switch, 2 vCPUs on 1 pCPU", 3, "switch")):
        v = kv(log, "vm.b0.counter.%d" % key)
        out.append("%-34s %8d %8d %6.1f%%" % (label, v, KVM[ref], 100.0 * v / KVM[ref]))
    out.append("(guest timing-loop overhead per iteration: %d instructions, included above)" % loop)
    text = "\n".join(out)
    print(text)
    Path(args.out).write_text(text + "\n")
    print("written to %s" % rel(Path(args.out)))


if __name__ == "__main__":
    main()
