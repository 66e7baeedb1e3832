/* SPDX-License-Identifier: BSD-3-Clause */
/* The authorization policy: roles map groups to interned scopes; a user's
 * groups become a scope bitset and the role behind each scope. */
#include "config.h"

#include <fnmatch.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authz/dn.h"
#include "err.h"
#include "authz/policy.h"
#include "strbuf.h"

struct policy_role {
	char name[PG_CONF_ROLE_NAME];
	bool breakglass;
	bool here; /* its terminals patterns match this host */
	uint64_t scopes;
};

/* A role's group, normalized once: a DN's dn_key() or a cn. */
struct policy_rgroup {
	char *name;
	bool is_dn;
	unsigned role;
};

struct pg_policy {
	size_t nroles, ngroups, nscopes;
	struct policy_role roles[PG_CONF_MAX_ROLES];
	struct policy_rgroup *groups;
	bool has_dn; /* some group is a DN: users' group DNs need keys */
	char scopes[POLICY_MAX_SCOPES][PG_CONF_SCOPE_NAME];
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int policy_scope_id(const struct pg_policy *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nscopes; i++)
		if (strcmp(p->scopes[i], name) == 0)
			return (int)i;
	return PG_ERR_NOTFOUND;
}

/* Intern each name of a role's scope list; the bits go to *mask. */
static int intern_scopes(struct pg_policy *p, const char *list, uint64_t *mask)
{
	char name[PG_CONF_SCOPE_NAME];
	size_t len;
	int id;

	for (;;) {
		while (is_blank(*list))
			list++;
		if (*list == '\0')
			return 0;
		len = strcspn(list, " \t");
		/* conf.c checked the length. */
		if (len >= sizeof(name))
			return PG_ERR_INVAL;
		memcpy(name, list, len);
		name[len] = '\0';
		list += len;
		if ((id = policy_scope_id(p, name)) < 0) {
			if (p->nscopes == POLICY_MAX_SCOPES)
				return PG_ERR_TOOLONG;
			id = (int)p->nscopes++;
			memcpy(p->scopes[id], name, len + 1);
		}
		*mask |= UINT64_C(1) << id;
	}
}

/* "" matches every host; else any of the space-separated globs. */
static bool terminals_match(const char *list, const char *host)
{
	char pat[PG_CONF_LIST_MAX];
	size_t len;

	while (is_blank(*list))
		list++;
	if (*list == '\0')
		return true;
	while (*list != '\0') {
		len = strcspn(list, " \t");
		memcpy(pat, list, len);
		pat[len] = '\0';
		/* Host names are case-insensitive (RFC 4343). */
		if (fnmatch(pat, host, FNM_CASEFOLD) == 0)
			return true;
		list += len;
		while (is_blank(*list))
			list++;
	}
	return false;
}

static int add_group(struct pg_policy *p, const char *g, unsigned role)
{
	struct policy_rgroup *rg = &p->groups[p->ngroups];
	int rc;

	rg->is_dn = strchr(g, '=') != NULL;
	if (rg->is_dn) {
		if ((rc = dn_key(g, &rg->name)) != 0)
			return rc;
	} else if ((rg->name = strdup(g)) == NULL)
		return PG_ERR_NOMEM;
	rg->role = role;
	p->has_dn |= rg->is_dn;
	p->ngroups++;
	return 0;
}

int policy_new(const struct pg_conf *conf, const char *hostname,
               struct pg_policy **out, char *err, size_t errlen)
{
	const struct pg_conf_role *cr;
	struct pg_policy *p;
	struct policy_role *r;
	size_t i, total = 0;
	unsigned g;
	int rc = PG_ERR_NOMEM;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		goto out;
	for (i = 0; i < conf->nroles; i++)
		total += conf->roles[i].ngroups;
	if (total > 0 &&
	    (p->groups = calloc(total, sizeof(*p->groups))) == NULL)
		goto out;
	for (i = 0; i < conf->nroles; i++) {
		cr = &conf->roles[i];
		r = &p->roles[i];
		memcpy(r->name, cr->name, sizeof(r->name));
		r->breakglass = cr->breakglass != 0;
		r->here = terminals_match(cr->terminals, hostname);
		if (intern_scopes(p, cr->scopes, &r->scopes) != 0) {
			snprintf(err, errlen,
			         "[role %s]: scopes: more than %d distinct "
			         "scopes in the policy",
			         cr->name, POLICY_MAX_SCOPES);
			rc = PG_ERR_CONFIG;
			goto out;
		}
		for (g = 0; g < cr->ngroups; g++) {
			const char *gv = conf_role_group(conf, cr, g);

			if ((rc = add_group(p, gv, (unsigned)i)) == 0)
				continue;
			if (rc == PG_ERR_INVAL) {
				snprintf(err, errlen,
				         "[role %s]: group: not a valid DN: %s",
				         cr->name, gv);
				rc = PG_ERR_CONFIG;
			} else
				snprintf(err, errlen, "[role %s]: group: %s",
				         cr->name, pg_strerror(rc));
			goto out;
		}
		p->nroles++;
	}
	*out = p;
	p = NULL;
	rc = 0;
out:
	policy_free(p);
	return rc;
}

