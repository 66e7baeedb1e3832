/* SPDX-License-Identifier: BSD-3-Clause */
/* A configuration translated for authorization (authz_conf.c): the
 * directory client's settings from [ldap], and the policy. */
#ifndef PHIGUARD_DAEMON_AUTHZ_CONF_H
#define PHIGUARD_DAEMON_AUTHZ_CONF_H

#include <stddef.h>

struct dir_config;
struct pg_conf;
struct pg_policy;

/*
 * Everything a configuration gives, built before anything is swapped:
 * *cfg (calloc'ed, the caller frees) and *pol (policy_free). Returns 0,
 * or PG_ERR_CONFIG with "[section]: key: reason" in err (errlen bytes),
 * or PG_ERR_NOMEM; then both are NULL.
 */
int authz_conf_prepare(const struct pg_conf *c, struct dir_config **cfg,
                       struct pg_policy **pol, char *err, size_t errlen);

/* [ldap] of c as the directory client takes it (the password file's
 * owner as the daemon runs), checked: 0, or PG_ERR_CONFIG with "[ldap]:
 * reason" in err. Also for the token store's own connections. */
int authz_conf_dir(const struct pg_conf *c, struct dir_config *cfg, char *err,
                   size_t errlen);

/* Log a warning if cfg's timeouts do not fit inside the PAM module's
 * default daemon_timeout (authz_check_config()). */
void authz_conf_log_timeouts(const struct dir_config *cfg);

#endif
