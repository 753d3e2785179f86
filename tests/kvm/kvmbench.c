/*
 * tests/kvm/kvmbench.c - runs tests/kvm/guest.asm's loops under Linux KVM and
 * prints instructions per event, for `make bench-kvm` (tests/kvm/bench_kvm.py).
 *
 *   kvmbench GUEST.BIN [N [REPS [SHIFT]]]
 *
 * Runs inside a Linux booted in QEMU TCG with -icount shift=SHIFT,sleep=off,
 * where the TSC advances 2^SHIFT per emulated instruction. For each loop a
 * fresh VM (2 MiB of RAM, in-kernel irqchip, the CPUID KVM supports) runs
 * the guest's timed loop REPS times; the first repetition is a warm-up (it
 * also takes the first KVM_RUN of a second vCPU's thread, which calls
 * synchronize_rcu() and idles the CPU: under sleep=off that warps virtual
 * time). Per repetition it prints one line:
 *
 *   kvmbench loop=NAME rep=R n=N events=E tsc=DELTA exits=X emul=Y io=Z halt=H
 *
 * DELTA is the guest's rdtsc difference; E the number of events in the timed
 * window (N, or 2N for the two-vCPU loops: one iteration of vCPU 0 is two
 * vCPU switches); X/Y/Z/H are KVM's debugfs counters (exits, insn_emulation,
 * io_exits, halt_exits) after minus before the repetition. The Python side
 * divides. The loop timer-tick (guest.asm: two windows of W TSC units, the
 * second with a TSC-deadline tick every P) prints instead
 *
 *   kvmbench loop=timer-tick rep=R window=W period=P iters_a=A iters_b=B
 *            ticks=T exits_a=.. emul_a=.. io_a=.. halt_a=.. exits_b=.. ...
 *
 * (one line): the iterations of the guest's loop without and with the
 * timer, the ticks taken, and KVM's counters over each window (read at the
 * guest's `out 0xF4` between them). Its VM's CPUID has TSC_DEADLINE_TIMER
 * (leaf 1 ECX bit 24), which KVM_GET_SUPPORTED_CPUID leaves out and KVM
 * honours when KVM_CAP_TSC_DEADLINE_TIMER says it can. The guest scales W
 * and P by the TSC units per instruction, 2^SHIFT (default 7), which the
 * runner passes in EDI. A repetition that has not ended after REP_SECONDS
 * prints
 *
 *   kvmbench loop=NAME rep=R hung: ...
 *
 * instead, and the loop's remaining repetitions are skipped. Built with
 * gcc -static; needs /dev/kvm and debugfs mounted.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MEM_SIZE   (2u << 20)
#define LOAD_ADDR  0x1000u
#define T0_ADDR    0x500u
#define T1_ADDR    0x508u
#define PORT_DONE  0xF0
#define PORT_USER  0xF1
#define PORT_PP    0xF2
#define PORT_READY 0xF3
#define PORT_MID   0xF4         /* timer-tick: between its two windows */
#define TK_ADDR    0x520u       /* timer-tick results: guest.asm's TK_A.. */

/* The entry table at the start of guest.asm, in this order. */
enum entry { E_CALIB, E_CPUID, E_HCALL, E_PIO_KERNEL, E_PIO_USER,
	     E_PP_V0, E_PP_V1, E_IPI_V0, E_IPI_V1, E_SELFIPI, E_TICK, E_COUNT };

struct loop {
	const char *name;
	enum entry v0, v1;      /* v1 = E_COUNT: one vCPU */
	unsigned events_per_iter;
	int tsc_deadline;       /* CPUID with the TSC-deadline timer */
};

static const struct loop loops[] = {
	{ "calib",        E_CALIB,      E_COUNT, 1, 0 },
	{ "cpuid",        E_CPUID,      E_COUNT, 1, 0 },
	{ "hypercall",    E_HCALL,      E_COUNT, 1, 0 },
	{ "pio-kernel",   E_PIO_KERNEL, E_COUNT, 1, 0 },
	{ "pio-user",     E_PIO_USER,   E_COUNT, 1, 0 },
	{ "switch-user",  E_PP_V0,      E_PP_V1, 2, 0 },
	{ "switch-ipi",   E_IPI_V0,     E_IPI_V1, 2, 0 },
	{ "selfipi",      E_SELFIPI,    E_COUNT, 1, 0 },
	{ "timer-tick",   E_TICK,       E_COUNT, 1, 1 },
};

