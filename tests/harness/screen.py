"""Screen-console scenarios (issue 14): boot hv in QEMU with a display and no
serial port, take a screendump when hv has ended, read the text back from the
picture and compare it with what hv printed.

How the text is read without OCR: hv draws 8x16 glyphs from hv/x86/font8x16.c
in grey on black, cell (r, c) at pixel (8c, 16r). This module parses the same
glyph table from the C source, cuts the picture into 8x16 cells, turns each
cell into 16 row bytes (a pixel is lit when any channel exceeds 0x60) and looks
the bytes up in the table: an exact match or the cell is unreadable.

What it is compared with: hv's log. With `console = screen` hv switches COM1
off and, under QEMU only, writes its text to port 0xE9, which QEMU's
isa-debugcon turns into this run's log. The expected screen is the log from
hv's "hv: screen console" line on, with the `kv` and `trace` lines dropped,
wrapped at the screen's width and scrolled the way hv/x86/fbcon.c scrolls
(half a screen at a time; the report starts a new page). The picture must match it cell for cell, and it
must hold the report. The picture is kept as NAME.png beside NAME.log.
"""

import json
import os
import re
import socket
import struct
import subprocess
import time
import zlib

from .common import CHILDREN, ROOT, stop

FONT_C = ROOT / "hv" / "x86" / "font8x16.c"
FONT_FIRST = 0x20
MAX_COLS, MAX_ROWS = 240, 135


def load_font(path=FONT_C):
    """{16 row bytes: character} from the C table (one glyph per line)."""
    table = {}
    for m in re.finditer(r"/\* 0x([0-9a-f]{2}) .*?\*/ \{([^}]*)\}", path.read_text()):
        rows = bytes(int(x, 16) for x in m.group(2).replace(",", " ").split())
        ch = chr(int(m.group(1), 16))
        if len(rows) != 16:
            raise ValueError("glyph 0x%s has %d rows" % (m.group(1), len(rows)))
        table.setdefault(rows, ch)      # duplicates: the first wins (hv never needs both)
    if len(table) < 90:
        raise ValueError("%s: only %d glyphs parsed" % (path, len(table)))
    return table


def read_ppm(data):
    """(width, height, rgb bytes) of a binary PPM (P6, maxval 255)."""
    m = re.match(rb"P6\s+(?:#[^\n]*\n\s*)*(\d+)\s+(\d+)\s+(\d+)\s", data)
    if not m or int(m.group(3)) != 255:
        raise ValueError("not a P6 PPM with maxval 255")
    w, h = int(m.group(1)), int(m.group(2))
    pixels = data[m.end():m.end() + 3 * w * h]
    if len(pixels) != 3 * w * h:
        raise ValueError("PPM is short: %d of %d bytes" % (len(pixels), 3 * w * h))
    return w, h, pixels


def write_png(path, w, h, rgb):
    """A plain RGB PNG (no external packages)."""
    raw = b"".join(b"\0" + rgb[y * 3 * w:(y + 1) * 3 * w] for y in range(h))
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
    path.write_bytes(png)


