; guest/hostile_leak.asm - register state left behind by one VM and looked
; for by the next: two VMs run this image on the same pCPU, picked by RBX
; (the config's `arg`).
;
;   arg 1, "writer": fills DR0-DR3, XMM0-15, the x87 stack, MXCSR, PKRU (if
;          the CPU has protection keys) and CR8 with its own values, yields
;          once (so the reader runs next on this pCPU), then exits 0.
;   arg 2, "reader": reads all of them before touching any, and counts
;          values that are the writer's:
;     counter 0  DR0-DR3 holding the writer's values        0
;     counter 1  XMM registers holding the writer's value   0
;     counter 2  MXCSR                                      8064 (0x1F80, reset value)
;     counter 3  PKRU (0 if protection keys are absent)     0
;     counter 4  CR8                                        0
;     counter 5  x87 registers in use (FXSAVE tag word)     0
;     counter 6  YMM upper halves holding the writer's value 0
;   and exits 0.
; The YMM part: hv hides XSAVE, but the guest can set CR4.OSXSAVE anyway,
; and on QEMU TCG even XSETBV reaches the CPU (see hostile_xsetbv.asm); the
; writer enables AVX state in XCR0 if it can and fills the upper halves of
; YMM0-15, which FXSAVE/FXRSTOR do not switch. (If XCR0 cannot get AVX
; state, counter 6 is 0.)
;
; hv switches what the VMCB holds (CR8 via V_TPR, DR6/DR7, segment state)
; and the FPU/SSE state (FXSAVE/FXRSTOR at each switch). Whatever it does
; not switch, one VM can read from another, or plant in it.
;
; Config: two VMs with this image, writer listed first, arg = 1 and 2,
; vcpus = 1 each, pcpus = 1 (or both pinned to one pCPU).

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

; the exception catcher (CATCH_INIT, TRY, CATCHER): guest/catch.inc
%include "catch.inc"

MAGIC equ 0x5EC0DE005EC0DE00

start:
        CATCH_INIT
        cmp rbx, 1
        je writer
        cmp rbx, 2
        je reader
        HV_PRINTLN 'arg must be 1 (writer) or 2 (reader)'
        HV_EXIT 2

writer:
        mov rax, MAGIC
        mov dr0, rax
        inc rax
        mov dr1, rax
        inc rax
        mov dr2, rax
        inc rax
        mov dr3, rax
        mov rax, MAGIC
        mov [tmp], rax
        mov [tmp + 8], rax
        movdqu xmm0, [tmp]
        movdqa xmm1, xmm0
        movdqa xmm2, xmm0
        movdqa xmm3, xmm0
        movdqa xmm4, xmm0
        movdqa xmm5, xmm0
        movdqa xmm6, xmm0
        movdqa xmm7, xmm0
        movdqa xmm8, xmm0
        movdqa xmm9, xmm0
        movdqa xmm10, xmm0
        movdqa xmm11, xmm0
        movdqa xmm12, xmm0
        movdqa xmm13, xmm0
        movdqa xmm14, xmm0
        movdqa xmm15, xmm0
        fld1
        fldpi
        mov dword [tmp], 0x9F80 ; FTZ and all exceptions masked
        ldmxcsr [tmp]
        mov eax, 9
        mov cr8, rax
        call enable_pke
        jc .nopk
        mov eax, 0x55555554     ; every key but 0: access disabled
        xor ecx, ecx
        xor edx, edx
        wrpkru
.nopk:
        call enable_avx
        jc .noavx
        vinsertf128 ymm0, ymm0, xmm0, 1
        vinsertf128 ymm1, ymm1, xmm0, 1
        vinsertf128 ymm2, ymm2, xmm0, 1
        vinsertf128 ymm3, ymm3, xmm0, 1
        vinsertf128 ymm4, ymm4, xmm0, 1
        vinsertf128 ymm5, ymm5, xmm0, 1
        vinsertf128 ymm6, ymm6, xmm0, 1
        vinsertf128 ymm7, ymm7, xmm0, 1
        vinsertf128 ymm8, ymm8, xmm0, 1
        vinsertf128 ymm9, ymm9, xmm0, 1
        vinsertf128 ymm10, ymm10, xmm0, 1
        vinsertf128 ymm11, ymm11, xmm0, 1
        vinsertf128 ymm12, ymm12, xmm0, 1
        vinsertf128 ymm13, ymm13, xmm0, 1
        vinsertf128 ymm14, ymm14, xmm0, 1
        vinsertf128 ymm15, ymm15, xmm0, 1
        HV_PRINTLN 'writer: AVX state enabled in XCR0, YMM upper halves filled'
.noavx:
        HV_PRINTLN 'writer: state planted, yielding'
        HV_YIELD
        HV_PRINTLN 'writer: done'
        HV_EXIT 0

reader:
        ; take everything before any other instruction could change it
        mov r8, dr0
        mov r9, dr1
        mov r10, dr2
        mov r11, dr3
        fxsave [fxarea]
        mov rax, cr8
        mov [cr8_seen], rax
        xor r12d, r12d          ; DR leaks
        mov rax, MAGIC
        cmp r8, rax
        jne .d1
        inc r12
.d1:    inc rax
        cmp r9, rax
        jne .d2
        inc r12
.d2:    inc rax
        cmp r10, rax
        jne .d3
        inc r12
.d3:    inc rax
        cmp r11, rax
        jne .d4
        inc r12
.d4:
        HV_REPORT 0, r12
        ; XMM0-15: FXSAVE offset 160, 16 bytes each
        xor r12d, r12d
        lea rsi, [fxarea + 160]
        mov ecx, 16
        mov rax, MAGIC
.x:     cmp [rsi], rax
        jne .xn
        inc r12
.xn:    add rsi, 16
        dec ecx
        jnz .x
        HV_REPORT 1, r12
        mov eax, [fxarea + 24]  ; MXCSR
        HV_REPORT 2, rax
        ; PKRU
        xor r13d, r13d
        call enable_pke
        jc .pk_done
        xor ecx, ecx
        rdpkru
        mov r13d, eax
.pk_done:
        HV_REPORT 3, r13
        HV_REPORT 4, [cr8_seen]
        movzx eax, byte [fxarea + 4]   ; abridged tag word: one bit per register in use
        HV_REPORT 5, rax
        ; YMM upper halves, stored to memory without touching the registers
        xor r12d, r12d
        call enable_avx_read
        jc .ymm_done
%assign __y 0
%rep 16
        vextractf128 [ymmhi + __y * 16], ymm %+ __y, 1
%assign __y __y + 1
%endrep
        lea rsi, [ymmhi]
        mov ecx, 16
        mov rax, MAGIC
.y:     cmp [rsi], rax
        jne .yn
        inc r12
.yn:    add rsi, 16
        dec ecx
        jnz .y
.ymm_done:
        HV_REPORT 6, r12
        HV_PRINT 'reader: DR0 0x'
        HV_PUTHEX64 r8
        HV_PRINT ' PKRU 0x'
        HV_PUTHEX r13, 8
        HV_PRINT ' CR8 '
        HV_PUTDEC [cr8_seen]
        HV_NEWLINE
        HV_EXIT 0

; CF clear if CR4.PKE is now set (protection keys exist and were enabled)
enable_pke:
        push rax
        push rbx
        push rcx
        push rdx
        mov eax, 7
        xor ecx, ecx
        cpuid
        test ecx, 1 << 3        ; PKU
        jz .no
        mov rax, cr4
        bts rax, 22
        TRY mov cr4, rax
        cmp qword [vec], NONE
        jne .no
        clc
        jmp .out
.no:    stc
.out:   pop rdx
        pop rcx
        pop rbx
        pop rax
        ret

; CF clear if AVX state is (now) enabled: CR4.OSXSAVE set and XCR0 bits
; 1-2 set, trying XSETBV XCR0 = 7 if they are not
enable_avx:
        push rax
        push rcx
        push rdx
        call set_osxsave
        jc avx_no
        xor ecx, ecx
        xgetbv
        and eax, 6
        cmp eax, 6
        je avx_yes
        xor ecx, ecx
        mov eax, 7
        xor edx, edx
        TRY xsetbv
        jmp avx_check
; the same, without trying XSETBV (the reader only looks)
enable_avx_read:
        push rax
        push rcx
        push rdx
        call set_osxsave
        jc avx_no
avx_check:
        xor ecx, ecx
        xgetbv
        and eax, 6
        cmp eax, 6
        jne avx_no
avx_yes:
        clc
        jmp avx_out
avx_no:
        stc
avx_out:
        pop rdx
        pop rcx
        pop rax
        ret

set_osxsave:                    ; CF clear if CR4.OSXSAVE is now set
        push rax
        mov rax, cr4
        bts rax, 18
        TRY mov cr4, rax
        cmp qword [vec], NONE
        je .ok
        stc
        pop rax
        ret
.ok:    clc
        pop rax
        ret

        align 16
ymmhi:    times 16 dq 0, 0
tmp:      dq 0, 0
cr8_seen: dq 0
        align 16
fxarea:   times 512 db 0

CATCHER                         ; the IDT, handlers and their data
