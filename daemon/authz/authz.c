/* SPDX-License-Identifier: BSD-3-Clause */
/* Authorization: cache and policy answered on the event loop, directory
 * lookups on one worker thread, fail-back probes on a short-lived thread
 * of their own, results handed back through an eventfd, clients on a cold
 * miss parked until their lookup is done. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "authz/authz.h"
#include "authz/cache.h"
#include "authz/dir_config.h"
#include "authz/directory.h"
#include "err.h"
#include "log.h"
#include "authz/policy.h"
#include "core/runas.h"
#include "core/pending.h"
#include "core/thread.h"
#include "timeutil.h"

/* The loop's timer: parked logins' deadlines are checked this often,
 * housekeeping runs every AUTHZ_HOUSEKEEP_TICKS of it. */
#define AUTHZ_TICK_MS         100
#define AUTHZ_HOUSEKEEP_TICKS 10
/* Background work in flight at most, and refresh-ahead started per
 * housekeeping round: the directory's load stays bounded. */
#define AUTHZ_MAX_BACKGROUND 32
#define AUTHZ_REFRESH_BURST  8
/* Seconds between fail-back probes while a fallback server is active. */
#define AUTHZ_PROBE_EVERY 10

/* A client waiting for a job. */
struct waiter {
	struct waiter *next;
	uint64_t ticket;
	enum authz_kind kind;
	int64_t deadline_ms; /* login_refresh: fall back then; 0 = none */
	char scope[PG_CONF_SCOPE_NAME];
};

/* A fail-back probe: its network part runs on a thread of its own, so a
 * hung server it waits for delays no lookup; the worker then applies the
 * outcome, which takes no I/O. */
#define PROBE_SKIP    1 /* rc[i]: in backoff, not probed */
#define PROBE_PENDING 2 /* rc[i]: not probed (yet); a pg_err once probed */
struct probe {
	struct pg_authz *a;
	pthread_t thread;
	uint32_t gen; /* of the directory settings it probes with */
	size_t n;     /* servers 0..n-1: those preferred to the active one */
	int rc[DIR_MAX_URIS];
	struct dir_config cfg;
};

/* One piece of directory work. The loop owns everything but rc, res and
 * the queue links while the worker holds it (and a probe's rc while its
 * thread does). */
struct job {
	struct job *next;    /* worker queue, then done list */
	struct job *flight;  /* the loop's in-flight list */
	struct probe *probe; /* a fail-back probe rather than a lookup */
	int store;           /* put the result in the cache */
	int urgent;          /* a client waits */
	struct waiter *waiters;
	int rc;
	struct dir_result *res;
	char user[];
};

struct pg_authz {
	struct pg_completion complete; /* parked clients' answers */
	/* Loop side. */
	struct pg_policy *policy;
	struct pg_cache *cache;
	struct cache_ttls ttls;
	char uris[DIR_MAX_URIS][DIR_URI_MAX];
	size_t nuris;
	uint32_t gen; /* policy generation, for the cache entries' memo */
	int online;
	int64_t offline_since;
	struct job *flight;
	size_t background; /* jobs in flight without waiters */
	uint64_t hits, misses;
	unsigned ticks;
	int64_t last_probe;
	struct job *probing;       /* whose probe thread has not been joined */
	struct dir_config dir_cfg; /* what the worker has, or gets next */
	uint32_t dir_gen;          /* its generation, for probes */
	int efd, tfd;
	/* Shared with the worker, under mu. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t worker;
	int started, stop;
	struct job *urgent_q, *background_q, *done;
	struct dir_config *new_cfg; /* for the worker to pick up */
	uint32_t new_gen;           /* its dir_gen */
	struct dir_status status;
	int64_t status_ms; /* time_mono_ms() when status was taken */
};

/* ---------------------------------------------------------- configuration */

#define SET(key, val)                                                          \
	do {                                                                   \
		if ((rc = dir_config_set(cfg, key, val, why, sizeof(why))) !=  \
		    0)                                                         \
			goto out;                                              \
	} while (0)

/* A root daemon with a [daemon] user reads the password file after the
 * switch: check it for that user from the start (runas.h). If the user
 * does not resolve, the switch fails anyway; the effective uid stays. */
static void set_password_owner(const struct pg_conf *c, struct dir_config *cfg)
{
	struct runas_owner o;

	if (runas_file_owner(c, &o) == 0) {
		cfg->password_owner = (long)o.uid;
		cfg->password_root_too = o.root_too;
	}
}

