/* SPDX-License-Identifier: BSD-3-Clause */
/* Settings of phiguardd's directory client: defaults, built from the
 * parsed [ldap] section, and the checks a whole configuration must pass. */
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

/* [ldap] and the client hold the same strings, so a copy never cuts. */
#define SAME_SIZE(field, conf_field)                                           \
	_Static_assert(sizeof(((struct dir_config *)0)->field) ==              \
	                   sizeof(((struct pg_conf *)0)->conf_field),          \
	               #field " and [ldap] " #conf_field " differ in size")
SAME_SIZE(base_dn, base);
SAME_SIZE(user_base, user_base);
SAME_SIZE(group_base, group_base);
SAME_SIZE(user_attr, user_attr);
SAME_SIZE(bind_dn, bind_dn);
SAME_SIZE(bind_password_file, bind_password_file);
SAME_SIZE(tls_cacert, tls_cacert);
#undef SAME_SIZE

/* Errors read "key: reason", so conf.c can prefix "file:line: ". */
static int seterr(char *err, size_t errlen, const char *key, const char *reason)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s: %s", key, reason);
	return PG_ERR_CONFIG;
}

/* Space-separated, as ldap.conf's URI: split into a copy so that an error
 * leaves the old list in place. */
static int split_uris(struct dir_config *cfg, const char *value, char *err,
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
	cfg->tls_reqcert = CONF_REQCERT_DEMAND;
	cfg->network_timeout_ms = PG_CONF_NETWORK_TIMEOUT * 1000L;
	cfg->search_timeout_ms = PG_CONF_SEARCH_TIMEOUT * 1000L;
	cfg->nesting_depth = 3;
	cfg->membership = CONF_MEMBERSHIP_AUTO;
	cfg->retry_min_ms = 1000;
	cfg->retry_max_ms = 60000;
	cfg->password_owner = -1;
}

#define COPY(dst, src) snprintf(dst, sizeof(dst), "%s", src)

int dir_config_from_conf(struct dir_config *cfg, const struct pg_conf *conf,
                         char *err, size_t errlen)
{
	dir_config_defaults(cfg);
	COPY(cfg->base_dn, conf->base);
	COPY(cfg->user_base, conf->user_base);
	COPY(cfg->group_base, conf->group_base);
	COPY(cfg->user_attr, conf->user_attr);
	COPY(cfg->bind_dn, conf->bind_dn);
	COPY(cfg->bind_password_file, conf->bind_password_file);
	COPY(cfg->tls_cacert, conf->tls_cacert);
	cfg->sasl_external = conf->sasl_external;
	cfg->starttls = conf->starttls;
	cfg->tls_reqcert = conf->tls_reqcert;
	cfg->network_timeout_ms = conf->network_timeout_ms;
	cfg->search_timeout_ms = conf->search_timeout_ms;
	cfg->nesting_depth = conf->nesting_depth;
	cfg->membership = conf->membership;
	return split_uris(cfg, conf->uri, err, errlen);
}

#undef COPY

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
	pol->owner =
	    cfg->password_owner < 0 ? geteuid() : (uid_t)cfg->password_owner;
	pol->root_too = cfg->password_root_too;
}

/* The numbers, which the daemon or a test may have set directly. */
static int ranges_check(const struct dir_config *cfg, char *err, size_t errlen)
{
	const struct {
		const char *name;
		long value, min, max;
	} nums[] = {
	    {"network_timeout_ms", cfg->network_timeout_ms, 100, 60000},
	    {"search_timeout_ms", cfg->search_timeout_ms, 100, 60000},
	    {"nesting_depth", cfg->nesting_depth, 0, DIR_MAX_DEPTH},
	    {"retry_min_ms", cfg->retry_min_ms, 10, 3600000},
	    {"retry_max_ms", cfg->retry_max_ms, 10, 3600000},
	};
	size_t i;

	for (i = 0; i < sizeof nums / sizeof nums[0]; i++)
		if (nums[i].value < nums[i].min || nums[i].value > nums[i].max)
			return seterr(err, errlen, nums[i].name,
			              "out of range");
	return 0;
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
	if ((unsigned)cfg->tls_reqcert > CONF_REQCERT_NEVER)
		return seterr(err, errlen, "tls_reqcert", "unknown value");
	if ((unsigned)cfg->membership > CONF_MEMBERSHIP_MEMBERUID)
		return seterr(err, errlen, "membership", "unknown value");
	if ((rc = ranges_check(cfg, err, errlen)) != 0)
		return rc;
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
