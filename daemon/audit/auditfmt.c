/* SPDX-License-Identifier: BSD-3-Clause */
/* Audit lines: JSON encoding with strict UTF-8 handling, the hash link,
 * RFC 3339 times, and a strict parser for lines of exactly this shape. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "audit/auditfmt.h"
#include "err.h"
#include "strbuf.h"
#include "utf8.h"

const char *const auditfmt_keys[AUDIT_NKEYS] = {
    "time",     "host",   "event",  "user", "service", "tty", "rhost", "factor",
    "decision", "scopes", "reason", "rule", "source",  "uid", "count", "prev",
};

enum {
	K_TIME,
	K_HOST,
	K_EVENT,
	K_USER,
	K_SERVICE,
	K_TTY,
	K_RHOST,
	K_FACTOR,
	K_DECISION,
	K_SCOPES,
	K_REASON,
	K_RULE,
	K_SOURCE,
	K_UID,
	K_COUNT,
	K_PREV
};

#define PREV_TAIL_LEN (sizeof(",\"prev\":\"\"}") - 1 + AUDIT_HEX_LEN)

static void key(struct strbuf *o, int k)
{
	if (k != 0)
		strbuf_puts(o, ",");
	strbuf_puts(o, "\"");
	strbuf_puts(o, auditfmt_keys[k]);
	strbuf_puts(o, "\":");
}

static void str(struct strbuf *o, int k, const char *v)
{
	key(o, k);
	if (v == NULL) {
		strbuf_puts(o, "null");
		return;
	}
	strbuf_puts(o, "\"");
	strbuf_json_escape(o, v, AUDIT_VALUE_MAX);
	strbuf_puts(o, "\"");
}

static int is_sep(char c)
{
	return c == ' ' || c == '\n' || c == '\t';
}

/* A space- or LF-separated list as an array of strings. */
static void list(struct strbuf *o, int k, const char *v)
{
	char item[AUDIT_VALUE_MAX + 1];
	size_t start = 0, end, first = 1, budget = AUDIT_LIST_MAX, before;

	key(o, k);
	if (v == NULL) {
		strbuf_puts(o, "null");
		return;
	}
	strbuf_puts(o, "[");
	for (;;) {
		while (v[start] != '\0' && is_sep(v[start]))
			start++;
		if (v[start] == '\0')
			break;
		for (end = start; v[end] != '\0' && !is_sep(v[end]); end++)
			;
		snprintf(item, sizeof(item), "%.*s",
		         (int)(end - start < AUDIT_VALUE_MAX ? end - start
		                                             : AUDIT_VALUE_MAX),
		         v + start);
		before = strbuf_len(o);
		if (!first)
			strbuf_puts(o, ",");
		strbuf_puts(o, "\"");
		strbuf_json_escape(o, item, budget);
		strbuf_puts(o, "\"");
		if (strbuf_len(o) - before > budget) {
			/* Over the list's budget: drop this item. */
			strbuf_truncate(o, before);
			break;
		}
		budget -= strbuf_len(o) - before;
		first = 0;
		start = end;
	}
	strbuf_puts(o, "]");
}

int auditfmt_time(int64_t ms, char *out, size_t outsz)
{
	time_t t;
	struct tm tm;
	int n;

	if (ms < 0 || outsz < 25)
		return PG_ERR_INVAL;
	t = (time_t)(ms / 1000);
	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999)
		return PG_ERR_INVAL;
	n = snprintf(out, outsz, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	             tm.tm_min, tm.tm_sec, (int)(ms % 1000));
	return n == 24 ? 0 : PG_ERR_INVAL;
}