/* [ldap] as the directory client takes it (seconds become ms). */
static int make_dir_config(const struct pg_conf *c, struct dir_config *cfg,
                           char *err, size_t errlen)
{
	char why[PG_CONF_ERRLEN], num[32];
	int rc;

	dir_config_defaults(cfg);
	SET("uri", c->uri);
	SET("base_dn", c->base);
	SET("user_base", c->user_base);
	SET("group_base", c->group_base);
	SET("user_attr", c->user_attr);
	SET("bind_dn", c->bind_dn);
	SET("bind_password_file", c->bind_password_file);
	SET("sasl_external", c->sasl_external ? "yes" : "no");
	SET("starttls", c->starttls ? "yes" : "no");
	SET("tls_cacert", c->tls_cacert);
	SET("tls_reqcert", c->tls_reqcert);
	snprintf(num, sizeof(num), "%ld", c->network_timeout * 1000);
	SET("network_timeout_ms", num);
	snprintf(num, sizeof(num), "%ld", c->search_timeout * 1000);
	SET("search_timeout_ms", num);
	snprintf(num, sizeof(num), "%ld", c->nesting_depth);
	SET("nesting_depth", num);
	SET("membership", c->membership);
	set_password_owner(c, cfg);
	rc = dir_config_check(cfg, why, sizeof(why));
out:
	if (rc != 0)
		snprintf(err, errlen, "[ldap]: %s", why);
	return rc;
}

static void host_name(const struct pg_conf *c, char *out, size_t outsz)
{
	if (c->hostname[0] != '\0') {
		snprintf(out, outsz, "%s", c->hostname);
		return;
	}
	if (gethostname(out, outsz) != 0)
		out[0] = '\0';
	out[outsz - 1] = '\0';
}

/* Everything a configuration gives, built before anything is swapped. */
static int prepare(const struct pg_conf *c, struct dir_config **cfg,
                   struct pg_policy **pol, char *err, size_t errlen)
{
	char host[256];
	int rc;

	*cfg = NULL;
	*pol = NULL;
	if (!c->ldap) {
		snprintf(err, errlen, "[ldap]: section missing");
		return PG_ERR_CONFIG;
	}
	if ((*cfg = calloc(1, sizeof(**cfg))) == NULL)
		return PG_ERR_NOMEM;
	host_name(c, host, sizeof(host));
	if ((rc = make_dir_config(c, *cfg, err, errlen)) != 0 ||
	    (rc = policy_new(c, host, pol, err, errlen)) != 0) {
		free(*cfg);
		*cfg = NULL;
	}
	return rc;
}

/* Whether cfg's timeouts fit inside the module's default daemon_timeout;
 * if not, 1 and the warning in out. */
static int timeouts_warning(const struct dir_config *cfg, char *out,
                            size_t outsz)
{
	char why[PG_CONF_ERRLEN - sizeof("[ldap]: ") + 1];

	if (!dir_config_fits(cfg, PG_CONF_DAEMON_TIMEOUT_MS, why, sizeof(why)))
		return 0;
	snprintf(out, outsz, "[ldap]: %s", why);
	return 1;
}

static void log_timeouts(const struct dir_config *cfg)
{
	char w[PG_CONF_ERRLEN];

	if (timeouts_warning(cfg, w, sizeof(w)))
		log_warnx("%s", w);
}

int authz_check_config(const struct pg_conf *conf, char *err, size_t errlen,
                       char *warn, size_t warnlen)
{
	struct dir_config *cfg;
	struct pg_policy *pol;
	int rc = prepare(conf, &cfg, &pol, err, errlen);

	if (warnlen > 0)
		warn[0] = '\0';
	if (rc == 0)
		timeouts_warning(cfg, warn, warnlen);
	free(cfg);
	policy_free(pol);
	return rc;
}

static void apply_settings(struct pg_authz *a, const struct pg_conf *c,
                           const struct dir_config *cfg)
{
	a->dir_cfg = *cfg;
	a->ttls.ttl = c->ttl;
	a->ttls.negative_ttl = c->negative_ttl;
	a->ttls.login_refresh = c->login_refresh;
	a->ttls.offline_grace = c->offline_grace;
	memcpy(a->uris, cfg->uris, sizeof(a->uris));
	a->nuris = cfg->nuris;
}

/* ----------------------------------------------------------------- worker */

/* A probe's outcome, in URI order, as far as its thread got. */
static void apply_probe(struct dir *d, uint32_t gen, const struct probe *p)
{
	size_t i;

	if (p->gen != gen) {
		log_debug("directory: a probe with settings since replaced: "
		          "outcome dropped");
		return;
	}
	for (i = 0; i < p->n; i++)
		if (p->rc[i] <= 0 && dir_probe_apply(d, i, p->rc[i]))
			break;
}

static void run_job(struct dir *d, uint32_t gen, struct job *j)
{
	if (j->probe != NULL)
		apply_probe(d, gen, j->probe);
	else
		j->rc = dir_lookup(d, j->user, &j->res);
}

