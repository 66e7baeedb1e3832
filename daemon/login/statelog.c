/* SPDX-License-Identifier: BSD-3-Clause */
/* The state log: durable append of per-user records, replay with torn and
 * damaged record handling, and compaction by atomic rewrite. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/pending.h"
#include "err.h"
#include "fileio.h"
#include "log.h"
#include "login/commitq.h"
#include "safefile.h"
#include "strbuf.h"
#include "login/statelog.h"
#include "timeutil.h"
#include "username.h"

#define STATELOG_TMP      PG_STATELOG_FILE ".tmp"
#define STATELOG_HEADER   "phiguard-state 1"
#define STATELOG_MAX_LINE 65536
/* "U" + name + 4 numbers + the failure times + " P" + 2 numbers + the push
 * times, 21 bytes per number at most, + " N" + " crc\n": the longest
 * record we write must fit. */
_Static_assert(4 + PG_USER_MAX + 21 * (6 + 2 * PG_STATE_MAX_FAILURES) + 2 + 11 <
                   STATELOG_MAX_LINE,
               "STATELOG_MAX_LINE too small for a full U record");
/* Append until the log is twice its compacted size plus this, then
 * compact: bounded growth without rewriting on every change. */
#define STATELOG_SLACK (1024 * 1024)
#define STATELOG_CHUNK 65536
/* Damaged lines reported one by one before going quiet. */
#define STATELOG_REPORT_MAX 10
/* While the log cannot be written, the pause before each new attempt:
 * doubling from the first to the last. An attempt rewrites the whole log,
 * so trying at every request would only add I/O to a full disk. */
#define STATELOG_RETRY_FIRST_MS 1000
#define STATELOG_RETRY_MAX_MS   16000

/* A growth compaction on the writer thread (commitq.h's rewrite item):
 * the snapshot in buf, written by the writer as the new log. */
struct rewrite {
	struct commitq_item item; /* first: commitq hands it back */
	int dirfd;                /* the log's, for the writer */
	const char *dir;          /* the log's, for its messages */
	const char *what;         /* the step that failed, by the writer */
	char *buf;                /* the snapshot, item.rec */
};

struct pg_statelog {
	int dirfd;
	int fd;           /* state.log for appending; -1 until loaded */
	char *dir;        /* for messages */
	off_t size;       /* bytes of whole records in state.log */
	off_t compacted;  /* its size right after the last compaction */
	int broken;       /* an append failed: compact before the next one */
	int failed;       /* the last append or compaction failed */
	char reason[128]; /* of the failure, for STATUS */
	int64_t retry_at; /* time_mono_ms() of the next attempt */
	int retry_ms;     /* the pause before retry_at */
	char line[STATELOG_MAX_LINE];
	int64_t fail[PG_STATE_MAX_FAILURES]; /* replay scratch */
	int64_t push[PG_STATE_MAX_FAILURES]; /* replay scratch */
	/* The writer (statelog_start), or NULL: statelog_record writes
	 * itself. The fields below are the loop's; the writer only sees
	 * what commitq hands it. */
	struct commitq *q;
	struct pg_completion done;
	struct rewrite rw;
	int rewriting; /* rw is queued or being written: at most one */
	/* Syncs that made parked records durable (a batch's fdatasync, or
	 * a compaction that carried some), and those records. */
	uint64_t commits;
	uint64_t records;
};

/* A record waiting for the writer, and the answer of its request. */
struct parked {
	struct commitq_item item; /* first: commitq hands it back */
	uint64_t ticket;
	int answers;                 /* 0: statelog_submit_then's, no answer */
	struct statelog_after after; /* fn NULL: none */
	struct pg_msg resp;
	char rec[];
};

/* CRC-32/ISO-HDLC (the zlib one), a byte at a time: a compaction on the
 * loop seals one record per user, and bit by bit that was a third of its
 * time. The table is made once (pthread_once: the loop and the tests). */
