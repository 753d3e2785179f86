/*
 * hv/emulate.h - the exits hv handles by emulating the guest's instruction
 * (slow paths, off the fast exit path): string I/O (INS/OUTS) and, for
 * guest-physical pages that belong to a device, MMIO.
 */
#ifndef HV_EMULATE_H
#define HV_EMULATE_H

#include "mmio.h"
#include "core.h"

/* The port handlers (emulate.c, over port_io.h's port_access, as IN/OUT). `size` is
 * 1, 2 or 4; port_in returns the value zero-extended. */
u32 vcpu_port_in(struct vcpu *v, u16 port, unsigned size);
void vcpu_port_out(struct vcpu *v, u16 port, unsigned size, u32 val);

/* Elements one string-I/O exit moves at most before it lets the guest run
 * again (RIP unchanged, so the CPU re-executes the REP instruction). */
#define STRIO_CHUNK 256

/*
 * INS/OUTS, with or without REP (exit e->io.string). Returns ACTION_RESUME
 * (done, a chunk done, or a fault injected into the guest) or ACTION_STOP
 * (the VM ended with a named reason).
 */
enum exit_action vcpu_string_io(struct vcpu *v, struct vm_exit *e);

/*
 * Which device, if any, decodes guest-physical `gpa` for vCPU v (its own
 * xAPIC page, a device on the VM's bus): fills the access function and its
 * context. Provided by the exit path (hv/vcpu.c, through vplat.c).
 */
typedef bool (*mmio_lookup_fn)(struct vcpu *v, u64 gpa, mmio_access_fn *fn, void **ctx);

/*
 * A nested page fault (e->npf.gpa): if `lookup` finds a device there,
 * decode and emulate the instruction at the guest's CS:RIP against it and
 * return true with *act set (ACTION_RESUME, or ACTION_STOP with the VM
 * ended and a reason "not emulated: ... at rip ..."). False: no device
 * owns the address (lookup NULL or it says no); the caller goes on.
 */
bool vcpu_mmio_exit(struct vcpu *v, struct vm_exit *e, mmio_lookup_fn lookup, enum exit_action *act);

/*
 * hv's MMIO test device, for a VM with `test_device = on` (docs/guest-abi.md):
 * one page at TEST_DEVICE_GPA. Offsets 0x00-0x3F: eight 64-bit scratch
 * registers, accessed at any size and offset within them; 0x40: the number
 * of writes the device took so far, 0x48: of reads before this one
 * (both read-only, 64-bit);
 * any other offset reads all ones and ignores writes.
 */
#define TEST_DEVICE_GPA 0xFEDF0000ull
bool test_device_lookup(struct vcpu *v, u64 gpa, mmio_access_fn *fn, void **ctx);

#endif