static void *worker_main(void *arg)
{
	struct pg_authz *a = arg;
	struct dir *d = NULL;
	struct dir_config *cfg;
	char err[PG_CONF_ERRLEN];
	uint64_t one = 1;
	uint32_t gen = 0;
	struct job *j;

	pthread_mutex_lock(&a->mu);
	while (!a->stop) {
		if ((cfg = a->new_cfg) != NULL) {
			a->new_cfg = NULL;
			gen = a->new_gen;
			dir_free(d);
			d = NULL;
			/* Checked by prepare(); a failure here is memory. */
			if (dir_new(cfg, &d, err, sizeof(err)) != 0)
				log_errx("directory client: %s", err);
			free(cfg);
		}
		if ((j = a->urgent_q) != NULL)
			a->urgent_q = j->next;
		else if ((j = a->background_q) != NULL)
			a->background_q = j->next;
		else {
			pthread_cond_wait(&a->cv, &a->mu);
			continue;
		}
		pthread_mutex_unlock(&a->mu);
		if (d != NULL)
			run_job(d, gen, j);
		else
			j->rc = PG_ERR_NOMEM;
		pthread_mutex_lock(&a->mu);
		if (d != NULL) {
			dir_status(d, &a->status);
			a->status_ms = time_mono_ms();
		}
		j->next = a->done;
		a->done = j;
		if (write(a->efd, &one, sizeof(one)) != (ssize_t)sizeof(one))
			log_warn("waking the event loop");
	}
	pthread_mutex_unlock(&a->mu);
	dir_free(d);
	return NULL;
}

/* ---------------------------------------------------------------- answers */

static const char *verdict_reason(enum policy_verdict v)
{
	return v == POLICY_TERMINAL ? "terminal" : "no-rule";
}

static const char *negative_reason(const struct cache_entry *e)
{
	return e->negative == CACHE_NEG_AMBIGUOUS ? "ambiguous-user"
	                                          : "unknown-user";
}

static int deny(struct pg_msg *resp, const char *reason, const char *source)
{
	int rc;

	proto_msg_init(resp, PG_VERB_OK);
	if ((rc = proto_add(resp, "allowed", "no")) != 0 ||
	    (rc = proto_add(resp, "reason", reason)) != 0)
		return rc;
	return proto_add(resp, "source", source);
}

/*
 * The policy's answer for e. Its groups are matched (DNs parsed) once per
 * entry and policy generation; after that a login's answer is bit
 * operations, and CHECK's fields (memo_scopes...) a bit test.
 */
static void eval_entry(const struct pg_authz *a, struct cache_entry *e,
                       struct policy_result *res)
{
	struct policy_group g[CACHE_MAX_GROUPS];

	if (e->memo_gen == a->gen) {
		policy_grant(a->policy, e->memo_roles, res);
		return;
	}
	e->memo_roles =
	    policy_match(a->policy, g, cache_groups(e, g, CACHE_MAX_GROUPS));
	policy_grant(a->policy, e->memo_roles, res);
	e->memo_scopes = res->scopes;
	e->memo_breakglass = res->breakglass;
	e->memo_verdict = (uint8_t)res->verdict;
	e->memo_gen = a->gen;
}

/* The roles behind the scopes, each once, LF-separated, in file order. */
static void rule_list(const struct pg_authz *a, const struct policy_result *r,
                      char *out, size_t outsz)
{
	uint32_t roles = 0;
	uint64_t m;
	size_t pos = 0, i;
	int n;

	for (m = r->scopes; m != 0; m &= m - 1)
		roles |= UINT32_C(1) << r->rule[__builtin_ctzll(m)];
	out[0] = '\0';
	for (i = 0; i < policy_nroles(a->policy); i++) {
		if (!(roles & (UINT32_C(1) << i)))
			continue;
		n = snprintf(out + pos, outsz - pos, "%s%s",
		             pos > 0 ? "\n" : "",
		             policy_role_name(a->policy, i));
		if (n < 0 || (size_t)n >= outsz - pos)
			break;
		pos += (size_t)n;
	}
}

static int answer_login(struct pg_authz *a, const char *user,
                        struct cache_entry *e, const char *source, int64_t now,
                        struct pg_msg *resp)
{
	char scopes[PG_PROTO_MAX_LINE], rules[PG_PROTO_MAX_LINE];
	struct policy_result r;
	int rc;

	if (e->negative)
		return deny(resp, negative_reason(e), source);
	eval_entry(a, e, &r);
	if (r.verdict != POLICY_ALLOW)
		return deny(resp, verdict_reason(r.verdict), source);
	if ((rc = policy_scope_list(a->policy, r.scopes, scopes,
	                            sizeof(scopes))) != 0)
		return rc;
	rule_list(a, &r, rules, sizeof(rules));
	proto_msg_init(resp, PG_VERB_OK);
	if ((rc = proto_add(resp, "allowed", "yes")) != 0 ||
	    (rc = proto_add(resp, "scopes", scopes)) != 0 ||
	    (rc = proto_add(resp, "role",
	                    policy_role_name(a->policy, (size_t)r.role))) !=
	        0 ||
	    (rc = proto_add(resp, "rule", rules)) != 0 ||
	    (rc = proto_add(resp, "source", source)) != 0 ||
	    (rc = proto_add_i64(
	         resp, "age", now > e->fetched_at ? now - e->fetched_at : 0)) !=
	        0)
		return rc;
	/* For the audit trail's break-glass record and alert (dispatch.c). */
	if (r.breakglass == 0 ||
	    (rc = policy_scope_list(a->policy, r.breakglass, scopes,
	                            sizeof(scopes))) != 0)
		return rc;
	return proto_add(resp, "breakglass", scopes);
}

