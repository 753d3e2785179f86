"""The platforms a scenario can run on (tests/run.py test --platform P).

    qemu             QEMU TCG, -cpu max (AMD SVM + NPT), hv.efi through OVMF
    qemu-mb2         QEMU TCG, -cpu max, SeaBIOS + GRUB ISO, hv-mb2.elf (Multiboot2)
    bochs-icelake    Bochs corei7_icelake_u (VT-x + EPT, IBPB), GRUB ISO, Multiboot2
    bochs-tigerlake  Bochs tigerlake (VT-x + EPT, IBPB), GRUB ISO, Multiboot2
    bochs-ryzen      Bochs ryzen (SVM + NPT, no IBPB), GRUB ISO, Multiboot2
    bochs-ovmf       Bochs corei7_icelake_u, hv.efi through OVMF (slow smoke test)
    bochs-icelake-x2apic  bochs-icelake, host LAPIC in x2APIC mode; group smp only
    qemu-usb         QEMU + OVMF booting the `make usb` image as a disk (GRUB -> hv.efi)
    qemu-usb-mb2     the same image, GRUB's second entry (Multiboot2 under UEFI)

Every scenario of tests/scenarios.cfg runs on every platform unless its
`platforms` key says otherwise (`platforms = * !bochs-ryzen`: all but one);
a platform marked opt_in (bochs-ovmf) runs only the scenarios that name it
exactly there. Logs: the qemu platform keeps
build/logs/NAME.log (as before platforms existed), every other platform
build/logs/PLATFORM/NAME.log.
"""

import fnmatch
from dataclasses import dataclass

from .common import LOG_DIR

DEFAULT = "qemu"


@dataclass(frozen=True)
class Platform:
    name: str
    emulator: str            # "qemu" or "bochs"
    boot: str                # "uefi" (hv.efi) or "mb2" (hv-mb2.elf on a GRUB ISO)
    cpu_model: str = ""      # Bochs CPU model
    opt_in: bool = False     # only for scenarios that name it exactly in `platforms`
    about: str = ""
    # Bochs: run with ignore_bad_msrs=1 and allow only these MSRs in the log's
    # "Unknown register" lines; None: ignore_bad_msrs=0 (a missing MSR is #GP),
    # or, for a firmware that needs it (OVMF), "any": ignored and not checked.
    bad_msrs_allowed: object = None
    # Variants (issue 14): lines put before the scenario's config, extra
    # `kv` pairs every run must show, and the only groups that run here.
    config_lines: tuple = ()
    expect: tuple = ()
    only_groups: tuple = ()

    @property
    def log_dir(self):
        return LOG_DIR if self.name == DEFAULT else LOG_DIR / self.name

    def label(self, scenario):
        """How results name a scenario run here: NAME on qemu, PLATFORM/NAME elsewhere."""
        return scenario if self.name == DEFAULT else "%s/%s" % (self.name, scenario)


ALL = [
    Platform("qemu", "qemu", "uefi",
             about="QEMU TCG -cpu max (SVM+NPT), hv.efi via OVMF"),
    Platform("qemu-mb2", "qemu", "mb2",
             about="QEMU TCG -cpu max (SVM+NPT), GRUB ISO, Multiboot2"),
    Platform("bochs-icelake", "bochs", "mb2", "corei7_icelake_u",
             about="Bochs corei7_icelake_u (VT-x+EPT, IBPB), GRUB ISO, Multiboot2"),
    Platform("bochs-tigerlake", "bochs", "mb2", "tigerlake",
             about="Bochs tigerlake (VT-x+EPT, IBPB), GRUB ISO, Multiboot2"),
    Platform("bochs-ryzen", "bochs", "mb2", "ryzen",
             about="Bochs ryzen (SVM+NPT, no IBPB), GRUB ISO, Multiboot2",
             bad_msrs_allowed=(0xc0010114,)),    # VM_CR: missing in Bochs's model
    Platform("bochs-icelake-x2apic", "bochs", "mb2", "corei7_icelake_u",
             about="bochs-icelake with the loader switching the host LAPIC to x2APIC "
                   "(host_x2apic = enable); group smp only",
             config_lines=("host_x2apic = enable",), expect=(("host.apic", "x2apic"),),
             only_groups=("smp",)),
    Platform("qemu-usb", "qemu", "usb", opt_in=True,
             about="QEMU TCG -cpu max, OVMF, the `make usb` disk image, GRUB menu entry 1 "
                   "(chainloads hv.efi)"),
    Platform("qemu-usb-mb2", "qemu", "usb-mb2", opt_in=True,
             about="QEMU TCG -cpu max, OVMF, the `make usb` disk image, GRUB menu entry 2 "
                   "(multiboot2 hv-mb2.elf)"),
    Platform("bochs-ovmf", "bochs", "uefi", "corei7_icelake_u", opt_in=True,
             about="Bochs corei7_icelake_u, hv.efi via OVMF (slow; opt-in scenarios only)",
             bad_msrs_allowed="any"),
]
BY_NAME = {p.name: p for p in ALL}


def variant_config(platform, name, config):
    """The scenario's config with the platform's config_lines first, written
    to build/configs/PLATFORM/NAME.cfg; returns its path."""
    out = LOG_DIR.parent / "configs" / platform.name / ("%s.cfg" % name)
    out.parent.mkdir(parents=True, exist_ok=True)
    head = "".join("%s\n" % l for l in platform.config_lines)
    out.write_text("# added by platform %s\n%s%s" % (platform.name, head, config.read_text()))
    return out


def parse(args):
    """--platform values (each may be a comma or blank separated list) ->
    [Platform], in the order given, without duplicates. Raises ValueError."""
    names = [n for arg in args for n in arg.replace(",", " ").split()] or [DEFAULT]
    chosen = []
    for n in names:
        if n not in BY_NAME:
            raise ValueError("unknown platform %r (known: %s)" % (n, ", ".join(BY_NAME)))
        if BY_NAME[n] not in chosen:
            chosen.append(BY_NAME[n])
    return chosen


def runs_on(patterns, platform):
    """Does a scenario whose `platforms` key holds these patterns run on
    platform? A pattern `!P` excludes what P matches; an opt-in platform
    must be named exactly."""
    if any(p.startswith("!") and fnmatch.fnmatchcase(platform.name, p[1:]) for p in patterns):
        return False
    if platform.opt_in:
        return platform.name in patterns
    return any(fnmatch.fnmatchcase(platform.name, p) for p in patterns if not p.startswith("!"))
