/* SPDX-License-Identifier: BSD-3-Clause */
/* The [push] settings the module hands to the push client: a plain copy of
 * phiguard.conf's values, with nothing of HTTP or TLS in it, so the module
 * reads them without loading the push client. */
#ifndef PHIGUARD_PAM_PUSH_CFG_H
#define PHIGUARD_PAM_PUSH_CFG_H

#include "conf.h"

/* The [push] settings the module uses (copied from phiguard.conf). */
struct push_cfg {
	enum conf_provider provider;
	int timeout_ms;         /* push_timeout: the whole push */
	int connect_timeout_ms; /* connect_timeout: per request */
	char ca_file[PG_CONF_MAX_PATH];
	char proxy[256];
	char host[256]; /* duo */
	char ikey[64];
	char skey_file[PG_CONF_MAX_PATH];
	char url[512]; /* privacyidea */
	char realm[128];
	char service_user[128];
	char service_password_file[PG_CONF_MAX_PATH];
	int trigger_password; /* privacyidea: pass = PAM_AUTHTOK, not "" */
};

/* Copy the [push] settings of conf into *pc. */
void push_cfg_from_conf(struct push_cfg *pc, const struct pg_conf *conf);

#endif
