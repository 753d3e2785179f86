; abi_check - checks the long-mode start state and a few hypercalls against
; docs/guest-abi.md, written from that document and guest/hv.inc only.
;
; Config: mode = long, vcpus = 2, memory = 4M (must match MEM_SIZE below),
; expect = exit 0 (tests/configs/abi-check.cfg).
;
; Each vCPU:
;   - prints a greeting with its id from RDI and from HC_VCPU_ID, and checks
;     that id and count from the start registers and the hypercall agree;
;   - checks RSP at entry = memory size - id * 0x4000, 16-byte aligned;
;   - vCPU 0 reports counter 0 = vCPU count, vCPU 1 counter 1 = 0x1234;
;   - yields 3 times;
;   - exits with status 0 if every check passed, else the OR of the bits of
;     the failed checks (so the status says which ones failed):
FAIL_ID         equ 1 << 0      ; RDI != id from HC_VCPU_ID
FAIL_COUNT      equ 1 << 1      ; RSI != count from HC_VCPU_ID
FAIL_RSP        equ 1 << 2      ; RSP at entry != MEM_SIZE - id * 0x4000
FAIL_ALIGN      equ 1 << 3      ; RSP at entry not 16-byte aligned
FAIL_NVCPUS     equ 1 << 4      ; vCPU count != NVCPUS
FAIL_BADID      equ 1 << 5      ; id is neither 0 nor 1 (id >= count)
FAIL_REPORT     equ 1 << 6      ; HC_REPORT did not return 0
FAIL_YIELD      equ 1 << 7      ; some HC_YIELD did not return 0

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY               ; 0x100000

MEM_SIZE        equ 4 * 1024 * 1024     ; memory = 4M in the config
NVCPUS          equ 2                   ; vcpus = 2 in the config
NYIELDS         equ 3

start:
        ; Keep the start state before anything touches it.
        mov r14, rsp                    ; RSP at entry
        mov r12, rdi                    ; vCPU id (start register)
        mov r13, rsi                    ; vCPU count (start register)
        xor r15d, r15d                  ; failed-check bits

        HV_VCPU_ID                      ; RAX = id, RBX = count
        mov r8, rax                     ; id (hypercall)
        mov r9, rbx                     ; count (hypercall)

        HV_PRINT 'hello from vCPU '
        HV_PUTDEC r12
        HV_PRINT ' of '
        HV_PUTDEC r13
        HV_PRINT ' (HC_VCPU_ID: vCPU '
        HV_PUTDEC r8
        HV_PRINT ' of '
        HV_PUTDEC r9
        HV_PRINTLN ')'

        ; --- id and count: start registers vs hypercall
        cmp r12, r8
        je .id_ok
        or r15d, FAIL_ID
        HV_PRINTLN 'FAIL: RDI differs from HC_VCPU_ID id'
.id_ok:
        cmp r13, r9
        je .count_ok
        or r15d, FAIL_COUNT
        HV_PRINTLN 'FAIL: RSI differs from HC_VCPU_ID count'
.count_ok:
        cmp r9, NVCPUS
        je .nvcpus_ok
        or r15d, FAIL_NVCPUS
        HV_PRINTLN 'FAIL: vCPU count is not 2'
.nvcpus_ok:
        cmp r12, r13
        jb .range_ok
        or r15d, FAIL_BADID
        HV_PRINTLN 'FAIL: vCPU id >= vCPU count'
.range_ok:

        ; --- stack pointer at entry: memory size - id * 0x4000
        mov rax, r12
        imul rax, rax, HV_LONG_STACK_SIZE
        mov rdx, MEM_SIZE
        sub rdx, rax                    ; expected RSP
        HV_PRINT 'RSP at entry 0x'
        HV_PUTHEX64 r14
        HV_PRINT ', expected 0x'
        HV_PUTHEX64 rdx
        HV_NEWLINE
        cmp r14, rdx
        je .rsp_ok
        or r15d, FAIL_RSP
        HV_PRINTLN 'FAIL: RSP at entry is not memory size - id * 0x4000'
.rsp_ok:
        test r14, 0xF
        jz .align_ok
        or r15d, FAIL_ALIGN
        HV_PRINTLN 'FAIL: RSP at entry is not 16-byte aligned'
.align_ok:

        ; --- counters: vCPU 0 -> counter 0 = count, vCPU 1 -> counter 1 = 0x1234
        cmp r12, 0
        jne .not0
        HV_REPORT 0, r9                 ; the count learned from HC_VCPU_ID
        jmp .reported
.not0:
        cmp r12, 1
        jne .yield                      ; no report for other ids (FAIL_BADID)
        HV_REPORT 1, 0x1234
.reported:
        test rax, rax
        jz .yield
        or r15d, FAIL_REPORT
        HV_PRINTLN 'FAIL: HC_REPORT did not return 0'

        ; --- yield 3 times
.yield:
        mov ecx, NYIELDS
.yield_loop:
        HV_YIELD                        ; RAX = 0, everything else preserved
        test rax, rax
        jz .yield_ok
        or r15d, FAIL_YIELD
.yield_ok:
        dec ecx
        jnz .yield_loop
        test r15d, FAIL_YIELD
        jz .done
        HV_PRINTLN 'FAIL: HC_YIELD did not return 0'

.done:
        HV_PRINT 'vCPU '
        HV_PUTDEC r12
        HV_PRINT ' done, exit status 0x'
        HV_PUTHEX r15, 2
        HV_NEWLINE
        HV_EXIT r15
