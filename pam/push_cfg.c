/* SPDX-License-Identifier: BSD-3-Clause */
/* The [push] settings, copied out of the parsed configuration. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "push_cfg.h"

void push_cfg_from_conf(struct push_cfg *pc, const struct pg_conf *conf)
{
	memset(pc, 0, sizeof(*pc));
	pc->provider = conf->provider;
	pc->timeout_ms = (int)conf->push_timeout * 1000;
	pc->connect_timeout_ms = (int)conf->connect_timeout * 1000;
#define COPY(f) snprintf(pc->f, sizeof(pc->f), "%s", conf->f)
	COPY(ca_file);
	COPY(proxy);
	COPY(host);
	COPY(ikey);
	COPY(skey_file);
	COPY(url);
	COPY(realm);
	COPY(service_user);
	COPY(service_password_file);
#undef COPY
	pc->trigger_password = conf->trigger == CONF_TRIGGER_PASSWORD;
}