static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_make_table(void)
{
	uint32_t c, i;
	int k;

	for (i = 0; i < 256; i++) {
		c = i;
		for (k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
		crc_table[i] = c;
	}
}

static uint32_t crc32_ieee(const char *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	size_t i;

	pthread_once(&crc_once, crc_make_table);
	for (i = 0; i < n; i++)
		c = (c >> 8) ^ crc_table[(c ^ (unsigned char)p[i]) & 0xffu];
	return ~c;
}

/* Append " <crc>\n" to the record sb builds in line; the record's length,
 * or 0 if it did not fit (cannot happen within the static limits). */
static size_t seal(struct strbuf *sb, const char *line)
{
	static const char hex[] = "0123456789abcdef";
	char crc[10];
	uint32_t c;
	int i;

	if (strbuf_finish(sb) != 0)
		return 0;
	c = crc32_ieee(line, strbuf_len(sb));
	crc[0] = ' ';
	for (i = 8; i >= 1; i--, c >>= 4)
		crc[i] = hex[c & 0xfu];
	crc[9] = '\n';
	strbuf_put(sb, crc, 10);
	return strbuf_finish(sb) == 0 ? strbuf_len(sb) : 0;
}

static uint64_t nonneg(int64_t t)
{
	return t < 0 ? 0 : (uint64_t)t;
}

/* " <number>", never negative. */
static void put_num(struct strbuf *sb, int64_t v)
{
	strbuf_putc(sb, ' ');
	strbuf_put_u64(sb, nonneg(v));
}

/* Append " <n> <t1> ... <tn>". */
static void fmt_times(struct strbuf *sb, const int64_t *t, size_t n)
{
	size_t i;

	strbuf_putc(sb, ' ');
	strbuf_put_u64(sb, n);
	for (i = 0; i < n; i++)
		put_num(sb, t[i]);
}

static size_t fmt_user(char *line, const struct pg_user_rec *r)
{
	struct strbuf sb;

	strbuf_init(&sb, line, STATELOG_MAX_LINE);
	strbuf_puts(&sb, "U ");
	strbuf_puts(&sb, r->user);
	strbuf_putc(&sb, ' ');
	strbuf_put_u64(&sb, r->last_step);
	put_num(&sb, r->claimed_at);
	put_num(&sb, r->locked_until);
	fmt_times(&sb, r->fail, r->nfail);
	if (r->push_until > 0 || r->npush > 0) {
		strbuf_puts(&sb, " P");
		put_num(&sb, r->push_until);
		fmt_times(&sb, r->push, r->npush);
	}
	if (r->unenrolled)
		strbuf_puts(&sb, " N");
	return seal(&sb, line);
}

static size_t fmt_recovery(char *line, uint64_t floor, int64_t until)
{
	struct strbuf sb;

	strbuf_init(&sb, line, STATELOG_MAX_LINE);
	strbuf_puts(&sb, "R ");
	strbuf_put_u64(&sb, floor);
	put_num(&sb, until);
	return seal(&sb, line);
}

static size_t fmt_header(char *line)
{
	struct strbuf sb;

	strbuf_init(&sb, line, STATELOG_MAX_LINE);
	strbuf_puts(&sb, STATELOG_HEADER);
	return seal(&sb, line);
}

/* Open dir as safefile_open_dir does; "path: reason" in err. */
static int open_dir(const char *dir, const uid_t *owners, size_t n_owners,
                    int *fd_out, char *err, size_t errlen)
{
	/* Whoever can change this directory can erase replay protection. */
	if (safefile_open_dir(dir, owners, n_owners, fd_out, err, errlen) != 0)
		return PG_ERR_CONFIG;
	return 0;
}

int statelog_check_dir(const char *dir, const uid_t *owners, size_t n_owners,
                       char *err, size_t errlen)
{
	int fd, rc;

	if ((rc = open_dir(dir, owners, n_owners, &fd, err, errlen)) == 0)
		close(fd);
	return rc;
}

int statelog_new(const char *dir, const uid_t *owners, size_t n_owners,
                 struct pg_statelog **out, char *err, size_t errlen)
{
	int rc = PG_ERR_NOMEM;
	struct pg_statelog *log;

	if ((log = calloc(1, sizeof(*log))) == NULL)
		goto out;
	log->dirfd = -1;
	log->fd = -1;
	if ((log->dir = strdup(dir)) == NULL)
		goto out;
	if ((rc = open_dir(dir, owners, n_owners, &log->dirfd, err, errlen)) !=
	    0)
		goto out;
	*out = log;
	log = NULL;
	rc = 0;
out:
	if (rc == PG_ERR_NOMEM)
		snprintf(err, errlen, "%s: out of memory", dir);
	statelog_free(log);
	return rc;
}

/* Free the parked records of a list, each after its after hook (rc: how
 * its request was answered, PG_ERR_INTERNAL if it was not). */
static void drop(struct commitq_item *it, int rc)
{
	struct commitq_item *next;
	struct parked *p;

	for (; it != NULL; it = next) {
		next = it->next;
		p = (struct parked *)it;
		if (p->after.fn != NULL)
			p->after.fn(p->after.arg, rc);
		proto_msg_clear(&p->resp);
		free(p);
	}
}

/* Strict unsigned decimal: digits only, no overflow, at most max. */
static int parse_num(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t n = 0;
	unsigned d;

	if (s == NULL || *s == '\0')
		return PG_ERR_INVAL;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return PG_ERR_INVAL;
		d = (unsigned)(*s - '0');
		if (d > max || n > (max - d) / 10)
			return PG_ERR_INVAL;
		n = n * 10 + d;
	}
	*out = n;
	return 0;
}

/* The next space-separated field of *p, or NULL at the end. An empty
 * field (two spaces) is returned as "" and fails the parsers. */
static const char *field(char **p)
{
	return *p != NULL ? strsep(p, " ") : NULL;
}

