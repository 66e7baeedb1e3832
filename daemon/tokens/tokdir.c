/* SPDX-License-Identifier: BSD-3-Clause */
/* The directory side of the token store: reads in failover order, state
 * changes by compare-and-swap on one write target. */
#include "config.h"

#include "tokens/tokdir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lber.h>
#include <ldap.h>

#include "authz/directory.h"
#include "authz/ldapconn.h"
#include "err.h"
#include "ldapescape.h"
#include "log.h"
#include "secret.h"
#include "timeutil.h"
#include "username.h"

/* Users whose token DN, period and last known state are kept between
 * requests: TOKDIR_CACHE_SETS sets of TOKDIR_CACHE_WAYS, the least
 * recently used of a full set giving way. A user who lost their place
 * costs the next login a user search and the token's parameters. A
 * terminal that sees 500 agents keeps 99.6% of them, 1,000 agents 96.5%
 * (hashing as Poisson); 2.7 MB. */
#define TOKDIR_CACHE_SETS 512
#define TOKDIR_CACHE_WAYS 4
/* How long a user's link to a token and the token's parameters are taken
 * from the cache at a read: the token entry itself (secret, state) is read
 * at every one; a new enrollment or removal shows within this. */
#define TOKDIR_LINK_TTL_MS 60000

struct tdsrv {
	struct ldapconn conn;
	LDAP *ld; /* bound, kept between requests, or NULL */
	unsigned failures;
	int64_t retry_at; /* time_mono_ms() before which it is skipped */
};

/* What is known of a user's token. The state is a guess (it may come from
 * a replica, or be stale): a compare-and-swap that finds another value
 * re-reads it on the write target. Guesses older than the last change of
 * write target are not used. */
struct tdcache {
	char user[PG_USER_MAX + 1]; /* "" = empty slot */
	char dn[TOKREC_DN_MAX];
	unsigned period;
	char params_dn[TOKREC_DN_MAX];
	enum pg_token_alg alg;
	unsigned digits;
	int64_t
	    linked_at; /* time_mono_ms() the link and parameters were read */
	int st_known;
	uint32_t st_gen; /* write generation the state belongs to */
	struct tokrec_state st;
	uint64_t used; /* tokdir's use counter at its last use */
};

struct tokdir {
	struct dir_config cfg;
	struct tdsrv rd[DIR_MAX_URIS]; /* reads: cfg's URIs in order */
	size_t nrd;
	struct tdsrv wr[DIR_MAX_URIS + 1]; /* writes: write_uri first */
	size_t nwr;
	size_t wr_active;
	uint64_t failovers;
	uint32_t wgen;
	uint64_t uses; /* the cache's clock */
	struct tdcache cache[TOKDIR_CACHE_SETS][TOKDIR_CACHE_WAYS];
};

/* One operation on a connection; ctx is the operation's own. */
typedef int (*tdop_fn)(struct tokdir *td, struct ldapconn_call *call, LDAP *ld,
                       void *ctx);

/* ------------------------------------------------------------ servers */

static void srv_close(struct tdsrv *s)
{
	if (s->ld != NULL)
		ldap_unbind_ext_s(s->ld, NULL, NULL);
	s->ld = NULL;
}

static void srv_failed(const struct tokdir *td, struct tdsrv *s, int rc)
{
	int64_t delay;

	srv_close(s);
	s->failures++;
	delay = ldapconn_backoff_ms(&td->cfg, s->failures);
	s->retry_at = time_mono_ms() + delay;
	log_warnx("tokens: %s failed (%s), %u in a row; next try in %lld ms",
	          s->conn.uri, pg_err_name(rc), s->failures, (long long)delay);
}

/* fn on server s, connecting first if needed; a kept connection the
 * server closed while idle is reopened once. */
static int srv_run(struct tokdir *td, struct tdsrv *s, tdop_fn fn, void *ctx)
{
	struct ldapconn_call call;
	int reused, rc;

	memset(&call, 0, sizeof(call));
	call.cfg = &td->cfg;
	call.conn = &s->conn;
	call.deadline = time_mono_ms() + td->cfg.network_timeout_ms +
	                td->cfg.search_timeout_ms;
	reused = s->ld != NULL;
	if (!reused && (rc = ldapconn_connect(&call, &s->ld)) != 0)
		return rc;
	rc = fn(td, &call, s->ld, ctx);
	if (reused && rc == PG_ERR_UNAVAIL &&
	    call.last_lrc == LDAP_SERVER_DOWN) {
		srv_close(s);
		if ((rc = ldapconn_connect(&call, &s->ld)) != 0)
			return rc;
		rc = fn(td, &call, s->ld, ctx);
	}
	return rc;
}

