/* SPDX-License-Identifier: BSD-3-Clause */
/* phiguard.conf: the INI-style configuration shared by phiguardd, the PAM
 * module and phiguardctl. Table-driven; parse errors are returned as
 * "file:line: key: reason", never printed and never fatal. */
#ifndef PHIGUARD_COMMON_CONF_H
#define PHIGUARD_COMMON_CONF_H

#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>

#define PG_DEFAULT_CONFIG SYSCONFDIR "/phiguard/phiguard.conf"
#define PG_CONF_ERRLEN    512
#define PG_CONF_MAX_PATH  1024

/*
 * Defaults that must fit together (pam_phiguard(8), phiguard.conf(5)): a
 * hung [ldap] server costs a cold login at most network_timeout +
 * search_timeout before the next server is asked, and the module's
 * default daemon_timeout must leave room for that answer. phiguardd's
 * directory client takes its defaults from here too.
 */
#define PG_CONF_NETWORK_TIMEOUT   2    /* s, [ldap] network_timeout */
#define PG_CONF_SEARCH_TIMEOUT    2    /* s, [ldap] search_timeout */
#define PG_CONF_DAEMON_TIMEOUT_MS 5000 /* pam_phiguard daemon_timeout= */

/* Policy limits. Roles and their groups live inside struct pg_conf (no
 * pointers, so the PAM module and phiguardctl keep it on the stack and
 * copy it freely); these bound its size to about 30 KiB. */
#define PG_CONF_MAX_ROLES  32
#define PG_CONF_ROLE_NAME  32   /* bytes with the NUL; [a-z0-9._-] */
#define PG_CONF_SCOPE_NAME 32   /* bytes with the NUL; [a-z0-9._-] */
#define PG_CONF_LIST_MAX   256  /* scopes, terminals: bytes with the NUL */
#define PG_CONF_GROUP_MAX  512  /* one group DN or cn, with the NUL */
#define PG_CONF_GROUP_AREA 8192 /* every role's groups together */

/*
 * The words of the keys that take one of a few words, as parsed: each
 * enum lists its key's words in order (conf.c's word lists follow it, and
 * conf_dump() writes the word back).
 */

/* [ldap] tls_reqcert: TLS certificate checking, as libldap's TLS_REQCERT.
 * Anything below DEMAND is logged as a warning whenever a connection is
 * made. */
enum conf_reqcert {
	CONF_REQCERT_DEMAND = 0,
	CONF_REQCERT_HARD,
	CONF_REQCERT_TRY,
	CONF_REQCERT_ALLOW,
	CONF_REQCERT_NEVER,
};

/* [ldap] membership: where a user's direct groups come from. Nested
 * groups are found by member/uniqueMember searches on the groups' DNs
 * (memberof: the groups' memberOf values). Of member, uniqueMember and
 * memberUid, only the attributes the directory's groups use are searched
 * (daemon/authz/membership.h). */
enum conf_membership {
	/* memberOf on the user entry if it has any value, else as
	 * MEMBER and MEMBERUID together (one search). */
	CONF_MEMBERSHIP_AUTO = 0,
	CONF_MEMBERSHIP_MEMBEROF,  /* memberOf on the user entry only */
	CONF_MEMBERSHIP_MEMBER,    /* member or uniqueMember = user DN */
	CONF_MEMBERSHIP_MEMBERUID, /* memberUid = user name (RFC 2307) */
};

/* [tokens] store: where the TOTP tokens and their state live: the token
 * file ([totp] tokens, each terminal's own state) or the directory
 * (OATH-LDAP, state shared by every terminal through phiguardd). */
enum conf_token_store { PG_TOKEN_STORE_FILE = 0, PG_TOKEN_STORE_LDAP };

/* [audit] audit_sync: batch (a record is synced within a moment) or
 * always (each record before its answer). */
enum conf_audit_sync { CONF_AUDIT_SYNC_BATCH = 0, CONF_AUDIT_SYNC_ALWAYS };

