"""Unit tests of the harness itself (no QEMU): tests/run.py selftest"""

import os
import shutil
import stat
import subprocess
import tempfile
import textwrap
import unittest
from pathlib import Path

from . import cli, esp, judge, oracle, qemu, scenarios, unit
from .scenarios import Scenario


def write_exe(path, text):
    Path(path).write_text(text)
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)


class ScenarioFile(unittest.TestCase):
    def test_defaults_and_keys(self):
        scs = scenarios.loads(textwrap.dedent("""\
            # comment
            [hello]
            config = tests/configs/hello.cfg     ; the hv config to boot
            smp = 2
            timeout = 90s
            exit = fail
            expect = vm.hello.result=exit
                     vm.hello.status=0  run.result=fail
            log = hello from vCPU 0
                  second line
            qemu_args = -icount shift=7,sleep=off -append "a b"
            groups = quick, smp
            oracle = no

            [plain]
            """))
        h, p = scs
        self.assertIsNone(h.error)
        self.assertEqual(h.config, "tests/configs/hello.cfg")
        self.assertEqual((h.smp, h.timeout, h.exit, h.oracle), (2, 90.0, "fail", False))
        self.assertEqual(h.expect, [("vm.hello.result", "exit"), ("vm.hello.status", "0"),
                                    ("run.result", "fail")])
        self.assertEqual(h.log, ["hello from vCPU 0", "second line"])
        self.assertEqual(h.qemu_args, ["-icount", "shift=7,sleep=off", "-append", "a b"])
        self.assertEqual(h.groups, ["quick", "smp"])
        self.assertEqual((p.config, p.smp, p.timeout, p.exit, p.expect, p.log, p.oracle),
                         ("tests/configs/plain.cfg", 1, 60.0, "pass", [], [], True))

    def test_default_section(self):
        a, = scenarios.loads("[DEFAULT]\ntimeout = 120\n[a]\n")
        self.assertEqual(a.timeout, 120.0)

    def test_section_errors_mark_only_that_scenario(self):
        scs = scenarios.loads(textwrap.dedent("""\
            [typo]
            expct = a=b
            [badexit]
            exit = passed
            [badexpect]
            expect = novalue
            [badsmp]
            smp = 0
            [bad name]
            [ok]
            """))
        errors = {sc.name: sc.error for sc in scs}
        self.assertIn("unknown key 'expct'", errors["typo"])
        self.assertIn("exit = 'passed'", errors["badexit"])
        self.assertIn("not KEY=VALUE", errors["badexpect"])
        self.assertIn("smp", errors["badsmp"])
        self.assertIn("scenario name", errors["bad name"])
        self.assertIsNone(errors["ok"])

    def test_file_errors(self):
        with self.assertRaises(scenarios.ScenarioFileError):
            scenarios.loads("[a]\n[a]\n")
        with self.assertRaises(scenarios.ScenarioFileError):
            scenarios.loads("key = outside a section\n")

    def test_shipped_file_parses(self):
        scs = scenarios.load(scenarios_path())
        self.assertTrue(scs)
        for sc in scs:
            self.assertIsNone(sc.error, sc.name)


def scenarios_path():
    return Path(__file__).resolve().parents[1] / "scenarios.cfg"