/* fn on the first of n servers (in order, skipping those in backoff) that
 * answers; *used is its index. */
static int run_list(struct tokdir *td, struct tdsrv *list, size_t n, tdop_fn fn,
                    void *ctx, size_t *used)
{
	int rc = PG_ERR_UNAVAIL, refused = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		struct tdsrv *s = &list[i];

		if (s->retry_at != 0 && time_mono_ms() < s->retry_at)
			continue;
		rc = srv_run(td, s, fn, ctx);
		if (ldapconn_server_failed(rc)) {
			srv_failed(td, s, rc);
			continue;
		}
		if (rc == PG_ERR_CONFIG) {
			srv_close(s);
			refused = 1;
			continue;
		}
		if (s->failures > 0)
			log_info("tokens: %s is answering again", s->conn.uri);
		s->failures = 0;
		s->retry_at = 0;
		*used = i;
		return rc;
	}
	return refused ? PG_ERR_CONFIG : rc;
}

static int run_read(struct tokdir *td, tdop_fn fn, void *ctx)
{
	size_t used;

	return run_list(td, td->rd, td->nrd, fn, ctx, &used);
}

/* fn on the write target: the configured one, the others only while it
 * is unreachable. A change of target is logged and counted, and makes
 * every state known before it a thing to read again. */
static int run_write(struct tokdir *td, tdop_fn fn, void *ctx)
{
	size_t used = td->wr_active;
	int rc;

	rc = run_list(td, td->wr, td->nwr, fn, ctx, &used);
	if (used != td->wr_active) {
		log_warnx("tokens: write target now %s (was %s): claims and "
		          "failures go there%s",
		          td->wr[used].conn.uri, td->wr[td->wr_active].conn.uri,
		          used == 0 ? " again" : " while the first is down");
		td->wr_active = used;
		td->failovers++;
		td->wgen++;
	}
	return rc;
}

/* ------------------------------------------------------------ cache */

/* user's set. */
static struct tdcache *cache_set(struct tokdir *td, const char *user)
{
	uint32_t h = 2166136261u;
	const unsigned char *p;

	for (p = (const unsigned char *)user; *p != '\0'; p++)
		h = (h ^ *p) * 16777619u;
	return td->cache[h % TOKDIR_CACHE_SETS];
}

/* user's entry, or NULL. */
static struct tdcache *cache_get(struct tokdir *td, const char *user)
{
	struct tdcache *set = cache_set(td, user);
	size_t i;

	for (i = 0; i < TOKDIR_CACHE_WAYS; i++)
		if (strcmp(set[i].user, user) == 0) {
			set[i].used = ++td->uses;
			return &set[i];
		}
	return NULL;
}

/* The place for user: their entry, else an empty one, else the least
 * recently used of the set. */
static struct tdcache *cache_slot(struct tokdir *td, const char *user)
{
	struct tdcache *set = cache_set(td, user), *c = &set[0];
	size_t i;

	for (i = 0; i < TOKDIR_CACHE_WAYS; i++)
		if (strcmp(set[i].user, user) == 0)
			return &set[i];
	for (i = 0; i < TOKDIR_CACHE_WAYS; i++) {
		if (set[i].user[0] == '\0')
			return &set[i];
		if (set[i].used < c->used)
			c = &set[i];
	}
	return c;
}

static void cache_drop(struct tokdir *td, const char *user)
{
	struct tdcache *c = cache_get(td, user);

	if (c != NULL)
		memset(c, 0, sizeof(*c));
}

/* rec as user's entry; linked_at as tdcache's. */
static void cache_put(struct tokdir *td, const char *user,
                      const struct tokrec *rec, int64_t linked_at)
{
	struct tdcache *c = cache_slot(td, user);

	memset(c, 0, sizeof(*c));
	snprintf(c->user, sizeof(c->user), "%s", user);
	memcpy(c->dn, rec->dn, sizeof(c->dn));
	c->period = rec->period;
	memcpy(c->params_dn, rec->params_dn, sizeof(c->params_dn));
	c->used = ++td->uses;
	c->alg = rec->alg;
	c->digits = rec->digits;
	c->linked_at = linked_at;
	c->st = rec->st;
	c->st_known = 1;
	c->st_gen = td->wgen;
}