void policy_free(struct pg_policy *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->ngroups; i++)
		free(p->groups[i].name);
	free(p->groups);
	free(p);
}

/* Whether role group rg names group g: DNs by dn_key() (key: g's, or
 * NULL if it has none), cns case-insensitively like caseIgnoreMatch. */
static bool group_matches(const struct policy_rgroup *rg,
                          const struct policy_group *g, const char *key)
{
	if (rg->is_dn)
		return key != NULL && strcmp(rg->name, key) == 0;
	return g->cn != NULL && strcasecmp(rg->name, g->cn) == 0;
}

/* A group whose DN cannot be parsed or keyed (no memory) matches no DN
 * rule: a refusal, never a wrong grant. */
uint32_t policy_match(const struct pg_policy *p,
                      const struct policy_group *groups, size_t n)
{
	uint32_t matched = 0;
	char *key;
	size_t i, j;

	for (i = 0; i < n; i++) {
		key = NULL;
		if (p->has_dn && groups[i].dn != NULL &&
		    dn_key(groups[i].dn, &key) != 0)
			key = NULL;
		for (j = 0; j < p->ngroups; j++)
			if (group_matches(&p->groups[j], &groups[i], key))
				matched |= UINT32_C(1) << p->groups[j].role;
		free(key);
	}
	return matched;
}

void policy_eval(const struct pg_policy *p, const struct policy_group *groups,
                 size_t n, struct policy_result *res)
{
	policy_grant(p, policy_match(p, groups, n), res);
}

void policy_grant(const struct pg_policy *p, uint32_t matched,
                  struct policy_result *res)
{
	uint64_t plain = 0, todo;
	const struct policy_role *r;
	size_t i;
	int id;

	memset(res, 0, sizeof(*res));
	res->role = -1;
	res->verdict = matched == 0 ? POLICY_NO_RULE : POLICY_TERMINAL;
	/* Two passes so a scope's rule is a regular role whenever one
	 * grants it; break-glass is then only what nothing else gives. */
	for (i = 0; i < p->nroles; i++) {
		r = &p->roles[i];
		if (!(matched & (UINT32_C(1) << i)) || !r->here)
			continue;
		if (res->role < 0)
			res->role = (int)i;
		if (r->breakglass)
			continue;
		for (todo = r->scopes & ~plain; todo != 0; todo &= todo - 1) {
			id = __builtin_ctzll(todo);
			res->rule[id] = (uint8_t)i;
		}
		plain |= r->scopes;
	}
	res->scopes = plain;
	for (i = 0; i < p->nroles; i++) {
		r = &p->roles[i];
		if (!(matched & (UINT32_C(1) << i)) || !r->here ||
		    !r->breakglass)
			continue;
		for (todo = r->scopes & ~res->scopes; todo != 0;
		     todo &= todo - 1) {
			id = __builtin_ctzll(todo);
			res->rule[id] = (uint8_t)i;
		}
		res->scopes |= r->scopes;
	}
	res->breakglass = res->scopes & ~plain;
	if (res->role >= 0)
		res->verdict = POLICY_ALLOW;
}

size_t policy_nroles(const struct pg_policy *p)
{
	return p->nroles;
}

size_t policy_nscopes(const struct pg_policy *p)
{
	return p->nscopes;
}

const char *policy_role_name(const struct pg_policy *p, size_t role)
{
	return role < p->nroles ? p->roles[role].name : NULL;
}

int policy_role_breakglass(const struct pg_policy *p, size_t role)
{
	return role < p->nroles && p->roles[role].breakglass;
}

const char *policy_scope_name(const struct pg_policy *p, size_t id)
{
	return id < p->nscopes ? p->scopes[id] : NULL;
}

int policy_scope_list(const struct pg_policy *p, uint64_t mask, char *out,
                      size_t outsz)
{
	struct strbuf sb;
	size_t before;
	int id;

	strbuf_init(&sb, out, outsz);
	for (; mask != 0; mask &= mask - 1) {
		id = __builtin_ctzll(mask);
		if ((size_t)id >= p->nscopes)
			continue;
		before = strbuf_len(&sb);
		if (before > 0)
			strbuf_putc(&sb, ' ');
		strbuf_puts(&sb, p->scopes[id]);
		if (strbuf_finish(&sb) != 0) {
			/* Cut at a name boundary, not after a blank. */
			strbuf_truncate(&sb, before);
			break;
		}
	}
	return strbuf_finish(&sb);
}
