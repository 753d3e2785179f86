#!/usr/bin/env python3
"""Run one hv config under several barrier policies and compare the counts.

    tests/compare.py CONFIG [--policies guest,switch,...] [--tracks trap,passthrough]
                     [--qemu-args "-icount shift=7,sleep=off"] [--spectre-v2-user on,prctl,off]
                     [--jobs N] [--markdown FILE]
    tests/compare.py --linux-matrix [--workloads ...] [--spectre-v2-user ...] [--jobs N]

For each combination the config is copied with its global `policy` and
`track` lines replaced (or added at the top), booted in QEMU exactly as the
test harness boots scenarios (trace on), and the report's `kv` lines are
collected; the oracle judges each trace. The table shows, per run: entries,
switches, barriers issued by reason, barriers skipped by reason, the
oracle's required minimum and violations, guest PRED_CMD writes that
exited, and for a Linux VM (a `kernel =` key) also the guest's work (the
messages its pingpong workload reports on the console), whether the VM
opted in, and its exits by reason. --qemu-args adds QEMU options (as a
scenario's qemu_args): with `-icount shift=7,sleep=off` a timer-driven
guest's counts do not depend on the host's load.

Tracking modes on a CPU without IBPB (QEMU TCG): `trap` runs with
`virtual_ibpb = on` (hv offers a recorded IBPB and every guest write exits),
`passthrough` with `force_wrmsr = on` (hv offers IBPB and lets writes go to
the emulator, which ignores them, after each vCPU's first). Where a config
sets neither, it runs as written.

--spectre-v2-user S[,S...] runs the config once per value of Linux's
`spectre_v2_user=` (the Linux VMs' command lines are rewritten; `default`
leaves the option out: the kernel's own default).

--linux-matrix runs tests/configs/linux-table-WORKLOAD.cfg for every
workload (hello, pingpong, pingpong-same-mm, prctl) x spectre_v2_user
setting x policy x track and writes build/compare/linux-table.md (one
table per workload) and build/compare/linux-table.json (`make linux-table`;
docs/barriers.md explains the table). Logs: build/logs/compare-*.log.
"""

import argparse
import concurrent.futures
import json
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import accel, esp, judge, oracle, qemu          # noqa: E402
from harness.common import BUILD, HV_EFI, LOG_DIR, ORACLE, ROOT, rel  # noqa: E402

POLICIES = ["never", "switch", "switch-migrate", "guest"]
GLOBAL_KEY = re.compile(r"^\s*(policy|track|trace)\s*=")
IBPB_KEY = re.compile(r"^\s*(virtual_ibpb|force_wrmsr)\s*=")
PCPUS_KEY = re.compile(r"^\s*pcpus\s*=\s*(\d+)")
LINUX_WORKLOADS = ["hello", "pingpong", "pingpong-same-mm", "prctl"]
# `default` = no spectre_v2_user on the command line (Debian's kernel then
# picks its own mode: seccomp, which behaves as prctl for these programs).
SPECTRE_SETTINGS = ["on", "prctl", "off"]
LINUX_MATRIX_SETTINGS = ["default"] + SPECTRE_SETTINGS
# The exit reasons hv counts per VM (hv/report.c), in the order shown.
EXIT_REASONS = ["io", "npf", "wrmsr", "rdmsr", "cpuid", "hlt", "intr", "irq-window",
                "emulated", "hypercall", "exception", "cache", "xsetbv", "slice",
                "virt-insn", "shutdown", "invalid", "other"]
WORK_RE = re.compile(r"pingpong: mode=(\w+)(?: prctl=([\w-]+))? messages=(\d+) ok")
END_RE = re.compile(r"hv-linux: end workload=([\w-]+) status=(\d+)")
HELLO_RE = re.compile(r"hello: user space runs")
MATRIX_DIR = BUILD / "compare"