class Images(unittest.TestCase):
    def test_images_in_config(self):
        text = textwrap.dedent("""\
            [vm a]
            image = a.bin   # comment
            [vm b]
            image=b.bin#old
            [vm c]
              image = A.BIN
            [vm d]
            image = guests/d.bin
            imagefoo = x.bin
            # image = commented.bin
            """)
        self.assertEqual(esp.images_in_config(text), ["a.bin", "b.bin", "guests/d.bin"])

    @unittest.skipUnless(shutil.which("mcopy") and (shutil.which("mkfs.fat")
                                                    or os.path.exists("/usr/sbin/mkfs.fat")),
                         "mtools/dosfstools not installed")
    def test_build(self):
        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            (d / "guest").mkdir()
            (d / "guest" / "a.bin").write_bytes(b"A" * 1000)
            (d / "guest" / "sub").mkdir()
            (d / "guest" / "sub" / "s.bin").write_bytes(b"S" * 10)
            (d / "hv.efi").write_bytes(b"MZ" + b"\0" * 100)
            cfg = d / "x.cfg"
            cfg.write_text("[vm a]\nimage = a.bin\n[vm m]\nimage = missing.bin\n"
                           "[vm p]\nimage = ../hv.efi\n[vm s]\nimage = sub/s.bin\n"
                           "[vm t]\nimage = g/h/a.bin\n[vm u]\nimage = g/b.bin\n")
            img, copied, missing = esp.build("x", cfg, d / "hv.efi", d / "guest", d / "esp")
            self.assertEqual(img, d / "esp" / "x.img")
            self.assertEqual(copied, ["a.bin", "sub/s.bin", "g/h/a.bin"])
            self.assertEqual(missing, ["missing.bin", "../hv.efi", "g/b.bin"])
            env0 = dict(os.environ, MTOOLS_SKIP_CHECK="1")
            deep = subprocess.run(["mdir", "-b", "-i", str(img), "::/g/h"], env=env0,
                                  capture_output=True, text=True).stdout.lower()
            self.assertIn("a.bin", deep)
            env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
            root = subprocess.run(["mdir", "-b", "-i", str(img), "::/"], env=env,
                                  capture_output=True, text=True).stdout.lower()
            boot = subprocess.run(["mdir", "-b", "-i", str(img), "::/EFI/BOOT"], env=env,
                                  capture_output=True, text=True).stdout.lower()
            self.assertIn("hv.cfg", root)
            self.assertIn("a.bin", root)
            self.assertNotIn("missing", root)
            self.assertIn("bootx64.efi", boot)
            self.assertEqual(list((d / "esp").iterdir()), [img])   # no temp files left

    def test_build_without_efi(self):
        with tempfile.TemporaryDirectory() as d:
            cfg = Path(d) / "x.cfg"
            cfg.write_text("")
            with self.assertRaises(esp.EspError):
                esp.build("x", cfg, Path(d) / "nope.efi", Path(d), Path(d) / "esp")


LOG = (b"\x1b[2J\x1b[01;01H\x1b[=3h\x1b[2J\x1b[01;01HBdsDxe: loading Boot0001\r\n"
       b"\x1b[2J\x1b[01;01Hkv vm.hello.result=exit\r\n"
       b"hello from vCPU 0\r\n"
       b"trace vm=hello exit=hlt\r\n"
       b"kv vm.hello.status=0\r\n"
       b"kv  run.result = pass \r\n"
       b"xkv vm.other=1\r\n"
       b"trace vm=hello exit=io\r\n")


