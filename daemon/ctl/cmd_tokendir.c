/* SPDX-License-Identifier: BSD-3-Clause */
/* enroll, remove, list and import against the directory's token store. */
#include "config.h"

#include "cmd_tokendir.h"

#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "err.h"
#include "log.h"
#include "sanitize.h"
#include "tokendir.h"

#define ERRLEN 1024

/* What oathSecret holds: the sealed text with a site key, else the raw
 * key bytes (what slapd's otp overlay reads). */
static int put_token(struct tokendir *td, const struct pg_token *tok,
                     unsigned window, int replace, char *dn, size_t dnsz,
                     char *err, size_t errlen)
{
	if (tok->sealed[0] != '\0')
		return tokendir_put(td, tok, (const unsigned char *)tok->sealed,
		                    strlen(tok->sealed), window, replace, dn,
		                    dnsz, err, errlen);
	return tokendir_put(td, tok, tok->secret, tok->secret_len, window,
	                    replace, dn, dnsz, err, errlen);
}

/* The directory as the admin, or CTL_EXIT_FAIL after saying why. */
static int open_dir(const struct pg_conf *conf, const char *cmd,
                    struct tokendir **td)
{
	char err[ERRLEN];

	/* The directory client's warnings (a refused certificate, a bind
	 * without TLS) go to stderr; its progress does not. */
	log_init("phiguardctl", 1, PG_LOG_ERR);
	if (tokendir_open(conf, td, err, sizeof err) == 0)
		return 0;
	ctl_errx("%s: %s", cmd, err);
	return CTL_EXIT_FAIL;
}

int cmd_tokendir_enroll(const struct pg_conf *conf, const struct pg_token *tok,
                        int replace, char *where, size_t wsz)
{
	struct tokendir *td = NULL;
	char err[ERRLEN];
	int rc;

	if ((rc = open_dir(conf, "enroll", &td)) != 0)
		return rc;
	if (put_token(td, tok, (unsigned)conf->window, replace, where, wsz, err,
	              sizeof err) != 0) {
		ctl_errx("enroll: %s", err);
		rc = CTL_EXIT_FAIL;
	}
	tokendir_close(td);
	return rc;
}

int cmd_tokendir_remove(const struct pg_conf *conf, const char *user)
{
	struct tokendir *td = NULL;
	char err[ERRLEN];
	int rc;

	if ((rc = open_dir(conf, "remove", &td)) != 0)
		return rc;
	if (tokendir_remove(td, user, err, sizeof err) != 0) {
		ctl_errx("remove: %s", err);
		rc = CTL_EXIT_FAIL;
	} else
		printf("Removed the token of %s from the directory (%s).\n",
		       user, tokendir_server(td));
	tokendir_close(td);
	return rc;
}

/* One row per user; what the directory holds is shown sanitized (anyone
 * who could write a description or a DN must not drive the terminal). */
static int list_row(const struct tokendir_entry *e, void *arg)
{
	unsigned *shown = arg;
	char step[32], params[48], user[PG_USER_MAX + 1];
	char label[PG_TOKEN_MAX_LABEL + 1], dn[TOKENDIR_DN_MAX];

	if ((*shown)++ == 0)
		printf("%-16s %-9s %6s %6s %6s %12s %8s %6s  %-10s %s\n",
		       "USER", "ALGORITHM", "DIGITS", "PERIOD", "WINDOW",
		       "LAST-STEP", "FAILURES", "SEALED", "LABEL", "TOKEN");
	if (e->params_ok)
		snprintf(params, sizeof params, "%-9s %6u %6u %6u",
		         tokens_alg_name(e->alg), e->digits, e->period,
		         e->window);
	else
		snprintf(params, sizeof params, "%-9s %6s %6s %6s", "?", "?",
		         "?", "?");
	if (e->has_step)
		snprintf(step, sizeof step, "%llu", e->step);
	else
		snprintf(step, sizeof step, "-");
	sanitize_text(e->user, strlen(e->user), user, sizeof user);
	sanitize_text(e->label, strlen(e->label), label, sizeof label);
	sanitize_text(e->token_dn, strlen(e->token_dn), dn, sizeof dn);
	printf("%-16s %s %12s %8lu %6s  %-10s %s\n", user, params, step,
	       e->failures,
	       !e->has_secret ? "none"
	       : e->sealed    ? "yes"
	                      : "no",
	       label[0] != '\0' ? label : "-", dn);
	return 0;
}

