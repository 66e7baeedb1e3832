/* SPDX-License-Identifier: BSD-3-Clause */
/* Error codes shared by every part of phiguard, their names on the wire, and
 * the reason text that goes with them. */
#ifndef PHIGUARD_COMMON_ERR_H
#define PHIGUARD_COMMON_ERR_H

#include <stddef.h>

/*
 * Functions return 0 on success or one of these negative values. The
 * protocol carries the same codes as short names (`ERR code=<name>`), so a
 * daemon-side error reaches the client unchanged. Append only: the names
 * are part of the wire protocol (see proto.h).
 */
enum pg_err {
	PG_OK = 0,
	PG_ERR_INTERNAL = -1, /* "internal": a bug or an impossible state */
	PG_ERR_NOMEM = -2,    /* "no-memory" */
	PG_ERR_INVAL = -3,    /* "invalid": malformed argument or field */
	PG_ERR_TOOLONG = -4, /* "too-long": line, field or value over a limit */
	PG_ERR_PROTO = -5,   /* "protocol": malformed protocol line */
	PG_ERR_IO = -6,      /* "io": read/write/fsync failed (errno saved) */
	PG_ERR_TIMEOUT = -7, /* "timeout": a bounded wait expired */
	PG_ERR_UNAVAIL = -8, /* "unavailable": daemon/service unreachable */
	PG_ERR_PERM = -9,    /* "permission": peer may not do this */
	PG_ERR_NOTFOUND = -10,    /* "not-found": no such user/token/file */
	PG_ERR_UNSAFE_FILE = -11, /* "unsafe-file": owner, mode, type or size */
	PG_ERR_CONFIG = -12,      /* "config": configuration error */
	PG_ERR_LOCKED = -13,      /* "locked": user is locked out */
	PG_ERR_REPLAY = -14,      /* "replay": TOTP step already used */
	PG_ERR_UNKNOWN_VERB = -15, /* "unknown-verb" */
	PG_ERR_BAD_USER = -16,     /* "bad-user": user name fails validation */
	PG_ERR_BUSY = -17,         /* "busy": too many clients / requests */
	PG_ERR_VERSION = -18,      /* "version": unsupported protocol version */
	PG_ERR_MISSING = -19, /* "missing-field": a required key is absent */
	PG_ERR_AUTH = -20,    /* "auth-failed": wrong code / factor failed */
	PG_ERR_CRED = -21,    /* "credentials": daemon peer not trusted */
	PG_ERR_AMBIGUOUS =
	    -22, /* "ambiguous": a name matches several entries */
	PG_ERR_LAST = -22
};

/* Human-readable text for an error; never NULL. */
const char *pg_strerror(int err);

/* Wire name of an error ("unknown-verb"); never NULL ("internal" if unknown).
 */
const char *pg_err_name(int err);

/* Reverse of pg_err_name(); PG_ERR_INTERNAL for an unknown name. */
int pg_err_from_name(const char *name);

/* printf a one-line reason into the caller's err buffer of errlen bytes
 * (truncated, NUL-terminated); nothing if err is NULL or errlen is 0. */
void pg_err_set(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
