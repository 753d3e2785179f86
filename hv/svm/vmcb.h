/*
 * hv/svm/vmcb.h - the Virtual Machine Control Block, AMD APM Vol. 2
 * Appendix B ("Layout of VMCB"), and the SVM constants hv uses.
 */
#ifndef HV_SVM_VMCB_H
#define HV_SVM_VMCB_H

#include "../lib.h"

/* Intercept vector 0 (offset 0x00): CR reads in bits 0-15, writes in 16-31. */
#define INTERCEPT_CR0_WRITE BIT(16 + 0)
#define INTERCEPT_CR4_WRITE BIT(16 + 4)
/* Intercept vector 3 (offset 0x0C), APM Table B-1. */
#define INTERCEPT_INTR BIT(0)
#define INTERCEPT_NMI BIT(1)
#define INTERCEPT_VINTR BIT(4)  /* a virtual interrupt (V_IRQ) is taken */
#define INTERCEPT_SMI BIT(2)
#define INTERCEPT_INIT BIT(3)
#define INTERCEPT_RDPMC BIT(15)
#define INTERCEPT_CPUID BIT(18)
#define INTERCEPT_IRET BIT(20)
#define INTERCEPT_PAUSE BIT(23)
#define INTERCEPT_INVD BIT(22)
#define INTERCEPT_HLT BIT(24)
#define INTERCEPT_INVLPGA BIT(26)
#define INTERCEPT_IOIO_PROT BIT(27)
#define INTERCEPT_MSR_PROT BIT(28)
#define INTERCEPT_SHUTDOWN BIT(31)
/* Intercept vector 4 (offset 0x10). */
#define INTERCEPT_VMRUN BIT(0)
#define INTERCEPT_VMMCALL BIT(1)
#define INTERCEPT_VMLOAD BIT(2)
#define INTERCEPT_VMSAVE BIT(3)
#define INTERCEPT_STGI BIT(4)
#define INTERCEPT_CLGI BIT(5)
#define INTERCEPT_SKINIT BIT(6)
#define INTERCEPT_WBINVD BIT(9)
#define INTERCEPT_MONITOR BIT(10)
#define INTERCEPT_MWAIT BIT(11)
#define INTERCEPT_XSETBV BIT(13)

/* Exit codes, APM Appendix C. */
enum svm_exit_code {
	SVM_EXIT_WRITE_CR0 = 0x10,
	SVM_EXIT_WRITE_CR4 = 0x14,
	SVM_EXIT_EXCP_BASE = 0x40,
	SVM_EXIT_RDPMC = 0x6f,
	SVM_EXIT_INTR = 0x60,
	SVM_EXIT_NMI = 0x61,
	SVM_EXIT_SMI = 0x62,
	SVM_EXIT_INIT = 0x63,
	SVM_EXIT_CPUID = 0x72,
	SVM_EXIT_IRET = 0x74,
	SVM_EXIT_PAUSE = 0x77,
	SVM_EXIT_INVD = 0x76,
	SVM_EXIT_HLT = 0x78,
	SVM_EXIT_VINTR = 0x64,
	SVM_EXIT_INVLPGA = 0x7a,
	SVM_EXIT_IOIO = 0x7b,
	SVM_EXIT_MSR = 0x7c,
	SVM_EXIT_SHUTDOWN = 0x7f,
	SVM_EXIT_VMRUN = 0x80,
	SVM_EXIT_VMMCALL = 0x81,
	SVM_EXIT_VMLOAD = 0x82,
	SVM_EXIT_VMSAVE = 0x83,
	SVM_EXIT_STGI = 0x84,
	SVM_EXIT_CLGI = 0x85,
	SVM_EXIT_SKINIT = 0x86,
	SVM_EXIT_WBINVD = 0x89,
	SVM_EXIT_MONITOR = 0x8a,
	SVM_EXIT_MWAIT = 0x8b,
	SVM_EXIT_XSETBV = 0x8d,
	SVM_EXIT_NPF = 0x400,
	SVM_EXIT_INVALID = 0xffffffff,  /* low 32 bits of -1 */
};

/* IOIO EXITINFO1 (APM 15.10.2, Figure 15-2). */
#define IOIO_IN BIT(0)
#define IOIO_STR BIT(2)
#define IOIO_REP BIT(3)
#define IOIO_SZ8 BIT(4)
#define IOIO_SZ16 BIT(5)
#define IOIO_SZ32 BIT(6)

/* EVENTINJ (APM 15.20). */
#define EVENTINJ_VALID BIT(31)
#define EVENTINJ_EV BIT(11)
#define EVENTINJ_TYPE_EXCEPTION (3u << 8)
#define EVENTINJ_TYPE_INTR (0u << 8)
#define EVENTINJ_TYPE_NMI (2u << 8)
#define EVENTINJ_TYPE_MASK (7u << 8)

/* V_INTR control (VMCB offset 0x60, APM 15.21.4, with V_INTR_VECTOR at
 * 0x64 in the same u64): a virtual interrupt request, for its VINTR
 * intercept (an interrupt window) and, under QEMU TCG, to inject an
 * external interrupt (hv/svm/svm.c, tcg_inject_fix). */
