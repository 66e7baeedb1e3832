/* SPDX-License-Identifier: BSD-3-Clause */
/* Drives the directory client (daemon/authz/directory.c) for the integration
 * tests: configure it from the command line, run commands, print results. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "daemon/authz/dir_config.h"
#include "daemon/authz/directory.h"
#include "daemon/authz/indexprobe.h"
#include "daemon/authz/membership.h"
#include "err.h"
#include "log.h"
#include "timeutil.h"

/*
 * Output, one tab-separated record per line, flushed after each command:
 *   lookup USER RESULT searches=N ms=T server=URI  RESULT: ok or pg_err name
 *   user DN                                        after lookup ... ok
 *   group DEPTH CN DN                              one per group, CN "-" if
 *                                                  none
 *   probe RESULT active=URI ms=T
 *   server INDEX URI connected=0|1 available=0|1 failures=N last_err=NAME
 *          membership=ATTRS|none|-                 ("-": not discovered)
 *   active URI                                     after the server lines
 *   discovery searches=N                           after active
 *   indexprobe ok slow=N baseline_us=T ATTR_us=T...  or: indexprobe ERROR
 *   wait FILE ok|timeout
 * Exit status: 0 when every command ran, 2 for a usage or config error.
 */

static void usage(void)
{
	fprintf(stderr, "usage: dirtest [-v] [-c KEY=VALUE]... COMMAND...\n"
	                "commands: lookup USER | probe | indexprobe | status | "
	                "sleep MS | "
	                "wait FILE\n");
}

/*
 * -c KEY=VALUE takes the client's field names (struct dir_config). Most
 * are [ldap] keys of phiguard.conf (base_dn is "base") and are parsed as
 * phiguardd parses them; the times in ms and the retry backoff, which the
 * file does not have, are set directly. A key given again replaces its
 * value (the script's defaults come first).
 */
#define MAX_OPTS 32

struct opts {
	const char *key[MAX_OPTS], *value[MAX_OPTS];
	int n;
};

static int opt_add(struct opts *o, const char *key, const char *value)
{
	int i;

	for (i = 0; i < o->n && strcmp(o->key[i], key) != 0; i++)
		;
	if (i == MAX_OPTS)
		return -1;
	o->key[i] = key;
	o->value[i] = value;
	if (i == o->n)
		o->n++;
	return 0;
}

static long *direct_field(struct dir_config *cfg, const char *key)
{
	if (strcmp(key, "network_timeout_ms") == 0)
		return &cfg->network_timeout_ms;
	if (strcmp(key, "search_timeout_ms") == 0)
		return &cfg->search_timeout_ms;
	if (strcmp(key, "retry_min_ms") == 0)
		return &cfg->retry_min_ms;
	if (strcmp(key, "retry_max_ms") == 0)
		return &cfg->retry_max_ms;
	return NULL;
}

static int make_config(const struct opts *o, struct dir_config *cfg, char *err,
                       size_t errlen)
{
	static const char *const ldap_only[] = {"ldap", NULL};
	const struct conf_select sel = {ldap_only, NULL, NULL};
	static struct pg_conf conf;
	char text[8192];
	size_t len;
	long *f;
	int i, rc;

	len = (size_t)snprintf(text, sizeof text, "[ldap]\n");
	for (i = 0; i < o->n; i++)
		if (direct_field(cfg, o->key[i]) == NULL && len < sizeof text)
			len += (size_t)snprintf(
			    text + len, sizeof text - len, "%s = %s\n",
			    strcmp(o->key[i], "base_dn") == 0 ? "base"
			                                      : o->key[i],
			    o->value[i]);
	if (len >= sizeof text)
		return PG_ERR_INVAL;
	conf_defaults(&conf);
	if ((rc = conf_parse_select("dirtest", text, len, &sel, &conf, err,
	                            errlen)) != 0 ||
	    (rc = dir_config_from_conf(cfg, &conf, err, errlen)) != 0)
		return rc;
	for (i = 0; i < o->n; i++)
		if ((f = direct_field(cfg, o->key[i])) != NULL)
			*f = strtol(o->value[i], NULL, 10);
	return 0;
}

static const char *rcname(int rc)
{
	return rc == 0 ? "ok" : pg_err_name(rc);
}

static void print_status(const struct dir *d)
{
	struct dir_status st;
	size_t i;

	char mem[64];

	dir_status(d, &st);
	for (i = 0; i < st.nservers; i++) {
		membership_describe(st.servers[i].membership, mem, sizeof mem);
		printf("server\t%zu\t%s\tconnected=%d\tavailable=%d\t"
		       "failures=%u\tlast_err=%s\tmembership=%s\n",
		       i, st.servers[i].uri, st.servers[i].connected,
		       st.servers[i].available, st.servers[i].failures,
		       rcname(st.servers[i].last_err),
		       st.servers[i].discovered ? mem : "-");
	}
	printf("active\t%s\n", st.servers[st.active].uri);
	printf("discovery\tsearches=%llu\n",
	       (unsigned long long)st.discovery_searches);
}

