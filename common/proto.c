/* SPDX-License-Identifier: BSD-3-Clause */
/* Parsing and formatting of phiguard protocol lines, as specified in
 * proto.h. */
#include "config.h"

#include <string.h>

#include "err.h"
#include "proto.h"
#include "secret.h"
#include "strbuf.h"

static const char *const verb_names[] = {
    [PG_VERB_UNKNOWN] = NULL,      [PG_VERB_OK] = "OK",
    [PG_VERB_ERR] = "ERR",         [PG_VERB_PREAUTH] = "PREAUTH",
    [PG_VERB_CLAIM] = "CLAIM",     [PG_VERB_REPORT] = "REPORT",
    [PG_VERB_STATUS] = "STATUS",   [PG_VERB_UNLOCK] = "UNLOCK",
    [PG_VERB_AUTHZ] = "AUTHZ",     [PG_VERB_CHECK] = "CHECK",
    [PG_VERB_SESSION] = "SESSION", [PG_VERB_EXPLAIN] = "EXPLAIN",
    [PG_VERB_FLUSH] = "FLUSH",     [PG_VERB_RELOAD] = "RELOAD",
    [PG_VERB_AUDIT] = "AUDIT",
};

#define N_VERBS (sizeof(verb_names) / sizeof(verb_names[0]))

static const char hexdigits[] = "0123456789ABCDEF";

const char *proto_verb_name(enum pg_verb verb)
{
	if ((size_t)verb >= N_VERBS)
		return NULL;
	return verb_names[verb];
}

enum pg_verb proto_verb_from_name(const char *name)
{
	size_t i;

	if (name == NULL)
		return PG_VERB_UNKNOWN;
	/* OK and ERR map too: deciding that a response verb is not a valid
	 * request is the dispatcher's job, not the parser's. */
	for (i = 1; i < N_VERBS; i++)
		if (verb_names[i][0] == name[0] &&
		    strcmp(verb_names[i], name) == 0)
			return (enum pg_verb)i;
	return PG_VERB_UNKNOWN;
}

/* Bytes that may not appear literally in a value (proto.h, LINES). */
static int needs_escape(unsigned char c)
{
	return c < 0x21 || c == '%' || c == '=' || c == 0x7f;
}

static size_t encoded_len(const char *v, size_t vlen)
{
	size_t i, n = 0;

	for (i = 0; i < vlen; i++)
		n += needs_escape((unsigned char)v[i]) ? 3 : 1;
	return n;
}

static int key_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

static int key_valid(const char *key, size_t klen)
{
	size_t i;

	if (klen == 0 || klen > PG_PROTO_MAX_KEY)
		return 0;
	for (i = 0; i < klen; i++)
		if (!key_char((unsigned char)key[i]))
			return 0;
	return 1;
}

static int verb_valid(const char *verb, size_t vlen)
{
	size_t i;

	if (vlen == 0 || vlen > PG_PROTO_MAX_VERB)
		return 0;
	for (i = 0; i < vlen; i++)
		if (verb[i] < 'A' || verb[i] > 'Z')
			return 0;
	return 1;
}

/* The verb as it goes on the wire: the table name for a known verb, else
 * the name a parsed unknown verb arrived with. */
static const char *wire_verb(const struct pg_msg *msg)
{
	const char *name = proto_verb_name(msg->verb);

	return name != NULL ? name : msg->verb_name;
}

/* Length of the encoded line including "\n", for the limit checks. */
static size_t msg_line_len(const struct pg_msg *msg)
{
	size_t i, n;

	n = strlen(PG_PROTO_VERSION) + 1 + strlen(wire_verb(msg)) + 1;
	for (i = 0; i < msg->nfields; i++)
		n += 1 + strlen(msg->fields[i].key) + 1 +
		     encoded_len(msg->fields[i].value,
		                 strlen(msg->fields[i].value));
	return n;
}

void proto_msg_init(struct pg_msg *msg, enum pg_verb verb)
{
	const char *name = proto_verb_name(verb);
	/* Every table name fits verb_name (PG_PROTO_MAX_VERB). */
	size_t n = name != NULL ? strlen(name) : 0;

	msg->verb = verb;
	memcpy(msg->verb_name, name != NULL ? name : "", n);
	msg->verb_name[n] = '\0';
	msg->nfields = 0;
	msg->used = 0;
}