static int parse_time(char **p, int64_t *out)
{
	uint64_t v;

	if (parse_num(field(p), INT64_MAX, &v) != 0)
		return PG_ERR_INVAL;
	*out = (int64_t)v;
	return 0;
}

/* "<n> <t1> ... <tn>" into t (PG_STATE_MAX_FAILURES slots). */
static int parse_times(char **p, int64_t *t, size_t *n_out)
{
	uint64_t n;
	size_t i;

	if (parse_num(field(p), PG_STATE_MAX_FAILURES, &n) != 0)
		return PG_ERR_INVAL;
	for (i = 0; i < n; i++)
		if (parse_time(p, &t[i]) != 0)
			return PG_ERR_INVAL;
	*n_out = (size_t)n;
	return 0;
}

/*
 * Apply one record (NUL-terminated, crc and "\n" already removed).
 * PG_ERR_INVAL means damage; other errors are our own failures.
 */
static int apply_record(struct pg_statelog *log, struct pg_state *st, char *rec)
{
	char *p = rec;
	const char *type = field(&p);
	struct pg_user_rec u;
	uint64_t floor;
	int64_t until;

	if (strcmp(type, "R") == 0) {
		if (parse_num(field(&p), UINT64_MAX, &floor) != 0 ||
		    parse_time(&p, &until) != 0 || p != NULL)
			return PG_ERR_INVAL;
		state_set_recovery(st, floor, until);
		return 0;
	}
	if (strcmp(type, "U") != 0)
		return PG_ERR_INVAL;
	memset(&u, 0, sizeof(u));
	u.user = field(&p);
	if (u.user == NULL || username_check(u.user) != 0 ||
	    parse_num(field(&p), UINT64_MAX, &u.last_step) != 0 ||
	    parse_time(&p, &u.claimed_at) != 0 ||
	    parse_time(&p, &u.locked_until) != 0 ||
	    parse_times(&p, log->fail, &u.nfail) != 0)
		return PG_ERR_INVAL;
	u.fail = log->fail;
	u.push = log->push;
	type = field(&p);
	if (type != NULL && strcmp(type, "P") == 0) {
		if (parse_time(&p, &u.push_until) != 0 ||
		    parse_times(&p, log->push, &u.npush) != 0)
			return PG_ERR_INVAL;
		type = field(&p);
	}
	if (type != NULL && strcmp(type, "N") == 0) {
		u.unenrolled = 1;
		type = field(&p);
	}
	if (type != NULL)
		return PG_ERR_INVAL;
	return state_put(st, &u);
}

/* Exactly 8 lower-case hex digits, as seal() writes them. */
static int parse_crc(const char *s, uint32_t *out)
{
	uint32_t v = 0;
	int i;

	for (i = 0; i < 8; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			v = v << 4 | (uint32_t)(s[i] - '0');
		else if (s[i] >= 'a' && s[i] <= 'f')
			v = v << 4 | (uint32_t)(s[i] - 'a' + 10);
		else
			return PG_ERR_INVAL;
	}
	*out = v;
	return s[8] == '\0' ? 0 : PG_ERR_INVAL;
}

/* Check the crc of one whole line (len bytes with "\n") and apply it;
 * lineno 1 must be the header and only it. */
static int apply_line(struct pg_statelog *log, struct pg_state *st, char *line,
                      size_t len, size_t lineno)
{
	uint32_t crc;

	if (len < 11 || len > STATELOG_MAX_LINE ||
	    memchr(line, '\0', len) != NULL)
		return PG_ERR_INVAL;
	len--; /* the "\n" */
	line[len] = '\0';
	len -= 9;
	if (line[len] != ' ' || parse_crc(line + len + 1, &crc) != 0 ||
	    crc != crc32_ieee(line, len))
		return PG_ERR_INVAL;
	line[len] = '\0';
	if (lineno == 1)
		return strcmp(line, STATELOG_HEADER) == 0 ? 0 : PG_ERR_INVAL;
	return apply_record(log, st, line);
}

/* Replay the open state.log in fd (taken over). *damaged set on damage. */
static int replay(struct pg_statelog *log, struct pg_state *st, int fd,
                  int *damaged)
{
	int rc = PG_ERR_NOMEM, r;
	size_t cap = 0, lineno = 0, bad = 0;
	char *buf = NULL;
	struct stat sb;
	FILE *f = NULL;
	ssize_t n;

	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		log_errx("%s/%s: not a regular file", log->dir,
		         PG_STATELOG_FILE);
		*damaged = 1;
		close(fd);
		return 0;
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		close(fd);
		goto out;
	}
	while ((n = getline(&buf, &cap, f)) > 0) {
		lineno++;
		if (buf[n - 1] != '\n') {
			/* getline only returns a line without "\n" at EOF:
			 * the process died inside a write. That record was
			 * never acknowledged, so dropping it loses nothing. */
			log_info("%s/%s: line %zu: torn final record ignored",
			         log->dir, PG_STATELOG_FILE, lineno);
			break;
		}
		r = apply_line(log, st, buf, (size_t)n, lineno);
		if (r == PG_ERR_INVAL) {
			if (++bad <= STATELOG_REPORT_MAX)
				log_errx("%s/%s: line %zu: damaged record",
				         log->dir, PG_STATELOG_FILE, lineno);
			*damaged = 1;
		} else if (r != 0) {
			rc = r;
			goto out;
		}
	}
	if (ferror(f)) {
		log_err("%s/%s: read error", log->dir, PG_STATELOG_FILE);
		*damaged = 1;
	}
	rc = 0;
