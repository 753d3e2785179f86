# hv - one non-recursive Makefile. `make help` lists the targets.
#
# Build products go to build/: hv.efi (the hypervisor, a UEFI application),
# guest/*.bin (test guests), unit/ (host unit tests), oracle (trace checker).

CC       := gcc
LD       := ld
OBJCOPY  := objcopy
NASM     := nasm
PYTHON   := python3
B        := build

EFI_INC  := /usr/include/efi
EFI_LIB  := /usr/lib
EFI_CRT0 := $(EFI_LIB)/crt0-efi-x86_64.o

CONFIG   ?= tests/configs/demo.cfg

# Debian packages hv needs to build and test (`make deps` installs the missing ones).
# libc6-dev: the static workload programs of the Linux initramfs (tests/linux/; the
# kernel and busybox-static are fetched with `apt-get download`, never installed).
DEPS := gcc make binutils nasm gnu-efi qemu-system-x86 ovmf mtools dosfstools \
        libcmocka-dev python3 \
        grub-pc-bin grub-efi-amd64-bin grub-common xorriso bochs bochsbios vgabios \
        acpica-tools python3-matplotlib libc6-dev

WARN     := -Wall -Wextra -Werror -Wmissing-prototypes
# Every indirect branch through a retpoline thunk (hv/x86/thunks.S); no jump
# tables (they are indirect jumps). Returns stay plain `ret`: docs/security.md
# says why no return thunk is needed. tests/check-spec.py checks the binary.
SPEC_CFLAGS := -mindirect-branch=thunk-extern -mindirect-branch-register
# Freestanding, position independent (the UEFI loader relocates us), no SSE
# (guest FPU state stays in the registers), no red zone (interrupts). Stack
# protector with one global guard, seeded at boot (hv/x86/protect.c).
HV_CFLAGS := -std=gnu11 -O2 -g $(WARN) -ffreestanding -fno-builtin -nostdinc \
        -isystem $(shell $(CC) -print-file-name=include) \
        -fpic -fno-strict-aliasing -fshort-wchar \
        -fstack-protector-strong -mstack-protector-guard=global \
        -mno-red-zone -mgeneral-regs-only -fno-asynchronous-unwind-tables \
        $(SPEC_CFLAGS) \
        -DGNU_EFI_USE_MS_ABI -I$(EFI_INC) -I$(EFI_INC)/x86_64 -I$(B)
HOST_CFLAGS := -std=gnu11 -O2 -g $(WARN) -Ihv

# Device models (hv/dev/): hardware-free, also built into host unit tests.
DEV_NAMES := lapic ioapic uart16550 cmos pic reset bus acpi_pm pit
DEV_C := $(patsubst %,hv/dev/%.c,$(DEV_NAMES))

HV_C := \
	boot/efi/efi_main.c \
	hv/main.c hv/core.c hv/vendor.c hv/end_report.c hv/mm.c hv/vm.c hv/vcpu.c hv/sched.c hv/sched_timer.c hv/guest_mem.c \
	hv/policy.c hv/barrier.c hv/trace.c hv/report.c \
	hv/config.c hv/insn.c hv/mmio.c hv/emulate.c hv/pagetable.c hv/spec.c hv/vplat.c \
	hv/linux.c hv/linux_load.c hv/acpi.c \
	hv/lib/string.c hv/lib/format.c \
	hv/x86/serial.c hv/x86/fbcon.c hv/x86/font8x16.c hv/x86/platform.c hv/x86/desc.c hv/x86/trap.c hv/x86/apic.c hv/x86/acpi_parse.c hv/x86/smp.c \
	hv/x86/protect.c hv/x86/spec_hw.c \
	hv/svm/svm.c \
	hv/vmx/vmx.c \
	$(DEV_C)
HV_S := hv/x86/entry.S hv/x86/rsb.S hv/x86/thunks.S hv/x86/ap_boot.S hv/x86/protect_asm.S hv/svm/svm_entry.S hv/vmx/vmx_entry.S
HV_OBJS := $(patsubst %.c,$(B)/obj/%.o,$(HV_C)) $(patsubst %.S,$(B)/obj/%.o,$(HV_S))