/* ------------------------------------------------------------ reading */

/* The first value of attr in e as a string into out; 0, or
 * PG_ERR_NOTFOUND (none, or too long). */
static int get_str(LDAP *ld, LDAPMessage *e, const char *attr, char *out,
                   size_t outsz)
{
	struct berval **v = ldap_get_values_len(ld, e, attr);
	int rc = PG_ERR_NOTFOUND;

	if (v != NULL && v[0] != NULL && v[0]->bv_len < outsz &&
	    memchr(v[0]->bv_val, '\0', v[0]->bv_len) == NULL) {
		memcpy(out, v[0]->bv_val, v[0]->bv_len);
		out[v[0]->bv_len] = '\0';
		rc = 0;
	}
	ldap_value_free_len(v);
	return rc;
}

/* The first value of attr as an unsigned number. */
static int get_u64(LDAP *ld, LDAPMessage *e, const char *attr, uint64_t *out)
{
	char buf[24], *end;
	unsigned long long v;

	if (get_str(ld, e, attr, buf, sizeof(buf)) != 0 || buf[0] < '0' ||
	    buf[0] > '9')
		return PG_ERR_NOTFOUND;
	v = strtoull(buf, &end, 10);
	if (*end != '\0')
		return PG_ERR_NOTFOUND;
	*out = v;
	return 0;
}

/* The state attributes of token entry e. */
static void get_state(LDAP *ld, LDAPMessage *e, struct tokrec_state *st)
{
	char t[64];

	memset(st, 0, sizeof(*st));
	st->has_step = get_u64(ld, e, "oathTOTPLastTimeStep", &st->step) == 0;
	st->has_failures =
	    get_u64(ld, e, "oathFailureCount", &st->failures) == 0;
	if (get_str(ld, e, "oathLastFailure", t, sizeof(t)) == 0 &&
	    tokrec_gentime_parse(t, strlen(t), &st->last_failure) != 0)
		st->last_failure = 0;
}

/* One entry by DN with attrs: *e is it, or NULL if there is none. The
 * caller frees *res. */
static int read_entry(struct ldapconn_call *call, LDAP *ld, const char *dn,
                      char **attrs, LDAPMessage **res, LDAPMessage **e)
{
	int rc = ldapconn_search(call, ld, dn, LDAP_SCOPE_BASE,
	                         "(objectClass=*)", attrs, 1, res);

	*e = rc == 0 && *res != NULL ? ldap_first_entry(ld, *res) : NULL;
	return rc;
}

/* The DN of user's token: 0 and dn, or PG_ERR_NOTFOUND (no such user,
 * ambiguous, no token). */
static int find_token_dn(struct tokdir *td, struct ldapconn_call *call,
                         LDAP *ld, const char *user, char *dn, size_t dnsz)
{
	const struct dir_config *cfg = &td->cfg;
	const char *base = cfg->user_base[0] ? cfg->user_base : cfg->base_dn;
	char ua[DIR_ATTR_MAX], tok[] = "oathTOTPToken";
	char *attrs[] = {ua, tok, NULL};
	char esc[LDAPESCAPE_SIZE(PG_USER_MAX)],
	    filter[DIR_ATTR_MAX + 8 + sizeof(esc)];
	LDAPMessage *res = NULL, *e = NULL;
	int rc;

	snprintf(ua, sizeof(ua), "%s", cfg->user_attr);
	if ((rc = ldapescape_filter_value(user, strlen(user), esc,
	                                  sizeof(esc))) != 0)
		return rc;
	snprintf(filter, sizeof(filter), "(%s=%s)", cfg->user_attr, esc);
	rc = ldapconn_search(call, ld, base, LDAP_SCOPE_SUBTREE, filter, attrs,
	                     DIR_USER_MATCH_MAX, &res);
	if (rc == PG_ERR_TOOLONG)
		rc = PG_ERR_NOTFOUND; /* ambiguous: no token given out */
	if (rc == 0 && res == NULL)
		rc = PG_ERR_NOTFOUND;
	if (rc == 0 && (rc = ldapconn_pick_user(ld, res, cfg->user_attr, user,
	                                        &e)) == PG_ERR_AMBIGUOUS)
		rc = PG_ERR_NOTFOUND;
	if (rc == 0 && get_str(ld, e, "oathTOTPToken", dn, dnsz) != 0)
		rc = PG_ERR_NOTFOUND;
	if (res != NULL)
		ldap_msgfree(res);
	return rc;
}

