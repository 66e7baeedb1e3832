/* SPDX-License-Identifier: BSD-3-Clause */
/* phiguardctl's daemon commands: status and unlock, each one bounded request
 * to phiguardd over the client library. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "client.h"
#include "commands.h"
#include "err.h"
#include "proto.h"
#include "username.h"

/* Longest value echoed from a reply; the rest is cut. */
#define SHOW_MAX 200

/*
 * Copy a value from the daemon into out for the terminal: bytes that are
 * not printable ASCII become '?', so a reply cannot smuggle escape
 * sequences onto an admin's screen.
 */
static const char *printable(const char *v, char *out, size_t size)
{
	size_t i;

	for (i = 0; v[i] != '\0' && i + 1 < size; i++)
		out[i] = (v[i] >= 0x20 && v[i] < 0x7f) ? v[i] : '?';
	out[i] = '\0';
	return out;
}

/*
 * The uids phiguardd may run as: root, the [daemon] user it drops to, and
 * our own uid (a test daemon). Anyone else listening on the socket path is
 * not the daemon.
 */
static size_t trusted_uids(const struct pg_conf *conf, uid_t *uids)
{
	const struct passwd *pw;
	size_t n = 0;

	uids[n++] = 0;
	if (geteuid() != 0)
		uids[n++] = geteuid();
	if (conf->user[0] != '\0' && (pw = getpwnam(conf->user)) != NULL &&
	    pw->pw_uid != 0 && pw->pw_uid != geteuid())
		uids[n++] = pw->pw_uid;
	return n;
}

/*
 * Send req and check the reply. Returns CTL_EXIT_OK with an OK reply in
 * *resp, CTL_EXIT_FAIL if the daemon answered ERR, CTL_EXIT_UNREACHABLE
 * if no answer came.
 */
static int daemon_call(const struct ctl_ctx *ctx, const char *cmd,
                       const struct pg_msg *req, struct pg_msg *resp)
{
	char shown[SHOW_MAX];
	const char *msg;
	uid_t uids[3];
	size_t n = trusted_uids(ctx->conf, uids);
	int rc;

	rc = pg_client_call(ctx->socket, CTL_DAEMON_TIMEOUT_MS, uids, n, req,
	                    resp);
	if (rc != 0) {
		ctl_errx("%s: cannot reach phiguardd at %s: %s", cmd,
		         ctx->socket, pg_strerror(rc));
		return CTL_EXIT_UNREACHABLE;
	}
	if ((rc = proto_response_status(resp)) == 0)
		return CTL_EXIT_OK;
	msg = proto_get(resp, "msg");
	ctl_errx("%s: phiguardd refused: %s%s%s%s", cmd, pg_strerror(rc),
	         msg != NULL ? " (" : "",
	         msg != NULL ? printable(msg, shown, sizeof(shown)) : "",
	         msg != NULL ? ")" : "");
	if (rc == PG_ERR_PERM)
		ctl_errx("%s: this command needs root", cmd);
	return CTL_EXIT_FAIL;
}

/* Neither command takes options other than --help. */
static int no_options(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1)
		return opt == 'h' ? CTL_HELP : CTL_EXIT_USAGE;
	return 0;
}

/* "93784" -> "1d 02:03:04 (93784 s)", for the uptime line. */
static void show_uptime(const char *v)
{
	unsigned long long s;
	char *end;

	errno = 0;
	s = strtoull(v, &end, 10);
	if (*v < '0' || *v > '9' || *end != '\0' || errno != 0) {
		printf("  %-10s %s\n", "uptime", v);
		return;
	}
	printf("  %-10s %llud %02llu:%02llu:%02llu (%llu s)\n", "uptime",
	       s / 86400, s / 3600 % 24, s / 60 % 60, s % 60, s);
}

int cmd_status(const struct ctl_ctx *ctx, int argc, char **argv)
{
	struct pg_msg req, resp;
	char k[SHOW_MAX], v[SHOW_MAX];
	size_t i;
	int rc;

	proto_msg_init(&req, PG_VERB_STATUS);
	proto_msg_init(&resp, PG_VERB_UNKNOWN);
	if ((rc = no_options(argc, argv)) != 0)
		goto out;
	if (argc - optind != 0) {
		ctl_errx("status: takes no arguments");
		rc = CTL_EXIT_USAGE;
		goto out;
	}
	if ((rc = daemon_call(ctx, "status", &req, &resp)) != CTL_EXIT_OK)
		goto out;
	printf("phiguardd at %s:\n", ctx->socket);
	/* Every field, in the daemon's order: newer daemons may add some. */
	for (i = 0; i < resp.nfields; i++) {
		printable(resp.fields[i].value, v, sizeof(v));
		if (strcmp(resp.fields[i].key, "uptime") == 0)
			show_uptime(v);
		else
			printf("  %-10s %s\n",
			       printable(resp.fields[i].key, k, sizeof(k)), v);
	}
	rc = fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_FAIL;
out:
	proto_msg_clear(&req);
	proto_msg_clear(&resp);
	return rc;
}

int cmd_unlock(const struct ctl_ctx *ctx, int argc, char **argv)
{
	struct pg_msg req, resp;
	const char *user, *was;
	int rc;

	proto_msg_init(&req, PG_VERB_UNLOCK);
	proto_msg_init(&resp, PG_VERB_UNKNOWN);
	if ((rc = no_options(argc, argv)) != 0)
		goto out;
	rc = CTL_EXIT_USAGE;
	if (argc - optind != 1) {
		ctl_errx("unlock: expected one USER");
		goto out;
	}
	user = argv[optind];
	if (username_check(user) != 0) {
		ctl_errx("unlock: invalid user name");
		goto out;
	}
	if (proto_add(&req, "user", user) != 0) {
		ctl_errx("unlock: user name too long for a request");
		goto out;
	}
	if ((rc = daemon_call(ctx, "unlock", &req, &resp)) != CTL_EXIT_OK)
		goto out;
	was = proto_get(&resp, "was_locked");
	if (was != NULL && strcmp(was, "yes") == 0)
		printf("%s: lockout cleared.\n", user);
	else
		printf("%s was not locked out; failure count cleared.\n", user);
	rc = CTL_EXIT_OK;
out:
	proto_msg_clear(&req);
	proto_msg_clear(&resp);
	return rc;
}
