/* SPDX-License-Identifier: BSD-3-Clause */
/* phiguardctl's daemon commands: status, unlock, check, explain, flush and
 * reload, each one bounded request to phiguardd over the client library. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "commands.h"
#include "err.h"
#include "proto.h"
#include "sanitize.h"
#include "username.h"

/* Longest value echoed from a reply; the rest is cut. */
#define SHOW_MAX 200

/*
 * Copy a value from the daemon into out for the terminal: UTF-8 text as
 * it is (a DN an admin copies into a policy), controls and escape
 * sequences dropped so a reply cannot reach an admin's screen with them.
 */
static const char *printable(const char *v, char *out, size_t size)
{
	sanitize_text(v, strlen(v), out, size);
	return out;
}

/*
 * Send req and check the reply. Returns CTL_EXIT_OK with an OK reply in
 * *resp, CTL_EXIT_FAIL if the daemon answered ERR or a malformed line,
 * CTL_EXIT_UNREACHABLE if no answer came.
 */
static int daemon_call(const struct ctl_ctx *ctx, const char *cmd,
                       const struct pg_msg *req, struct pg_msg *resp)
{
	char shown[SHOW_MAX];
	const char *msg;
	uid_t uids[PG_CLIENT_DAEMON_UIDS];
	/* Anyone else listening on the socket path is not the daemon. */
	size_t n = pg_client_daemon_uids(ctx->conf->user, uids);
	int rc;

	rc = pg_client_call(ctx->socket, CTL_DAEMON_TIMEOUT_MS, uids, n, req,
	                    resp);
	/* Whatever answered did answer: a broken reply is a failure of
	 * the request, not an unreachable daemon (check's exit 3). */
	if (rc == PG_ERR_PROTO || rc == PG_ERR_TOOLONG ||
	    rc == PG_ERR_VERSION) {
		ctl_errx("%s: phiguardd at %s sent a bad reply: %s", cmd,
		         ctx->socket, pg_strerror(rc));
		return CTL_EXIT_FAIL;
	}
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

int ctl_daemon_call(const struct ctl_ctx *ctx, const char *cmd,
                    const struct pg_msg *req, struct pg_msg *resp)
{
	return daemon_call(ctx, cmd, req, resp);
}

/* No daemon command takes options other than --help. */
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

/* "93784" -> "1d 02:03:04 (93784 s)", for uptime and cache ages. */
static void show_duration(const char *key, const char *v)
{
	unsigned long long s;
	char *end;

	errno = 0;
	s = strtoull(v, &end, 10);
	if (*v < '0' || *v > '9' || *end != '\0' || errno != 0) {
		printf("  %-13s %s\n", key, v);
		return;
	}
	printf("  %-13s %llud %02llu:%02llu:%02llu (%llu s)\n", key, s / 86400,
	       s / 3600 % 24, s / 60 % 60, s % 60, s);
}

/* A push suspension, "user until": when it ends, in local time. */
static void show_suspended(const char *v)
{
	const char *sp = strchr(v, ' ');
	char when[64];
	struct tm tm;
	time_t t;
	char *end;

	if (sp == NULL || sp[1] < '0' || sp[1] > '9') {
		printf("    %s\n", v);
		return;
	}
	errno = 0;
	t = (time_t)strtoll(sp + 1, &end, 10);
	if (errno != 0 || *end != '\0' || localtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
		printf("    %s\n", v);
	else
		printf("    %-30.*s until %s\n", (int)(sp - v), v, when);
}

/*
 * One item of an LF-separated list (proto.h LISTS). A rule is "scope
 * role": shown as which role grants the scope.
 */
static void show_item(const char *key, const char *item, size_t len)
{
	char raw[SHOW_MAX], v[SHOW_MAX];
	const char *sp;

	if (len >= sizeof(raw))
		len = sizeof(raw) - 1;
	memcpy(raw, item, len);
	raw[len] = '\0';
	printable(raw, v, sizeof(v));
	if (strcmp(key, "rules") == 0 && (sp = strchr(v, ' ')) != NULL)
		printf("    %-30.*s <- %s\n", (int)(sp - v), v, sp + 1);
	else if (strcmp(key, "push_suspended_users") == 0)
		show_suspended(v);
	else
		printf("    %s\n", v);
}

/* A list's items, one a line; returns how many. */
static uint64_t show_list(const char *k, const char *val)
{
	const char *nl;
	uint64_t n = 0;

	for (; val[0] != '\0'; val = nl + 1) {
		if ((nl = strchr(val, '\n')) == NULL)
			nl = val + strlen(val);
		if (nl != val) {
			show_item(k, val, (size_t)(nl - val));
			n++;
		}
		if (*nl == '\0')
			break;
	}
	return n;
}

static int is_list(const char *key, const char *val)
{
	return strcmp(key, "groups") == 0 || strcmp(key, "rules") == 0 ||
	       strcmp(key, "push_suspended_users") == 0 ||
	       strchr(val, '\n') != NULL;
}

/*
 * Every field of an OK reply, in the daemon's order (newer daemons may
 * add some): durations readable, LF lists one item a line, every byte
 * through printable().
 */
static void show_fields(const struct pg_msg *resp)
{
	char k[SHOW_MAX], v[SHOW_MAX];
	uint64_t listed, total;
	const char *val;
	size_t i;

	for (i = 0; i < resp->nfields; i++) {
		printable(resp->fields[i].key, k, sizeof(k));
		val = resp->fields[i].value;
		if (is_list(k, val)) {
			printf("  %s:%s\n", k, val[0] == '\0' ? " (none)" : "");
			listed = show_list(k, val);
			/* STATUS lists only as many as fit in a reply. */
			if (strcmp(k, "push_suspended_users") == 0 &&
			    proto_get_u64(resp, "push_suspended", UINT64_MAX,
			                  &total) == 0 &&
			    total > listed)
				printf("    ... and %llu more\n",
				       (unsigned long long)(total - listed));
		} else if (strcmp(k, "uptime") == 0 || strcmp(k, "age") == 0) {
			show_duration(k, printable(val, v, sizeof(v)));
		} else {
			printf("  %-13s %s\n", k, printable(val, v, sizeof(v)));
		}
	}
}

/* A daemon command's request: its operands go into these keys, in order. */
struct request {
	const char *cmd;
	enum pg_verb verb;
	int min, max;        /* operand count */
	const char *keys[2]; /* "user" is checked with username_check() */
};

/*
 * Parse the command line for rq (--help only), build the request from the
 * operands, send it, and leave the daemon's OK reply in *resp. Returns an
 * enum ctl_exit (CTL_HELP for --help), having said why on failure.
 */
static int ask(const struct ctl_ctx *ctx, const struct request *rq, int argc,
               char **argv, struct pg_msg *resp)
{
	struct pg_msg req;
	const char *v;
	int rc, n, i;

	proto_msg_init(&req, rq->verb);
	if ((rc = no_options(argc, argv)) != 0)
		goto out;
	rc = CTL_EXIT_USAGE;
	n = argc - optind;
	if (n < rq->min || n > rq->max) {
		ctl_errx("%s: wrong number of arguments", rq->cmd);
		goto out;
	}
	for (i = 0; i < n; i++) {
		v = argv[optind + i];
		if (strcmp(rq->keys[i], "user") == 0 &&
		    username_check(v) != 0) {
			ctl_errx("%s: invalid user name", rq->cmd);
			goto out;
		}
		if (v[0] == '\0' || proto_add(&req, rq->keys[i], v) != 0) {
			ctl_errx("%s: invalid %s", rq->cmd, rq->keys[i]);
			goto out;
		}
	}
	rc = daemon_call(ctx, rq->cmd, &req, resp);
out:
	proto_msg_clear(&req);
	return rc;
}

int cmd_status(const struct ctl_ctx *ctx, int argc, char **argv)
{
	static const struct request rq = {"status", PG_VERB_STATUS, 0, 0, {0}};
	struct pg_msg resp;
	int rc;

	proto_msg_init(&resp, PG_VERB_UNKNOWN);
	if ((rc = ask(ctx, &rq, argc, argv, &resp)) != CTL_EXIT_OK)
		goto out;
	printf("phiguardd at %s:\n", ctx->socket);
	show_fields(&resp);
	rc = fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_FAIL;
out:
	proto_msg_clear(&resp);
	return rc;
}

/* UNLOCK's cleared= list (proto.h) in words: "nurse1: cleared the
 * lockout, the push suspension." */
static void show_cleared(const char *user, const char *cleared)
{
	static const struct {
		const char *item, *words;
	} names[] = {
	    {"lockout", "the lockout"},
	    {"push-suspension", "the push suspension"},
	    {"failures", "the failure count"},
	    {"push-failures", "the failed-push count"},
	};
	char shown[SHOW_MAX];
	const char *p, *sp;
	size_t i, len, n = 0;

	if (strcmp(cleared, "none") == 0) {
		printf("%s: nothing to clear (not locked out, push not "
		       "suspended, no failures counted).\n",
		       user);
		return;
	}
	printf("%s: cleared", user);
	for (p = cleared; *p != '\0'; p = *sp == '\0' ? sp : sp + 1) {
		if ((sp = strchr(p, ' ')) == NULL)
			sp = p + strlen(p);
		len = (size_t)(sp - p);
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strlen(names[i].item) == len &&
			    strncmp(names[i].item, p, len) == 0)
				break;
		snprintf(shown, sizeof(shown), "%.*s", (int)len, p);
		printf("%s %s", n++ > 0 ? "," : "",
		       i < sizeof(names) / sizeof(names[0])
		           ? names[i].words
		           : printable(shown, shown, sizeof(shown)));
	}
	printf(".\n");
}

int cmd_unlock(const struct ctl_ctx *ctx, int argc, char **argv)
{
	static const struct request rq = {
	    "unlock", PG_VERB_UNLOCK, 1, 1, {"user"}};
	struct pg_msg resp;
	const char *was, *cleared;
	int rc;

	proto_msg_init(&resp, PG_VERB_UNKNOWN);
	if ((rc = ask(ctx, &rq, argc, argv, &resp)) != CTL_EXIT_OK)
		goto out;
	if ((cleared = proto_get(&resp, "cleared")) != NULL) {
		show_cleared(argv[optind], cleared);
		goto out;
	}
	/* A daemon from before cleared= (proto.h HISTORY). */
	was = proto_get(&resp, "was_locked");
	if (was != NULL && strcmp(was, "yes") == 0)
		printf("%s: lockout cleared.\n", argv[optind]);
	else
		printf("%s was not locked out; failure count cleared.\n",
		       argv[optind]);
out:
	proto_msg_clear(&resp);
	return rc;
}

int cmd_check(const struct ctl_ctx *ctx, int argc, char **argv)
{
	static const struct request rq = {
	    "check", PG_VERB_CHECK, 2, 2, {"user", "scope"}};
	struct pg_msg resp;
	char shown[SHOW_MAX];
	const char *allowed, *reason, *source;
	int rc;

	proto_msg_init(&resp, PG_VERB_UNKNOWN);
	if ((rc = ask(ctx, &rq, argc, argv, &resp)) != CTL_EXIT_OK)
		goto out;
	allowed = proto_get(&resp, "allowed");
	source = proto_get(&resp, "source");
	reason = proto_get(&resp, "reason");
	/* Only an explicit yes allows: anything else is a denial. */
	rc = CTL_EXIT_FAIL;
	if (allowed == NULL ||
	    (strcmp(allowed, "yes") != 0 && strcmp(allowed, "no") != 0)) {
		ctl_errx("check: phiguardd gave no allowed=yes|no; "
		         "treated as denied");
		goto out;
	}
	if (strcmp(allowed, "yes") == 0)
		rc = CTL_EXIT_OK;
	printf("%s %s: %s", argv[optind], argv[optind + 1],
	       rc == CTL_EXIT_OK ? "allowed" : "denied");
	if (rc != CTL_EXIT_OK)
		printf(" (%s)", reason != NULL
		                    ? printable(reason, shown, sizeof(shown))
		                    : "no reason given");
	if (source != NULL)
		printf(", source %s", printable(source, shown, sizeof(shown)));
	printf("\n");
out:
	proto_msg_clear(&resp);
	return rc;
}

int cmd_explain(const struct ctl_ctx *ctx, int argc, char **argv)
{
	static const struct request rq = {
	    "explain", PG_VERB_EXPLAIN, 1, 1, {"user"}};
	struct pg_msg resp;
	int rc;

	proto_msg_init(&resp, PG_VERB_UNKNOWN);
	if ((rc = ask(ctx, &rq, argc, argv, &resp)) != CTL_EXIT_OK)
		goto out;
	printf("%s:\n", argv[optind]);
	show_fields(&resp);
	rc = fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_FAIL;
out:
	proto_msg_clear(&resp);
	return rc;
}

int cmd_flush(const struct ctl_ctx *ctx, int argc, char **argv)
{
	static const struct request rq = {
	    "flush", PG_VERB_FLUSH, 0, 1, {"user"}};
	struct pg_msg resp;
	uint64_t n = 0;
	int rc;

	proto_msg_init(&resp, PG_VERB_UNKNOWN);
	if ((rc = ask(ctx, &rq, argc, argv, &resp)) != CTL_EXIT_OK)
		goto out;
	if (proto_get_u64(&resp, "flushed", UINT64_MAX, &n) == 0)
		printf("%llu cache entr%s flushed.\n", (unsigned long long)n,
		       n == 1 ? "y" : "ies");
	else
		printf("cache flushed.\n");
out:
	proto_msg_clear(&resp);
	return rc;
}

int cmd_reload(const struct ctl_ctx *ctx, int argc, char **argv)
{
	static const struct request rq = {"reload", PG_VERB_RELOAD, 0, 0, {0}};
	struct pg_msg resp;
	int rc;

	proto_msg_init(&resp, PG_VERB_UNKNOWN);
	rc = ask(ctx, &rq, argc, argv, &resp);
	if (rc == CTL_EXIT_OK)
		printf("configuration reloaded.\n");
	/* daemon_call() showed the daemon's file:line: reason. */
	else if (rc == CTL_EXIT_FAIL)
		ctl_errx("reload: phiguardd keeps its current configuration");
	proto_msg_clear(&resp);
	return rc;
}