/* [audit] audit_failure: while the trail cannot be written, deny new
 * logins and grants, or only log to syslog. */
enum conf_audit_failure {
	CONF_AUDIT_FAILURE_DENY = 0,
	CONF_AUDIT_FAILURE_SYSLOG,
};

/* [audit] audit_checks: which CHECK answers are recorded. */
enum conf_audit_checks {
	CONF_AUDIT_CHECKS_DENIED = 0, /* denials only */
	CONF_AUDIT_CHECKS_ALL,
	CONF_AUDIT_CHECKS_NONE,
};

/* [push] provider. */
enum conf_provider {
	CONF_PROVIDER_NONE = 0,
	CONF_PROVIDER_DUO,
	CONF_PROVIDER_PRIVACYIDEA,
};

/* [push] factors: "totp,push", "totp" or "push". */
enum conf_factors {
	CONF_FACTORS_TOTP_PUSH = 0,
	CONF_FACTORS_TOTP,
	CONF_FACTORS_PUSH,
};

/* [push] failmode: a failed provider refuses (secure) or falls back to
 * TOTP (safe). */
enum conf_failmode { CONF_FAILMODE_SECURE = 0, CONF_FAILMODE_SAFE };

/* [push] trigger (privacyidea): an empty pass or the user's password
 * triggers the challenge. */
enum conf_trigger { CONF_TRIGGER_EMPTY = 0, CONF_TRIGGER_PASSWORD };

/*
 * One [role NAME] section. Roles are kept in file order, which is their
 * precedence for PHIGUARD_ROLE. The groups are ngroups NUL-terminated
 * strings starting at pg_conf.role_groups + groups_off.
 */
struct pg_conf_role {
	char name[PG_CONF_ROLE_NAME];
	char scopes[PG_CONF_LIST_MAX];    /* space-separated scope names */
	char terminals[PG_CONF_LIST_MAX]; /* host globs; "" = everywhere */
	int breakglass;                   /* 0 or 1 */
	unsigned ngroups;
	unsigned groups_off;
};

/*
 * Every key with its default, parsed once into its type: numbers as long
 * (durations in seconds unless the field name ends in _ms), yes/no as
 * bool, words as their enum. Documented in phiguard.conf(5) and
 * contrib/phiguard.conf.example; keep the three in step.
 */
struct pg_conf {
	/* [daemon] */
	char socket[PG_CONF_MAX_PATH];    /* PG_DEFAULT_SOCKET */
	char state_dir[PG_CONF_MAX_PATH]; /* LOCALSTATEDIR "/lib/phiguard" */
	char pidfile[PG_CONF_MAX_PATH];   /* "" = none */
	char user[64];       /* "" = stay as started; else drop to user */
	long max_clients;    /* 64 (1..4096) */
	long client_timeout; /* 5 s idle/slow-drip bound (1..300) */
	long log_level;      /* 1 = info; 0 err, 1 info, 2 debug */

	/* [totp] */
	char tokens[PG_CONF_MAX_PATH]; /* SYSCONFDIR "/phiguard/tokens" */
	long window;                   /* 1 time step either side (0..10) */
	long max_failures;             /* 5 (1..1000) */
	long failure_window;           /* 300 s (1..86400) */
	long lockout;                  /* 900 s (1..604800) */
	char issuer[128]; /* "phiguard": otpauth issuer for enrollment */

	/* [tokens] */
	enum conf_token_store store;     /* file */
	char key_file[PG_CONF_MAX_PATH]; /* "" = no site key: secrets are
	                                    stored plain, sealed ones refused */
	char token_base[512];    /* base: "" = "ou=tokens," + [ldap] base */
	char admin_bind_dn[512]; /* phiguardctl's writer of tokens; "" none */
	char admin_password_file[PG_CONF_MAX_PATH]; /* its password, 0600 */

	/* [daemon], for the policy */
	char hostname[256]; /* "" = gethostname(); matched by terminals */

