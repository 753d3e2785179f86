; tests/kvm-probe.asm - a 64 KiB firmware image that tells tests/run.py whether
; the CPU that QEMU gives a guest offers hardware virtualization.
;
; Built by the runner with `nasm -f bin -o build/kvm-probe.rom tests/kvm-probe.asm`
; and booted with `-bios build/kvm-probe.rom -accel kvm -cpu host` plus
; `-device isa-debug-exit,iobase=0xf4,iosize=0x04`. If KVM works *and* exposes
; SVM or VMX to its guests (nested virtualization), the probe writes 0x21 or
; 0x22 to port 0xf4 and QEMU exits with status (code << 1) | 1. Anything else
; (QEMU failing to start, a KVM_RUN error, a hang) means "no usable KVM".
;
; Codes written to port 0xf4 (keep in sync with tests/harness/accel.py):
;   0x20  neither SVM nor VMX visible in the guest
;   0x21  SVM  (CPUID 0x80000001 ECX bit 2)
;   0x22  VMX  (CPUID 1 ECX bit 5)
;
; The image is mapped so that its last byte is at 0xFFFFFFFF; the CPU starts in
; real mode at CS base 0xFFFF0000, IP 0xFFF0, i.e. 16 bytes before the end.
; A near jump from there reaches offset 0 of the image in the same segment.

	bits 16
	org 0

CODE_NEITHER	equ 0x20
CODE_SVM	equ 0x21
CODE_VMX	equ 0x22
DEBUG_EXIT	equ 0xf4

start:
	cli
	cld

	; SVM: only if extended leaf 0x80000001 exists.
	mov eax, 0x80000000
	cpuid
	cmp eax, 0x80000001
	jb .try_vmx
	mov eax, 0x80000001
	cpuid
	test ecx, 1 << 2
	jnz .svm

.try_vmx:
	mov eax, 1
	cpuid
	test ecx, 1 << 5
	jnz .vmx

	mov al, CODE_NEITHER
	jmp .report
.svm:
	mov al, CODE_SVM
	jmp .report
.vmx:
	mov al, CODE_VMX
.report:
	out DEBUG_EXIT, al

	; Not reached when isa-debug-exit is present.
.hang:
	hlt
	jmp .hang

	times 0xfff0 - ($ - $$) db 0xff

reset_vector:			; at 0xFFFFFFF0
	jmp near start
	times 0x10000 - ($ - $$) db 0xff
