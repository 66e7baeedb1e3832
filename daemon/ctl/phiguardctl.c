/* SPDX-License-Identifier: BSD-3-Clause */
/* phiguardctl: the administration tool for phiguard's token store and
 * daemon. Global options, the command table and diagnostics live here. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <oath.h>

#include "commands.h"
#include "conf.h"
#include "err.h"

#define PROG "phiguardctl"

/*
 * The keys of phiguard.conf each kind of command uses. Nothing else is
 * read: a typo in the daemon's policy must not stop the very commands
 * that inspect the daemon and reload it (phiguardd reports that typo).
 */
static const char *const token_keys[] = {
    "totp.tokens", "totp.issuer", "tokens.store", "tokens.key_file", NULL};
/* With [tokens] store = ldap, the directory's settings and the admin
 * credential too. */
static const char *const token_ldap_keys[] = {
    "totp.tokens", "totp.issuer", "totp.window", "tokens", "ldap", NULL};
static const char *const daemon_keys[] = {"daemon.socket", "daemon.user", NULL};
static const char *const audit_keys[] = {"daemon.socket", "daemon.user",
                                         "audit.audit_file", NULL};

static const struct command {
	const char *name;
	ctl_handler handler;
	const char *const *conf_keys;
	const char *synopsis;
	const char *summary;
} commands[] = {
    {"enroll", cmd_enroll, token_keys,
     "enroll USER [--tokens PATH] [--algorithm SHA1|SHA256|SHA512]\n"
     "              [--digits 6|8] [--period N] [--issuer NAME] "
     "[--label L]\n"
     "              [--no-qr] [--qr-style half|wide] [--force]",
     "create a TOTP token; show its otpauth URI and QR code"},
    {"remove", cmd_remove, token_keys,
     "remove USER [LABEL] [--tokens PATH]\n"
     "       " PROG " remove USER              (store = ldap)",
     "remove all of USER's tokens, or the one labelled LABEL"},
    {"list", cmd_list, token_keys, "list [USER] [--tokens PATH]",
     "list tokens (never their secrets)"},
    {"import", cmd_import, token_keys,
     "import --from pam_oath FILE [--tokens PATH]\n"
     "       " PROG " import --from google-authenticator FILE USER "
     "[--tokens PATH]\n"
     "       " PROG " import --from phiguard FILE   (store = ldap)\n"
     "       (store = ldap: [--force] replaces users' tokens)",
     "migrate TOTP secrets from pam_oath, google-authenticator or a "
     "token file"},
    {"keygen", cmd_keygen, token_keys, "keygen [--key-file PATH]",
     "add a new site key first in the key file (prints its id)"},
    {"reseal", cmd_reseal, token_keys,
     "reseal [--key-file PATH] [--tokens PATH]",
     "rewrite every token secret sealed under the first site key"},
    {"status", cmd_status, daemon_keys, "status", "show phiguardd's status"},
    {"unlock", cmd_unlock, daemon_keys, "unlock USER",
     "clear USER's lockout and failure count in phiguardd"},
    {"check", cmd_check, daemon_keys, "check USER SCOPE",
     "does USER hold SCOPE here now? (exit 0 yes, 1 no)"},
    {"explain", cmd_explain, daemon_keys, "explain USER",
     "show USER's groups, role, scopes and the rules behind them"},
    {"flush", cmd_flush, daemon_keys, "flush [USER]",
     "drop USER's (or every) cached directory entry"},
    {"reload", cmd_reload, daemon_keys, "reload",
     "make phiguardd re-read its configuration"},
    {"audit", cmd_audit, audit_keys,
     "audit verify [--head HEX] [--anchor HEX] [FILE...]\n"
     "       " PROG " audit show [--user USER] [--since TIME] "
     "[--until TIME]\n"
     "                     [--event PATTERN] [--json|--table] [FILE...]\n"
     "       " PROG " audit head\n"
     "       " PROG " audit rotate",
     "verify, show or rotate the audit trail; print its head"},
    {"alerts", cmd_alerts, audit_keys,
     "alerts [--since TIME] [--until TIME] [--user USER] [--json] "
     "[FILE...]",
     "list the alerts in the audit trail (spraying, brute force, ...)"},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

__attribute__((format(printf, 2, 0))) static void
vmsg(int errnum, const char *fmt, va_list ap)
{
	fputs(PROG ": ", stderr);
	vfprintf(stderr, fmt, ap);
	if (errnum >= 0)
		fprintf(stderr, ": %s", strerror(errnum));
	fputc('\n', stderr);
}

void ctl_err(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vmsg(saved, fmt, ap);
	va_end(ap);
}

void ctl_errx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(-1, fmt, ap);
	va_end(ap);
}