void proto_msg_clear(struct pg_msg *msg)
{
	secret_wipe(msg, sizeof(*msg));
	proto_msg_init(msg, PG_VERB_UNKNOWN);
}

/*
 * A key given twice is refused rather than resolved (first or last wins):
 * with two user= values, the daemon and whoever reads the log could each
 * believe a different one.
 */
static int has_key(const struct pg_msg *msg, const char *key, size_t klen)
{
	size_t i;

	/* The first byte first: most keys differ there (so in proto_get). */
	for (i = 0; i < msg->nfields; i++)
		if (msg->fields[i].key[0] == key[0] &&
		    strncmp(msg->fields[i].key, key, klen) == 0 &&
		    msg->fields[i].key[klen] == '\0')
			return 1;
	return 0;
}

/* Append a field to storage; the caller has checked key and limits. */
static int store_field(struct pg_msg *msg, const char *key, size_t klen,
                       const char *value, size_t vlen)
{
	char *k, *v;

	if (msg->nfields >= PG_PROTO_MAX_FIELDS)
		return PG_ERR_TOOLONG;
	if (klen + vlen + 2 > sizeof(msg->buf) - msg->used)
		return PG_ERR_TOOLONG;
	k = msg->buf + msg->used;
	memcpy(k, key, klen);
	k[klen] = '\0';
	v = k + klen + 1;
	memcpy(v, value, vlen);
	v[vlen] = '\0';
	msg->used += klen + vlen + 2;
	msg->fields[msg->nfields].key = k;
	msg->fields[msg->nfields].value = v;
	msg->nfields++;
	return 0;
}

static int add_n(struct pg_msg *msg, const char *key, const char *value,
                 size_t vlen)
{
	size_t klen;

	if (key == NULL || value == NULL)
		return PG_ERR_INVAL;
	klen = strlen(key);
	if (!key_valid(key, klen) || has_key(msg, key, klen))
		return PG_ERR_INVAL;
	if (msg->nfields >= PG_PROTO_MAX_FIELDS)
		return PG_ERR_TOOLONG;
	if (msg_line_len(msg) + 2 + klen + encoded_len(value, vlen) >
	    PG_PROTO_MAX_LINE)
		return PG_ERR_TOOLONG;
	return store_field(msg, key, klen, value, vlen);
}

int proto_add(struct pg_msg *msg, const char *key, const char *value)
{
	if (value == NULL)
		return PG_ERR_INVAL;
	return add_n(msg, key, value, strlen(value));
}

/* Numbers are written by strbuf (no printf on an answer's path); 24
 * bytes hold any 64-bit value and its sign. */
int proto_add_u64(struct pg_msg *msg, const char *key, uint64_t value)
{
	char num[24];
	struct strbuf sb;

	strbuf_init(&sb, num, sizeof(num));
	strbuf_put_u64(&sb, value);
	return add_n(msg, key, num, strbuf_len(&sb));
}

