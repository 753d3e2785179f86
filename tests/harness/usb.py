"""`make usb`: a raw disk image to write to a USB stick with dd.

Layout (UEFI spec 5.3 "GUID Partition Table Disk Layout"):
    LBA 0            protective MBR (one partition of type 0xEE)
    LBA 1            GPT header; LBA 2..33 the partition entry array
    LBA 2048 ...     the EFI system partition (FAT, mkfs.fat + mtools)
    last 33 LBAs     backup entry array, backup header (last LBA)

The ESP holds:
    EFI/BOOT/BOOTX64.EFI   GRUB (grub-mkstandalone, x86_64-efi) with a menu:
                           1. hv (UEFI): chainloads /EFI/hv/hv.efi   (default)
                           2. hv (Multiboot2): multiboot2 /boot/hv-mb2.elf
    EFI/hv/hv.efi          hv's UEFI application (also bootable on its own)
    boot/hv-mb2.elf        hv's Multiboot2 image
    hv.cfg                 the config; guest images next to it (both paths
                           read them from the root: hv.efi from its volume,
                           GRUB as `module2 /NAME NAME`)

Why GRUB first: one image offers both boot paths, and a person sees a menu
(with a timeout) naming them. No root rights, loop devices or mounts: the
FAT file system is made in a file and spliced into the disk image.
"""

import shutil
import struct
import subprocess
import tempfile
import uuid
import zlib
from pathlib import Path

from . import esp
from .common import GUEST_DIR

SECTOR = 512
ESP_START = 2048                          # 1 MiB alignment
ESP_TYPE = uuid.UUID("c12a7328-f81f-11d2-ba4b-00a0c93ec93b")   # EFI system partition
GRUB_MODULES = "part_gpt fat chain multiboot2 normal configfile echo search search_fs_file " \
               "efi_gop efi_uga all_video gfxterm serial terminal sleep"


class UsbError(Exception):
    pass


def grub_cfg(images, timeout, default=0):
    mods = "".join("\tmodule2 /%s %s\n" % (n, n) for n in ["hv.cfg"] + images)
    return (
        "set timeout=%d\n"
        "set default=%d\n"
        "serial --unit=0 --speed=115200\n"
        "terminal_output --append serial\n"
        "search --no-floppy --file /EFI/hv/hv.efi --set=root\n"
        "menuentry \"hv (UEFI: hv.efi)\" {\n"
        "\tchainloader /EFI/hv/hv.efi\n"
        "}\n"
        "menuentry \"hv (Multiboot2: hv-mb2.elf)\" {\n"
        "\tset gfxpayload=keep\n"
        "\tmultiboot2 /boot/hv-mb2.elf\n"
        "%s"
        "}\n" % (timeout, default, mods))


def _run(cmd):
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    except FileNotFoundError:
        raise UsbError("%s not found (Debian packages: grub-efi-amd64-bin, dosfstools, mtools)" % cmd[0])
    if r.returncode:
        raise UsbError("%s failed: %s" % (" ".join(cmd[:2]), r.stdout.decode(errors="replace").strip()))


def _gpt(total_sectors, first, last, disk_guid, part_guid):
    """(primary header+entries, backup entries+header, protective MBR)."""
    name = "EFI system partition".encode("utf-16-le")
    entry = ESP_TYPE.bytes_le + part_guid.bytes_le + struct.pack("<QQQ", first, last, 0) + \
        name.ljust(72, b"\0")
    entries = entry.ljust(128 * 128, b"\0")
    ecrc = zlib.crc32(entries)
    last_lba = total_sectors - 1

    def header(current, backup, entries_lba):
        h = struct.pack("<8sIIIIQQQQ16sQIII", b"EFI PART", 0x00010000, 92, 0, 0,
                        current, backup, 34, last_lba - 33, disk_guid.bytes_le,
                        entries_lba, 128, 128, ecrc)
        h = h[:16] + struct.pack("<I", zlib.crc32(h)) + h[20:]
        return h.ljust(SECTOR, b"\0")

    primary = header(1, last_lba, 2) + entries
    backup = entries + header(last_lba, 1, last_lba - 32)
    mbr = bytearray(SECTOR)
    size = min(total_sectors - 1, 0xffffffff)
    mbr[446:462] = struct.pack("<B3sB3sII", 0, b"\x00\x02\x00", 0xee, b"\xff\xff\xff", 1, size)
    mbr[510:512] = b"\x55\xaa"
    return primary, backup, bytes(mbr)


