#!/usr/bin/env python3
"""Host-only checks of the benchmark tooling (no emulator): the initramfs
writer, the module load order, the KVM runner's output parser, the timer
tick arithmetic (hv's counters and KVM's lines) and the timeline's trace
reader.

    python3 tests/bench_selftest.py
"""

import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE / "kvm"))
import bench_kvm  # noqa: E402
import bench      # noqa: E402
import timeline   # noqa: E402


def read_newc(data):
    """[(name, mode, data)] from a cpio newc archive (an independent reader)."""
    out, off = [], 0
    while True:
        assert data[off:off + 6] == b"070701", "bad magic at %d" % off
        f = [int(data[off + 6 + 8 * i: off + 14 + 8 * i], 16) for i in range(13)]
        mode, size, namesize = f[1], f[6], f[11]
        off += 110
        name = data[off:off + namesize - 1].decode()
        off = (off + namesize + 3) & ~3
        body = data[off:off + size]
        off = (off + size + 3) & ~3
        if name == "TRAILER!!!":
            return out
        out.append((name, mode, body))


class Cpio(unittest.TestCase):
    def test_round_trip(self):
        entries = [("bin", 0o040755, None), ("bin/x", 0o100755, b"abc"),
                   ("init", 0o100755, b"#!/bin/sh\n" * 7), ("e", 0o100644, b"")]
        got = read_newc(bench_kvm.cpio_newc(entries))
        self.assertEqual(got, [(n, m, d or b"") for n, m, d in entries])


class Modules(unittest.TestCase):
    def test_dependencies_first(self):
        with tempfile.TemporaryDirectory() as d:
            root = Path(d)
            (root / "a").mkdir()
            mods = {"kvm-amd": "kvm,ccp", "kvm": "irqbypass", "ccp": "", "irqbypass": "",
                    "other": "kvm"}
            for name, deps in mods.items():
                (root / "a" / (name + ".ko")).write_bytes(
                    b"\x7fELF junk\0license=GPL\0depends=" + deps.encode() + b"\0name=" +
                    name.replace("-", "_").encode() + b"\0")
            order = [p.name for p in bench_kvm.module_order(root)]
        self.assertEqual(order, ["irqbypass.ko", "kvm.ko", "ccp.ko", "kvm-amd.ko"])

    def test_missing_dependency_is_named(self):
        with tempfile.TemporaryDirectory() as d:
            (Path(d) / "kvm-amd.ko").write_bytes(b"depends=nosuch\0")
            with self.assertRaises(SystemExit) as e:
                bench_kvm.module_order(Path(d))
        self.assertIn("nosuch", str(e.exception))


class KvmParse(unittest.TestCase):
    def line(self, loop, rep, n, ev, tsc, exits=0):
        return ("kvmbench loop=%s rep=%d n=%d events=%d tsc=%d exits=%d emul=0 io=0 halt=0"
                % (loop, rep, n, ev, tsc, exits))

    def test_fixed_overhead_and_warmup(self):
        text = "\n".join([
            self.line("calib", 0, 1000, 1000, 999999),           # warm-up: ignored
            self.line("calib", 1, 1000, 1000, 2003 * 128),
            self.line("calib", 2, 1000, 1000, 2003 * 128),
            self.line("cpuid", 0, 1000, 1000, 1),
            self.line("cpuid", 1, 1000, 1000, (3000 * 1000 + 3) * 128, exits=1010),
            self.line("cpuid", 2, 1000, 1000, (3002 * 1000 + 3) * 128, exits=1010),
            self.line("switch-user", 1, 1000, 2000, (8000 * 2000 + 3) * 128),
        ])
        r = bench_kvm.parse(text, 7)
        self.assertEqual(r.pop("_fixed"), 3)
        self.assertAlmostEqual(r["calib"]["per_event"], 2.0)
        self.assertAlmostEqual(r["cpuid"]["per_event"], 3001.0)
        self.assertAlmostEqual(r["cpuid"]["spread"], 2.0)
        self.assertAlmostEqual(r["cpuid"]["exits"], 1.01)
        self.assertAlmostEqual(r["switch-user"]["per_event"], 8000.0)


