"""Unit tests of the harness itself (no QEMU): tests/run.py selftest"""

import os
import shutil
import stat
import subprocess
import tempfile
import textwrap
import unittest
import xml.etree.ElementTree as ET
from pathlib import Path

from . import bochs, cli, esp, iso, judge, oracle, platforms, qemu, scenarios, unit
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

    def test_linux_files_in_config(self):
        text = textwrap.dedent("""\
            [vm l]
            kernel = linux/bzImage
            initrd = linux/initramfs.cpio.gz  # comment
            cmdline = console=ttyS0 initrd=x.bin
            kernelx = y.bin
            """)
        self.assertEqual(esp.images_in_config(text), ["linux/bzImage", "linux/initramfs.cpio.gz"])

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


class BootSmp(unittest.TestCase):
    def test_config_pcpus(self):
        # `tests/run.py boot` gives the machine the config's pcpus (else 1)
        with tempfile.TemporaryDirectory() as d:
            cfg = Path(d) / "a.cfg"
            cases = [("pcpus = 4\n[vm a]\nimage = x.bin\n", 4),
                     ("policy = guest  # pcpus = 8\n[vm a]\n", 1),
                     ("[vm a]\npcpus = 3\n", 1),
                     ("pcpus = lots\n", 1),
                     ("  pcpus=2 # two\n", 2)]
            for text, want in cases:
                cfg.write_text(text)
                self.assertEqual(cli.config_pcpus(cfg), want, text)
            self.assertEqual(cli.config_pcpus(Path(d) / "missing.cfg"), 1)


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
        self.assertIsNone(judge.check_expect([("a", ">0")], kv))
        self.assertEqual(judge.check_expect([("a", ">1")], kv), "a: expected more than 1, got 1")
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
        # the SKIP case is neither passed nor failed
        self.assertEqual((r.passed, r.failed, r.skipped, r.problem), (3, 1, 1, ""))
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


# ---------------------------------------------------------------- platforms

class Platforms(unittest.TestCase):
    def test_parse(self):
        names = lambda args: [p.name for p in platforms.parse(args)]
        self.assertEqual(names([]), ["qemu"])
        self.assertEqual(names(["bochs-ryzen,qemu", "bochs-icelake bochs-ryzen"]),
                         ["bochs-ryzen", "qemu", "bochs-icelake"])
        with self.assertRaises(ValueError) as e:
            platforms.parse(["bochs-pentium"])
        self.assertIn("known: qemu", str(e.exception))

    def test_runs_on(self):
        on = lambda pats, name: platforms.runs_on(pats, platforms.BY_NAME[name])
        self.assertTrue(on(["*"], "bochs-ryzen"))
        self.assertFalse(on(["*"], "bochs-ovmf"))                # opt-in: exact name only
        self.assertTrue(on(["*", "bochs-ovmf"], "bochs-ovmf"))
        self.assertFalse(on(["bochs-*"], "bochs-ovmf"))
        self.assertFalse(on(["*", "!bochs-ryzen"], "bochs-ryzen"))
        self.assertTrue(on(["*", "!bochs-ryzen"], "bochs-icelake"))
        self.assertTrue(on(["*", "!bochs-*"], "qemu-mb2"))
        self.assertFalse(on(["*", "!bochs-*"], "bochs-icelake"))
        self.assertTrue(on(["qemu"], "qemu"))
        self.assertFalse(on(["qemu"], "qemu-mb2"))

    def test_labels_and_logs(self):
        q, r = platforms.BY_NAME["qemu"], platforms.BY_NAME["bochs-ryzen"]
        self.assertEqual((q.label("hello"), r.label("hello")), ("hello", "bochs-ryzen/hello"))
        self.assertEqual(r.log_dir, q.log_dir / "bochs-ryzen")

    def test_select_pairs(self):
        a = Scenario("a")
        b = Scenario("b", platforms=["*", "!bochs-ryzen"])
        c = Scenario("c", platforms=["*", "bochs-ovmf"])
        ps = platforms.parse(["qemu,bochs-ryzen,bochs-ovmf"])
        got = [(sc.name, p.name) for sc, p in cli.runs([a, b, c], ps)]
        self.assertEqual(got, [("a", "qemu"), ("b", "qemu"), ("c", "qemu"),
                               ("a", "bochs-ryzen"), ("c", "bochs-ryzen"), ("c", "bochs-ovmf")])


    def test_longest_first(self):
        a = Scenario("a")
        b = Scenario("b", smp=4)
        c = Scenario("c", timeout=120, overrides=[("bochs-*", "timeout", "300")])
        ps = platforms.parse(["qemu,bochs-ryzen"])
        got = [p.label(sc.name) for sc, p in cli.longest_first(cli.runs([a, b, c], ps))]
        self.assertEqual(got, ["bochs-ryzen/c", "bochs-ryzen/b", "c", "a", "b", "bochs-ryzen/a"])