def variant(text, policy, track, spectre=None, vcpus=None):
    """The config text with policy/track/trace set; other lines unchanged.
    If the config sets virtual_ibpb or force_wrmsr (a CPU without IBPB), the
    track also picks which: trap -> virtual_ibpb, passthrough -> force_wrmsr.
    spectre: rewrite the spectre_v2_user= option of every cmdline; vcpus:
    every VM section's vcpus line."""
    lines, seen_section, ibpb_keys = [], False, False
    for line in text.splitlines():
        if line.lstrip().startswith("["):
            seen_section = True
        if not seen_section and GLOBAL_KEY.match(line):
            continue
        if not seen_section and IBPB_KEY.match(line):
            ibpb_keys = True
            continue
        if spectre is not None and re.match(r"^\s*cmdline\s*=", line):
            key, _, value = line.partition("=")
            words = [w for w in value.split() if not w.startswith("spectre_v2_user=")]
            if spectre != "default":
                words.insert(0, "spectre_v2_user=" + spectre)
            line = key.rstrip() + " = " + " ".join(words)
        if vcpus is not None and re.match(r"^\s*vcpus\s*=", line):
            line = "vcpus = %d" % vcpus
        lines.append(line)
    head = ["policy = %s" % policy, "track = %s" % track, "trace = on"]
    if ibpb_keys:
        head += (["virtual_ibpb = on", "force_wrmsr = off"] if track == "trap"
                 else ["virtual_ibpb = off", "force_wrmsr = on"])
    return "\n".join(head + lines) + "\n"


def kv_int(log, key):
    vals = log.kv.get(key)
    try:
        return int(vals[-1]) if vals else 0
    except ValueError:
        return 0


def kv_sum(log, prefix, suffix):
    """Sum of kv PREFIX<anything>SUFFIX (e.g. over every pCPU or VM)."""
    total = 0
    for key, vals in log.kv.items():
        if key.startswith(prefix) and key.endswith(suffix) and "." not in key[len(prefix):-len(suffix) or None]:
            try:
                total += int(vals[-1])
            except ValueError:
                pass
    return total


def vm_names(log):
    return sorted({k.split(".")[1] for k in log.kv if k.startswith("vm.") and k.endswith(".result")})


def guest_work(log):
    """What the Linux workloads printed: messages exchanged, prctl state,
    end statuses; None when no Linux workload ran."""
    msgs, prctl, ends, hello = 0, [], [], False
    for line in log.lines:
        m = WORK_RE.search(line)
        if m:
            msgs += int(m.group(3))
            if m.group(2):
                prctl.append(m.group(2))
        m = END_RE.search(line)
        if m:
            ends.append((m.group(1), int(m.group(2))))
        hello |= bool(HELLO_RE.search(line))
    if not ends and not msgs and not hello:
        return None
    return dict(messages=msgs, prctl=",".join(prctl) or "-",
                status=",".join("%s=%d" % e for e in ends) or "no end line", hello=hello)


