/* SPDX-License-Identifier: BSD-3-Clause */
/* The searches a directory lookup makes. */
#include "config.h"

#include "authz/dirquery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldap.h>

#include "authz/directory.h"
#include "authz/membership.h"
#include "err.h"
#include "ldapescape.h"
#include "strbuf.h"

/* attr names come from code or a checked config. */
int dirquery_filter(const struct dir_term *t, size_t n, char **out)
{
	size_t i, size = 4, esc_size = 1, need;
	struct strbuf sb;
	char *f = NULL, *esc = NULL;
	int rc = PG_ERR_NOMEM;

	for (i = 0; i < n; i++) {
		need = LDAPESCAPE_SIZE(strlen(t[i].value));
		size += strlen(t[i].attr) + 3 + need;
		if (need > esc_size)
			esc_size = need;
	}
	if ((f = malloc(size)) == NULL || (esc = malloc(esc_size)) == NULL)
		goto out;
	strbuf_init(&sb, f, size);
	if (n > 1)
		strbuf_puts(&sb, "(|");
	for (i = 0; i < n; i++) {
		rc = ldapescape_filter_value(t[i].value, strlen(t[i].value),
		                             esc, esc_size);
		if (rc != 0)
			goto out;
		strbuf_putc(&sb, '(');
		strbuf_puts(&sb, t[i].attr);
		strbuf_putc(&sb, '=');
		strbuf_puts(&sb, esc);
		strbuf_putc(&sb, ')');
	}
	if (n > 1)
		strbuf_putc(&sb, ')');
	/* Cannot fail: size counts every piece. */
	if ((rc = strbuf_finish(&sb)) != 0)
		goto out;
	*out = f;
	f = NULL;
out:
	free(esc);
	free(f);
	return rc;
}

size_t dirquery_terms(unsigned set, const char *dn, const char *user,
                      struct dir_term *t)
{
	const struct membership_kind *k;
	size_t i, n = 0;

	for (i = 0; (k = membership_kind(i)) != NULL; i++) {
		if (!(set & k->bit))
			continue;
		t[n].attr = k->attr;
		/* memberUid holds the login name, the others the entry's
		 * DN. memberUid is caseExactIA5Match (RFC 2307): exact, as
		 * the name itself was matched. */
		t[n++].value = k->bit == MEMBERSHIP_MEMBERUID ? user : dn;
	}
	return n;
}

const char *dirquery_group_base(const struct dir_config *cfg)
{
	return cfg->group_base[0] ? cfg->group_base : cfg->base_dn;
}

int dirquery_uses_memberof(const struct dir_config *cfg)
{
	return cfg->membership == CONF_MEMBERSHIP_AUTO ||
	       cfg->membership == CONF_MEMBERSHIP_MEMBEROF;
}

/* q empty, with its first attribute name name (NULL: no attributes). */
static void query_init(struct dirquery *q, const char *base, int scope,
                       int sizelimit, const char *name)
{
	memset(q, 0, sizeof(*q));
	q->base = base;
	q->scope = scope;
	q->sizelimit = sizelimit;
	snprintf(q->names[0], sizeof(q->names[0]), "%s",
	         name != NULL ? name : LDAP_NO_ATTRS);
	q->attrs[0] = q->names[0];
}

/* Build q's filter from the n terms t. */
static int query_filter(struct dirquery *q, const struct dir_term *t, size_t n)
{
	int rc = dirquery_filter(t, n, &q->owned);

	q->filter = q->owned;
	return rc;
}

int dirquery_user(struct dirquery *q, const struct dir_config *cfg,
                  const char *user)
{
	struct dir_term ut = {cfg->user_attr, user};

	query_init(q, cfg->user_base[0] ? cfg->user_base : cfg->base_dn,
	           LDAP_SCOPE_SUBTREE, DIR_USER_MATCH_MAX, cfg->user_attr);
	if (dirquery_uses_memberof(cfg)) {
		snprintf(q->names[1], sizeof(q->names[1]), "memberOf");
		q->attrs[1] = q->names[1];
	}
	return query_filter(q, &ut, 1);
}

int dirquery_groups(struct dirquery *q, const struct dir_config *cfg,
                    const struct dir_term *t, size_t n)
{
	query_init(q, dirquery_group_base(cfg), LDAP_SCOPE_SUBTREE,
	           DIR_MAX_GROUPS + 1, "cn");
	return query_filter(q, t, n);
}

void dirquery_read(struct dirquery *q, const char *dn, const char *attr)
{
	query_init(q, dn, LDAP_SCOPE_BASE, 1, attr);
	q->filter = "(objectClass=*)";
}

void dirquery_exists(struct dirquery *q, const char *base, const char *filter)
{
	query_init(q, base, LDAP_SCOPE_SUBTREE, 1, NULL);
	q->filter = filter;
}

void dirquery_free(struct dirquery *q)
{
	free(q->owned);
	q->owned = NULL;
	q->filter = NULL;
}
