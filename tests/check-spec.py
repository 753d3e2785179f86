#!/usr/bin/env python3
"""Static check of hv's binary against its speculation design (docs/security.md).

    tests/check-spec.py [--tap] [OBJECT ...]        (default: build/hv.so)
    tests/check-spec.py --self-test [--tap]

Disassembles each OBJECT with objdump and checks:

1. indirect branches: every `call *` / `jmp *` is inside a retpoline thunk's
   patch slot or in boot-only code named in BOOT_ONLY below (with the reason);
   everything else calls `__x86_indirect_thunk_REG`;
2. thunks: each `__x86_indirect_thunk_REG` present is a retpoline (call;
   pause; lfence; jmp; mov %REG,(%rsp); ret);
3. VM exits: from every exit point (the instruction after each `vmrun`, and
   the symbol `vmx_exit`, VT-x's HOST_RIP) to the end of the RSB fill
   (spec_*_rsb_lite, spec_*_rsb), the code is straight-line (forward
   conditional branches only), holds no indirect branch, no `ret` and no
   `call` but the fill's own, and restores hv's SPEC_CTRL (spec_*_sc_exit);
4. returns: a `ret` is allowed; docs/security.md ("Returns") says why no
   return thunk is needed under any choice hv makes at boot.

--self-test assembles the deliberately bad objects in tests/spec-check/ and
requires the check to reject each one with the expected complaint (and to
pass good.S), so a check that cannot fail is itself caught.
Exit status: 0 all good, 1 a check failed, 2 usage or tool error.
"""

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Code that runs only before any guest exists, so no guest can have trained
# the predictors it uses: (first symbol, end symbol or None for one symbol).
BOOT_ONLY = [
    # AP start-up trampoline: 16/32-bit code then `jmp *%rax` into hv,
    # executed once per AP at boot (start_aps() runs before vms_create()).
    ("ap_boot_start", "ap_boot_end"),
]

INSN = re.compile(r"^\s*([0-9a-f]+):\s+(.*)$")
INDIRECT = re.compile(r"^(?:notrack\s+|bnd\s+)?(call|jmp)\w*\s+\*")
RET = re.compile(r"^(?:repz\s+|rep\s+|bnd\s+)?retq?\b")
CALL = re.compile(r"^call\w*\s+([0-9a-f]+)\b")
JMP = re.compile(r"^jmp\w*\s+([0-9a-f]+)\b")
JCC = re.compile(r"^j(?!mp)\w+\s+([0-9a-f]+)\b")
THUNK = re.compile(r"^__x86_indirect_thunk_(\w+)$")