int auditfmt_body(const struct audit_rec *r, char *buf, size_t outsz,
                  size_t *outlen)
{
	struct strbuf o;
	char t[32];

	if (outsz == 0)
		return PG_ERR_TOOLONG;
	strbuf_init(&o, buf, outsz);
	if (auditfmt_time(r->time_ms, t, sizeof(t)) != 0)
		return PG_ERR_INVAL;
	strbuf_puts(&o, "{");
	str(&o, K_TIME, t);
	str(&o, K_HOST, r->host);
	str(&o, K_EVENT, r->event);
	str(&o, K_USER, r->user);
	str(&o, K_SERVICE, r->service);
	str(&o, K_TTY, r->tty);
	str(&o, K_RHOST, r->rhost);
	str(&o, K_FACTOR, r->factor);
	str(&o, K_DECISION, r->decision);
	list(&o, K_SCOPES, r->scopes);
	str(&o, K_REASON, r->reason);
	list(&o, K_RULE, r->rule);
	str(&o, K_SOURCE, r->source);
	key(&o, K_UID);
	if (r->uid < 0)
		strbuf_puts(&o, "null");
	else
		strbuf_put_i64(&o, r->uid);
	if (r->count > 0) {
		key(&o, K_COUNT);
		strbuf_put_u64(&o, r->count);
	}
	/* Room for the end must remain. */
	if (strbuf_finish(&o) != 0 || strbuf_len(&o) + PREV_TAIL_LEN >= outsz)
		return PG_ERR_TOOLONG;
	*outlen = strbuf_len(&o);
	return 0;
}

int auditfmt_close(char *buf, size_t len, size_t cap,
                   const char prev[AUDIT_HEX_SIZE], size_t *outlen)
{
	struct strbuf o;

	if (len >= cap)
		return PG_ERR_TOOLONG;
	strbuf_init(&o, buf + len, cap - len);
	strbuf_puts(&o, ",\"prev\":\"");
	strbuf_put(&o, prev, strnlen(prev, AUDIT_HEX_LEN));
	strbuf_puts(&o, "\"}");
	if (strbuf_finish(&o) != 0)
		return PG_ERR_TOOLONG;
	*outlen = len + strbuf_len(&o);
	return 0;
}

void auditfmt_hash(const void *p, size_t len, char hex[AUDIT_HEX_SIZE])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	if (EVP_Digest(p, len, md, &n, EVP_sha256(), NULL) != 1 || n != 32) {
		/* Cannot happen with a working libcrypto; a hash that
		 * matches nothing makes verify fail rather than pass. */
		memset(hex, 'x', AUDIT_HEX_LEN);
		hex[AUDIT_HEX_LEN] = '\0';
		return;
	}
	for (i = 0; i < n; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 0xf];
	}
	hex[AUDIT_HEX_LEN] = '\0';
}

static int is_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int auditfmt_prev(const char *line, size_t len, char hex[AUDIT_HEX_SIZE])
{
	static const char head[] = ",\"prev\":\"";
	const char *p;

	if (len < PREV_TAIL_LEN)
		return PG_ERR_INVAL;
	p = line + len - PREV_TAIL_LEN;
	if (memcmp(p, head, sizeof(head) - 1) != 0 ||
	    memcmp(line + len - 2, "\"}", 2) != 0 ||
	    !is_hex(p + sizeof(head) - 1, AUDIT_HEX_LEN))
		return PG_ERR_INVAL;
	memcpy(hex, p + sizeof(head) - 1, AUDIT_HEX_LEN);
	hex[AUDIT_HEX_LEN] = '\0';
	return 0;
}

/* ------------------------------------------------------------- parsing */

struct in {
	const char *s;
	size_t len, pos;
};

static int peek(const struct in *in)
{
	return in->pos < in->len ? (unsigned char)in->s[in->pos] : -1;
}

static int expect(struct in *in, const char *lit)
{
	size_t n = strlen(lit);

	if (in->len - in->pos < n || memcmp(in->s + in->pos, lit, n) != 0)
		return PG_ERR_INVAL;
	in->pos += n;
	return 0;
}

