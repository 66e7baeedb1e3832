/* SPDX-License-Identifier: BSD-3-Clause */
/* One bounded LDAP connection to one server of a dir_config: options,
 * TLS under the handshake watchdog, bind. */
#include "config.h"

#include "authz/ldapconn.h"

#include <stdio.h>
#include <string.h>

#include <lber.h>

#include "err.h"
#include "log.h"
#include "secret.h"
#include "timeutil.h"

/* libldap's TLS_REQCERT values, indexed by enum conf_reqcert. */
static const int reqcert_ldap[] = {LDAP_OPT_X_TLS_DEMAND, LDAP_OPT_X_TLS_HARD,
                                   LDAP_OPT_X_TLS_TRY, LDAP_OPT_X_TLS_ALLOW,
                                   LDAP_OPT_X_TLS_NEVER};

/* pg_err for a libldap result code. TIMEOUT and UNAVAIL mean the server
 * failed (backoff, next server); CONFIG means it answered but refused us
 * (next server, no backoff); anything else ends the request. */
int ldapconn_map(int lrc)
{
	switch (lrc) {
	case LDAP_SUCCESS:
		return 0;
	case LDAP_TIMEOUT:
	case LDAP_TIMELIMIT_EXCEEDED:
		return PG_ERR_TIMEOUT;
	case LDAP_SIZELIMIT_EXCEEDED:
	case LDAP_ADMINLIMIT_EXCEEDED:
		return PG_ERR_TOOLONG;
	case LDAP_NO_MEMORY:
		return PG_ERR_NOMEM;
	case LDAP_INVALID_CREDENTIALS:
	case LDAP_INAPPROPRIATE_AUTH:
	case LDAP_INSUFFICIENT_ACCESS:
	case LDAP_STRONG_AUTH_REQUIRED:
	case LDAP_CONFIDENTIALITY_REQUIRED:
	case LDAP_AUTH_METHOD_NOT_SUPPORTED:
	case LDAP_AUTH_UNKNOWN:
	case LDAP_INVALID_DN_SYNTAX:
	case LDAP_NOT_SUPPORTED:
		return PG_ERR_CONFIG;
	case LDAP_FILTER_ERROR:
	case LDAP_PARAM_ERROR:
		return PG_ERR_INTERNAL;
	default:
		/* SERVER_DOWN, CONNECT_ERROR (TLS refused too), BUSY,
		 * UNAVAILABLE, UNWILLING_TO_PERFORM, OTHER, ... */
		return PG_ERR_UNAVAIL;
	}
}

int ldapconn_server_failed(int rc)
{
	return rc == PG_ERR_TIMEOUT || rc == PG_ERR_UNAVAIL;
}

/* Log a failed libldap call with the server's diagnostic (which names the
 * certificate problem when TLS is refused). */
int ldapconn_fail(struct ldapconn_call *a, LDAP *ld, const char *what, int lrc)
{
	char *diag = NULL;

	a->last_lrc = lrc;
	if (ld != NULL)
		ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	log_warnx("directory: %s: %s: %s%s%s%s", a->conn->uri, what,
	          ldap_err2string(lrc), diag && *diag ? " (" : "",
	          diag && *diag ? diag : "", diag && *diag ? ")" : "");
	if (diag != NULL)
		ldap_memfree(diag);
	return ldapconn_map(lrc);
}

static void ms_to_tv(long ms, struct timeval *tv)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

/* Timeout for the next operation: search_timeout, cut to what is left of
 * this server's budget. Also set as LDAP_OPT_TIMEOUT, which bounds the
 * synchronous calls that take no timeout argument (bind, StartTLS). */
int ldapconn_timeout(struct ldapconn_call *a, LDAP *ld, struct timeval *tv)
{
	long left = time_left_ms(a->deadline);

	if (left <= 0) {
		a->last_lrc = LDAP_TIMEOUT;
		log_warnx("directory: %s: time budget spent", a->conn->uri);
		return PG_ERR_TIMEOUT;
	}
	ms_to_tv(left < a->cfg->search_timeout_ms ? left
	                                          : a->cfg->search_timeout_ms,
	         tv);
	if (ldap_set_option(ld, LDAP_OPT_TIMEOUT, tv) != LDAP_OPT_SUCCESS)
		return PG_ERR_INTERNAL;
	return 0;
}

