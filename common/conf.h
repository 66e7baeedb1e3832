/* SPDX-License-Identifier: BSD-3-Clause */
/* phiguard.conf: the INI-style configuration shared by phiguardd, the PAM
 * module and phiguardctl. Table-driven; parse errors are returned as
 * "file:line: key: reason", never printed and never fatal. */
#ifndef PHIGUARD_COMMON_CONF_H
#define PHIGUARD_COMMON_CONF_H

#include <stdio.h>
#include <stddef.h>

#define PG_DEFAULT_CONFIG SYSCONFDIR "/phiguard/phiguard.conf"
#define PG_CONF_ERRLEN 512
#define PG_CONF_MAX_PATH 1024

/*
 * Every key with its default. Documented in phiguard.conf(5) and
 * contrib/phiguard.conf.example; keep the three in step.
 */
struct pg_conf {
	/* [daemon] */
	char socket[PG_CONF_MAX_PATH];    /* PG_DEFAULT_SOCKET */
	char state_dir[PG_CONF_MAX_PATH]; /* LOCALSTATEDIR "/lib/phiguard" */
	char pidfile[PG_CONF_MAX_PATH];   /* "" = none */
	char user[64];          /* "" = stay as started; else drop to user */
	long max_clients;       /* 64 (1..4096) */
	long client_timeout;    /* 5 s idle/slow-drip bound (1..300) */
	long log_level;         /* 1 = info; 0 err, 1 info, 2 debug */

	/* [totp] */
	char tokens[PG_CONF_MAX_PATH]; /* SYSCONFDIR "/phiguard/tokens" */
	long window;          /* 1 time step either side (0..10) */
	long max_failures;    /* 5 (1..1000) */
	long failure_window;  /* 300 s (1..86400) */
	long lockout;         /* 900 s (1..604800) */
	char issuer[128];     /* "phiguard": otpauth issuer for enrollment */
};

/* Fill *conf with every default. */
void conf_defaults(struct pg_conf *conf);

/*
 * Parse text (len bytes, need not be NUL-terminated) named `name` in
 * errors, on top of what *conf already holds (call conf_defaults first).
 * Syntax: "[section]" lines, "key = value" lines, '#' or ';' comments,
 * blank lines; values may be double-quoted. Unknown section or key,
 * duplicate key, out-of-range number, over-long value, a key before any
 * section: error. Returns 0 or PG_ERR_CONFIG with "name:line: key: reason"
 * in err (errlen bytes). On error *conf may be partially updated: parse
 * into a scratch copy and swap on success.
 */
int conf_parse(const char *name, const char *text, size_t len,
	       struct pg_conf *conf, char *err, size_t errlen);

/*
 * Read path with safefile (root-owned, not group/other-writable; with
 * check_owner == 0 the owner is not checked, for tests run as non-root)
 * and conf_parse() it. Same errors, plus the safefile ones in err.
 */
int conf_load(const char *path, int check_owner, struct pg_conf *conf,
	      char *err, size_t errlen);

/* Write the effective configuration, every key, as a valid config file. */
void conf_dump(const struct pg_conf *conf, FILE *out);

#endif
