; guest/sdm_smp.asm - an SMP guest written from the Intel SDM alone: of hv it
; assumes only the long-mode start state (entry 0x100000, GDT at 0x1000 with
; code 0x08 / data 0x10, identity-mapping page tables at CR3 = 0x2000), the
; console port 0x3F8 and the exit hypercall (vmmcall, EAX = 0, EBX = status).
; It needs `ap_start = sipi` (docs/config.md): the AP must not run until the
; BSP starts it.
;
; The BSP (vCPU 0):
;  1. enables x2APIC mode through IA32_APIC_BASE (SDM Vol. 3A 11.12.1: EN
;     bit 11 and EXTD bit 10) and software-enables the APIC (SVR, MSR 0x80F,
;     bit 8; 11.9);
;  2. sends itself an IPI through the SELF IPI register (MSR 0x83F, 11.12.11)
;     and takes it through its own IDT (6.14.1, 64-bit interrupt gates);
;  3. arms the APIC timer in TSC-deadline mode (11.5.4.1: CPUID.1:ECX[24],
;     LVT timer bits 18:17 = 10b, IA32_TSC_DEADLINE = MSR 0x6E0) and takes
;     that interrupt;
;  4. checks that the AP has not run, then starts it with INIT-SIPI-SIPI
;     (9.4.4.1 and 11.12.10: ICR = MSR 0x830, destination in bits 63:32;
;     INIT = delivery mode 101b, start-up = 110b with the vector = the 4 KiB
;     page of the start code), waits for the AP's signal and checks that the
;     second SIPI did not start it again.
; The AP (vCPU 1) starts in real mode at 0800:0000 (physical 0x8000: the
; SIPI vector is 0x08, 9.4.4.1), checks that (CR0.PE = 0, CS = 0x0800),
; reports on the console, switches to long mode (9.8.5: PAE, CR3, EFER.LME,
; CR0.PG|PE, a far jump to a 64-bit code segment), reads its x2APIC ID after
; enabling x2APIC mode itself, signals the BSP and exits.
;
; Config: vcpus = 2, ap_start = sipi. Expected result: exit 0 and the lines
; "sdm-smp: ..." below; any failed check prints what and exits nonzero
; (status 11: the AP did not start in real mode at 0800:0000; 12: an AP
; ran the entry code, as under the default ap_start = entry).

bits 64
default rel
org 0x100000

CONSOLE         equ 0x3F8
IA32_APIC_BASE  equ 0x1B
APIC_EN         equ 1 << 11
APIC_EXTD       equ 1 << 10
APIC_BSP        equ 1 << 8
X2_ID           equ 0x802
X2_EOI          equ 0x80B
X2_SVR          equ 0x80F
X2_ICR          equ 0x830
X2_LVT_TIMER    equ 0x832
X2_SELF_IPI     equ 0x83F
TSC_DEADLINE    equ 0x6E0
IA32_EFER       equ 0xC0000080

VEC_SELF        equ 0x40
VEC_TIMER       equ 0x41
IDT             equ 0x6000          ; free memory below 1 MiB
AP_PAGE         equ 0x8000          ; SIPI vector 0x08 (9.4.4.1)
SIPI_VECTOR     equ AP_PAGE >> 12
; data shared with the AP, below 1 MiB so real mode reaches it
AP_STARTS       equ 0x7000          ; dword: times the AP code was entered
AP_DONE         equ 0x7004          ; dword: AP's x2APIC id + 1 once in long mode
AP_STACK        equ 0x7800

start:
        ; Only the BSP may get here: IA32_APIC_BASE.BSP (bit 8, 11.4.4).
        mov ecx, IA32_APIC_BASE
        rdmsr
        test eax, APIC_BSP
        jz fail_notbsp
        ; ---- 1. x2APIC mode -------------------------------------------
        mov eax, 1
        cpuid
        bt ecx, 21                  ; CPUID.1:ECX[21] x2APIC
        jnc fail_nox2apic
        bt ecx, 24                  ; CPUID.1:ECX[24] TSC-deadline
        jnc fail_nodeadline
        mov ecx, IA32_APIC_BASE
        rdmsr
        or eax, APIC_EN | APIC_EXTD
        wrmsr
        rdmsr
        test eax, APIC_EXTD
        jz fail_x2apic
        mov ecx, X2_SVR
        mov eax, 0x1FF              ; bit 8 APIC enable, spurious vector 0xFF
        xor edx, edx
        wrmsr

        ; ---- an IDT with two interrupt gates --------------------------
        mov rdi, IDT
        xor eax, eax
        mov ecx, 256 * 16 / 8
        rep stosq
        mov rdi, IDT + VEC_SELF * 16
        lea rax, [isr_self]
        call set_gate
        mov rdi, IDT + VEC_TIMER * 16
        lea rax, [isr_timer]
        call set_gate
        lidt [idtr]

        ; ---- 2. self IPI ------------------------------------------------
        mov ecx, X2_SELF_IPI
        mov eax, VEC_SELF
        xor edx, edx
        wrmsr
        sti
        mov ebx, 1000000
