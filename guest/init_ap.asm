; guest/init_ap.asm - INIT to an AP that runs (ap_start = sipi): SDM Vol. 3A
; 9.4.4 and 11.6.1, 11.4.7.3. The BSP starts the AP with INIT-SIPI-SIPI at
; code A (real mode, page 0x10000: counts its starts, then spins counting),
; sends INIT while A spins and then one SIPI to code B (page 0x11000:
; counts, records CS, halts with IF=0): B can only start if the INIT put
; the AP back into wait-for-SIPI (a SIPI to an AP that runs is ignored).
; Then a SIPI to the halted B (ignored: it does not wait for one), INIT to
; the halted AP and a SIPI to code A again, and a last INIT while A spins,
; after which the BSP exits: the VM can only end (exit 0) if that INIT
; stopped the AP, else A spins until the run limit.
;   counter 0  starts of code A after the first INIT-SIPI-SIPI      (1)
;   counter 1  code B started after INIT + SIPI to the spinning AP  (1)
;   counter 2  starts of code B                                     (1)
;   counter 3  B's CS: real mode at vector << 8                     (0x1100)
;   counter 4  starts of code A at the end (again after INIT to the
;              halted AP and a SIPI)                                (2)
;   counter 6  the SIPIs to an AP that does not wait for one were
;              ignored: code B started once, code A once, before
;              the INIT to the halted AP                            (1)
; Every wait is unbounded: a lost INIT or SIPI ends the VM at its limit.
; Exits 0; the AP is left in wait-for-SIPI.
;
; Config: mode = long, vcpus = 2, ap_start = sipi.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

PAGE_A   equ 0x10000
PAGE_B   equ 0x11000
A_STARTS equ 0x12000                    ; dwords the AP's real-mode code writes
A_SPIN   equ 0x12004
B_STARTS equ 0x12008
B_CS     equ 0x1200C

start:
        HV_X2APIC_ENABLE
        xor eax, eax
        mov [abs A_STARTS], eax
        mov [abs A_SPIN], eax
        mov [abs B_STARTS], eax
        mov [abs B_CS], eax
        mov rdi, PAGE_A
        lea rsi, [code_a]
        mov ecx, code_a_end - code_a
        rep movsb
        mov rdi, PAGE_B
        lea rsi, [code_b]
        mov ecx, code_b_end - code_b
        rep movsb

        mov eax, 0x4500                 ; INIT, level assert (11.6.1)
        call icr
        call delay
        mov eax, 0x4600 | (PAGE_A >> 12)
        call icr
        call delay
        mov eax, 0x4600 | (PAGE_A >> 12)    ; to a running AP: ignored
        call icr
        mov ebx, 1000
        call wait_spin                  ; A runs
        mov eax, [abs A_STARTS]
        HV_REPORT 0, rax

        mov eax, 0x4500                 ; INIT to the running AP
        call icr
        call delay
        mov eax, 0x4600 | (PAGE_B >> 12)    ; starts B only if the INIT took
        call icr
.wb:    cmp dword [abs B_STARTS], 0
        jne .bok
        HV_YIELD
        jmp .wb
.bok:   HV_REPORT 1, 1
        mov eax, 0x4600 | (PAGE_A >> 12)    ; to B, halted (not waiting): ignored
        call icr
        call delay
        call delay
        mov eax, [abs B_STARTS]
        HV_REPORT 2, rax
        mov eax, [abs B_CS]
        HV_REPORT 3, rax
        xor ebx, ebx
        cmp dword [abs B_STARTS], 1
        jne .r6
        cmp dword [abs A_STARTS], 1
        jne .r6
        mov ebx, 1
.r6:    HV_REPORT 6, rbx

        mov eax, 0x4500                 ; INIT to the AP halted in B (IF=0)
        call icr
        call delay
        mov eax, [abs A_SPIN]
        lea ebx, [rax + 1000]
        mov eax, 0x4600 | (PAGE_A >> 12)
        call icr
        call wait_spin                  ; A runs again
        mov eax, [abs A_STARTS]
        HV_REPORT 4, rax

        mov eax, 0x4500                 ; and stop it: else no exit 0
        call icr
        HV_PRINTLN 'init-ap: done'
        HV_EXIT 0

; icr: eax = ICR low, destination the AP (x2APIC id 1)
icr:
        mov ecx, HV_MSR_X2APIC_ICR
        mov edx, 1
        wrmsr
        ret

; delay: give the AP time (it may share this pCPU: yields; or run on
; another: a spin of some 100,000 instructions)
delay:
        push rcx
        mov ecx, 3
.d:     HV_YIELD
        dec ecx
        jnz .d
        mov ecx, 30000
.s:     dec ecx
        jnz .s
        pop rcx
        ret

; wait_spin: until code A's spin count reaches ebx
wait_spin:
.w:     cmp [abs A_SPIN], ebx
        jae .ok
        HV_YIELD
        jmp .w
.ok:    ret

bits 16
code_a:                                 ; real mode, CS = 0x1000
        sti                             ; (no interrupt can come: the LAPIC
                                        ; is software-disabled after INIT;
                                        ; Bochs's SVM preempts only IF=1 guests)
        mov ax, A_STARTS >> 4           ; DS: the counters' paragraph
        mov ds, ax
        lock inc dword [A_STARTS & 0xF]
.spin:  lock inc dword [A_SPIN & 0xF]
        jmp .spin
code_a_end:

code_b:                                 ; real mode, CS = 0x1100
        mov ax, A_STARTS >> 4
        mov ds, ax
        lock inc dword [B_STARTS & 0xF]
        mov ax, cs
        mov [B_CS & 0xF], ax
        cli
.h:     hlt
        jmp .h
code_b_end:
