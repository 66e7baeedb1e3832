/* SPDX-License-Identifier: BSD-3-Clause */
/* phiguardctl's token store in the directory: OATH-LDAP token, params and
 * user entries, on a connection made as the daemon makes its own
 * (authz/ldapconn.h). */
#include "config.h"

#include "tokendir.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include <lber.h>
#include <ldap.h>

#include "authz/dir_config.h"
#include "authz/dn.h"
#include "authz/ldapconn.h"
#include "err.h"
#include "ldapescape.h"
#include "seal.h"
#include "secret.h"
#include "timeutil.h"
#include "tokens/tokrec.h"

/* Values read back as numbers or names: longer ones are not ours. */
#define VALUE_MAX 64
#define MODS_MAX  8

struct tokendir {
	/* The admin's settings and the server in use: libldap keeps a
	 * pointer to conn's callbacks while ld is open. */
	struct dir_config cfg;
	struct ldapconn conn;
	LDAP *ld;
	char base[DIR_DN_MAX];
	char user_base[DIR_DN_MAX];
	struct timeval timeout;
};

/* A user entry as found: its DN and its link to a token, if any. */
struct user_entry {
	char dn[TOKENDIR_DN_MAX];
	char token[TOKENDIR_DN_MAX]; /* "" if not linked */
	int has_class;               /* objectClass oathTOTPUser */
};

/* Up to MODS_MAX attributes of an add or modify, each with at most two
 * values (NULL-terminated lists, as libldap takes them). */
struct mods {
	size_t n;
	LDAPMod mod[MODS_MAX];
	LDAPMod *list[MODS_MAX + 1];
	struct berval bv[MODS_MAX][2];
	struct berval *vals[MODS_MAX][3];
};

/* "what DN: reason (server's diagnostic)" into err; the pg_err for lrc. */
static int lfail(struct tokendir *td, const char *what, const char *dn, int lrc,
                 char *err, size_t errlen)
{
	char *diag = NULL;

	ldap_get_option(td->ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	snprintf(err, errlen, "%s %s: %s%s%s%s", what, dn, ldap_err2string(lrc),
	         diag && *diag ? " (" : "", diag && *diag ? diag : "",
	         diag && *diag ? ")" : "");
	if (diag != NULL)
		ldap_memfree(diag);
	switch (lrc) {
	case LDAP_NO_SUCH_OBJECT:
		return PG_ERR_NOTFOUND;
	case LDAP_INSUFFICIENT_ACCESS:
	case LDAP_INVALID_CREDENTIALS:
	case LDAP_STRONG_AUTH_REQUIRED:
	case LDAP_CONFIDENTIALITY_REQUIRED:
		return PG_ERR_CONFIG;
	case LDAP_TIMEOUT:
	case LDAP_TIMELIMIT_EXCEEDED:
		return PG_ERR_TIMEOUT;
	case LDAP_SERVER_DOWN:
	case LDAP_CONNECT_ERROR:
	case LDAP_UNAVAILABLE:
	case LDAP_BUSY:
		return PG_ERR_UNAVAIL;
	case LDAP_NO_MEMORY:
		return PG_ERR_NOMEM;
	case LDAP_SIZELIMIT_EXCEEDED:
	case LDAP_ADMINLIMIT_EXCEEDED:
		return PG_ERR_TOOLONG;
	default:
		return PG_ERR_INVAL;
	}
}

/* libldap's request structures take char * for what it only reads. */
static char *unconst(const void *p)
{
	return (char *)(uintptr_t)p;
}

static void mods_add(struct mods *m, int op, const char *attr, const void *v1,
                     size_t len1, const char *v2)
{
	size_t i = m->n++;

	m->mod[i].mod_op = op | LDAP_MOD_BVALUES;
	m->mod[i].mod_type = unconst(attr);
	m->mod[i].mod_bvalues = NULL;
	if (v1 != NULL) {
		m->bv[i][0].bv_val = unconst(v1);
		m->bv[i][0].bv_len = len1;
		m->vals[i][0] = &m->bv[i][0];
		m->vals[i][1] = NULL;
		if (v2 != NULL) {
			m->bv[i][1].bv_val = unconst(v2);
			m->bv[i][1].bv_len = strlen(v2);
			m->vals[i][1] = &m->bv[i][1];
			m->vals[i][2] = NULL;
		}
		m->mod[i].mod_bvalues = m->vals[i];
	}
	m->list[i] = &m->mod[i];
	m->list[i + 1] = NULL;
}

static void mods_str(struct mods *m, int op, const char *attr, const char *v)
{
	mods_add(m, op, attr, v, strlen(v), NULL);
}

/* "cn=<value escaped per RFC 4514>,<base>" into out. */
static int child_dn(const char *value, const char *base, char *out,
                    size_t outsz)
{
	char cn[] = "cn";
	LDAPAVA ava, *rdn[2] = {&ava, NULL};
	char *s = NULL;
	int n, rc = PG_ERR_INVAL;

	memset(&ava, 0, sizeof ava);
	ava.la_attr.bv_val = cn;
	ava.la_attr.bv_len = 2;
	ava.la_value.bv_val = unconst(value);
	ava.la_value.bv_len = strlen(value);
	ava.la_flags = LDAP_AVA_STRING;
	if (ldap_rdn2str(rdn, &s, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
		goto out;
	n = snprintf(out, outsz, "%s,%s", s, base);
	rc = n > 0 && (size_t)n < outsz ? 0 : PG_ERR_TOOLONG;
out:
	if (s != NULL)
		ldap_memfree(s);
	return rc;
}

/* The first value of attr as a string (no NUL inside, fits outsz): 1,
 * else 0. */
static int first_value(LDAP *ld, LDAPMessage *e, const char *attr, char *out,
                       size_t outsz)
{
	struct berval **v = ldap_get_values_len(ld, e, attr);
	int ok = 0;

	if (v != NULL && v[0] != NULL && v[0]->bv_len < outsz &&
	    memchr(v[0]->bv_val, '\0', v[0]->bv_len) == NULL) {
		memcpy(out, v[0]->bv_val, v[0]->bv_len);
		out[v[0]->bv_len] = '\0';
		ok = 1;
	}
	if (v != NULL)
		ldap_value_free_len(v);
	return ok;
}

/* A decimal value of attr: 1 with *out, else 0. */
static int number_value(LDAP *ld, LDAPMessage *e, const char *attr,
                        unsigned long long *out)
{
	char buf[VALUE_MAX], *end;
	unsigned long long v;

	if (!first_value(ld, e, attr, buf, sizeof buf) || buf[0] < '0' ||
	    buf[0] > '9')
		return 0;
	v = strtoull(buf, &end, 10);
	if (*end != '\0')
		return 0;
	*out = v;
	return 1;
}

static int has_value(LDAP *ld, LDAPMessage *e, const char *attr,
                     const char *want)
{
	struct berval **v = ldap_get_values_len(ld, e, attr);
	size_t i;
	int found = 0;

	for (i = 0; v != NULL && v[i] != NULL && !found; i++)
		found = v[i]->bv_len == strlen(want) &&
		        strncasecmp(v[i]->bv_val, want, v[i]->bv_len) == 0;
	if (v != NULL)
		ldap_value_free_len(v);
	return found;
}

static int search(struct tokendir *td, const char *base, int scope,
                  const char *filter, char **attrs, LDAPMessage **res,
                  char *err, size_t errlen)
{
	struct timeval tv = td->timeout;
	int lrc;

	*res = NULL;
	lrc = ldap_search_ext_s(td->ld, base, scope, filter, attrs, 0, NULL,
	                        NULL, &tv, 0, res);
	if (lrc == LDAP_SUCCESS)
		return 0;
	if (*res != NULL)
		ldap_msgfree(*res);
	*res = NULL;
	return lfail(td, "search", base, lrc, err, errlen);
}

/* The one entry of user, found as the daemon finds it. */
static int find_user(struct tokendir *td, const char *user,
                     struct user_entry *u, char *err, size_t errlen)
{
	char esc[LDAPESCAPE_SIZE(PG_USER_MAX)], filter[2 * sizeof esc];
	char tok_attr[] = "oathTOTPToken", oc[] = "objectClass";
	char *attrs[] = {td->cfg.user_attr, tok_attr, oc, NULL}, *dn = NULL;
	LDAPMessage *res = NULL, *e = NULL;
	int rc;

	if ((rc = ldapescape_filter_value(user, strlen(user), esc,
	                                  sizeof esc)) != 0)
		return rc;
	snprintf(filter, sizeof filter, "(%s=%s)", td->cfg.user_attr, esc);
	if ((rc = search(td, td->user_base, LDAP_SCOPE_SUBTREE, filter, attrs,
	                 &res, err, errlen)) != 0)
		return rc;
	rc = ldapconn_pick_user(td->ld, res, td->cfg.user_attr, user, &e);
	if (rc == PG_ERR_NOTFOUND)
		snprintf(err, errlen, "no user %s=%s under %s",
		         td->cfg.user_attr, user, td->user_base);
	else if (rc == PG_ERR_AMBIGUOUS)
		snprintf(err, errlen, "more than one entry has %s=%s under %s",
		         td->cfg.user_attr, user, td->user_base);
	else if (rc == 0 && ((dn = ldap_get_dn(td->ld, e)) == NULL ||
	                     strlen(dn) >= sizeof u->dn)) {
		snprintf(err, errlen, "the entry of %s: no DN, or too long",
		         user);
		rc = PG_ERR_TOOLONG;
	}
	if (rc == 0) {
		snprintf(u->dn, sizeof u->dn, "%s", dn);
		if (!first_value(td->ld, e, tok_attr, u->token,
		                 sizeof u->token))
			u->token[0] = '\0';
		u->has_class = has_value(td->ld, e, oc, "oathTOTPUser");
	}
	if (dn != NULL)
		ldap_memfree(dn);
	ldap_msgfree(res);
	return rc;
}

/* Delete dn; an entry already gone is no error. */
static int delete_entry(struct tokendir *td, const char *dn, char *err,
                        size_t errlen)
{
	int lrc = ldap_delete_ext_s(td->ld, dn, NULL, NULL);

	if (lrc == LDAP_SUCCESS || lrc == LDAP_NO_SUCH_OBJECT)
		return 0;
	return lfail(td, "delete", dn, lrc, err, errlen);
}

/* The params entry the token uses, shared by every token with the same
 * algorithm, digits and period (created if absent). */
static int ensure_params(struct tokendir *td, const struct pg_token *tok,
                         unsigned window, char *dn, size_t dnsz, char *err,
                         size_t errlen)
{
	char cn[VALUE_MAX], len[16], period[16], win[16], *p;
	struct mods m = {0};
	int lrc, rc;

	snprintf(cn, sizeof cn, "totp-%s-%u-%u", tokens_alg_name(tok->alg),
	         tok->digits, tok->period);
	for (p = cn; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	if ((rc = child_dn(cn, td->base, dn, dnsz)) != 0)
		return rc;
	snprintf(len, sizeof len, "%u", tok->digits);
	snprintf(period, sizeof period, "%u", tok->period);
	snprintf(win, sizeof win, "%u", window);
	mods_add(&m, LDAP_MOD_ADD, "objectClass", "device", 6,
	         "oathTOTPParams");
	mods_str(&m, LDAP_MOD_ADD, "cn", cn);
	mods_str(&m, LDAP_MOD_ADD, "oathOTPLength", len);
	mods_str(&m, LDAP_MOD_ADD, "oathHMACAlgorithm",
	         tokrec_alg_oid(tok->alg));
	mods_str(&m, LDAP_MOD_ADD, "oathTOTPTimeStepPeriod", period);
	mods_str(&m, LDAP_MOD_ADD, "oathTOTPTimeStepWindow", win);
	lrc = ldap_add_ext_s(td->ld, dn, m.list, NULL, NULL);
	if (lrc == LDAP_SUCCESS || lrc == LDAP_ALREADY_EXISTS)
		return 0;
	return lfail(td, "add", dn, lrc, err, errlen);
}

static int add_token(struct tokendir *td, const char *dn,
                     const struct pg_token *tok, const unsigned char *value,
                     size_t vlen, const char *params, char *err, size_t errlen)
{
	struct mods m = {0};
	int lrc;

	mods_add(&m, LDAP_MOD_ADD, "objectClass", "device", 6, "oathTOTPToken");
	mods_str(&m, LDAP_MOD_ADD, "cn", tok->user);
	mods_add(&m, LDAP_MOD_ADD, "oathSecret", value, vlen, NULL);
	mods_str(&m, LDAP_MOD_ADD, "oathTOTPParams", params);
	if (tok->label[0] != '\0')
		mods_str(&m, LDAP_MOD_ADD, "description", tok->label);
	lrc = ldap_add_ext_s(td->ld, dn, m.list, NULL, NULL);
	if (lrc == LDAP_SUCCESS)
		return 0;
	if (lrc == LDAP_ALREADY_EXISTS) {
		snprintf(err, errlen,
		         "%s already has a token entry %s; --force replaces it",
		         tok->user, dn);
		return PG_ERR_INVAL;
	}
	return lfail(td, "add", dn, lrc, err, errlen);
}

/* Do two DNs name one entry? Unparseable ones compare as text. */
static int same_dn(const char *a, const char *b)
{
	char *ka = NULL, *kb = NULL;
	int same;

	if (dn_key(a, &ka) == 0 && dn_key(b, &kb) == 0)
		same = strcmp(ka, kb) == 0;
	else
		same = strcmp(a, b) == 0;
	free(ka);
	free(kb);
	return same;
}

/*
 * slapo-otp's own examples keep the token in the user entry itself
 * (oathTOTPToken naming the user's DN): deleting "the token entry" would
 * delete the user. Refused, with what to do instead.
 */
static int refuse_self_token(const char *user, const struct user_entry *u,
                             char *err, size_t errlen)
{
	if (u->token[0] == '\0' || !same_dn(u->token, u->dn))
		return 0;
	snprintf(err, errlen,
	         "the token of %s is held in the user entry %s itself; "
	         "phiguardctl never deletes user entries: remove its "
	         "OATH-LDAP attributes by hand first",
	         user, u->dn);
	return PG_ERR_INVAL;
}

int tokendir_put(struct tokendir *td, const struct pg_token *tok,
                 const unsigned char *value, size_t vlen, unsigned window,
                 int replace, char *dn, size_t dnsz, char *err, size_t errlen)
{
	struct user_entry u;
	struct mods m = {0};
	char tdn[TOKENDIR_DN_MAX], params[TOKENDIR_DN_MAX];
	int lrc, rc;

	memset(&u, 0, sizeof u);
	if ((rc = find_user(td, tok->user, &u, err, errlen)) != 0)
		return rc;
	if ((rc = child_dn(tok->user, td->base, tdn, sizeof tdn)) != 0) {
		snprintf(err, errlen, "cannot name the token of %s: %s",
		         tok->user, pg_strerror(rc));
		return rc;
	}
	if ((rc = refuse_self_token(tok->user, &u, err, errlen)) != 0)
		return rc;
	if (u.token[0] != '\0' && !replace) {
		snprintf(err, errlen,
		         "%s already has a token (%s); --force replaces it",
		         tok->user, u.token);
		return PG_ERR_INVAL;
	}
	if ((rc = ensure_params(td, tok, window, params, sizeof params, err,
	                        errlen)) != 0)
		return rc;
	if (replace && ((u.token[0] != '\0' &&
	                 (rc = delete_entry(td, u.token, err, errlen)) != 0) ||
	                (rc = delete_entry(td, tdn, err, errlen)) != 0))
		return rc;
	if ((rc = add_token(td, tdn, tok, value, vlen, params, err, errlen)) !=
	    0)
		return rc;
	if (!u.has_class)
		mods_str(&m, LDAP_MOD_ADD, "objectClass", "oathTOTPUser");
	mods_str(&m, LDAP_MOD_REPLACE, "oathTOTPToken", tdn);
	lrc = ldap_modify_ext_s(td->ld, u.dn, m.list, NULL, NULL);
	if (lrc != LDAP_SUCCESS) {
		rc = lfail(td, "link user", u.dn, lrc, err, errlen);
		/* Not left behind unlinked: nobody would see it. */
		ldap_delete_ext_s(td->ld, tdn, NULL, NULL);
		return rc;
	}
	snprintf(dn, dnsz, "%s", tdn);
	return 0;
}

int tokendir_remove(struct tokendir *td, const char *user, char *err,
                    size_t errlen)
{
	struct user_entry u;
	struct mods m = {0};
	char tdn[TOKENDIR_DN_MAX], none[] = "1.1", *attrs[] = {none, NULL};
	LDAPMessage *res = NULL;
	int lrc, rc, own = 0;

	memset(&u, 0, sizeof u);
	if ((rc = find_user(td, user, &u, err, errlen)) != 0 ||
	    (rc = child_dn(user, td->base, tdn, sizeof tdn)) != 0)
		return rc;
	/* An entry of ours the user is not linked to (a half-done enroll)
	 * goes too. */
	if (search(td, tdn, LDAP_SCOPE_BASE, "(objectClass=*)", attrs, &res,
	           err, errlen) == 0)
		own = ldap_count_entries(td->ld, res) == 1;
	if (res != NULL)
		ldap_msgfree(res);
	if ((rc = refuse_self_token(user, &u, err, errlen)) != 0)
		return rc;
	if (u.token[0] == '\0' && !own) {
		snprintf(err, errlen, "%s has no token in the directory", user);
		return PG_ERR_NOTFOUND;
	}
	if (u.token[0] != '\0' || u.has_class) {
		if (u.token[0] != '\0')
			mods_add(&m, LDAP_MOD_DELETE, "oathTOTPToken", NULL, 0,
			         NULL);
		if (u.has_class)
			mods_str(&m, LDAP_MOD_DELETE, "objectClass",
			         "oathTOTPUser");
		lrc = ldap_modify_ext_s(td->ld, u.dn, m.list, NULL, NULL);
		if (lrc != LDAP_SUCCESS)
			return lfail(td, "unlink user", u.dn, lrc, err, errlen);
	}
	if (u.token[0] != '\0' &&
	    (rc = delete_entry(td, u.token, err, errlen)) != 0)
		return rc;
	if (own && (u.token[0] == '\0' || !same_dn(u.token, tdn)))
		rc = delete_entry(td, tdn, err, errlen);
	return rc;
}

/* The params entry at dn into e (params_ok stays 0 if unusable). */
static void read_params(struct tokendir *td, const char *dn,
                        struct tokendir_entry *e)
{
	char a1[] = "oathOTPLength", a2[] = "oathHMACAlgorithm",
	     a3[] = "oathTOTPTimeStepPeriod", a4[] = "oathTOTPTimeStepWindow";
	char *attrs[] = {a1, a2, a3, a4, NULL}, oid[VALUE_MAX], why[256];
	unsigned long long digits, period, window = 0;
	LDAPMessage *res = NULL, *ent;
	enum pg_token_alg alg;

	if (search(td, dn, LDAP_SCOPE_BASE, "(objectClass=oathTOTPParams)",
	           attrs, &res, why, sizeof why) != 0)
		return;
	ent = ldap_first_entry(td->ld, res);
	if (ent != NULL && number_value(td->ld, ent, a1, &digits) &&
	    number_value(td->ld, ent, a3, &period) &&
	    first_value(td->ld, ent, a2, oid, sizeof oid) &&
	    tokrec_alg_from_oid(oid, strlen(oid), &alg) == 0 && digits <= 10 &&
	    period > 0 && period <= 86400) {
		number_value(td->ld, ent, a4, &window);
		e->alg = alg;
		e->digits = (unsigned)digits;
		e->period = (unsigned)period;
		e->window = window > 100 ? 100 : (unsigned)window;
		e->params_ok = 1;
	}
	ldap_msgfree(res);
}

/* Whether the secret is sealed, without keeping it: the values are wiped
 * before they are freed. */
static void read_secret_kind(LDAP *ld, LDAPMessage *ent,
                             struct tokendir_entry *e)
{
	struct berval **v = ldap_get_values_len(ld, ent, "oathSecret");
	size_t i;

	if (v != NULL && v[0] != NULL) {
		e->has_secret = 1;
		e->sealed = seal_is_sealed(v[0]->bv_val, v[0]->bv_len);
	}
	for (i = 0; v != NULL && v[i] != NULL; i++)
		secret_wipe(v[i]->bv_val, v[i]->bv_len);
	if (v != NULL)
		ldap_value_free_len(v);
}

/* The token entry at e->token_dn, and its params, into e. */
static void read_token(struct tokendir *td, struct tokendir_entry *e)
{
	char a1[] = "oathTOTPParams", a2[] = "oathTOTPLastTimeStep",
	     a3[] = "oathFailureCount", a4[] = "oathSecret",
	     a5[] = "description";
	char *attrs[] = {a1, a2, a3, a4, a5, NULL}, params[TOKENDIR_DN_MAX];
	char why[256];
	unsigned long long v;
	LDAPMessage *res = NULL, *ent;

	if (search(td, e->token_dn, LDAP_SCOPE_BASE, "(objectClass=*)", attrs,
	           &res, why, sizeof why) != 0)
		return;
	if ((ent = ldap_first_entry(td->ld, res)) != NULL) {
		e->has_step = number_value(td->ld, ent, a2, &e->step);
		if (number_value(td->ld, ent, a3, &v))
			e->failures = (unsigned long)v;
		read_secret_kind(td->ld, ent, e);
		if (!first_value(td->ld, ent, a5, e->label, sizeof e->label))
			e->label[0] = '\0';
		if (first_value(td->ld, ent, a1, params, sizeof params))
			read_params(td, params, e);
	}
	ldap_msgfree(res);
}

/* One user entry's token, if it links one, to fn. */
static int list_entry(struct tokendir *td, LDAPMessage *ent, const char *user,
                      tokendir_entry_fn fn, void *arg)
{
	struct tokendir_entry e;

	memset(&e, 0, sizeof e);
	if (user != NULL)
		snprintf(e.user, sizeof e.user, "%s", user);
	else if (!first_value(td->ld, ent, td->cfg.user_attr, e.user,
	                      sizeof e.user))
		return 0;
	if (!first_value(td->ld, ent, "oathTOTPToken", e.token_dn,
	                 sizeof e.token_dn))
		return 0;
	read_token(td, &e);
	return fn(&e, arg);
}

int tokendir_list(struct tokendir *td, const char *user, tokendir_entry_fn fn,
                  void *arg, char *err, size_t errlen)
{
	char esc[LDAPESCAPE_SIZE(PG_USER_MAX)], filter[2 * sizeof esc + 64];
	char tok_attr[] = "oathTOTPToken";
	char *attrs[] = {td->cfg.user_attr, tok_attr, NULL};
	LDAPMessage *res = NULL, *ent;
	int rc;

	if (user == NULL)
		snprintf(filter, sizeof filter, "(objectClass=oathTOTPUser)");
	else if ((rc = ldapescape_filter_value(user, strlen(user), esc,
	                                       sizeof esc)) != 0)
		return rc;
	else
		snprintf(filter, sizeof filter,
		         "(&(objectClass=oathTOTPUser)(%s=%s))",
		         td->cfg.user_attr, esc);
	rc = search(td, td->user_base, LDAP_SCOPE_SUBTREE, filter, attrs, &res,
	            err, errlen);
	if (rc == PG_ERR_TOOLONG) {
		/* slapd's default limit is 500 entries, paged or not. */
		snprintf(err, errlen,
		         "more users with a token than the directory returns "
		         "to %s: give it a \"limits\" line "
		         "(contrib/ldap/README.md)",
		         td->cfg.bind_dn);
		return rc;
	}
	if (rc != 0)
		return rc;
	if (user != NULL) {
		/* Only the entry named exactly user, as the daemon finds it. */
		if (ldapconn_pick_user(td->ld, res, td->cfg.user_attr, user,
		                       &ent) == 0)
			rc = list_entry(td, ent, user, fn, arg);
	} else
		for (ent = ldap_first_entry(td->ld, res);
		     ent != NULL && rc == 0; ent = ldap_next_entry(td->ld, ent))
			rc = list_entry(td, ent, NULL, fn, arg);
	ldap_msgfree(res);
	return rc;
}

/*
 * Connect and bind as the admin to the first server of [ldap] uri, in
 * order, that answers: the daemon's connection code (TLS under the
 * handshake watchdog, every wait bounded). A server that is down, or
 * refuses the credentials, passes the turn to the next, as for the daemon.
 */
static int connect_first(struct tokendir *td)
{
	struct ldapconn_call call;
	struct timeval tv;
	size_t i;
	int rc = PG_ERR_UNAVAIL, refused = 0;

	for (i = 0; i < td->cfg.nuris; i++) {
		if (ldapconn_init(&td->conn, td->cfg.uris[i]) != 0)
			return PG_ERR_CONFIG;
		memset(&call, 0, sizeof call);
		call.cfg = &td->cfg;
		call.conn = &td->conn;
		call.deadline = time_mono_ms() + td->cfg.network_timeout_ms +
		                td->cfg.search_timeout_ms;
		rc = ldapconn_connect(&call, &td->ld);
		if (rc == 0)
			break;
		if (rc == PG_ERR_CONFIG)
			refused = 1;
		else if (!ldapconn_server_failed(rc))
			return rc;
	}
	if (rc != 0)
		return refused ? PG_ERR_CONFIG : rc;
	/* Each synchronous call made on it is bounded by it. */
	tv = td->timeout;
	if (ldap_set_option(td->ld, LDAP_OPT_TIMEOUT, &tv) != LDAP_OPT_SUCCESS)
		return PG_ERR_INTERNAL;
	return 0;
}

int tokendir_open(const struct pg_conf *conf, struct tokendir **out, char *err,
                  size_t errlen)
{
	struct tokendir *td = NULL;
	struct dir_config cfg;
	char why[512];
	int n, rc;

	if (!conf->ldap) {
		snprintf(err, errlen,
		         "[tokens] store = ldap needs the "
		         "directory's [ldap] section");
		return PG_ERR_CONFIG;
	}
	if (conf->admin_bind_dn[0] == '\0' ||
	    conf->admin_password_file[0] == '\0') {
		snprintf(err, errlen,
		         "[tokens] store = ldap: admin_bind_dn and "
		         "admin_password_file must be set to write tokens");
		return PG_ERR_CONFIG;
	}
	if ((rc = dir_config_from_conf(&cfg, conf, err, errlen)) != 0)
		return rc;
	/* The admin credential, never the daemon's. */
	snprintf(cfg.bind_dn, sizeof cfg.bind_dn, "%s", conf->admin_bind_dn);
	snprintf(cfg.bind_password_file, sizeof cfg.bind_password_file, "%s",
	         conf->admin_password_file);
	cfg.sasl_external = 0;
	if ((td = calloc(1, sizeof *td)) == NULL)
		return PG_ERR_NOMEM;
	n = conf->token_base[0] != '\0'
	        ? snprintf(td->base, sizeof td->base, "%s", conf->token_base)
	        : snprintf(td->base, sizeof td->base, "ou=tokens,%s",
	                   conf->base);
	snprintf(td->user_base, sizeof td->user_base, "%s",
	         cfg.user_base[0] != '\0' ? cfg.user_base : cfg.base_dn);
	td->timeout.tv_sec = cfg.search_timeout_ms / 1000;
	td->timeout.tv_usec = (cfg.search_timeout_ms % 1000) * 1000;
	rc = PG_ERR_CONFIG;
	if (n < 0 || (size_t)n >= sizeof td->base) {
		snprintf(err, errlen, "[tokens] base: too long");
		goto out;
	}
	td->cfg = cfg;
	if ((rc = dir_config_check(&td->cfg, why, sizeof why)) != 0) {
		/* dir_config names the daemon's key; this file is the admin's.
		 */
		if (strncmp(why, "bind_password_file", 18) == 0)
			snprintf(err, errlen, "[tokens] admin_password_file%s",
			         why + 18);
		else
			snprintf(err, errlen, "%s", why);
		goto out;
	}
	if ((rc = connect_first(td)) != 0) {
		snprintf(
		    err, errlen, "cannot bind to the directory as %s: %s",
		    cfg.bind_dn,
		    rc == PG_ERR_CONFIG
		        ? "credentials or password file refused (see above)"
		    : rc == PG_ERR_TIMEOUT
		        ? "timed out (see above)"
		        : "no server of [ldap] uri answered (see above)");
		goto out;
	}
	*out = td;
	td = NULL;
out:
	tokendir_close(td);
	return rc;
}

void tokendir_close(struct tokendir *td)
{
	if (td == NULL)
		return;
	if (td->ld != NULL)
		ldap_unbind_ext_s(td->ld, NULL, NULL);
	free(td);
}

const char *tokendir_server(const struct tokendir *td)
{
	return td->conn.uri;
}

/* oathSecret's value (raw key or sealed text) as e->user's token. */
static int token_from_value(const struct tokendir_entry *e,
                            const struct berval *v, struct pg_token *tok,
                            char *err, size_t errlen)
{
	memset(tok, 0, sizeof(*tok));
	snprintf(tok->user, sizeof tok->user, "%s", e->user);
	if (seal_is_sealed(v->bv_val, v->bv_len)) {
		if (v->bv_len > SEAL_TEXT_MAX)
			goto bad;
		memcpy(tok->sealed, v->bv_val, v->bv_len);
		tok->sealed[v->bv_len] = '\0';
		return 0;
	}
	if (v->bv_len < 1 || v->bv_len > PG_TOKEN_MAX_SECRET)
		goto bad;
	memcpy(tok->secret, v->bv_val, v->bv_len);
	tok->secret_len = v->bv_len;
	return 0;
bad:
	snprintf(err, errlen, "%s: oathSecret of %zu bytes is not a key",
	         e->token_dn, (size_t)v->bv_len);
	return PG_ERR_INVAL;
}

/* Open tok (any key of kr) and seal it under the first; 0 or why not. */
static int reseal_token(const struct tokendir_entry *e, struct pg_token *tok,
                        const struct seal_keyring *kr, char *err, size_t errlen)
{
	char why[256];
	int rc;

	if ((rc = tokens_open(tok, kr, why, sizeof why)) != 0) {
		snprintf(err, errlen, "%s (%s): %s", e->token_dn, e->user, why);
		return rc;
	}
	if ((rc = tokens_seal(tok, &kr->keys[0])) != 0)
		snprintf(err, errlen, "%s (%s): cannot seal: %s", e->token_dn,
		         e->user, pg_strerror(rc));
	return rc;
}

int tokendir_reseal(struct tokendir *td, const struct tokendir_entry *e,
                    const struct seal_keyring *kr, int write, char *err,
                    size_t errlen)
{
	char a1[] = "oathSecret";
	char *attrs[] = {a1, NULL};
	LDAPMessage *res = NULL, *ent;
	struct berval **v = NULL;
	struct pg_token tok;
	struct mods m = {0};
	size_t i;
	int rc, lrc;

	memset(&tok, 0, sizeof tok);
	if ((rc = search(td, e->token_dn, LDAP_SCOPE_BASE, "(objectClass=*)",
	                 attrs, &res, err, errlen)) != 0)
		return rc;
	if ((ent = ldap_first_entry(td->ld, res)) == NULL ||
	    (v = ldap_get_values_len(td->ld, ent, a1)) == NULL ||
	    v[0] == NULL) {
		snprintf(err, errlen, "%s (%s): no oathSecret", e->token_dn,
		         e->user);
		rc = PG_ERR_NOTFOUND;
		goto out;
	}
	if ((rc = token_from_value(e, v[0], &tok, err, errlen)) != 0 ||
	    (rc = reseal_token(e, &tok, kr, err, errlen)) != 0 || !write)
		goto out;
	/* The value read goes, the new one comes, in one modify: a token
	 * replaced meanwhile (enroll --force) is not overwritten. */
	mods_add(&m, LDAP_MOD_DELETE, a1, v[0]->bv_val, v[0]->bv_len, NULL);
	mods_str(&m, LDAP_MOD_ADD, a1, tok.sealed);
	lrc = ldap_modify_ext_s(td->ld, e->token_dn, m.list, NULL, NULL);
	if (lrc != LDAP_SUCCESS)
		rc = lfail(td, "modify", e->token_dn, lrc, err, errlen);
out:
	tokens_wipe(&tok);
	for (i = 0; v != NULL && v[i] != NULL; i++)
		secret_wipe(v[i]->bv_val, v[i]->bv_len);
	if (v != NULL)
		ldap_value_free_len(v);
	ldap_msgfree(res);
	return rc;
}