def decode(w, h, rgb, font):
    """The text grid on the picture: a list of rows (strings); '\\x7f' marks
    a cell that is no glyph of the table."""
    cols, rows = min(w // 8, MAX_COLS), min(h // 16, MAX_ROWS)
    lit = bytes(1 if max(rgb[i], rgb[i + 1], rgb[i + 2]) > 0x60 else 0 for i in range(0, 3 * w * h, 3))
    out = []
    for r in range(rows):
        line = []
        for c in range(cols):
            cell = bytes(sum(lit[(r * 16 + y) * w + c * 8 + x] << (7 - x) for x in range(8))
                         for y in range(16))
            line.append(font.get(cell, "\x7f"))
        out.append("".join(line))
    return out


def expected_grid(log_text, cols, rows):
    """What hv/x86/fbcon.c leaves on a cols x rows screen for this log."""
    lines = log_text.replace("\r", "").split("\n")
    lines = lines[:-1]                    # an unfinished last line is not drawn yet
    start = max((i for i, l in enumerate(lines) if l.startswith("hv: screen console")), default=None)
    if start is None:
        return None
    grid, cur = [" " * cols for _ in range(rows)], 0
    for l in lines[start:]:
        if l.startswith("kv ") or l.startswith("trace "):
            continue
        l = "".join(ch if " " <= ch < "\x7f" else "?" for ch in l)[:512]
        if l.startswith("==================== hv report") and cur:
            grid, cur = [" " * cols for _ in range(rows)], 0     # a new page for the report
        while True:
            if cur == rows:
                keep = rows - rows // 2
                grid = grid[rows - keep:] + [" " * cols for _ in range(rows - keep)]
                cur = keep
            grid[cur] = l[:cols].ljust(cols)
            cur += 1
            l = l[cols:]
            if not l:
                break
    return grid


def compare(screen, log_text):
    """None if the screen shows what the log says it should, else the reason."""
    rows, cols = len(screen), len(screen[0]) if screen else 0
    want = expected_grid(log_text, cols, rows)
    if want is None:
        return "the log has no 'hv: screen console' line: hv found no screen"
    for r, (got, exp) in enumerate(zip(screen, want)):
        if got != exp:
            c = next(i for i in range(cols) if got[i] != exp[i])
            return "screen row %d col %d differs from the log: screen %r, log %r" % (
                r, c, got.rstrip().replace("\x7f", "?"), exp.rstrip())
    text = "\n".join(screen)
    if "hv report" not in text:
        return "screen matches the log but does not show the report header"
    return None


def qmp(path, *commands, timeout=20.0):
    """Run QMP commands on the socket at path; returns their replies."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(str(path))
    f = s.makefile("rwb")
    json.loads(f.readline())                             # greeting
    replies = []
    for cmd in ({"execute": "qmp_capabilities"},) + commands:
        f.write(json.dumps(cmd).encode() + b"\n")
        f.flush()
        while True:
            msg = json.loads(f.readline())
            if "return" in msg or "error" in msg:
                replies.append(msg)
                break
    s.close()
    return replies[1:]


def command(base_cmd, qmp_path):
    """The QEMU command of a normal scenario, turned into a screen run: a std
    VGA display, no serial port, hv's text through isa-debugcon (port 0xE9)
    on stdout, and a QMP socket."""
    cmd, i = [], 0
    while i < len(base_cmd):
        if base_cmd[i] == "-serial":
            cmd += ["-serial", "none"]
            i += 2
            continue
        cmd.append(base_cmd[i])
        i += 1
    return cmd + ["-device", "VGA", "-chardev", "stdio,id=hvlog",
                  "-device", "isa-debugcon,iobase=0xe9,chardev=hvlog",
                  "-qmp", "unix:%s,server=on,wait=off" % qmp_path]


class Run:
    """Same interface as qemu.Run for judge.py; the outcome comes from hv's
    `hv: exit X` line (hv halts with on_end = halt; QEMU is then stopped)."""
    def __init__(self):
        self.timed_out = False
        self.elapsed = 0.0
        self.stderr = ""
        self.error = ""
        self.exit_word = None
        self.screen_problem = None
        self.png = None

    @property
    def outcome(self):
        if self.timed_out:
            return "timeout"
        if self.error:
            return "crash"
        return self.exit_word or "crash"

    def status(self):
        return "hv said exit %s; QEMU stopped by the harness after the screendump" % self.exit_word

    def check(self):
        return self.screen_problem


def run_to_log(cmd, log_path, timeout, cwd):
    """Boot, wait for hv's halt line, screendump, stop QEMU, judge the screen."""
    res = Run()
    qmp_path = log_path.with_suffix(".qmp")
    ppm_path = log_path.with_suffix(".ppm")
    res.png = log_path.with_suffix(".png")
    for p in (qmp_path, ppm_path, res.png):
        if p.exists():
            p.unlink()
    full = command(cmd, qmp_path)
    start = time.monotonic()
    with open(log_path, "wb") as log:
        proc = CHILDREN.popen(full, cwd=str(cwd), stdin=subprocess.DEVNULL, stdout=log,
                              stderr=subprocess.PIPE)
        try:
            while True:
                time.sleep(0.5)
                text = log_path.read_bytes().decode("utf-8", "replace")
                m = re.search(r"^hv: exit (\S+)\s*$", text, re.M)
                if m and "hv: to restart" in text:
                    res.exit_word = m.group(1)
                    break
                if proc.poll() is not None:
                    res.error = "QEMU ended before hv halted (status %s)" % proc.returncode
                    break
                if time.monotonic() - start > timeout:
                    res.timed_out = True
                    break
            if res.exit_word:
                time.sleep(1.0)        # let the display refresh after the last line
                try:
                    reply = qmp(qmp_path, {"execute": "screendump",
                                           "arguments": {"filename": str(ppm_path)}})
                    if "error" in reply[0]:
                        res.error = "screendump failed: %s" % reply[0]["error"].get("desc")
                except (OSError, ValueError) as e:
                    res.error = "QMP: %s" % e
        finally:
            stop(proc)
            _, err = proc.communicate()
            CHILDREN.forget(proc)
            if qmp_path.exists():
                qmp_path.unlink()
    res.stderr = err.decode("utf-8", "replace") if err else ""
    res.elapsed = time.monotonic() - start
    if res.exit_word and not res.error:
        try:
            w, h, rgb = read_ppm(ppm_path.read_bytes())
            write_png(res.png, w, h, rgb)
            ppm_path.unlink()
            screen = decode(w, h, rgb, load_font())
            res.screen_problem = compare(screen, log_path.read_bytes().decode("utf-8", "replace"))
            if res.screen_problem:
                res.screen_problem += " (picture %s)" % res.png.name
        except (OSError, ValueError) as e:
            res.screen_problem = "screendump: %s" % e
    return res


def selfcheck():
    """The reader against a picture drawn here from the same table: a long log
    (so the grid scrolls) must read back and match; one changed character in
    the log must not. Run: python3 -m tests.harness.screen"""
    font = load_font()
    glyph = {ch: rows for rows, ch in font.items()}
    cols, rows = 40, 10
    log = "hv: screen console\n" + "".join("line %d %s\nkv x=%d\n" % (i, "=" * (i * 7 % 50), i)
                                           for i in range(30))
    log += "==== hv report ====\nhv: exit pass\n"
    grid = expected_grid(log, cols, rows)
    w, h = cols * 8, rows * 16
    rgb = bytearray(3 * w * h)
    for r, line in enumerate(grid):
        for c, ch in enumerate(line):
            for y, bits in enumerate(glyph[ch]):
                for x in range(8):
                    if bits & (0x80 >> x):
                        i = 3 * ((r * 16 + y) * w + c * 8 + x)
                        rgb[i:i + 3] = b"\xc0\xc0\xc0"
    screen = decode(w, h, bytes(rgb), font)
    assert compare(screen, log) is None, compare(screen, log)
    bad = log.replace("line 29", "line 2X")
    assert compare(screen, bad) is not None
    assert compare(screen, log.replace("hv report", "hv rep0rt")) is not None
    print("screen.py selfcheck: ok (%d glyphs; scrolled grid read back; changes caught)" % len(font))


if __name__ == "__main__":
    selfcheck()
