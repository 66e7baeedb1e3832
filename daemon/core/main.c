/* SPDX-License-Identifier: BSD-3-Clause */
/* phiguardd: options and configuration, then each module set up in order
 * (state, state log, server, pidfile, privileges, replay), served, and torn
 * down in reverse. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "detect/alert.h"
#include "audit/audit.h"
#include "authz/authz.h"
#include "authz/dir_config.h"
#include "timeutil.h"
#include "tokens/tokstore.h"
#include "client.h"
#include "conf.h"
#include "core/dispatch.h"
#include "err.h"
#include "log.h"
#include "core/peer.h"
#include "core/runas.h"
#include "safefile.h"
#include "core/server.h"
#include "login/offline.h"
#include "login/state.h"
#include "login/statelog.h"
#include "core/verbs.h"

#define EXIT_USAGE 2

struct options {
	const char *config;
	int foreground;
	int debug;
	int check_config;
	int dump_config;
};

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: phiguardd [-f|--foreground] [-d|--debug] "
	        "[--config PATH]\n"
	        "                 [--check-config] [--dump-config] "
	        "[--version] [--help]\n"
	        "  -f, --foreground  stay in the foreground, log to stderr\n"
	        "  -d, --debug       log at debug level\n"
	        "      --config PATH configuration file (default %s)\n"
	        "      --check-config  validate the configuration and exit\n"
	        "      --dump-config   print the effective configuration and "
	        "exit\n"
	        "      --version       print the version and exit\n"
	        "  -h, --help          print this help and exit\n",
	        PG_DEFAULT_CONFIG);
}

/* -1 to go on, else the exit status (usage error, or --help/--version). */
static int parse_options(int argc, char **argv, struct options *o)
{
	enum { OPT_CONFIG = 256, OPT_CHECK, OPT_DUMP, OPT_VERSION };
	static const struct option longopts[] = {
	    {"foreground", no_argument, NULL, 'f'},
	    {"debug", no_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {"config", required_argument, NULL, OPT_CONFIG},
	    {"check-config", no_argument, NULL, OPT_CHECK},
	    {"dump-config", no_argument, NULL, OPT_DUMP},
	    {"version", no_argument, NULL, OPT_VERSION},
	    {NULL, 0, NULL, 0},
	};
	int c;

	o->config = PG_DEFAULT_CONFIG;
	while ((c = getopt_long(argc, argv, "fdh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o->foreground = 1;
			break;
		case 'd':
			o->debug = 1;
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		case OPT_CONFIG:
			o->config = optarg;
			break;
		case OPT_CHECK:
			o->check_config = 1;
			break;
		case OPT_DUMP:
			o->dump_config = 1;
			break;
		case OPT_VERSION:
			printf("phiguardd %s\n", PACKAGE_VERSION);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "phiguardd: unexpected argument: %s\n",
		        argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	return -1;
}

/* A missing directory, and how it is normally made: phiguardd.service
 * and phiguard's tmpfiles.d file make these two, whatever the build's
 * localstatedir; anything else is made by hand. */
static void say_missing_dir(const char *path, const char *key, const char *dir,
                            const char *dflt, const struct pg_conf *conf)
{
	const int state = strcmp(key, "state_dir") == 0;
	const char *unitdir = state ? "/var/lib/phiguard" : "/var/log/phiguard";
	const char *who = "phiguard";
	struct runas_owner o;

	if (runas_file_owner(conf, &o) == 0 && o.name != NULL)
		who = o.name;
	fprintf(stderr, "%s: %s: %s: does not exist\n", path, key, dir);
	if (strcmp(dir, unitdir) == 0) {
		fprintf(stderr,
		        "%s: %s: phiguardd.service creates it (%s=phiguard), "
		        "as does \"systemd-tmpfiles --create\" with "
		        "phiguard's tmpfiles.d file; without either: "
		        "install -d -o %s -m 0700 %s\n",
		        path, key, state ? "StateDirectory" : "LogsDirectory",
		        who, dir);
		return;
	}
	fprintf(stderr, "%s: %s: create it: install -d -o %s -m 0700 %s\n",
	        path, key, who, dir);
	if (strcmp(dir, dflt) == 0)
		fprintf(stderr,
		        "%s: %s: %s is this build's default, but "
		        "phiguardd.service and tmpfiles.d make %s: build with "
		        "./configure --localstatedir=/var\n",
		        path, key, dir, unitdir);
}

/* 1 if dir is missing (said so), else 0. */
static int dir_missing(const char *path, const char *key, const char *dir,
                       const char *dflt, const struct pg_conf *conf)
{
	struct stat sb;

	if (stat(dir, &sb) == 0 || errno != ENOENT)
		return 0;
	say_missing_dir(path, key, dir, dflt, conf);
	return 1;
}

/* The trail's directory must exist; the file, if there, be a regular
 * file (the daemon creates it). Returns the problems printed. */
static int check_audit_file(const char *path, const struct pg_conf *conf,
                            const struct pg_conf *dflt)
{
	char dir[PG_CONF_MAX_PATH], ddir[PG_CONF_MAX_PATH];
	const char *file = conf->audit_file, *slash = strrchr(file, '/');
	struct stat sb;

	snprintf(dir, sizeof(dir), "%.*s",
	         slash == file ? 1 : (int)(slash - file), file);
	slash = strrchr(dflt->audit_file, '/');
	snprintf(ddir, sizeof(ddir), "%.*s", (int)(slash - dflt->audit_file),
	         dflt->audit_file);
	if (dir_missing(path, "audit_file", dir, ddir, conf))
		return 1;
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "%s: audit_file: %s: not a directory\n", path,
		        dir);
		return 1;
	}
	if (lstat(file, &sb) == 0 && !S_ISREG(sb.st_mode)) {
		fprintf(stderr, "%s: audit_file: %s: not a regular file\n",
		        path, file);
		return 1;
	}
	return 0;
}

/* state_dir exists and nobody but the daemon's users can change it
 * (statelog_check_dir). */
static int check_state_dir(const char *path, const struct pg_conf *conf,
                           const struct pg_conf *dflt, const uid_t *owners,
                           size_t n_owners)
{
	char err[PG_CONF_ERRLEN];

	if (dir_missing(path, "state_dir", conf->state_dir, dflt->state_dir,
	                conf))
		return 1;
	if (statelog_check_dir(conf->state_dir, owners, n_owners, err,
	                       sizeof(err)) != 0) {
		fprintf(stderr, "%s: state_dir: %s\n", path, err);
		return 1;
	}
	return 0;
}

/*
 * The push secrets pam_phiguard.so reads as root at each push login,
 * checked here as the module checks them (safefile_secret_policy), not
 * first at a login. Only root can open them. Returns the problems.
 */
static int check_push_files(const char *path, const struct pg_conf *conf)
{
	const char *key = NULL, *file = NULL;
	char err[PG_CONF_ERRLEN];
	int fd;

	if (conf->provider == CONF_PROVIDER_DUO) {
		key = "skey_file";
		file = conf->skey_file;
	} else if (conf->provider == CONF_PROVIDER_PRIVACYIDEA &&
	           conf->service_password_file[0] != '\0') {
		key = "service_password_file";
		file = conf->service_password_file;
	}
	if (file == NULL)
		return 0;
	if (geteuid() != 0) {
		printf("%s: [push] %s not checked: pam_phiguard.so reads it as "
		       "root; run phiguardd --check-config as root\n",
		       path, key);
		return 0;
	}
	if (safefile_open(file, &safefile_secret_policy, &fd, err,
	                  sizeof(err)) != 0) {
		fprintf(stderr, "%s: [push] %s: %s\n", path, key, err);
		return 1;
	}
	close(fd);
	return 0;
}

/* Which user the bind password file is checked for, and why: root's
 * check and the unit's (as phiguard) must both tell the truth. */
static void say_file_owner(const char *path, const struct pg_conf *conf)
{
	struct runas_owner o;

	if (!conf->ldap || conf->bind_password_file[0] == '\0' ||
	    runas_file_owner(conf, &o) != 0)
		return;
	if (o.name != NULL)
		printf("%s: checking bind_password_file for user %s (uid %lu)"
		       "%s, %s\n",
		       path, o.name, (unsigned long)o.uid,
		       o.root_too ? " or root" : "", o.why);
	else
		printf("%s: checking bind_password_file for uid %lu, %s\n",
		       path, (unsigned long)o.uid, o.why);
}

/* What site mode will do, for --check-config. */
static void say_site_mode(const char *path, const struct pg_conf *conf)
{
	char first[DIR_URI_MAX];

	snprintf(first, sizeof(first), "%.*s", (int)strcspn(conf->uri, " \t"),
	         conf->uri);
	printf("%s: [tokens] store = ldap: token records read from %s; used "
	       "codes and failures written to %s%s\n",
	       path, conf->uri, conf->write_uri[0] ? conf->write_uri : first,
	       conf->write_uri[0] ? " ([ldap] write_uri)"
	                          : " (the first uri; set write_uri to the "
	                            "same server on every terminal)");
}

/*
 * The trail's directory, when it exists, by the state directory's rules
 * (safefile_open_dir, owners as pg_client_daemon_uids gives them):
 * whoever could change it could remove or replace the trail. A missing
 * one is check_audit_file's to report.
 */
static int check_audit_dir(const char *path, const uid_t *owners,
                           size_t n_owners, char *err, size_t errlen)
{
	char dir[PG_CONF_MAX_PATH];
	const char *slash = strrchr(path, '/');
	int fd, rc;

	snprintf(dir, sizeof(dir), "%.*s",
	         slash == path ? 1 : (int)(slash - path), path);
	if ((rc = safefile_open_dir(dir, owners, n_owners, &fd, err, errlen)) ==
	    0)
		close(fd);
	return rc == PG_ERR_NOTFOUND ? 0 : rc;
}

/*
 * What --check-config adds to the parser: things that are only wrong on
 * this machine. Prints "file: key: reason" lines; returns the count.
 */
static int check_environment(const char *path, const struct pg_conf *conf)
{
	struct pg_conf *dflt = malloc(sizeof(*dflt));
	struct sockaddr_un sun;
	char err[PG_CONF_ERRLEN], warn[PG_CONF_ERRLEN];
	uid_t owners[PG_CLIENT_DAEMON_UIDS];
	size_t n_owners = pg_client_daemon_uids(conf->user, owners);
	int bad = 0;
	uid_t uid;
	gid_t gid;

	if (dflt == NULL) {
		fprintf(stderr, "%s: out of memory\n", path);
		return 1;
	}
	conf_defaults(dflt);
	bad += check_state_dir(path, conf, dflt, owners, n_owners);
	if (strlen(conf->socket) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "%s: socket: path longer than %zu bytes\n",
		        path, sizeof(sun.sun_path) - 1);
		bad++;
	}
	if (conf->user[0] != '\0' &&
	    peer_user_ids(conf->user, &uid, &gid) != 0) {
		fprintf(stderr, "%s: user: %s: no such user\n", path,
		        conf->user);
		bad++;
	}
	bad += check_audit_file(path, conf, dflt);
	free(dflt);
	if (check_audit_dir(conf->audit_file, owners, n_owners, err,
	                    sizeof(err)) != 0) {
		fprintf(stderr, "%s: audit_file: %s\n", path, err);
		bad++;
	}
	say_file_owner(path, conf);
	if (conf->ldap && authz_check_config(conf, err, sizeof(err), warn,
	                                     sizeof(warn)) != 0) {
		fprintf(stderr, "%s: %s\n", path, err);
		bad++;
	} else if (conf->ldap && warn[0] != '\0') {
		/* The module's arguments are not ours to see: not an error. */
		fprintf(stderr, "%s: warning: %s\n", path, warn);
	}
	if (conf->store == PG_TOKEN_STORE_LDAP &&
	    tokstore_check_config(conf, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: [tokens] store = ldap: %s\n", path, err);
		bad++;
	} else if (conf->store == PG_TOKEN_STORE_LDAP) {
		say_site_mode(path, conf);
	}
	return bad + check_push_files(path, conf);
}

/*
 * Detach: fork, setsid, fork again so we can never regain a terminal.
 * The original process waits on a pipe for the daemon's verdict and exits
 * with it, so an init script sees a startup failure. In the daemon,
 * *notify is the pipe's write end (see notify_parent).
 */
static int daemonize(int *notify)
{
	int pfd[2], fd;
	char status = 1;
	ssize_t n;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) != 0 || (pid = fork()) < 0) {
		perror("phiguardd: daemonize");
		return PG_ERR_IO;
	}
	if (pid > 0) {
		close(pfd[1]);
		do
			n = read(pfd[0], &status, 1);
		while (n < 0 && errno == EINTR);
		if (n != 1 || status != 0)
			fprintf(stderr, "phiguardd: failed to start; see the "
			                "system log\n");
		_exit(n == 1 && status == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
	}
	close(pfd[0]);
	if (setsid() < 0 || (pid = fork()) < 0)
		_exit(EXIT_FAILURE);
	if (pid > 0)
		_exit(EXIT_SUCCESS);
	if (chdir("/") != 0)
		_exit(EXIT_FAILURE);
	if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	*notify = pfd[1];
	return 0;
}

static void notify_parent(int *notify, char status)
{
	if (*notify < 0)
		return;
	if (write(*notify, &status, 1) != 1)
		log_warn("notifying the parent process");
	close(*notify);
	*notify = -1;
}

static int pidfile_write(const char *path)
{
	int fd, rc = PG_ERR_IO;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	          0644);
	if (fd < 0 || dprintf(fd, "%ld\n", (long)getpid()) < 0)
		log_err("pidfile %s", path);
	else
		rc = 0;
	if (fd >= 0)
		close(fd);
	return rc;
}

