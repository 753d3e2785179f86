; guest/hostile_invd.asm - INVD and WBINVD, 1000 of each.
;
; INVD throws away the caches without writing them back: executed by hv, it
; would lose dirty lines of hv and of every other VM. hv intercepts both and
; never executes INVD (WBINVD is harmless and skipped too). The guest writes
; a pattern before each INVD and checks it afterwards: on hv the data must
; survive (INVD is a no-op for the guest, which is allowed: INVD's result
; on memory is "undefined" for software that did not control the caches).
;   counter 0  iterations             1000
;   counter 1  patterns found lost    0
; Exits 0; the scenario also checks vm.NAME.exits.cache = 2000.
;
; Config: mode = long, vcpus = 1.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

start:
        xor r12d, r12d
        xor r13d, r13d
.loop:
        mov rax, 0x5A5A000000000000
        add rax, r12
        mov [data], rax
        wbinvd
        mov [data + 8], rax
        invd
        cmp [data], rax
        jne .lost
        cmp [data + 8], rax
        je .next
.lost:  inc r13
.next:  inc r12
        cmp r12, 1000
        jb .loop
        HV_REPORT 0, r12
        HV_REPORT 1, r13
        HV_PRINTLN 'invd/wbinvd: done'
        HV_EXIT 0

        align 64
data:   dq 0, 0