static int set_opt(LDAP *ld, int option, const void *value, const char *name)
{
	if (ldap_set_option(ld, option, value) == LDAP_OPT_SUCCESS)
		return 0;
	log_warnx("directory: cannot set %s", name);
	return PG_ERR_CONFIG;
}

/*
 * With a network timeout set, libldap 2.5 makes the TLS handshake
 * non-blocking and polls the socket for writing between attempts, which
 * with GnuTLS waiting to read returns at once: against a server that
 * hangs mid-handshake it spins a core until the timeout. Without one the
 * handshake blocks in recv(2), and the guard's shutdown(2) ends it.
 */
static int handshake_blocking(LDAP *ld)
{
	const struct timeval none = {-1, 0};

	return ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &none) ==
	               LDAP_OPT_SUCCESS
	           ? 0
	           : PG_ERR_INTERNAL;
}

static int conn_added(LDAP *ld, Sockbuf *sb, LDAPURLDesc *srv,
                      struct sockaddr *addr, struct ldap_conncb *ctx)
{
	struct ldapconn *s = ctx->lc_arg;
	ber_socket_t fd = -1;

	if (s->guard != NULL &&
	    ber_sockbuf_ctrl(sb, LBER_SB_OPT_GET_FD, &fd) == 1) {
		sockguard_setfd(s->guard, fd);
		/* The ldaps:// handshake comes next: blocking, so that it
		 * waits in recv(2) for the watchdog (guarded_call restores
		 * the timeout). */
		(void)handshake_blocking(ld);
	}
	s->tcp_up = 1;
	return 0;
}

static void conn_deleted(LDAP *ld, Sockbuf *sb, struct ldap_conncb *ctx)
{
	struct ldapconn *s = ctx->lc_arg;

	if (s->guard != NULL)
		sockguard_setfd(s->guard, -1);
}

/* Run ldap_connect() or ldap_start_tls_s() (with_starttls) under a guard
 * that ends the TLS handshake at deadline. The handshake itself runs with
 * no network timeout (handshake_blocking), tv being restored after it. */
static int guarded_call(struct ldapconn_call *a, LDAP *ld, int with_starttls,
                        int64_t deadline, const struct timeval *tv)
{
	struct sockguard g;
	ber_socket_t fd = -1;
	int lrc, rc;

	if ((rc = sockguard_start(&g, deadline)) != 0)
		return rc;
	a->conn->guard = &g;
	a->conn->tcp_up = with_starttls;
	if (with_starttls) {
		/* Connected already, before the guard: conn_added told it
		 * nothing, so the guard learns the socket here. */
		if (ldap_get_option(ld, LDAP_OPT_DESC, &fd) ==
		        LDAP_OPT_SUCCESS &&
		    fd >= 0)
			sockguard_setfd(&g, fd);
		(void)handshake_blocking(ld);
	}
	lrc =
	    with_starttls ? ldap_start_tls_s(ld, NULL, NULL) : ldap_connect(ld);
	a->conn->guard = NULL;
	if (ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, tv) !=
	    LDAP_OPT_SUCCESS)
		log_warnx("directory: cannot set network timeout");
	if (sockguard_stop(&g)) {
		a->last_lrc = LDAP_TIMEOUT;
		log_warnx("directory: %s: TLS handshake timed out",
		          a->conn->uri);
		return PG_ERR_TIMEOUT;
	}
	if (lrc == LDAP_SUCCESS)
		return 0;
	rc = ldapconn_fail(a, ld, with_starttls ? "StartTLS" : "connect", lrc);
	/* Debian's libldap (GnuTLS) gives no reason for a refused
	 * certificate; the connection was up, so say what to check. */
	if (a->conn->tcp_up &&
	    (lrc == LDAP_CONNECT_ERROR || lrc == LDAP_SERVER_DOWN))
		log_warnx("directory: %s: TLS handshake failed: is the "
		          "server's certificate signed by %s and issued for "
		          "the host name in the URI?",
		          a->conn->uri,
		          a->cfg->tls_cacert[0] != '\0' ? a->cfg->tls_cacert
		                                        : "a CA of the system "
		                                          "store");
	return rc;
}