#define V_IRQ BIT(8)
#define V_INTR_PRIO_MAX (0xFull << 16)
#define V_IGN_TPR BIT(20)
#define V_INTR_VECTOR_SHIFT 32
#define V_INTR_VECTOR_MASK (0xFFull << 32)
#define INTERRUPT_SHADOW BIT(0)  /* offset 0x68 bit 0 (APM 15.21.5) */

#define VINTR_MASKING BIT(24)
#define NP_ENABLE BIT(0)
#define TLB_CONTROL_FLUSH_ALL 1
#define TLB_CONTROL_FLUSH_ASID 3     /* this guest's ASID only (FlushByAsid) */

struct __attribute__((packed)) vmcb_seg {
	u16 selector;
	u16 attrib;      /* compressed: type/S/DPL/P in 0-7, AVL/L/DB/G in 8-11 */
	u32 limit;
	u64 base;
};

struct __attribute__((packed)) vmcb_control {
	u32 intercept_cr;          /* 0x000 */
	u32 intercept_dr;          /* 0x004 */
	u32 intercept_exceptions;  /* 0x008 */
	u32 intercept_misc1;       /* 0x00c */
	u32 intercept_misc2;       /* 0x010 */
	u32 intercept_misc3;       /* 0x014 */
	u8 reserved1[0x3c - 0x18];
	u16 pause_filter_threshold;/* 0x03c */
	u16 pause_filter_count;    /* 0x03e */
	u64 iopm_base_pa;          /* 0x040 */
	u64 msrpm_base_pa;         /* 0x048 */
	u64 tsc_offset;            /* 0x050 */
	u32 asid;                  /* 0x058 */
	u8 tlb_control;            /* 0x05c */
	u8 reserved2[3];
	u64 v_intr;                /* 0x060 */
	u64 interrupt_shadow;      /* 0x068 */
	u64 exit_code;             /* 0x070 */
	u64 exit_info1;            /* 0x078 */
	u64 exit_info2;            /* 0x080 */
	u64 exit_int_info;         /* 0x088 */
	u64 np_control;            /* 0x090 */
	u64 avic_apic_bar;         /* 0x098 */
	u64 ghcb_pa;               /* 0x0a0 */
	u64 event_inj;             /* 0x0a8 */
	u64 n_cr3;                 /* 0x0b0 */
	u64 lbr_virt;              /* 0x0b8 */
	u32 clean_bits;            /* 0x0c0 */
	u32 reserved3;
	u64 next_rip;              /* 0x0c8 */
	u8 insn_bytes_fetched;     /* 0x0d0 */
	u8 insn_bytes[15];
	u8 reserved4[0x400 - 0xe0];
};

struct __attribute__((packed)) vmcb_save {
	struct vmcb_seg es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr;  /* 0x400 */
	u8 reserved1[0x4cb - 0x4a0];
	u8 cpl;                    /* 0x4cb */
	u32 reserved2;
	u64 efer;                  /* 0x4d0 */
	u8 reserved3[0x548 - 0x4d8];
	u64 cr4;                   /* 0x548 */
	u64 cr3;                   /* 0x550 */
	u64 cr0;                   /* 0x558 */
	u64 dr7;                   /* 0x560 */
	u64 dr6;                   /* 0x568 */
	u64 rflags;                /* 0x570 */
	u64 rip;                   /* 0x578 */
	u8 reserved4[0x5d8 - 0x580];
	u64 rsp;                   /* 0x5d8 */
	u8 reserved5[0x5f8 - 0x5e0];
	u64 rax;                   /* 0x5f8 */
	u64 star, lstar, cstar, sfmask, kernel_gs_base;  /* 0x600 */
	u64 sysenter_cs, sysenter_esp, sysenter_eip;     /* 0x628 */
	u64 cr2;                   /* 0x640 */
	u8 reserved6[0x668 - 0x648];
	u64 g_pat;                 /* 0x668 */
	u64 dbgctl;                /* 0x670 */
	u64 br_from, br_to, last_excp_from, last_excp_to;
	u8 reserved7[0x1000 - 0x698];
};

struct vmcb {
	struct vmcb_control control;
	struct vmcb_save save;
};

_Static_assert(sizeof(struct vmcb_control) == 0x400, "VMCB control area");
_Static_assert(__builtin_offsetof(struct vmcb, control.exit_code) == 0x70, "exit code");
_Static_assert(__builtin_offsetof(struct vmcb, control.next_rip) == 0xc8, "nRIP");
_Static_assert(__builtin_offsetof(struct vmcb, save.cpl) == 0x4cb, "CPL");
_Static_assert(__builtin_offsetof(struct vmcb, save.efer) == 0x4d0, "EFER");
_Static_assert(__builtin_offsetof(struct vmcb, save.cr4) == 0x548, "CR4");
_Static_assert(__builtin_offsetof(struct vmcb, save.rsp) == 0x5d8, "RSP");
_Static_assert(__builtin_offsetof(struct vmcb, save.rax) == 0x5f8, "RAX");
_Static_assert(__builtin_offsetof(struct vmcb, save.cr2) == 0x640, "CR2");
_Static_assert(__builtin_offsetof(struct vmcb, save.g_pat) == 0x668, "G_PAT");
_Static_assert(sizeof(struct vmcb) == 0x1000, "VMCB is one page");

#endif
