; guest/hostile_tpr.asm - raises its task priority to the maximum (CR8 =
; 15), enables interrupts and spins without ever exiting.
;
; With SVM's V_INTR_MASKING the guest's CR8 and IF only mask the guest's
; own (virtual) interrupts; hv's scheduling timer still preempts it. If CR8
; reached the host's APIC TPR, the timer would be masked and the guest
; would keep the pCPU for good: the other VM would never run.
; Expected result: limit (from limit_ms), and the other VM ends first.
;
; Config: mode = long, vcpus = 1, limit_ms required.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

start:
        HV_PRINTLN 'cr8 = 15, sti, spinning'
        mov eax, 15
        mov cr8, rax
        sti
.spin:  pause
        jmp .spin
