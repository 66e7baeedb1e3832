/* SPDX-License-Identifier: BSD-3-Clause */
/* Settings of phiguardd's directory client: defaults, one key at a time
 * from text, and the checks a whole configuration must pass. */
#include "config.h"

#include "authz/dir_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <ldap.h>

#include "conf.h"
#include "err.h"
#include "safefile.h"
#include "secret.h"

/* Strings are checked as DNs, paths or names by dir_config_check(). */
enum key_kind { K_URIS, K_STR, K_BOOL, K_LONG, K_MEMBERSHIP, K_REQCERT };

struct key {
	const char *name;
	enum key_kind kind;
	size_t off;
	size_t size;
	long min, max;
};

#define F(field) offsetof(struct dir_config, field)
#define S(field) sizeof(((struct dir_config *)0)->field)
static const struct key keys[] = {
    {"uri", K_URIS, 0, 0, 0, 0},
    {"base_dn", K_STR, F(base_dn), S(base_dn), 0, 0},
    {"user_base", K_STR, F(user_base), S(user_base), 0, 0},
    {"group_base", K_STR, F(group_base), S(group_base), 0, 0},
    {"user_attr", K_STR, F(user_attr), S(user_attr), 0, 0},
    {"bind_dn", K_STR, F(bind_dn), S(bind_dn), 0, 0},
    {"bind_password_file", K_STR, F(bind_password_file), S(bind_password_file),
     0, 0},
    {"sasl_external", K_BOOL, F(sasl_external), S(sasl_external), 0, 1},
    {"starttls", K_BOOL, F(starttls), S(starttls), 0, 1},
    {"tls_cacert", K_STR, F(tls_cacert), S(tls_cacert), 0, 0},
    {"tls_reqcert", K_REQCERT, F(tls_reqcert), S(tls_reqcert), 0, 0},
    {"network_timeout_ms", K_LONG, F(network_timeout_ms), S(network_timeout_ms),
     100, 60000},
    {"search_timeout_ms", K_LONG, F(search_timeout_ms), S(search_timeout_ms),
     100, 60000},
    {"nesting_depth", K_LONG, F(nesting_depth), S(nesting_depth), 0,
     DIR_MAX_DEPTH},
    {"membership", K_MEMBERSHIP, F(membership), S(membership), 0, 0},
    {"retry_min_ms", K_LONG, F(retry_min_ms), S(retry_min_ms), 10, 3600000},
    {"retry_max_ms", K_LONG, F(retry_max_ms), S(retry_max_ms), 10, 3600000},
};
#undef F
#undef S

static const char *const membership_names[] = {"auto", "memberof", "member",
                                               "memberuid"};
static const char *const reqcert_names[] = {"demand", "hard", "try", "allow",
                                            "never"};

/* Errors read "key: reason", so conf.c can prefix "file:line: ". */
static int seterr(char *err, size_t errlen, const char *key, const char *reason)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s: %s", key, reason);
	return PG_ERR_CONFIG;
}

static int name_index(const char *const *names, size_t n, const char *value)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], value) == 0)
			return (int)i;
	return -1;
}

static int parse_bool(const char *v, int *out)
{
	if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 ||
	    strcmp(v, "1") == 0)
		*out = 1;
	else if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 ||
	         strcmp(v, "0") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

