/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ldapbench: the floor of a cold authorization decision (tests/bench/run.sh)
 * -- the same LDAP searches, made by bare libldap on one connection bound
 * once, with nothing around them.
 *
 *   ldapbench -n COUNT [-w WARMUP] URI BIND_DN PASSWORD_FILE SEARCHES
 *     SEARCHES: one operation a line, tab-separated: base, scope
 *     (base|one|sub), filter, attributes (space-separated; may be empty).
 *     A line "cas", DN, ATTR [, NAME=VALUE ...] (tab-separated, the
 *     pairs space-separated) is a modify instead: the compare-and-swap a
 *     site-mode claim makes (delete ATTR's current value, add the next
 *     integer), with each NAME replaced by VALUE in the same operation
 *     (the claim's oathLastLogin and oathFailureCount); ATTR's value is
 *     read once at start and then tracked. A decision is every line of the
 *     file in order, each awaited with its whole result
 *     (ldap_search_ext_s, ldap_modify_ext_s); COUNT decisions are timed
 *     after WARMUP (default 5) untimed ones.
 *     Prints: decisions= searches= entries= p50_us= p99_us= mean_us=
 *     Exit 0, or 2 if a bind or search failed.
 */
#define _GNU_SOURCE
#define LDAP_DEPRECATED 0
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <lber.h>
#include <ldap.h>

#define MAXSEARCH 32
#define MAXATTR   16

struct search {
	char *base, *filter;
	int scope;
	char *attrs[MAXATTR + 1];
	int cas; /* a "cas" line: base is the DN, filter the attribute */
	long long value; /* its current value */
};

static void die(const char *what, int rc)
{
	fprintf(stderr, "ldapbench: %s: %s\n", what, ldap_err2string(rc));
	exit(2);
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int scope_of(const char *s)
{
	if (strcmp(s, "base") == 0)
		return LDAP_SCOPE_BASE;
	if (strcmp(s, "one") == 0)
		return LDAP_SCOPE_ONELEVEL;
	return LDAP_SCOPE_SUBTREE;
}

/* The searches of the file; their count. */
static int read_searches(const char *path, struct search *s)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, *p, *a;
	size_t cap = 0;
	int n = 0, k;

	if (!f)
		die(path, LDAP_NO_SUCH_OBJECT);
	while (n < MAXSEARCH && getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		p = line;
		if (strncmp(p, "cas\t", 4) == 0) {
			p += 4;
			s[n].cas = 1;
		}
		s[n].base = strdup(strsep(&p, "\t"));
		s[n].scope = s[n].cas ? LDAP_SCOPE_BASE
		                      : scope_of(p ? strsep(&p, "\t") : "sub");
		s[n].filter = strdup(p ? strsep(&p, "\t") : "");
		for (k = 0; p && k < MAXATTR && (a = strsep(&p, " ")) != NULL;)
			if (*a)
				s[n].attrs[k++] = strdup(a);
		s[n].attrs[k] = NULL;
		n++;
	}
	free(line);
	fclose(f);
	return n;
}

/* The value of a cas line's attribute now (absent: 0, added then). */
static void cas_read(LDAP *ld, struct search *c)
{
	char *attrs[] = {c->filter, NULL};
	LDAPMessage *res = NULL, *e;
	struct berval **v;
	int rc;

	rc = ldap_search_ext_s(ld, c->base, LDAP_SCOPE_BASE, "(objectClass=*)",
	                       attrs, 0, NULL, NULL, NULL, 1, &res);
	if (rc != LDAP_SUCCESS)
		die(c->base, rc);
	c->value = -1;
	e = ldap_first_entry(ld, res);
	if (e && (v = ldap_get_values_len(ld, e, c->filter)) != NULL) {
		if (v[0])
			c->value = strtoll(v[0]->bv_val, NULL, 10);
		ldap_value_free_len(v);
	}
	ldap_msgfree(res);
}

/* delete value, add value + 1 (add only while absent), and the
 * NAME=VALUE replacements, in one modify. */
static void cas(LDAP *ld, struct search *c)
{
	char oldv[24], newv[24], names[MAXATTR][64];
	char *oldvals[] = {oldv, NULL}, *newvals[] = {newv, NULL};
	char *repvals[MAXATTR][2];
	LDAPMod del = {LDAP_MOD_DELETE, c->filter, {oldvals}};
	LDAPMod add = {LDAP_MOD_ADD, c->filter, {newvals}};
	LDAPMod rep[MAXATTR];
	LDAPMod *mods[MAXATTR + 3];
	const char *eq;
	int rc, n = 0, k;

	snprintf(oldv, sizeof(oldv), "%lld", c->value);
	snprintf(newv, sizeof(newv), "%lld", c->value + 1);
	if (c->value >= 0)
		mods[n++] = &del;
	mods[n++] = &add;
	for (k = 0; c->attrs[k] != NULL; k++) {
		if ((eq = strchr(c->attrs[k], '=')) == NULL ||
		    (size_t)(eq - c->attrs[k]) >= sizeof(names[k]))
			die(c->attrs[k], LDAP_PARAM_ERROR);
		memcpy(names[k], c->attrs[k], (size_t)(eq - c->attrs[k]));
		names[k][eq - c->attrs[k]] = '\0';
		repvals[k][0] = (char *)eq + 1;
		repvals[k][1] = NULL;
		rep[k].mod_op = LDAP_MOD_REPLACE;
		rep[k].mod_type = names[k];
		rep[k].mod_values = repvals[k];
		mods[n++] = &rep[k];
	}
	mods[n] = NULL;
	rc = ldap_modify_ext_s(ld, c->base, mods, NULL, NULL);
	if (rc != LDAP_SUCCESS)
		die(c->base, rc);
	c->value++; /* absent (-1): "0" was added */
}

static long decision(LDAP *ld, struct search *s, int n)
{
	long entries = 0;
	int i, rc;

	for (i = 0; i < n; i++) {
		LDAPMessage *res = NULL;

		if (s[i].cas) {
			cas(ld, &s[i]);
			continue;
		}
		rc = ldap_search_ext_s(
		    ld, s[i].base, s[i].scope, s[i].filter,
		    s[i].attrs[0] ? (char **)s[i].attrs : NULL, 0, NULL, NULL,
		    NULL, LDAP_NO_LIMIT, &res);
		if (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_OBJECT)
			die(s[i].filter, rc);
		entries += ldap_count_entries(ld, res);
		ldap_msgfree(res);
	}
	return entries;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	static struct search s[MAXSEARCH];
	struct berval cred = {0};
	char pw[256] = "";
	long count = 100, warmup = 5, i, entries = 0;
	double *lat, sum = 0;
	int opt, n, rc, v3 = LDAP_VERSION3;
	LDAP *ld;
	FILE *f;

	while ((opt = getopt(argc, argv, "n:w:")) != -1) {
		if (opt == 'n')
			count = atol(optarg);
		else if (opt == 'w')
			warmup = atol(optarg);
		else
			die("usage", LDAP_PARAM_ERROR);
	}
	if (argc - optind != 4 || count < 1)
		die("usage: ldapbench -n COUNT URI BIND_DN PWFILE SEARCHES",
		    LDAP_PARAM_ERROR);
	f = fopen(argv[optind + 2], "r");
	if (!f || !fgets(pw, sizeof(pw), f))
		die("password file", LDAP_PARAM_ERROR);
	fclose(f);
	pw[strcspn(pw, "\n")] = '\0';
	cred.bv_val = pw;
	cred.bv_len = strlen(pw);
	n = read_searches(argv[optind + 3], s);
	if (n == 0)
		die("no searches", LDAP_PARAM_ERROR);

	rc = ldap_initialize(&ld, argv[optind]);
	if (rc != LDAP_SUCCESS)
		die("ldap_initialize", rc);
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
	ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
	rc = ldap_sasl_bind_s(ld, argv[optind + 1], LDAP_SASL_SIMPLE, &cred,
	                      NULL, NULL, NULL);
	if (rc != LDAP_SUCCESS)
		die("bind", rc);

	for (i = 0; i < n; i++)
		if (s[i].cas)
			cas_read(ld, &s[i]);
	lat = calloc((size_t)count, sizeof(*lat));
	if (!lat)
		die("out of memory", LDAP_NO_MEMORY);
	for (i = 0; i < warmup; i++)
		decision(ld, s, n);
	for (i = 0; i < count; i++) {
		double t0 = now_us();

		entries = decision(ld, s, n);
		lat[i] = now_us() - t0;
		sum += lat[i];
	}
	qsort(lat, (size_t)count, sizeof(*lat), cmp_double);
	printf("decisions=%ld searches=%d entries=%ld p50_us=%.0f p99_us=%.0f "
	       "mean_us=%.0f\n",
	       count, n, entries, lat[count / 2], lat[(count * 99) / 100],
	       sum / (double)count);
	ldap_unbind_ext_s(ld, NULL, NULL);
	free(lat);
	return 0;
}
