"""hv test harness: helpers behind tests/run.py (see docs/testing.md).

Modules:
  common     paths, environment overrides, running/killing child processes
  scenarios  tests/scenarios.cfg parser
  esp        per-scenario FAT boot disk (ESP) builder
  qemu       QEMU command line, run under a timeout, exit-status mapping
  accel      KVM probe / accelerator choice
  judge      serial-log parsing (kv / trace lines) and the PASS/FAIL verdict
  oracle     the build/oracle hook
  unit       cmocka unit-test binaries (TAP)
  cli        the command-line front end
  selftest   unit tests of the harness itself (tests/run.py selftest)
"""