out:
	free(buf);
	if (f != NULL)
		fclose(f);
	return rc;
}

/* Keep the damaged log for the admin as state.log.corrupt-<now>[.N]: a
 * hard link, so state.log itself stays until the compacted one replaces
 * it atomically and no crash can leave us with no log (= a fresh start). */
static void keep_aside(struct pg_statelog *log, int64_t now)
{
	char name[96];
	int i;

	for (i = 0; i < 100; i++) {
		if (i == 0)
			snprintf(name, sizeof(name), "%s.corrupt-%" PRId64,
			         PG_STATELOG_FILE, now);
		else
			snprintf(name, sizeof(name),
			         "%s.corrupt-%" PRId64 ".%d", PG_STATELOG_FILE,
			         now, i);
		if (linkat(log->dirfd, PG_STATELOG_FILE, log->dirfd, name, 0) ==
		    0) {
			log_errx("%s/%s: kept as %s", log->dir,
			         PG_STATELOG_FILE, name);
			return;
		}
		if (errno != EEXIST)
			break;
	}
	log_err("%s/%s: could not keep a copy of the damaged log", log->dir,
	        PG_STATELOG_FILE);
}

int statelog_load(struct pg_statelog *log, struct pg_state *st, int64_t now,
                  int *recovered)
{
	int rc, fd, damaged = 0;
	uint64_t floor;
	int64_t until;

	fd = openat(log->dirfd, PG_STATELOG_FILE,
	            O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0 && errno != ENOENT) {
		log_err("%s/%s: cannot open", log->dir, PG_STATELOG_FILE);
		damaged = 1;
	}
	if (fd >= 0 && (rc = replay(log, st, fd, &damaged)) != 0)
		goto out;
	if (damaged) {
		keep_aside(log, now);
		state_begin_recovery(st, now);
		state_recovery(st, now, &floor, &until);
		log_errx("state log damaged: recovery mode: TOTP steps up to "
		         "%" PRIu64 " are refused, and users without a valid "
		         "record are locked out until %" PRId64
		         " unless an admin unlocks them",
		         floor, until);
	}
	state_sweep(st, now);
	if ((rc = statelog_compact(log, st, now)) != 0)
		goto out;
	*recovered = damaged;
	rc = 0;
out:
	return rc;
}

/*
 * Enter (or stay in) the failed state after what failed with errno err:
 * logged once per outage, not per attempt (STATUS has it meanwhile), and
 * the next attempt put off.
 */
static void set_failed(struct pg_statelog *log, const char *what, int err)
{
	snprintf(log->reason, sizeof(log->reason), "%s: %s", what,
	         strerror(err));
	if (!log->failed) {
		log_errx("state log %s/%s cannot be written (%s): changes of "
		         "the login state are refused until it can; retrying",
		         log->dir, PG_STATELOG_FILE, log->reason);
		log->failed = 1;
		log->retry_ms = STATELOG_RETRY_FIRST_MS;
	} else {
		if (log->retry_ms < STATELOG_RETRY_MAX_MS / 2)
			log->retry_ms *= 2;
		else
			log->retry_ms = STATELOG_RETRY_MAX_MS;
		log_debug("state log retry failed (%s); next in %d ms",
		          log->reason, log->retry_ms);
	}
	log->retry_at = time_mono_ms() + log->retry_ms;
}

static void set_ok(struct pg_statelog *log)
{
	if (log->failed)
		log_notice("state log %s/%s writable again", log->dir,
		           PG_STATELOG_FILE);
	log->failed = 0;
	log->reason[0] = '\0';
}

/* The whole log being built in memory (snapshot). */
struct image {
	struct pg_statelog *log; /* its line: the record being added */
	char *buf;
	size_t len, cap;
};

/* Add the n-byte record in log->line (0: it did not fit). */
static int image_put(struct image *im, size_t n)
{
	size_t cap = im->cap > 0 ? im->cap : STATELOG_CHUNK;
	char *p;

	if (n == 0)
		return PG_ERR_INTERNAL;
	while (cap - im->len < n)
		cap *= 2;
	if (cap != im->cap) {
		if ((p = realloc(im->buf, cap)) == NULL)
			return PG_ERR_NOMEM;
		im->buf = p;
		im->cap = cap;
	}
	memcpy(im->buf + im->len, im->log->line, n);
	im->len += n;
	return 0;
}

