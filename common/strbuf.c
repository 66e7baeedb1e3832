/* SPDX-License-Identifier: BSD-3-Clause */
/* The bounded string builder and the key=value and JSON escaping rules. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "strbuf.h"
#include "utf8.h"

static const char hex_upper[] = "0123456789ABCDEF";
static const char hex_lower[] = "0123456789abcdef";

void strbuf_init(struct strbuf *sb, char *buf, size_t cap)
{
	sb->buf = buf;
	sb->cap = cap;
	sb->len = 0;
	sb->over = cap == 0;
	if (cap > 0)
		buf[0] = '\0';
}

/* Room for n more bytes and the NUL; marks the overflow when not. */
static int room(struct strbuf *sb, size_t n)
{
	if (sb->over || n >= sb->cap - sb->len) {
		sb->over = 1;
		return 0;
	}
	return 1;
}

void strbuf_put(struct strbuf *sb, const void *p, size_t n)
{
	if (!room(sb, n))
		return;
	if (n > 0)
		memcpy(sb->buf + sb->len, p, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

void strbuf_puts(struct strbuf *sb, const char *s)
{
	strbuf_put(sb, s, strlen(s));
}

void strbuf_putc(struct strbuf *sb, char c)
{
	strbuf_put(sb, &c, 1);
}

void strbuf_put_u64(struct strbuf *sb, uint64_t v)
{
	char digits[20];
	size_t i = sizeof(digits);

	do {
		digits[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	strbuf_put(sb, digits + i, sizeof(digits) - i);
}

void strbuf_put_i64(struct strbuf *sb, int64_t v)
{
	char digits[21];
	/* The magnitude in unsigned arithmetic: INT64_MIN has no positive
	 * int64_t. */
	uint64_t m = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	size_t i = sizeof(digits);

	do {
		digits[--i] = (char)('0' + m % 10);
		m /= 10;
	} while (m > 0);
	if (v < 0)
		digits[--i] = '-';
	strbuf_put(sb, digits + i, sizeof(digits) - i);
}

void strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	size_t left;
	int n;

	if (sb->over)
		return;
	left = sb->cap - sb->len;
	va_start(ap, fmt);
	n = vsnprintf(sb->buf + sb->len, left, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= left) {
		sb->over = 1;
		sb->buf[sb->len] = '\0'; /* undo the cut piece */
		return;
	}
	sb->len += (size_t)n;
}

size_t strbuf_len(const struct strbuf *sb)
{
	return sb->len;
}

void strbuf_truncate(struct strbuf *sb, size_t len)
{
	if (len > sb->len || sb->cap == 0)
		return;
	sb->len = len;
	sb->buf[len] = '\0';
}

int strbuf_finish(const struct strbuf *sb)
{
	return sb->over ? PG_ERR_TOOLONG : 0;
}

void strbuf_kv_escape(struct strbuf *sb, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	char esc[3];
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] < 0x21 || p[i] > 0x7e || p[i] == '%' || p[i] == '=' ||
		    p[i] == '"') {
			esc[0] = '%';
			esc[1] = hex_upper[p[i] >> 4];
			esc[2] = hex_upper[p[i] & 15];
			strbuf_put(sb, esc, 3);
		} else
			strbuf_putc(sb, (char)p[i]);
	}
}

void strbuf_kv(struct strbuf *sb, const char *key, const char *val, size_t max)
{
	strbuf_putc(sb, ' ');
	strbuf_puts(sb, key);
	strbuf_putc(sb, '=');
	if (val == NULL || val[0] == '\0')
		strbuf_putc(sb, '-');
	else
		strbuf_kv_escape(sb, val, strnlen(val, max));
}

void strbuf_json_escape(struct strbuf *sb, const char *s, size_t max)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, k, used = 0, replen;
	const char *rep;
	char esc[8];

	while (i < n) {
		k = utf8_seq(u + i, n - i);
		if (k == 0) {
			/* One replacement (U+FFFD) per invalid byte. */
			rep = "\xef\xbf\xbd";
			replen = 3;
			k = 1;
		} else if (u[i] == '"' || u[i] == '\\') {
			esc[0] = '\\';
			esc[1] = (char)u[i];
			rep = esc;
			replen = 2;
		} else if (u[i] < 0x20 || u[i] == 0x7f) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex_lower[u[i] >> 4];
			esc[5] = hex_lower[u[i] & 15];
			rep = esc;
			replen = 6;
		} else {
			rep = s + i;
			replen = k;
		}
		if (used + replen > max)
			break;
		strbuf_put(sb, rep, replen);
		used += replen;
		i += k;
	}
}

void strbuf_json_str(struct strbuf *sb, const char *s)
{
	strbuf_putc(sb, '"');
	strbuf_json_escape(sb, s, SIZE_MAX);
	strbuf_putc(sb, '"');
}