static int answer_check(struct pg_authz *a, const char *user, const char *scope,
                        struct cache_entry *e, const char *source,
                        struct pg_msg *resp)
{
	struct policy_result r;
	uint64_t bit;
	int id;

	if (e->negative)
		return deny(resp, negative_reason(e), source);
	if (e->memo_gen != a->gen)
		eval_entry(a, e, &r);
	if (e->memo_verdict == POLICY_TERMINAL)
		return deny(resp, "terminal", source);
	id = policy_scope_id(a->policy, scope);
	bit = id >= 0 ? UINT64_C(1) << id : 0;
	if (!(e->memo_scopes & bit))
		return deny(resp, "no-rule", source);
	proto_msg_init(resp, PG_VERB_OK);
	if (proto_add(resp, "allowed", "yes") != 0 ||
	    proto_add(resp, "source", source) != 0)
		return PG_ERR_TOOLONG;
	/* For the audit trail's break-glass record (dispatch.c). */
	return (e->memo_breakglass & bit) ? proto_add(resp, "breakglass", scope)
	                                  : 0;
}

/* Join DNs of e's groups with LF, and "scope role" pairs likewise. */
static int answer_explain(struct pg_authz *a, const struct cache_entry *e,
                          const char *source, int64_t now, struct pg_msg *resp)
{
	struct policy_group g[CACHE_MAX_GROUPS];
	char groups[PG_PROTO_MAX_LINE], scopes[PG_PROTO_MAX_LINE];
	char rules[PG_PROTO_MAX_LINE];
	struct policy_result r;
	size_t n, i, pos = 0;
	uint64_t m;
	int rc, id, k;

	proto_msg_init(resp, PG_VERB_OK);
	if (e == NULL || e->negative) {
		if ((rc = proto_add(resp, "found", "no")) != 0 ||
		    (e != NULL &&
		     (rc = proto_add(resp, "reason", negative_reason(e))) != 0))
			return rc;
		return proto_add(resp, "source", e == NULL ? "none" : source);
	}
	n = cache_groups(e, g, CACHE_MAX_GROUPS);
	policy_eval(a->policy, g, n, &r);
	groups[0] = '\0';
	for (i = 0; i < n; i++) {
		k = snprintf(groups + pos, sizeof(groups) - pos, "%s%s",
		             i > 0 ? "\n" : "", g[i].dn);
		if (k < 0 || (size_t)k >= sizeof(groups) - pos)
			return PG_ERR_TOOLONG;
		pos += (size_t)k;
	}
	pos = 0;
	rules[0] = '\0';
	for (m = r.scopes; m != 0; m &= m - 1) {
		id = __builtin_ctzll(m);
		k = snprintf(rules + pos, sizeof(rules) - pos, "%s%s %s",
		             pos > 0 ? "\n" : "",
		             policy_scope_name(a->policy, (size_t)id),
		             policy_role_name(a->policy, r.rule[id]));
		if (k < 0 || (size_t)k >= sizeof(rules) - pos)
			return PG_ERR_TOOLONG;
		pos += (size_t)k;
	}
	if ((rc = policy_scope_list(a->policy, r.scopes, scopes,
	                            sizeof(scopes))) != 0)
		return rc;
	if ((rc = proto_add(resp, "found", "yes")) != 0 ||
	    (rc = proto_add(resp, "dn", e->dn)) != 0 ||
	    (rc = proto_add(resp, "groups", groups)) != 0 ||
	    (rc = proto_add(resp, "role",
	                    r.role >= 0
	                        ? policy_role_name(a->policy, (size_t)r.role)
	                        : "")) != 0 ||
	    (rc = proto_add(resp, "scopes", scopes)) != 0 ||
	    (rc = proto_add(resp, "rules", rules)) != 0 ||
	    (rc = proto_add(resp, "source", source)) != 0 ||
	    (rc = proto_add_i64(
	         resp, "age", now > e->fetched_at ? now - e->fetched_at : 0)) !=
	        0)
		return rc;
	return proto_add(resp, "server",
	                 e->server < a->nuris ? a->uris[e->server] : "");
}

/* The answer of kind from entry e (NULL: none) as source. */
static int answer(struct pg_authz *a, enum authz_kind kind, const char *user,
                  const char *scope, struct cache_entry *e, const char *source,
                  int64_t now, struct pg_msg *resp)
{
	if (kind == AUTHZ_EXPLAIN)
		return answer_explain(a, e, source, now, resp);
	if (e == NULL)
		return deny(resp, "directory-unreachable", source);
	if (kind == AUTHZ_CHECK)
		return answer_check(a, user, scope, e, source, resp);
	return answer_login(a, user, e, source, now, resp);
}

/* Hand a parked client its answer (the core audits, logs and sends it). */
static void deliver(struct pg_authz *a, const struct waiter *w,
                    const struct pg_msg *resp, int rc)
{
	a->complete.done(a->complete.arg, w->ticket, rc, resp);
}

/* --------------------------------------------------------------- the jobs */

static struct job *find_flight(const struct pg_authz *a, const char *user)
{
	struct job *j;