class PerPlatformKeys(unittest.TestCase):
    TEXT = textwrap.dedent("""\
        [tp]
        timeout = 60
        expect = vm.loop.result=exit
                 run.barriers=forced-wrmsr
        platforms = * !bochs-ryzen
        expect.bochs-icelake = run.barriers=hardware vm.loop.extra=1
        timeout.bochs-* = 200
        timeout.bochs-icelake = 300
        exit.qemu-mb2 = fail
        """)

    def test_overrides(self):
        sc, = scenarios.loads(self.TEXT)
        self.assertIsNone(sc.error)
        self.assertEqual(sc.platforms, ["*", "!bochs-ryzen"])
        ice = scenarios.for_platform(sc, "bochs-icelake")
        self.assertEqual(ice.expect, [("vm.loop.result", "exit"), ("run.barriers", "hardware"),
                                      ("vm.loop.extra", "1")])
        self.assertEqual(ice.timeout, 300.0)             # the exact name after the pattern
        tiger = scenarios.for_platform(sc, "bochs-tigerlake")
        self.assertEqual(tiger.expect, sc.expect)
        self.assertEqual(tiger.timeout, 200.0)
        q = scenarios.for_platform(sc, "qemu")
        self.assertEqual((q.timeout, q.exit, q.expect), (60.0, "pass", sc.expect))
        self.assertEqual(scenarios.for_platform(sc, "qemu-mb2").exit, "fail")
        self.assertEqual(sc.timeout, 60.0)                # the plain scenario is untouched

    def test_errors(self):
        bad = {sc.name: sc.error for sc in scenarios.loads(textwrap.dedent("""\
            [a]
            expect.bochs-pentium = a=b
            [b]
            platforms = qemu bochs-vax
            [c]
            expct.qemu = a=b
            [d]
            groups.qemu = x
            [e]
            exit.bochs-ryzen = passed
            [f]
            platforms = * !qemu-nothing
            """))}
        self.assertIn("no platform matches 'bochs-pentium'", bad["a"])
        self.assertIn("no platform matches 'bochs-vax'", bad["b"])
        self.assertIn("unknown key 'expct.qemu'", bad["c"])
        self.assertIn("unknown key 'groups.qemu'", bad["d"])
        self.assertIn("exit = 'passed'", bad["e"])
        self.assertIn("qemu-nothing", bad["f"])

    def test_shipped_file_runs_somewhere(self):
        for sc in scenarios.load(scenarios_path()):
            self.assertTrue(any(scenarios.runs_on(sc, p) for p in platforms.ALL), sc.name)
            for p in platforms.ALL:
                self.assertIsNone(scenarios.for_platform(sc, p.name).error)


# --------------------------------------------------------------------- ISO