/* The parameters at dn: algorithm, digits, period. */
static int read_params(struct ldapconn_call *call, LDAP *ld, const char *dn,
                       enum pg_token_alg *alg, unsigned *digits,
                       unsigned *period)
{
	char a1[] = "oathOTPLength", a2[] = "oathHMACAlgorithm",
	     a3[] = "oathTOTPTimeStepPeriod", *attrs[] = {a1, a2, a3, NULL};
	LDAPMessage *res = NULL, *e;
	char oid[64];
	uint64_t d, p;
	int rc;

	if ((rc = read_entry(call, ld, dn, attrs, &res, &e)) != 0)
		goto out;
	rc = PG_ERR_NOTFOUND;
	if (e == NULL || get_u64(ld, e, a1, &d) != 0 ||
	    get_u64(ld, e, a3, &p) != 0 ||
	    get_str(ld, e, a2, oid, sizeof(oid)) != 0 ||
	    tokrec_alg_from_oid(oid, strlen(oid), alg) != 0 || d > 10 ||
	    p > 3600 || p == 0)
		goto out;
	*digits = (unsigned)d;
	*period = (unsigned)p;
	rc = 0;
out:
	if (res != NULL)
		ldap_msgfree(res);
	return rc;
}

/* The token entry at rec->dn into rec (line included) for user; its
 * parameters are read unless rec holds them already (period set, same
 * params_dn). */
static int read_token(struct ldapconn_call *call, LDAP *ld, const char *user,
                      struct tokrec *rec)
{
	char a1[] = "oathSecret", a2[] = "oathTOTPParams",
	     a3[] = "oathTOTPLastTimeStep", a4[] = "oathFailureCount",
	     a5[] = "oathLastFailure", a6[] = "description";
	char *attrs[] = {a1, a2, a3, a4, a5, a6, NULL};
	char params[TOKREC_DN_MAX], label[PG_TOKEN_MAX_LABEL + 1] = "";
	LDAPMessage *res = NULL, *e;
	struct berval **sec = NULL;
	int rc;

	if ((rc = read_entry(call, ld, rec->dn, attrs, &res, &e)) != 0)
		goto out;
	rc = PG_ERR_NOTFOUND;
	if (e == NULL || get_str(ld, e, a2, params, sizeof(params)) != 0 ||
	    (sec = ldap_get_values_len(ld, e, a1)) == NULL || sec[0] == NULL) {
		log_warnx("tokens: %s: token %s has no secret or parameters",
		          user, rec->dn);
		goto out;
	}
	get_state(ld, e, &rec->st);
	if (get_str(ld, e, a6, label, sizeof(label)) != 0)
		label[0] = '\0';
	/* The parameters already in rec (from the cache) if the token
	 * still names them. */
	if (rec->period == 0 || strcmp(params, rec->params_dn) != 0) {
		rc = read_params(call, ld, params, &rec->alg, &rec->digits,
		                 &rec->period);
		if (rc != 0) {
			if (rc == PG_ERR_NOTFOUND)
				log_warnx("tokens: %s: parameters %s missing "
				          "or not usable",
				          user, params);
			goto out;
		}
		memcpy(rec->params_dn, params, sizeof(rec->params_dn));
	}
	rc = tokrec_line(user, rec->alg, rec->digits, rec->period,
	                 (const unsigned char *)sec[0]->bv_val, sec[0]->bv_len,
	                 label, rec->line, sizeof(rec->line));
	if (rc == PG_ERR_INVAL || rc == PG_ERR_TOOLONG) {
		log_warnx("tokens: %s: token %s is not usable (secret length, "
		          "digits or period out of range)",
		          user, rec->dn);
		rc = PG_ERR_NOTFOUND;
	}
out:
	if (sec != NULL) {
		if (sec[0] != NULL)
			secret_wipe(sec[0]->bv_val, sec[0]->bv_len);
		ldap_value_free_len(sec);
	}
	if (res != NULL)
		ldap_msgfree(res);
	return rc;
}