def run_one(name, text, policy, track, spectre, timeout, qemu_args, acc, vcpus=None, from_logs=False):
    """Boot one variant (or, from_logs, read the log an earlier run left);
    returns the row."""
    smp = 1
    for line in text.splitlines():
        m = PCPUS_KEY.match(line)
        if m:
            smp = int(m.group(1))
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log_path = LOG_DIR / ("%s.log" % name)
    start = time.monotonic()
    if from_logs:
        if not log_path.is_file():
            sys.exit("compare.py: --from-logs: %s is missing" % rel(log_path))
        run = None
    else:
        with tempfile.TemporaryDirectory() as d:
            cfg = Path(d) / "hv.cfg"
            cfg.write_text(variant(text, policy, track, spectre, vcpus))
            image, _, _ = esp.build(name, cfg, HV_EFI)
        run = qemu.run_to_log(qemu.command(image, smp, acc.name, shlex.split(qemu_args)), log_path, timeout, ROOT)
    log = judge.parse_log(log_path.read_bytes())
    trace_path = LOG_DIR / ("%s.trace" % name)
    oracle.write_trace(trace_path, log.trace)
    verdict, required, violations = "-", None, None
    if log.trace and Path(ORACLE).exists():
        with open(trace_path, "rb") as tf:
            out = subprocess.run([str(ORACLE), "--scenario", name], stdin=tf, capture_output=True, text=True)
        m = re.search(r"required=(\d+) violations=(\d+)", out.stdout)
        if m:
            required, violations = int(m.group(1)), int(m.group(2))
            verdict = "%d violations" % violations
        else:
            verdict = "oracle: " + (out.stdout + out.stderr).strip()[-60:]
    vms = vm_names(log)
    exits = {r: sum(kv_int(log, "vm.%s.exits.%s" % (v, r)) for v in vms) for r in EXIT_REASONS}
    row = dict(
        policy=policy, track=log.kv.get("run.track", [track])[-1], spectre=spectre or "-",
        barriers=log.kv.get("run.barriers", ["?"])[-1],
        outcome=(log.kv.get("run.result", ["no report"])[-1] if run is None
                 else "timeout" if run.timed_out else run.outcome),
        vm_results=", ".join("%s %s" % (log.kv.get("vm.%s.result" % v, ["?"])[-1],
                                        log.kv.get("vm.%s.status" % v, ["?"])[-1]) for v in vms),
        entries=kv_sum(log, "pcpu.", ".entries"), switches=kv_sum(log, "pcpu.", ".switches"),
        issued=kv_sum(log, "pcpu.", ".barriers.issued"),
        cross=kv_sum(log, "pcpu.", ".barriers.issued.cross-vm"),
        intra=kv_sum(log, "pcpu.", ".barriers.issued.intra-vm"),
        migr=kv_sum(log, "pcpu.", ".barriers.issued.migration"),
        conf=kv_sum(log, "pcpu.", ".barriers.issued.config"),
        pol=kv_sum(log, "pcpu.", ".barriers.issued.policy"),
        skipped=kv_sum(log, "pcpu.", ".barriers.skipped"),
        s_clean=kv_sum(log, "pcpu.", ".barriers.skipped.clean"),
        s_notopt=kv_sum(log, "pcpu.", ".barriers.skipped.not-opted-in"),
        s_conf=kv_sum(log, "pcpu.", ".barriers.skipped.config"),
        holes=kv_sum(log, "pcpu.", ".barriers.skipped.hole"),
        exits=kv_sum(log, "pcpu.", ".pred_cmd_writes"),
        opted=",".join("%s" % kv_int(log, "vm.%s.opted_in" % v) for v in vms) or "-",
        required=required, violations=violations, oracle=verdict,
        vm_exits=exits, total_exits=sum(kv_int(log, "vm.%s.exits.total" % v) for v in vms),
        run_ms=max([kv_int(log, "vm.%s.run_ms" % v) for v in vms] or [0]),
        wall_s=round(time.monotonic() - start, 1),
        work=guest_work(log), log=rel(log_path))
    return row


def exits_text(exits, top=5):
    """'io 177139, npf 5011, ...': the largest reasons first."""
    items = sorted(((n, r) for r, n in exits.items() if n), reverse=True)
    s = ", ".join("%s %d" % (r, n) for n, r in items[:top])
    rest = sum(n for n, _ in items[top:])
    return s + (", other %d" % rest if rest else "")


def run_all(jobs_list, args, acc):
    """jobs_list: (name, text, policy, track, spectre, key). Runs them with
    args.jobs QEMUs at once; returns rows in the order given."""
    rows = [None] * len(jobs_list)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as ex:
        futs = {ex.submit(run_one, name, text, policy, track, spectre, args.timeout, args.qemu_args, acc, args.vcpus,
                          args.from_logs): i
                for i, (name, text, policy, track, spectre, _) in enumerate(jobs_list)}
        for fut in concurrent.futures.as_completed(futs):
            i = futs[fut]
            row = fut.result()
            row["key"] = jobs_list[i][5]
            rows[i] = row
            w = row["work"]
            print("  ran %-36s -> %-7s %5.1f s  %s" % (
                jobs_list[i][0][len("compare-"):], row["outcome"], row["wall_s"],
                ("msgs=%d %s" % (w["messages"], w["status"])) if w else ""), flush=True)
    return rows