/*
 * Become [daemon] user for good, after the socket is bound and the state
 * directory is open. Checked afterwards as OpenSSH does: getting root back
 * must fail.
 */
static int drop_privileges(const char *user)
{
	uid_t uid;
	gid_t gid;
	int rc;

	if (user[0] == '\0')
		return 0;
	if (geteuid() != 0) {
		log_info("not started as root: [daemon] user = %s not applied",
		         user);
		return 0;
	}
	if ((rc = peer_user_ids(user, &uid, &gid)) != 0) {
		log_errx("[daemon] user = %s: %s", user,
		         rc == PG_ERR_NOTFOUND ? "no such user"
		                               : pg_strerror(rc));
		return PG_ERR_CONFIG;
	}
	if (initgroups(user, gid) != 0 || setresgid(gid, gid, gid) != 0 ||
	    setresuid(uid, uid, uid) != 0) {
		log_err("dropping privileges to %s", user);
		return PG_ERR_IO;
	}
	if (uid != 0 && (setuid(0) != -1 || seteuid(0) != -1)) {
		log_errx("could regain root after dropping privileges");
		return PG_ERR_INTERNAL;
	}
	if (getuid() != uid || geteuid() != uid || getgid() != gid ||
	    getegid() != gid) {
		log_errx("privilege drop to %s did not take", user);
		return PG_ERR_INTERNAL;
	}
	log_info("running as %s (uid %u, gid %u)", user, (unsigned)uid,
	         (unsigned)gid);
	return 0;
}