class Judge(unittest.TestCase):
    def test_parse_log(self):
        log = judge.parse_log(LOG)
        self.assertEqual(log.kv, {"vm.hello.result": ["exit"], "vm.hello.status": ["0"],
                                  "run.result": ["pass"]})
        self.assertEqual(log.trace, ["trace vm=hello exit=hlt", "trace vm=hello exit=io"])
        self.assertTrue(log.lines[0].startswith("BdsDxe"))

    def test_check_expect(self):
        kv = {"a": ["1"], "b": ["2", "2"], "c": ["x", "y"]}
        self.assertIsNone(judge.check_expect([("a", "1"), ("b", "2")], kv))
        self.assertEqual(judge.check_expect([("a", "2")], kv), "a: expected 2, got 1")
        self.assertEqual(judge.check_expect([("z", "0")], kv), "z: missing (expected 0)")
        self.assertEqual(judge.check_expect([("c", "y")], kv),
                         "c: expected y, got conflicting values x, y")
        self.assertEqual(judge.check_expect([("a", "1"), ("z", "0"), ("a", "3")], kv),
                         "z: missing (expected 0)")

    def run_(self, rc, timed_out=False, stderr="", serial=100):
        r = qemu.Run(returncode=rc, timed_out=timed_out, stderr=stderr)
        r.qemu_error = qemu.startup_error(rc, stderr, serial)
        return r

    def test_verdict(self):
        log = judge.parse_log(LOG)
        sc = Scenario("hello", expect=[("vm.hello.result", "exit")], log=["hello from vCPU 0"])
        self.assertIsNone(judge.verdict(sc, self.run_(1), log))
        self.assertEqual(judge.verdict(sc, self.run_(None, timed_out=True), log),
                         "timeout after 60 s")
        self.assertTrue(judge.verdict(sc, self.run_(3), log).startswith(
            "hv outcome fail (QEMU status 3), expected pass; last line: "))
        self.assertIn("hv outcome crash (QEMU killed by SIGABRT)",
                      judge.verdict(sc, self.run_(-6, stderr="qemu-system-x86_64: boom\n"), log))
        self.assertIn("qemu: boom",
                      judge.verdict(sc, self.run_(-6, stderr="qemu-system-x86_64: boom\n"), log))
        self.assertIn("no serial output", judge.verdict(sc, self.run_(1, serial=0), log))
        self.assertIn("invalid option",
                      judge.verdict(sc, self.run_(1, stderr="qemu-system-x86_64: -x: invalid option"), log))
        self.assertIsNone(judge.verdict(sc, self.run_(1, stderr="qemu-system-x86_64: warning: w"), log))
        sc.log.append("not there")
        self.assertEqual(judge.verdict(sc, self.run_(1), log), "log: missing 'not there'")
        cfg = Scenario("bad", exit="config-error", log=["hv.cfg:"])
        bad = judge.parse_log(b"hv: hv.cfg:3: unknown key\n")
        self.assertIsNone(judge.verdict(cfg, self.run_(5), bad))


class Qemu(unittest.TestCase):
    def test_outcome(self):
        self.assertEqual([qemu.outcome(s) for s in (1, 3, 5, 7, 0, 9, 2, -9, None)],
                         ["pass", "fail", "config-error", "panic", "crash", "crash", "crash",
                          "crash", "crash"])

    def test_command(self):
        cmd = qemu.command(Path("/x/esp.img"), 2, "tcg", ["-icount", "shift=7"])
        s = " ".join(cmd)
        self.assertIn("-machine q35 -cpu max -m 512 -smp 2 -accel tcg,thread=single -bios ", s)
        self.assertIn("-drive format=raw,file=/x/esp.img -nodefaults -nic none -display none "
                      "-serial stdio -monitor none -device isa-debug-exit,iobase=0xf4,iosize=0x04 "
                      "-icount shift=7", s)
        s = " ".join(qemu.command(Path("/x/esp.img"), 1, "kvm"))
        self.assertIn("-cpu host", s)
        self.assertIn("-accel kvm ", s)
        self.assertNotIn("tcg", s)


CMOCKA = """\
1..4
ok 1 - good
not ok 2 - bad
# 0x1 != 0x2
# t.c:8: error: Failure!
not ok 3 # SKIP skipme
ok 4 - other
# not ok - grp1
1..1
ok 1 - good
# ok - grp2
"""


