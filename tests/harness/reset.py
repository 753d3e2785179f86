"""Scenarios of hv's `on_end = reset` (issue 14): QEMU runs with -no-reboot,
so the machine reset hv asks for ends QEMU with status 0 instead of booting
OVMF again. The outcome is the word of hv's `hv: exit X` line, accepted only
when QEMU really ended by that reset (status 0, after hv's "resetting" line);
anything else (isa-debug-exit, a hang, a crash) fails the scenario.
"""

import re

from . import qemu


class Run(qemu.Run):
    exit_word = None

    @property
    def outcome(self):
        if self.timed_out:
            return "timeout"
        if self.qemu_error:
            return "crash"
        return self.exit_word or "crash"

    def status(self):
        return "QEMU status %s after hv's reset" % self.returncode


def run_to_log(cmd, log_path, timeout, cwd):
    base = qemu.run_to_log(cmd + ["-no-reboot"], log_path, timeout, cwd)
    res = Run(**{k: getattr(base, k) for k in ("returncode", "timed_out", "elapsed", "stderr")})
    text = log_path.read_bytes().decode("utf-8", "replace")
    m = re.search(r"^hv: exit (\S+)\s*$", text, re.M)
    if base.returncode == 0 and m and re.search(r"^hv: resetting through ", text[m.end():], re.M):
        res.exit_word = m.group(1)
    else:
        res.qemu_error = "QEMU did not end by hv's reset (%s)" % qemu.describe_status(base.returncode)
    return res
