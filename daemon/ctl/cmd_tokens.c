/* SPDX-License-Identifier: BSD-3-Clause */
/* phiguardctl's token commands: enroll, remove, list and import, all of them
 * changing the token file only through tokenstore_update(), or the
 * directory's tokens through cmd_tokendir.h ([tokens] store = ldap). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "cmd_tokendir.h"
#include "commands.h"
#include "err.h"
#include "import.h"
#include "otpauth.h"
#include "qr.h"
#include "seal.h"
#include "secret.h"
#include "tokens.h"
#include "tokendir.h"
#include "tokenstore.h"
#include "username.h"

#define ERRLEN 512

/* Key sizes: the hash's output size, as RFC 6238's reference uses and
 * authenticator apps expect; all are at least RFC 4226's 160 bits. */
static const size_t secret_size[] = {
    [PG_ALG_SHA1] = 20,
    [PG_ALG_SHA256] = 32,
    [PG_ALG_SHA512] = 64,
};

/*
 * Handle an option every token command shares: 0 for --tokens, CTL_HELP
 * for --help, CTL_EXIT_USAGE for anything else (getopt has said why).
 */
static int common_opt(int opt, const char **tokens)
{
	switch (opt) {
	case 't':
		*tokens = optarg;
		return 0;
	case 'h':
		return CTL_HELP;
	default:
		return CTL_EXIT_USAGE;
	}
}

/*
 * Whether a command works on the directory: [tokens] store = ldap and no
 * --tokens PATH, which names a token file.
 */
static int in_directory(const struct ctl_ctx *ctx, const char *tokens_opt)
{
	return tokens_opt == NULL && ctx->conf->store == PG_TOKEN_STORE_LDAP;
}

/* Decimal in [min, max], nothing else. */
static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return PG_ERR_INVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return PG_ERR_INVAL;
	*out = (unsigned)v;
	return 0;
}

static int check_user(const char *cmd, const char *user)
{
	if (username_check(user) == 0)
		return 0;
	ctl_errx("%s: invalid user name", cmd);
	return CTL_EXIT_USAGE;
}

static int random_bytes(unsigned char *buf, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = getrandom(buf + got, n - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return PG_ERR_IO;
		got += (size_t)r;
	}
	return 0;
}

struct enroll_opts {
	const char *tokens;
	const char *issuer;
	int alg;
	unsigned digits;
	unsigned period;
	int qr;
	enum qr_style qr_style;
	int force; /* the directory: replace the user's token */
};

static int enroll_edit(struct tokenstore_buf *store, void *arg, char *err,
                       size_t errlen)
{
	return tokenstore_add(store, arg, err, errlen);
}

/* Parse enroll's options into *o and the label into tok. */
static int enroll_args(int argc, char **argv, struct enroll_opts *o,
                       struct pg_token *tok)
{
	static const struct option longopts[] = {
	    {"tokens", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {"algorithm", required_argument, NULL, 'a'},
	    {"digits", required_argument, NULL, 'd'},
	    {"period", required_argument, NULL, 'p'},
	    {"issuer", required_argument, NULL, 'i'},
	    {"label", required_argument, NULL, 'l'},
	    {"no-qr", no_argument, NULL, 'n'},
	    {"qr-style", required_argument, NULL, 'q'},
	    {"force", no_argument, NULL, 'F'},
	    {NULL, 0, NULL, 0},
	};
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'a':
			if ((o->alg = tokens_alg_from_name(optarg)) < 0) {
				ctl_errx("enroll: --algorithm must be SHA1, "
				         "SHA256 or SHA512");
				return CTL_EXIT_USAGE;
			}
			break;
		case 'd':
			/* The store takes 7 too; apps show only 6 or 8. */
			if (parse_uint(optarg, 6, 8, &o->digits) != 0 ||
			    o->digits == 7) {
				ctl_errx("enroll: --digits must be 6 or 8");
				return CTL_EXIT_USAGE;
			}
			break;
		case 'p':
			if (parse_uint(optarg, 10, 300, &o->period) != 0) {
				ctl_errx("enroll: --period must be 10..300 "
				         "seconds");
				return CTL_EXIT_USAGE;
			}
			break;
		case 'i':
			o->issuer = optarg;
			break;
		case 'l':
			if (tokenstore_label_check(optarg) != 0) {
				ctl_errx("enroll: --label must be 1..%d of "
				         "A-Z a-z 0-9 . _ @ + -",
				         PG_TOKEN_MAX_LABEL);
				return CTL_EXIT_USAGE;
			}
			snprintf(tok->label, sizeof(tok->label), "%s", optarg);
			break;
		case 'n':
			o->qr = 0;
			break;
		case 'F':
			o->force = 1;
			break;
		case 'q':
			if (strcmp(optarg, "half") == 0)
				o->qr_style = QR_STYLE_HALF;
			else if (strcmp(optarg, "wide") == 0)
				o->qr_style = QR_STYLE_WIDE;
			else {
				ctl_errx("enroll: --qr-style must be half or "
				         "wide");
				return CTL_EXIT_USAGE;
			}
			break;
		default:
			if ((rc = common_opt(opt, &o->tokens)) != 0)
				return rc;
		}
	}
	if (argc - optind != 1) {
		ctl_errx("enroll: expected one USER");
		return CTL_EXIT_USAGE;
	}
	return check_user("enroll", argv[optind]);
}

