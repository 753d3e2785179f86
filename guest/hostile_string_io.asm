; guest/hostile_string_io.asm - string I/O (INS/OUTS), which hv emulates
; (docs/guest-abi.md, docs/security.md). RBX (the config's `arg`) picks:
;   arg 0: OUTS round trips through the console port 0x3F8 and the empty
;          port 0x80: rep outsb forward and backward (DF), rep outsw, rep
;          outsd, a single outsb, addr32; prints "via rep outsb",
;          "reversed" and "w16d32!" and checks RSI/RCX after each.
;   arg 1: INS round trips: insb/insw/insd from the console LSR (reads 0x60)
;          and from the empty port 0x80 (all ones), rep insb backward,
;          rep with a zero count; checks memory, RDI and RCX.
;   arg 2: rep insw with a count of 0x10000 (more than hv moves per exit:
;          it completes across exits); then faults like hardware: a rep
;          insb that runs into an unmapped page stops there with #PF
;          (CR2 = the page, error code W, the bytes before it written, RCX
;          and RDI counting them), and a non-canonical outsb gets #GP(0).
;   arg 4: rep outsb with RCX = 2^64-1 that never leaves RAM: the guest
;          maps its whole lower half (128 TiB) onto its first 2 MiB, so the
;          instruction would run for 2^47 elements before anything stops it.
;          hv does 256 per exit and re-executes, so the VM is preempted like
;          any loop and ends at its run limit (`limit`); hv stays responsive.
;   arg 3: rep insw with the destination running past the end of guest RAM
;          (the guest maps the 2 MiB after its RAM in its own page tables):
;          the words inside RAM are written, then hv ends the VM (`fault`,
;          "outside the VM's ... RAM"), writing nothing outside RAM.
; Each check that fails prints "FAIL: <what>" and exits with its number.
;
; Config: mode = long, vcpus = 1; arg 2 needs memory = 4M.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

; the exception catcher (CATCH_INIT, TRY, CATCHER): guest/catch.inc
%include "catch.inc"

start:
        mov r15, rdx                    ; RDX = memory size at start
        CATCH_INIT
        cld
        cmp rbx, 1
        je ins_tests
        cmp rbx, 2
        je big_and_faults
        cmp rbx, 3
        je past_ram
        cmp rbx, 4
        je endless

; ---- arg 0: OUTS ----
        lea rsi, [msg]
        mov ecx, msg_len
        mov dx, HV_CONSOLE_PORT
        rep outsb
        lea rax, [msg + msg_len]
        HV_CHECK rsi, rax, 10, 'rep outsb: rsi'
        HV_CHECK rcx, 0, 11, 'rep outsb: rcx'

        std                             ; backward: prints "reversed", newline
        lea rsi, [rev + rev_len - 1]
        mov ecx, rev_len
        rep outsb
        cld
        lea rax, [rev - 1]
        HV_CHECK rsi, rax, 12, 'std rep outsb: rsi'

        lea rsi, [words]                ; the console takes the low byte
        mov ecx, 3
        rep outsw
        lea rax, [words + 6]
        HV_CHECK rsi, rax, 13, 'rep outsw: rsi'
        lea rsi, [dwords]
        mov ecx, 4
        rep outsd
        lea rax, [dwords + 16]
        HV_CHECK rsi, rax, 14, 'rep outsd: rsi'

        mov dx, 0x80                    ; the empty bus swallows it
        lea rsi, [msg]
        outsb
        lea rax, [msg + 1]
        HV_CHECK rsi, rax, 15, 'outsb to port 0x80: rsi'

        mov dx, HV_CONSOLE_PORT         ; addr32: ESI/ECX
        lea rsi, [nl]
        mov ecx, 1
        a32 rep outsb
        lea rax, [nl + 1]
        HV_CHECK rsi, rax, 16, 'a32 rep outsb: rsi'
        HV_CHECK rcx, 0, 17, 'a32 rep outsb: rcx'
        HV_PRINTLN 'outs round trips ok'
        HV_EXIT 0

; ---- arg 1: INS ----
ins_tests:
        lea rdi, [buf]
        mov rax, 0x1111111111111111
        mov [rdi], rax
        mov [rdi + 8], rax
        mov dx, HV_CONSOLE_LSR
        insd                            ; LSR 0x60 in the low byte (the bytes above:
                                        ; MSR, scratch and port 0x400, as on an ISA bus)
        mov dx, 0x80
        insw                            ; 0xffff
        insb                            ; 0xff
        lea rax, [buf + 7]
        HV_CHECK rdi, rax, 20, 'insd/insw/insb: rdi'
        movzx eax, byte [buf]
        HV_CHECK eax, 0x60, 21, 'insd from the LSR'
        movzx eax, word [buf + 4]
        HV_CHECK eax, 0xffff, 22, 'insw from port 0x80'
        movzx eax, byte [buf + 6]
        HV_CHECK eax, 0xff, 23, 'insb from port 0x80'
        movzx eax, byte [buf + 7]
        HV_CHECK eax, 0x11, 24, 'byte after insb untouched'

        std                             ; rep insb backward: buf+15 .. buf+11
        lea rdi, [buf + 15]
        mov ecx, 5
        rep insb
        cld
        lea rax, [buf + 10]
        HV_CHECK rdi, rax, 25, 'std rep insb: rdi'
        HV_CHECK rcx, 0, 26, 'std rep insb: rcx'
        mov eax, [buf + 12]
        HV_CHECK eax, 0xffffffff, 27, 'std rep insb: bytes written'
        movzx eax, byte [buf + 10]
        HV_CHECK eax, 0x11, 28, 'std rep insb: byte before untouched'

        mov r8d, [buf]                  ; what the insd above left there
        xor ecx, ecx                    ; rep with count 0: nothing
        lea rdi, [buf]
        rep insd
        lea rax, [buf]
        HV_CHECK rdi, rax, 29, 'rep insd with rcx 0: rdi'
        mov eax, [buf]
        HV_CHECK eax, r8d, 30, 'rep insd with rcx 0 wrote'
        HV_PRINTLN 'ins round trips ok'
        HV_EXIT 0

; ---- arg 2: a huge count, then faults ----
BIG_BUF equ 0x140000
BIG_COUNT equ 0x10000
big_and_faults:
        mov rdi, BIG_BUF + 2 * BIG_COUNT
        mov word [rdi], 0x1234          ; the word after the buffer
        mov rdi, BIG_BUF
        mov ecx, BIG_COUNT
        mov dx, 0x80
        rep insw
        HV_CHECK rcx, 0, 40, 'huge rep insw: rcx'
        mov rax, BIG_BUF + 2 * BIG_COUNT
        HV_CHECK rdi, rax, 41, 'huge rep insw: rdi'
        movzx eax, word [BIG_BUF]
        HV_CHECK eax, 0xffff, 42, 'huge rep insw: first word'
        movzx eax, word [BIG_BUF + 2 * BIG_COUNT - 2]
        HV_CHECK eax, 0xffff, 43, 'huge rep insw: last word'
        movzx eax, word [BIG_BUF + 2 * BIG_COUNT]
        HV_CHECK eax, 0x1234, 44, 'huge rep insw: word after'
        HV_PRINTLN 'rep insw of 0x10000 words completed'

        ; Unmap 2 MiB..4 MiB (PD entry 1); the stack moves below it first.
        mov rsp, 0x1f0000
        mov qword [HV_PD + 8], 0
        invlpg [0x200000]
        mov dword [0x1ffffc], 0x11111111
        mov rdi, 0x1ffffe               ; 2 bytes fit, the 3rd faults
        mov ecx, 4
        mov dx, 0x80
        TRY rep insb
        HV_CHECK qword [vec], 14, 45, 'rep insb into an unmapped page: #PF'
        HV_CHECK qword [err], 2, 46, '#PF error code (write, not present)'
        mov rax, cr2
        cmp rax, 0x200000
        je .cr2_ok
        HV_PRINT 'FAIL: #PF CR2 0x'
        HV_PUTHEX64 rax
        HV_PRINT ', rcx '
        HV_PUTDEC rcx
        HV_PRINT ', fault rip 0x'
        HV_PUTHEX64 [fault_rip]
        HV_NEWLINE
        HV_EXIT 47
.cr2_ok:
        HV_CHECK rcx, 2, 48, 'rep insb stopped by #PF: rcx'
        HV_CHECK rdi, 0x200000, 49, 'rep insb stopped by #PF: rdi'
        mov eax, [0x1ffffc]
        HV_CHECK eax, 0xffff1111, 50, 'rep insb stopped by #PF: bytes written'
        HV_PRINTLN 'rep insb into an unmapped page: #PF caught'

        mov rsi, 0x0000800000000000     ; not canonical
        mov dx, HV_CONSOLE_PORT
        TRY outsb
        HV_CHECK qword [vec], 13, 51, 'outsb from a non-canonical address: #GP'
        HV_CHECK qword [err], 0, 52, '#GP error code'
        HV_PRINTLN 'non-canonical outsb: #GP caught'
        HV_EXIT 0

; ---- arg 3: past the end of RAM ----
past_ram:
        HV_PRINTLN 'rep insw from port 0x80 running past the end of RAM'
        mov rdx, r15                    ; the memory size
        mov r8, rdx
        shr r8, 21                      ; map the 2 MiB after RAM (identity,
        mov rax, rdx                    ; present, writable, 2 MiB page)
        or rax, 0x83
        lea r9, [HV_PD + r8 * 8]
        mov [r9], rax
        invlpg [rdx]
        mov rdi, rdx                    ; RAM's last 4 KiB, then beyond
        sub rdi, 0x1000
        mov ecx, 0x10000
        mov dx, 0x80
        rep insw
        HV_PRINTLN 'FAIL: string I/O past the end of RAM returned to the guest'
        HV_EXIT 1

; ---- arg 4: a count that never ends ----
endless:
        mov rdi, HV_PD                  ; every PD entry: the 2 MiB page at 0
        mov ecx, 512
.pd:    mov qword [rdi], 0x83           ; present, writable, 2 MiB
        add rdi, 8
        loop .pd
        mov rdi, HV_PDPT                ; every PDPT entry: that PD
        mov ecx, 512
.pdpt:  mov qword [rdi], HV_PD | 3
        add rdi, 8
        loop .pdpt
        mov rdi, HV_PML4                ; the lower half's PML4 entries: that PDPT
        mov ecx, 256
.pml4:  mov qword [rdi], HV_PDPT | 3
        add rdi, 8
        loop .pml4
        mov rax, cr3
        mov cr3, rax
        HV_PRINTLN 'rep outsb with rcx = 2^64-1 over 128 TiB of mapped memory'
        xor esi, esi
        mov rcx, -1
        mov dx, 0x80
        rep outsb
        HV_PRINTLN 'FAIL: rep outsb with rcx = 2^64-1 completed'
        HV_EXIT 1

msg:    db 'via rep outsb', 13, 10
msg_len equ $ - msg
rev:    db 10, 'desrever'
rev_len equ $ - rev
words:  dw 0x4177, 0x4231, 0x4336      ; "w16" in the low bytes
dwords: dd 0x41424364, 0x41424333, 0x41424332, 0x41424321  ; "d32!"
nl:     db 10
        align 8
buf:    times 16 db 0

        CATCHER
