/* SPDX-License-Identifier: BSD-3-Clause */
/* Error codes: one table gives both the wire name and the human text. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

struct err_entry {
	int code;
	const char *name; /* wire name: part of the protocol, never change */
	const char *text;
};

/* Indexed by -code, so lookups by code need no search. */
static const struct err_entry err_table[] = {
    {PG_OK, "ok", "success"},
    {PG_ERR_INTERNAL, "internal", "internal error"},
    {PG_ERR_NOMEM, "no-memory", "out of memory"},
    {PG_ERR_INVAL, "invalid", "invalid argument"},
    {PG_ERR_TOOLONG, "too-long", "line, field or value too long"},
    {PG_ERR_PROTO, "protocol", "malformed protocol line"},
    {PG_ERR_IO, "io", "input/output error"},
    {PG_ERR_TIMEOUT, "timeout", "timed out"},
    {PG_ERR_UNAVAIL, "unavailable", "daemon or service unavailable"},
    {PG_ERR_PERM, "permission", "permission denied"},
    {PG_ERR_NOTFOUND, "not-found", "not found"},
    {PG_ERR_UNSAFE_FILE, "unsafe-file", "unsafe file owner, mode or type"},
    {PG_ERR_CONFIG, "config", "configuration error"},
    {PG_ERR_LOCKED, "locked", "user is locked out"},
    {PG_ERR_REPLAY, "replay", "code already used"},
    {PG_ERR_UNKNOWN_VERB, "unknown-verb", "unknown verb"},
    {PG_ERR_BAD_USER, "bad-user", "invalid user name"},
    {PG_ERR_BUSY, "busy", "too many clients or requests"},
    {PG_ERR_VERSION, "version", "unsupported protocol version"},
    {PG_ERR_MISSING, "missing-field", "required field missing"},
    {PG_ERR_AUTH, "auth-failed", "authentication failed"},
    {PG_ERR_CRED, "credentials", "daemon peer not trusted"},
    {PG_ERR_AMBIGUOUS, "ambiguous", "name matches more than one entry"},
};

#define ERR_TABLE_LEN (sizeof(err_table) / sizeof(err_table[0]))

/* The table must cover exactly 0..PG_ERR_LAST, in order. */
_Static_assert(ERR_TABLE_LEN == (size_t)(-PG_ERR_LAST) + 1,
               "err_table out of step with enum pg_err");

static const struct err_entry *err_lookup(int err)
{
	if (err > 0 || err < PG_ERR_LAST)
		return NULL;
	return &err_table[-err];
}

const char *pg_strerror(int err)
{
	const struct err_entry *e = err_lookup(err);

	return e ? e->text : "unknown error";
}

const char *pg_err_name(int err)
{
	const struct err_entry *e = err_lookup(err);

	return e ? e->name : "internal";
}

int pg_err_from_name(const char *name)
{
	size_t i;

	if (name == NULL)
		return PG_ERR_INTERNAL;
	/* Skip "ok": it is not an error a peer can send in ERR code=. */
	for (i = 1; i < ERR_TABLE_LEN; i++)
		if (strcmp(err_table[i].name, name) == 0)
			return err_table[i].code;
	return PG_ERR_INTERNAL;
}

void pg_err_set(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}
