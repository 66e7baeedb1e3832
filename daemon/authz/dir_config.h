/* SPDX-License-Identifier: BSD-3-Clause */
/* Settings of phiguardd's directory client: defaults, built from the
 * parsed [ldap] section, and the checks a whole configuration must pass. */
#ifndef PHIGUARD_DAEMON_DIR_CONFIG_H
#define PHIGUARD_DAEMON_DIR_CONFIG_H

#include <stddef.h>

#include "conf.h"

#define DIR_MAX_URIS  8
#define DIR_URI_MAX   256
#define DIR_DN_MAX    512
#define DIR_PATH_MAX  1024
#define DIR_ATTR_MAX  64
#define DIR_MAX_DEPTH 10
enum dir_scheme { DIR_SCHEME_LDAP, DIR_SCHEME_LDAPS, DIR_SCHEME_LDAPI };

/*
 * Everything the client needs, by value (no pointers to free): the [ldap]
 * section of phiguard.conf as dir_config_from_conf() takes it, and what
 * the daemon (or a test) sets directly. Defaults in the comments.
 */
struct dir_config {
	char uris[DIR_MAX_URIS][DIR_URI_MAX]; /* failover order; required */
	size_t nuris;
	char base_dn[DIR_DN_MAX];     /* required */
	char user_base[DIR_DN_MAX];   /* "" = base_dn */
	char group_base[DIR_DN_MAX];  /* "" = base_dn */
	char user_attr[DIR_ATTR_MAX]; /* "uid" */
	char bind_dn[DIR_DN_MAX];     /* "" = no simple bind */
	/* Password for bind_dn, read at each bind and wiped right after.
	 * Must be a regular file owned as the two fields below say, with no
	 * group/other bits; a trailing newline is ignored. */
	char bind_password_file[DIR_PATH_MAX];
	/* Its owner (set directly, not from the file; see runas.h): the
	 * effective uid at each reading if password_owner < 0 (the default),
	 * else that uid, or root as well if password_root_too. */
	long password_owner;
	int password_root_too;
	int sasl_external;             /* 0; needs every URI to be ldapi:// */
	int starttls;                  /* 0; applies to ldap:// URIs only */
	char tls_cacert[DIR_PATH_MAX]; /* "" = libldap's default trust */
	enum conf_reqcert tls_reqcert; /* demand */
	long network_timeout_ms;       /* 2000: connect and TLS handshake */
	long search_timeout_ms;        /* 2000: each bind, StartTLS, search */
	long nesting_depth;            /* 3; 0 = no search for parent groups */
	enum conf_membership membership; /* auto */
	long retry_min_ms; /* 1000: first backoff of a failed server */
	long retry_max_ms; /* 60000: backoff ceiling */
};

/* Fill *cfg with the defaults (no URI, no base DN). */
void dir_config_defaults(struct dir_config *cfg);

/*
 * Fill *cfg from the parsed [ldap] keys of conf (conf.h; uri split at
 * blanks, base into base_dn), the rest at their defaults. Returns 0, or
 * PG_ERR_CONFIG with "uri: reason" in err (errlen bytes) for a list of
 * none, too many or too long URIs. Check the result with
 * dir_config_check().
 */
int dir_config_from_conf(struct dir_config *cfg, const struct pg_conf *conf,
                         char *err, size_t errlen);

/*
 * Check a whole configuration: at least one URI, each ldap://, ldaps:// or
 * ldapi:// and parseable; base DNs and bind_dn valid DNs; bind_dn and
 * bind_password_file together or neither; sasl_external alone and only
 * with ldapi:// URIs; user_attr an attribute name; numbers in range;
 * tls_cacert readable; the password file (if any) readable as
 * dir_config_read_password() reads it (the copy is wiped at once). Returns
 * 0 or PG_ERR_CONFIG with the reason in err (or PG_ERR_NOMEM).
 */
int dir_config_check(const struct dir_config *cfg, char *err, size_t errlen);

/*
 * Whether a hung server leaves a client that waits limit_ms (the PAM
 * module's default daemon_timeout) time for the next server's answer: one
 * server costs a lookup at most network_timeout_ms + search_timeout_ms
 * (directory.h). Returns 0 if that is below limit_ms; else 1, with a
 * warning for the log in msg (msglen bytes) naming both values, the limit
 * and what to change. A warning, not an error: the module may be given a
 * longer daemon_timeout= that the daemon cannot see.
 */
int dir_config_fits(const struct dir_config *cfg, long limit_ms, char *msg,
                    size_t msglen);

/* The scheme of uri; 0, or -1 if it is not an LDAP URL of these three. */
int dir_config_scheme(const char *uri, enum dir_scheme *out);

/*
 * Read bind_password_file with the checks dir_config_check() applies, for
 * one bind. On success *pw is the password without trailing CR/LF, NUL-
 * terminated, owned by the caller, to be wiped and freed with
 * secret_strfree() as soon as the bind is sent. A missing or unsafe file,
 * an empty password (RFC 4513 would make that an anonymous bind) or a NUL
 * byte in it: PG_ERR_CONFIG with the reason in err. Also PG_ERR_NOMEM.
 */
int dir_config_read_password(const struct dir_config *cfg, char **pw, char *err,
                             size_t errlen);

#endif
