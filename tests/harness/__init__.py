"""hv test harness: helpers behind tests/run.py (see docs/testing.md).

Modules:
  common     paths, environment overrides, running/killing child processes
  scenarios  tests/scenarios.cfg parser
  platforms  where scenarios run: qemu, qemu-mb2, bochs-icelake/tigerlake/ryzen, bochs-ovmf
  esp        per-scenario FAT boot disk (ESP) builder
  iso        per-scenario GRUB ISO (Multiboot2) builder, also `make iso`
  qemu       QEMU command line, run under a timeout, exit-status mapping
  bochs      bochsrc from tests/bochs/, Bochs under a timeout, outcome from the log
  accel      KVM probe / accelerator choice
  judge      serial-log parsing (kv / trace lines) and the PASS/FAIL verdict
  oracle     the build/oracle hook
  unit       cmocka unit-test binaries (TAP)
  cli        the command-line front end
  selftest   unit tests of the harness itself (tests/run.py selftest)
"""