	for (j = a->flight; j != NULL; j = j->flight)
		if (j->probe == NULL && strcmp(j->user, user) == 0)
			return j;
	return NULL;
}

/* Append j to queue q; the caller holds a->mu. The queues are short, so
 * appending by walking is fine. */
static void enqueue(struct job **q, struct job *j)
{
	while (*q != NULL)
		q = &(*q)->next;
	j->next = NULL;
	*q = j;
}

/*
 * A client now waits for background job j (a refresh-ahead, or the
 * offline retry): move it to the urgent queue if the worker has not taken
 * it yet, so the client does not wait behind up to AUTHZ_MAX_BACKGROUND
 * other lookups.
 */
static void promote(struct pg_authz *a, struct job *j)
{
	struct job **p;

	pthread_mutex_lock(&a->mu);
	for (p = &a->background_q; *p != NULL && *p != j; p = &(*p)->next)
		;
	if (*p == j) {
		*p = j->next;
		enqueue(&a->urgent_q, j);
		pthread_cond_signal(&a->cv);
	}
	pthread_mutex_unlock(&a->mu);
	j->urgent = 1;
	a->background--;
}

/* Queue a lookup of user. Returns the job, which a caller may add a
 * waiter to, or NULL (no memory, or background work is at its bound). */
static struct job *submit(struct pg_authz *a, const char *user, int urgent,
                          int store)
{
	struct job *j = find_flight(a, user);
	size_t len = strlen(user) + 1;

	if (j != NULL) {
		j->store |= store;
		if (urgent && !j->urgent)
			promote(a, j);
		return j;
	}
	if (!urgent && a->background >= AUTHZ_MAX_BACKGROUND)
		return NULL;
	if ((j = calloc(1, sizeof(*j) + len)) == NULL)
		return NULL;
	memcpy(j->user, user, len);
	j->store = store;
	j->urgent = urgent;
	j->flight = a->flight;
	a->flight = j;
	if (!urgent)
		a->background++;
	pthread_mutex_lock(&a->mu);
	/* Urgent work goes first: a client is waiting for it. */
	enqueue(urgent ? &a->urgent_q : &a->background_q, j);
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
	return j;
}

static int park(struct pg_authz *a, struct job *j, const struct authz_query *q,
                int64_t deadline_ms)
{
	struct waiter *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return PG_ERR_NOMEM;
	w->ticket = q->ticket;
	w->kind = q->kind;
	w->deadline_ms = deadline_ms;
	if (q->scope != NULL)
		snprintf(w->scope, sizeof(w->scope), "%s", q->scope);
	w->next = j->waiters;
	j->waiters = w;
	return AUTHZ_PARKED;
}

static void set_online(struct pg_authz *a, int online, int64_t now)
{
	size_t n;

	if (online == a->online)
		return;
	a->online = online;
	if (!online) {
		a->offline_since = now;
		log_errx("directory unreachable: serving cached entries "
		         "stale for up to %lld s",
		         (long long)a->ttls.offline_grace);
		return;
	}
	/* What they recorded during the outage may be wrong. */
	n = cache_flush_negative(a->cache);
	log_info("directory reachable again after %lld s; %zu negative "
	         "entr%s dropped",
	         (long long)(now - a->offline_since), n, n == 1 ? "y" : "ies");
}

static unsigned server_index(const struct pg_authz *a, const char *uri)
{
	unsigned i;

	for (i = 0; i < a->nuris; i++)
		if (strcmp(a->uris[i], uri) == 0)
			return i;
	return 0;
}

/* Take in a finished lookup: the directory's health, and the cache. */
static void absorb(struct pg_authz *a, struct job *j, int64_t now)
{
	switch (j->rc) {
	case 0:
		set_online(a, 1, now);
		if (j->store && cache_store(a->cache, j->user, j->res,
		                            server_index(a, j->res->server),
		                            now, NULL) != 0)
			log_errx("no memory to cache user=%s", j->user);
		break;
	case PG_ERR_NOTFOUND:
	case PG_ERR_BAD_USER:
	case PG_ERR_AMBIGUOUS:
		set_online(a, 1, now);
		if (j->store &&
		    cache_store_negative(a->cache, j->user, now,
		                         j->rc == PG_ERR_AMBIGUOUS
		                             ? CACHE_NEG_AMBIGUOUS
		                             : CACHE_NEG_UNKNOWN) != 0)
			log_errx("no memory to cache user=%s", j->user);
		break;
	case PG_ERR_UNAVAIL:
	case PG_ERR_TIMEOUT:
		set_online(a, 0, now);
		break;
	default:
		/* Credentials refused, a size limit, memory: the servers
		 * answer, but this user cannot be resolved now. */
		log_errx("directory lookup of user=%s failed: %s", j->user,
		         pg_strerror(j->rc));
	}
}