/* The whole record of user (ctx: struct read_ctx). */
struct read_ctx {
	const char *user;
	struct tokrec *rec;
	const struct tdcache *known; /* a fresh link, or NULL */
	int relinked;                /* the user entry was read */
};

static int op_read(struct tokdir *td, struct ldapconn_call *call, LDAP *ld,
                   void *arg)
{
	struct read_ctx *c = arg;
	int rc = PG_ERR_NOTFOUND;

	secret_wipe(c->rec, sizeof(*c->rec));
	/* A fresh link: the token entry alone (one read). */
	if (c->known != NULL) {
		memcpy(c->rec->dn, c->known->dn, sizeof(c->rec->dn));
		memcpy(c->rec->params_dn, c->known->params_dn,
		       sizeof(c->rec->params_dn));
		c->rec->alg = c->known->alg;
		c->rec->digits = c->known->digits;
		c->rec->period = c->known->period;
		rc = read_token(call, ld, c->user, c->rec);
	}
	/* Else, or the token is gone: the user's link first. */
	if (rc == PG_ERR_NOTFOUND) {
		secret_wipe(c->rec, sizeof(*c->rec));
		c->relinked = 1;
		rc = find_token_dn(td, call, ld, c->user, c->rec->dn,
		                   sizeof(c->rec->dn));
		if (rc == 0)
			rc = read_token(call, ld, c->user, c->rec);
	}
	if (rc == PG_ERR_NOTFOUND) {
		secret_wipe(c->rec, sizeof(*c->rec));
		return 0;
	}
	c->rec->found = rc == 0;
	return rc;
}

int tokdir_read(struct tokdir *td, const char *user, struct tokrec *rec)
{
	const struct tdcache *k = cache_get(td, user);
	struct read_ctx c = {user, rec, NULL, 0};
	int64_t now = time_mono_ms(), linked_at;
	int rc;

	if (username_check(user) != 0)
		return PG_ERR_BAD_USER;
	if (k != NULL && k->dn[0] != '\0' && k->period != 0 &&
	    now - k->linked_at < TOKDIR_LINK_TTL_MS)
		c.known = k;
	linked_at = k != NULL ? k->linked_at : now;
	rc = run_read(td, op_read, &c);
	if (rc != 0) {
		secret_wipe(rec, sizeof(*rec));
		return rc;
	}
	if (rec->found)
		cache_put(td, user, rec, c.relinked ? now : linked_at);
	else
		cache_drop(td, user);
	return 0;
}

/* ------------------------------------------------------------ writing */

/* A state change decided on st: the modify it makes, or 1 if none is to
 * be made (the answer is in the context). */
struct cas_ctx {
	const char *user;
	const struct tokrec_limits *lim;
	int64_t now;
	/* claim: */
	int claim;
	uint64_t step_start;
	int report;
	/* out */
	int64_t until;
	uint64_t failures;
	int clear;
	/* write-back: */
	int wb;
	uint64_t wb_start;        /* the start of a step to raise to; 0: none */
	uint64_t wb_failures;     /* failures to add */
	int64_t wb_last_failure;  /* the last of them */
	struct tokdir_wb *wb_out; /* what was written */
};

/* What is known of user's token for a write on this connection: the
 * cache, or a read of the user and token here. */
static int known_token(struct tokdir *td, struct ldapconn_call *call, LDAP *ld,
                       const char *user, struct tdcache **out)
{
	struct tdcache *c = cache_get(td, user);
	struct tokrec *rec;
	int rc;

	if (c != NULL && c->dn[0] != '\0') {
		*out = c;
		return 0;
	}
	if ((rec = calloc(1, sizeof(*rec))) == NULL)
		return PG_ERR_NOMEM;
	rc = find_token_dn(td, call, ld, user, rec->dn, sizeof(rec->dn));
	if (rc == 0)
		rc = read_token(call, ld, user, rec);
	if (rc == 0) {
		cache_put(td, user, rec, time_mono_ms());
		*out = cache_get(td, user);
	}
	secret_wipe(rec, sizeof(*rec));
	free(rec);
	return rc;
}