def build(config, out, hv_efi, hv_mb2, guest_dir=GUEST_DIR, esp_mib=64, timeout=3, default=0):
    """Write the image for config to out. Returns the guest images copied."""
    config, out = Path(config), Path(out)
    text = config.read_text(encoding="utf-8", errors="replace")
    images = esp.images_in_config(text)
    for f in (hv_efi, hv_mb2):
        if not Path(f).is_file():
            raise UsbError("%s missing: run make first" % f)
    srcs = []
    for name in images:
        src = esp.source(name, Path(guest_dir))
        if src is None:
            raise UsbError("%s: image '%s' not found in %s" % (config, name, guest_dir))
        srcs.append((name, src))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "grub.cfg").write_text(grub_cfg(images, timeout, default))
        grub = tmp / "BOOTX64.EFI"
        _run(["grub-mkstandalone", "-O", "x86_64-efi", "-o", str(grub),
              "--modules=" + GRUB_MODULES, "--locales=", "--fonts=", "--themes=",
              "boot/grub/grub.cfg=%s" % (tmp / "grub.cfg")])
        fat = tmp / "esp.img"
        # FAT32 needs at least 65525 clusters (Microsoft FAT spec): 512-byte
        # clusters give 64 MiB about 131,000
        _run(["mkfs.fat", "-F", "32", "-s", "1", "-n", "HV", "-C", str(fat), str(esp_mib * 1024)])
        m = ["-i", str(fat)]
        _run(["mmd"] + m + ["::/EFI", "::/EFI/BOOT", "::/EFI/hv", "::/boot"])
        _run(["mcopy"] + m + [str(grub), "::/EFI/BOOT/BOOTX64.EFI"])
        _run(["mcopy"] + m + [str(hv_efi), "::/EFI/hv/hv.efi"])
        _run(["mcopy"] + m + [str(hv_mb2), "::/boot/hv-mb2.elf"])
        _run(["mcopy"] + m + [str(config), "::/hv.cfg"])
        for name, src in srcs:
            _run(["mcopy"] + m + [str(src), "::/" + name])
        fat_bytes = fat.read_bytes()
    esp_sectors = len(fat_bytes) // SECTOR
    total = ESP_START + esp_sectors + 2048
    seed = zlib.crc32(fat_bytes)
    disk_guid = uuid.uuid5(uuid.NAMESPACE_OID, "hv-usb-disk-%08x" % seed)
    part_guid = uuid.uuid5(uuid.NAMESPACE_OID, "hv-usb-esp-%08x" % seed)
    primary, backup, mbr = _gpt(total, ESP_START, ESP_START + esp_sectors - 1, disk_guid, part_guid)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as f:
        f.truncate(total * SECTOR)
        f.write(mbr)
        f.write(primary)
        f.seek(ESP_START * SECTOR)
        f.write(fat_bytes)
        f.seek((total - 33) * SECTOR)
        f.write(backup)
    return [n for n, _ in srcs]


def main(argv=None):
    import argparse
    from .common import HV_EFI, HV_MB2
    ap = argparse.ArgumentParser(prog="tests/harness/usb.py",
                                 description="build a USB stick image (GPT + FAT ESP) for a config")
    ap.add_argument("config")
    ap.add_argument("-o", "--out", default="build/hv-usb.img")
    ap.add_argument("--timeout", type=int, default=3, help="GRUB menu timeout in seconds")
    a = ap.parse_args(argv)
    try:
        copied = build(a.config, a.out, HV_EFI, HV_MB2, timeout=a.timeout)
    except (UsbError, OSError) as e:
        raise SystemExit("make usb: %s" % e)
    print("%s: GPT disk image, FAT ESP with GRUB (EFI/BOOT/BOOTX64.EFI), hv.efi, hv-mb2.elf, "
          "hv.cfg (%s) and %d guest image(s): %s" % (a.out, a.config, len(copied), " ".join(copied)))
    print("write it with: sudo dd if=%s of=/dev/sdX bs=4M conv=fsync   (docs/booting.md)" % a.out)


if __name__ == "__main__":
    main()