/* The answer a waiter gets once its job is done (lookup result r). */
static void finish_waiter(struct pg_authz *a, struct job *j,
                          const struct waiter *w, int64_t now)
{
	struct cache_entry *e;
	const char *source;
	struct pg_msg resp;
	int rc;

	if (j->rc == 0 && !j->store && w->kind == AUTHZ_EXPLAIN) {
		/* EXPLAIN of an uncached user: answer from the result
		 * without caching it (it does not change the cache). */
		struct cache_entry *tmp = NULL;
		struct pg_cache *scratch = NULL;

		if (cache_new(&scratch) == 0 &&
		    cache_store(scratch, j->user, j->res,
		                server_index(a, j->res->server), now,
		                &tmp) == 0)
			rc = answer(a, w->kind, j->user, w->scope, tmp, "fresh",
			            now, &resp);
		else
			rc = PG_ERR_NOMEM;
		cache_free(scratch);
		deliver(a, w, &resp, rc);
		return;
	}
	e = cache_find(a->cache, j->user);
	if (j->rc == 0 || j->rc == PG_ERR_NOTFOUND ||
	    j->rc == PG_ERR_BAD_USER || j->rc == PG_ERR_AMBIGUOUS)
		source = "fresh";
	else if (e != NULL) {
		/* The refresh failed: what the cache holds, by the rules. */
		switch (cache_judge(e, now, &a->ttls, a->online, 0)) {
		case CACHE_EXPIRED:
			source = "stale";
			e = NULL;
			break;
		case CACHE_STALE:
			source = "stale";
			log_info("serving user=%s stale (age %lld s)", j->user,
			         (long long)(now - e->fetched_at));
			break;
		default:
			source = "cache";
		}
	} else
		source = "none";
	if (e == NULL && w->kind != AUTHZ_EXPLAIN)
		rc = deny(&resp, "directory-unreachable", source);
	else
		rc = answer(a, w->kind, j->user, w->scope, e, source, now,
		            &resp);
	deliver(a, w, &resp, rc);
}

static void unlink_flight(struct pg_authz *a, struct job *j)
{
	struct job **p = &a->flight;

	while (*p != NULL && *p != j)
		p = &(*p)->flight;
	if (*p != NULL)
		*p = j->flight;
	if (!j->urgent)
		a->background--;
}

static void job_free(struct job *j)
{
	struct waiter *w;

	while ((w = j->waiters) != NULL) {
		j->waiters = w->next;
		free(w);
	}
	dir_result_free(j->res);
	free(j->probe);
	free(j);
}

/* ------------------------------------------------------------- fail-back */

/* The probe's thread: the network part, then the outcome to the worker,
 * first in line (applying it takes no I/O). */