/* The state of token c read on this connection. */
static int reread_state(struct tokdir *td, struct ldapconn_call *call, LDAP *ld,
                        struct tdcache *c)
{
	char a3[] = "oathTOTPLastTimeStep", a4[] = "oathFailureCount",
	     a5[] = "oathLastFailure", *attrs[] = {a3, a4, a5, NULL};
	LDAPMessage *res = NULL, *e;
	int rc;

	if ((rc = read_entry(call, ld, c->dn, attrs, &res, &e)) == 0) {
		if (e == NULL) {
			rc = PG_ERR_NOTFOUND;
		} else {
			get_state(ld, e, &c->st);
			c->st_known = 1;
			c->st_gen = td->wgen;
		}
	}
	if (res != NULL)
		ldap_msgfree(res);
	return rc;
}

/* Room for the mods of one modify. */
struct mods {
	LDAPMod m[6];
	LDAPMod *p[7];
	char *vals[6][2];
	char buf[6][32];
	size_t n;
};

static void mods_add(struct mods *ms, int op, const char *attr, const char *val)
{
	LDAPMod *m = &ms->m[ms->n];

	memset(m, 0, sizeof(*m));
	m->mod_op = op;
	m->mod_type = (char *)(uintptr_t)attr;
	if (val != NULL) {
		snprintf(ms->buf[ms->n], sizeof(ms->buf[ms->n]), "%s", val);
		ms->vals[ms->n][0] = ms->buf[ms->n];
		ms->vals[ms->n][1] = NULL;
		m->mod_values = ms->vals[ms->n];
	}
	ms->p[ms->n] = m;
	ms->p[++ms->n] = NULL;
}

static void mods_add_u64(struct mods *ms, int op, const char *attr, uint64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "%llu", (unsigned long long)v);
	mods_add(ms, op, attr, b);
}

/* Old value out, new value in: fails (16, 19, 20) if another terminal
 * changed it since we read it. */
static void mods_swap(struct mods *ms, const char *attr, int had, uint64_t old,
                      uint64_t now)
{
	if (had)
		mods_add_u64(ms, LDAP_MOD_DELETE, attr, old);
	mods_add_u64(ms, LDAP_MOD_ADD, attr, now);
}

/* A write-back: the step only ever raised (a lower one is dropped), the
 * failures added to the count (restarted if the directory's last one is
 * older than failure_window). */
static int decide_writeback(struct cas_ctx *x, const struct tdcache *c,
                            struct mods *ms, int *rc)
{
	const struct tokrec_state *st = &c->st;
	struct tokdir_wb *o = x->wb_out;
	char t[TOKREC_GENTIME_LEN];
	uint64_t base, step = c->period ? x->wb_start / c->period : 0;

	memset(o, 0, sizeof(*o));
	o->dir_step = st->has_step ? st->step : 0;
	o->local_step = step;
	if (step != 0 && (!st->has_step || step > st->step)) {
		mods_swap(ms, "oathTOTPLastTimeStep", st->has_step, st->step,
		          step);
		o->step = step;
	}
	if (x->wb_failures > 0) {
		base = st->has_failures &&
		               st->last_failure + x->lim->failure_window >=
		                   x->wb_last_failure
		           ? st->failures
		           : 0;
		mods_swap(ms, "oathFailureCount", st->has_failures,
		          st->failures, base + x->wb_failures);
		if (x->wb_last_failure > st->last_failure) {
			tokrec_gentime_format(x->wb_last_failure, t);
			mods_add(ms, LDAP_MOD_REPLACE, "oathLastFailure", t);
		}
		o->failures = base + x->wb_failures;
		o->added = x->wb_failures;
	}
	if (ms->n > 0)
		return 0;
	*rc = 0;
	return 1;
}

/* Decide on c's state; 1 if no modify is to be made (*rc the answer),
 * else 0 with the modify in ms. */
