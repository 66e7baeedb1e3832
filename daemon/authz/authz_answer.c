/* SPDX-License-Identifier: BSD-3-Clause */
/* The answers to AUTHZ, CHECK and EXPLAIN: from what the cache holds,
 * the policy and the query to a response. Pure logic: the cache and the
 * directory are reached through the operations it is given. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "authz/authz_answer.h"
#include "authz/cache.h"
#include "authz/policy.h"
#include "err.h"
#include "log.h"
#include "strbuf.h"

static const char *verdict_reason(enum policy_verdict v)
{
	return v == POLICY_TERMINAL ? "terminal" : "no-rule";
}

static const char *negative_reason(const struct cache_entry *e)
{
	return e->negative == CACHE_NEG_AMBIGUOUS ? "ambiguous-user"
	                                          : "unknown-user";
}

int authz_answer_deny(struct pg_msg *resp, const char *reason,
                      const char *source)
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
static void eval_entry(const struct authz_view *a, struct cache_entry *e,
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
static void rule_list(const struct authz_view *a, const struct policy_result *r,
                      char *out, size_t outsz)
{
	uint32_t roles = 0;
	uint64_t m;
	struct strbuf sb;
	size_t i;

	for (m = r->scopes; m != 0; m &= m - 1)
		roles |= UINT32_C(1) << r->rule[__builtin_ctzll(m)];
	/* A role that does not fit ends the list (strbuf drops the rest). */
	strbuf_init(&sb, out, outsz);
	for (i = 0; i < policy_nroles(a->policy); i++) {
		if (!(roles & (UINT32_C(1) << i)))
			continue;
		if (strbuf_len(&sb) > 0)
			strbuf_putc(&sb, '\n');
		strbuf_puts(&sb, policy_role_name(a->policy, i));
	}
}

static int answer_login(const struct authz_view *a, const char *user,
                        struct cache_entry *e, const char *source, int64_t now,
                        struct pg_msg *resp)
{
	char scopes[PG_PROTO_MAX_LINE], rules[PG_PROTO_MAX_LINE];
	struct policy_result r;
	int rc;

