#!/usr/bin/env python3
"""Draw a timeline of a traced hv run: who ran where, and every barrier.

    tests/timeline.py LOG [--out PREFIX] [--title TEXT]
    tests/timeline.py --for-config CONFIG     (what `make run` calls)

LOG is a serial log with hv's `trace ...` lines (docs/output.md section 4),
e.g. build/logs/NAME.log from `tests/run.py boot` or `make test`. Writes
PREFIX.png and PREFIX.svg (default build/timeline/NAME). One lane per pCPU;
the x axis is hv's global trace sequence number (event order: hv records
no wall-clock time in the trace); a bar per vCPU stay, coloured per VM and
shaded per vCPU; marks for every barrier hv issued (by the contract's
reason), every barrier it skipped (by reason: a skipped one the contract
required is a hole, drawn red), every guest IBPB that exited to hv, and
migrations. Barriers issued because a vCPU came back to a pCPU holding its
own predictions from before its latest IBPB (reason `migration`: the
migration hole) are labelled on the picture.
With --for-config, a log without a trace is skipped quietly.
Needs python3-matplotlib (in the Makefile's DEPS).
"""

import argparse
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "build" / "timeline"

EV = re.compile(r"trace (\d+) (\w+) (.*)$")
KV = re.compile(r"(\w+)=(\S+)")
ISSUED = ["cross-vm", "intra-vm", "migration", "config", "policy"]
SKIPPED = ["hole", "not-opted-in", "config", "clean"]
ENDS = {"yield", "halt", "stop", "preempt", "migrate"}


def parse(text):
    """(header dict, {vm id: name}, {gid: (vm, idx)}, [events]) from a log's trace lines."""
    head, vms, vcpus, events = {}, {}, {}, []
    for raw in text.splitlines():
        i = raw.find("trace ")
        if i < 0:
            continue
        line = raw[i:].strip()
        m = EV.match(line)
        if m:
            seq, kind, rest = int(m.group(1)), m.group(2), m.group(3)
            ev = dict(KV.findall(rest))
            ev.update(seq=seq, kind=kind)
            events.append(ev)
            continue
        f = line.split()
        if len(f) < 2:
            continue
        kv = dict(KV.findall(line))
        if f[1] == "begin":
            head = kv
        elif f[1] == "vm":
            vms[int(kv["id"])] = kv.get("name", kv["id"])
        elif f[1] == "vcpu":
            vcpus[int(kv["gid"])] = (int(kv["vm"]), int(kv["id"]))
    events.sort(key=lambda e: e["seq"])
    return head, vms, vcpus, events


def stays(events):
    """[(pcpu, gid, start seq, end seq)]: a vCPU's stay on a pCPU, entry to the
    event that ended it (yield, halt, stop, preempt, migrate, or the next entry)."""
    open_, out = {}, []
    last = events[-1]["seq"] + 1 if events else 1
    for e in events:
        if "p" not in e:
            continue
        p = int(e["p"])
        if e["kind"] == "entry":
            if p in open_:
                g, s = open_.pop(p)
                out.append((p, g, s, e["seq"]))
            open_[p] = (int(e["v"]), e["seq"])
        elif e["kind"] in ENDS and p in open_ and open_[p][0] == int(e["v"]):
            g, s = open_.pop(p)
            out.append((p, g, s, e["seq"]))
    for p, (g, s) in open_.items():
        out.append((p, g, s, last))
    return out


def ensure_matplotlib():
    """Import matplotlib, or re-run this script with the system's python3 when
    the python3 on PATH is another installation (pyenv, a venv) that cannot see
    Debian's python3-matplotlib. Returns False if neither has it."""
    try:
        import matplotlib  # noqa: F401
        return True
    except ImportError:
        pass
    system = "/usr/bin/python3"
    if Path(system).exists() and Path(sys.executable).resolve() != Path(system).resolve() \
            and not os.environ.get("HV_NO_REEXEC"):
        os.environ["HV_NO_REEXEC"] = "1"
        os.execv(system, [system] + sys.argv)
    return False