class Tap(unittest.TestCase):
    def test_cmocka(self):
        r = unit.parse_tap("test_x", CMOCKA, 1)
        self.assertEqual((r.passed, r.failed, r.skipped, r.problem), (4, 1, 1, ""))
        self.assertEqual(r.failures, [("test_x.bad", "0x1 != 0x2; t.c:8: error: Failure!")])

    def test_all_ok(self):
        r = unit.parse_tap("test_y", "1..2\nok 1 - a\nok 2 - b\n", 0)
        self.assertEqual((r.passed, r.failed, r.failures, r.problem), (2, 0, [], ""))

    def test_binary_problems_count_once(self):
        self.assertEqual(unit.parse_tap("t", "nothing\n", 0).failed, 1)
        self.assertEqual(unit.parse_tap("t", "", -11).failed, 1)
        r = unit.parse_tap("t", "1..3\nok 1 - a\n", -11)
        self.assertEqual((r.passed, r.failed), (1, 1))
        self.assertIn("SIGSEGV after 1 test", r.problem)
        r = unit.parse_tap("t", "1..3\nok 1 - a\nok 2 - b\n", 0)
        self.assertEqual((r.passed, r.failed, r.problem), (2, 1, "planned 3 tests, ran 2"))
        r = unit.parse_tap("t", "1..1\nok 1 - a\n", 2)
        self.assertEqual((r.passed, r.failed), (1, 1))
        r = unit.parse_tap("t", "1..1\nnot ok 1 - a\n", 1)
        self.assertEqual((r.passed, r.failed, r.problem), (0, 1, ""))
        r = unit.parse_tap("t", "1..1\n", None, timed_out=True)
        self.assertIn("timed out", r.problem)

    def test_find_and_run(self):
        with tempfile.TemporaryDirectory() as d:
            write_exe(Path(d) / "test_a", "#!/bin/sh\necho 1..1\necho ok 1 - $CMOCKA_MESSAGE_OUTPUT\n")
            (Path(d) / "test_a.o").write_text("")
            (Path(d) / "helper").write_text("")
            found = unit.find(d)
            self.assertEqual([p.name for p in found], ["test_a"])
            r = unit.run(found[0])
            self.assertEqual((r.passed, r.failed), (1, 0))


class Oracle(unittest.TestCase):
    def test_hook(self):
        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            trace = d / "t.trace"
            oracle.write_trace(trace, ["trace a", "trace b"])
            self.assertEqual(trace.read_text(), "trace a\ntrace b\n")
            r = oracle.run("s", trace, oracle=d / "none")
            self.assertEqual((r.ran, r.ok), (False, False))
            self.assertIn("does not exist", r.message)
            good = d / "good"
            write_exe(good, '#!/bin/sh\n[ "$1 $2 $3 $4" = "--scenario s --expect-violations 0" ] || exit 9\n'
                      'grep -q "trace b" || exit 8\necho fine\n')
            self.assertEqual(oracle.run("s", trace, oracle=good).ok, True)
            bad = d / "bad"
            write_exe(bad, "#!/bin/sh\necho first\necho 'event 2: wrong' >&2\necho\nexit 1\n")
            r = oracle.run("s", trace, oracle=bad)
            self.assertEqual((r.ran, r.ok), (True, False))
            self.assertTrue(r.message.endswith("event 2: wrong"), r.message)
            noexec = d / "noexec"
            noexec.write_text("")
            self.assertFalse(oracle.run("s", trace, oracle=noexec).ok)
            oracle.write_trace(trace, [])
            self.assertFalse(trace.exists())


class Select(unittest.TestCase):
    def test_select(self):
        scs = [Scenario("hello", groups=["quick"]), Scenario("hello16"), Scenario("oob")]
        bins = [Path("/u/test_config"), Path("/u/test_insn")]
        names = lambda r: ([s.name for s in r[0]], [b.name for b in r[1]])
        self.assertEqual(names(cli.select([], [], scs, bins)),
                         (["hello", "hello16", "oob"], ["test_config", "test_insn"]))
        self.assertEqual(names(cli.select(["hello*"], [], scs, bins)), (["hello", "hello16"], []))
        self.assertEqual(names(cli.select(["oob", "test_insn"], [], scs, bins)),
                         (["oob"], ["test_insn"]))
        self.assertEqual(names(cli.select([], ["quick"], scs, bins)), (["hello"], []))
        self.assertEqual(names(cli.select([], ["quick", "unit"], scs, bins)),
                         (["hello"], ["test_config", "test_insn"]))
        self.assertEqual(names(cli.select(["unit"], [], scs, bins)),
                         ([], ["test_config", "test_insn"]))
        with self.assertRaises(ValueError):
            cli.select(["nope"], [], scs, bins)


if __name__ == "__main__":
    unittest.main()