def disassemble(obj):
    try:
        out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", "-w", str(obj)],
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise SystemExit("check-spec: objdump %s failed: %s" % (obj, e))
    insns, syms = [], {}
    # Symbols from nm: objdump names only one of several labels at one address.
    try:
        nm = subprocess.run(["nm", "-n", str(obj)], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise SystemExit("check-spec: nm %s failed: %s" % (obj, e))
    for line in nm.splitlines():
        f = line.split()
        if len(f) == 3 and f[1] in "tT":
            syms.setdefault(f[2], int(f[0], 16))
    for line in out.splitlines():
        m = INSN.match(line)
        if m:
            text = re.sub(r"\s+", " ", m.group(2).split("#")[0].strip())
            if text and not text.startswith("(bad)"):
                insns.append((int(m.group(1), 16), text))
    return insns, syms


def owner(syms_sorted, addr):
    """Name of the closest symbol at or before addr."""
    best = None
    for a, n in syms_sorted:
        if a > addr:
            break
        best = n
    return best or "?"


def check(obj):
    """Problems found in obj, as strings."""
    insns, syms = disassemble(obj)
    if not insns:
        return ["%s: no code disassembled" % obj]
    problems = []
    by_addr = sorted((a, n) for n, a in syms.items())
    index = {a: i for i, (a, _) in enumerate(insns)}

    def where(addr):
        return "%s+0x%x" % (owner(by_addr, addr), addr - syms.get(owner(by_addr, addr), addr))

    # Ranges exempt from rule 1: the thunks' own slots and boot-only code.
    exempt = []
    for first, last in BOOT_ONLY:
        if first in syms:
            end = syms.get(last, syms[first] + 1) if last else syms[first] + 1
            exempt.append((syms[first], end, "boot-only " + first))
    thunks = {m.group(1): a for n, a in syms.items() for m in [THUNK.match(n)] if m}
    for reg, a in thunks.items():
        exempt.append((a, a + 32, "thunk"))

    # 1. indirect branches
    for addr, text in insns:
        if INDIRECT.match(text) and not any(lo <= addr < hi for lo, hi, _ in exempt):
            problems.append("unprotected indirect branch at %s (0x%x): %s" % (where(addr), addr, text))

    # 2. the thunks are retpolines
    for reg, a in sorted(thunks.items()):
        i = index.get(a)
        body = [t for _, t in insns[i:i + 6]] if i is not None else []
        shape = [r"^call\w* ", r"^pause", r"^lfence", r"^jmp\w* ",
                 r"^mov\w* %" + reg + r",\(%rsp\)$", r"^retq?$"]
        if len(body) < 6 or not all(re.match(p, t) for p, t in zip(shape, body)):
            problems.append("__x86_indirect_thunk_%s is not a retpoline: %s" % (reg, "; ".join(body)))

    # 3. VM exit paths
    exits = [(insns[i + 1][0], "after vmrun at 0x%x" % a)
             for i, (a, t) in enumerate(insns) if t.startswith("vmrun") and i + 1 < len(insns)]
    if "vmx_exit" in syms:
        exits.append((syms["vmx_exit"], "vmx_exit"))
    fills = [(syms[n], syms.get(n + "_end", syms[n])) for n in syms
             if re.match(r"^spec_\w+_rsb(_lite)?$", n)]
    restores = [syms[n] for n in syms if re.match(r"^spec_\w+_sc_exit$", n)]
    if not exits:
        problems.append("no VM exit point found (no vmrun, no vmx_exit)")
    for start, label in exits:
        i = index.get(start)
        if i is None:
            problems.append("exit %s: address 0x%x is not an instruction" % (label, start))
            continue
        filled = restored = False
        seen_ret = False
        while i < len(insns):
            addr, text = insns[i]
            in_fill = any(lo <= addr < hi for lo, hi in fills)
            if filled and not in_fill:
                # Past the fill: hv's own calls and returns are safe from here.
                seen_ret = True
                if not restored:
                    problems.append("exit %s: RSB filled but hv's SPEC_CTRL not restored before it "
                                    "(no spec_*_sc_exit)" % label)
                break
            if in_fill:
                filled = True
            if addr in restores:
                restored = True
            if INDIRECT.match(text):
                problems.append("exit %s: indirect branch at %s before the RSB fill's end: %s"
                                % (label, where(addr), text))
                break
            m = CALL.match(text)
            if m and not any(lo <= addr < hi for lo, hi in fills):
                problems.append("exit %s: call at %s (%s) before the RSB fill" % (label, where(addr), text))
                break
            m = JMP.match(text)
            if m and not any(lo <= addr < hi for lo, hi in fills):
                problems.append("exit %s: jmp at %s leaves the straight-line exit path: %s"
                                % (label, where(addr), text))
                break
            m = JCC.match(text)
            if m and int(m.group(1), 16) <= addr:
                problems.append("exit %s: backward branch at %s on the exit path: %s"
                                % (label, where(addr), text))
                break
            if RET.match(text):
                seen_ret = True
                if not filled:
                    problems.append("exit %s: ret at %s before any RSB fill" % (label, where(addr)))
                elif not restored:
                    problems.append("exit %s: ret at %s before hv's SPEC_CTRL is restored (no spec_*_sc_exit)"
                                    % (label, where(addr)))
                break
            i += 1
        if not seen_ret and not any(label in p for p in problems):
            problems.append("exit %s: no ret found after it" % label)
    return problems


def self_test(tap):
    """The check must reject each bad object and pass the good one."""
    cases = sorted((ROOT / "tests" / "spec-check").glob("*.S"))
    results = []
    with tempfile.TemporaryDirectory() as d:
        for src in cases:
            want = None
            for line in src.read_text().splitlines():
                if line.startswith("# expect:") or line.startswith("/* expect:"):
                    want = line.split("expect:", 1)[1].strip().rstrip("*/").strip()
            obj = Path(d) / (src.stem + ".o")
            r = subprocess.run(["gcc", "-c", "-o", str(obj), str(src)], capture_output=True, text=True)
            if r.returncode:
                results.append((False, "%s: does not assemble: %s" % (src.name, r.stderr.strip())))
                continue
            problems = check(obj)
            if want == "pass":
                ok = not problems
                results.append((ok, "%s passes%s" % (src.name, "" if ok else ": " + "; ".join(problems))))
            else:
                ok = any(want in p for p in problems)
                results.append((ok, "%s is rejected (%s)%s" % (
                    src.name, want, "" if ok else ": got " + ("; ".join(problems) or "no complaint"))))
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("objects", nargs="*")
    ap.add_argument("--tap", action="store_true", help="print TAP")
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    results = []
    if args.self_test:
        results = self_test(args.tap)
    for obj in args.objects or ([] if args.self_test else [str(ROOT / "build" / "hv.so")]):
        if not Path(obj).exists():
            print("check-spec: %s does not exist (run make first)" % obj, file=sys.stderr)
            return 2
        problems = check(obj)
        results.append((not problems, "%s: no unprotected indirect branch; RSB fill and SPEC_CTRL "
                        "restore before the first ret after every VM exit%s"
                        % (Path(obj).name, "" if not problems else ":\n# " + "\n# ".join(problems))))
    if args.tap:
        print("1..%d" % len(results))
    for n, (ok, text) in enumerate(results, 1):
        if args.tap:
            print("%s %d - %s" % ("ok" if ok else "not ok", n, text))
        else:
            print("%s: %s" % ("PASS" if ok else "FAIL", text))
    return 0 if all(ok for ok, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