GUESTS := $(patsubst guest/%.asm,$(B)/guest/%.bin,$(wildcard guest/*.asm))

UNIT_TESTS := $(B)/unit/test_config $(B)/unit/test_acpi_parse $(B)/unit/test_insn $(B)/unit/test_mmio $(B)/unit/test_pagetable $(B)/unit/test_guest_mem \
	$(B)/unit/test_report $(B)/unit/test_policy $(B)/unit/test_exhaustive \
	$(B)/unit/test_oracle_samples $(B)/unit/test_fuzz_guests \
	$(B)/unit/test_linux $(B)/unit/test_acpi \
	$(B)/unit/test_spec $(B)/unit/test_spec_check $(B)/unit/test_bench_tools \
	$(patsubst %,$(B)/unit/test_dev_%,$(DEV_NAMES))

.PHONY: test-slow
.PHONY: all deps run test unit compare linux-table bench bench-kvm timeline profile qemu-gdb clean help linux-initramfs linux-native linux-selfboot
all: $(B)/hv.efi $(GUESTS) $(UNIT_TESTS) $(B)/oracle

help:
	@echo "make            build hv.efi, hv-mb2.elf, the guests, unit tests and the oracle"
	@echo "make deps       install missing Debian packages (apt-get, as root)"
	@echo "make run        boot the default scenario ($(CONFIG)) in QEMU"
	@echo "make run CONFIG=file.cfg   boot another config"
	@echo "make test       unit tests, exhaustive policy check, all scenarios on $(TEST_PLATFORMS)"
	@echo "                (also writes $(JUNIT) and $(TAP); JUNIT=file TAP=file)"
	@echo "make test-slow  the slow scenarios (group slow: Linux on Bochs VT-x), which CI runs after make test"
	@echo "make compare    run CONFIG under every barrier policy, print a comparison table (TRACKS=, QEMU_ARGS=,"
	@echo "                SPECTRE=on,prctl,off for a Linux VM's spectre_v2_user=, JOBS=)"
	@echo "make linux-table  the research table: 4 Linux workloads x spectre_v2_user x policies x tracks"
	@echo "                (build/compare/linux-table.md, about 30 min with JOBS=2; docs/barriers.md)"
	@echo "make bench      path lengths (SVM in QEMU -icount, VT-x in Bochs, KVM beside), the policy matrix,"
	@echo "                charts; report in build/bench/report.md (docs/benchmarks.md)"
	@echo "make bench-kvm  only KVM's figures (Debian's kernel in QEMU, build/bench/kvm.txt)"
	@echo "make timeline LOG=build/logs/NAME.log   timeline picture of a traced run (build/timeline/)"
	@echo "make profile    those paths function by function (QEMU single-step trace)"
	@echo "make qemu-gdb   boot CONFIG with QEMU waiting for gdb on :1234"
	@echo "make bochs      boot CONFIG in Bochs via GRUB/Multiboot2 ($(BOCHS_PLATFORM); BOCHS_PLATFORM=...)"
	@echo "make iso        a GRUB ISO that boots CONFIG: $(ISO) (docs/booting.md)"
	@echo "make linux-initramfs   Debian kernel, vmlinux and a busybox initramfs under build/linux"
	@echo "make linux-native WORKLOAD=pingpong   boot them in QEMU without hv (docs/platform.md)"
	@echo "make linux-selfboot WORKLOAD=pingpong boot them in QEMU through hv's boot plan and ACPI tables"
	@echo "make usb        a USB stick image (GPT, FAT ESP, GRUB menu: hv.efi or hv-mb2.elf) for CONFIG: $(USB)"

# ---- dependencies -----------------------------------------------------------
deps:
	@missing=""; for p in $(DEPS); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "make deps: need root for apt-get (sudo make deps)"; exit 1; fi; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

# ---- hv.efi -------------------------------------------------------------------
$(B)/asm-offsets.h: hv/asm-offsets.c hv/*.h
	@mkdir -p $(@D)
	$(CC) $(HV_CFLAGS) -S -o $(B)/asm-offsets.s $<
	@( echo "/* generated from hv/asm-offsets.c - do not edit */"; \
	   sed -n 's/^.*->\([A-Z0-9_]*\) \$$\{0,1\}\([0-9]*\).*$$/#define \1 \2/p' $(B)/asm-offsets.s ) > $@

$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(HV_CFLAGS) -MMD -c -o $@ $<

$(B)/obj/%.o: %.S $(B)/asm-offsets.h
	@mkdir -p $(@D)
	$(CC) $(HV_CFLAGS) -MMD -D__ASSEMBLY__ -c -o $@ $<

$(B)/hv.so: $(HV_OBJS) linker.ld
	$(LD) -nostdlib -znocombreloc -z defs -shared -Bsymbolic -T linker.ld -o $@ \
		$(EFI_CRT0) $(HV_OBJS) $(EFI_LIB)/libgnuefi.a

$(B)/hv.efi: $(B)/hv.so
	$(OBJCOPY) -j .text -j .reloc -j .rodata -j .data -j .dynamic -j .dynsym -j .rela \
		--target efi-app-x86_64 $< $@

# ---- Multiboot2 boot path, GRUB ISO, Bochs (boot/mb2/, tests/bochs/) -----------
# build/hv-mb2.elf: the same core objects as hv.efi minus the UEFI loader,
# plus boot/mb2/, linked static (not PIE) at 0x200000 by boot/mb2/mb2.ld.
# GRUB boots it with `multiboot2`; the config and guest images are modules.
MB2_C    := boot/mb2/mb2_main.c
MB2_S    := boot/mb2/entry.S
MB2_OBJS := $(patsubst %.c,$(B)/obj/%.o,$(MB2_C)) $(patsubst %.S,$(B)/obj/%.o,$(MB2_S)) \
	$(filter-out $(B)/obj/boot/efi/%,$(HV_OBJS))
# `make bochs` boots CONFIG in Bochs: an Intel model once hv has a VT-x
# backend, AMD's ryzen (SVM) until then. BOCHS_PLATFORM=bochs-tigerlake etc.
BOCHS_PLATFORM ?= $(if $(wildcard hv/vmx/*.c),bochs-icelake,bochs-ryzen)
ISO      ?= $(B)/hv.iso
# Where `make test` runs the scenarios (tests/run.py --platform; docs/testing.md).
TEST_PLATFORMS ?= qemu,bochs-icelake,bochs-tigerlake,bochs-ryzen,bochs-ovmf,bochs-icelake-x2apic,qemu-usb,qemu-usb-mb2

.PHONY: iso bochs usb
all: $(B)/hv-mb2.elf

$(B)/hv-mb2.elf: $(MB2_OBJS) boot/mb2/mb2.ld
	$(LD) -nostdlib -static -no-pie -z max-page-size=0x1000 -z noexecstack \
		--no-dynamic-linker -T boot/mb2/mb2.ld -o $@ $(MB2_OBJS)
	@if command -v grub-file >/dev/null; then grub-file --is-x86-multiboot2 $@ || \
		{ echo "$@: not a Multiboot2 image (grub-file)"; rm -f $@; exit 1; }; fi

# A GRUB rescue ISO that boots CONFIG (grub.cfg: multiboot2 + one module2 per file).
iso: deps
	@$(MAKE) --no-print-directory all
	$(PYTHON) tests/run.py iso $(CONFIG) -o $(ISO)

# A raw disk image for `dd` to a USB stick (tests/harness/usb.py; docs/booting.md).
USB      ?= $(B)/hv-usb.img
usb: deps
	@$(MAKE) --no-print-directory all
	$(PYTHON) -m tests.harness.usb $(CONFIG) -o $(USB)

bochs: deps
	@$(MAKE) --no-print-directory all
	$(PYTHON) tests/run.py boot --platform $(BOCHS_PLATFORM) $(CONFIG)

# ---- guests -------------------------------------------------------------------
$(B)/guest/%.bin: guest/%.asm guest/hv.inc guest/catch.inc
	@mkdir -p $(@D)
	$(NASM) -f bin -I guest/ -o $@ $<

# ---- host tests ---------------------------------------------------------------
$(B)/unit/test_acpi_parse: tests/unit/test_acpi_parse.c hv/x86/acpi_parse.c hv/x86/acpi_parse.h
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) -o $@ tests/unit/test_acpi_parse.c hv/x86/acpi_parse.c -lcmocka

$(B)/unit/test_config: tests/unit/test_config.c hv/config.c hv/lib/format.c hv/config.h
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) -DCONFIG_GOLDEN_DIR='"tests/unit/config-golden"' -o $@ $(filter %.c,$^) -lcmocka
$(B)/unit/test_insn: tests/unit/test_insn.c hv/insn.c hv/lib/format.c hv/insn.h
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) -o $@ $(filter %.c,$^) -lcmocka
# Built with AddressSanitizer: its fuzz test checks the decoder never reads
# past the bytes it is given.
$(B)/unit/test_mmio: tests/unit/test_mmio.c hv/mmio.c hv/lib/format.c hv/mmio.h hv/insn.h
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) -fsanitize=address,undefined -fno-sanitize-recover=all -o $@ $(filter %.c,$^) -lcmocka
$(B)/unit/test_pagetable: tests/unit/test_pagetable.c hv/pagetable.c hv/lib/format.c hv/pagetable.h
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) -o $@ $(filter %.c,$^) -lcmocka
$(B)/unit/test_guest_mem: tests/unit/test_guest_mem.c hv/guest_mem.c hv/guest_mem.h hv/vm.h
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) -o $@ $(filter %.c,$^) -lcmocka
$(B)/unit/test_report: tests/unit/test_report.c hv/report.c hv/config.c hv/policy.c hv/lib/format.c hv/report.h
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) -o $@ $(filter %.c,$^) -lcmocka
$(B)/unit/test_policy: tests/unit/test_policy.c hv/policy.c hv/lib/format.c hv/policy.h
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) -o $@ $(filter %.c,$^) -lcmocka
$(B)/unit/test_linux: tests/unit/test_linux.c hv/linux.c hv/lib/format.c hv/linux.h
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) -o $@ $(filter %.c,$^) -lcmocka
$(B)/unit/test_acpi: tests/unit/test_acpi.c hv/acpi.c hv/lib/format.c hv/acpi.h
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) -o $@ $(filter %.c,$^) -lcmocka
# One test per device model: tests/unit/test_dev_NAME.c against hv/dev/NAME.c.
$(B)/unit/test_dev_%: tests/unit/test_dev_%.c hv/dev/%.c hv/lib/format.c $(wildcard hv/dev/*.h) hv/lib.h
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) -o $@ $(filter %.c,$^) -lcmocka
$(B)/unit/test_exhaustive: tests/exhaustive.c tests/oracle/oracle.c hv/policy.c hv/lib/format.c hv/policy.h tests/oracle/oracle.h
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) -Itests/oracle -o $@ $(filter %.c,$^)
# 200 random-guest seeds (tests/fuzz/guests.py) as one TAP case: hv survives them all.
$(B)/unit/test_fuzz_guests: tests/fuzz/guests.py
	@mkdir -p $(@D)
	printf '#!/bin/sh\n# 200 random guests under hv in QEMU (tests/fuzz/guests.py); TAP\ncd "$$(dirname "$$0")/../.." || exit 1\necho 1..1\nif python3 tests/fuzz/guests.py --seeds 0-199 --quiet > build/fuzz-guests.log 2>&1; then\n  echo "ok 1 - 200 random guest seeds: no panic, crash or hang; hello always exit 0; hv intact"\nelse\n  echo "not ok 1 - random guests broke a rule: see build/fuzz-guests.log"; tail -5 build/fuzz-guests.log | sed "s/^/# /"\nfi\n' > $@
	chmod +x $@

$(B)/unit/test_spec: tests/unit/test_spec.c hv/spec.c hv/config.c hv/lib/format.c hv/spec.h hv/config.h
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) -o $@ $(filter %.c,$^) -lcmocka
# hv's binaries disassembled: no unprotected indirect branch, RSB fill before the
# first ret after every VM exit; and the check rejects tests/spec-check/bad-*.S (TAP).
$(B)/unit/test_spec_check: tests/check-spec.py $(wildcard tests/spec-check/*.S) $(B)/hv.so $(B)/hv-mb2.elf
	@mkdir -p $(@D)
	printf '#!/bin/sh\ncd "$$(dirname "$$0")/../.." && exec python3 tests/check-spec.py --tap --self-test build/hv.so build/hv-mb2.elf\n' > $@
	chmod +x $@

# The benchmark's own tooling checked on the host (tests/bench_selftest.py:
# initramfs writer, module order, KVM runner's output parser, timeline); TAP.
$(B)/unit/test_bench_tools: tests/bench_selftest.py tests/timeline.py tests/kvm/bench_kvm.py
	@mkdir -p $(@D)
	printf '#!/bin/sh\n# tests/bench_selftest.py as one TAP case\ncd "$$(dirname "$$0")/../.." || exit 1\necho 1..1\nif python3 tests/bench_selftest.py > build/bench-selftest.log 2>&1; then\n  echo "ok 1 - benchmark tooling: cpio writer, module order, runner parser, timeline"\nelse\n  echo "not ok 1 - benchmark tooling: see build/bench-selftest.log"; tail -5 build/bench-selftest.log | sed "s/^/# /"\nfi\n' > $@
	chmod +x $@

# The oracle judged on hand-made traces with known verdicts (TAP, like the others).
$(B)/unit/test_oracle_samples: tests/oracle/run-samples.sh $(B)/oracle $(wildcard tests/oracle/samples/*.trace)
	@mkdir -p $(@D)
	printf '#!/bin/sh\ncd "$$(dirname "$$0")/../.." && exec sh tests/oracle/run-samples.sh build/oracle\n' > $@
	chmod +x $@
$(B)/oracle: tests/oracle/oracle.c tests/oracle/main.c tests/oracle/oracle.h
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) -o $@ $(filter %.c,$^)

unit: $(UNIT_TESTS)

# ---- Linux guest images (docs/platform.md) ----------------------------------------
# The kernel and busybox-static come from Debian with `apt-get download` and are
# unpacked under build/linux, never installed. linux-native boots them in QEMU
# TCG without hv (a reference for what the platform must provide).
WORKLOAD ?= hello
linux-initramfs:
	$(PYTHON) tests/linux/initramfs.py build
linux-native: linux-initramfs
	$(PYTHON) tests/linux/initramfs.py boot $(WORKLOAD) $(LINUX_NATIVE_FLAGS)
# The same kernel booted through hv's own plan and ACPI tables (hv/linux.c,
# hv/acpi.c run on the host; a PVH stub carries the plan out in QEMU).
linux-selfboot: linux-initramfs
	$(PYTHON) tests/linux/initramfs.py selfboot $(WORKLOAD) $(LINUX_NATIVE_FLAGS)

# ---- running --------------------------------------------------------------------
run: deps
	@$(MAKE) --no-print-directory all
	@echo "$(PYTHON) tests/run.py boot $(CONFIG)"; $(PYTHON) tests/run.py boot $(CONFIG); s=$$?; \
	  $(PYTHON) tests/timeline.py --for-config $(CONFIG) || true; exit $$s

# Results for CI systems besides the console (docs/testing.md): JUnit XML and
# TAP; JUNIT= or TAP= (empty) turns one off.
JUNIT ?= $(B)/test-results/junit.xml
TAP   ?= $(B)/test-results/results.tap
test: deps
	@$(MAKE) --no-print-directory all
	$(PYTHON) tests/run.py test --platform $(TEST_PLATFORMS) \
		$(if $(JUNIT),--junit $(JUNIT)) $(if $(TAP),--tap $(TAP))

# The slow scenarios (group slow: Linux on Bochs VT-x, minutes each); CI runs
# them after make test (.ci/run). docs/testing.md.
test-slow: deps
	@$(MAKE) --no-print-directory all
	$(PYTHON) tests/run.py test --group slow --platform $(TEST_PLATFORMS) \
		$(if $(JUNIT),--junit $(JUNIT)) $(if $(TAP),--tap $(TAP))

bench: deps
	@$(MAKE) --no-print-directory all
	$(PYTHON) tests/bench.py

bench-kvm: deps
	$(PYTHON) tests/kvm/bench_kvm.py

LOG ?=
timeline:
	@test -n "$(LOG)" || { echo "make timeline LOG=build/logs/NAME.log"; exit 2; }
	$(PYTHON) tests/timeline.py $(LOG)

# Instruction counts per function along each exit path (docs/benchmarks.md).
profile: deps
	@$(MAKE) --no-print-directory all
	$(PYTHON) tests/profile.py $(PROFILE_ARGS)

compare: deps
	@$(MAKE) --no-print-directory all
	$(PYTHON) tests/compare.py $(CONFIG) $(if $(TRACKS),--tracks $(TRACKS)) $(if $(QEMU_ARGS),--qemu-args "$(QEMU_ARGS)") \
		$(if $(SPECTRE),--spectre-v2-user $(SPECTRE)) $(if $(JOBS),--jobs $(JOBS))

# The research table: Linux workloads x spectre_v2_user x policy x track
# (tests/compare.py --linux-matrix; build/compare/linux-table.md; docs/barriers.md).
linux-table: deps
	@$(MAKE) --no-print-directory all
	$(PYTHON) tests/compare.py --linux-matrix --jobs $(or $(JOBS),2)

qemu-gdb: deps
	@$(MAKE) --no-print-directory all
	@echo "in another terminal: gdb -ex 'target remote :1234' (see docs/debugging.md for symbols)"
	$(PYTHON) tests/run.py boot $(CONFIG) --gdb

# ---- fuzzing (tests/fuzz/; docs/security.md) ---------------------------------------
# `make fuzz SEEDS=A-B`: random guests, up to 15 random VMs + hello per hv boot.
# `make fuzz-config SECONDS=N`: libFuzzer on config_parse() with ASan and UBSan;
# installs clang and its fuzzer runtime (libclang-rt-14-dev) itself if missing.
# `make fuzz-config-cov`: line/branch coverage of the parser by the corpus so far.
SEEDS   ?= 0-199
SECONDS ?= 600
FUZZ_JOBS ?= 2
FUZZ_DEPS := clang libclang-rt-14-dev llvm-14
FUZZ_SAN  := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined

.PHONY: fuzz fuzz-config fuzz-config-cov fuzz-deps
fuzz: deps
	@$(MAKE) --no-print-directory $(B)/hv.efi $(B)/guest/hello.bin
	$(PYTHON) tests/fuzz/guests.py --seeds $(SEEDS) -j $(FUZZ_JOBS)

fuzz-deps:
	@missing=""; for p in $(FUZZ_DEPS); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "make fuzz-config: need root for apt-get"; exit 1; fi; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

$(B)/fuzz/fuzz_config: tests/fuzz/fuzz_config.c hv/config.c hv/lib/format.c hv/config.h hv/lib.h
	@mkdir -p $(@D)
	clang -std=gnu11 -g -O1 $(FUZZ_SAN) -Ihv -o $@ $(filter %.c,$^)

fuzz-config: fuzz-deps
	@$(MAKE) --no-print-directory $(B)/fuzz/fuzz_config
	@rm -rf $(B)/fuzz/config-seeds && mkdir -p $(B)/fuzz/config-seeds $(B)/fuzz/config-corpus \
		$(B)/fuzz/config-crashes
	@cp tests/unit/config-golden/*.cfg $(B)/fuzz/config-seeds/
	@for f in tests/configs/*.cfg; do cp $$f $(B)/fuzz/config-seeds/configs-$$(basename $$f); done
	@{ $(B)/fuzz/fuzz_config -max_total_time=$(SECONDS) -max_len=8192 -print_final_stats=1 \
		-dict=tests/fuzz/config.dict -artifact_prefix=$(B)/fuzz/config-crashes/ \
		$(B)/fuzz/config-corpus $(B)/fuzz/config-seeds 2>&1; echo $$? >$(B)/fuzz/.fuzz-config.rc; } \
		| tee $(B)/fuzz/fuzz-config.log; exit $$(cat $(B)/fuzz/.fuzz-config.rc)

$(B)/fuzz/fuzz_config_cov: tests/fuzz/fuzz_config.c hv/config.c hv/lib/format.c hv/config.h hv/lib.h
	@mkdir -p $(@D)
	clang -std=gnu11 -g -O0 -fsanitize=fuzzer -fprofile-instr-generate -fcoverage-mapping \
		-Ihv -o $@ $(filter %.c,$^)

fuzz-config-cov: fuzz-deps
	@$(MAKE) --no-print-directory $(B)/fuzz/fuzz_config_cov
	@rm -f $(B)/fuzz/config.profraw
	LLVM_PROFILE_FILE=$(B)/fuzz/config.profraw $(B)/fuzz/fuzz_config_cov -runs=0 \
		$(B)/fuzz/config-corpus $(B)/fuzz/config-seeds >/dev/null 2>&1
	llvm-profdata-14 merge -o $(B)/fuzz/config.profdata $(B)/fuzz/config.profraw
	llvm-cov-14 report $(B)/fuzz/fuzz_config_cov -instr-profile=$(B)/fuzz/config.profdata \
		hv/config.c hv/lib/format.c
# ---- end of fuzzing -----------------------------------------------------------------

clean:
	rm -rf $(B)

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