/* Show what the admin hands to the user: the URI and, if wanted, the QR
 * code. The token is already stored (in where), so a failure here must say
 * how to undo it. */
static int enroll_show(const struct pg_token *tok, const char *where,
                       const char *uri, const struct enroll_opts *o, int dir)
{
	int rc;

	printf("Enrolled token%s%s for %s in %s (%s, %u digits, %u s).\n"
	       "%s this URI in the authenticator app:\n\n%s\n",
	       tok->label[0] != '\0' ? " " : "", tok->label, tok->user, where,
	       tokens_alg_name(tok->alg), tok->digits, tok->period,
	       o->qr ? "Scan the QR code below or enter" : "Enter", uri);
	rc = fflush(stdout) != 0 ? PG_ERR_IO : 0;
	if (rc == 0 && o->qr && fputs("\n", stdout) >= 0 &&
	    (rc = qr_print(stdout, uri, o->qr_style)) != 0)
		ctl_errx("enroll: cannot show the QR code: %s",
		         pg_strerror(rc));
	if (rc == 0 && fflush(stdout) == 0 && !ferror(stdout))
		return CTL_EXIT_OK;
	ctl_errx("enroll: the token is stored but was not shown in full; "
	         "remove it with: phiguardctl remove %s %s",
	         tok->user, dir ? "" : tok->label);
	return CTL_EXIT_FAIL;
}

int cmd_enroll(const struct ctl_ctx *ctx, int argc, char **argv)
{
	struct enroll_opts o = {.alg = PG_ALG_SHA1,
	                        .digits = 6,
	                        .period = 30,
	                        .qr = 1,
	                        .qr_style = QR_STYLE_HALF};
	struct seal_keyring kr;
	struct pg_token tok;
	char uri[OTPAUTH_URI_MAX], err[ERRLEN], where[TOKENDIR_DN_MAX];
	int rc, r, dir;

	memset(&tok, 0, sizeof(tok));
	memset(&kr, 0, sizeof(kr));
	if ((rc = enroll_args(argc, argv, &o, &tok)) != 0 ||
	    (rc = ctl_seal_keyring("enroll", ctx->conf->key_file, &kr)) != 0)
		goto out;
	dir = in_directory(ctx, o.tokens);
	if (o.force && !dir) {
		ctl_errx("enroll: --force replaces a token in the directory; a "
		         "token file holds several per user");
		rc = CTL_EXIT_USAGE;
		goto out;
	}
	rc = CTL_EXIT_FAIL;
	snprintf(tok.user, sizeof(tok.user), "%s", argv[optind]);
	tok.alg = (enum pg_token_alg)o.alg;
	tok.digits = o.digits;
	tok.period = o.period;
	tok.secret_len = secret_size[tok.alg];
	if (o.tokens == NULL)
		o.tokens = ctx->conf->tokens;
	if (o.issuer == NULL)
		o.issuer = ctx->conf->issuer;
	if (random_bytes(tok.secret, tok.secret_len) != 0) {
		ctl_err("enroll: getrandom");
		goto out;
	}
	/* Build the URI first: a bad issuer must not leave behind a stored
	 * token that nobody has seen. */
	if ((r = otpauth_build(&tok, o.issuer, uri, sizeof(uri))) != 0) {
		ctl_errx("enroll: cannot build the otpauth URI: %s%s",
		         pg_strerror(r),
		         r == PG_ERR_INVAL ? " (the issuer must be 1..127 "
		                             "bytes without ':')"
		                           : "");
		goto out;
	}
	/* With a site key the store gets the sealed secret only. */
	if (kr.n > 0 && (r = tokens_seal(&tok, &kr.keys[0])) != 0) {
		ctl_errx("enroll: cannot seal the secret: %s", pg_strerror(r));
		goto out;
	}
	if (dir) {
		if ((rc = cmd_tokendir_enroll(ctx->conf, &tok, o.force, where,
		                              sizeof(where))) != 0)
			goto out;
		rc = enroll_show(&tok, where, uri, &o, 1);
		goto out;
	}
	if ((r = tokenstore_update(o.tokens, TOKENSTORE_LOCK_TIMEOUT_MS,
	                           enroll_edit, &tok, err, sizeof(err))) != 0) {
		ctl_errx("enroll: %s", err);
		goto out;
	}
	rc = enroll_show(&tok, o.tokens, uri, &o, 0);
out:
	secret_wipe(uri, sizeof(uri));
	tokens_wipe(&tok);
	seal_keyring_wipe(&kr);
	return rc;
}

