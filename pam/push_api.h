/* SPDX-License-Identifier: BSD-3-Clause */
/* The push client's interface to the module. The push client (push, its
 * providers, http: everything that links libcurl, jansson and libcrypto) is
 * a private shared object of its own, $(pkglibdir)/push.so, which the
 * module dlopens only for a push (push_load.h), so that a login without
 * push maps no HTTP/TLS stack. Its one exported symbol, PUSH_API_SYMBOL, is
 * this table. */
#ifndef PHIGUARD_PAM_PUSH_API_H
#define PHIGUARD_PAM_PUSH_API_H

#include <stddef.h>

#include "push.h"

/* The symbol's name carries the version: a table of another layout is
 * another symbol, which an older or newer module does not find. */
#define PUSH_API_SYMBOL  "phiguard_push_v1"
#define PUSH_API_VERSION 1

struct push_api {
	unsigned version; /* PUSH_API_VERSION */
	/* The build both sides must share: the structures below are passed
	 * by pointer, so their sizes must agree too. */
	const char *package_version; /* PACKAGE_VERSION of the push client */
	size_t push_size;            /* sizeof(struct push) */
	size_t cfg_size;             /* sizeof(struct push_cfg) */
	/* push.h's functions of the same names. */
	int (*start)(struct push *p, const struct push_cfg *cfg,
	             const char *user, const char *rhost, const char *service,
	             const char *pass);
	void (*wait)(struct push *p);
	void (*done)(struct push *p);
	long (*latency_ms)(const struct push *p);
};

/* The table push.so exports (defined in push_api.c, which only push.so
 * links). */
extern const struct push_api phiguard_push_v1;

#endif
