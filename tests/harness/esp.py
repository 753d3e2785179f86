"""Build the FAT boot disk (ESP) that OVMF boots for one scenario:

    EFI/BOOT/BOOTX64.EFI   <- build/hv.efi
    hv.cfg                 <- the scenario's hv config
    NAME.bin ...           <- every `image = NAME.bin` named in the config that
                              exists in build/guest/ (missing ones are left out
                              on purpose: a scenario may test a missing image)
    DIR/NAME.bin           <- `image = DIR/NAME.bin` (docs/config.md allows
                              directories): taken from build/guest/DIR/NAME.bin,
                              or else build/guest/NAME.bin
    linux/NAME             <- `kernel = linux/NAME`, `initrd = linux/NAME` (a Linux
                              VM; NAME may be bad/NAME): taken from build/linux/NAME, which
                              tests/linux/initramfs.py builds when it is missing
"""

import fcntl
import os
import re
import subprocess
import sys
from pathlib import Path

from .common import BUILD, ESP_DIR, GUEST_DIR, ROOT, rel, run_captured

IMAGE_RE = re.compile(r"^\s*(?:image|kernel|initrd)\s*=\s*([^#]*)")
LINUX_DIR = BUILD / "linux"
LINUX_BUILD_TIMEOUT = 900            # apt-get download + unpack + initramfs, first time only
IMAGE_NAME_RE = re.compile(r"^[A-Za-z0-9._/-]+$")       # docs/config.md, `image`
MIN_KIB = 16384                      # mkfs.fat -C IMG 16384
TOOL_TIMEOUT = 30


class EspError(Exception):
    pass


def images_in_config(text):
    """Image file names named by `image = NAME` lines, in order, without
    duplicates (case-insensitive, as FAT is)."""
    seen, names = set(), []
    for line in text.splitlines():
        m = IMAGE_RE.match(line)
        if not m:
            continue
        value = m.group(1).strip()
        if value and value.lower() not in seen:
            seen.add(value.lower())
            names.append(value)
    return names


def ensure_linux(name):
    """build/linux/NAME, built by tests/linux/initramfs.py (Debian packages
    through apt-get download) when missing; one build at a time."""
    target = LINUX_DIR.joinpath(*name.split("/"))
    if target.is_file():
        return target
    LINUX_DIR.mkdir(parents=True, exist_ok=True)
    with open(LINUX_DIR / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not target.is_file():
            subprocess.run([sys.executable, str(ROOT / "tests" / "linux" / "initramfs.py"), "build"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=LINUX_BUILD_TIMEOUT, check=False)
    return target


def source(image, guest_dir):
    """The build/guest file for an image name, or None. Names hv would
    reject, or that would escape the ESP, are never copied."""
    parts = image.split("/")
    if not IMAGE_NAME_RE.match(image) or any(p in ("", ".", "..") for p in parts) \
            or image.lower() == "hv.cfg" or parts[0].lower() == "efi":
        return None
    if parts[0] == "linux" and len(parts) >= 2:     # a Linux VM's kernel or initrd
        src = ensure_linux("/".join(parts[1:]))
        return src if src.is_file() else None
    for src in (guest_dir.joinpath(*parts), guest_dir / parts[-1]):
        try:
            if src.is_file():
                return src
        except OSError:         # a name too long for the host file system...
            pass                # ...is not copied: hv reports the missing image
    return None


_source = source      # the old private name


def _tool(cmd):
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    rc, out, err = run_captured(cmd, TOOL_TIMEOUT, env=env)
    if rc != 0:
        msg = (err.strip() or out.strip() or "no output").splitlines()[-1]
        status = "timed out" if rc is None else "failed (%d)" % rc
        raise EspError("%s %s: %s" % (cmd[0], status, msg))


def build(name, config, efi, guest_dir=GUEST_DIR, esp_dir=ESP_DIR):
    """Create esp_dir/NAME.img. Returns (image path, [copied image names],
    [image names not found in guest_dir])."""
    config, efi, guest_dir = Path(config), Path(efi), Path(guest_dir)
    if not efi.is_file():
        raise EspError("%s not found; build hv first" % rel(efi))
    try:
        text = config.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise EspError("cannot read %s: %s" % (rel(config), e.strerror))

    copies, missing = [], []
    for image in images_in_config(text):
        src = source(image, guest_dir)
        if src:
            copies.append((src, image))
        else:
            missing.append(image)     # left for hv to report

    payload = efi.stat().st_size + config.stat().st_size + sum(s.stat().st_size for s, _ in copies)
    kib = max(MIN_KIB, (payload * 5 // 4) // 1024 + 2048)

    esp_dir = Path(esp_dir)
    esp_dir.mkdir(parents=True, exist_ok=True)
    final = esp_dir / ("%s.img" % name)
    tmp = esp_dir / (".%s.img.tmp%d" % (name, os.getpid()))
    try:
        if tmp.exists():
            tmp.unlink()
        _tool(["mkfs.fat", "-C", str(tmp), str(kib)])
        _tool(["mmd", "-i", str(tmp), "::/EFI", "::/EFI/BOOT"])
        _tool(["mcopy", "-i", str(tmp), "-D", "o", str(efi), "::/EFI/BOOT/BOOTX64.EFI"])
        _tool(["mcopy", "-i", str(tmp), "-D", "o", str(config), "::/hv.cfg"])
        made = set()
        for src, image in copies:
            parts = image.split("/")
            for i in range(1, len(parts)):
                d = "/".join(parts[:i]).lower()
                if d not in made:
                    made.add(d)
                    _tool(["mmd", "-i", str(tmp), "-D", "s", "::/" + "/".join(parts[:i])])
            _tool(["mcopy", "-i", str(tmp), "-D", "o", str(src), "::/" + image])
        os.replace(tmp, final)
    except FileNotFoundError as e:
        raise EspError("%s not installed (need dosfstools and mtools)" % e.filename)
    finally:
        if tmp.exists():
            tmp.unlink()
    return final, [image for _, image in copies], missing
