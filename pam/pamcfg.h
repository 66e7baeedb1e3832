/* SPDX-License-Identifier: BSD-3-Clause */
/* pam_phiguard's settings: module arguments over phiguard.conf over built-in
 * defaults. Independent of libpam, so every branch is unit-tested. */
#ifndef PHIGUARD_PAM_PAMCFG_H
#define PHIGUARD_PAM_PAMCFG_H

#include <stddef.h>

#include "conf.h"
#include "push_cfg.h"

#define PAMCFG_DEFAULT_PROMPT     "Verification code: "
#define PAMCFG_MAX_PROMPT         255 /* bytes */
#define PAMCFG_DEFAULT_TIMEOUT_MS PG_CONF_DAEMON_TIMEOUT_MS
#define PAMCFG_MIN_TIMEOUT_MS     100
#define PAMCFG_MAX_TIMEOUT_MS     30000
#define PAMCFG_MAX_WINDOW         10
#define PAMCFG_MAX_UNKNOWN        8 /* unknown arguments remembered for the log */
/* Config file errors remembered for the log. */
#define PAMCFG_MAX_CONF_ERRORS 4

/* What to do with a user who has no token in the store. */
enum pamcfg_no_token {
	PAMCFG_NO_TOKEN_DENY = 0, /* prompt anyway, then PAM_AUTH_ERR */
	PAMCFG_NO_TOKEN_IGNORE,   /* PAM_IGNORE without prompting */
};

/* What the account and session stages do when phiguardd cannot be asked
 * (the auth stage always fails closed: see pam_phiguard(8)). */
enum pamcfg_daemon_down {
	PAMCFG_DAEMON_DOWN_DENY =
	    0,                     /* PAM_AUTHINFO_UNAVAIL / PAM_SESSION_ERR */
	PAMCFG_DAEMON_DOWN_IGNORE, /* PAM_IGNORE */
};

/* Where the code comes from. */
enum pamcfg_authtok {
	PAMCFG_AUTHTOK_PROMPT = 0, /* always prompt */
	PAMCFG_AUTHTOK_TRY,        /* PAM_AUTHTOK if set, else prompt */
	PAMCFG_AUTHTOK_USE,        /* PAM_AUTHTOK or deny */
};

/* Second factors offered (bits); 0 = take [push] factors from the file. */
#define PAMCFG_FACTOR_TOTP 0x1
#define PAMCFG_FACTOR_PUSH 0x2

/* What a push provider failure (unreachable, TLS, bad reply) does. */
enum pamcfg_failmode {
	PAMCFG_FAILMODE_UNSET = 0, /* take [push] failmode from the file */
	PAMCFG_FAILMODE_SECURE,    /* deny */
	PAMCFG_FAILMODE_SAFE,      /* fall back to the TOTP prompt */
};

struct pamcfg {
	char config[PG_CONF_MAX_PATH];
	int config_set; /* config= given: a missing file is an error */
	char tokens[PG_CONF_MAX_PATH];   /* "" = take it from the config file */
	char key_file[PG_CONF_MAX_PATH]; /* [tokens] key_file; "" = none */
	/* [tokens] store = ldap: the token records come from phiguardd's
	 * PREAUTH answer instead of the file. */
	int store_ldap;
	char socket[PG_CONF_MAX_PATH]; /* "" = take it from the config file */
	long window;                   /* -1 = take it from the config file */
	char prompt[PAMCFG_MAX_PROMPT + 1];
	enum pamcfg_no_token no_token;
	enum pamcfg_authtok authtok;
	enum pamcfg_daemon_down daemon_down;
	int timeout_ms;   /* bound on each daemon request, connect included */
	unsigned factors; /* PAMCFG_FACTOR_* bits; 0 until resolved */
	enum pamcfg_failmode failmode;
	struct push_cfg push; /* [push] of the file, once resolved */
	int debug;
	size_t n_unknown; /* unknown arguments seen, all of them counted */
	const char *unknown[PAMCFG_MAX_UNKNOWN]; /* the first ones; borrowed
	                                            from argv */
	size_t n_conf_errors; /* errors in the keys read, all counted */
	char conf_errors[PAMCFG_MAX_CONF_ERRORS][PG_CONF_ERRLEN]; /* the first
	                                            ones, "file:line: ..." */
};

/* Fill *cfg with the built-in defaults (nothing resolved from a file yet). */
void pamcfg_defaults(struct pamcfg *cfg);

/*
 * Apply module arguments (argc/argv as given to pam_sm_*) on top of *cfg;
 * a later argument overrides an earlier one, except that use_first_pass
 * always wins over try_first_pass. Unknown arguments are not an error:
 * they are counted in n_unknown for the caller to log. Returns 0, or
 * PG_ERR_INVAL with "argument: reason" in err; *cfg is changed only on
 * success.
 */
int pamcfg_parse_args(struct pamcfg *cfg, int argc, const char **argv,
                      char *err, size_t errlen);

/*
 * Read cfg->config (root-owned, not group/other-writable, at most 1 MiB)
 * and take from it every value no argument set: [daemon] socket, [totp]
 * tokens and window, [tokens] key_file, [push] factors and failmode, and
 * the [push] provider settings. Nothing else of the file is read, so the
 * daemon's sections cannot stop a login. An error in a key read is not fatal
 * either: the key keeps its built-in default and the error is counted in
 * n_conf_errors (the first ones kept in conf_errors) for the caller to log;
 * [push] keys that do not fit together leave push off (provider none). Push is
 * dropped from the factors when no provider is configured, unless it is
 * the only factor asked for: that is a PG_ERR_CONFIG.
 * The default config file may be missing (built-in defaults then apply);
 * a file named by config= may not. Returns 0, or the conf_load() file
 * errors (PG_ERR_NOTFOUND, PG_ERR_UNSAFE_FILE, PG_ERR_IO, ...) with the
 * reason in err; *cfg is changed only on success.
 */
int pamcfg_resolve(struct pamcfg *cfg, char *err, size_t errlen);

#endif