/* strtol alone would take leading blanks and a sign: only digits here. */
static int parse_long(const char *v, long min, long max, long *out)
{
	char *end;
	long n;

	if (*v < '0' || *v > '9')
		return -1;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

/* Space-separated, as ldap.conf's URI; parsed into a copy so that an error
 * leaves the old list in place. */
static int parse_uris(struct dir_config *cfg, const char *value, char *err,
                      size_t errlen)
{
	char uris[DIR_MAX_URIS][DIR_URI_MAX];
	size_t n = 0, len;
	const char *p = value;

	for (;;) {
		p += strspn(p, " \t");
		if (*p == '\0')
			break;
		len = strcspn(p, " \t");
		if (n == DIR_MAX_URIS)
			return seterr(err, errlen, "uri", "too many URIs");
		if (len >= DIR_URI_MAX)
			return seterr(err, errlen, "uri", "URI too long");
		memcpy(uris[n], p, len);
		uris[n][len] = '\0';
		n++;
		p += len;
	}
	if (n == 0)
		return seterr(err, errlen, "uri", "no URI given");
	memcpy(cfg->uris, uris, sizeof uris);
	cfg->nuris = n;
	return 0;
}

void dir_config_defaults(struct dir_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	snprintf(cfg->user_attr, sizeof cfg->user_attr, "uid");
	cfg->tls_reqcert = DIR_REQCERT_DEMAND;
	cfg->network_timeout_ms = PG_CONF_NETWORK_TIMEOUT * 1000L;
	cfg->search_timeout_ms = PG_CONF_SEARCH_TIMEOUT * 1000L;
	cfg->nesting_depth = 3;
	cfg->membership = DIR_MEMBERSHIP_AUTO;
	cfg->retry_min_ms = 1000;
	cfg->retry_max_ms = 60000;
	cfg->password_owner = -1;
}

int dir_config_set(struct dir_config *cfg, const char *key, const char *value,
                   char *err, size_t errlen)
{
	const struct key *k = NULL;
	char *field;
	size_t i;
	long n;
	int b, idx;

	if (cfg == NULL || key == NULL || value == NULL)
		return seterr(err, errlen, key ? key : "(null)", "no value");
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strcmp(keys[i].name, key) == 0)
			k = &keys[i];
	if (k == NULL)
		return seterr(err, errlen, key, "unknown key");
	field = (char *)cfg + k->off;
	switch (k->kind) {
	case K_URIS:
		return parse_uris(cfg, value, err, errlen);
	case K_STR:
		if (strlen(value) >= k->size)
			return seterr(err, errlen, key, "value too long");
		memcpy(field, value, strlen(value) + 1);
		return 0;
	case K_BOOL:
		if (parse_bool(value, &b) != 0)
			return seterr(err, errlen, key, "expected yes or no");
		memcpy(field, &b, sizeof b);
		return 0;
	case K_LONG:
		if (parse_long(value, k->min, k->max, &n) != 0) {
			char why[96];

			snprintf(why, sizeof why,
			         "expected a whole number from %ld to %ld",
			         k->min, k->max);
			return seterr(err, errlen, key, why);
		}
		memcpy(field, &n, sizeof n);
		return 0;
	case K_MEMBERSHIP:
		idx = name_index(membership_names, 4, value);
		if (idx < 0)
			return seterr(err, errlen, key,
			              "expected auto, memberof, member or "
			              "memberuid");
		cfg->membership = (enum dir_membership)idx;
		return 0;
	case K_REQCERT:
		idx = name_index(reqcert_names, 5, value);
		if (idx < 0)
			return seterr(err, errlen, key,
			              "expected demand, hard, try, allow or "
			              "never");
		cfg->tls_reqcert = (enum dir_reqcert)idx;
		return 0;
	}
	return seterr(err, errlen, key, "unknown key");
}

