/* SPDX-License-Identifier: BSD-3-Clause */
/* phiguardctl's commands: the handlers behind the command table in
 * phiguardctl.c, the exit codes they share and the CLI's diagnostics. */
#ifndef PHIGUARD_CTL_COMMANDS_H
#define PHIGUARD_CTL_COMMANDS_H

#include "conf.h"

/* Exit codes, documented in phiguardctl(8). */
enum ctl_exit {
	CTL_EXIT_OK = 0,          /* done */
	CTL_EXIT_FAIL = 1,        /* refused, nothing matched, I/O error */
	CTL_EXIT_USAGE = 2,       /* bad command line */
	CTL_EXIT_UNREACHABLE = 3, /* phiguardd could not be asked */
	/* Not an exit code: a handler saw --help; the caller prints the
	 * synopsis to stdout and exits with CTL_EXIT_OK. */
	CTL_HELP = -1,
};

/* Bound on every exchange with phiguardd (connect + request + reply). */
#define CTL_DAEMON_TIMEOUT_MS 5000

/* What every command gets from the global options and the config. */
struct ctl_ctx {
	const struct pg_conf *conf;
	const char *socket; /* --socket, else conf->socket */
};

/*
 * A command handler: argv[0] is "phiguardctl COMMAND" (getopt's messages
 * use it), options and operands follow (getopt_long, reset by the caller).
 * Returns an enum ctl_exit; on CTL_EXIT_USAGE the caller prints the command's
 * synopsis after the handler's own message, on CTL_HELP the synopsis alone.
 */
typedef int (*ctl_handler)(const struct ctl_ctx *ctx, int argc, char **argv);

int cmd_enroll(const struct ctl_ctx *ctx, int argc, char **argv);
int cmd_remove(const struct ctl_ctx *ctx, int argc, char **argv);
int cmd_list(const struct ctl_ctx *ctx, int argc, char **argv);
int cmd_import(const struct ctl_ctx *ctx, int argc, char **argv);
int cmd_keygen(const struct ctl_ctx *ctx, int argc, char **argv);
int cmd_reseal(const struct ctl_ctx *ctx, int argc, char **argv);
int cmd_status(const struct ctl_ctx *ctx, int argc, char **argv);
int cmd_unlock(const struct ctl_ctx *ctx, int argc, char **argv);
int cmd_check(const struct ctl_ctx *ctx, int argc, char **argv);
int cmd_explain(const struct ctl_ctx *ctx, int argc, char **argv);
int cmd_flush(const struct ctl_ctx *ctx, int argc, char **argv);
int cmd_reload(const struct ctl_ctx *ctx, int argc, char **argv);
int cmd_audit(const struct ctl_ctx *ctx, int argc, char **argv);
int cmd_alerts(const struct ctl_ctx *ctx, int argc, char **argv);

/*
 * Send req to phiguardd (bounded by CTL_DAEMON_TIMEOUT_MS) and check the
 * reply: CTL_EXIT_OK with the OK reply in *resp, CTL_EXIT_FAIL after
 * saying why if it answered ERR or garbage, CTL_EXIT_UNREACHABLE if no
 * answer came. cmd names the command in messages. In cmd_daemon.c.
 */
struct pg_msg;
int ctl_daemon_call(const struct ctl_ctx *ctx, const char *cmd,
                    const struct pg_msg *req, struct pg_msg *resp);

/*
 * The site keys for command cmd: key_file "" or NULL leaves *kr empty
 * (secrets are stored plain) and returns CTL_EXIT_OK; otherwise the key
 * file is read (seal_keyring_load, root-owned) and a failure is said on
 * stderr and returned as CTL_EXIT_FAIL. *kr holds keys: the caller wipes
 * it with seal_keyring_wipe(). In cmd_seal.c.
 */
struct seal_keyring;
int ctl_seal_keyring(const char *cmd, const char *key_file,
                     struct seal_keyring *kr);

/* "phiguardctl: " + message (+ ": " strerror(errno) for ctl_err) on
 * stderr. Never pass a secret. Defined in phiguardctl.c. */
void ctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ctl_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ctl_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