static int image_user(const struct pg_user_rec *rec, void *arg)
{
	struct image *im = arg;

	return image_put(im, fmt_user(im->log->line, rec));
}

/*
 * The compacted log of st at now: the header, the recovery line if one is
 * in force, and one U record per user. In *buf (malloc'd, the caller's)
 * and *len. Returns 0, PG_ERR_NOMEM or PG_ERR_INTERNAL (*buf NULL).
 */
static int snapshot(struct pg_statelog *log, const struct pg_state *st,
                    int64_t now, char **buf, size_t *len)
{
	struct image im = {log, NULL, 0, 0};
	uint64_t floor;
	int64_t until;
	int rc;

	if ((rc = image_put(&im, fmt_header(log->line))) != 0 ||
	    (state_recovery(st, now, &floor, &until) &&
	     (rc = image_put(&im, fmt_recovery(log->line, floor, until))) !=
	         0) ||
	    (rc = state_foreach(st, image_user, &im)) != 0) {
		free(im.buf);
		*buf = NULL;
		return rc;
	}
	*buf = im.buf;
	*len = im.len;
	return 0;
}

/*
 * Replace state.log in dirfd (dir: its name, for messages) by the len
 * bytes at buf, atomically: state.log.tmp, fsync, rename over state.log,
 * fsync the directory. Returns 0 with the new log open for appending in
 * *fd; or PG_ERR_IO with the step that failed in *what and its errno in
 * *err, state.log untouched. The one way a whole log is written: on the
 * loop (statelog_compact) and on the writer thread (rewrite_on_writer),
 * so it touches nothing but the directory.
 */
static int replace_log(int dirfd, const char *dir, const char *buf, size_t len,
                       int *fd, const char **what, int *err)
{
	enum fileio_step failed;
	int tmp = -1;

	/* Start from nothing: a left-over temp file is from a crash. */
	*what = "unlink " STATELOG_TMP;
	if (unlinkat(dirfd, STATELOG_TMP, 0) != 0 && errno != ENOENT)
		goto fail;
	*what = "create " STATELOG_TMP;
	tmp = openat(dirfd, STATELOG_TMP,
	             O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC |
	                 O_NOFOLLOW,
	             0600);
	if (tmp < 0)
		goto fail;
	*what = "write";
	if (fileio_write_all(tmp, buf, len) != 0)
		goto fail;
	if (fileio_commit(tmp, dirfd, STATELOG_TMP, PG_STATELOG_FILE,
	                  &failed) != 0) {
		*what = failed == FILEIO_STEP_RENAME ? "rename" : "fsync";
		if (failed != FILEIO_STEP_FSYNC_DIR)
			goto fail;
		/* The new log is in place and in use; only a crash could
		 * still undo the rename. */
		log_warn("%s: fsync", dir);
	}
	*fd = tmp;
	return 0;
fail:
	*err = errno;
	if (tmp >= 0) {
		unlinkat(dirfd, STATELOG_TMP, 0);
		close(tmp);
	}
	return PG_ERR_IO;
}

/* The log is now the len bytes replace_log wrote, open as fd. */
static void adopt(struct pg_statelog *log, int fd, size_t len)
{
	if (log->fd >= 0)
		close(log->fd);
	log->fd = fd;
	log->size = log->compacted = (off_t)len;
	log->broken = 0;
	set_ok(log);
}

/* A rewrite failed at what with errno err; the previous log is intact. */
static void rewrite_failed(struct pg_statelog *log, const char *what, int err)
{
	/* Loading (no log open yet): the caller stops; serving: an outage,
	 * retried (statelog_retry). */
	if (log->fd < 0)
		log_errx("%s/%s: compaction failed: %s: %s", log->dir,
		         PG_STATELOG_FILE, what, strerror(err));
	else
		set_failed(log, what, err);
}

int statelog_compact(struct pg_statelog *log, const struct pg_state *st,
                     int64_t now)
{
	const char *what;
	char *buf;
	size_t len;
	int rc, fd, err;

	if ((rc = snapshot(log, st, now, &buf, &len)) != 0)
		return rc;
	rc = replace_log(log->dirfd, log->dir, buf, len, &fd, &what, &err);
	if (rc == 0)
		adopt(log, fd, len);
	else
		rewrite_failed(log, what, err);
	free(buf);
	return rc;
}

/* The writer's side of a growth compaction (commitq.h's replace). */
static int rewrite_on_writer(struct commitq_item *it, int *fd, int *err)
{
	struct rewrite *rw = (struct rewrite *)it;

	return replace_log(rw->dirfd, rw->dir, it->rec, it->len, fd, &rw->what,
	                   err);
}

