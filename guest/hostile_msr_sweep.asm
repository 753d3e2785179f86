; guest/hostile_msr_sweep.asm - rdmsr of every MSR in the three ranges an
; SVM MSR permission map covers (0-0x1FFF, 0xC0000000-0xC0001FFF,
; 0xC0010000-0xC0011FFF), of the hypervisor range 0x40000000-0x400000FF,
; and of 0xFFFFFFFF: 24833 MSRs. Each one that does not raise #GP is printed.
;
; hv intercepts every MSR except a documented list (docs/security.md,
; docs/guest-abi.md "MSRs"), and emulates only that list. Without
; virtual_ibpb the readable ones are exactly:
;   0x10 TSC; 0x1B APIC_BASE and 0x6E0 TSC_DEADLINE (the virtual local
;   APIC, docs/platform.md; its x2APIC MSRs 0x800-0x8FF #GP in xAPIC mode);
;   0x174-0x176 SYSENTER_CS/ESP/EIP; 0x1A0 MISC_ENABLE (kept per vCPU); 0x277 PAT;
;   0xC0000080-0xC0000084 EFER STAR LSTAR CSTAR SFMASK;
;   0xC0000100-0xC0000102 FS_BASE GS_BASE KERNEL_GS_BASE; 0xC0000103 TSC_AUX
;   (kept per vCPU, never loaded)
; = 17 MSRs; any other readable MSR is host state showing through.
;   counter 0  MSRs read without #GP                    17
;   counter 1  of those, not in the list above          0
;   counter 2  MSRs tried                               24833
; Exits 0.
;
; Config: mode = long, vcpus = 1, virtual_ibpb off (0x48 is then absent too).

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

; the exception catcher (CATCH_INIT, TRY, CATCHER): guest/catch.inc
%include "catch.inc"

start:
        CATCH_INIT
        xor r12d, r12d          ; readable
        xor r13d, r13d          ; readable and not documented
        xor r14d, r14d          ; tried
        lea rbx, [ranges]
.range:
        mov r15d, [rbx]         ; first MSR
        mov ebp, [rbx + 4]      ; count
        test ebp, ebp
        jz .done
.msr:
        mov ecx, r15d
        TRY rdmsr
        inc r14
        cmp qword [vec], NONE
        jne .next
        inc r12
        HV_PRINT 'readable MSR 0x'
        HV_PUTHEX32 r15
        ; documented?
        lea rsi, [allowed]
.find:  mov eax, [rsi]
        cmp eax, 0xFFFFFFFF
        je .undocumented
        cmp eax, r15d
        je .documented
        add rsi, 4
        jmp .find
.undocumented:
        inc r13
        HV_PRINT ' NOT DOCUMENTED'
.documented:
        HV_NEWLINE
.next:
        inc r15d
        dec ebp
        jnz .msr
        add rbx, 8
        jmp .range
.done:
        HV_REPORT 0, r12
        HV_REPORT 1, r13
        HV_REPORT 2, r14
        HV_PRINT 'msr sweep: '
        HV_PUTDEC r12
        HV_PRINT ' of '
        HV_PUTDEC r14
        HV_PRINTLN ' MSRs readable'
        HV_EXIT 0

ranges: dd 0x00000000, 0x2000
        dd 0xC0000000, 0x2000
        dd 0xC0010000, 0x2000
        dd 0x40000000, 0x100
        dd 0xFFFFFFFF, 1
        dd 0, 0
allowed:
        dd 0x10, 0x1B, 0x6E0, 0x174, 0x175, 0x176, 0x1A0, 0x277
        dd 0xC0000080, 0xC0000081, 0xC0000082, 0xC0000083, 0xC0000084
        dd 0xC0000100, 0xC0000101, 0xC0000102, 0xC0000103
        dd 0xFFFFFFFF

CATCHER                         ; the IDT, handlers and their data