static int kvm_fd, run_size;
static uint32_t tsc_unit = 1u << 7;     /* TSC per instruction: 2^SHIFT */
static uint8_t *guest_mem;
static size_t guest_len;
static const uint8_t *image;

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stdout, "kvmbench: error: ");
	vfprintf(stdout, fmt, ap);
	fprintf(stdout, " (errno %d: %s)\n", errno, strerror(errno));
	va_end(ap);
	fflush(stdout);
	exit(1);
}

static uint64_t stat_read(const char *name)
{
	char path[128], buf[64];
	snprintf(path, sizeof path, "/sys/kernel/debug/kvm/%s", name);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	return strtoull(buf, NULL, 10);
}

struct stats { uint64_t exits, emul, io, halt; };
static void stats_now(struct stats *s)
{
	s->exits = stat_read("exits");
	s->emul = stat_read("insn_emulation");
	s->io = stat_read("io_exits");
	s->halt = stat_read("halt_exits");
}

struct vcpu {
	int fd;
	struct kvm_run *run;
};

static struct kvm_cpuid2 *supported_cpuid(void)
{
	int n = 256;
	struct kvm_cpuid2 *c = calloc(1, sizeof *c + n * sizeof(struct kvm_cpuid_entry2));
	c->nent = n;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0)
		die("KVM_GET_SUPPORTED_CPUID");
	return c;
}

static void vcpu_create(int vm, int id, struct vcpu *v, struct kvm_cpuid2 *cpuid)
{
	v->fd = ioctl(vm, KVM_CREATE_VCPU, id);
	if (v->fd < 0)
		die("KVM_CREATE_VCPU %d", id);
	v->run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED)
		die("mmap kvm_run");
	if (ioctl(v->fd, KVM_SET_CPUID2, cpuid) < 0)
		die("KVM_SET_CPUID2");
}

/* Real mode, CS = 0, IP = the entry, ESI = n, a stack below the image. */
static void vcpu_enter_at(struct vcpu *v, enum entry e, uint32_t n)
{
	struct kvm_sregs s;
	struct kvm_regs r;
	if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		die("KVM_GET_SREGS");
	s.cs.selector = 0;
	s.cs.base = 0;
	s.ds = s.es = s.ss = s.fs = s.gs = s.cs;
	s.ds.type = s.es.type = s.ss.type = s.fs.type = s.gs.type = 3; /* data, RW, accessed */
	if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
		die("KVM_SET_SREGS");
	memset(&r, 0, sizeof r);
	uint16_t ip;
	memcpy(&ip, image + 2 * e, 2);
	r.rip = ip;
	r.rsi = n;
	r.rdi = tsc_unit;
	r.rsp = 0x0F00;
	r.rflags = 0x2;
	if (ioctl(v->fd, KVM_SET_REGS, &r) < 0)
		die("KVM_SET_REGS");
}

/* A repetition that does not end within REP_SECONDS of (virtual) time is
 * reported as hung and its loop abandoned: a lost wake-up must not hang the
 * whole run. Only the main thread takes SIGALRM. */
#define REP_SECONDS 60
#define PORT_HUNG (-1)
static volatile sig_atomic_t rep_expired;
static void on_alarm(int sig)
{
	(void)sig;
	rep_expired = 1;
}

/* KVM_RUN until an exit to user space other than PORT_USER; returns the
 * port, or PORT_HUNG once the repetition's time is up. */
static int vcpu_run_to_port(struct vcpu *v, int timed)
{
	for (;;) {
		if (timed && rep_expired)
			return PORT_HUNG;
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			die("KVM_RUN");
		}
		if (v->run->exit_reason != KVM_EXIT_IO) {
			fprintf(stdout, "kvmbench: error: unexpected exit reason %u\n",
				v->run->exit_reason);
			exit(1);
		}
		if (v->run->io.port == PORT_USER)
			continue;
		return v->run->io.port;
	}
}

/* One loop's VM: its vCPUs, and for the user-space ping-pong whose turn it
 * is (futex-waited). Never freed: a second vCPU's thread outlives its loop. */
struct ctx {
	const struct loop *l;
	struct vcpu vcpus[2];
	volatile int turn;
	volatile int v1_ready;
};

static void futex_wait(volatile int *addr, int val)
{
	syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}