/*
 * Compact the grown log on the writer thread, in queue order (commitq.h):
 * only the snapshot is taken here, on the loop. Nothing acknowledged is
 * lost to a crash at any point of it:
 * - the snapshot holds all of memory at this moment T, so every record
 *   queued before it (each a user's whole state) or a later one of the
 *   same user;
 * - the records queued before T are appended and synced to the old log
 *   before the writer even creates the new one, and those after T go to
 *   the new log only once it has been renamed into place;
 * - the rename is atomic, and the only commit point: a crash before it
 *   leaves the old log, complete up to T (nothing later was written, so
 *   nothing later was answered); after it, the new one, complete up to T,
 *   with each later record once it is answered.
 * So an acknowledged change is in whichever file survives.
 */
static void start_rewrite(struct pg_statelog *log, const struct pg_state *st,
                          int64_t now)
{
	size_t len;

	if (log->rewriting || snapshot(log, st, now, &log->rw.buf, &len) != 0)
		return;
	log->rw.item.rec = log->rw.buf;
	log->rw.item.len = len;
	log->rw.item.replace = rewrite_on_writer;
	log->rw.dirfd = log->dirfd;
	log->rw.dir = log->dir;
	log->rw.what = NULL;
	log->rewriting = 1;
	commitq_push(log->q, &log->rw.item);
}

/* The rewrite is back from the writer, in queue order: from here on the
 * log is the new file, or, after a failure, still the old one. */
static void rewrite_done(struct pg_statelog *log)
{
	struct commitq_item *it = &log->rw.item;

	if (it->rc == 0) {
		log_debug("state log compacted: %zu bytes (were %jd)", it->len,
		          (intmax_t)log->size);
		adopt(log, it->fd, it->len);
	} else {
		rewrite_failed(log, log->rw.what, it->err);
	}
	free(log->rw.buf);
	log->rw.buf = NULL;
	log->rewriting = 0;
}

/* Take the rewrite out of list, if there: a rewrite the writer never took
 * (a compaction on the loop supersedes it) or, on an error exit, one it
 * did (the file it wrote is closed; it is complete). */
static void unlink_rewrite(struct pg_statelog *log, struct commitq_item **list)
{
	for (; *list != NULL; list = &(*list)->next) {
		if (*list != &log->rw.item)
			continue;
		*list = log->rw.item.next;
		if (log->rw.item.fd >= 0)
			close(log->rw.item.fd);
		free(log->rw.buf);
		log->rw.buf = NULL;
		log->rewriting = 0;
		return;
	}
}

/* The log has grown well past its compacted size. */
static int grown(const struct pg_statelog *log)
{
	return log->size > 2 * log->compacted + STATELOG_SLACK;
}

/* The last attempt failed and its pause is not over yet. */
static int retry_later(const struct pg_statelog *log)
{
	return log->failed && time_left_ms(log->retry_at) > 0;
}

/* Answer the requests of the parked records of a list: with their
 * prepared answers when rc is 0, else with the error rc. Returns how many
 * there were. */
static uint64_t complete(struct pg_statelog *log, struct commitq_item *it,
                         int rc)
{
	struct commitq_item *next;
	struct parked *p;
	uint64_t n = 0;

	for (; it != NULL; it = next, n++) {
		next = it->next;
		p = (struct parked *)it;
		if (p->answers)
			log->done.done(log->done.arg, p->ticket, rc,
			               rc == 0 ? &p->resp : NULL);
		it->next = NULL;
		drop(it, rc);
	}
	return n;
}

/* Answer parked records that a compaction carried, rc its result; if it
 * made them durable, that is one commit (STATUS). */
static void complete_compacted(struct pg_statelog *log, struct commitq_item *it,
                               int rc)
{
	uint64_t n = complete(log, it, rc);

	if (rc != 0 || n == 0)
		return;
	log->commits++;
	log->records += n;
}

/*
 * Mend the broken log on the loop, the writer out of the way: compaction
 * replaces the file it appends to. Called only while the writer holds
 * after a failed batch (idle); else PG_ERR_BUSY, and the next request or
 * tick tries again. The compacted log holds everything in memory, so it
 * makes carried (records the writer gave back: a failed batch) and the
 * records still queued durable too: their requests are answered, and a
 * rewrite still queued is superseded. A failed compaction fails them all
 * with the same error (nothing can be appended to a broken log).
 */
static int compact_paused(struct pg_statelog *log, const struct pg_state *st,
                          int64_t now, struct commitq_item *carried)
{
	struct commitq_item **tail = &carried;
	int rc;

	if (log->q == NULL)
		return statelog_compact(log, st, now);
	if (commitq_pause(log->q) != 0) {
		complete(log, carried, PG_ERR_BUSY);
		return PG_ERR_BUSY;
	}
	rc = statelog_compact(log, st, now);
	while (*tail != NULL)
		tail = &(*tail)->next;
	if (rc == 0 || log->broken) {
		*tail = commitq_take_queued(log->q);
		unlink_rewrite(log, tail);
	}
	complete_compacted(log, carried, rc);
	if (!log->broken)
		commitq_resume(log->q, log->fd);
	return rc;
}

