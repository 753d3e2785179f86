/* hv/x86/fbcon.h - hv's screen console: text drawn on the firmware's framebuffer. */
#ifndef HV_X86_FBCON_H
#define HV_X86_FBCON_H

#include "../bootinfo.h"

/* Start drawing on fb (no-op for FB_NONE or a format hv cannot draw). */
bool fbcon_init(const struct boot_fb *fb);
/* Append text; called with the console lock held. */
void fbcon_write(const char *s, size_t n);
bool fbcon_active(void);
/* Geometry in character cells (0 when inactive), for the boot log. */
u32 fbcon_cols(void);
u32 fbcon_rows(void);

#endif