struct remove_arg {
	const char *path;
	const char *user;
	const char *label;
	unsigned removed;
};

static int remove_edit(struct tokenstore_buf *store, void *arg, char *err,
                       size_t errlen)
{
	struct remove_arg *a = arg;
	int rc;

	rc = tokenstore_remove(store, a->user, a->label, &a->removed);
	if (rc == PG_ERR_NOTFOUND)
		snprintf(err, errlen, "%s: no token of %s%s%s", a->path,
		         a->user, a->label != NULL ? " labelled " : "",
		         a->label != NULL ? a->label : "");
	else if (rc != 0)
		snprintf(err, errlen, "%s: %s", a->path, pg_strerror(rc));
	return rc;
}

int cmd_remove(const struct ctl_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"tokens", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	struct remove_arg a = {NULL, NULL, NULL, 0};
	char err[ERRLEN];
	int opt, rc, dir;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if ((rc = common_opt(opt, &a.path)) != 0)
			return rc;
	}
	dir = in_directory(ctx, a.path);
	if (argc - optind < 1 || argc - optind > (dir ? 1 : 2)) {
		ctl_errx(dir ? "remove: expected USER (the directory holds "
		               "one token per user)"
		             : "remove: expected USER [LABEL]");
		return CTL_EXIT_USAGE;
	}
	a.user = argv[optind];
	a.label = argc - optind == 2 ? argv[optind + 1] : NULL;
	if ((rc = check_user("remove", a.user)) != 0)
		return rc;
	if (dir)
		return cmd_tokendir_remove(ctx->conf, a.user);
	if (a.path == NULL)
		a.path = ctx->conf->tokens;
	rc = tokenstore_update(a.path, TOKENSTORE_LOCK_TIMEOUT_MS, remove_edit,
	                       &a, err, sizeof(err));
	if (rc != 0) {
		ctl_errx("remove: %s", err);
		return CTL_EXIT_FAIL;
	}
	printf("Removed %u token%s of %s from %s.\n", a.removed,
	       a.removed == 1 ? "" : "s", a.user, a.path);
	return CTL_EXIT_OK;
}

struct list_arg {
	const char *user;
	unsigned shown;
};

/* One row per token, under a header printed with the first row; the
 * secret is never printed. */
static int list_line(const char *raw, size_t rawlen, unsigned lineno,
                     const struct pg_token *tok, void *arg)
{
	struct list_arg *a = arg;

	if (tok == NULL || (a->user != NULL && strcmp(tok->user, a->user) != 0))
		return 0;
	if (a->shown == 0)
		printf("%-16s %-9s %6s %6s  %s\n", "USER", "ALGORITHM",
		       "DIGITS", "PERIOD", "LABEL");
	printf("%-16s %-9s %6u %6u  %s\n", tok->user, tokens_alg_name(tok->alg),
	       tok->digits, tok->period,
	       tok->label[0] != '\0' ? tok->label : "-");
	a->shown++;
	return 0;
}

int cmd_list(const struct ctl_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"tokens", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	struct tokenstore_buf store = {0};
	struct list_arg a = {NULL, 0};
	const char *path = NULL;
	char err[ERRLEN];
	unsigned bad = 0;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if ((rc = common_opt(opt, &path)) != 0)
			return rc;
	}
	if (argc - optind > 1) {
		ctl_errx("list: expected at most one USER");
		return CTL_EXIT_USAGE;
	}
	if (argc - optind == 1 && (rc = check_user("list", argv[optind])) != 0)
		return rc;
	a.user = argc - optind == 1 ? argv[optind] : NULL;
	if (in_directory(ctx, path))
		return cmd_tokendir_list(ctx->conf, a.user);
	if (path == NULL)
		path = ctx->conf->tokens;
	rc = CTL_EXIT_FAIL;
	if (tokenstore_read(path, &store, err, sizeof(err)) != 0) {
		ctl_errx("list: %s", err);
		goto out;
	}
	tokenstore_foreach(store.data, store.len, list_line, &a, &bad);
	if (bad > 0)
		ctl_warnx("list: %u line%s of %s could not be read as tokens",
		          bad, bad == 1 ? "" : "s", path);
	if (a.user != NULL && a.shown == 0) {
		ctl_errx("list: %s has no tokens in %s", a.user, path);
		goto out;
	}
	rc = CTL_EXIT_OK;
out:
	tokenstore_buf_wipe(&store);
	return rc;
}

struct import_arg {
	struct import_result *res;
	unsigned imported;
};

/* Add every parsed token the store accepts; refusals become skips. */
static int import_edit(struct tokenstore_buf *store, void *arg, char *err,
                       size_t errlen)
{
	struct import_arg *a = arg;
	struct import_item *it;
	char why[ERRLEN];
	size_t i;
	int rc;

	for (i = 0; i < a->res->nitems; i++) {
		it = &a->res->items[i];
		rc = tokenstore_add(store, &it->tok, why, sizeof(why));
		if (rc == PG_ERR_NOMEM ||
		    (rc != 0 &&
		     import_skip(a->res, it->line, "%s", why) != 0)) {
			snprintf(err, errlen, "out of memory");
			return PG_ERR_NOMEM;
		}
		it->skipped = rc != 0;
		a->imported += rc == 0;
	}
	/* Nothing to add: leave the store as it is. */
	if (a->imported == 0) {
		snprintf(err, errlen, "nothing to import");
		return PG_ERR_NOTFOUND;
	}
	return 0;
}

static int msg_cmp(const void *a, const void *b)
{
	const struct import_msg *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return strcmp(x->text, y->text);
}

/* "FILE: line N: what" on stderr; line 0 is about the whole file. */
static void report_msg(const char *file, const char *what,
                       const struct import_msg *m)
{
	if (m->line == 0)
		ctl_warnx("%s: %s%s", file, what, m->text);
	else
		ctl_warnx("%s: line %u: %s%s", file, m->line, what, m->text);
}

/* Report notes and skips in line order, then the summary. */
static void import_report(const char *file, const char *store,
                          struct import_result *res, unsigned imported)
{
	size_t i;

	/* qsort's array must not be NULL, even when empty (UBSan). */
	if (res->nnotes > 0)
		qsort(res->notes, res->nnotes, sizeof(*res->notes), msg_cmp);
	if (res->nskips > 0)
		qsort(res->skips, res->nskips, sizeof(*res->skips), msg_cmp);
	for (i = 0; i < res->nnotes; i++)
		report_msg(file, "", &res->notes[i]);
	for (i = 0; i < res->nskips; i++)
		report_msg(file, "skipped: ", &res->skips[i]);
	printf("%s: imported %u, skipped %zu (token store %s)\n", file,
	       imported, res->nskips, store);
}

/*
 * Read the file to import. It is another tool's secret file, so it need
 * not be root's (~/.google_authenticator belongs to its user), but it must
 * not be a symlink or open to every local user.
 */
