; guest/too_big.asm - an image of exactly 1 MiB that would exit 0 if it ran.
;
; Config: mode = long, memory = 2M, vcpus = 1: at most 2M - 1M (load address)
; - 16K (one vCPU stack) = 1032192 bytes fit, so hv's loader must refuse it
; ("image too large", docs/config.md) before any VM starts.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

start:
        HV_EXIT 0
        times 0x100000 - ($ - $$) db 0xf4