/* 1 if the input goes on with ,"name": */
static int next_key_is(const struct in *in, const char *name)
{
	size_t n = strlen(name);

	return in->len - in->pos >= n + 4 &&
	       memcmp(in->s + in->pos, ",\"", 2) == 0 &&
	       memcmp(in->s + in->pos + 2, name, n) == 0 &&
	       memcmp(in->s + in->pos + 2 + n, "\":", 2) == 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int hex4(struct in *in, unsigned *cp)
{
	int i, h;

	*cp = 0;
	if (in->len - in->pos < 4)
		return PG_ERR_INVAL;
	for (i = 0; i < 4; i++) {
		if ((h = hexval((unsigned char)in->s[in->pos + (size_t)i])) < 0)
			return PG_ERR_INVAL;
		*cp = *cp << 4 | (unsigned)h;
	}
	in->pos += 4;
	return 0;
}

static void put_cp(struct strbuf *o, unsigned cp)
{
	char b[4];

	if (cp < 0x80) {
		b[0] = (char)cp;
		strbuf_put(o, b, 1);
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		strbuf_put(o, b, 2);
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		strbuf_put(o, b, 3);
	} else {
		b[0] = (char)(0xf0 | cp >> 18);
		b[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		b[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		strbuf_put(o, b, 4);
	}
}

/* A JSON string (at the opening quote), decoded into o. */
static int parse_string(struct in *in, struct strbuf *o)
{
	unsigned cp, lo;
	size_t k;
	int c;

	if (expect(in, "\"") != 0)
		return PG_ERR_INVAL;
	for (;;) {
		if ((c = peek(in)) < 0 || c < 0x20)
			return PG_ERR_INVAL;
		if (c == '"') {
			in->pos++;
			return strbuf_finish(o) != 0 ? PG_ERR_INVAL : 0;
		}
		if (c != '\\') {
			k = utf8_seq((const unsigned char *)in->s + in->pos,
			             in->len - in->pos);
			if (k == 0)
				return PG_ERR_INVAL;
			strbuf_put(o, in->s + in->pos, k);
			in->pos += k;
			continue;
		}
		in->pos++;
		switch (c = peek(in)) {
		case '"':
		case '\\':
		case '/':
			strbuf_put(o, (const char *)&in->s[in->pos], 1);
			in->pos++;
			break;
		case 'b':
		case 'f':
		case 'n':
		case 'r':
		case 't':
			put_cp(o, c == 'b'   ? 8
			          : c == 'f' ? 12
			          : c == 'n' ? 10
			          : c == 'r' ? 13
			                     : 9);
			in->pos++;
			break;
		case 'u':
			in->pos++;
			if (hex4(in, &cp) != 0)
				return PG_ERR_INVAL;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return PG_ERR_INVAL;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (expect(in, "\\u") != 0 ||
				    hex4(in, &lo) != 0 || lo < 0xdc00 ||
				    lo > 0xdfff)
					return PG_ERR_INVAL;
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				     (lo - 0xdc00);
			}
			put_cp(o, cp);
			break;
		default:
			return PG_ERR_INVAL;
		}
	}
}

/* One value into o (NUL-terminated); *null set for JSON null. */
static int parse_value(struct in *in, int k, struct strbuf *o, int *null)
{
	int c = peek(in), n = 0;
	size_t start;

	*null = 0;
	if (c == 'n') {
		*null = 1;
		return expect(in, "null");
	}
	if (k == K_UID || k == K_COUNT) {
		/* A non-negative integer without leading zeros. */
		start = in->pos;
		while ((c = peek(in)) >= '0' && c <= '9' &&
		       n < (k == K_UID ? 10 : 20)) {
			in->pos++;
			n++;
		}
		if (n == 0 || (n > 1 && in->s[start] == '0') ||
		    (c >= '0' && c <= '9'))
			return PG_ERR_INVAL;
		strbuf_put(o, in->s + start, in->pos - start);
		return 0;
	}
	if (k == K_SCOPES || k == K_RULE) {
		if (expect(in, "[") != 0)
			return PG_ERR_INVAL;
		if (peek(in) == ']') {
			in->pos++;
			return 0;
		}
		for (;;) {
			if (n++ > 0)
				strbuf_put(o, " ", 1);
			if (parse_string(in, o) != 0)
				return PG_ERR_INVAL;
			if (peek(in) == ']') {
				in->pos++;
				return 0;
			}
			if (expect(in, ",") != 0)
				return PG_ERR_INVAL;
		}
	}
	return parse_string(in, o);
}

int auditfmt_parse(const char *line, size_t len, struct audit_view *v)
{
	struct in in = {line, len, 0};
	struct strbuf o;
	size_t start;
	int k, null;

	memset(v->val, 0, sizeof(v->val));
	strbuf_init(&o, v->store, sizeof(v->store));
	if (expect(&in, "{") != 0)
		return PG_ERR_INVAL;
	for (k = 0; k < AUDIT_NKEYS; k++) {
		/* Trails written before aggregates have no "count"; single
		 * events still have none. */
		if (k == K_COUNT && !next_key_is(&in, "count"))
			continue;
		if (k > 0 && expect(&in, ",") != 0)
			return PG_ERR_INVAL;
		if (expect(&in, "\"") != 0 ||
		    expect(&in, auditfmt_keys[k]) != 0 ||
		    expect(&in, "\":") != 0)
			return PG_ERR_INVAL;
		start = strbuf_len(&o);
		if (parse_value(&in, k, &o, &null) != 0)
			return PG_ERR_INVAL;
		/* Each value its own NUL-terminated string. */
		strbuf_put(&o, "", 1);
		if (strbuf_finish(&o) != 0)
			return PG_ERR_INVAL;
		v->val[k] = null ? NULL : v->store + start;
	}
	if (expect(&in, "}") != 0 || in.pos != in.len)
		return PG_ERR_INVAL;
	/* The fields every record has. */
	if (v->val[K_TIME] == NULL || v->val[K_EVENT] == NULL ||
	    v->val[K_PREV] == NULL)
		return PG_ERR_INVAL;
	return 0;
}

/* ------------------------------------------------------------- time */

static int digits(const char *s, int n, int *out)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int auditfmt_parse_time(const char *s, int64_t *ms)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0, fd = 0, zh, zm;
	int64_t off = 0, days;
	char *end;
	long long v;
	size_t i = 10;

	if (s[0] == '@') {
		if (s[1] < '0' || s[1] > '9')
			return PG_ERR_INVAL;
		v = strtoll(s + 1, &end, 10);
		if (*end != '\0' || v < 0 || v > 253402300799LL)
			return PG_ERR_INVAL;
		*ms = (int64_t)v * 1000;
		return 0;
	}
	if (strlen(s) < 10 || digits(s, 4, &y) || s[4] != '-' ||
	    digits(s + 5, 2, &mo) || s[7] != '-' || digits(s + 8, 2, &d) ||
	    mo < 1 || mo > 12 || d < 1 || d > 31)
		return PG_ERR_INVAL;
	if (s[i] == 'T' || s[i] == 't' || s[i] == ' ') {
		if (digits(s + 11, 2, &h) || s[13] != ':' ||
		    digits(s + 14, 2, &mi) || h > 23 || mi > 59)
			return PG_ERR_INVAL;
		i = 16;
		if (s[i] == ':') {
			if (digits(s + 17, 2, &sec) || sec > 60)
				return PG_ERR_INVAL;
			i = 19;
			if (s[i] == '.') {
				for (i++; s[i] >= '0' && s[i] <= '9'; i++)
					if (fd < 3) {
						frac = frac * 10 + (s[i] - '0');
						fd++;
					}
				if (fd == 0)
					return PG_ERR_INVAL;
				while (fd++ < 3)
					frac *= 10;
			}
		}
		if (s[i] == 'Z' || s[i] == 'z')
			i++;
		else if (s[i] == '+' || s[i] == '-') {
			if (digits(s + i + 1, 2, &zh) || s[i + 3] != ':' ||
			    digits(s + i + 4, 2, &zm) || zh > 23 || zm > 59)
				return PG_ERR_INVAL;
			off = (int64_t)(zh * 60 + zm) * 60;
			if (s[i] == '-')
				off = -off;
			i += 6;
		}
	}
	if (s[i] != '\0')
		return PG_ERR_INVAL;
	/* Days from the civil date (proleptic Gregorian), no time zone. */
	y -= mo <= 2;
	{
		int64_t era = (y >= 0 ? y : y - 399) / 400;
		int64_t yoe = y - era * 400;
		int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
		int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

		days = era * 146097 + doe - 719468;
	}
	*ms = ((days * 86400 + h * 3600 + mi * 60 + sec) - off) * 1000 + frac;
	return *ms < 0 ? PG_ERR_INVAL : 0;
}
