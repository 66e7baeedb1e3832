/* SPDX-License-Identifier: BSD-3-Clause */
/* Parsing pam_phiguard's module arguments and merging them with the
 * values the module uses of phiguard.conf. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "err.h"
#include "pamcfg.h"

/* A handler gets the text after "name=" (NULL for a flag). */
typedef int (*opt_fn)(struct pamcfg *cfg, const char *val, char *err,
                      size_t errlen);

struct opt {
	const char *name;
	int takes_value;
	opt_fn fn;
};

static int set_path(char *dst, const char *val, char *err, size_t errlen)
{
	/* Relative paths would depend on the calling program's cwd. */
	if (val[0] != '/') {
		snprintf(err, errlen, "not an absolute path");
		return PG_ERR_INVAL;
	}
	if (strlen(val) >= PG_CONF_MAX_PATH) {
		snprintf(err, errlen, "path too long");
		return PG_ERR_INVAL;
	}
	strcpy(dst, val);
	return 0;
}

static int opt_config(struct pamcfg *cfg, const char *val, char *err,
                      size_t errlen)
{
	int r;

	if ((r = set_path(cfg->config, val, err, errlen)) == 0)
		cfg->config_set = 1;
	return r;
}

static int opt_tokens(struct pamcfg *cfg, const char *val, char *err,
                      size_t errlen)
{
	return set_path(cfg->tokens, val, err, errlen);
}

static int opt_socket(struct pamcfg *cfg, const char *val, char *err,
                      size_t errlen)
{
	return set_path(cfg->socket, val, err, errlen);
}

static int opt_window(struct pamcfg *cfg, const char *val, char *err,
                      size_t errlen)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(val, &end, 10);
	/* strtol accepts leading blanks and a sign; an option value has
	 * neither. */
	if (val[0] < '0' || val[0] > '9' || *end != '\0' || errno != 0 ||
	    v > PAMCFG_MAX_WINDOW) {
		snprintf(err, errlen, "not an integer in 0..%d",
		         PAMCFG_MAX_WINDOW);
		return PG_ERR_INVAL;
	}
	cfg->window = v;
	return 0;
}

static int opt_prompt(struct pamcfg *cfg, const char *val, char *err,
                      size_t errlen)
{
	const unsigned char *p;

	if (val[0] == '\0' || strlen(val) > PAMCFG_MAX_PROMPT) {
		snprintf(err, errlen, "must be 1..%d bytes", PAMCFG_MAX_PROMPT);
		return PG_ERR_INVAL;
	}
	/* Control bytes in a prompt could drive the user's terminal. */
	for (p = (const unsigned char *)val; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			snprintf(err, errlen, "control character in prompt");
			return PG_ERR_INVAL;
		}
	}
	strcpy(cfg->prompt, val);
	return 0;
}

/* "deny" -> 0, "ignore" -> 1: the two options that choose between them. */
static int deny_or_ignore(const char *val, int *ignore, char *err,
                          size_t errlen)
{
	if (strcmp(val, "deny") == 0) {
		*ignore = 0;
	} else if (strcmp(val, "ignore") == 0) {
		*ignore = 1;
	} else {
		snprintf(err, errlen, "must be deny or ignore");
		return PG_ERR_INVAL;
	}
	return 0;
}

static int opt_no_token(struct pamcfg *cfg, const char *val, char *err,
                        size_t errlen)
{
	int ignore, r;

	if ((r = deny_or_ignore(val, &ignore, err, errlen)) == 0)
		cfg->no_token =
		    ignore ? PAMCFG_NO_TOKEN_IGNORE : PAMCFG_NO_TOKEN_DENY;
	return r;
}

static int opt_daemon_down(struct pamcfg *cfg, const char *val, char *err,
                           size_t errlen)
{
	int ignore, r;

	if ((r = deny_or_ignore(val, &ignore, err, errlen)) == 0)
		cfg->daemon_down = ignore ? PAMCFG_DAEMON_DOWN_IGNORE
		                          : PAMCFG_DAEMON_DOWN_DENY;
	return r;
}

