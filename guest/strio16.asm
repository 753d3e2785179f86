; guest/strio16.asm - string I/O in real mode: 16-bit addressing through
; segment bases (ES for INS, DS or an override for OUTS), every size (66h
; for 32-bit elements), both directions, REP and not, addr32 (67h), a
; 16-bit SI that wraps at 64 KiB (only SI changes), and the 64 KiB segment
; limit (a word at offset 0xFFFF: #GP, interrupt 13, caught through the IVT).
; Prints "strio16: via ds", "strio16: via fs", "strio16: via a32" and
; "strio16 ok"; each failed check prints "FAIL: <what>" and exits with its
; number.
;
; Config: mode = real, vcpus = 1.

bits 16
%include "hv.inc"
org HV_REAL_ENTRY

start:
        ; CS = DS = ES = SS = 0. The #GP handler goes in the IVT (vector 13).
        mov word [13 * 4], gp_handler
        mov word [13 * 4 + 2], 0
        cld

        ; ---- INS into ES = 0x1000 (base 0x10000) ----
        mov ax, 0x1000
        mov es, ax
        mov di, 0x10
        mov dword [es:0x10], 0x11111111
        mov dword [es:0x14], 0x11111111
        mov dx, 0x80
        insb                            ; 0xff at 0x10010
        mov dx, HV_CONSOLE_LSR
        insw                            ; LSR 0x60 at 0x10011, MSR after it
        mov dx, 0x80
        o32 insd                        ; 0xffffffff at 0x10013
        HV_CHECK di, 0x17, 10, 'insb/insw/insd: di'
        HV_CHECK byte [es:0x10], 0xff, 11, 'insb into es'
        HV_CHECK byte [es:0x11], 0x60, 12, 'insw from the LSR into es'
        HV_CHECK dword [es:0x13], 0xffffffff, 13, 'o32 insd into es'
        HV_CHECK byte [es:0x17], 0x11, 14, 'byte after insd untouched'

        std                             ; rep insw backward: 0x10024, 22, 20
        mov di, 0x24
        mov cx, 3
        mov dx, 0x80
        rep insw
        cld
        HV_CHECK di, 0x1e, 15, 'std rep insw: di'
        HV_CHECK cx, 0, 16, 'std rep insw: cx'
        HV_CHECK word [es:0x20], 0xffff, 17, 'std rep insw: first word'
        HV_CHECK word [es:0x24], 0xffff, 18, 'std rep insw: last word'

        ; ---- OUTS: DS default, FS override, addr32 ----
        xor ax, ax
        mov es, ax
        mov si, msg_ds
        mov cx, msg_ds_len
        mov dx, HV_CONSOLE_PORT
        rep outsb
        HV_CHECK si, msg_ds + msg_ds_len, 20, 'rep outsb: si'

        mov ax, 0x2000                  ; copy msg_fs to 0x2000:0 and print it
        mov es, ax                      ; from there through an fs override
        mov fs, ax
        mov si, msg_fs
        xor di, di
        mov cx, msg_fs_len
        rep movsb
        xor si, si
        mov cx, msg_fs_len / 2
        db 0x64                         ; fs: (an override prefix for the outsw)
        rep outsw                       ; the console takes the low byte of each word
        HV_CHECK si, msg_fs_len, 21, 'fs rep outsw: si'

        mov esi, msg_a32                ; addr32: ESI and ECX
        mov ecx, msg_a32_len
        a32 rep outsb
        HV_CHECK esi, msg_a32 + msg_a32_len, 22, 'a32 rep outsb: esi'
        HV_CHECK ecx, 0, 23, 'a32 rep outsb: ecx'

        ; ---- 16-bit wrap: SI = 0xFFFF, only SI changes ----
        mov esi, 0x1234ffff
        mov dx, 0x80
        outsb
        HV_CHECK esi, 0x12340000, 24, 'outsb at si 0xffff: esi'

        ; ---- a word at 0xFFFF: past the 64 KiB limit, #GP ----
        mov si, 0xffff
        mov byte [gp_seen], 0
        outsw
after_gp:
        HV_CHECK byte [gp_seen], 1, 25, 'outsw at si 0xffff: #GP'
        HV_CHECK si, 0xffff, 26, 'outsw at si 0xffff: si unchanged'
        HV_PRINTLN 'strio16 ok'
        HV_EXIT 0

gp_handler:                             ; IP, CS, FLAGS on the stack: resume at after_gp
        mov byte [cs:gp_seen], 1
        push bp
        mov bp, sp
        mov word [bp + 2], after_gp
        pop bp
        iret

; The words the console takes the low byte of: "strio16: via fs\n".
msg_ds: db 'strio16: via ds', 10
msg_ds_len equ $ - msg_ds
msg_fs: dw 's', 't', 'r', 'i', 'o', '1', '6', ':', ' ', 'v', 'i', 'a', ' ', 'f', 's', 10
msg_fs_len equ $ - msg_fs
msg_a32: db 'strio16: via a32', 10
msg_a32_len equ $ - msg_a32
gp_seen: db 0
