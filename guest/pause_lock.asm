; guest/pause_lock.asm - a lock handed back and forth between two vCPUs
; that share one pCPU (docs/platform.md "PAUSE loops"). Each waits for its
; turn spinning on a shared word; the holder hands the turn over and
; spins for the next. Without help every handoff costs the waiter's whole
; slice (the holder sits in the run queue meanwhile); hv intercepts PAUSE
; loops and yields to the queued vCPU.
;   phase 1: BASE handoffs spinning WITHOUT pause (nothing to intercept):
;            the guest measures the TSC ticks per handoff, about a slice;
;   phase 2: ROUNDS handoffs spinning WITH pause.
;   counter 0  phase-2 handoffs completed                      (ROUNDS)
;   counter 1  1 if a phase-2 handoff took less than a quarter of a
;              phase-1 handoff (on average)                     (1)
; The log line "pause-lock: ticks per handoff: without PAUSE N, with M"
; gives the numbers; hv's kv vm.NAME.exits.pause the PAUSE exits.
; Exits 0.
;
; Config: mode = long, vcpus = 2, both on one pCPU.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

BASE   equ 4
ROUNDS equ 40

start:
        sti                             ; no interrupt comes (LAPIC disabled);
                                        ; Bochs's SVM preempts only IF=1 guests
        mov r12, rdi                    ; vCPU id: 0 or 1
        lock inc dword [ready]
.r:     cmp dword [ready], 2
        je .go
        HV_YIELD
        jmp .r
.go:    ; ---- phase 1: plain spin ----
        call now
        mov r13, rax
        xor ebx, ebx
.p1:    mov eax, ebx                    ; handoff number ebx: vCPU (ebx & 1)
        and eax, 1                      ; owns the turn
        cmp eax, r12d
        jne .p1o
.p1w:   cmp [turn], ebx                 ; wait for turn == ebx
        jne .p1w
        lea eax, [rbx + 1]
        mov [turn], eax                 ; hand it over
.p1o:   inc ebx
        cmp ebx, BASE
        jb .p1
.p1e:   cmp dword [turn], BASE          ; both leave phase 1 together
        jb .p1e
        call now
        sub rax, r13
        mov r14, rax                    ; ticks for BASE handoffs

        ; ---- phase 2: spin with PAUSE ----
        call now
        mov r13, rax
        xor ebx, ebx
.p2:    mov eax, ebx
        and eax, 1
        cmp eax, r12d
        jne .p2o
        lea ecx, [rbx + BASE]
.p2w:   cmp [turn], ecx
        je .p2t
        pause
        jmp .p2w
.p2t:   lea eax, [rcx + 1]
        mov [turn], eax
        lock inc dword [done]
.p2o:   inc ebx
        cmp ebx, ROUNDS
        jb .p2
.p2e:   cmp dword [turn], BASE + ROUNDS
        je .fin
        pause
        jmp .p2e
.fin:   call now
        sub rax, r13                    ; ticks for ROUNDS handoffs
        test r12, r12
        jnz .bye
        mov r15, rax
        mov eax, [done]
        HV_REPORT 0, rax
        ; with/ROUNDS * 4 < without/BASE  <=>  with * BASE * 4 < without * ROUNDS
        mov rax, r15
        imul rax, rax, BASE * 4
        mov rcx, r14
        imul rcx, rcx, ROUNDS
        xor ebx, ebx
        cmp rax, rcx
        jae .rep
        mov ebx, 1
.rep:   HV_REPORT 1, rbx
        HV_PRINT 'pause-lock: ticks per handoff: without PAUSE '
        mov rax, r14
        xor edx, edx
        mov ecx, BASE
        div rcx
        HV_PUTDEC rax
        HV_PRINT ', with '
        mov rax, r15
        xor edx, edx
        mov ecx, ROUNDS
        div rcx
        HV_PUTDEC rax
        HV_NEWLINE
.bye:   HV_EXIT 0

now:    rdtsc
        shl rdx, 32
        or rax, rdx
        ret

align 8
ready:  dd 0
turn:   dd 0
done:   dd 0
