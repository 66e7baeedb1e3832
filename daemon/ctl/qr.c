/* SPDX-License-Identifier: BSD-3-Clause */
/* Terminal rendering of QR codes from libqrencode symbols, with an explicit
 * black-on-white palette and a quiet zone. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <qrencode.h>

#include "err.h"
#include "qr.h"
#include "secret.h"

/*
 * Black foreground on a white background. Terminals default to either
 * light-on-dark or dark-on-light; naming both colours makes the symbol
 * the same on either, and scanners need dark modules on a light field.
 */
#define ANSI_FG_BLACK_BG_WHITE "\033[30;47m"
#define ANSI_BG_BLACK          "\033[40m"
#define ANSI_BG_WHITE          "\033[47m"
#define ANSI_RESET             "\033[0m"

/* UTF-8 for U+2588 FULL BLOCK, U+2580 UPPER and U+2584 LOWER HALF BLOCK. */
#define BLOCK_FULL  "\xe2\x96\x88"
#define BLOCK_UPPER "\xe2\x96\x80"
#define BLOCK_LOWER "\xe2\x96\x84"

/* Module at (x, y) of the zoned symbol: light in the quiet zone. */
static int dark(const unsigned char *m, int width, int x, int y)
{
	x -= QR_QUIET_ZONE;
	y -= QR_QUIET_ZONE;
	if (x < 0 || y < 0 || x >= width || y >= width)
		return 0;
	return m[y * width + x] & 1;
}

/* Two module rows per text line: the foreground paints dark halves. */
static void render_half(FILE *out, const unsigned char *m, int width)
{
	static const char *const glyph[4] = {" ", BLOCK_LOWER, BLOCK_UPPER,
	                                     BLOCK_FULL};
	int size = width + 2 * QR_QUIET_ZONE, x, y;

	for (y = 0; y < size; y += 2) {
		fputs(ANSI_FG_BLACK_BG_WHITE, out);
		for (x = 0; x < size; x++)
			fputs(glyph[dark(m, width, x, y) << 1 |
			            dark(m, width, x, y + 1)],
			      out);
		fputs(ANSI_RESET "\n", out);
	}
}

/* Two spaces per module, so modules come out roughly square. */
static void render_wide(FILE *out, const unsigned char *m, int width)
{
	int size = width + 2 * QR_QUIET_ZONE, x, y, d, prev;

	for (y = 0; y < size; y++) {
		prev = -1;
		for (x = 0; x < size; x++) {
			d = dark(m, width, x, y);
			if (d != prev)
				fputs(d ? ANSI_BG_BLACK : ANSI_BG_WHITE, out);
			fputs("  ", out);
			prev = d;
		}
		fputs(ANSI_RESET "\n", out);
	}
}

int qr_render(FILE *out, const unsigned char *modules, int width,
              enum qr_style style)
{
	if (style == QR_STYLE_HALF)
		render_half(out, modules, width);
	else
		render_wide(out, modules, width);
	return fflush(out) != 0 || ferror(out) ? PG_ERR_IO : 0;
}

int qr_print(FILE *out, const char *text, enum qr_style style)
{
	QRcode *qr;
	int rc;

	/* Version 0: the smallest symbol that holds the text. */
	qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (qr == NULL)
		return errno == ERANGE   ? PG_ERR_TOOLONG
		       : errno == ENOMEM ? PG_ERR_NOMEM
		                         : PG_ERR_INVAL;
	rc = qr_render(out, qr->data, qr->width, style);
	secret_wipe(qr->data, (size_t)qr->width * (size_t)qr->width);
	QRcode_free(qr);
	return rc;
}