static int decide(struct cas_ctx *x, const struct tdcache *c, struct mods *ms,
                  int *rc)
{
	const struct tokrec_state *st = &c->st;
	char t[TOKREC_GENTIME_LEN];
	uint64_t step;

	ms->n = 0;
	ms->p[0] = NULL;
	tokrec_gentime_format(x->now, t);
	if (x->clear) {
		mods_add(ms, LDAP_MOD_REPLACE, "oathFailureCount", "0");
		mods_add(ms, LDAP_MOD_REPLACE, "oathLastFailure", NULL);
		return 0;
	}
	if (x->wb)
		return decide_writeback(x, c, ms, rc);
	x->until = tokrec_lock_until(st, x->lim, x->now);
	x->failures = st->has_failures ? st->failures : 0;
	if (!x->claim) {
		/* A failure while locked is not counted: it would move the
		 * end of the lock. */
		if (x->until != 0) {
			*rc = 0;
			return 1;
		}
		x->failures = tokrec_next_failures(st, x->lim, x->now);
		mods_swap(ms, "oathFailureCount", st->has_failures,
		          st->failures, x->failures);
		mods_add(ms, LDAP_MOD_REPLACE, "oathLastFailure", t);
		return 0;
	}
	if (x->until != 0) {
		*rc = PG_ERR_LOCKED;
		return 1;
	}
	if (c->period == 0 || x->step_start % c->period != 0) {
		*rc = PG_ERR_INVAL;
		return 1;
	}
	step = x->step_start / c->period;
	if (st->has_step && step <= st->step) {
		*rc = PG_ERR_REPLAY;
		return 1;
	}
	mods_swap(ms, "oathTOTPLastTimeStep", st->has_step, st->step, step);
	mods_add(ms, LDAP_MOD_REPLACE, "oathLastLogin", t);
	if (x->report)
		mods_swap(ms, "oathFailureCount", st->has_failures,
		          st->failures, 0);
	return 0;
}

/* The state after a modify that went through. */
static void applied(struct cas_ctx *x, struct tdcache *c)
{
	if (x->clear) {
		c->st.has_failures = 1;
		c->st.failures = 0;
		c->st.last_failure = 0;
	} else if (x->wb) {
		if (x->wb_out->step != 0) {
			c->st.has_step = 1;
			c->st.step = x->wb_out->step;
		}
		if (x->wb_out->added != 0) {
			c->st.has_failures = 1;
			c->st.failures = x->wb_out->failures;
			if (x->wb_last_failure > c->st.last_failure)
				c->st.last_failure = x->wb_last_failure;
		}
	} else if (x->claim) {
		c->st.has_step = 1;
		c->st.step = x->step_start / c->period;
		if (x->report) {
			c->st.has_failures = 1;
			c->st.failures = 0;
		}
	} else {
		c->st.has_failures = 1;
		c->st.failures = x->failures;
		c->st.last_failure = x->now;
		x->until = tokrec_lock_until(&c->st, x->lim, x->now);
	}
}

static int op_cas(struct tokdir *td, struct ldapconn_call *call, LDAP *ld,
                  void *arg)
{
	struct cas_ctx *x = arg;
	struct tdcache *c;
	struct mods ms;
	struct timeval tv;
	unsigned tries;
	int rc, lrc;

	if ((rc = known_token(td, call, ld, x->user, &c)) != 0)
		return rc;
	for (tries = 0; tries < TOKDIR_CAS_TRIES; tries++) {
		if ((!c->st_known || c->st_gen != td->wgen) &&
		    (rc = reread_state(td, call, ld, c)) != 0)
			return rc;
		if (decide(x, c, &ms, &rc))
			return rc;
		if ((rc = ldapconn_timeout(call, ld, &tv)) != 0)
			return rc;
		lrc = ldap_modify_ext_s(ld, c->dn, ms.p, NULL, NULL);
		if (lrc == LDAP_SUCCESS) {
			applied(x, c);
			return 0;
		}
		if (lrc != LDAP_NO_SUCH_ATTRIBUTE &&
		    lrc != LDAP_TYPE_OR_VALUE_EXISTS &&
		    lrc != LDAP_CONSTRAINT_VIOLATION) {
			if (lrc == LDAP_NO_SUCH_OBJECT) {
				memset(c, 0, sizeof(*c));
				return PG_ERR_NOTFOUND;
			}
			return ldapconn_fail(call, ld, "modify", lrc);
		}
		/* Another terminal moved it first: decide again on what
		 * the write target holds now. */
		log_debug("tokens: %s: %s changed meanwhile (%s); re-reading",
		          x->user, c->dn, ldap_err2string(lrc));
		c->st_known = 0;
	}
	log_warnx("tokens: %s: state still changing after %d tries; refused",
	          x->user, TOKDIR_CAS_TRIES);
	return PG_ERR_BUSY;
}