/* A failing state log is retried on its own schedule (statelog.h), from
 * the tick: have the server wake for it. */
static void wake_for_state(struct pg_daemon *d)
{
	int64_t at = statelog_retry_at(d->log), now = (int64_t)time(NULL);
	int64_t off = offline_wake_at(d, now);

	if (at != 0)
		server_wake_at(d->server, at);
	/* Site mode's kept records: saved, written back (offline.h). */
	if (off != 0)
		server_wake_at(d->server,
		               time_mono_ms() +
		                   (off > now ? off - now : 0) * 1000);
}

/* The server's hooks, bound to the daemon context. */
static int daemon_request(void *arg, const struct pg_peer *peer,
                          const char *line, size_t len, char *out, size_t outsz,
                          size_t *outlen)
{
	int rc = dispatch_line(arg, peer, line, len, out, outsz, outlen);

	wake_for_state(arg);
	return rc;
}

static void on_authz_done(void *arg)
{
	authz_drain(arg);
}

static void on_authz_timer(void *arg)
{
	authz_tick(arg);
}

/* Authorization for conf, its parked requests completed through dispatch
 * and its descriptors watched by the loop. 0, or as authz_new(). */
static int start_authz(struct pg_daemon *d, const struct pg_conf *conf,
                       char *err, size_t errlen)
{
	struct pg_completion done;
	struct pg_authz *a;
	int rc;

	dispatch_completion(d, &done);
	if ((rc = authz_new(conf, &done, &a, err, errlen)) != 0)
		return rc;
	if ((rc = server_watch(d->server, authz_done_fd(a), on_authz_done,
	                       a)) != 0 ||
	    (rc = server_watch(d->server, authz_timer_fd(a), on_authz_timer,
	                       a)) != 0) {
		authz_free(a);
		return rc;
	}
	d->authz = a;
	return 0;
}