static void futex_wake(volatile int *addr)
{
	syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *v1_thread(void *arg)
{
	struct ctx *c = arg;
	struct vcpu *v = &c->vcpus[1];
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	vcpu_enter_at(v, c->l->v1, 0);
	if (c->l->v0 == E_PP_V0) {
		for (;;) {
			while (__atomic_load_n(&c->turn, __ATOMIC_SEQ_CST) != 1)
				futex_wait(&c->turn, 0);
			int port = vcpu_run_to_port(v, 0);
			if (port != PORT_PP)
				die("vCPU 1 exited to port 0x%x", port);
			__atomic_store_n(&c->turn, 0, __ATOMIC_SEQ_CST);
			futex_wake(&c->turn);
		}
	}
	/* IPI + HLT: vCPU 1 runs on its own; it reports once that its APIC is on */
	int port = vcpu_run_to_port(v, 0);
	if (port != PORT_READY)
		die("vCPU 1 exited to port 0x%x, expected 0x%x", port, PORT_READY);
	__atomic_store_n(&c->v1_ready, 1, __ATOMIC_SEQ_CST);
	futex_wake(&c->v1_ready);
	port = vcpu_run_to_port(v, 0);
	die("vCPU 1 exited to port 0x%x", port);
	return NULL;
}

/* The supported CPUID plus TSC_DEADLINE_TIMER (leaf 1 ECX bit 24): KVM
 * reports the timer through KVM_CAP_TSC_DEADLINE_TIMER, not in
 * KVM_GET_SUPPORTED_CPUID, and accepts LVT timer mode 10b only when the
 * guest's CPUID has it. */
static struct kvm_cpuid2 *cpuid_with_tsc_deadline(const struct kvm_cpuid2 *base)
{
	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) <= 0)
		die("KVM_CAP_TSC_DEADLINE_TIMER: this KVM has no TSC-deadline timer; "
		    "the loop timer-tick cannot run");
	size_t size = sizeof *base + base->nent * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *c = malloc(size);
	memcpy(c, base, size);
	for (unsigned i = 0; i < c->nent; i++) {
		if (c->entries[i].function == 1) {
			c->entries[i].ecx |= 1u << 24;
			return c;
		}
	}
	die("KVM_GET_SUPPORTED_CPUID has no leaf 1");
	return NULL;
}