static void cas_init(struct cas_ctx *x, const char *user,
                     const struct tokrec_limits *lim, int64_t now)
{
	memset(x, 0, sizeof(*x));
	x->user = user;
	x->lim = lim;
	x->now = now;
}

int tokdir_claim(struct tokdir *td, const char *user, uint64_t step_start,
                 int report, const struct tokrec_limits *lim, int64_t now,
                 int64_t *until)
{
	struct cas_ctx x;
	int rc;

	cas_init(&x, user, lim, now);
	x.claim = 1;
	x.step_start = step_start;
	x.report = report;
	rc = run_write(td, op_cas, &x);
	if (rc == PG_ERR_LOCKED)
		*until = x.until;
	return rc;
}

int tokdir_fail(struct tokdir *td, const char *user,
                const struct tokrec_limits *lim, int64_t now,
                uint64_t *failures, int64_t *until)
{
	struct cas_ctx x;
	int rc;

	cas_init(&x, user, lim, now);
	if ((rc = run_write(td, op_cas, &x)) == 0) {
		*failures = x.failures;
		*until = x.until;
	}
	return rc;
}

int tokdir_clear(struct tokdir *td, const char *user)
{
	struct tokrec_limits lim = {1, 1, 1};
	struct cas_ctx x;

	cas_init(&x, user, &lim, 0);
	x.clear = 1;
	return run_write(td, op_cas, &x);
}

int tokdir_writeback(struct tokdir *td, const char *user, uint64_t step_start,
                     uint64_t failures, int64_t last_failure,
                     const struct tokrec_limits *lim, int64_t now,
                     struct tokdir_wb *out)
{
	struct cas_ctx x;

	cas_init(&x, user, lim, now);
	x.wb = 1;
	x.wb_start = step_start;
	x.wb_failures = failures;
	x.wb_last_failure = last_failure;
	x.wb_out = out;
	return run_write(td, op_cas, &x);
}

/* ------------------------------------------------------------ handle */

void tokdir_write_status(const struct tokdir *td, char *uri, size_t urisz,
                         uint64_t *failovers)
{
	snprintf(uri, urisz, "%s", td->wr[td->wr_active].conn.uri);
	*failovers = td->failovers;
}

int tokdir_new(const struct dir_config *cfg, const char *write_uri,
               struct tokdir **out, char *err, size_t errlen)
{
	struct tokdir *td;
	size_t i;
	int rc;

	if ((rc = dir_config_check(cfg, err, errlen)) != 0)
		return rc;
	if (write_uri != NULL && write_uri[0] != '\0') {
		enum dir_scheme sch;

		if (strlen(write_uri) >= DIR_URI_MAX ||
		    dir_config_scheme(write_uri, &sch) != 0) {
			snprintf(err, errlen,
			         "write_uri: not an ldap://, ldaps:// or "
			         "ldapi:// URL");
			return PG_ERR_CONFIG;
		}
	}
	if ((td = calloc(1, sizeof(*td))) == NULL)
		return PG_ERR_NOMEM;
	td->cfg = *cfg;
	td->nrd = cfg->nuris;
	for (i = 0; i < cfg->nuris; i++)
		if (ldapconn_init(&td->rd[i].conn, cfg->uris[i]) != 0)
			goto bad;
	if (write_uri != NULL && write_uri[0] != '\0' &&
	    ldapconn_init(&td->wr[td->nwr++].conn, write_uri) != 0)
		goto bad;
	for (i = 0; i < cfg->nuris; i++) {
		if (td->nwr > 0 &&
		    strcmp(td->wr[0].conn.uri, cfg->uris[i]) == 0)
			continue;
		if (ldapconn_init(&td->wr[td->nwr++].conn, cfg->uris[i]) != 0)
			goto bad;
	}
	*out = td;
	return 0;
bad:
	free(td);
	snprintf(err, errlen, "uri: not an LDAP URL");
	return PG_ERR_CONFIG;
}

void tokdir_free(struct tokdir *td)
{
	size_t i;

	if (td == NULL)
		return;
	for (i = 0; i < td->nrd; i++)
		srv_close(&td->rd[i]);
	for (i = 0; i < td->nwr; i++)
		srv_close(&td->wr[i]);
	secret_wipe(td, sizeof(*td));
	free(td);
}