static void on_tokens_done(void *arg)
{
	struct pg_daemon *d = arg;

	if (d->tokens == NULL)
		return;
	tokstore_drain(d->tokens);
	wake_for_state(d);
}

/* The token store in the directory ([tokens] store = ldap), its jobs
 * finished on the loop. 0, or as tokstore_new(). */
static int start_tokens(struct pg_daemon *d, const struct pg_conf *conf,
                        char *err, size_t errlen)
{
	struct pg_tokstore *ts;
	int rc;

	if ((rc = tokstore_new(conf, &ts, err, errlen)) != 0)
		return rc;
	if ((rc = server_watch(d->server, tokstore_fd(ts), on_tokens_done,
	                       d)) != 0) {
		tokstore_free(ts);
		return rc;
	}
	d->tokens = ts;
	return 0;
}

/* The token store of a reloaded configuration: new settings, started,
 * or stopped. */
static int reload_tokens(struct pg_daemon *d, const struct pg_conf *nc,
                         char *err, size_t errlen)
{
	if (nc->store != PG_TOKEN_STORE_LDAP) {
		tokstore_free(d->tokens);
		d->tokens = NULL;
		return 0;
	}
	return d->tokens != NULL
	           ? tokstore_reconfigure(d->tokens, nc, err, errlen)
	           : start_tokens(d, nc, err, errlen);
}

