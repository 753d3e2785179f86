; guest/hostile_remap.asm - a CPUID executed at the same linear address
; twice, with the guest's page table entry for that page changed (and the
; TLB entry invalidated) in between.
;
; Without NRIPS hv decodes exiting instructions from guest memory, and it
; keeps the translation of the last exiting code page. After a remap the
; guest executes the bytes of the NEW page; hv must decode those too.
; Linear page 0x200000 (4 KiB pages, a page table of the guest's own) first
; maps physical page A, then page B. At offset 0x100:
;   A: 66 66 66 0F A2 C3        CPUID with three prefixes (5 bytes), ret
;   B: 0F A2 C3 CC CC 0F 0B     CPUID (2 bytes), ret; a ud2 at +5
; If hv used A's bytes for B's CPUID it would resume at +5: the ud2.
;   counter 0  vector while running A     255 (none)
;   counter 1  vector while running B     255 (none; 6 = hv resumed at the ud2)
;   counter 2  1 if both CPUIDs returned hv's signature
; Exits 0.
;
; Config: mode = long, vcpus = 1, memory = 4M (the page is above 2 MiB).

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

; the exception catcher (CATCH_INIT, TRY, CATCHER): guest/catch.inc
%include "catch.inc"

PT      equ 0x6000              ; page table for [2 MiB, 4 MiB)
PAGE_A  equ 0x8000
PAGE_B  equ 0x9000
LINEAR  equ 0x200000

start:
        CATCH_INIT
        ; fill both pages with int3 and copy in the code
        mov eax, 0xCC
        lea rdi, [abs PAGE_A]
        mov ecx, 0x2000
        rep stosb
        lea rsi, [code_a]
        lea rdi, [abs PAGE_A + 0x100]
        mov ecx, code_a_len
        rep movsb
        lea rsi, [code_b]
        lea rdi, [abs PAGE_B + 0x100]
        mov ecx, code_b_len
        rep movsb
        ; the page table: identity for [2M, 4M), except LINEAR -> A
        lea rdi, [abs PT]
        mov eax, LINEAR | 3
        mov ecx, 512
.pte:   mov [rdi], rax
        add rdi, 8
        add rax, 0x1000
        dec ecx
        jnz .pte
        mov qword [abs PT], PAGE_A | 3
        mov qword [abs HV_PD + 8], PT | 3
        invlpg [abs LINEAR]

        mov rax, cr3            ; PD[1] was a 2 MiB page: flush it all
        mov cr3, rax

        ; No exit may come between the two CPUIDs (any exit elsewhere would
        ; replace hv's remembered code page), so the results are kept in
        ; registers and reported afterwards.
        xor r12d, r12d          ; signatures seen
        mov eax, CPUID_HV_LEAF
        mov ebx, LINEAR + 0x100
        TRY call rbx
        mov r13, [vec]
        cmp ebx, HV_SIG_EBX
        jne .b
        inc r12d
.b:
        mov qword [abs PT], PAGE_B | 3
        invlpg [abs LINEAR]
        mov eax, CPUID_HV_LEAF
        mov ebx, LINEAR + 0x100
        TRY call rbx
        mov r14, [vec]
        cmp ebx, HV_SIG_EBX
        jne .done
        inc r12d
.done:
        HV_REPORT 0, r13
        HV_REPORT 1, r14
        xor eax, eax
        cmp r12d, 2
        sete al
        HV_REPORT 2, rax
        HV_PRINTLN 'remap: done'
        HV_EXIT 0

code_a: db 0x66, 0x66, 0x66, 0x0F, 0xA2, 0xC3
code_a_len equ $ - code_a
code_b: db 0x0F, 0xA2, 0xC3, 0xCC, 0xCC, 0x0F, 0x0B
code_b_len equ $ - code_b

CATCHER                         ; the IDT, handlers and their data