int statelog_retry(struct pg_statelog *log, const struct pg_state *st,
                   int64_t now)
{
	if (log->fd < 0 || !(log->failed || log->broken))
		return 0;
	if (retry_later(log))
		return PG_ERR_IO;
	/* An intact log whose growth compaction failed: again on the
	 * writer, as the growth path does. */
	if (log->q != NULL && !log->broken) {
		start_rewrite(log, st, now);
		return PG_ERR_BUSY;
	}
	return compact_paused(log, st, now, NULL);
}

int64_t statelog_retry_at(const struct pg_statelog *log)
{
	/* Rewriting: statelog_drain() sets the next one when it is back;
	 * a timer now would only spin until then. */
	return log->failed && !log->rewriting ? log->retry_at : 0;
}

const char *statelog_failure(const struct pg_statelog *log)
{
	return log->failed ? log->reason : NULL;
}

int statelog_record(struct pg_statelog *log, const struct pg_state *st,
                    const char *user, int64_t now)
{
	struct pg_user_rec rec;
	size_t len;

	if (log->fd < 0)
		return PG_ERR_INTERNAL;
	/* The change is in memory; the rewrite that mends the log writes
	 * it with everything else. Until then, or while its pause lasts,
	 * nothing is durable: refused. */
	if (log->broken)
		return statelog_retry(log, st, now);
	/* Grown well past its compacted size: rewrite it, unless that just
	 * failed; appending to the intact log keeps the change durable. */
	if (grown(log) && !retry_later(log) &&
	    statelog_compact(log, st, now) == 0)
		return 0;
	if (state_get(st, user, &rec) != 0)
		return 0;
	if ((len = fmt_user(log->line, &rec)) == 0)
		return PG_ERR_INTERNAL;
	if (fileio_write_all(log->fd, log->line, len) != 0 ||
	    fdatasync(log->fd) != 0) {
		log_warn("%s/%s: append failed; rewriting it", log->dir,
		         PG_STATELOG_FILE);
		/*
		 * A partial record followed by later ones would read as damage
		 * on the next start. Cut it off; failing that, compaction
		 * rewrites the whole log from memory, this change included.
		 */
		if (ftruncate(log->fd, log->size) != 0)
			log_err("%s/%s: truncate", log->dir, PG_STATELOG_FILE);
		log->broken = 1;
		return statelog_compact(log, st, now);
	}
	log->size += (off_t)len;
	log->commits++;
	log->records++;
	return 0;
}

int statelog_start(struct pg_statelog *log, const struct pg_completion *done)
{
	if (log->fd < 0 || log->q != NULL)
		return PG_ERR_INTERNAL;
	log->done = *done;
	return commitq_new(log->fd, &log->q);
}

int statelog_fd(const struct pg_statelog *log)
{
	return commitq_fd(log->q);
}

/*
 * Why answering after the write is enough, though the change is in memory
 * from the start (so that a second CLAIM of the same step, arriving while
 * the first is being written, is refused as a replay):
 *
 * - A request is answered OK only once a durable write holds its record:
 *   its batch's fdatasync, or a compaction (which writes all of memory).
 * - A growth compaction runs on the writer, in queue order, from a
 *   snapshot of memory taken when it is queued: the records queued before
 *   it are synced to the old file first, those after it go to the new one
 *   once the rename has made it the log (start_rewrite). A crash at any
 *   point leaves a log holding every answered record.
 * - A U record is the user's whole state, taken when it is queued, after
 *   every earlier change of that user in memory. So whatever an OK answer
 *   rests on (an UNLOCK still being written, say, that lets a CLAIM pass)
 *   is in that request's own record, or in a compaction.
 * - Batches are written in queue order, one at a time, and the writer
 *   holds after a failed one: no record is appended after a record that
 *   failed. The requests of the failed batch and every one queued after
 *   it get what today's append failure gives: a rewrite of the whole log
 *   from memory, on the loop, and OK if that is durable, else ERR (the
 *   log is then failing: changes are refused until a retry rewrites it).
 *   A growth compaction queued behind the failed batch is dropped: that
 *   rewrite supersedes it. A failed growth compaction only leaves the old
 *   log in use: the writer goes on appending to it.
 * - A change whose write failed stays in memory, as before the writer:
 *   it only refuses more (a step used, a failure counted), or, for an
 *   UNLOCK, grants nothing until a later record or compaction (which
 *   carries it) is durable.
 *
 * Answers that grant nothing (refusals, PREAUTH, CHECK) read memory and
 * are not held back: at worst they say "locked" a moment before that is
 * durable, which errs on the side of denying.
 */
/* statelog_submit() and statelog_submit_then(): answers 0 for the
 * latter (no ticket, no resp). */
