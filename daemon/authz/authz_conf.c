/* SPDX-License-Identifier: BSD-3-Clause */
/* A configuration as authorization takes it: [ldap] translated for the
 * directory client, the policy built, both checked. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "authz/authz.h"
#include "authz/authz_conf.h"
#include "authz/dir_config.h"
#include "authz/policy.h"
#include "core/runas.h"
#include "err.h"
#include "log.h"

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

int authz_conf_dir(const struct pg_conf *c, struct dir_config *cfg, char *err,
                   size_t errlen)
{
	char why[PG_CONF_ERRLEN];
	int rc;

	if ((rc = dir_config_from_conf(cfg, c, why, sizeof(why))) == 0) {
		set_password_owner(c, cfg);
		rc = dir_config_check(cfg, why, sizeof(why));
	}
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
int authz_conf_prepare(const struct pg_conf *c, struct dir_config **cfg,
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
	if ((rc = authz_conf_dir(c, *cfg, err, errlen)) != 0 ||
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

void authz_conf_log_timeouts(const struct dir_config *cfg)
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
	int rc = authz_conf_prepare(conf, &cfg, &pol, err, errlen);

	if (warnlen > 0)
		warn[0] = '\0';
	if (rc == 0)
		timeouts_warning(cfg, warn, warnlen);
	free(cfg);
	policy_free(pol);
	return rc;
}
