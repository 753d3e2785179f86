; guest/oob.asm - vCPU 0 writes to guest-physical (memory size + 0x1000),
; just past the end of its RAM; hv must end the VM with result `fault`
; (a nested page fault / EPT violation outside guest memory).
;
; hv's page tables map only [0, memory size), so a plain write there would
; be a guest #PF (-> triple fault -> shutdown) and never reach hv. The guest
; therefore first maps the target's 2 MiB page itself, taking over hv's
; page tables (allowed: they are guest memory), so the access leaves the
; guest's translation and reaches hv's.
;
; Config: mode = long, vcpus = 1 (others just exit 0), any memory.
; Expected result: fault (exit 1 if the write did not end the VM).

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

EXTRA_PD equ 0x5000             ; free page for a PD, needed only when memory = 1 GiB
PDE_P_RW_PS equ 0x83            ; present, writable, 2 MiB page

start:
        ; the top of memory: RSP at entry + vCPU id * 16 KiB
        imul rax, rdi, HV_LONG_STACK_SIZE
        add rax, rsp
        mov r12, rax            ; r12 = memory size
        test rdi, rdi
        jz .vcpu0
        HV_EXIT 0

.vcpu0:
        lea r13, [r12 + 0x1000] ; r13 = target, = RSP + 0x1000 for vCPU 0
        HV_PRINT 'memory size 0x'
        HV_PUTHEX64 r12
        HV_PRINT ', writing to 0x'
        HV_PUTHEX64 r13
        HV_NEWLINE

        ; Identity-map the 2 MiB page holding the target. Below 1 GiB that is
        ; an entry in hv's PD; at 1 GiB (memory = 1 GiB, the most hv allows)
        ; it needs a second PD behind PDPT entry 1. A not-present entry is
        ; never cached in the TLB, so no invalidation is needed.
        mov rax, r13
        shr rax, 21
        and eax, 511            ; PD index
        mov rdx, r13
        and rdx, -0x200000      ; 2 MiB frame
        or rdx, PDE_P_RW_PS
        mov rcx, r13
        shr rcx, 30             ; PDPT index: 0, or 1 when memory = 1 GiB
        jnz .second_gib
        mov [HV_PD + rax * 8], rdx
        jmp .write
.second_gib:
        mov [EXTRA_PD + rax * 8], rdx
        mov qword [HV_PDPT + rcx * 8], EXTRA_PD | 3     ; present, writable
.write:
        mov qword [r13], 1      ; outside guest RAM: hv ends the VM here

        HV_PRINTLN 'FAIL: the write past the end of memory did not end the VM'
        HV_EXIT 1