static int queue_record(struct pg_statelog *log, const struct pg_state *st,
                        const char *user, int64_t now, uint64_t ticket,
                        const struct pg_msg *resp,
                        const struct statelog_after *after, int answers)
{
	struct pg_user_rec rec;
	struct parked *p;
	size_t len;
	int rc;

	if (log->q == NULL)
		return statelog_record(log, st, user, now);
	if (log->fd < 0)
		return PG_ERR_INTERNAL;
	/* The writer holds until the rewrite that mends the log, which
	 * writes this change with everything else; while its pause lasts,
	 * refused as statelog_record does. */
	if (log->broken)
		return statelog_retry(log, st, now);
	if (state_get(st, user, &rec) != 0)
		return 0;
	if ((len = fmt_user(log->line, &rec)) == 0)
		return PG_ERR_INTERNAL;
	if ((p = malloc(sizeof(*p) + len)) == NULL)
		return PG_ERR_NOMEM;
	memcpy(p->rec, log->line, len);
	p->item.rec = p->rec;
	p->item.len = len;
	p->item.replace = NULL;
	p->ticket = ticket;
	p->answers = answers;
	p->after.fn = NULL;
	if (after != NULL)
		p->after = *after;
	proto_msg_init(&p->resp, PG_VERB_UNKNOWN);
	if (answers && (rc = pending_copy_msg(&p->resp, resp)) != 0) {
		free(p);
		return rc;
	}
	commitq_push(log->q, &p->item);
	return PG_STATELOG_QUEUED;
}

int statelog_submit(struct pg_statelog *log, const struct pg_state *st,
                    const char *user, int64_t now, uint64_t ticket,
                    const struct pg_msg *resp,
                    const struct statelog_after *after)
{
	return queue_record(log, st, user, now, ticket, resp, after, 1);
}

int statelog_submit_then(struct pg_statelog *log, const struct pg_state *st,
                         const char *user, int64_t now,
                         const struct statelog_after *after)
{
	return queue_record(log, st, user, now, 0, NULL, after, 0);
}

/* statelog_drain() but the growth check: what the writer has finished, in
 * queue order. Returns 1 after a failed batch (the log was mended, or
 * stays broken), else 0. */
static int drain_done(struct pg_statelog *log, const struct pg_state *st,
                      int64_t now)
{
	struct commitq_item *it, *next, *failed = NULL;
	uint64_t batches;

	it = commitq_take_done(log->q, &batches);
	for (; it != NULL; it = next) {
		next = it->next;
		it->next = NULL;
		if (it == &log->rw.item) {
			rewrite_done(log);
			continue;
		}
		if (it->rc != 0) {
			/* The last batch: the writer holds after it. */
			it->next = next;
			failed = it;
			break;
		}
		log->size += (off_t)it->len;
		log->records++;
		complete(log, it, 0);
	}
	log->commits += batches - (failed != NULL);
	if (failed != NULL) {
		errno = failed->err;
		log_warn("%s/%s: append failed; rewriting it", log->dir,
		         PG_STATELOG_FILE);
		/* As statelog_record: a torn batch would read as damage. */
		if (ftruncate(log->fd, log->size) != 0)
			log_err("%s/%s: truncate", log->dir, PG_STATELOG_FILE);
		log->broken = 1;
		(void)compact_paused(log, st, now, failed);
		return 1;
	}
	return 0;
}

void statelog_drain(struct pg_statelog *log, const struct pg_state *st,
                    int64_t now)
{
	if (drain_done(log, st, now) == 0 && !log->broken && grown(log) &&
	    !retry_later(log))
		start_rewrite(log, st, now);
}

void statelog_stop(struct pg_statelog *log, const struct pg_state *st,
                   int64_t now)
{
	struct commitq_item *left;

	if (log->q == NULL)
		return;
	/* The writer finishes the queue, a rewrite in it included (unless
	 * it holds after a failure): state.log is then a whole log, old or
	 * new, and the final compaction follows. */
	commitq_stop(log->q);
	(void)drain_done(log, st, now);
	/* Held after a failure: what is still queued is durable with a
	 * rewrite, or refused if that fails; a rewrite in it is moot. */
	left = commitq_take_queued(log->q);
	unlink_rewrite(log, &left);
	if (left != NULL)
		complete_compacted(log, left, statelog_compact(log, st, now));
	commitq_free(log->q);
	log->q = NULL;
}

void statelog_counts(const struct pg_statelog *log, uint64_t *commits,
                     uint64_t *records)
{
	*commits = log->commits;
	*records = log->records;
}

void statelog_free(struct pg_statelog *log)
{
	struct commitq_item *done;
	uint64_t batches;

	if (log == NULL)
		return;
	if (log->q != NULL) {
		/* Only on an error exit: nobody is left to answer. */
		commitq_stop(log->q);
		done = commitq_take_done(log->q, &batches);
		unlink_rewrite(log, &done);
		drop(done, PG_ERR_INTERNAL);
		done = commitq_take_queued(log->q);
		unlink_rewrite(log, &done);
		drop(done, PG_ERR_INTERNAL);
		commitq_free(log->q);
	}
	if (log->fd >= 0)
		close(log->fd);
	if (log->dirfd >= 0)
		close(log->dirfd);
	free(log->dir);
	free(log);
}
