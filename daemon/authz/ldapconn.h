/* SPDX-License-Identifier: BSD-3-Clause */
/* One bounded LDAP connection to one server of a dir_config: every option
 * set, TLS (ldaps:// or StartTLS) under the handshake watchdog, bound as
 * configured. Shared by the authorization client (directory.c) and the
 * token store (daemon/tokens), each on connections of its own. */
#ifndef PHIGUARD_DAEMON_LDAPCONN_H
#define PHIGUARD_DAEMON_LDAPCONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#include <ldap.h>

#include "authz/dir_config.h"
#include "authz/sockguard.h"

/* One server. libldap keeps a pointer to cb, so the struct must not move
 * while a connection made through it is open. Fields are private but uri
 * and scheme, which callers read. */
struct ldapconn {
	char uri[DIR_URI_MAX];
	enum dir_scheme scheme;
	struct ldap_conncb cb;
	struct sockguard *guard; /* set only while a guarded call runs */
	int tcp_up;              /* the TCP connection came up meanwhile */
};

/* One turn at a server: its settings, its time budget (a time_mono_ms()
 * deadline) and the libldap code of the last failed call. */
struct ldapconn_call {
	const struct dir_config *cfg;
	struct ldapconn *conn;
	int64_t deadline;
	int last_lrc;
};

/* Set c up for uri (no I/O). 0, or -1 if uri is not an LDAP URL that
 * dir_config_check() accepts. */
int ldapconn_init(struct ldapconn *c, const char *uri);

/*
 * A new connection to call->conn with every option set on it (protocol 3,
 * no referrals, no alias dereferencing, network timeout, TLS settings and
 * a TLS context of its own), connected, and with StartTLS done if
 * configured. Both libldap timeouts are explicit (libldap's defaults are
 * infinite); the TLS handshake is bounded by a watchdog (sockguard.h) to
 * network_timeout_ms for ldaps:// and to the call's deadline for StartTLS.
 * Then bound: SASL EXTERNAL, a simple bind with the password file (read
 * now, wiped at once), or anonymous. 0 and *out, or as ldapconn_map().
 */
int ldapconn_connect(struct ldapconn_call *call, LDAP **out);

/* Only the first part of ldapconn_connect(): connected, not bound. */
int ldapconn_open(struct ldapconn_call *call, LDAP **out);

/* Only the second part: bind ld as configured. */
int ldapconn_bind(struct ldapconn_call *call, LDAP *ld);

/*
 * The timeout of the next operation: search_timeout_ms cut to what is
 * left of the call's budget, in *tv and as LDAP_OPT_TIMEOUT (which bounds
 * the synchronous calls that take none). PG_ERR_TIMEOUT once the budget
 * is spent (logged), PG_ERR_INTERNAL.
 */
int ldapconn_timeout(struct ldapconn_call *call, LDAP *ld, struct timeval *tv);

/* Log a failed libldap call what (with the server's diagnostic), note lrc
 * in the call, and return ldapconn_map(lrc). ld may be NULL. */
int ldapconn_fail(struct ldapconn_call *call, LDAP *ld, const char *what,
                  int lrc);

/*
 * One bounded search (ldapconn_timeout). On success *res is set (possibly
 * with no entries: a missing base counts as empty, logged); on error *res
 * is NULL. A search for one entry (sizelimit 1) asks whether any exists:
 * finding more is no error. Errors as ldapconn_fail().
 */
int ldapconn_search(struct ldapconn_call *call, LDAP *ld, const char *base,
                    int scope, const char *filter, char **attrs, int sizelimit,
                    LDAPMessage **res);

/*
 * The same search, sent and not waited for: its message id in *msgid,
 * and in *deadline (a time_mono_ms() value) when the caller must give up
 * on it (ldap_abandon_ext, then ldapconn_fail() with LDAP_TIMEOUT, as the
 * blocking search does). Errors as ldapconn_search(); nothing was sent
 * then.
 */
int ldapconn_search_start(struct ldapconn_call *call, LDAP *ld,
                          const char *base, int scope, const char *filter,
                          char **attrs, int sizelimit, int *msgid,
                          int64_t *deadline);

/*
 * What a search's result code lrc (its LDAP_RES_SEARCH_RESULT) means, as
 * ldapconn_search() takes it: 0 for success, or for a size limit hit by
 * a search for one entry; 0 with *missing set for a base that does not
 * exist (logged; no entries); else as ldapconn_fail().
 */
int ldapconn_search_outcome(struct ldapconn_call *call, LDAP *ld,
                            const char *base, int sizelimit, int lrc,
                            int *missing);

/*
 * The one entry of res whose attr has user as a value byte for byte, in
 * *out. Entries the server matched by a looser rule (another case) do not
 * count; two exact ones make the name ambiguous. Both refusals are logged
 * with their reason. 0, PG_ERR_NOTFOUND or PG_ERR_AMBIGUOUS.
 */
int ldapconn_pick_user(LDAP *ld, LDAPMessage *res, const char *attr,
                       const char *user, LDAPMessage **out);

/* The same pick one entry at a time, for entries that come one by one:
 * start from a zeroed struct, ldapconn_pick_add() each entry (kept alive
 * until the end), then ldapconn_pick_end() as ldapconn_pick_user(). */
struct ldapconn_pick {
	LDAPMessage *exact;
	size_t nexact, nloose;
};
void ldapconn_pick_add(struct ldapconn_pick *p, LDAP *ld, LDAPMessage *e,
                       const char *attr, const char *user);
int ldapconn_pick_end(const struct ldapconn_pick *p, const char *attr,
                      const char *user, LDAPMessage **out);

/* pg_err for a libldap result code. PG_ERR_TIMEOUT and PG_ERR_UNAVAIL mean
 * the server failed (ldapconn_server_failed); PG_ERR_CONFIG that it
 * answered but refused us (credentials, access); others end the request. */
int ldapconn_map(int lrc);

/* The backoff after failures (>= 1) consecutive failures of a server:
 * retry_min_ms doubling per failure, up to retry_max_ms. */
int64_t ldapconn_backoff_ms(const struct dir_config *cfg, unsigned failures);

/* 1 if rc (a pg_err) says the server failed: another one may answer. */
int ldapconn_server_failed(int rc);

#endif