/*
 * A new connection with every option set on it, connected, and with
 * StartTLS done if configured. Both libldap timeouts are explicit because
 * libldap's default for each is infinite; the TLS handshake is bounded by
 * a watchdog (sockguard.h says why) to network_timeout_ms for ldaps:// and to
 * the server's budget for StartTLS.
 */
int ldapconn_open(struct ldapconn_call *a, LDAP **out)
{
	const struct dir_config *cfg = a->cfg;
	LDAP *ld = NULL;
	struct timeval tv, api;
	int v3 = LDAP_VERSION3, deref = LDAP_DEREF_NEVER, zero = 0;
	int tlsmin = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2;
	int reqcert = reqcert_ldap[cfg->tls_reqcert];
	int use_tls, lrc, rc = PG_ERR_INTERNAL;
	long left;

	lrc = ldap_initialize(&ld, a->conn->uri);
	if (lrc != LDAP_SUCCESS) {
		rc = ldapconn_fail(a, NULL, "ldap_initialize", lrc);
		goto out;
	}
	left = time_left_ms(a->deadline);
	ms_to_tv(left < cfg->network_timeout_ms ? left
	                                        : cfg->network_timeout_ms,
	         &tv);
	/* Referrals would lead to servers, credentials and timeouts that
	 * nobody configured: never chase them. */
	if ((rc = set_opt(ld, LDAP_OPT_PROTOCOL_VERSION, &v3, "version")) !=
	        0 ||
	    (rc = set_opt(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF, "referrals")) !=
	        0 ||
	    (rc = set_opt(ld, LDAP_OPT_RESTART, LDAP_OPT_ON, "restart")) != 0 ||
	    (rc = set_opt(ld, LDAP_OPT_DEREF, &deref, "deref")) != 0 ||
	    (rc = set_opt(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv,
	                  "network timeout")) != 0)
		goto out;
	use_tls = a->conn->scheme == DIR_SCHEME_LDAPS ||
	          (a->conn->scheme == DIR_SCHEME_LDAP && cfg->starttls);
	if (use_tls) {
		if (cfg->tls_reqcert != CONF_REQCERT_DEMAND &&
		    cfg->tls_reqcert != CONF_REQCERT_HARD)
			log_warnx("directory: %s: tls_reqcert=%s: the server's "
			          "certificate is not enforced",
			          a->conn->uri,
			          conf_reqcert_name(cfg->tls_reqcert));
		if ((rc = set_opt(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &reqcert,
		                  "tls_reqcert")) != 0 ||
		    (rc = set_opt(ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &tlsmin,
		                  "TLS minimum version")) != 0)
			goto out;
		if (cfg->tls_cacert[0] != '\0' &&
		    (rc = set_opt(ld, LDAP_OPT_X_TLS_CACERTFILE,
		                  cfg->tls_cacert, "tls_cacert")) != 0)
			goto out;
		/* Without a context of its own the handle would use the
		 * process-wide one, and the options above would not apply. */
		if ((rc = set_opt(ld, LDAP_OPT_X_TLS_NEWCTX, &zero,
		                  "TLS context")) != 0)
			goto out;
	}
	if ((rc = set_opt(ld, LDAP_OPT_CONNECT_CB, &a->conn->cb,
	                  "connection callbacks")) != 0)
		goto out;
	/* Connect now rather than in the first operation, so that the
	 * ldaps:// handshake runs under the guard. */
	if (a->conn->scheme == DIR_SCHEME_LDAPS) {
		int64_t dl = time_mono_ms() + (left < cfg->network_timeout_ms
		                                   ? left
		                                   : cfg->network_timeout_ms);

		if ((rc = guarded_call(a, ld, 0, dl, &tv)) != 0)
			goto out;
	} else {
		lrc = ldap_connect(ld);
		if (lrc != LDAP_SUCCESS) {
			rc = ldapconn_fail(a, ld, "connect", lrc);
			goto out;
		}
	}
	if (a->conn->scheme == DIR_SCHEME_LDAP && cfg->starttls) {
		if ((rc = ldapconn_timeout(a, ld, &api)) != 0 ||
		    (rc = guarded_call(a, ld, 1, a->deadline, &tv)) != 0)
			goto out;
	}
	*out = ld;
	ld = NULL;
	rc = 0;
out:
	if (ld != NULL)
		ldap_unbind_ext_s(ld, NULL, NULL);
	return rc;
}

