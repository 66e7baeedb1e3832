/* SPDX-License-Identifier: BSD-3-Clause */
/* The audit trail's line format: one JSON object per line with a fixed set
 * of keys in a fixed order, the last one "prev", the SHA-256 of the line
 * before. Pure functions, shared by phiguardd and phiguardctl. */
#ifndef PHIGUARD_DAEMON_AUDITFMT_H
#define PHIGUARD_DAEMON_AUDITFMT_H

#include <stddef.h>
#include <stdint.h>

/* Longest line, without its "\n". Every value is capped (below), so a
 * record always fits. */
#define AUDIT_LINE_MAX 16384
/* Escaped bytes of one string value kept (service, tty, rhost come from
 * PAM unchecked); the rest is cut at a character boundary. A list (scopes,
 * rule) keeps at most AUDIT_LIST_MAX escaped bytes of items. */
#define AUDIT_VALUE_MAX 512
#define AUDIT_LIST_MAX  4096
/* A hash as lower-case hex, and that plus the NUL. */
#define AUDIT_HEX_LEN  64
#define AUDIT_HEX_SIZE (AUDIT_HEX_LEN + 1)
/* The prev of the very first line of a trail. */
#define AUDIT_GENESIS                                                          \
	"0000000000000000000000000000000000000000000000000000000000000000"

/*
 * One event. Strings are borrowed; NULL is written as JSON null. scopes
 * and rule are lists whose items are separated by spaces or LFs (as the
 * protocol sends them) and become JSON arrays of strings.
 */
struct audit_rec {
	int64_t time_ms; /* wall clock, milliseconds since the epoch */
	const char *host;
	const char *event;
	const char *user;
	const char *service;
	const char *tty;
	const char *rhost;
	const char *factor;
	const char *decision; /* "allow", "deny" or NULL */
	const char *scopes;
	const char *reason;
	const char *rule;
	const char *source;
	long uid; /* peer uid of an admin action; -1 = null */
	/* An aggregate: this many events like it, not recorded one by one
	 * (auditagg.h); 0 = a single event, and no "count" key at all. */
	uint64_t count;
};

/*
 * The line of rec without its end: everything up to, not including,
 * ",\"prev\":...}". "count" is written only when rec->count > 0, so a
 * single event's line is the same as before aggregates existed. Writes a
 * NUL-terminated string into out (outsz >= AUDIT_LINE_MAX is always enough) and
 * its length to *outlen. Every string is JSON-escaped: '"', '\\' and bytes
 * below 0x20 and 0x7f as escapes, valid UTF-8 as is, every byte of an invalid
 * UTF-8 sequence as U+FFFD. Returns 0 or PG_ERR_TOOLONG.
 */
int auditfmt_body(const struct audit_rec *rec, char *out, size_t outsz,
                  size_t *outlen);

/*
 * Finish a body of len bytes in buf (cap bytes in all) with
 * ",\"prev\":\"<prev>\"}" and a NUL; the new length goes to *outlen.
 * Returns 0 or PG_ERR_TOOLONG.
 */
int auditfmt_close(char *buf, size_t len, size_t cap,
                   const char prev[AUDIT_HEX_SIZE], size_t *outlen);

/* ms since the epoch as "2026-11-29T00:16:00.123Z" (RFC 3339, UTC). out
 * has at least 25 bytes. Returns 0 or PG_ERR_INVAL (out of range). */
int auditfmt_time(int64_t ms, char *out, size_t outsz);

/*
 * Parse an RFC 3339 time as auditfmt_time writes it, or with seconds and
 * fraction optional, a 'T' or a space, and "Z" or +hh:mm / -hh:mm (no
 * zone: UTC); or a date alone (midnight UTC); or "@" and Unix seconds.
 * Returns 0 and *ms, or PG_ERR_INVAL.
 */
int auditfmt_parse_time(const char *s, int64_t *ms);

/* SHA-256 of len bytes at p as lower-case hex into hex. */
void auditfmt_hash(const void *p, size_t len, char hex[AUDIT_HEX_SIZE]);

/*
 * The prev of a complete line (len bytes, without "\n"): it must end in
 * ",\"prev\":\"<64 lower-case hex>\"}". Returns 0 and hex, or
 * PG_ERR_INVAL.
 */
int auditfmt_prev(const char *line, size_t len, char hex[AUDIT_HEX_SIZE]);

/* Keys of a record, in line order; AUDIT_NKEYS of them, "prev" last.
 * "count" (before "prev") is the only optional one. */
#define AUDIT_NKEYS 16
extern const char *const auditfmt_keys[AUDIT_NKEYS];

/*
 * A line parsed back (phiguardctl show, verify). Values are decoded,
 * NUL-terminated copies in the view's own storage; NULL for JSON null;
 * lists joined with single spaces; uid as its decimal text.
 */
struct audit_view {
	const char *val[AUDIT_NKEYS]; /* in auditfmt_keys order */
	char store[2 * AUDIT_LINE_MAX];
};

/*
 * Parse line (len bytes, no "\n") into *v: exactly one JSON object with
 * exactly the keys of auditfmt_keys in that order ("count" may be
 * absent: NULL then), strings (or null), arrays of strings (scopes,
 * rule) and a number or null (uid, count). Anything
 * else, invalid UTF-8 or an escape that is not JSON's included, is
 * PG_ERR_INVAL. Returns 0 or PG_ERR_INVAL.
 */
int auditfmt_parse(const char *line, size_t len, struct audit_view *v);

#endif
