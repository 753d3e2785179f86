; guest/mmio_test.asm - MMIO emulation end to end, against hv's test device
; (config `test_device = on`; docs/guest-abi.md): every access below is a
; nested page fault that hv decodes and emulates (hv/mmio.c).
;   arg 0: mov of every size both ways, immediates, movzx/movsx, a high-byte
;          register, or/and/add/cmp/test/xchg/bts with their flags, a load
;          into RSP, the device's all-ones offsets; checks each value and
;          that cmp/test/bt do not write. Prints "mmio ok", exits 0; a failed
;          check prints "FAIL: <what>" and exits with its number.
;   arg 1: `inc dword [rbx]` on the device: not emulated, hv ends the VM
;          (`fault`, "not emulated: opcode (ff 03)").
;
; Config: mode = long, vcpus = 1, test_device = on.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

DEV equ 0xFEDF0000
WRITES equ 0x40                         ; device offsets: write count,
READS equ 0x48                          ; read count (before this read)

start:
        mov r8, rbx                     ; the config's arg
        ; Map the 2 MiB page holding DEV: PDPT[3] -> pd_hi, pd_hi[502] ->
        ; 0xFEC00000 (2 MiB page, present, writable, cache disabled).
        lea rax, [pd_hi]
        or rax, 3
        mov [HV_PDPT + 3 * 8], rax
        mov rax, 0xFEC00000 | 0x93
        mov [pd_hi + ((0xFEC00000 >> 21) & 511) * 8], rax
        mov rax, cr3
        mov cr3, rax
        mov rbx, DEV
        test r8, r8
        jnz refuse

        ; ---- mov, every size ----
        mov rax, 0x1122334455667788
        mov [rbx], rax
        mov rcx, [rbx]
        HV_CHECK rcx, rax, 10, 'mov qword'
        mov dword [rbx + 8], 0xdeadbeef
        mov ecx, -1
        mov ecx, [rbx + 8]
        mov edx, 0xdeadbeef             ; (a cmp imm32 would sign-extend)
        HV_CHECK rcx, rdx, 11, 'mov dword (zero-extended)'
        mov word [rbx + 12], 0x1234
        mov rcx, -1
        mov cx, [rbx + 12]
        mov rdx, 0xffffffffffff1234
        HV_CHECK rcx, rdx, 12, 'mov word (upper bits kept)'
        mov byte [rbx + 14], 0x5a
        mov cl, [rbx + 14]
        mov rdx, 0xffffffffffff125a
        HV_CHECK rcx, rdx, 13, 'mov byte'
        mov rax, 0x7777
        mov ah, [rbx + 14]
        HV_CHECK rax, 0x5a77, 14, 'mov to ah'

        ; ---- movzx / movsx ----
        movzx ecx, byte [rbx + 9]
        HV_CHECK rcx, 0xbe, 15, 'movzx byte'
        movzx ecx, word [rbx + 8]
        HV_CHECK rcx, 0xbeef, 16, 'movzx word'
        movsx rcx, byte [rbx + 11]
        mov rdx, 0xffffffffffffffde
        HV_CHECK rcx, rdx, 17, 'movsx byte'
        movsx ecx, word [rbx + 10]
        mov edx, 0xffffdead
        HV_CHECK rcx, rdx, 18, 'movsx word to 32 bits'

        ; ---- read-modify-write and flags ----
        mov r12, [rbx + WRITES]
        or dword [rbx + 8], 0x100
        mov ecx, [rbx + 8]
        HV_CHECK ecx, 0xdeadbfef, 20, 'or dword'
        mov r13, [rbx + WRITES]
        sub r13, r12
        HV_CHECK r13, 1, 21, 'or dword: one device write'
        and qword [rbx], 0xff
        mov rcx, [rbx]
        HV_CHECK rcx, 0x88, 22, 'and qword'
        mov dword [rbx + 16], 0xffffffff
        add dword [rbx + 16], 1
        jnc .fail_cf
        jnz .fail_zf
        mov ecx, [rbx + 16]
        HV_CHECK ecx, 0, 23, 'add dword wraps'
        mov r12, [rbx + WRITES]
        cmp dword [rbx + 8], 0xdeadbfef
        jne .fail_cmp
        test byte [rbx + 9], 0x80
        jz .fail_test
        bt dword [rbx + 8], 0
        jnc .fail_bt
        mov r13, [rbx + WRITES]
        HV_CHECK r13, r12, 24, 'cmp/test/bt wrote to the device'
        lock bts dword [rbx + 16], 5
        jc .fail_bts
        mov ecx, [rbx + 16]
        HV_CHECK ecx, 0x20, 25, 'bts'
        mov rdx, 0xabcdef
        mov qword [rbx + 24], 42
        xchg [rbx + 24], rdx
        HV_CHECK rdx, 42, 26, 'xchg: old value'
        mov rcx, [rbx + 24]
        HV_CHECK rcx, 0xabcdef, 27, 'xchg: new value'

        ; ---- a load into RSP (hv writes RSP back through the backend) ----
        mov [rbx + 32], rsp
        mov r14, rsp
        xor esp, esp
        mov rsp, [rbx + 32]
        HV_CHECK rsp, r14, 28, 'mov rsp from the device'

        ; ---- offsets with no register ----
        mov eax, [rbx + 0x800]
        HV_CHECK eax, 0xffffffff, 29, 'unused offset reads all ones'
        mov rcx, [rbx + READS]
        test rcx, rcx
        jz .fail_reads
        HV_PRINTLN 'mmio ok'
        HV_EXIT 0

.fail_cf:
        HV_PRINTLN 'FAIL: add dword: CF clear'
        HV_EXIT 30
.fail_zf:
        HV_PRINTLN 'FAIL: add dword: ZF clear'
        HV_EXIT 31
.fail_cmp:
        HV_PRINTLN 'FAIL: cmp dword: not equal'
        HV_EXIT 32
.fail_test:
        HV_PRINTLN 'FAIL: test byte: ZF set'
        HV_EXIT 33
.fail_bt:
        HV_PRINTLN 'FAIL: bt: CF clear'
        HV_EXIT 34
.fail_bts:
        HV_PRINTLN 'FAIL: bts: CF set'
        HV_EXIT 35
.fail_reads:
        HV_PRINTLN 'FAIL: read count 0'
        HV_EXIT 36

refuse:
        HV_PRINTLN 'inc dword on the device'
        inc dword [rbx]
        HV_PRINTLN 'FAIL: inc dword on the device returned'
        HV_EXIT 1

        align 4096
pd_hi:  times 512 dq 0
