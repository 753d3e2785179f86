; guest/hostile_leave_long.asm - leaves long mode the way the architecture
; allows: a far return to a 32-bit code segment (compatibility mode), CR0.PG
; off (long mode no longer active), EFER.LME off (intercepted: hv's wrmsr
; path), CR4.PAE off. It then runs in 32-bit protected mode without paging,
; where hv must still decode its exits (RDMSR, CPUID, VMMCALL, OUT) as
; 32-bit code, through no page tables.
;   counter 0  EFER as read in 32-bit mode, after the switch  0
;   counter 1  CR0 in 32-bit mode, WP and MP left out         0x31 = 49 (NE ET PE)
;   counter 2  1 if CPUID showed hv's signature in 32-bit mode
; The wrong ways (clearing CR0.PG or CR4.PAE while in 64-bit mode) raise #GP
; on hardware without any help from hv (CR0/CR4 writes are not
; intercepted), but QEMU's TCG does not model those #GPs, so they are not
; tried here.
; Exits 0 (from 32-bit protected mode).
;
; Config: mode = long, vcpus = 1, memory = 2M or more.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

; ---- exception catcher (the same block in each hostile guest that uses one)
; CATCH_INIT builds a 32-vector IDT: every exception records its vector,
; error code and RIP, counts, and resumes at [resume] (set by TRY), or, with
; no resume address, prints what happened and exits 99.
; TRY insn...: runs one instruction; afterwards [vec] = the vector it raised
; (NONE = 255 if none). Preserves every register except flags (the
; instruction's own effects aside).
NONE equ 255

%macro CATCH_INIT 0
        lea rdi, [idt]
        lea rax, [exc_stubs]
        mov ecx, 32
%%gate: mov rdx, rax
        mov [rdi], dx                   ; offset 15:0
        mov word [rdi + 2], HV_SEL_CODE
        mov word [rdi + 4], 0x8E00      ; present, DPL 0, interrupt gate
        shr rdx, 16
        mov [rdi + 6], dx               ; offset 31:16
        shr rdx, 16
        mov [rdi + 8], rdx              ; offset 63:32, reserved
        add rdi, 16
        add rax, 16
        dec ecx
        jnz %%gate
        lidt [idtr]
%endmacro

%macro TRY 1+
        mov qword [vec], NONE
        push rax
        lea rax, [%%after]
        mov [resume], rax
        pop rax
        %1
%%after:
        mov qword [resume], 0
%endmacro

%macro CATCHER 0
        align 16
exc_stubs:
%assign __v 0
%rep 32
        align 16
  %if __v == 8 || (__v >= 10 && __v <= 14) || __v == 17 || __v == 21 || __v == 29 || __v == 30
        push qword __v                  ; the CPU pushed an error code
  %else
        push qword 0                    ; no error code: push a 0 in its place
        push qword __v
  %endif
        jmp exc_common
%assign __v __v + 1
%endrep
exc_common:                             ; [rsp] vector, error, RIP, CS, RFLAGS, RSP, SS
        push rax
        mov rax, [rsp + 8]
        mov [vec], rax
        mov rax, [rsp + 16]
        mov [err], rax
        mov rax, [rsp + 24]
        mov [fault_rip], rax
        inc qword [exc_count]
        mov rax, [resume]
        test rax, rax
        jz %%unexpected
        mov [rsp + 24], rax             ; resume after the tried instruction
        pop rax
        add rsp, 16
        iretq
%%unexpected:
        HV_PRINT 'unexpected exception, vector '
        HV_PUTDEC [vec]
        HV_PRINT ' error 0x'
        HV_PUTHEX [err], 8
        HV_PRINT ' at rip 0x'
        HV_PUTHEX64 [fault_rip]
        HV_NEWLINE
        HV_EXIT 99

        align 16
idt:    times 32 dq 0, 0
idtr:   dw 32 * 16 - 1
        dq idt
vec:       dq NONE
err:       dq 0
fault_rip: dq 0
resume:    dq 0
exc_count: dq 0
%endmacro

SEL_CODE32 equ 0x18
SEL_DATA32 equ 0x20
CR0_PG     equ 1 << 31
CR4_PAE    equ 1 << 5

start:
        CATCH_INIT              ; catches (and names) an exception in 64-bit
                                ; or compatibility mode
        HV_PRINTLN 'leaving long mode through compatibility mode'
        lgdt [gdtr]
        ; every register the 32-bit code uses starts clean
        xor eax, eax
        xor ebx, ebx
        xor ecx, ecx
        xor edx, edx
        xor esi, esi
        xor edi, edi
        xor ebp, ebp
        lea rax, [compat]
        push SEL_CODE32
        push rax
        retfq                   ; to the 32-bit code segment

bits 32
compat:
        mov ax, SEL_DATA32
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov esp, 0x90000
        mov eax, cr0
        and eax, ~CR0_PG
        mov cr0, eax            ; paging off: long mode no longer active
        mov ecx, MSR_EFER
        rdmsr
        and eax, ~(1 << 8)      ; LME off
        wrmsr
        mov eax, cr4
        and eax, ~CR4_PAE
        mov cr4, eax
        ; now in 32-bit protected mode, no paging
        mov ecx, MSR_EFER
        rdmsr
        mov ecx, eax
        mov ebx, 0
        mov eax, HC_REPORT
        vmmcall
        mov ecx, cr0
        and ecx, 0x7FFFFFFF & ~(1 << 16) & ~(1 << 1)   ; leave out WP, MP
        mov ebx, 1
        mov eax, HC_REPORT
        vmmcall
        mov eax, CPUID_HV_LEAF
        cpuid
        xor esi, esi
        cmp ebx, HV_SIG_EBX
        jne .sig
        inc esi
.sig:   mov ecx, esi
        mov ebx, 2
        mov eax, HC_REPORT
        vmmcall
        mov esi, msg32
        mov dx, HV_CONSOLE_PORT
.put:   mov al, [esi]
        test al, al
        jz .exit
        out dx, al
        inc esi
        jmp .put
.exit:  xor ebx, ebx
        mov eax, HC_EXIT
        vmmcall
.hang:  hlt
        jmp .hang

msg32:  db 'now in 32-bit protected mode without paging', 10, 0

        align 8
gdt:    dq 0
        dq 0x00af9b000000ffff   ; 0x08: 64-bit code
        dq 0x00cf93000000ffff   ; 0x10: data
        dq 0x00cf9b000000ffff   ; 0x18: 32-bit code
        dq 0x00cf93000000ffff   ; 0x20: 32-bit data
gdt_end:
gdtr:   dw gdt_end - gdt - 1
        dq gdt

bits 64
CATCHER                         ; the IDT, handlers and their data