class Iso(unittest.TestCase):
    def test_grub_cfg(self):
        cfg = iso.grub_cfg(["a.bin", "sub/b.bin"], 'hv: "x"')
        lines = [l.strip() for l in cfg.splitlines()]
        self.assertIn("set timeout=0", lines)
        self.assertIn("multiboot2 /boot/hv-mb2.elf", lines)
        self.assertIn("module2 /boot/hv.cfg hv.cfg", lines)
        self.assertIn("module2 /boot/a.bin a.bin", lines)
        self.assertIn("module2 /boot/sub/b.bin sub/b.bin", lines)
        self.assertIn("menuentry \"hv: 'x'\" {", lines)
        self.assertLess(lines.index("module2 /boot/hv.cfg hv.cfg"), lines.index("module2 /boot/a.bin a.bin"))

    def test_missing_elf(self):
        with tempfile.TemporaryDirectory() as d:
            cfg = Path(d) / "x.cfg"
            cfg.write_text("")
            with self.assertRaises(iso.IsoError) as e:
                iso.build("x", cfg, Path(d) / "nope.elf", Path(d) / "x.iso", Path(d))
            self.assertIn("nope.elf", str(e.exception))

    @unittest.skipUnless(shutil.which("grub-mkrescue") and shutil.which("xorriso")
                         and os.path.isdir("/usr/lib/grub/i386-pc"), "GRUB tools not installed")
    def test_build(self):
        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            (d / "guest" / "sub").mkdir(parents=True)
            (d / "guest" / "a.bin").write_bytes(b"A" * 100)
            (d / "guest" / "sub" / "s.bin").write_bytes(b"S" * 10)
            (d / "hv-mb2.elf").write_bytes(b"\x7fELF" + b"\0" * 100)
            cfg = d / "x.cfg"
            cfg.write_text("[vm a]\nimage = a.bin\n[vm m]\nimage = missing.bin\n"
                           "[vm s]\nimage = sub/s.bin\n")
            out = d / "out" / "x.iso"
            copied, missing = iso.build("x", cfg, d / "hv-mb2.elf", out, d / "guest")
            self.assertEqual((copied, missing), (["a.bin", "sub/s.bin"], ["missing.bin"]))
            ls = subprocess.run(["xorriso", "-indev", str(out), "-find", "/boot", "-type", "f"],
                                capture_output=True, text=True).stdout
            for f in ("/boot/hv-mb2.elf", "/boot/hv.cfg", "/boot/a.bin", "/boot/sub/s.bin",
                      "/boot/grub/grub.cfg"):
                self.assertIn("'%s'" % f, ls)
            self.assertNotIn("missing", ls)
            self.assertEqual([p.name for p in out.parent.iterdir()], ["x.iso"])  # no temp files


# ------------------------------------------------------------------- Bochs

BOCHS_LOG = """\
00000000000i[      ] Bochs x86 Emulator 2.7
00180891594e[CPU0  ] RDMSR: Unknown register 0xc0010114
00180891600e[CPU0  ] WRMSR: Unknown register 0x123
00180891601e[CPU0  ] WRMSR IA32_PRED_CMD: not enabled in the cpu model
00180891594i[CPU0  ] | RIP=0000000000209655 (0000000000209655)
00180891594p[CPU0  ] >>PANIC<< exception(): 3rd (13) exception with no resolution
00180891595e[CPU0  ] interrupt(long mode): vector must be within IDT table limits
"""


class Bochs(unittest.TestCase):
    def test_render(self):
        self.assertEqual(bochs.render("# keep @X@\ncpu: model=@CPU@\n", {"CPU": "ryzen"}),
                         "# keep @X@\ncpu: model=ryzen\n")
        with self.assertRaises(KeyError):
            bochs.render("a: @NOPE@\n", {})

    def test_templates_fill(self):
        with tempfile.TemporaryDirectory() as d:
            for name in ("bochs-ryzen", "bochs-icelake", "bochs-ovmf"):
                p = platforms.BY_NAME[name]
                rc = bochs.write_config(p, "x", 2, Path(d) / "m.img", Path(d) / "s.log",
                                        "/ovmf.fd", out_dir=d)
                text = rc.read_text()
                self.assertEqual(rc, Path(d) / name / "x.bochsrc")
                body = [l for l in text.splitlines() if not l.lstrip().startswith("#")]
                self.assertFalse([l for l in body if "@" in l], name)
                self.assertIn("cpu: model=%s, count=2," % p.cpu_model, text)
                self.assertIn("panic: action=fatal, CPU0=report, CPU1=report", text)
                self.assertIn('com1: enabled=1, mode=file, dev="%s"' % (Path(d) / "s.log"), text)
                self.assertIn("port_e9_hack: enabled=1", text)
                self.assertIn("speaker: enabled=0", text)
                self.assertIn("sound: driver=dummy", text)
                self.assertIn('display_library: rfb, options="timeout=0"', text)
                ignore = "ignore_bad_msrs=%d" % (0 if name == "bochs-icelake" else 1)
                self.assertIn(ignore, text)
                if p.boot == "uefi":
                    self.assertIn('romimage: file="/ovmf.fd", address=0xffe00000', text)
                    self.assertIn("boot: disk", text)
                else:
                    self.assertIn("type=cdrom", text)
                    self.assertIn("boot: cdrom", text)

    def test_command(self):
        cmd = bochs.command(Path("/x/y.bochsrc"))
        self.assertEqual(cmd[1:4], ["-q", "-unlock", "-f"])
        self.assertEqual(cmd[-2], "-rc")
        rc = Path(bochs.RC_FILE).read_text().split()
        self.assertTrue(rc and all(l == "continue" for l in rc))

    def test_hv_outcome(self):
        self.assertIsNone(bochs.hv_outcome("hv: exit nothing\nhv: exit\n"))
        self.assertEqual(bochs.hv_outcome("x\r\nhv: exit fail\r\nhv: exit panic\r\nhv: halted\r\n"),
                         "panic")
        self.assertEqual(bochs.hv_outcome("hv: exit config-error"), "config-error")
        self.assertIsNone(bochs.hv_outcome("[vm.0] hv: exit pass\n"))

    def test_log_checks(self):
        panic, error = bochs.log_problems(BOCHS_LOG)
        self.assertEqual(panic, "[CPU0] >>PANIC<< exception(): 3rd (13) exception with no resolution")
        self.assertTrue(error.startswith("[CPU0] interrupt(long mode)"))
        self.assertEqual(len(bochs.pred_cmd_refusals(BOCHS_LOG)), 1)
        self.assertEqual(bochs.unknown_msrs(BOCHS_LOG, (0xc0010114,)), [("WRMSR", 0x123)])
        run = bochs.Run(returncode=1, hv_exit="pass", stderr=BOCHS_LOG, bochs_log_path="b.log")
        self.assertIn("Bochs refused PRED_CMD 1 time (WRMSR IA32_PRED_CMD: not enabled", run.check())
        ok = bochs.Run(returncode=1, hv_exit="pass", stderr=BOCHS_LOG.replace("PRED_CMD", "X"),
                       bad_msrs_allowed=(0xc0010114,))
        self.assertEqual(ok.check(), "Bochs ignored WRMSR 0x123 (no such MSR in this CPU model; "
                         "on hardware a #GP)")
        ok.bad_msrs_allowed = "any"
        self.assertIsNone(ok.check())

    def fake_bochs(self, d, script):
        exe = Path(d) / "fake-bochs"
        write_exe(exe, "#!/bin/sh\n" + script)
        return [str(exe)]

    def test_run_to_log(self):
        with tempfile.TemporaryDirectory() as d:
            serial, blog = Path(d) / "s.log", Path(d) / "b.log"
            cmd = self.fake_bochs(d, 'printf "hv: exit fail\\r\\n" > %s\necho bochs says hi\nexit 1\n'
                                  % serial)
            run = bochs.run_to_log(cmd, serial, blog, 10, d)
            self.assertEqual((run.outcome, run.returncode, run.error), ("fail", 1, ""))
            self.assertIn("bochs says hi", blog.read_text())
            sc = Scenario("x", exit="pass")
            self.assertTrue(judge.verdict(sc, run, judge.parse_log(serial.read_bytes())).startswith(
                "hv outcome fail (Bochs status 1), expected pass"))

            cmd = self.fake_bochs(d, 'echo "%s"\nexit 0\n' % BOCHS_LOG.splitlines()[5])
            run = bochs.run_to_log(cmd, serial, blog, 10, d)
            self.assertEqual(run.outcome, "crash")
            self.assertEqual(run.error, "Bochs exited 0 without an `hv: exit` line and no serial "
                             "output: [CPU0] >>PANIC<< exception(): 3rd (13) exception with no resolution")
            self.assertTrue(serial.exists())

            cmd = self.fake_bochs(d, 'echo "%s"\nexec sleep 30\n' % BOCHS_LOG.splitlines()[5])
            run = bochs.run_to_log(cmd, serial, blog, 0.5, d)
            self.assertEqual(run.outcome, "timeout")
            self.assertIn(">>PANIC<<", run.note)

    RFB = "00000000000p[RFB   ] >>PANIC<< RFB could not bind any port between 5900 and 5949"

    def test_rfb_race_restarts(self):
        with tempfile.TemporaryDirectory() as d:
            serial, blog, tries = Path(d) / "s.log", Path(d) / "b.log", Path(d) / "tries"
            # loses the race twice, then runs
            cmd = self.fake_bochs(d, 'echo x >> %s\nif [ $(wc -l < %s) -le 2 ]; then echo "%s"; exit 1; fi\n'
                                  'printf "hv: exit pass\\r\\n" > %s\nexit 1\n' % (tries, tries, self.RFB, serial))
            run = bochs.run_to_log(cmd, serial, blog, 10, d)
            self.assertEqual((run.outcome, run.restarts), ("pass", 2))
            self.assertEqual(len(tries.read_text().split()), 3)
            # always loses: given up after RFB_RESTARTS more starts, a crash with the reason
            tries.unlink()
            cmd = self.fake_bochs(d, 'echo x >> %s\necho "%s"\nexit 1\n' % (tries, self.RFB))
            run = bochs.run_to_log(cmd, serial, blog, 10, d)
            self.assertEqual((run.outcome, run.restarts), ("crash", bochs.RFB_RESTARTS))
            self.assertIn("RFB could not bind", run.error)
            self.assertEqual(len(tries.read_text().split()), bochs.RFB_RESTARTS + 1)
            # the same panic after the guest printed something: not restarted
            tries.unlink()
            cmd = self.fake_bochs(d, 'echo x >> %s\nprintf "hv: booting\\r\\n" > %s\necho "%s"\nexit 1\n'
                                  % (tries, serial, self.RFB))
            run = bochs.run_to_log(cmd, serial, blog, 10, d)
            self.assertEqual((run.outcome, run.restarts), ("crash", 0))
            self.assertEqual(len(tries.read_text().split()), 1)


