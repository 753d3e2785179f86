#!/usr/bin/env python3
"""tests/linux/initramfs.py - Linux guest images for hv, from Debian packages.

Builds, under build/linux/ only (nothing is installed on the host):
  debs/                  linux-image-*-amd64 and busybox-static (`apt-get download`)
  pkg/<name>/            each package unpacked with `dpkg -x`
  bzImage                the kernel as Debian ships it (64-bit boot protocol)
  vmlinux                the ELF kernel cut out of the bzImage's XZ payload (PVH entry)
  initramfs.cpio.gz      busybox + guest/linux/init + the static workload programs
  bin/                   the workload programs (guest/linux/*.c, gcc -static)
  bad/                   broken inputs for hv's bad-input scenarios:
    bzImage-truncated      the first half of bzImage (its payload ends past the file)
    bzImage-ud2            bzImage with UD2 at the 64-bit entry (no IDT yet: triple fault)
    initramfs-corrupt.cpio.gz  the initramfs with 4 KiB of its middle zeroed

Commands:
  initramfs.py build                   fetch what is missing, build everything
  initramfs.py boot WORKLOAD [options] boot natively in QEMU TCG (no hv) and check
                                       that /init ran WORKLOAD to status 0
  initramfs.py selfboot WORKLOAD [...] boot through hv's own boot plan: hv/linux.c and
                                       hv/acpi.c run on the host (tests/linux/plan.c) and
                                       tests/linux/pvhstub.asm carries the plan out in
                                       QEMU; passes when the workload ends with status 0
                                       and Linux powers off through the ACPI tables

The fetch here is deliberately minimal (one `apt-get download` per missing
package); tests/linux/fetch.py (the benchmark's fetch/unpack script) does the
same job in general form, and the two are meant to be merged.
"""
import argparse
import glob
import gzip
import lzma
import os
import shutil
import struct
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "build", "linux")
GUEST = os.path.join(ROOT, "guest", "linux")
PROGRAMS = ["hello", "pingpong", "pingpong-same-mm", "tsc"]
# busybox applets /init uses (and a few for the interactive shell); created as
# symlinks so /init can run before `busybox --install`.
APPLETS = ["sh", "mount", "cat", "echo", "poweroff", "setsid", "cttyhack", "ls",
           "dmesg", "grep", "true", "false", "sleep", "uname"]