static void *probe_main(void *arg)
{
	struct job *j = arg;
	struct probe *p = j->probe;
	struct pg_authz *a = p->a;
	size_t i;

	for (i = 0; i < p->n; i++) {
		if (p->rc[i] == PROBE_SKIP)
			continue;
		if ((p->rc[i] = dir_probe_server(&p->cfg, i)) == 0)
			break;
	}
	pthread_mutex_lock(&a->mu);
	enqueue(&a->urgent_q, j);
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/* Server i's backoff has expired, by a status taken age ms ago. */
static int probe_due(const struct dir_status *st, size_t i, int64_t age)
{
	return st->servers[i].retry_in_ms <= age;
}

/* Probe the servers preferred to the active one (st: the worker's last
 * status, age ms old) whose backoff has expired, if any. Returns 1 if a
 * probe began. */
static int start_probe(struct pg_authz *a, const struct dir_status *st,
                       int64_t age)
{
	size_t i, n = st->active < DIR_MAX_URIS ? st->active : 0;
	struct probe *p = NULL;
	struct job *j;

	for (i = 0; i < n && !probe_due(st, i, age); i++)
		;
	if (i == n)
		return 0;
	if ((j = calloc(1, sizeof(*j) + 1)) == NULL ||
	    (p = calloc(1, sizeof(*p))) == NULL) {
		free(j);
		return 0;
	}
	j->probe = p;
	p->a = a;
	p->gen = a->dir_gen;
	p->cfg = a->dir_cfg;
	p->n = n;
	for (i = 0; i < n; i++)
		p->rc[i] = probe_due(st, i, age) ? PROBE_PENDING : PROBE_SKIP;
	j->flight = a->flight;
	a->flight = j;
	a->background++;
	if (thread_start(&p->thread, probe_main, j) != 0) {
		log_warnx("no thread for a fail-back probe");
		unlink_flight(a, j);
		job_free(j);
		return 0;
	}
	a->probing = j;
	return 1;
}

/* A probe's job is back from the worker: its thread has ended. */
static void end_probe(struct pg_authz *a, struct job *j)
{
	pthread_join(j->probe->thread, NULL);
	a->probing = NULL;
}

/* The eventfd: collect finished jobs, oldest first, and answer. */
void authz_drain(struct pg_authz *a)
{
	struct job *list, *rev = NULL, *j;
	struct waiter *w;
	uint64_t n;
	int64_t now = (int64_t)time(NULL);

	if (read(a->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("eventfd");
	pthread_mutex_lock(&a->mu);
	list = a->done;
	a->done = NULL;
	pthread_mutex_unlock(&a->mu);
	while ((j = list) != NULL) {
		list = j->next;
		j->next = rev;
		rev = j;
	}
	while ((j = rev) != NULL) {
		rev = j->next;
		unlink_flight(a, j);
		if (j->probe != NULL)
			end_probe(a, j);
		else
			absorb(a, j, now);
		for (w = j->waiters; w != NULL; w = w->next)
			finish_waiter(a, j, w, now);
		job_free(j);
	}
}

/* ------------------------------------------------------------ housekeeping */

/* Logins whose refresh is late get the cached entry. */
static void expire_waiters(struct pg_authz *a, int64_t now_ms, int64_t now)
{
	struct waiter **p, *w;
	struct cache_entry *e;
	struct pg_msg resp;
	struct job *j;
	int rc;

	for (j = a->flight; j != NULL; j = j->flight) {
		p = &j->waiters;
		while ((w = *p) != NULL) {
			if (w->deadline_ms == 0 || w->deadline_ms > now_ms) {
				p = &w->next;
				continue;
			}
			*p = w->next;
			e = cache_find(a->cache, j->user);
			log_info("login refresh of user=%s late: answering "
			         "from the cache",
			         j->user);
			rc = answer(a, w->kind, j->user, w->scope, e, "cache",
			            now, &resp);
			deliver(a, w, &resp, rc);
			free(w);
		}
	}
}

struct ahead {
	struct pg_authz *a;
	int64_t now;
	unsigned left;
	const char *retry; /* offline: a recently seen user to try */
	int64_t retry_seen;
};

/* Refresh ahead of expiry the users seen within a ttl, with jitter so a
 * crowd that logged in together is not refreshed together. */
static int ahead_one(struct cache_entry *e, void *arg)
{
	struct ahead *h = arg;
	const struct cache_ttls *t = &h->a->ttls;
	int64_t age = h->now - e->fetched_at;
	int64_t jitter = t->ttl / 5 > 0 ? random() % (t->ttl / 5) : 0;

	if (!e->negative && e->seen_at > h->retry_seen) {
		h->retry = e->user;
		h->retry_seen = e->seen_at;
	}
	if (!h->a->online || e->negative || h->left == 0 ||
	    h->now - e->seen_at > t->ttl || age < t->ttl - jitter)
		return 0;
	if (submit(h->a, e->user, 0, 1) != NULL)
		h->left--;
	return 0;
}

static void housekeep(struct pg_authz *a, int64_t now)
{
	struct ahead h = {a, now, AUTHZ_REFRESH_BURST, NULL, INT64_MIN};
	struct dir_status st;
	int64_t age;

	cache_each(a->cache, ahead_one, &h);
	/* Offline, the way back is a lookup that succeeds: try the most
	 * recent user (the client keeps its own backoff per server). */
	if (!a->online && h.retry != NULL && a->background == 0)
		submit(a, h.retry, 0, 1);
	pthread_mutex_lock(&a->mu);
	st = a->status;
	age = time_mono_ms() - a->status_ms;
	pthread_mutex_unlock(&a->mu);
	if (a->online && st.nservers > 1 && st.active != 0 &&
	    a->probing == NULL && now - a->last_probe >= AUTHZ_PROBE_EVERY &&
	    start_probe(a, &st, age))
		a->last_probe = now;
}

void authz_tick(struct pg_authz *a)
{
	uint64_t n;

	if (read(a->tfd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("timerfd");
	expire_waiters(a, time_mono_ms(), (int64_t)time(NULL));
	if (++a->ticks % AUTHZ_HOUSEKEEP_TICKS == 0)
		housekeep(a, (int64_t)time(NULL));
}

/* ------------------------------------------------------------- the verbs */

int authz_answer(struct pg_authz *a, const struct authz_query *q,
                 struct pg_msg *resp)
{
	struct cache_entry *e = cache_find(a->cache, q->user);
	struct job *j;

	if (e != NULL) {
		a->hits++;
		e->seen_at = q->now;
	} else
		a->misses++;
	switch (cache_judge(e, q->now, &a->ttls, a->online,
	                    q->kind == AUTHZ_LOGIN)) {
	case CACHE_SERVE:
		return answer(a, q->kind, q->user, q->scope, e, "cache", q->now,
		              resp);
	case CACHE_STALE:
		log_info("serving user=%s stale (age %lld s)", q->user,
		         (long long)(q->now - e->fetched_at));
		return answer(a, q->kind, q->user, q->scope, e, "stale", q->now,
		              resp);
	case CACHE_EXPIRED:
		log_info("user=%s: cached entry older than offline_grace",
		         q->user);
		if (q->kind == AUTHZ_EXPLAIN)
			return answer(a, q->kind, q->user, q->scope, e, "stale",
			              q->now, resp);
		return deny(resp, "directory-unreachable", "stale");
	case CACHE_REFRESH:
		/* A login waits a little for the directory; anything else
		 * is answered now and refreshed behind. */
		if (q->kind == AUTHZ_LOGIN &&
		    (j = submit(a, q->user, 1, 1)) != NULL)
			return park(a, j, q,
			            time_mono_ms() + AUTHZ_LOGIN_REFRESH_MS);
		submit(a, q->user, 0, 1);
		return answer(a, q->kind, q->user, q->scope, e, "cache", q->now,
		              resp);
	case CACHE_MISS:
		break;
	}
	if ((j = submit(a, q->user, 1, q->kind != AUTHZ_EXPLAIN)) == NULL)
		return PG_ERR_NOMEM;
	return park(a, j, q, 0);
}

size_t authz_flush(struct pg_authz *a, const char *user)
{
	return cache_flush(a->cache, user);
}

int authz_status(struct pg_authz *a, struct pg_msg *resp)
{
	struct dir_status st;
	int rc;

	pthread_mutex_lock(&a->mu);
	st = a->status;
	pthread_mutex_unlock(&a->mu);
	if ((rc = proto_add(resp, "directory",
	                    a->online ? "online" : "offline")) != 0 ||
	    (rc = proto_add(resp, "server",
	                    st.active < a->nuris ? a->uris[st.active] : "")) !=
	        0 ||
	    (rc = proto_add_u64(resp, "cache_entries",
	                        cache_count(a->cache))) != 0 ||
	    (rc = proto_add_u64(resp, "cache_hits", a->hits)) != 0 ||
	    (rc = proto_add_u64(resp, "cache_misses", a->misses)) != 0)
		return rc;
	return proto_add_u64(resp, "refresh_queue", a->background);
}

/* ------------------------------------------------------------- lifecycle */

int authz_done_fd(const struct pg_authz *a)
{
	return a->efd;
}

int authz_timer_fd(const struct pg_authz *a)
{
	return a->tfd;
}

int authz_new(const struct pg_conf *conf, const struct pg_completion *done,
              struct pg_authz **out, char *err, size_t errlen)
{
	struct itimerspec its = {{0, AUTHZ_TICK_MS * 1000000L},
	                         {0, AUTHZ_TICK_MS * 1000000L}};
	struct dir_config *cfg = NULL;
	struct pg_authz *a;
	int rc = PG_ERR_NOMEM;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return PG_ERR_NOMEM;
	a->complete = *done;
	a->efd = a->tfd = -1;
	a->gen = 1;
	a->online = 1;
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	if ((rc = prepare(conf, &cfg, &a->policy, err, errlen)) != 0 ||
	    (rc = cache_new(&a->cache)) != 0)
		goto out;
	apply_settings(a, conf, cfg);
	log_timeouts(cfg);
	a->dir_gen = 1;
	a->new_cfg = cfg;
	a->new_gen = a->dir_gen;
	cfg = NULL;
	rc = PG_ERR_IO;
	a->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	a->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (a->efd < 0 || a->tfd < 0 || timerfd_settime(a->tfd, 0, &its, NULL))
		goto out;
	if (thread_start(&a->worker, worker_main, a) != 0) {
		rc = PG_ERR_IO;
		goto out;
	}
	a->started = 1;
	*out = a;
	a = NULL;
	rc = 0;
out:
	free(cfg);
	authz_free(a);
	return rc;
}

int authz_reconfigure(struct pg_authz *a, const struct pg_conf *conf, char *err,
                      size_t errlen)
{
	struct dir_config *cfg;
	struct pg_policy *pol;
	int rc;

	if ((rc = prepare(conf, &cfg, &pol, err, errlen)) != 0)
		return rc;
	policy_free(a->policy);
	a->policy = pol;
	/* Every memo is now out of date; 0 means "none", skip it. */
	if (++a->gen == 0)
		a->gen = 1;
	apply_settings(a, conf, cfg);
	log_timeouts(cfg);
	/* A probe running with the old settings: its outcome is dropped. */
	a->dir_gen++;
	pthread_mutex_lock(&a->mu);
	free(a->new_cfg);
	a->new_cfg = cfg;
	a->new_gen = a->dir_gen;
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
	return 0;
}

void authz_free(struct pg_authz *a)
{
	struct pg_msg resp;
	struct waiter *w;
	struct job *j;

	if (a == NULL)
		return;
	if (a->started) {
		pthread_mutex_lock(&a->mu);
		a->stop = 1;
		pthread_cond_signal(&a->cv);
		pthread_mutex_unlock(&a->mu);
		pthread_join(a->worker, NULL);
	}
	/* Its job is on the flight list, freed below. */
	if (a->probing != NULL)
		pthread_join(a->probing->probe->thread, NULL);
	/* Every job, queued, done or in neither, is on the flight list.
	 * Clients still parked (a reload without [ldap]) get an answer. */
	while ((j = a->flight) != NULL) {
		a->flight = j->flight;
		for (w = j->waiters; w != NULL; w = w->next) {
			proto_make_error(&resp, PG_ERR_UNAVAIL,
			                 "directory configuration removed");
			deliver(a, w, &resp, 0);
		}
		job_free(j);
	}
	free(a->new_cfg);
	if (a->efd >= 0)
		close(a->efd);
	if (a->tfd >= 0)
		close(a->tfd);
	cache_free(a->cache);
	policy_free(a->policy);
	pthread_cond_destroy(&a->cv);
	pthread_mutex_destroy(&a->mu);
	free(a);
}
