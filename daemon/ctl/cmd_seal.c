/* SPDX-License-Identifier: BSD-3-Clause */
/* phiguardctl's site key commands: keygen (a new key, first in the key
 * file) and reseal (every secret of the token store under that key), and
 * the key loading enroll and import share. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd_tokendir.h"
#include "commands.h"
#include "err.h"
#include "seal.h"
#include "secret.h"
#include "tokens.h"
#include "tokenstore.h"

#define ERRLEN     512
#define KEYID_TEXT (2 * SEAL_KEYID_LEN + 1)

/* A key id as the key file and sealed texts spell it. */
static void key_id_text(const struct seal_key *k, char out[KEYID_TEXT])
{
	size_t i;

	for (i = 0; i < SEAL_KEYID_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", k->id[i]);
}

int ctl_seal_keyring(const char *cmd, const char *key_file,
                     struct seal_keyring *kr)
{
	char err[ERRLEN];

	memset(kr, 0, sizeof(*kr));
	if (key_file == NULL || key_file[0] == '\0')
		return 0;
	if (seal_keyring_load(key_file, 1, kr, err, sizeof(err)) == 0)
		return 0;
	ctl_errx("%s: key_file %s", cmd, err);
	return CTL_EXIT_FAIL;
}

/* Options of keygen and reseal: --key-file, --tokens (reseal), --help. */
static int key_args(int argc, char **argv, const char **key_file,
                    const char **tokens)
{
	static const struct option longopts[] = {
	    {"key-file", required_argument, NULL, 'k'},
	    {"tokens", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	int opt;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt == 'k')
			*key_file = optarg;
		else if (opt == 't' && tokens != NULL)
			*tokens = optarg;
		else
			return opt == 'h' ? CTL_HELP : CTL_EXIT_USAGE;
	}
	if (argc != optind) {
		ctl_errx("%s: unexpected argument %s", argv[0], argv[optind]);
		return CTL_EXIT_USAGE;
	}
	if ((*key_file)[0] == '\0') {
		ctl_errx("%s: no key file: set [tokens] key_file in "
		         "phiguard.conf or give --key-file",
		         argv[0]);
		return CTL_EXIT_USAGE;
	}
	return 0;
}

struct keygen_arg {
	const char *path;
	struct seal_key key;
};

/* Put a new key line in front of the key file's text. */
static int keygen_edit(struct tokenstore_buf *store, void *arg, char *err,
                       size_t errlen)
{
	struct keygen_arg *a = arg;
	struct tokenstore_buf out = {0};
	struct seal_keyring kr;
	char line[SEAL_KEY_LINE_MAX], why[128];
	int rc;

	/* What is there must be a key file, with room for one more. */
	if ((rc = seal_keyring_parse(store->data, store->len, &kr, why,
	                             sizeof(why))) != 0) {
		pg_err_set(err, errlen, "%s: %s", a->path, why);
		goto out;
	}
	rc = PG_ERR_CONFIG;
	if (kr.n == SEAL_MAX_KEYS) {
		pg_err_set(err, errlen,
		           "%s already holds %d keys: reseal, then remove the "
		           "oldest",
		           a->path, SEAL_MAX_KEYS);
		goto out;
	}
	if ((rc = seal_key_generate(&a->key)) != 0) {
		pg_err_set(err, errlen, "no random bytes for a key");
		goto out;
	}
	if ((rc = seal_key_format_line(&a->key, line, sizeof(line))) != 0 ||
	    (rc = tokenstore_buf_append(&out, line, strlen(line))) != 0 ||
	    (rc = tokenstore_buf_append(&out, store->data, store->len)) != 0)
		goto out;
	tokenstore_buf_wipe(store);
	*store = out;
	out = (struct tokenstore_buf){0};
out:
	seal_keyring_wipe(&kr);
	secret_wipe(line, sizeof(line));
	tokenstore_buf_wipe(&out);
	return rc;
}

int cmd_keygen(const struct ctl_ctx *ctx, int argc, char **argv)
{
	struct keygen_arg a;
	const char *path = ctx->conf->key_file;
	char err[ERRLEN], id[KEYID_TEXT];
	int rc;

	memset(&a, 0, sizeof(a));
	if ((rc = key_args(argc, argv, &path, NULL)) != 0)
		return rc;
	a.path = path;
	rc = tokenstore_update(path, TOKENSTORE_LOCK_TIMEOUT_MS, keygen_edit,
	                       &a, err, sizeof(err));
	if (rc != 0) {
		ctl_errx("keygen: %s", err);
		rc = CTL_EXIT_FAIL;
		goto out;
	}
	key_id_text(&a.key, id);
	/* The id only: the key never leaves the file. */
	printf("Key %s added to %s; it seals every new secret.\n"
	       "Run phiguardctl reseal to rewrite the stored secrets under "
	       "it; then older key lines may be removed.\n",
	       id, path);
	rc = CTL_EXIT_OK;
out:
	secret_wipe(&a, sizeof(a));
	return rc;
}

struct reseal_arg {
	const char *path;
	const struct seal_keyring *kr;
	unsigned sealed;
	unsigned bad; /* lines kept as they are: not tokens */
};

static int reseal_token(struct pg_token *tok, unsigned lineno, void *arg,
                        char *err, size_t errlen)
{
	struct reseal_arg *a = arg;
	char why[256];
	int rc;

	if ((rc = tokens_open(tok, a->kr, why, sizeof(why))) != 0) {
		pg_err_set(err, errlen, "%s: line %u (%s): %s", a->path, lineno,
		           tok->user, why);
		return rc;
	}
	if ((rc = tokens_seal(tok, &a->kr->keys[0])) != 0) {
		pg_err_set(err, errlen, "%s: line %u (%s): cannot seal: %s",
		           a->path, lineno, tok->user, pg_strerror(rc));
		return rc;
	}
	a->sealed++;
	return 0;
}

static int reseal_edit(struct tokenstore_buf *store, void *arg, char *err,
                       size_t errlen)
{
	struct reseal_arg *a = arg;

	return tokenstore_rewrite(store, reseal_token, a, &a->bad, err, errlen);
}

int cmd_reseal(const struct ctl_ctx *ctx, int argc, char **argv)
{
	const char *key_file = ctx->conf->key_file, *path = NULL;
	struct seal_keyring kr;
	struct reseal_arg a = {NULL, &kr, 0, 0};
	char err[ERRLEN], id[KEYID_TEXT];
	int rc;

	memset(&kr, 0, sizeof(kr));
	if ((rc = key_args(argc, argv, &key_file, &path)) != 0 ||
	    (rc = ctl_seal_keyring("reseal", key_file, &kr)) != 0)
		goto out;
	key_id_text(&kr.keys[0], id);
	/* The directory's tokens, unless --tokens names a token file. */
	if (path == NULL && ctx->conf->store == PG_TOKEN_STORE_LDAP) {
		if ((rc = cmd_tokendir_reseal(ctx->conf, &kr, &a.sealed)) ==
		    CTL_EXIT_OK)
			printf("Resealed %u token%s in the directory under key "
			       "%s.\n",
			       a.sealed, a.sealed == 1 ? "" : "s", id);
		goto out;
	}
	if (path == NULL)
		path = ctx->conf->tokens;
	a.path = path;
	/* One bad token stops it all: nothing is written half resealed. */
	if (tokenstore_update(path, TOKENSTORE_LOCK_TIMEOUT_MS, reseal_edit, &a,
	                      err, sizeof(err)) != 0) {
		ctl_errx("reseal: %s", err);
		rc = CTL_EXIT_FAIL;
		goto out;
	}
	/* A damaged line may hold a plain secret that stays plain. */
	if (a.bad > 0)
		ctl_warnx("reseal: %u line%s of %s could not be read as tokens "
		          "and were kept as they are",
		          a.bad, a.bad == 1 ? "" : "s", path);
	printf("Resealed %u token%s in %s under key %s.\n", a.sealed,
	       a.sealed == 1 ? "" : "s", path, id);
	rc = CTL_EXIT_OK;
out:
	seal_keyring_wipe(&kr);
	return rc;
}