def draw(text, out_prefix, title=None):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    import colorsys

    head, vms, vcpus, events = parse(text)
    if not events:
        return None
    npcpus = int(head.get("pcpus", 0)) or 1 + max(int(e["p"]) for e in events if "p" in e)
    base = plt.get_cmap("tab10")

    def colour(gid):
        vm, idx = vcpus.get(gid, (0, 0))
        n = sum(1 for v in vcpus.values() if v[0] == vm) or 1
        r, g, b, _ = base(vm % 10)
        h, l, s = colorsys.rgb_to_hls(r, g, b)
        l = 0.35 + 0.45 * (idx / max(1, n - 1)) if n > 1 else l
        return colorsys.hls_to_rgb(h, min(l, 0.85), s)

    span = events[-1]["seq"] - events[0]["seq"] + 1
    width = min(24, max(9, span / 12))
    fig, ax = plt.subplots(figsize=(width, max(3.2, 1.6 + 0.9 * npcpus)))
    for p, g, s, e in stays(events):
        ax.broken_barh([(s, max(e - s, 0.6))], (p - 0.3, 0.6), facecolors=[colour(g)],
                       edgecolors="black", linewidth=0.3)
        if e - s >= span / 60:
            vm, idx = vcpus.get(g, (0, 0))
            ax.text(s + (e - s) / 2, p, "%s/%d" % (vms.get(vm, vm), idx), ha="center",
                    va="center", fontsize=7, clip_on=True)

    style_issued = {"cross-vm": "tab:blue", "intra-vm": "tab:green", "migration": "tab:red",
                    "config": "tab:purple", "policy": "tab:gray"}
    style_skip = {"hole": ("X", "red", 80), "not-opted-in": ("v", "dimgray", 25),
                  "config": ("s", "purple", 20), "clean": (".", "lightgray", 12)}
    # label the first migration-hole barrier and the first hole of each pCPU
    # (more labels would only pile up on one another)
    labelled_mig, labelled_hole = set(), set()
    for e in events:
        if e["kind"] == "entry":
            p, reason = int(e["p"]), e.get("reason", "")
            if e.get("barrier") == "1":
                ax.vlines(e["seq"], p - 0.45, p + 0.45, colors=style_issued.get(reason, "black"),
                          linewidth=2.2, zorder=3)
                if reason == "migration" and p not in labelled_mig:
                    ax.annotate("migration-hole barrier\n(v%s back on pCPU %d)" % (e["v"], p),
                                xy=(e["seq"], p + 0.45), xytext=(e["seq"], p + 0.85),
                                ha="center", fontsize=8, color="tab:red",
                                arrowprops=dict(arrowstyle="->", color="tab:red"), zorder=5)
                    labelled_mig.add(p)
            elif reason in style_skip:
                mk, c, sz = style_skip[reason]
                ax.scatter([e["seq"]], [p - 0.42], marker=mk, color=c, s=sz, zorder=4)
                if reason == "hole" and p not in labelled_hole:
                    ax.annotate("hole: barrier required, skipped", xy=(e["seq"], p - 0.42),
                                xytext=(e["seq"], p - 0.9), ha="center", fontsize=8, color="red",
                                arrowprops=dict(arrowstyle="->", color="red"), zorder=5)
                    labelled_hole.add(p)
        elif e["kind"] == "ibpb":
            ax.scatter([e["seq"]], [int(e["p"]) + 0.38], marker="*", color="orange",
                       edgecolors="black", linewidths=0.4, s=90, zorder=4)
        elif e["kind"] == "migrate":
            ax.annotate("", xy=(e["seq"], int(e["to"])), xytext=(e["seq"], int(e["p"])),
                        arrowprops=dict(arrowstyle="->", color="black", linestyle="--", lw=0.8))

    ax.set_yticks(range(npcpus))
    ax.set_yticklabels(["pCPU %d" % p for p in range(npcpus)])
    ax.set_ylim(npcpus - 0.5 + 0.9, -0.5 - 0.7)
    ax.set_xlabel("trace sequence number (hv's event order)")
    ax.set_title(title or "hv timeline: policy=%s track=%s pcpus=%s barriers=%s" % (
        head.get("policy", "?"), head.get("track", "?"), head.get("pcpus", "?"),
        head.get("barriers", "?")), fontsize=10)
    handles = [Patch(facecolor=colour(g), edgecolor="black",
                     label="%s vCPU %d" % (vms.get(vm, vm), idx))
               for g, (vm, idx) in sorted(vcpus.items())][:16]
    used_issued = {e.get("reason") for e in events if e["kind"] == "entry" and e.get("barrier") == "1"}
    used_skip = {e.get("reason") for e in events if e["kind"] == "entry" and e.get("barrier") == "0"}
    handles += [Line2D([], [], color=style_issued[r], lw=2.2, label="barrier: %s" % r)
                for r in ISSUED if r in used_issued]
    handles += [Line2D([], [], marker=style_skip[r][0], color=style_skip[r][1], lw=0,
                       label="skipped: %s" % r) for r in SKIPPED if r in used_skip]
    if any(e["kind"] == "ibpb" for e in events):
        handles.append(Line2D([], [], marker="*", color="orange", lw=0, markersize=10,
                              label="guest IBPB (exited)"))
    if any(e["kind"] == "migrate" for e in events):
        handles.append(Line2D([], [], color="black", ls="--", lw=0.8, label="migration"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.005, 1), fontsize=7,
              frameon=False)
    fig.tight_layout()
    out_prefix = Path(out_prefix)
    out_prefix.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in ("png", "svg"):
        path = out_prefix.with_suffix("." + ext)
        # fixed metadata: the same trace gives the same files
        fig.savefig(path, dpi=110, metadata={"Software": None} if ext == "png" else {"Date": None})
        paths.append(path)
    plt.close(fig)
    return paths


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("log", nargs="?")
    ap.add_argument("--for-config", help="the log of `tests/run.py boot CONFIG`; no trace: nothing")
    ap.add_argument("--out", help="output prefix (PREFIX.png, PREFIX.svg)")
    ap.add_argument("--title")
    args = ap.parse_args()
    quiet = False
    if args.for_config:
        sys.path.insert(0, str(ROOT / "tests"))
        from harness.cli import config_name
        from harness.common import LOG_DIR
        name = config_name(Path(args.for_config))
        log = LOG_DIR / ("%s.log" % name)
        quiet = True
    elif args.log:
        log = Path(args.log)
        name = log.name[:-4] if log.name.endswith(".log") else log.name
    else:
        ap.error("give LOG (e.g. make timeline LOG=build/logs/NAME.log)")
    if not log.is_file():
        if quiet:
            return 0
        print("timeline: %s: no such file" % log)
        return 1
    text = log.read_bytes().decode("utf-8", "replace")
    if not ensure_matplotlib():
        print("timeline: python3-matplotlib is missing (make deps installs it)")
        return 1
    paths = draw(text, args.out or OUT_DIR / name, args.title)
    if not paths:
        if not quiet:
            print("timeline: %s has no trace lines (run with trace = on)" % log)
        return 0 if quiet else 1
    print("timeline: %s" % ", ".join(str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p)
                                      for p in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