/* Bind as configured: SASL EXTERNAL, simple bind with the password file
 * (read now, wiped at once), or stay anonymous. */
int ldapconn_bind(struct ldapconn_call *a, LDAP *ld)
{
	const struct dir_config *cfg = a->cfg;
	struct berval cred;
	struct timeval tv;
	char *pw = NULL, why[320];
	int lrc, rc = PG_ERR_INTERNAL;

	if (!cfg->sasl_external && cfg->bind_dn[0] == '\0')
		return 0;
	if ((rc = ldapconn_timeout(a, ld, &tv)) != 0)
		goto out;
	if (cfg->sasl_external) {
		/* An empty initial response (authorize as ourselves) ends
		 * the exchange in one round trip; with none, the server
		 * answers saslBindInProgress and waits for it. */
		char nul[1] = "";
		struct berval none = {0, nul};

		lrc = ldap_sasl_bind_s(ld, NULL, "EXTERNAL", &none, NULL, NULL,
		                       NULL);
		rc = lrc == LDAP_SUCCESS
		         ? 0
		         : ldapconn_fail(a, ld, "SASL EXTERNAL bind", lrc);
		goto out;
	}
	/* Read at every bind, so a rotated password is picked up, and
	 * wiped as soon as the request is sent. */
	rc = dir_config_read_password(cfg, &pw, why, sizeof why);
	if (rc != 0) {
		if (rc == PG_ERR_CONFIG)
			log_warnx("directory: %s", why);
		goto out;
	}
	cred.bv_val = pw;
	cred.bv_len = strlen(pw);
	lrc = ldap_sasl_bind_s(ld, cfg->bind_dn, LDAP_SASL_SIMPLE, &cred, NULL,
	                       NULL, NULL);
	rc = lrc == LDAP_SUCCESS ? 0 : ldapconn_fail(a, ld, "simple bind", lrc);
out:
	secret_strfree(pw);
	return rc;
}

/* ldapconn_open() + ldapconn_bind(): a connection ready for work. */
int ldapconn_connect(struct ldapconn_call *a, LDAP **out)
{
	LDAP *ld = NULL;
	int rc;

	if ((rc = ldapconn_open(a, &ld)) != 0 ||
	    (rc = ldapconn_bind(a, ld)) != 0) {
		if (ld != NULL)
			ldap_unbind_ext_s(ld, NULL, NULL);
		return rc;
	}
	*out = ld;
	return 0;
}

int ldapconn_init(struct ldapconn *c, const char *uri)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->uri, sizeof(c->uri), "%s", uri);
	c->cb.lc_add = conn_added;
	c->cb.lc_del = conn_deleted;
	c->cb.lc_arg = c;
	return dir_config_scheme(c->uri, &c->scheme);
}

int ldapconn_search_outcome(struct ldapconn_call *a, LDAP *ld, const char *base,
                            int sizelimit, int lrc, int *missing)
{
	*missing = 0;
	if (lrc == LDAP_SUCCESS ||
	    (lrc == LDAP_SIZELIMIT_EXCEEDED && sizelimit == 1))
		return 0;
	if (lrc == LDAP_NO_SUCH_OBJECT) {
		log_warnx("directory: %s: search base \"%s\" does not exist",
		          a->conn->uri, base);
		*missing = 1;
		return 0;
	}
	return ldapconn_fail(a, ld, "search", lrc);
}

/* A search's timeout (ldapconn_timeout), and the search logged. */
static int search_timeout(struct ldapconn_call *a, LDAP *ld, const char *base,
                          const char *filter, struct timeval *tv)
{
	int rc = ldapconn_timeout(a, ld, tv);

	if (rc == 0)
		log_debug("directory: %s: search base=\"%s\" filter=%s",
		          a->conn->uri, base, filter);
	return rc;
}

