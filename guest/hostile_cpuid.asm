; guest/hostile_cpuid.asm - CPUID leaves that would tell a guest where it
; runs: host APIC ids and topology, SGX. Run it in two VMs pinned to
; different pCPUs: a leaf that passes the host's values through shows the
; pCPU's APIC id, not the vCPU's.
;
; Checks (vCPU id from HC_VCPU_ID; hv's APIC id of a vCPU is its id):
;   leaf 1 EBX[31:24] (initial APIC id)                        = vCPU id
;   leaf 0Bh and 1Fh (if present), subleaves 0-2: EDX (x2APIC) = vCPU id
;   leaf 8000_001Eh (if present): EAX (extended APIC id)       = vCPU id
;   leaf 7 EBX[2] (SGX) clear, leaf 12h (if present) all zero
; counter 0  APIC-id fields that differ from the vCPU id          0
; counter 1  SGX fields that are not zero                         0
; counter 2  APIC-id fields checked                               (>= 1)
; Exits 0.
;
; Config: two VMs with this image, vcpus = 1, pinned to pCPU 0 and 1.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

start:
        HV_VCPU_ID
        mov r15, rax                    ; vCPU id
        xor eax, eax
        cpuid
        mov r14d, eax                   ; max basic leaf
        mov eax, 0x80000000
        cpuid
        mov r13d, eax                   ; max extended leaf

        mov eax, 1
        xor ecx, ecx
        cpuid
        shr ebx, 24
        mov eax, ebx
        call check_id

        mov r12d, 0xB
        call topo_leaf
        mov r12d, 0x1F
        call topo_leaf

        cmp r13d, 0x8000001E
        jb .sgx
        mov eax, 0x8000001E
        xor ecx, ecx
        cpuid
        call check_id

.sgx:   cmp r14d, 7
        jb .s12
        mov eax, 7
        xor ecx, ecx
        cpuid
        test ebx, 1 << 2
        jz .s12
        inc qword [sgx]
        HV_PRINTLN 'leaf 7 EBX[2]: SGX offered'
.s12:   cmp r14d, 0x12
        jb .done
        xor esi, esi
.sub:   mov eax, 0x12
        mov ecx, esi
        cpuid
        or eax, ebx
        or eax, ecx
        or eax, edx
        jz .nsub
        inc qword [sgx]
        HV_PRINTLN 'leaf 12h: SGX data'
.nsub:  inc esi
        cmp esi, 4
        jb .sub

.done:  HV_REPORT 0, [wrong]
        HV_REPORT 1, [sgx]
        HV_REPORT 2, [checked]
        HV_PRINT 'vCPU id '
        HV_PUTDEC r15
        HV_PRINT ': '
        HV_PUTDEC [checked]
        HV_PRINT ' APIC-id fields, '
        HV_PUTDEC [wrong]
        HV_PRINT ' wrong; '
        HV_PUTDEC [sgx]
        HV_PRINTLN ' SGX fields'
        HV_EXIT 0

; leaf r12d, subleaves 0-2: EDX must be the vCPU id (if the leaf exists)
topo_leaf:
        cmp r14d, r12d
        jb .ret
        xor esi, esi
.s:     mov eax, r12d
        mov ecx, esi
        cpuid
        mov eax, edx
        call check_id
        inc esi
        cmp esi, 3
        jb .s
.ret:   ret

check_id:                               ; EAX = an APIC id the guest sees
        inc qword [checked]
        cmp rax, r15
        je .ok
        inc qword [wrong]
        mov [seen], rax
        HV_PRINT 'APIC id field 0x'
        HV_PUTHEX64 [seen]
        HV_PRINTLN ' is not this vCPU', 0x27, 's id'
.ok:    ret

wrong:   dq 0
sgx:     dq 0
checked: dq 0
seen:    dq 0