/* Seconds with at most three decimals ("2", "0.5", "1.250") to ms. */
static int opt_daemon_timeout(struct pamcfg *cfg, const char *val, char *err,
                              size_t errlen)
{
	const char *p = val;
	long ms = 0, scale = 1000;

	for (; *p >= '0' && *p <= '9' && ms <= PAMCFG_MAX_TIMEOUT_MS; p++)
		ms = ms * 10 + (*p - '0') * 1000;
	if (p == val)
		goto bad;
	if (*p == '.') {
		if (*++p < '0' || *p > '9')
			goto bad;
		for (; *p >= '0' && *p <= '9' && scale > 1; p++) {
			scale /= 10;
			ms += (*p - '0') * scale;
		}
	}
	if (*p != '\0' || ms < PAMCFG_MIN_TIMEOUT_MS ||
	    ms > PAMCFG_MAX_TIMEOUT_MS)
		goto bad;
	cfg->timeout_ms = (int)ms;
	return 0;
bad:
	snprintf(err, errlen, "must be seconds in %d.%d..%d (three decimals)",
	         PAMCFG_MIN_TIMEOUT_MS / 1000,
	         PAMCFG_MIN_TIMEOUT_MS % 1000 / 100,
	         PAMCFG_MAX_TIMEOUT_MS / 1000);
	return PG_ERR_INVAL;
}

/* "totp", "push", "totp,push" or "push,totp". */
static int opt_factors(struct pamcfg *cfg, const char *val, char *err,
                       size_t errlen)
{
	if (strcmp(val, "totp") == 0)
		cfg->factors = PAMCFG_FACTOR_TOTP;
	else if (strcmp(val, "push") == 0)
		cfg->factors = PAMCFG_FACTOR_PUSH;
	else if (strcmp(val, "totp,push") == 0 || strcmp(val, "push,totp") == 0)
		cfg->factors = PAMCFG_FACTOR_TOTP | PAMCFG_FACTOR_PUSH;
	else {
		snprintf(err, errlen, "must be totp, push or totp,push");
		return PG_ERR_INVAL;
	}
	return 0;
}

/* [push] factors as the bits a module argument gives. */
static unsigned factors_from_conf(enum conf_factors f)
{
	switch (f) {
	case CONF_FACTORS_TOTP:
		return PAMCFG_FACTOR_TOTP;
	case CONF_FACTORS_PUSH:
		return PAMCFG_FACTOR_PUSH;
	case CONF_FACTORS_TOTP_PUSH:
		break;
	}
	return PAMCFG_FACTOR_TOTP | PAMCFG_FACTOR_PUSH;
}

static int opt_failmode(struct pamcfg *cfg, const char *val, char *err,
                        size_t errlen)
{
	if (strcmp(val, "secure") == 0)
		cfg->failmode = PAMCFG_FAILMODE_SECURE;
	else if (strcmp(val, "safe") == 0)
		cfg->failmode = PAMCFG_FAILMODE_SAFE;
	else {
		snprintf(err, errlen, "must be secure or safe");
		return PG_ERR_INVAL;
	}
	return 0;
}

static int opt_use_first_pass(struct pamcfg *cfg, const char *val, char *err,
                              size_t errlen)
{
	cfg->authtok = PAMCFG_AUTHTOK_USE;
	return 0;
}

static int opt_try_first_pass(struct pamcfg *cfg, const char *val, char *err,
                              size_t errlen)
{
	/* The stricter option wins whatever the order. */
	if (cfg->authtok != PAMCFG_AUTHTOK_USE)
		cfg->authtok = PAMCFG_AUTHTOK_TRY;
	return 0;
}

static int opt_debug(struct pamcfg *cfg, const char *val, char *err,
                     size_t errlen)
{
	cfg->debug = 1;
	return 0;
}

/* Every argument, documented in pam_phiguard(8); keep the two in step. */
static const struct opt opts[] = {
    {"config", 1, opt_config},
    {"tokens", 1, opt_tokens},
    {"socket", 1, opt_socket},
    {"window", 1, opt_window},
    {"prompt", 1, opt_prompt},
    {"no_token", 1, opt_no_token},
    {"daemon_timeout", 1, opt_daemon_timeout},
    {"daemon_down", 1, opt_daemon_down},
    {"factors", 1, opt_factors},
    {"failmode", 1, opt_failmode},
    {"use_first_pass", 0, opt_use_first_pass},
    {"try_first_pass", 0, opt_try_first_pass},
    {"debug", 0, opt_debug},
};

void pamcfg_defaults(struct pamcfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->config, sizeof(cfg->config), "%s", PG_DEFAULT_CONFIG);
	cfg->window = -1;
	snprintf(cfg->prompt, sizeof(cfg->prompt), "%s", PAMCFG_DEFAULT_PROMPT);
	cfg->no_token = PAMCFG_NO_TOKEN_DENY;
	cfg->authtok = PAMCFG_AUTHTOK_PROMPT;
	cfg->daemon_down = PAMCFG_DAEMON_DOWN_DENY;
	cfg->timeout_ms = PAMCFG_DEFAULT_TIMEOUT_MS;
}