class TimerTick(unittest.TestCase):
    W, P = 8000000 * 128, 40000 * 128

    def line(self, rep, a, b, ticks, exits_a=260, exits_b=787):
        return ("kvmbench loop=timer-tick rep=%d window=%d period=%d iters_a=%d iters_b=%d ticks=%d "
                "exits_a=%d emul_a=3 io_a=1 halt_a=0 exits_b=%d emul_b=404 io_b=1 halt_b=0"
                % (rep, self.W, self.P, a, b, ticks, exits_a, exits_b))

    def test_overhead_by_difference(self):
        # 1,000 iterations of 5 instructions lost to 200 ticks: 25 per tick
        self.assertAlmostEqual(bench_kvm.tick_overhead(1600000, 1599000, 200, self.W, self.P), 25.0)
        self.assertAlmostEqual(bench_kvm.tick_overhead(1600000, 1599000, 199, self.W, self.P), 5000 / 199)

    def test_tick_count_and_sign_checked(self):
        with self.assertRaises(ValueError) as e:
            bench_kvm.tick_overhead(1600000, 1500000, 150, self.W, self.P)
        self.assertIn("150 ticks", str(e.exception))
        self.assertIn("= 200", str(e.exception))
        with self.assertRaises(ValueError) as e:
            bench_kvm.tick_overhead(1600000, 1600000, 200, self.W, self.P)
        self.assertIn("no work lost", str(e.exception))
        with self.assertRaises(ValueError):
            bench_kvm.tick_overhead(10, 5, 0, self.P, self.W)       # W < P: no tick expected

    def test_kvm_lines(self):
        text = "\n".join([
            self.line(0, 1414000, 1000000, 200),                 # warm-up: left out
            self.line(1, 1414000, 1044000, 200),                 # 370,000 x 5 / 200 = 9,250
            self.line(2, 1414000, 1043000, 200, exits_b=788),    # 9,275
            "kvmbench loop=cpuid rep=1 n=1000 events=1000 tsc=128000 exits=1 emul=1 io=0 halt=0",
        ])
        r = bench_kvm.parse(text, 7)["timer-tick"]
        self.assertAlmostEqual(r["per_event"], 9262.5)
        self.assertAlmostEqual(r["spread"], 25.0)
        self.assertAlmostEqual(r["warmup"], 10350.0)
        self.assertAlmostEqual(r["exits"], (527 + 528) / 400)
        self.assertAlmostEqual(r["emul"], 401 * 2 / 400)
        self.assertEqual(r["tick"]["rep"], 2)

    def test_kvm_bad_repetition_named(self):
        with self.assertRaises(ValueError) as e:
            bench_kvm.parse(self.line(3, 1414000, 1044000, 120), 7)
        self.assertIn("rep 3", str(e.exception))

    def test_hv_counters(self):
        class Log:
            kv = {"vm.b0.counter.7": ["1600001"], "vm.b0.counter.8": ["1518255"],
                  "vm.b0.counter.9": ["200"], "vm.b0.counter.10": [str(self.W)],
                  "vm.b0.counter.11": [str(self.P)]}
        r = bench.hv_tick(Log, Path("bench.log"), 128.0)
        self.assertAlmostEqual(r["timer-tick"], (1600001 - 1518255) * 5 / 200)
        self.assertEqual((r["tick_ticks"], r["tick_window_insns"], r["tick_period_insns"]),
                         (200, 8000000, 40000))
        del Log.kv["vm.b0.counter.9"]
        with self.assertRaises(SystemExit) as e:
            bench.hv_tick(Log, Path("bench.log"), 128.0)
        self.assertIn("ticks missing", str(e.exception))
        self.assertIn("bench.log", str(e.exception))
        Log.kv["vm.b0.counter.9"] = ["3"]
        with self.assertRaises(SystemExit) as e:
            bench.hv_tick(Log, Path("bench.log"), 128.0)
        self.assertIn("3 ticks", str(e.exception))


TRACE = """\
hv: something else
trace begin policy=guest track=trap pcpus=2 vms=1 barriers=virtual
trace vm id=0 name=mig ibpb=auto vcpus=1
trace vcpu gid=0 vm=0 id=0
trace 1 entry p=0 v=0 barrier=0 required=0 reason=clean
trace 2 migrate p=0 v=0 to=1
trace 6 entry p=0 v=0 barrier=1 required=1 reason=migration
trace 7 stop p=0 v=0
trace 8 vmend vm=0 result=exit
trace 3 entry p=1 v=0 barrier=0 required=0 reason=clean
trace 4 ibpb p=1 v=0 value=0x1
trace 5 migrate p=1 v=0 to=0
trace end events=8 dropped=0
"""


class Timeline(unittest.TestCase):
    def test_parse_and_stays(self):
        head, vms, vcpus, events = timeline.parse(TRACE)
        self.assertEqual(head["pcpus"], "2")
        self.assertEqual(vms, {0: "mig"})
        self.assertEqual(vcpus, {0: (0, 0)})
        self.assertEqual([e["seq"] for e in events], list(range(1, 9)))
        self.assertEqual(sorted(timeline.stays(events)), [(0, 0, 1, 2), (0, 0, 6, 7), (1, 0, 3, 5)])

    def test_draws_files(self):
        if not timeline.ensure_matplotlib():
            self.skipTest("python3-matplotlib missing")
        with tempfile.TemporaryDirectory() as d:
            paths = timeline.draw(TRACE, Path(d) / "t")
            self.assertEqual([p.suffix for p in paths], [".png", ".svg"])
            svg = paths[1].read_text()
            self.assertIn("migration-hole barrier", svg)
        self.assertIsNone(timeline.draw("no trace here\n", Path("/nonexistent/x")))


if __name__ == "__main__":
    timeline.ensure_matplotlib()     # may re-run this under the system's python3, first
    unittest.main()
