/*
 * hv/hv.h - what every core file (not the pure-logic ones) needs: console
 * output, the two kinds of failure, and the page allocator.
 *
 * Failure policy (STYLE.md practice 5): a guest's fault ends that VM with a
 * reason (vm_fail in vm.h); a broken invariant of hv itself is a bug and
 * stops the machine with file:line (ASSERT / panic).
 */
#ifndef HV_HV_H
#define HV_HV_H

#include "lib.h"
#include "config.h"

/* Exit codes hv reports through isa-debug-exit (QEMU exits with (c<<1)|1). */
enum hv_exit_code {
	HV_EXIT_PASS = 0,          /* every VM ended as its config expected */
	HV_EXIT_FAIL = 1,          /* at least one VM did not */
	HV_EXIT_CONFIG_ERROR = 2,  /* bad config, missing image, no SVM/VMX, ... */
	HV_EXIT_PANIC = 3,         /* hv bug or exception in hv */
};

void printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vprintk(const char *fmt, va_list ap);
void console_write(const char *s, size_t n);
void serial_init(void);
void serial_input_init(void);   /* x86/serial.c: COM1's receive side, polled */
bool serial_getc(u8 *byte);      /* a byte COM1 received, if any (no wait) */
void console_force_unlock(void);
struct boot_fb;
void console_setup(const struct boot_fb *fb, unsigned mask);   /* x86/serial.c */

void panic(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));
#define PANIC(...) panic(__FILE__, __LINE__, __VA_ARGS__)
#define ASSERT(cond, ...) \
	do { if (__builtin_expect(!(cond), 0)) panic(__FILE__, __LINE__, "assertion '" #cond "' failed: " __VA_ARGS__); } while (0)

/* Platform: leave the machine with a status (platform_is_qemu: x86/cpu.h). */
void platform_exit(enum hv_exit_code code) __attribute__((noreturn));
void platform_set_end(enum on_end how, u64 acpi_rsdp);   /* the config's on_end */

/* Physical pages from the boot pool (identity-mapped, so pa == va). */
void page_alloc_init(u64 base, u64 size);
void *page_alloc(size_t npages);            /* zeroed, 4 KiB aligned; panics when empty */
void *page_alloc_aligned(size_t npages, u64 align);
void *kzalloc(size_t n);                     /* small zeroed object, 64-byte aligned */
u64 page_alloc_used(void);
static inline u64 va_to_pa(const void *p) { return (u64)(uintptr_t)p; }
static inline void *pa_to_va(u64 pa) { return (void *)(uintptr_t)pa; }

#endif