static int dn_valid(const char *dn)
{
	LDAPDN ldn = NULL;

	if (ldap_str2dn(dn, &ldn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
		return 0;
	ldap_dnfree(ldn);
	return 1;
}

/* An attribute description as RFC 4512 names it (no options): a keystring
 * or a numeric OID. Anything else would change the filter's meaning. */
static int attr_valid(const char *a)
{
	size_t i;

	if ((a[0] >= 'A' && a[0] <= 'Z') || (a[0] >= 'a' && a[0] <= 'z')) {
		for (i = 1; a[i] != '\0'; i++)
			if (!((a[i] >= 'A' && a[i] <= 'Z') ||
			      (a[i] >= 'a' && a[i] <= 'z') ||
			      (a[i] >= '0' && a[i] <= '9') || a[i] == '-'))
				return 0;
		return 1;
	}
	for (i = 0; a[i] != '\0'; i++)
		if (!((a[i] >= '0' && a[i] <= '9') ||
		      (a[i] == '.' && i > 0 && a[i - 1] != '.')))
			return 0;
	return i > 0 && a[i - 1] != '.';
}

int dir_config_scheme(const char *uri, enum dir_scheme *out)
{
	LDAPURLDesc *lud = NULL;
	int rc = -1;

	if (ldap_url_parse(uri, &lud) != LDAP_URL_SUCCESS)
		return -1;
	if (strcasecmp(lud->lud_scheme, "ldap") == 0) {
		*out = DIR_SCHEME_LDAP;
		rc = 0;
	} else if (strcasecmp(lud->lud_scheme, "ldaps") == 0) {
		*out = DIR_SCHEME_LDAPS;
		rc = 0;
	} else if (strcasecmp(lud->lud_scheme, "ldapi") == 0) {
		*out = DIR_SCHEME_LDAPI;
		rc = 0;
	}
	ldap_free_urldesc(lud);
	return rc;
}

/* The password file belongs to whoever runs the daemon (root, or the
 * phiguard user it runs as), because it is read again at every bind. */
static void password_policy(const struct dir_config *cfg,
                            struct safefile_policy *pol)
{
	*pol = safefile_secret_policy;
	pol->owner = cfg->password_owner < 0 ? geteuid()
	                                     : (uid_t)cfg->password_owner;
	pol->root_too = cfg->password_root_too;
}

int dir_config_check(const struct dir_config *cfg, char *err, size_t errlen)
{
	char why[320], *pw = NULL;
	enum dir_scheme sch;
	size_t i;
	int rc;

	if (cfg->nuris == 0 || cfg->nuris > DIR_MAX_URIS)
		return seterr(err, errlen, "uri", "no LDAP server configured");
	for (i = 0; i < cfg->nuris; i++) {
		if (memchr(cfg->uris[i], '\0', DIR_URI_MAX) == NULL ||
		    dir_config_scheme(cfg->uris[i], &sch) != 0) {
			snprintf(why, sizeof why,
			         "'%.*s' is not an ldap://, ldaps:// or "
			         "ldapi:// URI",
			         200, cfg->uris[i]);
			return seterr(err, errlen, "uri", why);
		}
		if (cfg->sasl_external && sch != DIR_SCHEME_LDAPI)
			return seterr(err, errlen, "sasl_external",
			              "needs ldapi:// URIs only (the peer "
			              "credentials are the identity)");
	}
	if (cfg->base_dn[0] == '\0' || !dn_valid(cfg->base_dn))
		return seterr(err, errlen, "base_dn", "missing or not a DN");
	if (cfg->user_base[0] != '\0' && !dn_valid(cfg->user_base))
		return seterr(err, errlen, "user_base", "not a DN");
	if (cfg->group_base[0] != '\0' && !dn_valid(cfg->group_base))
		return seterr(err, errlen, "group_base", "not a DN");
	if (!attr_valid(cfg->user_attr))
		return seterr(err, errlen, "user_attr",
		              "not an attribute name");
	if ((cfg->bind_dn[0] == '\0') != (cfg->bind_password_file[0] == '\0'))
		return seterr(err, errlen, "bind_dn",
		              "bind_dn and bind_password_file go together");
	if (cfg->bind_dn[0] != '\0' && !dn_valid(cfg->bind_dn))
		return seterr(err, errlen, "bind_dn", "not a DN");
	if (cfg->sasl_external && cfg->bind_dn[0] != '\0')
		return seterr(err, errlen, "sasl_external",
		              "cannot be used with bind_dn");
	if ((unsigned)cfg->tls_reqcert > DIR_REQCERT_NEVER)
		return seterr(err, errlen, "tls_reqcert", "unknown value");
	if ((unsigned)cfg->membership > DIR_MEMBERSHIP_MEMBERUID)
		return seterr(err, errlen, "membership", "unknown value");
	/* The daemon may fill the struct itself: ranges again, from the
	 * same table dir_config_set() uses. */
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		long n;

		if (keys[i].kind != K_LONG)
			continue;
		memcpy(&n, (const char *)cfg + keys[i].off, sizeof n);
		if (n < keys[i].min || n > keys[i].max)
			return seterr(err, errlen, keys[i].name,
			              "out of range");
	}
	if (cfg->retry_max_ms < cfg->retry_min_ms)
		return seterr(err, errlen, "retry_max_ms",
		              "smaller than retry_min_ms");
	if (cfg->tls_cacert[0] != '\0' && access(cfg->tls_cacert, R_OK) != 0) {
		snprintf(why, sizeof why, "%.200s: %s", cfg->tls_cacert,
		         strerror(errno));
		return seterr(err, errlen, "tls_cacert", why);
	}
	if (cfg->bind_password_file[0] != '\0') {
		/* Read it as a bind would, so --check-config catches an
		 * unsafe or empty file; the copy is wiped at once. */
		if ((rc = dir_config_read_password(cfg, &pw, err, errlen)) != 0)
			return rc;
		secret_strfree(pw);
	}
	return 0;
}

/* ms as seconds the way phiguard.conf writes them: "2", "1.5". */
static void seconds(long ms, char *out, size_t outsz)
{
	int n = snprintf(out, outsz, "%ld.%03ld", ms / 1000, ms % 1000);

	while (n > 0 && (size_t)n < outsz && out[n - 1] == '0')
		out[--n] = '\0';
	if (n > 0 && (size_t)n < outsz && out[n - 1] == '.')
		out[--n] = '\0';
}

int dir_config_fits(const struct dir_config *cfg, long limit_ms, char *msg,
                    size_t msglen)
{
	char net[32], search[32], limit[32];

	if (cfg->network_timeout_ms + cfg->search_timeout_ms < limit_ms)
		return 0;
	seconds(cfg->network_timeout_ms, net, sizeof net);
	seconds(cfg->search_timeout_ms, search, sizeof search);
	seconds(limit_ms, limit, sizeof limit);
	snprintf(msg, msglen,
	         "network_timeout (%s s) + search_timeout (%s s), what one "
	         "hung server may cost a cold login, reach the PAM module's "
	         "default daemon_timeout (%s s): the module would give up "
	         "before the next server answers; lower them, or raise "
	         "daemon_timeout= in the PAM stack",
	         net, search, limit);
	return 1;
}

const char *dir_config_reqcert_name(enum dir_reqcert v)
{
	return (unsigned)v <= DIR_REQCERT_NEVER ? reqcert_names[v] : "unknown";
}

int dir_config_read_password(const struct dir_config *cfg, char **pw, char *err,
                             size_t errlen)
{
	struct safefile_policy pol;
	char *buf = NULL, why[256];
	size_t len = 0, n;
	int rc;

	password_policy(cfg, &pol);
	rc = safefile_read(cfg->bind_password_file, &pol, &buf, &len, why,
	                   sizeof why);
	if (rc == PG_ERR_NOMEM)
		return rc;
	if (rc != 0)
		return seterr(err, errlen, "bind_password_file", why);
	n = len;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (n == 0 || memchr(buf, '\0', n) != NULL) {
		/* Wipe all len bytes: some may follow an embedded NUL. */
		secret_free(buf, len + 1);
		return seterr(err, errlen, "bind_password_file",
		              n == 0 ? "empty password" : "NUL in password");
	}
	*pw = buf;
	return 0;
}
