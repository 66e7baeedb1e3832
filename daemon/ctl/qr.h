/* SPDX-License-Identifier: BSD-3-Clause */
/* QR codes in the terminal (libqrencode), so an enrollment URI can be
 * scanned straight off an admin's screen. */
#ifndef PHIGUARD_CTL_QR_H
#define PHIGUARD_CTL_QR_H

#include <stdio.h>

/* Modules of blank margin around the symbol (the quiet zone ISO 18004
 * requires). */
#define QR_QUIET_ZONE 4

enum qr_style {
	QR_STYLE_HALF = 0, /* UTF-8 half blocks: one character per module
	                      column, two module rows per text line */
	QR_STYLE_WIDE,     /* two coloured spaces per module: plain ASCII,
	                      for terminals without UTF-8; twice as wide */
};

/*
 * Render a symbol of width x width modules (modules[y * width + x], bit 0
 * set = dark) with the quiet zone. Dark and light are both painted with
 * explicit ANSI colours (black on white), so the code scans the same on a
 * dark or a light terminal. Returns 0, or PG_ERR_IO if writing failed.
 */
int qr_render(FILE *out, const unsigned char *modules, int width,
              enum qr_style style);

/*
 * Encode text (8-bit mode, error correction M) and render it to out.
 * The symbol encodes text, which may be a secret: it is wiped before it
 * is freed. Returns 0, PG_ERR_TOOLONG (too long for a QR code),
 * PG_ERR_NOMEM, PG_ERR_INVAL or PG_ERR_IO.
 */
int qr_print(FILE *out, const char *text, enum qr_style style);

#endif