	if (e->negative)
		return authz_answer_deny(resp, negative_reason(e), source);
	eval_entry(a, e, &r);
	if (r.verdict != POLICY_ALLOW)
		return authz_answer_deny(resp, verdict_reason(r.verdict),
		                         source);
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

static int answer_check(const struct authz_view *a, const char *user,
                        const char *scope, struct cache_entry *e,
                        const char *source, struct pg_msg *resp)
{
	struct policy_result r;
	uint64_t bit;
	int id;

	if (e->negative)
		return authz_answer_deny(resp, negative_reason(e), source);
	if (e->memo_gen != a->gen)
		eval_entry(a, e, &r);
	if (e->memo_verdict == POLICY_TERMINAL)
		return authz_answer_deny(resp, "terminal", source);
	id = policy_scope_id(a->policy, scope);
	bit = id >= 0 ? UINT64_C(1) << id : 0;
	if (!(e->memo_scopes & bit))
		return authz_answer_deny(resp, "no-rule", source);
	proto_msg_init(resp, PG_VERB_OK);
	if (proto_add(resp, "allowed", "yes") != 0 ||
	    proto_add(resp, "source", source) != 0)
		return PG_ERR_TOOLONG;
	/* For the audit trail's break-glass record (dispatch.c). */
	return (e->memo_breakglass & bit) ? proto_add(resp, "breakglass", scope)
	                                  : 0;
}

/* Join DNs of e's groups with LF, and "scope role" pairs likewise. */
static int answer_explain(const struct authz_view *a,
                          const struct cache_entry *e, const char *source,
                          int64_t now, struct pg_msg *resp)
{
	struct policy_group g[CACHE_MAX_GROUPS];
	char groups[PG_PROTO_MAX_LINE], scopes[PG_PROTO_MAX_LINE];
	char rules[PG_PROTO_MAX_LINE];
	struct policy_result r;
	struct strbuf sb;
	size_t n, i;
	uint64_t m;
	int rc, id;

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
	strbuf_init(&sb, groups, sizeof(groups));
	for (i = 0; i < n; i++) {
		if (i > 0)
			strbuf_putc(&sb, '\n');
		strbuf_puts(&sb, g[i].dn);
	}
	if ((rc = strbuf_finish(&sb)) != 0)
		return rc;
	strbuf_init(&sb, rules, sizeof(rules));
	for (m = r.scopes; m != 0; m &= m - 1) {
		id = __builtin_ctzll(m);
		if (strbuf_len(&sb) > 0)
			strbuf_putc(&sb, '\n');
		strbuf_puts(&sb, policy_scope_name(a->policy, (size_t)id));
		strbuf_putc(&sb, ' ');
		strbuf_puts(&sb, policy_role_name(a->policy, r.rule[id]));
	}
	if ((rc = strbuf_finish(&sb)) != 0)
		return rc;
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

int authz_answer_entry(const struct authz_view *a, enum authz_kind kind,
                       const char *user, const char *scope,
                       struct cache_entry *e, const char *source, int64_t now,
                       struct pg_msg *resp)
{
	if (kind == AUTHZ_EXPLAIN)
		return answer_explain(a, e, source, now, resp);
	if (e == NULL)
		return authz_answer_deny(resp, "directory-unreachable", source);
	if (kind == AUTHZ_CHECK)
		return answer_check(a, user, scope, e, source, resp);
	return answer_login(a, user, e, source, now, resp);
}

/* What a lookup (its rc; e: what the cache holds for the user now) lets
 * a client that waited for it be told. */
int authz_answer_after_lookup(const struct authz_view *a,
                              const struct authz_query *q, int lookup_rc,
                              struct cache_entry *e, struct pg_msg *resp)
{
	const char *source;

	if (lookup_rc == 0 || lookup_rc == PG_ERR_NOTFOUND ||
	    lookup_rc == PG_ERR_BAD_USER || lookup_rc == PG_ERR_AMBIGUOUS)
		source = "fresh";
	else if (e != NULL) {
		/* The refresh failed: what the cache holds, by the rules. */
		switch (cache_judge(e, q->now, &a->ttls, a->online, 0)) {
		case CACHE_EXPIRED:
			source = "stale";
			e = NULL;
			break;
		case CACHE_STALE:
			source = "stale";
			log_info("serving user=%s stale (age %lld s)", q->user,
			         (long long)(q->now - e->fetched_at));
			break;
		default:
			source = "cache";
		}
	} else
		source = "none";
	return authz_answer_entry(a, q->kind, q->user, q->scope, e, source,
	                          q->now, resp);
}

int authz_answer_query(const struct authz_view *a,
                       const struct authz_dirops *ops,
                       const struct authz_query *q, struct pg_msg *resp)
{
	struct cache_entry *e = ops->find(ops->arg, q->user);
	int rc;

	if (e != NULL)
		e->seen_at = q->now;
	switch (cache_judge(e, q->now, &a->ttls, a->online,
	                    q->kind == AUTHZ_LOGIN)) {
	case CACHE_SERVE:
		return authz_answer_entry(a, q->kind, q->user, q->scope, e,
		                          "cache", q->now, resp);
	case CACHE_STALE:
		log_info("serving user=%s stale (age %lld s)", q->user,
		         (long long)(q->now - e->fetched_at));
		return authz_answer_entry(a, q->kind, q->user, q->scope, e,
		                          "stale", q->now, resp);
	case CACHE_EXPIRED:
		log_info("user=%s: cached entry older than offline_grace",
		         q->user);
		if (q->kind == AUTHZ_EXPLAIN)
			return authz_answer_entry(a, q->kind, q->user, q->scope,
			                          e, "stale", q->now, resp);
		return authz_answer_deny(resp, "directory-unreachable",
		                         "stale");
	case CACHE_REFRESH:
		/* A login waits a little for the directory; anything else
		 * is answered now and refreshed behind. */
		if (q->kind == AUTHZ_LOGIN &&
		    (rc = ops->wait(ops->arg, q, 1, AUTHZ_LOGIN_REFRESH_MS)) !=
		        0)
			return rc;
		ops->refresh(ops->arg, q->user);
		return authz_answer_entry(a, q->kind, q->user, q->scope, e,
		                          "cache", q->now, resp);
	case CACHE_MISS:
		break;
	}
	rc = ops->wait(ops->arg, q, q->kind != AUTHZ_EXPLAIN, 0);
	return rc != 0 ? rc : PG_ERR_NOMEM;
}