int ldapconn_search_start(struct ldapconn_call *a, LDAP *ld, const char *base,
                          int scope, const char *filter, char **attrs,
                          int sizelimit, int *msgid, int64_t *deadline)
{
	struct timeval tv;
	int lrc, rc;

	if ((rc = search_timeout(a, ld, base, filter, &tv)) != 0)
		return rc;
	lrc = ldap_search_ext(ld, base, scope, filter, attrs, 0, NULL, NULL,
	                      &tv, sizelimit, msgid);
	if (lrc != LDAP_SUCCESS)
		return ldapconn_fail(a, ld, "search", lrc);
	*deadline = time_mono_ms() + tv.tv_sec * 1000 + tv.tv_usec / 1000;
	return 0;
}

int ldapconn_search(struct ldapconn_call *a, LDAP *ld, const char *base,
                    int scope, const char *filter, char **attrs, int sizelimit,
                    LDAPMessage **res)
{
	struct timeval tv;
	int lrc, rc, missing;

	*res = NULL;
	if ((rc = search_timeout(a, ld, base, filter, &tv)) != 0)
		return rc;
	lrc = ldap_search_ext_s(ld, base, scope, filter, attrs, 0, NULL, NULL,
	                        &tv, sizelimit, res);
	/* A size limit hit by a search for one entry: only with a result. */
	if (lrc == LDAP_SIZELIMIT_EXCEEDED && *res == NULL)
		sizelimit = 0;
	rc = ldapconn_search_outcome(a, ld, base, sizelimit, lrc, &missing);
	if (rc != 0 && *res != NULL) {
		ldap_msgfree(*res);
		*res = NULL;
	}
	return rc;
}

/* Whether entry e has name as a value of attr, byte for byte. The search
 * matched with the attribute's own rule (caseIgnoreMatch for uid), which
 * would let "ADMIN1" log in with admin1's entry. */
static int entry_named(LDAP *ld, LDAPMessage *e, const char *attr,
                       const char *name)
{
	struct berval **v = ldap_get_values_len(ld, e, attr);
	size_t len = strlen(name), i;
	int found = 0;

	for (i = 0; v != NULL && v[i] != NULL && !found; i++)
		found =
		    v[i]->bv_len == len && memcmp(v[i]->bv_val, name, len) == 0;
	ldap_value_free_len(v);
	return found;
}

void ldapconn_pick_add(struct ldapconn_pick *p, LDAP *ld, LDAPMessage *e,
                       const char *attr, const char *user)
{
	if (!entry_named(ld, e, attr, user)) {
		p->nloose++;
		return;
	}
	if (p->nexact++ == 0)
		p->exact = e;
}

int ldapconn_pick_end(const struct ldapconn_pick *p, const char *attr,
                      const char *user, LDAPMessage **out)
{
	if (p->nexact > 1) {
		log_warnx("directory: %s=%s: %zu entries carry exactly this "
		          "name; refused as ambiguous",
		          attr, user, p->nexact);
		return PG_ERR_AMBIGUOUS;
	}
	if (p->nexact == 0) {
		if (p->nloose > 0)
			log_warnx(
			    "directory: %s=%s: no entry with exactly this "
			    "name (%zu differ in case or spelling); "
			    "treated as unknown",
			    attr, user, p->nloose);
		return PG_ERR_NOTFOUND;
	}
	*out = p->exact;
	return 0;
}

int ldapconn_pick_user(LDAP *ld, LDAPMessage *res, const char *attr,
                       const char *user, LDAPMessage **out)
{
	struct ldapconn_pick p = {NULL, 0, 0};
	LDAPMessage *e;

	for (e = ldap_first_entry(ld, res); e != NULL;
	     e = ldap_next_entry(ld, e))
		ldapconn_pick_add(&p, ld, e, attr, user);
	return ldapconn_pick_end(&p, attr, user, out);
}

int64_t ldapconn_backoff_ms(const struct dir_config *cfg, unsigned failures)
{
	int64_t delay = cfg->retry_min_ms;
	unsigned i;

	for (i = 1; i < failures && delay < cfg->retry_max_ms; i++)
		delay *= 2;
	return delay > cfg->retry_max_ms ? cfg->retry_max_ms : delay;
}