/*
 * RELOAD and SIGHUP: parse into a new configuration and swap only if all
 * of it is good. The policy, cache and directory settings apply at once;
 * [daemon] and [totp] keep their startup values until a restart.
 */
struct reloader {
	const char *path;
	struct pg_conf *current; /* NULL while the startup one is in force */
};

static int daemon_reload(struct pg_daemon *d, char *err, size_t errlen)
{
	struct reloader *r = d->reload_arg;
	char why[PG_CONF_ERRLEN];
	struct pg_conf *nc;
	int rc = PG_ERR_NOMEM;

	if ((nc = malloc(sizeof(*nc))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", r->path);
		goto out;
	}
	conf_defaults(nc);
	if ((rc = conf_load(r->path, geteuid() == 0, nc, err, errlen)) != 0)
		goto out;
	if (nc->ldap) {
		rc = d->authz != NULL
		         ? authz_reconfigure(d->authz, nc, why, sizeof(why))
		         : start_authz(d, nc, why, sizeof(why));
		if (rc != 0) {
			snprintf(err, errlen, "%s: %s", r->path,
			         rc == PG_ERR_CONFIG ? why : pg_strerror(rc));
			goto out;
		}
	} else if (d->authz != NULL) {
		authz_free(d->authz);
		d->authz = NULL;
	}
	if ((rc = reload_tokens(d, nc, why, sizeof(why))) != 0) {
		snprintf(err, errlen, "%s: %s", r->path,
		         rc == PG_ERR_CONFIG ? why : pg_strerror(rc));
		goto out;
	}
	/* conf_load() has checked [detect] against detect.h's ranges, so
	 * this cannot fail after authz took the new config. */
	if ((rc = alert_reconfigure(d->alert, nc, err, errlen)) != 0)
		goto out;
	log_info("configuration reloaded from %s%s", r->path,
	         nc->ldap ? "" : " (no [ldap]: authorization off)");
	free(r->current);
	r->current = nc;
	d->conf = nc;
	nc = NULL;
	rc = 0;
out:
	if (rc != 0)
		log_errx("bad config refused, old kept: %s", err);
	free(nc);
	return rc;
}

static void daemon_sighup(void *arg)
{
	struct pg_daemon *d = arg;
	char err[PG_CONF_ERRLEN], why[PG_CONF_ERRLEN + 16];

	/* Refusals are logged by daemon_reload; RELOAD requests are
	 * audited by dispatch, the signal here. */
	if (d->reload(d, err, sizeof(err)) == 0)
		dispatch_audit_event(d, "reload", "allow", "sighup");
	else {
		snprintf(why, sizeof(why), "sighup: %s", err);
		dispatch_audit_event(d, "reload", "deny", why);
	}
}

static void daemon_sigusr1(void *arg)
{
	struct pg_daemon *d = arg;

	if (d->audit == NULL || audit_rotate(d->audit, 0, -1, "signal") != 0)
		log_warnx("SIGUSR1: an audit rotation is already pending");
}

/* [audit] as the writer takes it; host as the policy sees it. */
static void on_audit_news(void *arg)
{
	audit_drain(arg);
}

/* The state log's writer has made a batch durable (or failed it). */
static void on_state_committed(void *arg)
{
	struct pg_daemon *d = arg;

	statelog_drain(d->log, d->state, (int64_t)time(NULL));
	wake_for_state(d);
}

/* Group commit of the state log: its writer thread, its requests
 * completed through dispatch and its eventfd watched by the loop. */
static int start_statelog_writer(struct pg_daemon *d)
{
	struct pg_completion done;

	dispatch_completion(d, &done);
	if (statelog_start(d->log, &done) != 0 ||
	    server_watch(d->server, statelog_fd(d->log), on_state_committed,
	                 d) != 0) {
		log_errx("cannot start the state log writer");
		return PG_ERR_IO;
	}
	return 0;
}

static int start_audit(const struct pg_conf *conf, struct pg_daemon *d)
{
	struct pg_completion done;
	struct audit_params p;
	char host[256];

	if (conf->hostname[0] != '\0')
		snprintf(host, sizeof(host), "%s", conf->hostname);
	else if (gethostname(host, sizeof(host)) != 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	p.file = conf->audit_file;
	p.sync_always = conf->audit_sync == CONF_AUDIT_SYNC_ALWAYS;
	p.fail_deny = conf->audit_failure == CONF_AUDIT_FAILURE_DENY;
	p.rotate_size = conf->audit_rotate_size;
	p.head_interval = conf->audit_head_interval;
	p.host = host;
	dispatch_completion(d, &done);
	if (audit_new(&p, &done, &d->audit) != 0 ||
	    server_watch(d->server, audit_fd(d->audit), on_audit_news,
	                 d->audit) != 0) {
		log_errx("cannot start the audit trail writer");
		return PG_ERR_IO;
	}
	return 0;
}

static void daemon_tick(void *arg)
{
	struct pg_daemon *d = arg;
	int64_t now = (int64_t)time(NULL);
	size_t n = state_sweep(d->state, now);

	if (n > 0)
		log_debug("forgot %zu idle user(s)", n);
	(void)statelog_retry(d->log, d->state, now);
	offline_tick(d, now);
	wake_for_state(d);
	alert_tick(d->alert, now);
}

/* Before the clients are closed: the state log writer's last batch, so
 * that a login in progress at shutdown is answered. */
static void daemon_stopping(void *arg)
{
	struct pg_daemon *d = arg;

	statelog_stop(d->log, d->state, (int64_t)time(NULL));
}

static int run(const struct pg_conf *conf, const struct options *o)
{
	const struct pg_state_limits lim = {
	    (unsigned)conf->max_failures,
	    conf->failure_window,
	    conf->lockout,
	    (unsigned)conf->push_max_unanswered,
	};
	const struct pg_server_params params = {
	    conf->socket,
	    (size_t)conf->max_clients,
	    (int)conf->client_timeout * 1000,
	};
	struct pg_server_hooks hooks = {daemon_request, daemon_tick,
	                                daemon_sighup,  NULL,
	                                daemon_sigusr1, daemon_stopping};
	struct reloader reloader = {o->config, NULL};
	struct pg_state *st = NULL;
	struct pg_statelog *slog = NULL;
	struct pg_server *srv = NULL;
	struct pg_daemon d;
	char err[PG_CONF_ERRLEN];
	uid_t owners[PG_CLIENT_DAEMON_UIDS];
	size_t n_owners = pg_client_daemon_uids(conf->user, owners);
	int rc = EXIT_FAILURE, notify = -1, have_pidfile = 0, recovered;

	memset(&d, 0, sizeof(d));
	d.agg_timer = -1;
	/* Files get the modes we ask for (state 0600, pidfile 0644). */
	umask(022);
	if (!o->foreground && daemonize(&notify) != 0)
		return EXIT_FAILURE;
	log_init("phiguardd", o->foreground,
	         o->debug ? PG_LOG_DEBUG : (enum pg_log_level)conf->log_level);

	if (state_new(&lim, &st) != 0) {
		log_errx("cannot create the state table");
		goto out;
	}
	if (statelog_new(conf->state_dir, owners, n_owners, &slog, err,
	                 sizeof(err)) != 0) {
		log_errx("state_dir: %s", err);
		goto out;
	}
	if (check_audit_dir(conf->audit_file, owners, n_owners, err,
	                    sizeof(err)) != 0) {
		log_errx("audit_file: %s", err);
		goto out;
	}
	d.conf = conf;
	d.state = st;
	d.log = slog;
	hooks.arg = &d;
	if (server_new(&params, &hooks, &srv) != 0)
		goto out;
	d.server = srv;
	d.reload = daemon_reload;
	d.reload_arg = &reloader;
	if (conf->ldap && start_authz(&d, conf, err, sizeof(err)) != 0) {
		log_errx("%s: %s", o->config, err);
		goto out;
	}
	if (conf->store == PG_TOKEN_STORE_LDAP &&
	    start_tokens(&d, conf, err, sizeof(err)) != 0) {
		log_errx("%s: [tokens] store = ldap: %s", o->config, err);
		goto out;
	}
	if (conf->pidfile[0] != '\0') {
		if (pidfile_write(conf->pidfile) != 0)
			goto out;
		have_pidfile = 1;
	}
	if (drop_privileges(conf->user) != 0)
		goto out;
	/* Replayed as the final user, so every file it writes is one that
	 * user can rewrite at the next compaction. */
	if (statelog_load(slog, st, (int64_t)time(NULL), &recovered) != 0) {
		log_errx("cannot load or rewrite the state log in %s; not "
		         "serving",
		         conf->state_dir);
		goto out;
	}
	/* Opened as the final user too: rotation creates files. */
	if (start_statelog_writer(&d) != 0 || start_audit(conf, &d) != 0 ||
	    alert_new(conf, d.audit, &d.alert) != 0 ||
	    dispatch_start_aggregation(&d) != 0)
		goto out;
	dispatch_audit_event(&d, "daemon-start", NULL,
	                     recovered ? "state-recovered" : NULL);
	log_info("phiguardd %s serving on %s%s", PACKAGE_VERSION, conf->socket,
	         recovered ? " (state recovered)" : "");
	notify_parent(&notify, 0);
	if (server_run(srv) != 0)
		goto out;
	/* Every change is already durable (daemon_stopping); this only
	 * leaves a short log. */
	statelog_compact(slog, st, (int64_t)time(NULL));
	rc = EXIT_SUCCESS;
out:
	notify_parent(&notify, 1);
	if (have_pidfile && unlink(conf->pidfile) != 0)
		log_debug("cannot remove pidfile %s: %s", conf->pidfile,
		          strerror(errno));
	/* The aggregates still counting, then the stop, then the head. */
	dispatch_stop_aggregation(&d);
	if (d.audit != NULL)
		dispatch_audit_event(&d, "daemon-stop", NULL,
		                     rc == EXIT_SUCCESS ? NULL : "error");
	/* Parked clients get their answers (and records) first. */
	authz_free(d.authz);
	tokstore_free(d.tokens);
	alert_free(d.alert);
	d.alert = NULL;
	audit_free(d.audit);
	dispatch_free_parked(&d);
	server_free(srv);
	free(reloader.current);
	statelog_free(slog);
	state_free(st);
	log_info("phiguardd stopped%s", rc == EXIT_SUCCESS ? "" : " on error");
	return rc;
}

int main(int argc, char **argv)
{
	struct options o;
	struct pg_conf conf;
	char err[PG_CONF_ERRLEN];
	int rc;

	memset(&o, 0, sizeof(o));
	if ((rc = parse_options(argc, argv, &o)) >= 0)
		return rc;
	conf_defaults(&conf);
	/* Root must only trust a root-owned config; tests run unprivileged. */
	rc = conf_load(o.config, geteuid() == 0, &conf, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "%s\n", err);
		return EXIT_FAILURE;
	}
	if (o.check_config) {
		if (check_environment(o.config, &conf) != 0)
			return EXIT_FAILURE;
		printf("%s: OK\n", o.config);
		return EXIT_SUCCESS;
	}
	if (o.dump_config) {
		conf_dump(&conf, stdout);
		return EXIT_SUCCESS;
	}
	return run(&conf, &o);
}
