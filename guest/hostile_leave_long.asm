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

; the exception catcher (CATCH_INIT, TRY, CATCHER): guest/catch.inc
%include "catch.inc"

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