if __name__ == "__main__":
    unittest.main()


# ------------------------------------------------- robustness (issue 10, defect 11)

RUN_PY = Path(__file__).resolve().parents[1] / "run.py"

# A stand-in QEMU: prints a serial log, then exits as hv would: status 1
# (pass) unless the ESP's name contains "fail" (status 3) or "bytes" (a log
# that is not UTF-8, then status 3).
FAKE_QEMU = """#!/usr/bin/env python3
import sys
drive = [a for a in sys.argv if a.startswith("format=raw,file=")][0]
out = sys.stdout.buffer
out.write(b"BdsDxe: starting\\r\\nhv: stand-in\\r\\nkv run.result=pass\\r\\n")
if "bytes" in drive:
    out.write(b"\\xff\\xfe not UTF-8 \\x1b[2J \\x00 \\x07 #\\r\\n")
out.flush()
sys.exit(3 if ("fail" in drive or "bytes" in drive) else 1)
"""


class Robustness(unittest.TestCase):
    """tests/run.py test, run as a program against a stand-in build tree and
    QEMU: whatever goes wrong, it ends with `N passed, M failed` and a
    documented status (docs/testing.md), never a traceback."""

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="hv-selftest-")
        self.d = Path(self._tmp.name)
        self.build = self.d / "build"
        (self.build / "guest").mkdir(parents=True)
        (self.build / "unit").mkdir()
        (self.build / "hv.efi").write_bytes(b"MZ stand-in")
        (self.build / "guest" / "hello.bin").write_bytes(b"\xf4")
        (self.d / "OVMF.fd").write_bytes(b"")
        self.qemu = self.d / "qemu"
        write_exe(self.qemu, FAKE_QEMU)
        self.cfg = self.d / "hello.cfg"
        self.cfg.write_text("[vm hello]\nimage = hello.bin\n")

    def tearDown(self):
        self._tmp.cleanup()

    def scenarios(self, text):
        path = self.d / "scenarios.cfg"
        path.write_bytes(text.encode() if isinstance(text, str) else text)
        return path

    def run_harness(self, *args, env=None, qemu=None, timeout=120):
        e = dict(os.environ, HV_BUILD=str(self.build), HV_OVMF=str(self.d / "OVMF.fd"),
                 HV_QEMU=str(qemu or self.qemu), HV_ACCEL="tcg")
        e.update(env or {})
        p = subprocess.run(["python3", str(RUN_PY), "test", "-j1", *args],
                           capture_output=True, env=e, timeout=timeout)
        out = p.stdout.decode("utf-8", errors="replace")
        err = p.stderr.decode("utf-8", errors="replace")
        self.assertNotIn("Traceback", out + err)
        lines = [l for l in out.splitlines() if l.strip()]
        self.assertTrue(lines, "no output at all; stderr: %s" % err)
        self.assertRegex(lines[-1], r"^\d+ passed, \d+ failed$", out + err)
        return p.returncode, out, err

    def test_stand_in_passes(self):
        sc = self.scenarios("[ok]\nconfig = %s\n" % self.cfg)
        rc, out, err = self.run_harness("--scenarios", str(sc))
        self.assertEqual(rc, 0, out + err)
        self.assertIn("PASS  scenario ok", out)
        self.assertTrue(out.endswith("1 passed, 0 failed\n"))

    def test_image_name_of_256_characters(self):
        # os.stat() on such a name raises ENAMETOOLONG: the image is left out
        # (hv reports it); the harness must not die.
        for n in (255, 256, 300, 5000):
            self.cfg.write_text("[vm hello]\nimage = %s.bin\n" % ("a" * (n - 4)))
            sc = self.scenarios("[long]\nconfig = %s\n" % self.cfg)
            rc, out, err = self.run_harness("--scenarios", str(sc))
            self.assertEqual(rc, 0, out + err)
        self.assertEqual(esp.source("a" * 300 + ".bin", self.build / "guest"), None)

    def test_config_name_too_long_and_missing(self):
        sc = self.scenarios("[long]\nconfig = %s/%s.cfg\n[gone]\nconfig = %s/none.cfg\n"
                            % (self.d, "c" * 300, self.d))
        rc, out, err = self.run_harness("--scenarios", str(sc))
        self.assertEqual(rc, 1)
        self.assertIn("FAIL  scenario long (config ", out)
        self.assertIn("File name too long", out)
        self.assertIn("FAIL  scenario gone (config ", out)
        self.assertIn("0 passed, 2 failed", out)

    def test_emulator_missing_or_not_a_program(self):
        sc = self.scenarios("[ok]\nconfig = %s\n" % self.cfg)
        rc, out, err = self.run_harness("--scenarios", str(sc), qemu=self.d / "nonexistent")
        self.assertEqual(rc, 1)
        self.assertIn("not found", out)
        junk = self.d / "junk-qemu"
        junk.write_bytes(b"\x7fELF\x00\x00 not a program")
        os.chmod(junk, 0o755)
        rc, out, err = self.run_harness("--scenarios", str(sc), qemu=junk)
        self.assertEqual(rc, 1)
        self.assertIn("FAIL  scenario ok (cannot start", out)
        badbang = self.d / "badbang-qemu"
        write_exe(badbang, "#!/nonexistent/interpreter\n")
        rc, out, err = self.run_harness("--scenarios", str(sc), qemu=badbang)
        self.assertEqual(rc, 1)
        self.assertIn("0 passed, 1 failed", out)

    def test_log_dir_unwritable(self):
        (self.build / "logs").write_text("a file where the log directory should be\n")
        sc = self.scenarios("[ok]\nconfig = %s\n[ok2]\nconfig = %s\n" % (self.cfg, self.cfg))
        rc, out, err = self.run_harness("--scenarios", str(sc))
        self.assertEqual(rc, 1)
        self.assertIn("cannot write the log directory", out)
        self.assertIn("0 passed, 2 failed", out)

    def test_esp_dir_unwritable(self):
        (self.build / "esp").write_text("not a directory\n")
        sc = self.scenarios("[ok]\nconfig = %s\n" % self.cfg)
        rc, out, err = self.run_harness("--scenarios", str(sc))
        self.assertEqual(rc, 1)
        self.assertIn("FAIL  scenario ok (ESP: ", out)

    def test_log_not_utf8_on_an_ascii_terminal(self):
        sc = self.scenarios("[bytes]\nconfig = %s\n" % self.cfg)
        rc, out, err = self.run_harness("--scenarios", str(sc), "-v",
                                        env={"PYTHONIOENCODING": "ascii"})
        self.assertEqual(rc, 1)
        self.assertIn("| hv: stand-in", out)
        self.assertIn("not UTF-8", out)

    def test_bad_scenario_keys_and_files(self):
        sc = self.scenarios("[inf]\ntimeout = inf\n[neg]\noracle_violations = -1\n"
                            "[%s]\n[nan]\ntimeout = nan\n" % ("n" * 200))
        rc, out, err = self.run_harness("--scenarios", str(sc))
        self.assertEqual(rc, 1)
        self.assertIn("timeout must be a finite number", out)
        self.assertIn("oracle_violations must be >= 0", out)
        self.assertIn("200 characters long", out)
        self.assertIn("0 passed, 4 failed", out)
        sc = self.scenarios(b"[ok]\nconfig = x\xff.cfg\n")
        rc, out, err = self.run_harness("--scenarios", str(sc))
        self.assertEqual(rc, 1)
        self.assertIn("not UTF-8 (byte 0xff", out)
        for bad in (self.d, self.d / "none.cfg"):
            rc, out, err = self.run_harness("--scenarios", str(bad))
            self.assertEqual(rc, 1, out + err)
            self.assertIn("FAIL  scenarios ", out)

    def test_usage_errors_still_close(self):
        sc = self.scenarios("[ok]\nconfig = %s\n" % self.cfg)
        rc, out, err = self.run_harness("--scenarios", str(sc), "nomatch")
        self.assertEqual(rc, 2)
        self.assertTrue(out.endswith("0 passed, 0 failed\n"))
        rc, out, err = self.run_harness("--scenarios", str(sc), "-p", "nowhere")
        self.assertEqual(rc, 2)
        rc, out, err = self.run_harness("--scenarios", str(sc), "--junit", str(self.d))
        self.assertEqual(rc, 2)
        self.assertIn("cannot write", err)
        rc, out, err = self.run_harness("--scenarios", str(sc), "--tap",
                                        str(self.d / "hello.cfg" / "x.tap"))
        self.assertEqual(rc, 2)

    def test_no_unit_binaries(self):
        rc, out, err = self.run_harness("unit")
        self.assertEqual(rc, 2)
        self.assertIn("no unit-test binary in", err)
        self.assertTrue(out.endswith("0 passed, 0 failed\n"))

    def test_unit_binaries_that_cannot_run(self):
        write_exe(self.build / "unit" / "test_junk", "#!/nonexistent/interpreter\n")
        (self.build / "unit" / "test_elf").write_bytes(b"\x7fELF junk")
        os.chmod(self.build / "unit" / "test_elf", 0o755)
        rc, out, err = self.run_harness("unit")
        self.assertEqual(rc, 1)
        self.assertIn("FAIL  unit test_junk (cannot run:", out)
        self.assertIn("FAIL  unit test_elf (cannot run:", out)
        self.assertIn("0 passed, 2 failed", out)


class Reports(unittest.TestCase):
    """--tap and --junit (issue 13): one entry per unit case and per
    scenario run, with its platform, log, and for failures reason and tail."""

    def test_formats(self):
        from . import report
        es = [report.Entry("scenario", "bochs-ryzen", "b", False, "hv outcome \x1b panic # x",
                           1.5, "build/logs/bochs-ryzen/b.log", ["line \x00 one", "<two & 'three'>"]),
              report.Entry("scenario", "qemu", "a", True, "3.0 s", 3.0, "build/logs/a.log"),
              report.Entry("unit", "test_x", "test_x.ok", True, "", 0.2),
              report.Entry("unit", "test_x", "test_x.skip", True, "# SKIP", 0, skipped=True)]
        tap = report.tap(es)
        lines = tap.splitlines()
        self.assertEqual(lines[:3], ["TAP version 13", "1..4", "ok 1 - unit test_x.ok"])
        self.assertIn("ok 2 - unit test_x.skip # SKIP", lines)
        self.assertIn("ok 4 - scenario a", lines)
        self.assertIn("not ok 3 - scenario bochs-ryzen/b", lines)
        self.assertIn('  log: "build/logs/bochs-ryzen/b.log"', lines)
        self.assertIn('  message: "hv outcome \\u001b panic # x"', lines)
        self.assertIn('    - "line \\u0000 one"', lines)
        root = ET.fromstring(report.junit(es))
        self.assertEqual((root.get("tests"), root.get("failures"), root.get("skipped")),
                         ("4", "1", "1"))
        cases = root.findall("./testsuite/testcase")
        self.assertEqual([(c.get("classname"), c.get("name")) for c in cases],
                         [("unit.test_x", "test_x.ok"), ("unit.test_x", "test_x.skip"),
                          ("scenario.bochs-ryzen", "b"), ("scenario.qemu", "a")])
        fail = cases[2].find("failure")
        self.assertEqual(fail.get("message"), "hv outcome \ufffd panic # x")
        self.assertIn("<two & 'three'>", fail.text)
        self.assertEqual({p.get("name"): p.get("value") for p in cases[2].iter("property")},
                         {"platform": "bochs-ryzen", "log": "build/logs/bochs-ryzen/b.log"})
        self.assertIsNotNone(cases[1].find("skipped"))

    def test_run_writes_both(self):
        r = Robustness("test_stand_in_passes")
        r.setUp()
        try:
            write_exe(r.build / "unit" / "test_u", "#!/bin/sh\necho 1..3\necho ok 1 - a\n"
                      "echo not ok 2 - b\necho '# b.c:9: error: Failure!'\necho ok 3 - c\n"
                      "exit 1\n")
            sc = r.scenarios("[ok]\nconfig = %s\n[fail]\nconfig = %s\n"
                             "[bytes]\nconfig = %s\n" % (r.cfg, r.cfg, r.cfg))
            tap, xml = r.d / "out" / "r.tap", r.d / "out" / "sub" / "r.xml"
            rc, out, err = r.run_harness("--scenarios", str(sc), "--tap", str(tap),
                                         "--junit", str(xml))
            self.assertEqual(rc, 1)
            self.assertTrue(out.endswith("3 passed, 3 failed\n"), out)
            lines = tap.read_text().splitlines()
            self.assertEqual(lines[1], "1..6")
            self.assertEqual(sum(l.startswith("ok ") for l in lines), 3)
            self.assertEqual(sum(l.startswith("not ok ") for l in lines), 3)
            self.assertIn("not ok 2 - unit test_u.b", lines)
            root = ET.parse(xml).getroot()      # well-formed, with the log bytes in it
            self.assertEqual((root.get("tests"), root.get("failures")), ("6", "3"))
            by_name = {c.get("name"): c for c in root.iter("testcase")}
            self.assertEqual(set(by_name), {"test_u.a", "test_u.b", "test_u.c",
                                            "ok", "fail", "bytes"})
            f = by_name["fail"].find("failure")
            self.assertIn("hv outcome fail", f.get("message"))
            self.assertIn("kv run.result=pass", f.text)        # the log's tail
            logs = {p.get("value") for p in by_name["ok"].iter("property")}
            self.assertIn("build/logs/ok.log", {l[-17:] for l in logs})
            self.assertIn("\ufffd", by_name["bytes"].find("failure").text)
            self.assertIn("b.c:9: error: Failure!", by_name["test_u.b"].find("failure").get("message"))
            self.assertIsNone(by_name["test_u.a"].find("failure"))
        finally:
            r.tearDown()
