/* SPDX-License-Identifier: BSD-3-Clause */
/* The groups a lookup has found so far, and the visited set beside them. */
#include "config.h"

#include "authz/dirfound.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authz/dn.h"
#include "err.h"
#include "log.h"

/* Free the visited set, and the result unless it was taken (r NULL). */
void dirfound_clear(struct dirfound *f)
{
	size_t i;

	for (i = 0; i < f->nkeys; i++)
		free(f->keys[i]);
	free(f->keys);
	dir_result_free(f->r);
	f->r = NULL;
	f->keys = NULL;
	f->nkeys = 0;
	f->cap = 0;
}

int dirfound_init(struct dirfound *f)
{
	f->keys = NULL;
	f->nkeys = 0;
	f->cap = 0;
	f->r = calloc(1, sizeof *f->r);
	return f->r == NULL ? PG_ERR_NOMEM : 0;
}

/* The value of the DN's first RDN if that is a single cn=value, else NULL
 * (also on allocation failure: the cn attribute is the fallback). */
static char *rdn_cn(const char *dn)
{
	LDAPDN ldn = NULL;
	LDAPAVA *ava;
	char *cn = NULL;

	if (ldap_str2dn(dn, &ldn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS ||
	    ldn == NULL || ldn[0] == NULL)
		goto out;
	ava = ldn[0][0];
	if (ava == NULL || ldn[0][1] != NULL ||
	    !(ava->la_flags & LDAP_AVA_STRING))
		goto out;
	if (ava->la_attr.bv_len != 2 ||
	    strncasecmp(ava->la_attr.bv_val, "cn", 2) != 0)
		goto out;
	cn = strndup(ava->la_value.bv_val, ava->la_value.bv_len);
out:
	if (ldn != NULL)
		ldap_dnfree(ldn);
	return cn;
}

/* Add a group unless already visited. The scan is linear: a user's groups
 * are few, and DIR_MAX_GROUPS bounds the worst case. */
int dirfound_add(struct dirfound *f, const char *dn, const char *cn_attr,
                 unsigned depth)
{
	struct dir_result *r = f->r;
	struct dir_group *g;
	char *key;
	size_t i;
	int rc;

	/* A server's DN always parses; text is the fallback regardless. */
	if ((rc = dn_key(dn, &key)) == PG_ERR_INVAL)
		key = strdup(dn);
	else if (rc != 0)
		return rc;
	if (key == NULL)
		return PG_ERR_NOMEM;
	for (i = 0; i < r->ngroups; i++) {
		if (strcmp(f->keys[i], key) == 0) {
			free(key);
			return 0;
		}
	}
	if (r->ngroups == DIR_MAX_GROUPS) {
		free(key);
		log_warnx("directory: more than %d groups; refusing a partial "
		          "set",
		          DIR_MAX_GROUPS);
		return PG_ERR_TOOLONG;
	}
	if (r->ngroups == f->cap) {
		size_t ncap = f->cap ? f->cap * 2 : 16;
		struct dir_group *ng;
		char **nk;

		ng = reallocarray(r->groups, ncap, sizeof *ng);
		if (ng == NULL)
			goto nomem;
		r->groups = ng;
		nk = reallocarray(f->keys, ncap, sizeof *nk);
		if (nk == NULL)
			goto nomem;
		f->keys = nk;
		f->cap = ncap;
	}
	g = &r->groups[r->ngroups];
	g->depth = depth;
	g->dn = strdup(dn);
	g->cn = rdn_cn(dn);
	if (g->cn == NULL && cn_attr != NULL)
		g->cn = strdup(cn_attr);
	if (g->dn == NULL || (g->cn == NULL && cn_attr != NULL)) {
		free(g->dn);
		free(g->cn);
		goto nomem;
	}
	f->keys[f->nkeys++] = key;
	r->ngroups++;
	return 0;
nomem:
	free(key);
	return PG_ERR_NOMEM;
}

int dirfound_add_memberof(struct dirfound *f, struct berval **mo,
                          unsigned depth)
{
	size_t i;
	char *mdn;
	int rc;

	for (i = 0; mo != NULL && mo[i] != NULL; i++) {
		if ((mdn = strndup(mo[i]->bv_val, mo[i]->bv_len)) == NULL)
			return PG_ERR_NOMEM;
		rc = dirfound_add(f, mdn, NULL, depth);
		free(mdn);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int dirfound_add_entry(struct dirfound *f, LDAP *ld, LDAPMessage *e,
                       unsigned depth)
{
	struct berval **cn;
	char *dn, *cnv = NULL;
	int rc;

	if ((dn = ldap_get_dn(ld, e)) == NULL)
		return PG_ERR_NOMEM;
	cn = ldap_get_values_len(ld, e, "cn");
	if (cn != NULL && cn[0] != NULL)
		cnv = strndup(cn[0]->bv_val, cn[0]->bv_len);
	rc = dirfound_add(f, dn, cnv, depth);
	free(cnv);
	ldap_value_free_len(cn);
	ldap_memfree(dn);
	return rc;
}