.wait_self:
        cmp dword [self_count], 1
        jae .self_ok
        pause
        dec ebx
        jnz .wait_self
        jmp fail_self
.self_ok:
        lea rsi, [msg_self]
        call puts

        ; ---- 3. TSC-deadline timer -------------------------------------
        mov ecx, X2_LVT_TIMER
        mov eax, (10b << 17) | VEC_TIMER   ; TSC-deadline mode, unmasked
        xor edx, edx
        wrmsr
        rdtsc
        shl rdx, 32
        or rax, rdx
        add rax, 200000
        mov rdx, rax
        shr rdx, 32
        mov ecx, TSC_DEADLINE
        wrmsr
.wait_timer:                        ; (SDM Vol. 3A 6.8.3: STI's shadow holds the
        cli                         ; interrupt until HLT has begun, so a tick
        cmp dword [timer_count], 1  ; between the compare and HLT is not lost)
        jae .timer_ok
        sti
        hlt                         ; the timer interrupt wakes it
        jmp .wait_timer
.timer_ok:
        sti
        mov ecx, TSC_DEADLINE       ; 11.5.4.1: reads 0 once it fired
        rdmsr
        or eax, edx
        jnz fail_deadline
        lea rsi, [msg_timer]
        call puts

        ; ---- 4. INIT-SIPI-SIPI ----------------------------------------
        mov dword [abs AP_STARTS], 0
        mov dword [abs AP_DONE], 0
        mov rdi, AP_PAGE            ; the AP's start code, at the SIPI page
        lea rsi, [ap_code]
        mov ecx, ap_code_end - ap_code
        rep movsb
        mov ecx, 2000000            ; the AP must still wait for its SIPI
.idle:
        pause
        dec ecx
        jnz .idle
        cmp dword [abs AP_STARTS], 0
        jne fail_early

        mov edx, 1                  ; destination: x2APIC id 1
        mov eax, 0x4500             ; INIT, level assert, edge (11.6.1)
        call send_icr
        call delay                  ; the SDM's 10 ms, shortened
        mov edx, 1
        mov eax, 0x4600 | SIPI_VECTOR   ; start-up IPI
        call send_icr
        call delay
        mov edx, 1
        mov eax, 0x4600 | SIPI_VECTOR   ; second SIPI: ignored by a running AP
        call send_icr

        mov ebx, 50000000
.wait_ap:
        cmp dword [abs AP_DONE], 0
        jne .ap_ok
        pause
        dec ebx
        jnz .wait_ap
        jmp fail_ap
.ap_ok:
        cmp dword [abs AP_DONE], 1 + 1  ; the AP saw x2APIC id 1
        jne fail_apid
        call delay
        cmp dword [abs AP_STARTS], 1    ; the second SIPI did not restart it
        jne fail_twice
        lea rsi, [msg_done]
        call puts
        xor ebx, ebx
        jmp exit

; rdi = gate address, rax = handler: 64-bit interrupt gate, CS 0x08 (6.14.1)
set_gate:
        mov [rdi], ax
        mov word [rdi + 2], 0x08
        mov word [rdi + 4], 0x8E00  ; P, DPL 0, type 1110b
        shr rax, 16
        mov [rdi + 6], ax
        shr rax, 16
        mov [rdi + 8], eax
        mov dword [rdi + 12], 0
        ret

; edx:eax = ICR value (x2APIC: one 64-bit write, 11.12.9)
send_icr:
        mov ecx, X2_ICR
        wrmsr
        ret

delay:
        mov ecx, 200000
.l:     pause
        dec ecx
        jnz .l
        ret

isr_self:
        lock inc dword [self_count]
        jmp eoi
isr_timer:
        lock inc dword [timer_count]
eoi:
        push rax
        push rcx
        push rdx
        mov ecx, X2_EOI
        xor eax, eax
        xor edx, edx
        wrmsr
        pop rdx
        pop rcx
        pop rax
        iretq

; rsi = NUL-terminated string to the console
puts:
        mov dx, CONSOLE
.n:     lodsb
        test al, al
        jz .e
        out dx, al
        jmp .n
.e:     ret

fail_nox2apic:  lea rsi, [m_nox2apic]
                mov ebx, 2
                jmp failmsg
fail_nodeadline: lea rsi, [m_nodeadline]
                mov ebx, 3
                jmp failmsg