	/* [ldap]: the directory. Checked here for syntax; phiguardd's
	 * directory client takes the values as they are (dir_config.h) and
	 * checks the rest. */
	int ldap;             /* 1 once an [ldap] section is seen */
	char uri[1024];       /* space-separated, failover order */
	char base[512];       /* required with [ldap] */
	char user_base[512];  /* "" = base */
	char group_base[512]; /* "" = base */
	char user_attr[64];   /* "uid" */
	char bind_dn[512];    /* "" = no simple bind */
	char bind_password_file[PG_CONF_MAX_PATH]; /* "" with bind_dn "" */
	bool sasl_external;                        /* no */
	bool starttls;                             /* no */
	char tls_cacert[PG_CONF_MAX_PATH];         /* "" = libldap's default */
	enum conf_reqcert tls_reqcert;             /* demand */
	/* The file gives these two in seconds; kept in ms, as the
	 * directory client takes them. */
	long network_timeout_ms;         /* network_timeout: 2 s (1..60) */
	long search_timeout_ms;          /* search_timeout: 2 s (1..60) */
	long nesting_depth;              /* 3 (0..10) */
	enum conf_membership membership; /* auto */
	char write_uri[256]; /* "" = the first of uri: claims and failures */

	/* [cache], seconds */
	long ttl;           /* 300 (1..86400) */
	long negative_ttl;  /* 15 (0..3600) */
	long login_refresh; /* 60 (0..86400); 0 = refresh at every login */
	long offline_grace; /* 28800 (0..604800) */

	/* [audit]: phiguardd's audit trail (daemon/audit/audit.h). */
	char audit_file[PG_CONF_MAX_PATH];     /* LOCALSTATEDIR
	                                          "/log/phiguard/audit.log" */
	enum conf_audit_sync audit_sync;       /* batch */
	enum conf_audit_failure audit_failure; /* deny */
	enum conf_audit_checks audit_checks;   /* denied */
	long audit_rotate_size;                /* 64 MiB (4096..2^31-1 bytes) */
	long audit_head_interval;              /* 3600 s (1..86400) */

	/* [push]: the push second factor, read by the PAM module (and
	 * push_max_unanswered by phiguardd). Cross-key rules (a provider's
	 * required keys, https:// only) are checked at the end of the
	 * parse. */
	enum conf_provider provider;    /* none */
	enum conf_factors factors;      /* totp,push */
	enum conf_failmode failmode;    /* secure */
	long push_timeout;              /* 60 s for the whole push (2..600) */
	long connect_timeout;           /* 5 s per request connect (1..60) */
	char ca_file[PG_CONF_MAX_PATH]; /* "" = the system CA store */
	char proxy[256];          /* "" = no proxy (never the environment's) */
	long push_max_unanswered; /* 3 (1..100) */
	char host[256];           /* duo: API host[:port] */
	char ikey[64];            /* duo: integration key */
	char skey_file[PG_CONF_MAX_PATH]; /* duo: secret key, root-only */
	char url[512];                    /* privacyidea: https:// base URL */
	char realm[128];        /* privacyidea: "" = the default realm */
	char service_user[128]; /* privacyidea: "" = no service account */
	char service_password_file[PG_CONF_MAX_PATH]; /* with service_user */
	enum conf_trigger trigger; /* privacyidea: empty; password =
	                              PAM_AUTHTOK triggers the challenge */

	/* [detect]: threat detection and alert delivery
	 * (daemon/detect/detect.h, daemon/detect/webhook.h). */
	long spray_users;        /* 5 distinct users from one source (2..100) */
	long spray_window;       /* 600 s (1..604800) */
	long spray_block;        /* 0 s = alert only (0..604800) */
	long hour_min_logins;    /* 20 (1..500) */
	long hour_percent;       /* 2 % (0..100; 0 = no hour alerts) */
	char alert_webhook[512]; /* "" = off; https:// only */
	char alert_webhook_ca[PG_CONF_MAX_PATH]; /* "" = system CA store */
	char alert_webhook_proxy[256]; /* "" = no proxy (never the env's) */
	long alert_webhook_timeout;    /* 5 s per attempt (1..60) */