static void cmd_lookup(struct dir *d, const char *user)
{
	struct dir_result *r = NULL;
	struct dir_status before, after;
	int64_t t0;
	size_t i;
	int rc;

	dir_status(d, &before);
	t0 = time_mono_ms();
	rc = dir_lookup(d, user, &r);
	dir_status(d, &after);
	printf("lookup\t%s\t%s\tsearches=%llu\tms=%lld\tserver=%s\n", user,
	       rcname(rc),
	       (unsigned long long)(after.searches - before.searches),
	       (long long)(time_mono_ms() - t0), rc == 0 ? r->server : "-");
	if (rc != 0)
		return;
	/* The result's own count must agree with the handle's counter. */
	if (r->searches != after.searches - before.searches)
		printf("error\tsearches %u in the result, %llu counted\n",
		       r->searches,
		       (unsigned long long)(after.searches - before.searches));
	printf("user\t%s\n", r->user_dn);
	for (i = 0; i < r->ngroups; i++)
		printf("group\t%u\t%s\t%s\n", r->groups[i].depth,
		       r->groups[i].cn ? r->groups[i].cn : "-",
		       r->groups[i].dn);
	dir_result_free(r);
}

static void cmd_probe(struct dir *d)
{
	struct dir_status st;
	int64_t t0 = time_mono_ms();
	int rc;

	rc = dir_probe(d);
	dir_status(d, &st);
	printf("probe\t%s\tactive=%s\tms=%lld\n", rcname(rc),
	       st.servers[st.active].uri, (long long)(time_mono_ms() - t0));
}

/* The unindexed-search check of the first server, as phiguardd runs it
 * at start: its warnings go to the log, its figures to stdout. */
static void cmd_indexprobe(const struct dir_config *cfg)
{
	const struct membership_kind *k;
	struct dir_index_times t;
	size_t i;
	int rc;

	if ((rc = dir_index_times(cfg, 0, &t)) != 0) {
		printf("indexprobe\t%s\n", rcname(rc));
		fflush(stdout);
		return;
	}
	printf("indexprobe\tok\tslow=%d\tbaseline_us=%lld",
	       indexprobe_report(cfg->uris[0], &t), (long long)t.baseline_us);
	for (i = 0; (k = membership_kind(i)) != NULL; i++)
		if (t.attrs & k->bit)
			printf("\t%s_us=%lld", k->attr,
			       (long long)t.attr_us[i]);
	printf("\n");
	fflush(stdout);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* Wait (at most 60 s) for the test script to create a file: how a script
 * changes the servers between two commands of one dirtest process. */
static void cmd_wait(const char *path)
{
	int64_t deadline = time_mono_ms() + 60000;

	while (access(path, F_OK) != 0 && time_left_ms(deadline) > 0)
		sleep_ms(20);
	printf("wait\t%s\t%s\n", path,
	       access(path, F_OK) == 0 ? "ok" : "timeout");
}

int main(int argc, char **argv)
{
	struct dir_config cfg;
	struct opts opts = {.n = 0};
	struct dir *d = NULL;
	char err[512], *eq;
	int opt, verbose = 0, i, rc = 2;

	/* A server may close a connection under us; libldap writes with
	 * write(2), so SIGPIPE must not kill the process (phiguardd too). */
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* "+": options end at the first command, as POSIX has it. */
	while ((opt = getopt(argc, argv, "+vc:")) != -1) {
		switch (opt) {
		case 'v':
			verbose = 1;
			break;
		case 'c':
			if ((eq = strchr(optarg, '=')) == NULL) {
				usage();
				goto out;
			}
			*eq = '\0';
			if (opt_add(&opts, optarg, eq + 1) != 0) {
				usage();
				goto out;
			}
			break;
		default:
			usage();
			goto out;
		}
	}
	log_init("dirtest", 1, verbose ? PG_LOG_DEBUG : PG_LOG_INFO);
	if (optind >= argc) {
		usage();
		goto out;
	}
	if (make_config(&opts, &cfg, err, sizeof err) != 0) {
		fprintf(stderr, "dirtest: config: %s\n", err);
		goto out;
	}
	if (dir_new(&cfg, &d, err, sizeof err) != 0) {
		fprintf(stderr, "dirtest: config: %s\n", err);
		goto out;
	}
	for (i = optind; i < argc; i++) {
		const char *cmd = argv[i];
		const char *arg = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(cmd, "probe") == 0) {
			cmd_probe(d);
		} else if (strcmp(cmd, "indexprobe") == 0) {
			cmd_indexprobe(&cfg);
		} else if (strcmp(cmd, "status") == 0) {
			print_status(d);
		} else if (arg != NULL && strcmp(cmd, "lookup") == 0) {
			cmd_lookup(d, arg);
			i++;
		} else if (arg != NULL && strcmp(cmd, "sleep") == 0) {
			sleep_ms(strtol(arg, NULL, 10));
			i++;
		} else if (arg != NULL && strcmp(cmd, "wait") == 0) {
			cmd_wait(arg);
			i++;
		} else {
			fprintf(stderr, "dirtest: bad command '%s'\n", cmd);
			usage();
			goto out;
		}
	}
	rc = 0;
out:
	dir_free(d);
	return rc;
}