int cmd_tokendir_list(const struct pg_conf *conf, const char *user)
{
	struct tokendir *td = NULL;
	char err[ERRLEN];
	unsigned shown = 0;
	int rc;

	if ((rc = open_dir(conf, "list", &td)) != 0)
		return rc;
	if (tokendir_list(td, user, list_row, &shown, err, sizeof err) != 0) {
		ctl_errx("list: %s", err);
		rc = CTL_EXIT_FAIL;
	} else if (user != NULL && shown == 0) {
		ctl_errx("list: %s has no token in the directory", user);
		rc = CTL_EXIT_FAIL;
	}
	tokendir_close(td);
	return rc;
}

/* An item of res before index i for the same user, if any. */
static const struct import_item *earlier_item(const struct import_result *res,
                                              size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (strcmp(res->items[j].tok.user, res->items[i].tok.user) == 0)
			return &res->items[j];
	return NULL;
}

int cmd_tokendir_import(const struct pg_conf *conf, struct import_result *res,
                        int replace, unsigned *imported)
{
	const struct import_item *first;
	struct import_item *it;
	struct tokendir *td = NULL;
	char err[ERRLEN], dn[TOKENDIR_DN_MAX];
	size_t i;
	int rc;

	if ((rc = open_dir(conf, "import", &td)) != 0)
		return rc;
	for (i = 0; i < res->nitems; i++) {
		it = &res->items[i];
		first = earlier_item(res, i);
		if (first != NULL) {
			it->skipped = 1;
			rc =
			    import_skip(res, it->line,
			                "%s: the directory holds one token per "
			                "user; only line %u's is imported",
			                it->tok.user, first->line);
		} else if (put_token(td, &it->tok, (unsigned)conf->window,
		                     replace, dn, sizeof dn, err,
		                     sizeof err) != 0) {
			it->skipped = 1;
			rc = import_skip(res, it->line, "%s", err);
		} else
			++*imported;
		if (rc != 0) {
			ctl_errx("import: out of memory");
			rc = CTL_EXIT_FAIL;
			break;
		}
	}
	tokendir_close(td);
	return rc;
}

struct reseal_walk {
	struct tokendir *td;
	const struct seal_keyring *kr;
	int write;
	unsigned n;
	char err[ERRLEN];
};

static int reseal_row(const struct tokendir_entry *e, void *arg)
{
	struct reseal_walk *w = arg;
	int rc;

	if ((rc = tokendir_reseal(w->td, e, w->kr, w->write, w->err,
	                          sizeof w->err)) == 0)
		w->n++;
	return rc;
}

int cmd_tokendir_reseal(const struct pg_conf *conf,
                        const struct seal_keyring *kr, unsigned *n)
{
	struct reseal_walk w;
	int rc;

	memset(&w, 0, sizeof w);
	w.kr = kr;
	if ((rc = open_dir(conf, "reseal", &w.td)) != 0)
		return rc;
	/* Every secret is opened first, and only then is any rewritten: one
	 * that no key opens stops it with nothing changed. */
	for (w.write = 0; w.write <= 1; w.write++) {
		w.n = 0;
		if (tokendir_list(w.td, NULL, reseal_row, &w, w.err,
		                  sizeof w.err) != 0) {
			ctl_errx("reseal: %s%s", w.err,
			         w.write ? " (tokens before it were resealed; "
			                   "run reseal again)"
			                 : "; nothing was changed");
			rc = CTL_EXIT_FAIL;
			break;
		}
	}
	*n = w.n;
	tokendir_close(w.td);
	return rc;
}
