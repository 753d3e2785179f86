; guest/hostile_user.asm - what guest user mode (CPL 3) and debug state can
; do to hv's ABI. One image, three tests picked by RBX (the config's `arg`):
;
;   arg 1, hypercalls from CPL 3 (docs/guest-abi.md: refused as KVM does,
;          RAX = -1 and nothing else happens):
;          HC_EXIT 77, HC_REPORT counter 5, HC_MIGRATE 0, HC_VCPU_ID,
;          HC_YIELD, each from ring 3.
;     counter 0  calls refused (RAX = -1)                         5
;     counter 1  calls that returned anything else                0
;     then, back in ring 0, HC_EXIT 0 (so a VM that ended with 77 shows
;     the ring-3 HC_EXIT was obeyed).
;   arg 2, RDPMC (docs/guest-abi.md: every counter reads 0, at any CPL):
;          with CR4.PCE = 1, RDPMC of counter 0 from CPL 0 and CPL 3, with
;          EDX:EAX preloaded with a pattern.
;     counter 0  RDPMC results that were 0 with no exception      2
;     counter 1  anything else                                    0
;     (the scenario also counts hv's RDPMC exits: the host's counters must
;     not be read directly.)
;   arg 3, DR7 across VM exits: DR0 = a never-touched qword, DR7 = L0,
;          RW0 = read/write, LEN0 = 8 bytes (0xB0401); 16 CPUIDs (each a VM
;          exit), DR7 read back after each.
;     counter 0  DR7 read-backs equal to 0xB0401                  16
;     counter 1  read-backs that differ                           0
;     counter 2  the last value read                              721921 (0xB0401)
;
; Ring 3 is entered with SYSRET and left with SYSCALL (AMD APM Vol. 2 6.1.1,
; SDM Vol. 2B SYSCALL/SYSRET): hv's page tables get U=1, a GDT of our own
; holds the user segments, TSS.RSP0 (the placeholder TSS at base 0) points
; at a ring-0 stack in case an exception arrives in ring 3.
;
; Config: mode = long, vcpus = 1.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

%include "catch.inc"

USER_CS equ 0x28 | 3            ; STAR[63:48] = 0x18: SS = 0x20, CS = 0x28 (SYSRET, 64-bit)
USER_SS equ 0x20 | 3
CR4_PCE equ 1 << 8

; HCALL3 nr, rbx, rcx: one raw hypercall from ring 3, tallied.
%macro HCALL3 3
        mov eax, %1
        mov rbx, %2
        mov rcx, %3
        vmmcall
        call tally
%endmacro

start:
        mov [arg], rbx
        CATCH_INIT
        cmp rbx, 3
        je dr7_test
        ; user access to every page of the VM (U = 1 at each level)
        or qword [abs HV_PML4], 4
        or qword [abs HV_PDPT], 4
        mov rdi, HV_PD
        mov ecx, 512
.u:     test qword [rdi], 1
        jz .n
        or qword [rdi], 4
.n:     add rdi, 8
        dec ecx
        jnz .u
        mov rax, cr3
        mov cr3, rax
        lgdt [gdtr]
        lea rax, [kstack_top]
        mov [abs 4], rax                    ; RSP0 of the TSS hv's TR describes (base 0)
        ; SYSCALL/SYSRET
        mov ecx, MSR_EFER
        rdmsr
        or eax, 1                       ; EFER.SCE
        wrmsr
        mov ecx, MSR_STAR
        xor eax, eax
        mov edx, (0x18 << 16) | 0x08    ; SYSRET base 0x18, SYSCALL CS 0x08 / SS 0x10
        wrmsr
        mov ecx, MSR_LSTAR
        lea rax, [back_in_ring0]
        mov rdx, rax
        shr rdx, 32
        wrmsr
        mov ecx, MSR_SFMASK
        xor eax, eax
        xor edx, edx
        wrmsr
        cmp qword [arg], 2
        jne .go
        mov rax, cr4
        or rax, CR4_PCE
        mov cr4, rax
        call rdpmc_check                ; once from CPL 0
.go:    mov [ksave], rsp
        lea rcx, [user]
        mov r11d, 0x2                   ; RFLAGS in ring 3: IF = 0
        o64 sysret

; ---- ring 3 ----
user:
        cmp qword [arg], 2
        je .pmc
        HCALL3 HC_EXIT, 77, 0
        HCALL3 HC_REPORT, 5, 0xBAD
        HCALL3 HC_MIGRATE, 0, 0
        HCALL3 HC_VCPU_ID, 0, 0
        HCALL3 HC_YIELD, 0, 0
        syscall
.pmc:   call rdpmc_check
        syscall

tally:
        cmp rax, -1
        jne .other
        inc qword [good]
        ret
.other: inc qword [bad]
        ret

rdpmc_check:                            ; works at CPL 0 and 3 (no stack switch)
        mov eax, 0xDEADBEEF
        mov edx, 0xFEEDFACE
        xor ecx, ecx
        rdpmc
        or eax, edx
        jnz .other
        inc qword [good]
        ret
.other: inc qword [bad]
        ret

; ---- back in ring 0 (SYSCALL: CS 0x08, SS 0x10, RSP unchanged) ----
back_in_ring0:
        mov rsp, [ksave]
        HV_REPORT 0, [good]
        HV_REPORT 1, [bad]
        HV_PRINT 'CPL 3 test: '
        HV_PUTDEC [good]
        HV_PRINT ' as documented, '
        HV_PUTDEC [bad]
        HV_PRINTLN ' not'
        HV_EXIT 0

; ---- DR7 ----
dr7_test:
        lea rax, [watched]
        mov dr0, rax
        mov rax, 0xB0401
        mov dr7, rax
        mov r12d, 16
.loop:  xor eax, eax
        cpuid
        mov rax, dr7
        mov [last], rax
        cmp rax, 0xB0401
        jne .diff
        inc qword [good]
        jmp .next
.diff:  inc qword [bad]
.next:  dec r12d
        jnz .loop
        xor eax, eax
        mov dr7, rax
        HV_REPORT 0, [good]
        HV_REPORT 1, [bad]
        HV_REPORT 2, [last]
        HV_PRINT 'DR7 after 16 exits: 0x'
        HV_PUTHEX64 [last]
        HV_NEWLINE
        HV_EXIT 0

        CATCHER

        align 16
gdt:    dq 0
        dq 0x00AF9A000000FFFF           ; 0x08 ring-0 code, 64-bit
        dq 0x00CF92000000FFFF           ; 0x10 ring-0 data
        dq 0x00CFFA000000FFFF           ; 0x18 ring-3 code, 32-bit (SYSRET base, unused)
        dq 0x00CFF2000000FFFF           ; 0x20 ring-3 data
        dq 0x00AFFA000000FFFF           ; 0x28 ring-3 code, 64-bit
gdt_end:
gdtr:   dw gdt_end - gdt - 1
        dq gdt

arg:     dq 0
good:    dq 0
bad:     dq 0
last:    dq 0
ksave:   dq 0
watched: dq 0
        align 16
        times 1024 db 0
kstack_top:
