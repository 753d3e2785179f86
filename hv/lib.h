/*
 * hv/lib.h - the small C library every part of hv uses.
 *
 * Pure-logic modules (config parser, instruction decoder, page-table builder,
 * report formatting, barrier policy) include only this header, so they build
 * both freestanding (inside hv) and on the host (unit tests). In the host
 * build the string functions come from the system libc; in hv they come from
 * hv/lib/string.c. The formatter is always hv's own (hv/lib/format.c).
 */
#ifndef HV_LIB_H
#define HV_LIB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t s64;
typedef int32_t s32;

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define KiB(x) ((u64)(x) << 10)
#define MiB(x) ((u64)(x) << 20)
#define GiB(x) ((u64)(x) << 30)
#define BIT(n) (1ull << (n))

/*
 * array_index_nospec(i, n): i when i < n, else 0, also on a speculative
 * path. Use it on a guest-controlled index (or offset) right after its
 * bounds check: if the check is mispredicted, the mask (from cmp/sbb, no
 * branch for the predictor to get wrong) still keeps the access inside
 * [0, n). The same idea as Linux's array_index_nospec() (Spectre v1).
 */
static inline u64 array_index_mask_nospec(u64 i, u64 n)
{
	u64 mask;
	/* CF = (i < n); sbb turns it into all ones or zero */
	__asm__("cmp %2, %1; sbb %0, %0" : "=r"(mask) : "r"(i), "r"(n) : "cc");
	return mask;
}
#define array_index_nospec(i, n) ((__typeof__(i))((u64)(i) & array_index_mask_nospec((u64)(i), (u64)(n))))

void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

/*
 * printf-style formatting into a bounded buffer. Supports %d %i %u %x %X %p
 * %s %c %%, the l/ll/z length modifiers, a width (digits or *), the '0' and
 * '-' flags, and a precision for %s (%.Ns, %.*s). Always NUL-terminates when
 * n > 0; returns the length the full output would have had.
 */
int kvsnprintf(char *buf, size_t n, const char *fmt, va_list ap);
int ksnprintf(char *buf, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