void ctl_warnx(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(FILE *out)
{
	size_t i;

	fprintf(out,
	        "usage: " PROG " [--config PATH] [--socket PATH] COMMAND ...\n"
	        "       " PROG " --help | --version\n\ncommands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-8s %s\n", commands[i].name,
		        commands[i].summary);
	fprintf(out, "\n" PROG " COMMAND --help shows a command's options; "
	             "see phiguardctl(8).\n");
}

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++) {
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	}
	return NULL;
}

/*
 * Defaults, then the keys of the config file in keys. The default file
 * may be absent (a fresh install); one named with --config must exist. As
 * root the file must be root's, as the daemon requires. An error in a key
 * read is fatal: an admin at the terminal is told where to fix it.
 */
static int load_config(const char *path, int explicit, const char *const *keys,
                       struct pg_conf *conf)
{
	const struct conf_select sel = {keys, NULL, NULL};
	char err[PG_CONF_ERRLEN];
	int rc;

	conf_defaults(conf);
	rc = conf_load_select(path, geteuid() == 0, &sel, conf, err,
	                      sizeof(err));
	if (rc == PG_ERR_NOTFOUND && !explicit) {
		conf_defaults(conf);
		return 0;
	}
	if (rc != 0)
		ctl_errx("%s", err);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"socket", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	const char *config = PG_DEFAULT_CONFIG, *socket = NULL;
	char progcmd[32];
	const struct command *cmd;
	struct pg_conf conf;
	struct ctl_ctx ctx;
	int opt, explicit = 0, rc;

	/* Whatever else gets created (the store's lock file) is ours only. */
	umask(077);
	/* '+': stop at COMMAND; its options are parsed by its handler. */
	while ((opt = getopt_long(argc, argv, "+hV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			explicit = 1;
			break;
		case 's':
			socket = optarg;
			break;
		case 'h':
			usage(stdout);
			return CTL_EXIT_OK;
		case 'V':
			printf(PROG " (%s) %s\n", PACKAGE_NAME,
			       PACKAGE_VERSION);
			return CTL_EXIT_OK;
		default:
			usage(stderr);
			return CTL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if ((cmd = find_command(argv[optind])) == NULL) {
		ctl_errx("unknown command '%s'", argv[optind]);
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if (load_config(config, explicit, cmd->conf_keys, &conf) != 0)
		return CTL_EXIT_FAIL;
	if (cmd->conf_keys == token_keys && conf.store == PG_TOKEN_STORE_LDAP &&
	    load_config(config, explicit, token_ldap_keys, &conf) != 0)
		return CTL_EXIT_FAIL;
	ctx.conf = &conf;
	ctx.socket = socket != NULL ? socket : conf.socket;
	if (oath_init() != OATH_OK) {
		ctl_errx("liboath failed to initialise");
		return CTL_EXIT_FAIL;
	}
	argc -= optind;
	argv += optind;
	/* getopt names argv[0] in its messages: make it the whole command. */
	snprintf(progcmd, sizeof(progcmd), PROG " %s", cmd->name);
	argv[0] = progcmd;
	/* 0 makes GNU getopt start over on the command's own arguments. */
	optind = 0;
	rc = cmd->handler(&ctx, argc, argv);
	if (rc == CTL_HELP || rc == CTL_EXIT_USAGE)
		fprintf(rc == CTL_HELP ? stdout : stderr,
		        "usage: " PROG " %s\n", cmd->synopsis);
	oath_done();
	return rc == CTL_HELP ? CTL_EXIT_OK : rc;
}