	/* [role NAME] sections, in file order */
	size_t nroles;
	struct pg_conf_role roles[PG_CONF_MAX_ROLES];
	size_t role_groups_used;
	char role_groups[PG_CONF_GROUP_AREA];
};

/* Fill *conf with every default. */
void conf_defaults(struct pg_conf *conf);

/*
 * Parse text (len bytes, need not be NUL-terminated) named `name` in
 * errors, on top of what *conf already holds (call conf_defaults first).
 * Syntax: "[section]" lines, "key = value" lines, blank lines, and
 * comment lines whose first non-blank byte is '#' or ';'. There are no
 * inline comments: an unquoted value that starts with '#' or ';' or has
 * one after a blank is an error, as is anything after a closing quote or
 * a header's ']'. Values may be double-quoted (taken literally). Unknown
 * section or key, duplicate key, out-of-range number, over-long value, a
 * key before any section: error. Returns 0 or PG_ERR_CONFIG with
 * "name:line: key: reason" in err (errlen bytes). On error *conf may be
 * partially updated: parse into a scratch copy and swap on success.
 */
int conf_parse(const char *name, const char *text, size_t len,
               struct pg_conf *conf, char *err, size_t errlen);

/*
 * Read path with safefile (root-owned, not group/other-writable, at most
 * 1 MiB; with check_owner == 0 the owner is not checked, for tests run as
 * non-root) and conf_parse() it. Same errors, plus the safefile ones in
 * err.
 */
int conf_load(const char *path, int check_owner, struct pg_conf *conf,
              char *err, size_t errlen);

/*
 * What one program reads of the file, so that a typo in a part it does not
 * use cannot stop it (only phiguardd checks the whole file).
 *
 * keys: NULL-terminated entries "section" (every key of it, and its
 * cross-key checks) or "section.key"; "role" means every [role NAME].
 * Lines of other sections and keys are skipped unread, malformed or not;
 * a malformed header whose first word is a listed section is not.
 *
 * warn NULL: the first error in what is read fails the parse.
 * warn set (a reader that must keep working): each such error goes to
 * warn(arg, "name:line: key: reason") and the parse goes on. The key
 * keeps its built-in default (also if it comes again), a broken header
 * skips its section, and a [push] or [detect] with any error, or whose
 * keys do not fit together, is switched off: provider = none and proxy =
 * "" (alert_webhook = "", alert_webhook_proxy = ""). Not for "ldap" or
 * "role", whose keys mean nothing without the rest of the file.
 */
struct conf_select {
	const char *const *keys;
	void (*warn)(void *arg, const char *msg);
	void *arg;
};

/*
 * conf_parse() and conf_load() of the part sel selects (sel NULL: the
 * whole file, strictly). Returns PG_ERR_INVAL for an entry that names no
 * section or key, or warn with "ldap" or "role"; with warn set, never
 * PG_ERR_CONFIG. Otherwise as conf_parse() and conf_load().
 */
int conf_parse_select(const char *name, const char *text, size_t len,
                      const struct conf_select *sel, struct pg_conf *conf,
                      char *err, size_t errlen);
int conf_load_select(const char *path, int check_owner,
                     const struct conf_select *sel, struct pg_conf *conf,
                     char *err, size_t errlen);

/* The i-th group (0 <= i < role->ngroups) of a role of conf. */
const char *conf_role_group(const struct pg_conf *conf,
                            const struct pg_conf_role *role, unsigned i);

/* The word of a tls_reqcert value ("demand", ...); never NULL. */
const char *conf_reqcert_name(enum conf_reqcert v);

/* The word of a provider ("none", "duo", "privacyidea"), for the log;
 * never NULL. */
const char *conf_provider_name(enum conf_provider v);

/* Write the effective configuration, every key, as a valid config file. */
void conf_dump(const struct pg_conf *conf, FILE *out);

#endif