int proto_add_i64(struct pg_msg *msg, const char *key, int64_t value)
{
	char num[24];
	struct strbuf sb;

	strbuf_init(&sb, num, sizeof(num));
	strbuf_put_i64(&sb, value);
	return add_n(msg, key, num, strbuf_len(&sb));
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Decode one "key=value" token of tlen bytes into the message. Strict on
 * purpose: a byte that should have been escaped is malformed rather than
 * tolerated, so that what we accept is exactly what proto_format writes.
 */
static int parse_field(struct pg_msg *msg, const char *tok, size_t tlen)
{
	const char *eq = memchr(tok, '=', tlen);
	const unsigned char *raw;
	size_t klen, rlen, i, n = 0;
	char *dst;
	int hi, lo;

	if (eq == NULL)
		return PG_ERR_PROTO;
	klen = (size_t)(eq - tok);
	if (!key_valid(tok, klen) || has_key(msg, tok, klen))
		return PG_ERR_PROTO;
	/* Too many fields is a malformed line, not an over-long one: the
	 * stream is still in sync, so the connection need not be closed. */
	if (msg->nfields >= PG_PROTO_MAX_FIELDS)
		return PG_ERR_PROTO;
	raw = (const unsigned char *)eq + 1;
	rlen = tlen - klen - 1;
	/* Decoding only shrinks, so the raw length bounds the storage. */
	if (klen + rlen + 2 > sizeof(msg->buf) - msg->used)
		return PG_ERR_TOOLONG;
	memcpy(msg->buf + msg->used, tok, klen);
	msg->buf[msg->used + klen] = '\0';
	dst = msg->buf + msg->used + klen + 1;
	for (i = 0; i < rlen; i++) {
		if (raw[i] == '%') {
			if (rlen - i < 3)
				return PG_ERR_PROTO;
			hi = hexval(raw[i + 1]);
			lo = hexval(raw[i + 2]);
			/* %00 would silently cut the C string short. */
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return PG_ERR_PROTO;
			dst[n++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (needs_escape(raw[i])) {
			return PG_ERR_PROTO;
		} else {
			dst[n++] = (char)raw[i];
		}
	}
	dst[n] = '\0';
	msg->fields[msg->nfields].key = msg->buf + msg->used;
	msg->fields[msg->nfields].value = dst;
	msg->nfields++;
	msg->used += klen + n + 2;
	return 0;
}

int proto_parse(const char *line, size_t len, struct pg_msg *msg)
{
	int rc = PG_ERR_PROTO;
	const char *p, *end, *sp;
	size_t tlen;

	proto_msg_init(msg, PG_VERB_UNKNOWN);
	if (line == NULL)
		goto out;
	if (len > 0 && line[len - 1] == '\n')
		len--;
	/* The limit counts the "\n", present or not. */
	if (len > PG_PROTO_MAX_LINE - 1) {
		rc = PG_ERR_TOOLONG;
		goto out;
	}
	if (memchr(line, '\n', len) != NULL || memchr(line, '\0', len) != NULL)
		goto out;
	end = line + len;

	/* The version comes first and is checked before anything else, so a
	 * newer client gets ERR code=version rather than a protocol error
	 * about whatever syntax its version introduced. */
	sp = memchr(line, ' ', len);
	tlen = (size_t)((sp != NULL ? sp : end) - line);
	if (tlen == 0)
		goto out;
	if (tlen != strlen(PG_PROTO_VERSION) ||
	    memcmp(line, PG_PROTO_VERSION, tlen) != 0) {
		rc = PG_ERR_VERSION;
		goto out;
	}
	if (sp == NULL)
		goto out;

	p = sp + 1;
	sp = memchr(p, ' ', (size_t)(end - p));
	tlen = (size_t)((sp != NULL ? sp : end) - p);
	if (!verb_valid(p, tlen))
		goto out;
	memcpy(msg->verb_name, p, tlen);
	msg->verb_name[tlen] = '\0';
	msg->verb = proto_verb_from_name(msg->verb_name);

	while (sp != NULL) {
		p = sp + 1;
		sp = memchr(p, ' ', (size_t)(end - p));
		tlen = (size_t)((sp != NULL ? sp : end) - p);
		/* An empty token means a doubled, leading or trailing space. */
		if (tlen == 0)
			goto out;
		if ((rc = parse_field(msg, p, tlen)) != 0)
			goto out;
		rc = PG_ERR_PROTO;
	}
	rc = 0;
out:
	if (rc != 0)
		proto_msg_clear(msg);
	return rc;
}

int proto_format(const struct pg_msg *msg, char *out, size_t outsz,
                 size_t *outlen)
{
	int rc = PG_ERR_INVAL;
	const char *verb = wire_verb(msg);
	size_t pos = 0, need, i, j, klen, vlen;
	const unsigned char *v;

	if (!verb_valid(verb, strlen(verb)))
		goto out;
	for (i = 0; i < msg->nfields; i++)
		if (!key_valid(msg->fields[i].key, strlen(msg->fields[i].key)))
			goto out;
	need = msg_line_len(msg);
	rc = PG_ERR_TOOLONG;
	if (need > PG_PROTO_MAX_LINE || need + 1 > outsz)
		goto out;

	/* Copies, not printf: this is every answer's path (need, checked
	 * above, bounds every byte written). */
	pos = strlen(PG_PROTO_VERSION " ");
	memcpy(out, PG_PROTO_VERSION " ", pos);
	klen = strlen(verb);
	memcpy(out + pos, verb, klen);
	pos += klen;
	for (i = 0; i < msg->nfields; i++) {
		klen = strlen(msg->fields[i].key);
		out[pos++] = ' ';
		memcpy(out + pos, msg->fields[i].key, klen);
		pos += klen;
		out[pos++] = '=';
		v = (const unsigned char *)msg->fields[i].value;
		vlen = strlen(msg->fields[i].value);
		for (j = 0; j < vlen; j++) {
			if (needs_escape(v[j])) {
				out[pos++] = '%';
				out[pos++] = hexdigits[v[j] >> 4];
				out[pos++] = hexdigits[v[j] & 0x0f];
			} else {
				out[pos++] = (char)v[j];
			}
		}
	}
	out[pos++] = '\n';
	out[pos] = '\0';
	*outlen = pos;
	rc = 0;
out:
	return rc;
}

size_t proto_item_len(const char *item)
{
	size_t len = strnlen(item, PG_PROTO_MAX_ITEM + 1), i;

	if (len <= PG_PROTO_MAX_ITEM)
		return len;
	/* item[PG_PROTO_MAX_ITEM] is the first byte dropped. If it continues
	 * a UTF-8 character, that character starts at most three before. */
	for (i = 0; i < 4; i++)
		if (((unsigned char)item[PG_PROTO_MAX_ITEM - i] & 0xc0) != 0x80)
			return PG_PROTO_MAX_ITEM - i;
	return PG_PROTO_MAX_ITEM;
}

const char *proto_get(const struct pg_msg *msg, const char *key)
{
	size_t i;

	if (key == NULL)
		return NULL;
	for (i = 0; i < msg->nfields; i++)
		if (msg->fields[i].key[0] == key[0] &&
		    strcmp(msg->fields[i].key, key) == 0)
			return msg->fields[i].value;
	return NULL;
}

int proto_get_u64(const struct pg_msg *msg, const char *key, uint64_t max,
                  uint64_t *out)
{
	const char *v = proto_get(msg, key);
	uint64_t n = 0;
	unsigned d;

	if (v == NULL)
		return PG_ERR_MISSING;
	if (*v == '\0')
		return PG_ERR_INVAL;
	/* By hand rather than strtoull: that accepts signs, spaces, and
	 * wraps "-1" to UINT64_MAX. */
	for (; *v != '\0'; v++) {
		if (*v < '0' || *v > '9')
			return PG_ERR_INVAL;
		d = (unsigned)(*v - '0');
		if (n > (UINT64_MAX - d) / 10)
			return PG_ERR_INVAL;
		n = n * 10 + d;
	}
	if (n > max)
		return PG_ERR_INVAL;
	*out = n;
	return 0;
}

void proto_make_error(struct pg_msg *msg, int err, const char *text)
{
	size_t budget, cost, n, c;
	const unsigned char *t = (const unsigned char *)text;

	if (err >= 0 || err < PG_ERR_LAST)
		err = PG_ERR_INTERNAL;
	proto_msg_init(msg, PG_VERB_ERR);
	/* Cannot fail: an empty ERR message has room for any code name. */
	add_n(msg, "code", pg_err_name(err), strlen(pg_err_name(err)));
	if (text == NULL)
		return;
	budget = PG_PROTO_MAX_LINE - msg_line_len(msg) - strlen(" msg=");
	for (n = 0, cost = 0; t[n] != '\0'; n++) {
		c = needs_escape(t[n]) ? 3 : 1;
		if (cost + c > budget)
			break;
		cost += c;
	}
	/* When truncating, do not cut a UTF-8 sequence in half. */
	if (t[n] != '\0')
		while (n > 0 && (t[n] & 0xc0) == 0x80)
			n--;
	add_n(msg, "msg", text, n);
}

int proto_response_status(const struct pg_msg *msg)
{
	const char *code;

	if (msg->verb == PG_VERB_OK)
		return 0;
	if (msg->verb != PG_VERB_ERR)
		return PG_ERR_PROTO;
	code = proto_get(msg, "code");
	if (code == NULL)
		return PG_ERR_PROTO;
	return pg_err_from_name(code);
}
