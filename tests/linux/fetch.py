#!/usr/bin/env python3
"""Fetch and unpack Debian's kernel and busybox, never installing them.

    tests/linux/fetch.py [--dest build/linux]

Looks up the kernel package `linux-image-amd64` depends on (for example
linux-image-6.1.0-NN-amd64) and `busybox-static`, downloads the .debs with
`apt-get download` into DEST/debs and unpacks each with `dpkg -x` into
DEST/root-PACKAGE. Nothing is installed on the host. Prints the paths found
(vmlinuz, the modules directory, busybox). Reusable: `make bench-kvm` uses it
for KVM, and a Linux guest of hv can use the same kernel.

As a module: `fetch(dest) -> dict` with keys kernel_pkg, version, vmlinuz,
modules (the /lib/modules/VERSION directory), busybox.
"""

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DEST = ROOT / "build" / "linux"


def _run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def kernel_package():
    """The linux-image-*-amd64 package linux-image-amd64 depends on."""
    def lookup():
        out = subprocess.run(["apt-cache", "depends", "linux-image-amd64"],
                             capture_output=True, text=True).stdout
        m = re.search(r"Depends:\s*(linux-image-[0-9][^\s]*-amd64)\b", out)
        return m.group(1) if m else None
    pkg = lookup()
    if pkg is None:
        print("fetch: apt-cache knows no linux-image-amd64; running apt-get update")
        subprocess.run(["apt-get", "update", "-q"], check=False)
        pkg = lookup()
    if pkg is None:
        raise SystemExit("fetch: cannot find the kernel package linux-image-amd64 depends on")
    return pkg


def download(pkg, debs):
    debs.mkdir(parents=True, exist_ok=True)
    have = sorted(debs.glob(pkg + "_*.deb"))
    if have:
        return have[-1]
    r = subprocess.run(["apt-get", "download", pkg], cwd=debs, capture_output=True, text=True)
    if r.returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], check=False)
        r = subprocess.run(["apt-get", "download", pkg], cwd=debs, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("fetch: apt-get download %s failed:\n%s" % (pkg, r.stderr.strip()))
    have = sorted(debs.glob(pkg + "_*.deb"))
    if not have:
        raise SystemExit("fetch: apt-get download %s left no .deb in %s" % (pkg, debs))
    return have[-1]


def unpack(deb, dest):
    stamp = dest / ".unpacked"
    if stamp.exists() and stamp.read_text() == deb.name:
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    _run(["dpkg", "-x", str(deb), str(dest)])
    stamp.write_text(deb.name)
    return dest


def fetch(dest=DEFAULT_DEST):
    dest = Path(dest)
    debs = dest / "debs"
    kpkg = kernel_package()
    version = kpkg[len("linux-image-"):]
    kroot = unpack(download(kpkg, debs), dest / ("root-" + kpkg))
    broot = unpack(download("busybox-static", debs), dest / "root-busybox-static")
    vmlinuz = kroot / "boot" / ("vmlinuz-" + version)
    modules = kroot / "lib" / "modules" / version
    busybox = broot / "bin" / "busybox"
    for p in (vmlinuz, modules, busybox):
        if not p.exists():
            raise SystemExit("fetch: expected %s after unpacking" % p)
    return dict(kernel_pkg=kpkg, version=version, vmlinuz=vmlinuz, modules=modules,
                busybox=busybox)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dest", default=str(DEFAULT_DEST))
    args = ap.parse_args()
    got = fetch(args.dest)
    for k, v in got.items():
        print("%s: %s" % (k, v))


if __name__ == "__main__":
    sys.exit(main())
