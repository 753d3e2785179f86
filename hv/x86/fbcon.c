/*
 * hv/x86/fbcon.c - the screen console: hv's log and report as text on the
 * framebuffer the loader found (UEFI GOP, or GRUB's Multiboot2 framebuffer
 * tag), for machines without a serial port.
 *
 * Two kinds of screen: 32-bit pixels (GOP's RGB/BGR 8:8:8:8 formats, the
 * Multiboot2 RGB type at 32 bpp), drawn with the 8x16 glyphs of
 * font8x16.c in light grey on black; and the VGA text buffer (Multiboot2
 * "EGA text", 80x25 cells of character + attribute).
 *
 * Only lines for people are drawn: `kv ...` and `trace ...` lines (for
 * machines; the serial log has them) are left out, so the report fits.
 * Text is kept in a shadow grid. When the bottom is reached the grid moves
 * up by half a screen and is drawn again from the shadow, so a scroll costs
 * one full redraw per half screen of text and never reads video memory
 * (slow, uncached on real hardware). The report's first line starts a new
 * page (the grid is cleared and it goes to the top row), so the report stays
 * whole on the screen at the end of a run whatever the boot log before it.
 * Writes come with the console lock held.
 */
#include "../hv.h"
#include "fbcon.h"
#include "font8x16.h"

#define MAX_COLS 240
#define MAX_ROWS 135
#define LINE_MAX 512
#define FG 0x00c0c0c0u        /* the same grey in RGB and BGR order */
#define BG 0x00000000u
#define EGA_ATTR 0x0700u      /* light grey on black */

static struct boot_fb fb;
static u8 *vram;
static u32 cols, rows, cur_row;
static char grid[MAX_ROWS][MAX_COLS];
static char line[LINE_MAX];
static u32 line_len;

bool fbcon_active(void) { return vram != NULL; }
u32 fbcon_cols(void) { return vram ? cols : 0; }
u32 fbcon_rows(void) { return vram ? rows : 0; }

static void draw_cell(u32 r, u32 c, char ch)
{
	if (fb.kind == FB_EGA_TEXT) {
		volatile u16 *cell = (volatile u16 *)(vram + r * fb.stride) + c;
		*cell = (u16)((u8)ch | EGA_ATTR);
		return;
	}
	unsigned g = (u8)ch >= FONT_FIRST && (u8)ch < FONT_FIRST + FONT_GLYPHS ? (u8)ch - FONT_FIRST : '?' - FONT_FIRST;
	const unsigned char *rowbits = font8x16[g];
	for (u32 y = 0; y < FONT_H; y++) {
		volatile u32 *px = (volatile u32 *)(vram + (u64)(r * FONT_H + y) * fb.stride) + c * FONT_W;
		u8 bits = rowbits[y];
		for (u32 x = 0; x < FONT_W; x++)
			px[x] = (bits & (0x80u >> x)) ? FG : BG;
	}
}

static void redraw(void)
{
	for (u32 r = 0; r < rows; r++)
		for (u32 c = 0; c < cols; c++)
			draw_cell(r, c, grid[r][c]);
}

bool fbcon_init(const struct boot_fb *f)
{
	if (f->kind == FB_PIXELS32) {
		cols = f->width / FONT_W;
		rows = f->height / FONT_H;
	} else if (f->kind == FB_EGA_TEXT) {
		cols = f->width;
		rows = f->height;
	} else {
		return false;
	}
	if (!f->base || !cols || !rows || f->stride < (f->kind == FB_EGA_TEXT ? 2 : 4) * f->width)
		return false;
	if (cols > MAX_COLS)
		cols = MAX_COLS;
	if (rows > MAX_ROWS)
		rows = MAX_ROWS;
	fb = *f;
	memset(grid, ' ', sizeof(grid));
	cur_row = 0;
	line_len = 0;
	vram = pa_to_va(f->base);
	redraw();   /* clear what the firmware left */
	return true;
}

/* One finished line for people: onto the grid, wrapped at the width. */
static void put_line(const char *s, u32 n)
{
	do {
		if (cur_row == rows) {
			u32 keep = rows - rows / 2;     /* move up by half a screen */
			memmove(grid[0], grid[rows - keep], (size_t)keep * MAX_COLS);
			memset(grid[keep], ' ', (size_t)(rows - keep) * MAX_COLS);
			cur_row = keep;
			redraw();
		}
		u32 take = n < cols ? n : cols;
		for (u32 c = 0; c < cols; c++) {
			char ch = c < take ? s[c] : ' ';
			if (grid[cur_row][c] != ch || c < take) {
				grid[cur_row][c] = ch;
				draw_cell(cur_row, c, ch);
			}
		}
		cur_row++;
		s += take;
		n -= take;
	} while (n);
}

/* The first line of the end-of-run report (hv/report.c). */
static bool report_start(const char *s, u32 n)
{
	static const char mark[] = "==================== hv report";
	return n >= sizeof(mark) - 1 && !memcmp(s, mark, sizeof(mark) - 1);
}

static bool machine_line(const char *s, u32 n)
{
	return (n >= 3 && !memcmp(s, "kv ", 3)) || (n >= 6 && !memcmp(s, "trace ", 6));
}

void fbcon_write(const char *s, size_t n)
{
	if (!vram)
		return;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (ch == '\r')
			continue;
		if (ch == '\n') {
			if (report_start(line, line_len) && cur_row) {
				memset(grid, ' ', sizeof(grid));   /* a new page for the report */
				cur_row = 0;
				redraw();
			}
			if (!machine_line(line, line_len))
				put_line(line, line_len);
			line_len = 0;
			continue;
		}
		if (line_len < LINE_MAX)
			line[line_len++] = (u8)ch >= 0x20 && (u8)ch < 0x7f ? ch : '?';
	}
}