def print_table(rows, linux):
    cols = [("spectre", 7), ("policy", 15), ("track", 11), ("outcome", 8), ("entries", 7), ("switches", 8),
            ("issued", 6), ("cross", 5), ("intra", 5), ("migr", 4), ("conf", 4), ("pol", 4),
            ("holes", 5), ("exits", 5), ("required", 8), ("oracle", 14)]
    if linux:
        cols += [("opted", 5), ("msgs", 6), ("vmexits", 8)]
    else:
        cols = cols[1:]           # no spectre_v2_user without a Linux VM
    left = ("spectre", "policy", "track", "outcome", "oracle")

    def cell(r, h):
        if h == "msgs":
            return r["work"]["messages"] if r["work"] else "-"
        if h == "vmexits":
            return r["total_exits"]
        v = r[h]
        return "-" if v is None else v
    print()
    print(" ".join(h.ljust(w) if h in left else h.rjust(w) for h, w in cols))
    for r in rows:
        print(" ".join(str(cell(r, h)).ljust(w) if h in left else str(cell(r, h)).rjust(w) for h, w in cols))
    print("\nissued = barriers hv issued; cross/intra/migr/conf = needed by the contract for that")
    print("reason; pol = issued only because the policy's rule says so; holes = needed but skipped;")
    print("exits = guest PRED_CMD writes that exited to hv; required = the oracle's minimum.")
    if linux:
        print("opted = the VM opted in (per VM); msgs = messages the pingpong workload exchanged;")
        print("vmexits = all exits of the VMs. Exits by reason:")
        for r in rows:
            print("  %-7s %-15s %-11s %s" % (r["spectre"], r["policy"], r["track"], exits_text(r["vm_exits"], 8)))
    print("Barriers on QEMU TCG are recorded, not executed.")


def md_table(rows):
    """One markdown table for one workload's rows."""
    out = ["| spectre_v2_user | policy | track | result | msgs | guest PRED_CMD writes seen | opted in "
           "| issued (cross/intra/migr/conf/policy) | skipped (clean/not-opted-in/config/hole) "
           "| oracle min | violations | exits (total: top reasons) |",
           "|---|---|---|---|---:|---:|:-:|---|---|---:|---:|---|"]
    for r in rows:
        w = r["work"]
        # hv's verdict on the VM, and /init's end line (its status), which
        # the guest's console may lose when poweroff -f beats the tty drain
        result = r["vm_results"] if r["outcome"] == "pass" else r["outcome"]
        if w:
            result += "; " + (w["status"] if w["status"] != "no end line" else "end line lost")
        out.append("| %s | %s | %s | %s | %s | %d | %s | %d (%d/%d/%d/%d/%d) | %d (%d/%d/%d/%d) | %s | %s | %d: %s |" % (
            r["spectre"], r["policy"], r["track"], result,
            ("%d%s" % (w["messages"], "" if w["prctl"] == "-" else " (prctl %s)" % w["prctl"])) if w else "-",
            r["exits"], r["opted"], r["issued"], r["cross"], r["intra"], r["migr"], r["conf"], r["pol"],
            r["skipped"], r["s_clean"], r["s_notopt"], r["s_conf"], r["holes"],
            "-" if r["required"] is None else r["required"], "-" if r["violations"] is None else r["violations"],
            r["total_exits"], exits_text(r["vm_exits"], 4)))
    return "\n".join(out)


