/* SPDX-License-Identifier: BSD-3-Clause */
/* Stripping terminal control from provider text: a small state machine over
 * decoded code points. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "sanitize.h"

#define ESC 0x1b
#define BEL 0x07
#define BAD 0xfffffffful /* an invalid sequence, shown as '?' */

/* Where we are in an escape sequence. */
enum esc_state {
	ST_TEXT,   /* ordinary text */
	ST_ESC,    /* after ESC (or its intermediates) */
	ST_CSI,    /* in a CSI: parameters until a final byte */
	ST_STRING, /* in OSC/DCS/SOS/PM/APC until BEL or ST */
	ST_STR_ESC /* ESC inside a string: '\' ends it */
};

/*
 * Decode one UTF-8 character at in[*i] (n bytes in all); advance *i.
 * Returns the code point, or BAD (advancing one byte) for anything
 * invalid.
 */
static uint32_t next_cp(const unsigned char *in, size_t n, size_t *i)
{
	unsigned char b = in[*i];
	uint32_t cp, min;
	size_t len, k;

	if (b < 0x80) {
		(*i)++;
		return b;
	}
	if (b >= 0xc2 && b <= 0xdf) {
		len = 2;
		cp = b & 0x1f;
		min = 0x80;
	} else if (b >= 0xe0 && b <= 0xef) {
		len = 3;
		cp = b & 0x0f;
		min = 0x800;
	} else if (b >= 0xf0 && b <= 0xf4) {
		len = 4;
		cp = b & 0x07;
		min = 0x10000;
	} else {
		(*i)++;
		return BAD;
	}
	if (n - *i < len) {
		(*i)++;
		return BAD;
	}
	for (k = 1; k < len; k++) {
		if ((in[*i + k] & 0xc0) != 0x80) {
			(*i)++;
			return BAD;
		}
		cp = (cp << 6) | (in[*i + k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
		(*i)++;
		return BAD;
	}
	*i += len;
	return cp;
}

static int is_bidi_control(uint32_t cp)
{
	return (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e || cp == 0x200f ||
	       cp == 0x061c;
}

/* Append the UTF-8 form of cp if it fits whole; returns 0 if not. */
static int put_cp(char *out, size_t outsz, size_t *o, uint32_t cp)
{
	unsigned char buf[4];
	size_t len;

	if (cp < 0x80) {
		buf[0] = (unsigned char)cp;
		len = 1;
	} else if (cp < 0x800) {
		buf[0] = (unsigned char)(0xc0 | (cp >> 6));
		buf[1] = (unsigned char)(0x80 | (cp & 0x3f));
		len = 2;
	} else if (cp < 0x10000) {
		buf[0] = (unsigned char)(0xe0 | (cp >> 12));
		buf[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		buf[2] = (unsigned char)(0x80 | (cp & 0x3f));
		len = 3;
	} else {
		buf[0] = (unsigned char)(0xf0 | (cp >> 18));
		buf[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		buf[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		buf[3] = (unsigned char)(0x80 | (cp & 0x3f));
		len = 4;
	}
	if (outsz - 1 - *o < len)
		return 0;
	memcpy(out + *o, buf, len);
	*o += len;
	return 1;
}

/* One code point in ST_TEXT: what to do with it. */
static enum esc_state text_cp(uint32_t cp, uint32_t *emit)
{
	*emit = 0;
	if (cp == ESC)
		return ST_ESC;
	if (cp == 0x9b) /* 8-bit CSI */
		return ST_CSI;
	if (cp == 0x9d || cp == 0x90 || cp == 0x98 || cp == 0x9e ||
	    cp == 0x9f) /* 8-bit OSC, DCS, SOS, PM, APC */
		return ST_STRING;
	if (cp == '\t' || cp == '\n' || cp == '\r')
		*emit = ' ';
	else if (cp == BAD)
		*emit = '?';
	else if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || is_bidi_control(cp))
		*emit = 0;
	else
		*emit = cp;
	return ST_TEXT;
}

size_t sanitize_text(const char *in, size_t inlen, char *out, size_t outsz)
{
	const unsigned char *u = (const unsigned char *)in;
	enum esc_state st = ST_TEXT;
	size_t i = 0, o = 0;
	uint32_t cp, emit;
	int space = 0;

	if (outsz == 0)
		return 0;
	while (i < inlen) {
		cp = next_cp(u, inlen, &i);
		switch (st) {
		case ST_TEXT:
			st = text_cp(cp, &emit);
			if (emit == 0)
				break;
			if (emit == ' ') {
				space = 1;
				break;
			}
			if (space && o > 0 && !put_cp(out, outsz, &o, ' '))
				goto full;
			space = 0;
			if (!put_cp(out, outsz, &o, emit))
				goto full;
			break;
		case ST_ESC:
			if (cp == '[')
				st = ST_CSI;
			else if (cp == ']' || cp == 'P' || cp == 'X' ||
			         cp == '^' || cp == '_')
				st = ST_STRING;
			else if (cp >= 0x20 && cp <= 0x2f)
				st = ST_ESC; /* intermediate byte */
			else
				st = ST_TEXT; /* final byte (or junk): gone */
			break;
		case ST_CSI:
			/* Parameters and intermediates are 0x20..0x3f; the
			 * final byte 0x40..0x7e ends the sequence. Anything
			 * else also ends it, and is dropped with it. */
			if (cp < 0x20 || cp > 0x3f)
				st = ST_TEXT;
			break;
		case ST_STRING:
			if (cp == BEL || cp == 0x9c)
				st = ST_TEXT;
			else if (cp == ESC)
				st = ST_STR_ESC;
			break;
		case ST_STR_ESC:
			st = cp == '\\' ? ST_TEXT : ST_STRING;
			break;
		}
	}
full:
	out[o] = '\0';
	return o;
}