fail_x2apic:    lea rsi, [m_x2apic]
                mov ebx, 4
                jmp failmsg
fail_self:      lea rsi, [m_self]
                mov ebx, 5
                jmp failmsg
fail_deadline:  lea rsi, [m_deadline]
                mov ebx, 6
                jmp failmsg
fail_early:     lea rsi, [m_early]
                mov ebx, 7
                jmp failmsg
fail_ap:        lea rsi, [m_ap]
                mov ebx, 8
                jmp failmsg
fail_apid:      lea rsi, [m_apid]
                mov ebx, 9
                jmp failmsg
fail_twice:     lea rsi, [m_twice]
                mov ebx, 10
                jmp failmsg
fail_notbsp:    lea rsi, [m_notbsp]
                mov ebx, 12
failmsg:
        call puts
exit:
        xor eax, eax                ; hv's exit hypercall, EBX = status
        vmmcall
.h:     cli
        hlt
        jmp .h

align 8
idtr:   dw 256 * 16 - 1
        dq IDT
self_count:  dd 0
timer_count: dd 0

msg_self:     db 'sdm-smp: self IPI through MSR 0x83F taken', 10, 0
msg_timer:    db 'sdm-smp: TSC-deadline timer interrupt taken', 10, 0
msg_done:     db 'sdm-smp: AP started once by INIT-SIPI-SIPI, reached long mode', 10, 0
m_nox2apic:   db 'sdm-smp: FAIL CPUID.1:ECX.x2APIC is 0', 10, 0
m_nodeadline: db 'sdm-smp: FAIL CPUID.1:ECX.TSC-deadline is 0', 10, 0
m_x2apic:     db 'sdm-smp: FAIL IA32_APIC_BASE.EXTD did not stick', 10, 0
m_self:       db 'sdm-smp: FAIL no self IPI', 10, 0
m_deadline:   db 'sdm-smp: FAIL IA32_TSC_DEADLINE not 0 after the interrupt', 10, 0
m_early:      db 'sdm-smp: FAIL the AP ran before its SIPI', 10, 0
m_ap:         db 'sdm-smp: FAIL the AP never signalled', 10, 0
m_apid:       db 'sdm-smp: FAIL the AP saw a wrong x2APIC id', 10, 0
m_twice:      db 'sdm-smp: FAIL the second SIPI restarted the AP', 10, 0
m_notbsp:     db 'sdm-smp: FAIL an AP (IA32_APIC_BASE.BSP = 0) ran the BSP entry code', 10, 0

; ---- the AP's code, copied to AP_PAGE; runs at CS:IP = 0800:0000 -------
bits 16
ap_code:
        cli
        xor ax, ax
        mov ds, ax
        mov ss, ax
        mov sp, AP_STACK
        lock inc dword [abs AP_STARTS]
        mov bx, cs
        cmp bx, SIPI_VECTOR << 8    ; CS = vector << 8 (9.4.4.1)
        jne .bad
        smsw ax
        test al, 1                  ; CR0.PE = 0: real mode
        jnz .bad
        mov si, AP_PAGE + (ap_msg - ap_code)
        mov dx, CONSOLE
.p:     lodsb
        test al, al
        jz .long
        out dx, al
        jmp .p
.bad:   mov ebx, 11
        xor eax, eax
        vmmcall
        hlt
.long:
        ; long mode (9.8.5): GDT (hv's, 0x08 = 64-bit code), PAE, CR3, LME, PG
        lgdt [AP_PAGE + (ap_gdtr - ap_code)]
        mov eax, cr4
        or eax, 1 << 5              ; PAE
        mov cr4, eax
        mov eax, 0x2000
        mov cr3, eax
        mov ecx, IA32_EFER
        rdmsr
        or eax, 1 << 8              ; LME
        wrmsr
        mov eax, cr0
        or eax, (1 << 31) | 1       ; PG, PE
        mov cr0, eax
        jmp dword 0x08:(AP_PAGE + (ap_long - ap_code))
bits 64
ap_long:
        mov ax, 0x10
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov rsp, AP_STACK
        mov ecx, IA32_APIC_BASE     ; its own LAPIC into x2APIC mode
        rdmsr
        or eax, APIC_EN | APIC_EXTD
        wrmsr
        mov ecx, X2_ID
        rdmsr
        inc eax
        mov [abs AP_DONE], eax          ; signal the BSP
        xor ebx, ebx
        xor eax, eax
        vmmcall
.h:     hlt
        jmp .h
ap_gdtr:
        dw 0x17
        dd 0x1000
ap_msg: db 'sdm-smp: AP in real mode at 0800:0000', 10, 0
ap_code_end:
