/* hv/x86/font8x16.h - 8x16 glyphs of printable ASCII for the screen console. */
#ifndef HV_X86_FONT8X16_H
#define HV_X86_FONT8X16_H

#define FONT_FIRST 0x20
#define FONT_GLYPHS 95          /* 0x20..0x7e */
#define FONT_W 8
#define FONT_H 16

extern const unsigned char font8x16[FONT_GLYPHS][16];

#endif