static int import_read(const char *file, struct tokenstore_buf *text)
{
	struct safefile_policy pol = safefile_secret_policy;
	char err[ERRLEN];
	struct stat st;
	int rc;

	pol.allow_other_owner = 1;
	pol.forbidden_mode = S_IRWXO;
	rc = tokenstore_load(file, &pol, text, &st, err, sizeof(err));
	if (rc == PG_ERR_UNSAFE_FILE)
		ctl_errx(
		    "import: %s; refusing to import secrets any local user "
		    "could have read or replaced (they may be known: "
		    "consider enrolling new tokens instead)",
		    err);
	else if (rc != 0)
		ctl_errx("import: %s", err);
	else if ((st.st_mode & S_IRWXG) != 0)
		ctl_warnx("import: %s: mode %04o gives its group access to "
		          "secrets",
		          file, (unsigned)(st.st_mode & 07777));
	return rc;
}

int cmd_import(const struct ctl_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"tokens", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {"from", required_argument, NULL, 'f'},
	    {"force", no_argument, NULL, 'F'},
	    {NULL, 0, NULL, 0},
	};
	struct tokenstore_buf text = {0};
	struct import_result res = {0};
	struct import_arg a = {&res, 0};
	const char *path = NULL, *file;
	struct seal_keyring kr;
	char err[ERRLEN];
	int opt, fmt = -1, force = 0, dir, rc, r;
	size_t i;

	memset(&kr, 0, sizeof(kr));

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt == 'f' && (fmt = import_format_from_name(optarg)) < 0) {
			ctl_errx("import: --from must be pam_oath, "
			         "google-authenticator or phiguard");
			return CTL_EXIT_USAGE;
		}
		if (opt == 'F')
			force = 1;
		else if (opt != 'f' && (rc = common_opt(opt, &path)) != 0)
			return rc;
	}
	if (fmt < 0 || argc - optind != (fmt == IMPORT_GOOGLE_AUTH ? 2 : 1)) {
		ctl_errx("import: expected --from pam_oath FILE, --from "
		         "google-authenticator FILE USER, or --from phiguard "
		         "FILE");
		return CTL_EXIT_USAGE;
	}
	dir = in_directory(ctx, path);
	if ((force || fmt == IMPORT_PHIGUARD) && !dir) {
		ctl_errx("import: --force and --from phiguard import into the "
		         "directory ([tokens] store = ldap, no --tokens)");
		return CTL_EXIT_USAGE;
	}
	if (path == NULL)
		path = ctx->conf->tokens;
	file = argv[optind];
	if (fmt == IMPORT_GOOGLE_AUTH &&
	    (rc = check_user("import", argv[optind + 1])) != 0)
		return rc;
	if ((rc = ctl_seal_keyring("import", ctx->conf->key_file, &kr)) != 0)
		goto out;
	rc = CTL_EXIT_FAIL;
	if (import_read(file, &text) != 0)
		goto out;
	if (fmt == IMPORT_PAM_OATH)
		r = import_pam_oath(text.data, text.len, &res);
	else if (fmt == IMPORT_PHIGUARD)
		r = import_phiguard(text.data, text.len, &res);
	else
		r = import_google_auth(text.data, text.len, argv[optind + 1],
		                       &res, err, sizeof(err));
	if (r != 0) {
		ctl_errx("import: %s: refused: %s", file,
		         r == PG_ERR_NOMEM ? "out of memory" : err);
		goto out;
	}
	/* With a site key the store gets sealed secrets only (a token
	 * file's sealed ones stay as they are). */
	for (i = 0; kr.n > 0 && i < res.nitems; i++) {
		if (res.items[i].tok.sealed[0] == '\0' &&
		    (r = tokens_seal(&res.items[i].tok, &kr.keys[0])) != 0) {
			ctl_errx("import: cannot seal a secret: %s",
			         pg_strerror(r));
			goto out;
		}
	}
	if (dir) {
		if (cmd_tokendir_import(ctx->conf, &res, force, &a.imported) !=
		    0)
			goto out;
		path = "the directory";
	} else if ((r = tokenstore_update(path, TOKENSTORE_LOCK_TIMEOUT_MS,
	                                  import_edit, &a, err, sizeof(err))) !=
	               0 &&
	           r != PG_ERR_NOTFOUND) {
		ctl_errx("import: %s", err);
		goto out;
	}
	import_report(file, path, &res, a.imported);
	/* Skipped lines are expected (event-based tokens, a re-run); only
	 * importing nothing at all is a failure. */
	if (a.imported > 0)
		rc = CTL_EXIT_OK;
out:
	import_result_free(&res);
	tokenstore_buf_wipe(&text);
	seal_keyring_wipe(&kr);
	return rc;
}
