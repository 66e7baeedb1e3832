/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A bounded string builder over a caller's buffer, and the one escaping
 * rule of each text output: key=value for syslog lines, JSON strings.
 *
 * Every append is all or nothing: a piece that does not fit (with room
 * left for the NUL) is not written, the builder remembers the overflow and
 * every later append is dropped too. So the buffer always holds a
 * NUL-terminated prefix of whole pieces, and one check at the end
 * (strbuf_finish) tells whether the text is complete. Nothing allocates.
 */
#ifndef PHIGUARD_COMMON_STRBUF_H
#define PHIGUARD_COMMON_STRBUF_H

#include <stddef.h>
#include <stdint.h>

struct strbuf {
	char *buf;
	size_t cap; /* bytes of buf, the NUL included */
	size_t len; /* bytes written, without the NUL */
	int over;   /* an append did not fit */
};

/* Start an empty text in buf of cap bytes (buf[0] = '\0'). cap 0 is an
 * overflow from the start (nothing is ever written then). */
void strbuf_init(struct strbuf *sb, char *buf, size_t cap);

/* Append n bytes of p (any bytes, NUL included). */
void strbuf_put(struct strbuf *sb, const void *p, size_t n);

/* Append the string s. */
void strbuf_puts(struct strbuf *sb, const char *s);

/* Append one byte. */
void strbuf_putc(struct strbuf *sb, char c);

/* Append v in decimal ('-' first when negative), without printf. */
void strbuf_put_u64(struct strbuf *sb, uint64_t v);
void strbuf_put_i64(struct strbuf *sb, int64_t v);

/* Append printf-style; the whole result or nothing. */
void strbuf_printf(struct strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Bytes written so far (without the NUL). */
size_t strbuf_len(const struct strbuf *sb);

/* Go back to len bytes (len <= strbuf_len), to drop a piece after all;
 * the overflow, if any, stays remembered. */
void strbuf_truncate(struct strbuf *sb, size_t len);

/* 0 when every append fitted, else PG_ERR_TOOLONG (the buffer then holds
 * the pieces that fitted before the first that did not, NUL-terminated;
 * a caller that must never show a cut text empties it). */
int strbuf_finish(const struct strbuf *sb);

/*
 * The key=value rule of syslog lines: bytes below 0x21, above 0x7e, '%',
 * '=' and '"' become %XX (upper-case hex), the rest are copied. So a value
 * never holds a blank, quote or '=' and a line splits on blanks.
 * strbuf_kv_escape appends n bytes of s escaped; strbuf_kv appends
 * " key=value" with at most max bytes of val escaped, "-" when val is NULL
 * or "".
 */
void strbuf_kv_escape(struct strbuf *sb, const char *s, size_t n);
void strbuf_kv(struct strbuf *sb, const char *key, const char *val, size_t max);

/*
 * The JSON string rule: valid UTF-8 passes through; '"' and '\' are
 * backslash-escaped; bytes below 0x20 and 0x7f are \u00xx (lower-case
 * hex); each byte that is not part of a valid UTF-8 sequence becomes
 * U+FFFD, so the output is valid UTF-8 and the damage stays visible.
 * strbuf_json_escape appends s escaped, without quotes, at most max bytes
 * of output: it stops before the first character that would not fit in
 * max (that is a cut, not an overflow). strbuf_json_str appends s escaped
 * in double quotes, whole.
 */
void strbuf_json_escape(struct strbuf *sb, const char *s, size_t max);
void strbuf_json_str(struct strbuf *sb, const char *s);

#endif
