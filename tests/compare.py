#!/usr/bin/env python3
"""Run one hv config under several barrier policies and compare the counts.

    tests/compare.py CONFIG [--policies guest,switch,...] [--tracks trap,passthrough]
                     [--qemu-args "-icount shift=7,sleep=off"]

For each combination the config is copied with its global `policy` and
`track` lines replaced (or added at the top), booted in QEMU exactly as the
test harness boots scenarios (trace on), and the report's `kv` lines are
collected; the oracle judges each trace. The table shows, per run: entries,
switches, barriers issued by reason, barriers the contract required but the
policy skipped (holes), guest PRED_CMD writes that exited, and the oracle's
verdict. --qemu-args adds QEMU options (as a scenario's qemu_args): with
`-icount shift=7,sleep=off` a timer-driven guest's counts do not depend on
the host's load. Logs: build/logs/compare-POLICY-TRACK.log.
"""

import argparse
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import accel, esp, judge, oracle, qemu          # noqa: E402
from harness.common import HV_EFI, LOG_DIR, ORACLE, ROOT, rel  # noqa: E402

POLICIES = ["never", "switch", "switch-migrate", "guest"]
GLOBAL_KEY = re.compile(r"^\s*(policy|track|trace)\s*=")


def variant(text, policy, track):
    """The config text with policy/track/trace set; other lines unchanged."""
    lines, head, seen_section = [], [], False
    for line in text.splitlines():
        if line.lstrip().startswith("["):
            seen_section = True
        if not seen_section and GLOBAL_KEY.match(line):
            continue
        lines.append(line)
    head = ["policy = %s" % policy, "track = %s" % track, "trace = on"]
    return "\n".join(head + lines) + "\n"


def kv_int(log, key):
    vals = log.kv.get(key)
    return int(vals[-1]) if vals else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config")
    ap.add_argument("--policies", default=",".join(POLICIES))
    ap.add_argument("--tracks", default="trap")
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--qemu-args", default="", help="extra QEMU options, e.g. \"-icount shift=7,sleep=off\"")
    args = ap.parse_args()

    text = Path(args.config).read_text()
    acc = accel.choose()
    print(acc.line())
    rows = []
    for track in args.tracks.split(","):
        for policy in args.policies.split(","):
            name = "compare-%s-%s" % (policy, track)
            with tempfile.TemporaryDirectory() as d:
                cfg = Path(d) / "hv.cfg"
                cfg.write_text(variant(text, policy, track))
                image, _, _ = esp.build(name, cfg, HV_EFI)
            LOG_DIR.mkdir(parents=True, exist_ok=True)
            log_path = LOG_DIR / ("%s.log" % name)
            run = qemu.run_to_log(qemu.command(image, 1, acc.name, shlex.split(args.qemu_args)), log_path, args.timeout, ROOT)
            log = judge.parse_log(log_path.read_bytes())
            trace_path = LOG_DIR / ("%s.trace" % name)
            oracle.write_trace(trace_path, log.trace)
            verdict = "-"
            if log.trace and Path(ORACLE).exists():
                out = subprocess.run([str(ORACLE), "--scenario", name],
                                     stdin=open(trace_path, "rb"), capture_output=True, text=True)
                m = re.search(r"violations=(\d+)", out.stdout)
                verdict = "%s violations" % m.group(1) if m else "oracle: " + (out.stdout + out.stderr).strip()[-60:]
            p = "pcpu.0."
            rows.append(dict(
                policy=policy, track=log.kv.get("run.track", [track])[-1],
                outcome="timeout" if run.timed_out else run.outcome,
                entries=kv_int(log, p + "entries"), switches=kv_int(log, p + "switches"),
                issued=kv_int(log, p + "barriers.issued"),
                cross=kv_int(log, p + "barriers.issued.cross-vm"),
                intra=kv_int(log, p + "barriers.issued.intra-vm"),
                migr=kv_int(log, p + "barriers.issued.migration"),
                conf=kv_int(log, p + "barriers.issued.config"),
                pol=kv_int(log, p + "barriers.issued.policy"),
                holes=kv_int(log, p + "barriers.skipped.hole"),
                exits=kv_int(log, p + "pred_cmd_writes"),
                oracle=verdict, log=rel(log_path)))
            print("  ran %-15s %-11s -> %s (%s)" % (policy, track, rows[-1]["outcome"], rel(log_path)))

    cols = [("policy", 15), ("track", 11), ("outcome", 8), ("entries", 7), ("switches", 8),
            ("issued", 6), ("cross", 5), ("intra", 5), ("migr", 4), ("conf", 4), ("pol", 4),
            ("holes", 5), ("exits", 5), ("oracle", 14)]
    print()
    print(" ".join(h.rjust(w) if h not in ("policy", "track", "outcome", "oracle") else h.ljust(w)
                   for h, w in cols))
    for r in rows:
        print(" ".join(str(r[h]).rjust(w) if h not in ("policy", "track", "outcome", "oracle")
                       else str(r[h]).ljust(w) for h, w in cols))
    print("\nissued = barriers hv issued; cross/intra/migr/conf = needed by the contract for that")
    print("reason; pol = issued only because the policy's rule says so; holes = needed but skipped;")
    print("exits = guest PRED_CMD writes that exited to hv. Barriers on QEMU TCG are recorded, not executed.")
    return 0 if all(r["outcome"] == "pass" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
