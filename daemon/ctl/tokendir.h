/* SPDX-License-Identifier: BSD-3-Clause */
/* phiguardctl's token store in the directory ([tokens] store = ldap): the
 * OATH-LDAP entries slapd's otp module reads, written with the admin
 * credential. A user has at most one token there. */
#ifndef PHIGUARD_CTL_TOKENDIR_H
#define PHIGUARD_CTL_TOKENDIR_H

#include <stddef.h>

#include "conf.h"
#include "tokens.h"

#define TOKENDIR_DN_MAX 1024

struct tokendir;

/*
 * Connect and bind to the directory of conf's [ldap] section (its URIs in
 * failover order, its TLS settings and timeouts) as [tokens] admin_bind_dn
 * with the password in admin_password_file (owned by the effective uid,
 * no group or other bits: the checks of the daemon's bind password). The
 * token base is [tokens] base, else "ou=tokens," + [ldap] base. Returns
 * 0 and *out (close with tokendir_close()), or PG_ERR_CONFIG (settings
 * missing or wrong, credentials refused), PG_ERR_UNAVAIL, PG_ERR_TIMEOUT,
 * PG_ERR_NOMEM, with the reason in err.
 */
int tokendir_open(const struct pg_conf *conf, struct tokendir **out, char *err,
                  size_t errlen);

/* Unbind and free. Accepts NULL. */
void tokendir_close(struct tokendir *td);

/* The URI of the server in use. */
const char *tokendir_server(const struct tokendir *td);

/* What the directory holds for one user's token: never the secret. */
struct tokendir_entry {
	char user[PG_USER_MAX + 1];
	char token_dn[TOKENDIR_DN_MAX];
	int params_ok; /* the params entry was read and understood */
	enum pg_token_alg alg;
	unsigned digits, period, window;
	int has_step;            /* oathTOTPLastTimeStep present */
	unsigned long long step; /* the last accepted time-step counter */
	unsigned long failures;  /* oathFailureCount, 0 if absent */
	int sealed;              /* oathSecret holds a sealed secret */
	int has_secret;          /* oathSecret present at all */
	char label[PG_TOKEN_MAX_LABEL + 1]; /* description, "" if none */
};

/*
 * Store a token for tok->user (found under the user base by [ldap]
 * user_attr, byte for byte, as the daemon finds users): make sure the
 * params entry cn=totp-ALG-DIGITS-PERIOD,BASE exists (with the window
 * given), add cn=USER,BASE (USER escaped per RFC 4514) holding value
 * (vlen bytes: the raw key, or a sealed text) as oathSecret, and link the
 * user (objectClass oathTOTPUser, oathTOTPToken = the token's DN). A user
 * who already has a token (linked, or an entry cn=USER,BASE) is refused
 * with PG_ERR_INVAL unless replace is set, which deletes the old token
 * first (its state goes with it). The token DN is written to dn (dnsz
 * bytes). Returns 0, PG_ERR_NOTFOUND (no such user), PG_ERR_AMBIGUOUS,
 * PG_ERR_INVAL, or the connection's errors, with the reason in err.
 */
int tokendir_put(struct tokendir *td, const struct pg_token *tok,
                 const unsigned char *value, size_t vlen, unsigned window,
                 int replace, char *dn, size_t dnsz, char *err, size_t errlen);

/*
 * Unlink user's token (oathTOTPToken and objectClass oathTOTPUser go) and
 * delete the token entry it named, and cn=USER,BASE if that is another.
 * Returns 0, PG_ERR_NOTFOUND (no such user, or no token), or the errors of
 * tokendir_put(), with the reason in err.
 */
int tokendir_remove(struct tokendir *td, const char *user, char *err,
                    size_t errlen);

/*
 * Call fn for every user with a token (or only user, if non-NULL), in the
 * directory's order; a non-zero return of fn stops the walk and is
 * returned. A token or params entry that cannot be read is shown as such
 * (params_ok 0), not an error. Returns 0, fn's value, or the connection's
 * errors with the reason in err.
 */
typedef int (*tokendir_entry_fn)(const struct tokendir_entry *e, void *arg);
int tokendir_list(struct tokendir *td, const char *user, tokendir_entry_fn fn,
                  void *arg, char *err, size_t errlen);

/*
 * Reseal the secret of e's token (e->user, e->token_dn, as tokendir_list()
 * gave them): open it with any key of kr (a plain secret needs none) and
 * seal it under kr->keys[0]. With write, the new value replaces the one
 * read in one modify (delete that value, add the new one), so a token
 * replaced meanwhile is left alone (the modify fails); without, only
 * check that it opens. Returns 0, PG_ERR_NOTFOUND (no oathSecret),
 * PG_ERR_INVAL (not a key), tokens_open()'s errors, or the connection's,
 * with the reason (never key material) in err.
 */
int tokendir_reseal(struct tokendir *td, const struct tokendir_entry *e,
                    const struct seal_keyring *kr, int write, char *err,
                    size_t errlen);

#endif