static const struct opt *find_opt(const char *arg, const char **val)
{
	size_t i, n;

	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		n = strlen(opts[i].name);
		if (strncmp(arg, opts[i].name, n) != 0)
			continue;
		if (opts[i].takes_value && arg[n] == '=') {
			*val = arg + n + 1;
			return &opts[i];
		}
		if (!opts[i].takes_value && arg[n] == '\0') {
			*val = NULL;
			return &opts[i];
		}
	}
	return NULL;
}

int pamcfg_parse_args(struct pamcfg *cfg, int argc, const char **argv,
                      char *err, size_t errlen)
{
	struct pamcfg tmp = *cfg;
	const struct opt *o;
	const char *val;
	char why[128];
	int i, r = 0;

	for (i = 0; i < argc; i++) {
		if (argv[i] == NULL)
			continue;
		if ((o = find_opt(argv[i], &val)) == NULL) {
			if (tmp.n_unknown < PAMCFG_MAX_UNKNOWN)
				tmp.unknown[tmp.n_unknown] = argv[i];
			tmp.n_unknown++;
			continue;
		}
		if ((r = o->fn(&tmp, val, why, sizeof(why))) != 0) {
			snprintf(err, errlen, "%s: %s", o->name, why);
			goto out;
		}
	}
	*cfg = tmp;
out:
	return r;
}

/*
 * The keys the module takes from the file; the rest is phiguardd's (and
 * phiguardctl's) and stays unread, so a typo there cannot cost a login.
 */
static const char *const module_keys[] = {
    "daemon.socket",   "totp.tokens", "totp.window", "tokens.store",
    "tokens.key_file", "push",        NULL};

static void conf_warn(void *arg, const char *msg)
{
	struct pamcfg *cfg = arg;

	if (cfg->n_conf_errors < PAMCFG_MAX_CONF_ERRORS)
		snprintf(cfg->conf_errors[cfg->n_conf_errors],
		         sizeof(cfg->conf_errors[0]), "%s", msg);
	cfg->n_conf_errors++;
}

/*
 * A broken key falls back to its built-in default rather than failing the
 * login: those defaults are the fail-closed ones (the socket and token
 * store of a standard install, window 1, failmode secure, provider none),
 * and a typo that refused every login would lock out the very people who
 * must fix it while the daemon runs on its old policy.
 */
int pamcfg_resolve(struct pamcfg *cfg, char *err, size_t errlen)
{
	struct pamcfg tmp = *cfg;
	struct conf_select sel = {module_keys, conf_warn, &tmp};
	struct pg_conf conf;
	int r;

	tmp.n_conf_errors = 0;
	conf_defaults(&conf);
	r = conf_load_select(tmp.config, 1, &sel, &conf, err, errlen);
	/* No file at the default path means "no site settings", not a
	 * broken site: a freshly installed module still works. */
	if (r == PG_ERR_NOTFOUND && !tmp.config_set) {
		conf_defaults(&conf);
		r = 0;
	}
	if (r != 0)
		goto out;
	if (tmp.tokens[0] == '\0')
		snprintf(tmp.tokens, sizeof(tmp.tokens), "%s", conf.tokens);
	if (tmp.socket[0] == '\0')
		snprintf(tmp.socket, sizeof(tmp.socket), "%s", conf.socket);
	snprintf(tmp.key_file, sizeof(tmp.key_file), "%s", conf.key_file);
	if (tmp.window < 0)
		tmp.window = conf.window;
	tmp.store_ldap = conf.store == PG_TOKEN_STORE_LDAP;
	if (tmp.factors == 0)
		tmp.factors = factors_from_conf(conf.factors);
	if (tmp.failmode == PAMCFG_FAILMODE_UNSET)
		tmp.failmode = conf.failmode == CONF_FAILMODE_SAFE
		                   ? PAMCFG_FAILMODE_SAFE
		                   : PAMCFG_FAILMODE_SECURE;
	push_cfg_from_conf(&tmp.push, &conf);
	if (tmp.push.provider == CONF_PROVIDER_NONE) {
		/* Push is offered only with a provider; asked for alone,
		 * nothing could be offered at all. */
		if (tmp.factors == PAMCFG_FACTOR_PUSH) {
			snprintf(err, errlen,
			         "%s: factors=push but [push] provider = none",
			         tmp.config);
			r = PG_ERR_CONFIG;
			goto out;
		}
		tmp.factors &= ~(unsigned)PAMCFG_FACTOR_PUSH;
	}
	*cfg = tmp;
out:
	return r;
}