static void run_loop(const struct loop *l, uint32_t n, int reps, struct kvm_cpuid2 *cpuid)
{
	if (l->tsc_deadline)
		cpuid = cpuid_with_tsc_deadline(cpuid);
	int vm = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm < 0)
		die("KVM_CREATE_VM");
	if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0)
		die("KVM_CREATE_IRQCHIP");
	memset(guest_mem, 0, MEM_SIZE);
	memcpy(guest_mem + LOAD_ADDR, image, guest_len);
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = MEM_SIZE,
		.userspace_addr = (uintptr_t)guest_mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		die("KVM_SET_USER_MEMORY_REGION");
	struct ctx *c = calloc(1, sizeof *c);
	c->l = l;
	struct vcpu *vcpus = c->vcpus;
	vcpu_create(vm, 0, &vcpus[0], cpuid);
	pthread_t t;
	if (l->v1 != E_COUNT) {
		vcpu_create(vm, 1, &vcpus[1], cpuid);
		/* with the in-kernel LAPIC an application processor waits for
		 * INIT/SIPI; this one starts running at once */
		struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };
		if (ioctl(vcpus[1].fd, KVM_SET_MP_STATE, &mp) < 0)
			die("KVM_SET_MP_STATE");
		if (pthread_create(&t, NULL, v1_thread, c))
			die("pthread_create");
		if (l->v0 == E_IPI_V0) {
			while (!__atomic_load_n(&c->v1_ready, __ATOMIC_SEQ_CST))
				futex_wait(&c->v1_ready, 0);
		}
	}
	for (int rep = 0; rep < reps; rep++) {
		struct stats a, b, mid = { 0 };
		vcpu_enter_at(&vcpus[0], l->v0, n);
		stats_now(&a);
		int port, mids = 0;
		rep_expired = 0;
		alarm(REP_SECONDS);
		for (;;) {
			port = vcpu_run_to_port(&vcpus[0], 1);
			if (port == PORT_MID && l->v0 == E_TICK && !mids++) {
				stats_now(&mid);
				continue;
			}
			if (port != PORT_PP || l->v0 != E_PP_V0)
				break;
			__atomic_store_n(&c->turn, 1, __ATOMIC_SEQ_CST);
			futex_wake(&c->turn);
			while (__atomic_load_n(&c->turn, __ATOMIC_SEQ_CST) != 0 && !rep_expired)
				futex_wait(&c->turn, 1);
		}
		alarm(0);
		stats_now(&b);
		if (port == PORT_HUNG) {
			struct kvm_regs r;
			ioctl(vcpus[0].fd, KVM_GET_REGS, &r);
			printf("kvmbench loop=%s rep=%d hung: no end after %d s; vCPU 0 at ip 0x%llx, "
			       "esi %llu; exits %llu halt %llu in the meantime\n", l->name, rep, REP_SECONDS,
			       (unsigned long long)r.rip, (unsigned long long)r.rsi,
			       (unsigned long long)(b.exits - a.exits), (unsigned long long)(b.halt - a.halt));
			fflush(stdout);
			return;
		}
		if (port != PORT_DONE || (l->v0 == E_TICK && mids != 1))
			die("loop %s: vCPU 0 exited to port 0x%x (%d times to 0x%x)", l->name, port, mids,
			    PORT_MID);
		if (l->v0 == E_TICK) {
			/* guest.asm's TK_A, TK_B, TK_TICKS, TK_W, TK_P */
			uint32_t tk[5];
			memcpy(tk, guest_mem + TK_ADDR, sizeof tk);
			printf("kvmbench loop=%s rep=%d window=%u period=%u iters_a=%u iters_b=%u ticks=%u "
			       "exits_a=%llu emul_a=%llu io_a=%llu halt_a=%llu "
			       "exits_b=%llu emul_b=%llu io_b=%llu halt_b=%llu\n",
			       l->name, rep, tk[3], tk[4], tk[0], tk[1], tk[2],
			       (unsigned long long)(mid.exits - a.exits), (unsigned long long)(mid.emul - a.emul),
			       (unsigned long long)(mid.io - a.io), (unsigned long long)(mid.halt - a.halt),
			       (unsigned long long)(b.exits - mid.exits), (unsigned long long)(b.emul - mid.emul),
			       (unsigned long long)(b.io - mid.io), (unsigned long long)(b.halt - mid.halt));
			fflush(stdout);
			continue;
		}
		uint64_t t0, t1;
		memcpy(&t0, guest_mem + T0_ADDR, 8);
		memcpy(&t1, guest_mem + T1_ADDR, 8);
		printf("kvmbench loop=%s rep=%d n=%u events=%u tsc=%llu exits=%llu emul=%llu io=%llu halt=%llu\n",
		       l->name, rep, n, n * l->events_per_iter, (unsigned long long)(t1 - t0),
		       (unsigned long long)(b.exits - a.exits), (unsigned long long)(b.emul - a.emul),
		       (unsigned long long)(b.io - a.io), (unsigned long long)(b.halt - a.halt));
		fflush(stdout);
	}
	/* The second vCPU's thread keeps running its loop (or sleeps in HLT or
	 * in its futex): leave it; the VM is not closed, each loop gets its own. */
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: kvmbench GUEST.BIN [N [REPS [SHIFT]]]\n");
		return 2;
	}
	uint32_t n = argc > 2 ? strtoul(argv[2], NULL, 0) : 1000;
	int reps = argc > 3 ? atoi(argv[3]) : 6;
	if (argc > 4)
		tsc_unit = 1u << atoi(argv[4]);
	int fd = open(argv[1], O_RDONLY);
	if (fd < 0)
		die("open %s", argv[1]);
	static uint8_t buf[65536];
	ssize_t len = read(fd, buf, sizeof buf);
	if (len < 2 * E_COUNT)
		die("%s: too short", argv[1]);
	close(fd);
	image = buf;
	guest_len = len;
	kvm_fd = open("/dev/kvm", O_RDWR);
	if (kvm_fd < 0)
		die("open /dev/kvm");
	run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size <= 0)
		die("KVM_GET_VCPU_MMAP_SIZE");
	struct kvm_cpuid2 *cpuid = supported_cpuid();
	struct sigaction sa = { .sa_handler = on_alarm };   /* no SA_RESTART: KVM_RUN returns EINTR */
	sigaction(SIGALRM, &sa, NULL);
	printf("kvmbench: start n=%u reps=%d tsc_unit=%u api=%d\n", n, reps, tsc_unit,
	       ioctl(kvm_fd, KVM_GET_API_VERSION, 0));
	for (unsigned i = 0; i < sizeof loops / sizeof loops[0]; i++) {
		/* each VM gets its own memory: an earlier VM's vCPU 1 may still run */
		guest_mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (guest_mem == MAP_FAILED)
			die("mmap guest memory");
		run_loop(&loops[i], n, reps, cpuid);
	}
	printf("kvmbench: done\n");
	fflush(stdout);
	return 0;
}