def linux_matrix(args, acc):
    workloads = args.workloads.split(",")
    settings = (args.spectre_v2_user or ",".join(LINUX_MATRIX_SETTINGS)).split(",")
    suffix = "-%dvcpu" % args.vcpus if args.vcpus else ""
    jobs_list = []
    for wl in workloads:
        cfg = ROOT / "tests" / "configs" / ("linux-table-%s.cfg" % wl)
        if not cfg.is_file():
            sys.exit("compare.py: no config %s for workload %s" % (rel(cfg), wl))
        text = cfg.read_text()
        for s in settings:
            for track in args.tracks.split(","):
                for policy in args.policies.split(","):
                    if track != "trap" and policy not in args.passthrough_policies.split(","):
                        continue
                    name = "compare-%s-%s-%s-%s%s" % (wl, s, policy, track, suffix)
                    jobs_list.append((name, text, policy, track, s, wl))
    print("%d runs, %d at a time" % (len(jobs_list), args.jobs), flush=True)
    start = time.monotonic()
    rows = run_all(jobs_list, args, acc)
    MATRIX_DIR.mkdir(parents=True, exist_ok=True)
    out = MATRIX_DIR / ("linux-table%s" % suffix)
    out.with_suffix(".json").write_text(json.dumps(rows, indent=1))
    md = ["# hv barrier policies on Debian's Linux kernel (generated by tests/compare.py --linux-matrix)",
          "",
          "Platform: QEMU TCG (%s), no IBPB in the CPU: hv's barriers and the guest's IBPBs are "
          "counted, not executed. track trap = `virtual_ibpb = on` (every guest PRED_CMD write exits); "
          "passthrough = `force_wrmsr = on` (a vCPU's writes exit until its first IBPB). "
          "One pCPU; the Linux VM has %s vCPUs (tests/configs/linux-table-*.cfg). "
          "`default` = no spectre_v2_user on the command line. %d runs%s." % (
              acc.name, args.vcpus or 2, len(rows),
              " (table rebuilt from their logs)" if args.from_logs else ", %.0f s" % (time.monotonic() - start)),
          "", "Columns: *msgs* = messages the workload reports exchanging (and its prctl opt-in); "
          "*guest PRED_CMD writes seen* = writes that exited to hv (under passthrough only each vCPU's "
          "first); *opted in* = the VM counts as opted in at the end; *issued* = hv's barriers by reason "
          "(cross-VM, intra-VM, migration, config: needed by the contract; policy: only the policy's "
          "rule wanted it); *skipped* by reason (hole = needed and not issued); *oracle min* and "
          "*violations* = build/oracle on the run's trace; *exits* = all the VM's exits and the "
          "largest reasons.", ""]
    for wl in workloads:
        md += ["## %s" % wl, "", md_table([r for r in rows if r["key"] == wl]), ""]
    out.with_suffix(".md").write_text("\n".join(md))
    print("\n".join(md))
    print("wrote %s and %s" % (rel(out.with_suffix(".md")), rel(out.with_suffix(".json"))))
    # `never` leaves every barrier the contract needs undone: its violations
    # are the point of the row, not a failure
    bad = [r for r in rows if r["outcome"] != "pass" or (r["violations"] and r["policy"] != "never")]
    for r in bad:
        print("NOT OK: %s %s %s %s: %s, %s (%s)" % (r["key"], r["spectre"], r["policy"], r["track"],
                                                 r["outcome"], r["oracle"], r["log"]))
    return 0 if not bad else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config", nargs="?")
    ap.add_argument("--policies", default=",".join(POLICIES))
    ap.add_argument("--tracks", default=None, help="default trap (--linux-matrix: trap,passthrough)")
    ap.add_argument("--passthrough-policies", default="guest",
                    help="--linux-matrix: the policies run with track passthrough too (default guest)")
    ap.add_argument("--timeout", type=float, default=240)
    ap.add_argument("--qemu-args", default="", help="extra QEMU options, e.g. \"-icount shift=7,sleep=off\"")
    ap.add_argument("--spectre-v2-user", default=None,
                    help="comma list of Linux spectre_v2_user= values (default: as the config says; "
                    "--linux-matrix: %s)" % ",".join(LINUX_MATRIX_SETTINGS))
    ap.add_argument("--linux-matrix", action="store_true", help="every Linux workload config (see above)")
    ap.add_argument("--workloads", default=",".join(LINUX_WORKLOADS))
    ap.add_argument("--vcpus", type=int, default=None, help="every VM's vcpus (--linux-matrix: "
                    "build/compare/linux-table-Nvcpu.md)")
    ap.add_argument("--jobs", "-j", type=int, default=1, help="QEMUs at once")
    ap.add_argument("--markdown", help="also write the table as markdown to this file")
    ap.add_argument("--from-logs", action="store_true",
                    help="run nothing: rebuild the table from the logs of an earlier run")
    args = ap.parse_args()

    acc = accel.choose()
    print(acc.line())
    if args.linux_matrix:
        args.tracks = args.tracks or "trap,passthrough"
        return linux_matrix(args, acc)
    if not args.config:
        ap.error("a CONFIG or --linux-matrix")
    args.tracks = args.tracks or "trap"
    text = Path(args.config).read_text()
    linux = bool(re.search(r"^\s*kernel\s*=", text, re.M))
    settings = args.spectre_v2_user.split(",") if args.spectre_v2_user else [None]
    stem = Path(args.config).stem
    jobs_list = []
    for s in settings:
        for track in args.tracks.split(","):
            for policy in args.policies.split(","):
                name = "compare-%s%s-%s-%s" % (stem + "-" if linux else "", s or "", policy, track)
                name = name.replace("--", "-")
                jobs_list.append((name, text, policy, track, s, stem))
    rows = run_all(jobs_list, args, acc)
    print_table(rows, linux)
    if args.markdown:
        Path(args.markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(args.markdown).write_text(md_table(rows) + "\n")
        print("wrote " + args.markdown)
    return 0 if all(r["outcome"] == "pass" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
