#!/usr/bin/env python3
"""hv test runner. See docs/testing.md, or: tests/run.py --help

  tests/run.py test [NAMES...] [-j N] [--group G] [--platform P] [--list] [--verbose]
  tests/run.py boot CONFIG [--platform P] [--smp N] [--timeout S] [--gdb] [--qemu-args ...]
  tests/run.py iso CONFIG [-o FILE]
  tests/run.py selftest
"""

import os
import sys

sys.dont_write_bytecode = True      # keep tests/harness/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