def run(cmd, **kw):
    print("+ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kw)


def kernel_package():
    """linux-image-amd64's dependency: the versioned kernel package."""
    out = subprocess.run(["apt-cache", "depends", "linux-image-amd64"], check=True,
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("Depends: linux-image-") and line.endswith("-amd64"):
            return line.split()[1]
    sys.exit("initramfs.py: cannot find the kernel package that linux-image-amd64 depends on")


def fetch(pkg):
    """The .deb of pkg under build/linux/debs, downloaded if missing."""
    debs = os.path.join(OUT, "debs")
    os.makedirs(debs, exist_ok=True)
    found = glob.glob(os.path.join(debs, pkg + "_*.deb"))
    if not found:
        run(["apt-get", "download", pkg], cwd=debs)
        found = glob.glob(os.path.join(debs, pkg + "_*.deb"))
    if not found:
        sys.exit(f"initramfs.py: apt-get download {pkg} left no .deb in build/linux/debs")
    return sorted(found)[-1]


def unpack(pkg):
    deb = fetch(pkg)
    dest = os.path.join(OUT, "pkg", pkg)
    stamp = os.path.join(dest, ".deb")
    if not (os.path.exists(stamp) and open(stamp).read() == os.path.basename(deb)):
        shutil.rmtree(dest, ignore_errors=True)
        os.makedirs(dest)
        run(["dpkg", "-x", deb, dest])
        with open(stamp, "w") as f:
            f.write(os.path.basename(deb))
    return dest


# ---- the kernel ------------------------------------------------------------------

def extract_vmlinux(bzimage):
    """The ELF vmlinux inside a bzImage: the setup header (boot.rst) gives the
    payload's offset and length relative to the protected-mode code, which
    starts after (setup_sects + 1) * 512 bytes. Debian's payload is XZ."""
    data = open(bzimage, "rb").read()
    if data[0x202:0x206] != b"HdrS":
        sys.exit(f"{bzimage}: no setup header ('HdrS' at 0x202)")
    version, = struct.unpack_from("<H", data, 0x206)
    if version < 0x208:
        sys.exit(f"{bzimage}: boot protocol {version:#x} has no payload fields (need 2.08)")
    setup_sects = data[0x1F1] or 4
    off, length = struct.unpack_from("<II", data, 0x248)
    start = (setup_sects + 1) * 512 + off
    payload = data[start:start + length]
    if payload[:6] != b"\xfd7zXZ\x00":
        sys.exit(f"{bzimage}: payload at {start:#x} is not XZ (starts {payload[:6].hex()})")
    d = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
    elf = d.decompress(payload)  # unused_data: the 4-byte size the build appends
    if elf[:4] != b"\x7fELF":
        sys.exit(f"{bzimage}: decompressed payload is not ELF")
    return elf


# ---- cpio (newc), written here so no host tool or root is needed --------------------

class Cpio:
    def __init__(self):
        self.out = bytearray()
        self.ino = 1

    def add(self, name, mode, data=b"", rdev=(0, 0)):
        name_b = name.encode() + b"\0"
        hdr = "070701" + "".join(f"{v:08x}" for v in (
            self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name_b), 0))
        self.ino += 1
        self.out += hdr.encode() + name_b
        self.out += b"\0" * (-len(self.out) % 4)
        self.out += data
        self.out += b"\0" * (-len(self.out) % 4)

    def dir(self, name):
        self.add(name, 0o040755)

    def file(self, name, data, perm=0o755):
        self.add(name, 0o100000 | perm, data)

    def symlink(self, name, target):
        self.add(name, 0o120777, target.encode())

    def chardev(self, name, major, minor):
        self.add(name, 0o020600, rdev=(major, minor))

    def finish(self):
        self.add("TRAILER!!!", 0)
        return bytes(self.out)


def build_programs():
    bindir = os.path.join(OUT, "bin")
    os.makedirs(bindir, exist_ok=True)
    for p in PROGRAMS:
        src = os.path.join(GUEST, p + ".c")
        dst = os.path.join(bindir, p)
        deps = [src, os.path.join(GUEST, "common.h")]
        if os.path.exists(dst) and all(os.path.getmtime(dst) >= os.path.getmtime(d) for d in deps):
            continue
        run(["gcc", "-static", "-O2", "-Wall", "-Wextra", "-Werror", "-pthread", "-o", dst, src])
    return bindir


def build():
    kpkg = kernel_package()
    kroot = unpack(kpkg)
    bbroot = unpack("busybox-static")
    vmlinuz = sorted(glob.glob(os.path.join(kroot, "boot", "vmlinuz-*")))
    if not vmlinuz:
        sys.exit(f"{kpkg}: no boot/vmlinuz-* inside")
    bz, vml = os.path.join(OUT, "bzImage"), os.path.join(OUT, "vmlinux")
    if not (os.path.exists(vml) and os.path.exists(bz) and
            open(bz, "rb").read() == open(vmlinuz[-1], "rb").read()):
        shutil.copyfile(vmlinuz[-1], bz)
        with open(vml + ".tmp", "wb") as f:
            f.write(extract_vmlinux(bz))
        os.replace(vml + ".tmp", vml)

    bindir = build_programs()
    c = Cpio()
    for d in ["bin", "sbin", "proc", "sys", "dev", "tmp", "root"]:
        c.dir(d)
    c.chardev("dev/console", 5, 1)   # /init's stdio before devtmpfs is mounted
    c.chardev("dev/null", 1, 3)
    c.file("bin/busybox", open(os.path.join(bbroot, "bin", "busybox"), "rb").read())
    for a in APPLETS:
        c.symlink("bin/" + a, "busybox")
    for p in PROGRAMS:
        c.file("bin/" + p, open(os.path.join(bindir, p), "rb").read())
    c.file("init", open(os.path.join(GUEST, "init"), "rb").read())
    with open(os.path.join(OUT, "initramfs.cpio.gz"), "wb") as f:
        f.write(gzip.compress(c.finish(), 9, mtime=0))
    build_bad()
    for name in ["bzImage", "vmlinux", "initramfs.cpio.gz"]:
        print(f"build/linux/{name}: {os.path.getsize(os.path.join(OUT, name))} bytes")


def build_bad():
    """Broken inputs (bad/), derived from the good ones."""
    bad = os.path.join(OUT, "bad")
    os.makedirs(bad, exist_ok=True)
    bz = open(os.path.join(OUT, "bzImage"), "rb").read()
    with open(os.path.join(bad, "bzImage-truncated"), "wb") as f:
        f.write(bz[:len(bz) // 2])
    # The 64-bit entry is at load address + 0x200: file offset (setup_sects + 1) * 512 + 0x200.
    entry = ((bz[0x1F1] or 4) + 1) * 512 + 0x200
    with open(os.path.join(bad, "bzImage-ud2"), "wb") as f:
        f.write(bz[:entry] + b"\x0f\x0b" + bz[entry + 2:])
    rd = bytearray(open(os.path.join(OUT, "initramfs.cpio.gz"), "rb").read())
    mid = len(rd) // 2
    rd[mid:mid + 4096] = bytes(4096)
    with open(os.path.join(bad, "initramfs-corrupt.cpio.gz"), "wb") as f:
        f.write(bytes(rd))


def boot(args):
    """Boot natively (no hv) in QEMU TCG and check the workload's end line."""
    kernel = os.path.join(OUT, "vmlinux" if args.pvh else "bzImage")
    append = f"console=ttyS0 panic=-1 hv.workload={args.workload} hv.n={args.n} {args.append}".strip()
    cmd = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", args.cpu, "-m", str(args.memory),
           "-smp", str(args.smp), "-kernel", kernel, "-initrd", os.path.join(OUT, "initramfs.cpio.gz"),
           "-append", append, "-nographic", "-no-reboot", "-monitor", "none"]
    print("+ " + " ".join(cmd), flush=True)
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=args.timeout)
        out, verdict = p.stdout, None
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        verdict = f"timeout after {args.timeout} s"
    tag = f"{args.workload}{'-pvh' if args.pvh else ''}-{args.cpu.replace(',', '_')}-smp{args.smp}"
    log = os.path.join(OUT, f"boot-{tag}.log")
    with open(log, "w") as f:
        f.write(out)
    want = f"hv-linux: end workload={args.workload} status=0"
    if verdict is None:
        verdict = "ok" if want in out else "no '" + want + "' line"
    for line in out.splitlines():
        if line.startswith(("hv-linux:", "pingpong:", "hello:")) or "Kernel panic" in line:
            print("  | " + line.rstrip())
    print(f"{'PASS' if verdict == 'ok' else 'FAIL'}: {args.workload} "
          f"({'PVH vmlinux' if args.pvh else 'bzImage'}, -cpu {args.cpu}, -smp {args.smp}): {verdict}; log {os.path.relpath(log, ROOT)}")
    return 0 if verdict == "ok" else 1


def build_selfboot():
    """plan (host C: hv/linux.c + hv/acpi.c) and the PVH stub, under build/linux/selfboot."""
    d = os.path.join(OUT, "selfboot")
    os.makedirs(d, exist_ok=True)
    hv = os.path.join(ROOT, "hv")
    run(["gcc", "-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror", "-I" + hv, "-o", os.path.join(d, "plan"),
         os.path.join(ROOT, "tests", "linux", "plan.c"), os.path.join(hv, "linux.c"),
         os.path.join(hv, "acpi.c"), os.path.join(hv, "lib", "format.c")])
    run(["nasm", "-f", "elf64", "-o", os.path.join(d, "stub.o"), os.path.join(ROOT, "tests", "linux", "pvhstub.asm")])
    run(["ld", "-m", "elf_x86_64", "-Ttext=0x200000", "-o", os.path.join(d, "stub.elf"), os.path.join(d, "stub.o")])
    return d


def selfboot(args):
    """Boot the kernel through hv's plan (no hv yet: QEMU's firmware, then the stub)."""
    d = build_selfboot()
    kernel = os.path.join(OUT, "vmlinux" if args.pvh else "bzImage")
    # tsc_early_khz: with an AMD CPUID vendor (QEMU's -cpu max) and no PIT, HPET or
    # PM timer, Linux has no way to learn the TSC frequency (docs/platform.md).
    cmdline = (f"console=ttyS0 panic=-1 tsc_early_khz={args.tsc_khz} "
               f"hv.workload={args.workload} hv.n={args.n} {args.append}").strip()
    lst = os.path.join(d, "pvh.list" if args.pvh else "bz.list")
    run([os.path.join(d, "plan"), kernel, os.path.join(OUT, "initramfs.cpio.gz"), cmdline,
         str(args.memory), str(args.smp), lst] + (["x2apic"] if args.x2apic else []))
    # QEMU gets more RAM than the plan: its copy of the load list (the -initrd) sits
    # above the plan's RAM, out of the way of everything the stub copies.
    cmd = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", args.cpu, "-m", str(2 * args.memory + 64),
           "-smp", str(args.smp), "-kernel", os.path.join(d, "stub.elf"), "-initrd", lst,
           "-nographic", "-no-reboot", "-monitor", "none"]
    print("+ " + " ".join(cmd), flush=True)
    want = f"hv-linux: end workload={args.workload} status=0"
    out, ended, off = [], False, False
    import select
    import time
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + args.timeout
    buf = b""
    try:
        while time.monotonic() < deadline and p.poll() is None:
            r, _, _ = select.select([p.stdout], [], [], 1.0)
            if not r:
                continue
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for raw in lines:
                line = raw.decode(errors="replace").rstrip("\r")
                out.append(line)
                ended |= want in line
                off |= "reboot: Power down" in line
            if off:
                break
    finally:
        p.kill()
        p.wait()
    log = os.path.join(OUT, f"selfboot-{args.workload}{'-pvh' if args.pvh else ''}-"
                            f"{args.cpu.replace(',', '_')}-smp{args.smp}.log")
    with open(log, "w") as f:
        f.write("\n".join(out) + "\n")
    for line in out:
        if line.startswith(("hv-linux:", "pingpong:", "hello:", "pvhstub:")) or \
                any(k in line for k in ("Kernel panic", "ACPI: RSDP", "ttyS0 at", "reboot: Power down", "smpboot: Total")):
            print("  | " + line)
    verdict = "ok" if ended and off else ("no '" + want + "' line" if not ended else "no ACPI power-off")
    if not off and time.monotonic() >= deadline:
        verdict += f" (timeout after {args.timeout} s)"
    print(f"{'PASS' if verdict == 'ok' else 'FAIL'}: selfboot {args.workload} "
          f"({'PVH vmlinux' if args.pvh else 'bzImage'} via hv's plan, -cpu {args.cpu}, -smp {args.smp}): {verdict}; "
          f"log {os.path.relpath(log, ROOT)}")
    return 0 if verdict == "ok" else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("build")
    b = sub.add_parser("boot")
    b.add_argument("workload")
    b.add_argument("--n", type=int, default=1000)
    b.add_argument("--pvh", action="store_true", help="boot the ELF vmlinux (PVH entry)")
    b.add_argument("--cpu", default="max")
    b.add_argument("--smp", type=int, default=1)
    b.add_argument("--memory", type=int, default=256, help="MiB")
    b.add_argument("--append", default="")
    b.add_argument("--timeout", type=int, default=180)
    sb = sub.add_parser("selfboot")
    sb.add_argument("workload")
    sb.add_argument("--n", type=int, default=1000)
    sb.add_argument("--pvh", action="store_true", help="the ELF vmlinux (PVH entry)")
    sb.add_argument("--cpu", default="max")
    sb.add_argument("--smp", type=int, default=1)
    sb.add_argument("--memory", type=int, default=256, help="MiB of RAM in the plan")
    sb.add_argument("--tsc-khz", type=int, default=2000000)
    sb.add_argument("--x2apic", action="store_true", help="x2APIC entries in the MADT")
    sb.add_argument("--append", default="")
    sb.add_argument("--timeout", type=int, default=240)
    args = ap.parse_args()
    if args.cmd == "build":
        build()
        return 0
    return selfboot(args) if args.cmd == "selfboot" else boot(args)


if __name__ == "__main__":
    sys.exit(main())
