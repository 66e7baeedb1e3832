/* SPDX-License-Identifier: BSD-3-Clause */
/* The audit trail writer. The loop formats a record and appends it to a
 * bounded buffer; the writer thread swaps buffers, chains each record to
 * the one before (prev), writes the batch with one write(2), syncs, rotates
 * and retries after failures. News for the loop (failures, recoveries,
 * rotations, the periodic head) goes through an eventfd, so every log line
 * and every answer to a client is made on the loop's thread. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "audit/auditfile.h"
#include "err.h"
#include "fileio.h"
#include "log.h"
#include "strbuf.h"
#include "proto.h"
#include "core/pending.h"
#include "core/thread.h"
#include "timeutil.h"

/* Rotations asked for and not yet done, at most. */
#define AUDIT_MAX_ROTATIONS 16
/* Room per record for ,"prev":"<64>"} and "\n". */
#define TAIL_ROOM 80

/* News bits for the loop. */
#define NEWS_FAILED    0x1
#define NEWS_RECOVERED 0x2
#define NEWS_HEAD      0x4
#define NEWS_ROTATED   0x8
#define NEWS_TORN      0x10

struct rotation {
	uint64_t ticket;
	long uid;
	char why[16];
	int rc;                  /* when done */
	char rotated[4096 + 16]; /* when done: the old file's new name */
	char head[AUDIT_HEX_SIZE];
};

struct pg_audit {
	/* Set before the thread starts, then read-only. */
	char *path;
	char *dir;
	int sync_always, fail_deny;
	long rotate_size;
	int64_t head_interval_ms;
	char host[256];
	struct pg_completion complete; /* rotations a request asked for */
	int efd;
	int dirfd;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_cond_t room; /* the writer took the queue */
	pthread_t th;
	int started;
	/* Under mu. */
	int stop;
	int writer_waiting;
	char *q; /* the filling buffer: [uint32 len][body] ... */
	size_t qlen;
	uint64_t lost;       /* not queued since the last audit-lost record */
	uint64_t lost_total; /* since start */
	uint64_t dropped;    /* noise not queued since audit-dropped */
	uint64_t dropped_total; /* since start */
	/* A decision waited AUDIT_ROOM_WAIT_MS for room in vain: the next
	 * ones do not wait until the writer takes the queue again. */
	int stalled;
	int failed;
	char fail_reason[128];
	char head[AUDIT_HEX_SIZE];
	uint64_t records;
	unsigned news;
	char torn_note[4096 * 2 + 256];
	struct rotation rot[AUDIT_MAX_ROTATIONS];
	size_t nrot; /* asked for */
	struct rotation done[AUDIT_MAX_ROTATIONS];
	size_t ndone; /* done, for the loop to answer */

	/* The writer's own (and audit_new's, before it starts). */
	char *spare;
	char *out; /* lines ready to write */
	size_t outlen;
	size_t outrecs;
	char out_head[AUDIT_HEX_SIZE]; /* hash of the last line in out */
	char prev[AUDIT_HEX_SIZE];     /* hash of the last line on disk */
	int fd;
	off_t size;        /* bytes of whole lines in the file */
	int need_truncate; /* a failed write may have left a part line */
	int need_sync;
	int64_t unsynced_since; /* ms, 0 = all synced */
	int64_t next_retry;
	int64_t next_head;
	int64_t next_rotate; /* after a failed size rotation */
};

/* -------------------------------------------------------------- helpers */

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void notify(struct pg_audit *a)
{
	uint64_t one = 1;

	/* A full counter only means the loop has not read it yet. */
	if (write(a->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return;
}

/* Writer side: enter or leave the failed state (news only on change). */
static void set_failed(struct pg_audit *a, const char *what, int err)
{
	pthread_mutex_lock(&a->mu);
	if (!a->failed) {
		a->failed = 1;
		a->news |= NEWS_FAILED;
	}
	snprintf(a->fail_reason, sizeof(a->fail_reason), "%s: %s", what,
	         strerror(err));
	pthread_mutex_unlock(&a->mu);
	notify(a);
}

static void set_ok(struct pg_audit *a)
{
	int was;

	pthread_mutex_lock(&a->mu);
	was = a->failed;
	a->failed = 0;
	if (was)
		a->news |= NEWS_RECOVERED;
	pthread_mutex_unlock(&a->mu);
	if (was)
		notify(a);
}

/* ----------------------------------------------------------- the file */

/*
 * A last line without "\n" is a write the crash cut short. Its bytes are
 * kept in FILE.torn-<time> for the record, and the file is cut back to
 * its last complete line so the chain can go on from there.
 */
static int keep_torn(struct pg_audit *a, off_t from, off_t to)
{
	char name[4096 + 64], buf[4096];
	off_t pos = from;
	ssize_t got;
	size_t want;
	int tfd, rc = PG_ERR_IO;

	snprintf(name, sizeof(name), "%s.torn-%lld", a->path,
	         (long long)time(NULL));
	tfd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	           0600);
	if (tfd < 0)
		return PG_ERR_IO;
	while (pos < to) {
		want = to - pos > (off_t)sizeof(buf) ? sizeof(buf)
		                                     : (size_t)(to - pos);
		if ((got = pread(a->fd, buf, want, pos)) != (ssize_t)want ||
		    fileio_write_all(tfd, buf, want) != 0)
			goto out;
		pos += (off_t)want;
	}
	if (fsync(tfd) != 0 || ftruncate(a->fd, from) != 0 || fsync(a->fd) != 0)
		goto out;
	pthread_mutex_lock(&a->mu);
	snprintf(a->torn_note, sizeof(a->torn_note),
	         "%s ended in a part line (%lld bytes, a write cut short by "
	         "a crash); moved to %s, the chain continues from the last "
	         "complete line",
	         a->path, (long long)(to - from), name);
	a->news |= NEWS_TORN;
	pthread_mutex_unlock(&a->mu);
	notify(a);
	rc = 0;
out:
	close(tfd);
	return rc;
}

/* Open the trail and find where the chain stands. 0 or PG_ERR_IO (errno
 * set, the trail failed). */
static int open_trail(struct pg_audit *a)
{
	char hex[AUDIT_HEX_SIZE];
	struct stat sb;
	off_t end;
	int fd, has, err;

	fd = open(a->path,
	          O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
	              O_NOCTTY,
	          0600);
	if (fd < 0)
		return PG_ERR_IO;
	a->fd = fd;
	errno = EINVAL; /* not a regular file */
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
		goto fail;
	if (auditfile_tail(fd, sb.st_size, &end, &has, hex) != 0)
		goto fail;
	if (end < sb.st_size && keep_torn(a, end, sb.st_size) != 0)
		goto fail;
	a->size = end;
	if (has)
		memcpy(a->prev, hex, AUDIT_HEX_SIZE);
	else if (auditfile_head(a->path, hex) == PG_ERR_IO)
		goto fail; /* an empty file: the newest predecessor's head */
	else
		memcpy(a->prev, hex, AUDIT_HEX_SIZE);
	/* Lines already chained (a rotation's first record) keep theirs. */
	if (a->outlen == 0)
		memcpy(a->out_head, a->prev, AUDIT_HEX_SIZE);
	pthread_mutex_lock(&a->mu);
	memcpy(a->head, a->prev, AUDIT_HEX_SIZE);
	pthread_mutex_unlock(&a->mu);
	a->need_truncate = 0;
	return 0;
fail:
	err = errno != 0 ? errno : EIO;
	close(fd);
	a->fd = -1;
	errno = err;
	return PG_ERR_IO;
}

/* Append body + tail to out, advancing out_head. */
static void chain_one(struct pg_audit *a, const char *body, size_t len)
{
	char *line = a->out + a->outlen;
	size_t n;

	memcpy(line, body, len);
	if (auditfmt_close(line, len, AUDIT_LINE_MAX + TAIL_ROOM, a->out_head,
	                   &n) != 0)
		return; /* cannot happen: bodies leave room (auditfmt.h) */
	auditfmt_hash(line, n, a->out_head);
	line[n] = '\n';
	a->outlen += n + 1;
	a->outrecs++;
}

/* A record the writer makes itself (rotation, lost events). */
static void chain_own(struct pg_audit *a, const char *event, const char *why,
                      long uid, uint64_t count)
{
	struct audit_rec r;
	char body[AUDIT_LINE_MAX];
	size_t len;

	memset(&r, 0, sizeof(r));
	r.time_ms = wall_ms();
	r.host = a->host;
	r.event = event;
	r.reason = why;
	r.uid = uid;
	r.count = count;
	if (auditfmt_body(&r, body, sizeof(body), &len) == 0)
		chain_one(a, body, len);
}

/* Write out; 0 once it is all in the file (synced if sync_always). */
static int flush_out(struct pg_audit *a)
{
	if (a->fd < 0 && open_trail(a) != 0) {
		set_failed(a, a->path, errno);
		return PG_ERR_IO;
	}
	/* A failed write may have left part of a line: cut it back. */
	if (a->need_truncate) {
		if (ftruncate(a->fd, a->size) != 0) {
			set_failed(a, "truncating after a failed write", errno);
			return PG_ERR_IO;
		}
		a->need_truncate = 0;
	}
	if (a->outlen > 0) {
		if (fileio_write_all(a->fd, a->out, a->outlen) != 0) {
			a->need_truncate = 1;
			set_failed(a, "write", errno);
			return PG_ERR_IO;
		}
		a->size += (off_t)a->outlen;
		memcpy(a->prev, a->out_head, AUDIT_HEX_SIZE);
		pthread_mutex_lock(&a->mu);
		memcpy(a->head, a->prev, AUDIT_HEX_SIZE);
		a->records += a->outrecs;
		pthread_mutex_unlock(&a->mu);
		a->outlen = 0;
		a->outrecs = 0;
		a->need_sync = 1;
		if (a->unsynced_since == 0)
			a->unsynced_since = time_mono_ms();
	}
	if (a->need_sync &&
	    (a->sync_always ||
	     time_mono_ms() - a->unsynced_since >= AUDIT_BATCH_MS)) {
		if (fsync(a->fd) != 0) {
			set_failed(a, "fsync", errno);
			return PG_ERR_IO;
		}
		a->need_sync = 0;
		a->unsynced_since = 0;
	}
	set_ok(a);
	return 0;
}

static void rotate(struct pg_audit *a, struct rotation *req, size_t nreq)
{
	char rotated[4096 + 16], head[AUDIT_HEX_SIZE];
	char **names = NULL;
	unsigned long max_n = 0;
	size_t i, n = 0;
	int rc = PG_ERR_IO, fd;

	memcpy(head, a->prev, AUDIT_HEX_SIZE);
	rotated[0] = '\0';
	/* Everything so far belongs to the old file. */
	if (a->fd < 0 || a->outlen > 0 || a->need_truncate ||
	    (a->need_sync && fsync(a->fd) != 0))
		goto out;
	a->need_sync = 0;
	a->unsynced_since = 0;
	if (auditfile_rotated(a->path, &names, &n, &max_n) != 0)
		goto out;
	auditfile_free_names(names, n);
	snprintf(rotated, sizeof(rotated), "%s.%lu", a->path, max_n + 1);
	/* Never over an existing file: a predecessor is never replaced. */
	if (link(a->path, rotated) != 0) {
		rotated[0] = '\0';
		goto out;
	}
	if (unlink(a->path) != 0) {
		unlink(rotated);
		rotated[0] = '\0';
		goto out;
	}
	fd = a->fd;
	a->fd = -1;
	close(fd);
	/* The rename is durable with the directory; failing that, a crash
	 * may bring the old name back, which verify still reads in order.
	 * (No logging here: only the loop logs.) */
	if (a->dirfd >= 0)
		(void)fsync(a->dirfd);
	a->size = 0;
	rc = 0;
	/* The new file opens with the rotation, chained to the old last
	 * line; flush_out creates the file. */
	chain_own(a, "audit-rotate", nreq > 0 ? req[0].why : "size",
	          nreq > 0 ? req[0].uid : -1, 0);
	flush_out(a);
out:
	pthread_mutex_lock(&a->mu);
	for (i = 0; i < nreq; i++) {
		if (a->ndone == AUDIT_MAX_ROTATIONS)
			break;
		a->done[a->ndone] = req[i];
		a->done[a->ndone].rc = rc;
		snprintf(a->done[a->ndone].rotated,
		         sizeof(a->done[a->ndone].rotated), "%s", rotated);
		memcpy(a->done[a->ndone].head, head, AUDIT_HEX_SIZE);
		a->ndone++;
	}
	if (nreq == 0) {
		/* By size: the news carries the old head for syslog. */
		if (a->ndone < AUDIT_MAX_ROTATIONS) {
			memset(&a->done[a->ndone], 0, sizeof(a->done[0]));
			a->done[a->ndone].rc = rc;
			a->done[a->ndone].uid = -1;
			snprintf(a->done[a->ndone].why,
			         sizeof(a->done[a->ndone].why), "size");
			snprintf(a->done[a->ndone].rotated,
			         sizeof(a->done[a->ndone].rotated), "%s",
			         rotated);
			memcpy(a->done[a->ndone].head, head, AUDIT_HEX_SIZE);
			a->ndone++;
		}
	}
	a->news |= NEWS_ROTATED;
	pthread_mutex_unlock(&a->mu);
	notify(a);
}

/* ----------------------------------------------------------- the thread */

/* Take the filling buffer (under mu); chain it into out. */
static void take_queue(struct pg_audit *a)
{
	char *full = a->q;
	size_t len = a->qlen, pos = 0;
	uint64_t lost = a->lost;
	uint32_t n;
	uint64_t dropped = a->dropped;

	a->q = a->spare;
	a->qlen = 0;
	a->spare = full;
	a->lost = 0;
	a->dropped = 0;
	a->stalled = 0;
	pthread_cond_broadcast(&a->room);
	pthread_mutex_unlock(&a->mu);
	while (pos + sizeof(n) <= len) {
		memcpy(&n, full + pos, sizeof(n));
		pos += sizeof(n);
		chain_one(a, full + pos, n);
		pos += n;
	}
	/* The events themselves went to syslog only. */
	if (lost > 0)
		chain_own(a, "audit-lost", "queue-full", -1, lost);
	if (dropped > 0)
		chain_own(a, "audit-dropped", "noise", -1, dropped);
	pthread_mutex_lock(&a->mu);
}

static void *writer_main(void *arg)
{
	struct pg_audit *a = arg;
	struct rotation req[AUDIT_MAX_ROTATIONS];
	struct timespec ts;
	int64_t now, wake;
	size_t nreq;
	int stopping, failing = a->fd < 0;

	/* For top -H and tests (which freeze it to fill the queue). */
	pthread_setname_np(pthread_self(), "pg-audit");
	pthread_mutex_lock(&a->mu);
	for (;;) {
		now = time_mono_ms();
		stopping = a->stop;
		/* Nothing new is taken while older lines wait to be
		 * written: the chain stays in order. */
		if (a->outlen == 0 && !a->need_truncate &&
		    (a->qlen > 0 || a->lost > 0 || a->dropped > 0))
			take_queue(a);
		nreq = a->nrot;
		if (nreq > 0) {
			memcpy(req, a->rot, nreq * sizeof(req[0]));
			a->nrot = 0;
		}
		if (a->head_interval_ms > 0 && now >= a->next_head) {
			a->news |= NEWS_HEAD;
			a->next_head = now + a->head_interval_ms;
			notify(a);
		}
		pthread_mutex_unlock(&a->mu);

		/* While failing, try again only every AUDIT_RETRY_MS (and
		 * once more when stopping). */
		if ((a->outlen > 0 || a->need_truncate || a->need_sync ||
		     a->fd < 0) &&
		    (!failing || stopping || now >= a->next_retry)) {
			failing = flush_out(a) != 0;
			if (failing)
				a->next_retry = now + AUDIT_RETRY_MS;
		}
		if (nreq > 0 || (!failing && a->outlen == 0 &&
		                 a->size >= (off_t)a->rotate_size &&
		                 now >= a->next_rotate)) {
			rotate(a, req, nreq);
			/* A rotation that failed is not retried at once. */
			if (a->size >= (off_t)a->rotate_size)
				a->next_rotate = now + 60000;
			failing = a->fd < 0 || a->outlen > 0;
			if (failing)
				a->next_retry = now + AUDIT_RETRY_MS;
		}

		pthread_mutex_lock(&a->mu);
		if (stopping && a->nrot == 0 &&
		    ((a->qlen == 0 && a->outlen == 0) || failing))
			break;
		if (a->stop != stopping || a->nrot > 0 ||
		    (!failing &&
		     (a->qlen > 0 || a->lost > 0 || a->dropped > 0)))
			continue;
		/* Sleep until there is work or something falls due. */
		wake = now + 60000;
		if (a->head_interval_ms > 0 && a->next_head < wake)
			wake = a->next_head;
		if (a->need_sync && a->unsynced_since + AUDIT_BATCH_MS < wake)
			wake = a->unsynced_since + AUDIT_BATCH_MS;
		if (failing && a->next_retry < wake)
			wake = a->next_retry;
		if (wake <= now)
			wake = now + 1;
		a->writer_waiting = 1;
		ts = time_mono_timespec(wake);
		pthread_cond_timedwait(&a->cv, &a->mu, &ts);
		a->writer_waiting = 0;
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/* -------------------------------------------------------------- the loop */

static void answer_rotation(struct pg_audit *a, const struct rotation *r)
{
	struct pg_msg resp;
	int rc = r->rc;

	if (r->rc == 0)
		log_notice("audit rotated (%s): %s, head=%s", r->why,
		           r->rotated, r->head);
	else
		log_errx("audit rotation (%s) of %s failed; writing on to it",
		         r->why, a->path);
	if (r->ticket == 0 || a->complete.done == NULL)
		return;
	if (rc == 0) {
		proto_msg_init(&resp, PG_VERB_OK);
		if ((rc = proto_add(&resp, "rotated", r->rotated)) == 0)
			rc = proto_add(&resp, "head", r->head);
	}
	if (rc != 0)
		proto_make_error(&resp, rc, "rotation failed (see the log)");
	a->complete.done(a->complete.arg, r->ticket, 0, &resp);
}

/* The line an off-host log server keeps (phiguardd(8) AUDIT TRAIL). */
static void log_head(struct pg_audit *a)
{
	char head[AUDIT_HEX_SIZE];
	uint64_t records;

	pthread_mutex_lock(&a->mu);
	memcpy(head, a->head, AUDIT_HEX_SIZE);
	records = a->records;
	pthread_mutex_unlock(&a->mu);
	log_notice("audit-head head=%s file=%s records=%llu", head, a->path,
	           (unsigned long long)records);
}

void audit_drain(struct pg_audit *a)
{
	struct rotation done[AUDIT_MAX_ROTATIONS];
	char reason[128], head[AUDIT_HEX_SIZE], torn[sizeof(a->torn_note)];
	unsigned news;
	uint64_t n;
	size_t ndone, i;

	if (read(a->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("audit eventfd");
	pthread_mutex_lock(&a->mu);
	news = a->news;
	a->news = 0;
	snprintf(reason, sizeof(reason), "%s", a->fail_reason);
	memcpy(head, a->head, AUDIT_HEX_SIZE);
	snprintf(torn, sizeof(torn), "%s", a->torn_note);
	ndone = a->ndone;
	memcpy(done, a->done, ndone * sizeof(done[0]));
	a->ndone = 0;
	pthread_mutex_unlock(&a->mu);

	if (news & NEWS_TORN)
		log_warnx("audit: %s", torn);
	/* Once per outage, not per event: the state is in STATUS. */
	if (news & NEWS_FAILED)
		log_errx("audit trail %s cannot be written (%s): %s", a->path,
		         reason,
		         a->fail_deny ? "new logins and grants are refused "
		                        "until it can (audit_failure = deny)"
		                      : "events go to syslog only until it "
		                        "can (audit_failure = syslog)");
	if (news & NEWS_RECOVERED)
		log_notice("audit trail %s writable again; the chain goes on "
		           "from head=%s",
		           a->path, head);
	for (i = 0; i < ndone; i++)
		answer_rotation(a, &done[i]);
	if (news & NEWS_HEAD)
		log_head(a);
}

/* The syslog key=value of one field: at most KV_VALUE_MAX bytes of the
 * value, by strbuf's key=value rule. */
#define KV_VALUE_MAX 128

/* A list field (scopes, rule) keeps its items apart with ',' (a blank
 * cannot appear in a key=value value); runs of separators are one. */
static void kv_list(struct strbuf *sb, const char *k, const char *v)
{
	size_t n, i, run;
	char last = '=';

	if (v == NULL || v[0] == '\0') {
		strbuf_kv(sb, k, v, KV_VALUE_MAX);
		return;
	}
	strbuf_putc(sb, ' ');
	strbuf_puts(sb, k);
	strbuf_putc(sb, '=');
	n = strnlen(v, KV_VALUE_MAX);
	for (i = 0; i < n; i += run) {
		if (v[i] == ' ' || v[i] == '\n') {
			if (last != ',' && last != '=')
				strbuf_putc(sb, ',');
			last = ',';
			run = 1;
			continue;
		}
		for (run = 0;
		     i + run < n && v[i + run] != ' ' && v[i + run] != '\n';
		     run++)
			;
		strbuf_kv_escape(sb, v + i, run);
		last = v[i + run - 1] == ',' ? ',' : 'x';
	}
}

static void mirror(const struct audit_rec *r, int alert)
{
	char line[2048];
	struct strbuf sb;

	strbuf_init(&sb, line, sizeof(line));
	strbuf_kv(&sb, "event", r->event, KV_VALUE_MAX);
	strbuf_kv(&sb, "user", r->user, KV_VALUE_MAX);
	strbuf_kv(&sb, "service", r->service, KV_VALUE_MAX);
	strbuf_kv(&sb, "tty", r->tty, KV_VALUE_MAX);
	strbuf_kv(&sb, "rhost", r->rhost, KV_VALUE_MAX);
	strbuf_kv(&sb, "factor", r->factor, KV_VALUE_MAX);
	strbuf_kv(&sb, "decision", r->decision, KV_VALUE_MAX);
	kv_list(&sb, "scopes", r->scopes);
	strbuf_kv(&sb, "reason", r->reason, KV_VALUE_MAX);
	kv_list(&sb, "rule", r->rule);
	strbuf_kv(&sb, "source", r->source, KV_VALUE_MAX);
	strbuf_puts(&sb, " uid=");
	if (r->uid >= 0)
		strbuf_put_i64(&sb, r->uid);
	else
		strbuf_putc(&sb, '-');
	/* Only aggregates: every other line keeps its documented end. */
	if (r->count > 0) {
		strbuf_puts(&sb, " count=");
		strbuf_put_u64(&sb, r->count);
	}
	/* A line too long for syslog goes out cut: the trail has it whole. */
	if (alert)
		log_warnx("audit%s", line);
	else
		log_notice("audit%s", line);
}

/* Wait (bounded) until the writer takes the queue; under mu. 0 if it
 * did, PG_ERR_BUSY if it did not in time (the writer is stalled). */
static int wait_for_room(struct pg_audit *a)
{
	struct timespec ts;
	int64_t until = time_mono_ms() + AUDIT_ROOM_WAIT_MS;
	uint64_t was = a->qlen;

	if (a->failed || a->stalled || a->stop)
		return PG_ERR_BUSY;
	pthread_cond_signal(&a->cv);
	ts = time_mono_timespec(until);
	while (a->qlen >= was && !a->failed)
		if (pthread_cond_timedwait(&a->room, &a->mu, &ts) != 0) {
			a->stalled = 1;
			return PG_ERR_BUSY;
		}
	return 0;
}

/*
 * Format, mirror and queue rec. It may fill the queue up to limit bytes;
 * a decision (wait) waits for the writer rather than be lost.
 */
static int enqueue(struct pg_audit *a, const struct audit_rec *rec, int alert,
                   size_t limit, int wait)
{
	struct audit_rec r = *rec;
	char body[AUDIT_LINE_MAX];
	uint32_t n;
	size_t len;
	int rc, wake;

	if (r.host == NULL)
		r.host = a->host;
	if (r.time_ms == 0)
		r.time_ms = wall_ms();
	mirror(&r, alert);
	if ((rc = auditfmt_body(&r, body, sizeof(body), &len)) != 0) {
		log_errx("audit event %s not recorded: %s", r.event,
		         pg_strerror(rc));
		return rc;
	}
	n = (uint32_t)len;
	pthread_mutex_lock(&a->mu);
	while (a->qlen + sizeof(n) + len > limit) {
		if (!wait || wait_for_room(a) != 0) {
			if (wait) {
				a->lost++;
				a->lost_total++;
			} else {
				a->dropped++;
				a->dropped_total++;
			}
			pthread_mutex_unlock(&a->mu);
			return PG_ERR_BUSY;
		}
	}
	memcpy(a->q + a->qlen, &n, sizeof(n));
	memcpy(a->q + a->qlen + sizeof(n), body, len);
	a->qlen += sizeof(n) + len;
	rc = a->failed ? PG_ERR_IO : 0;
	wake = a->writer_waiting;
	pthread_mutex_unlock(&a->mu);
	/* A busy writer comes back for the queue by itself. */
	if (wake)
		pthread_cond_signal(&a->cv);
	return rc;
}

int audit_record(struct pg_audit *a, const struct audit_rec *rec, int alert)
{
	return enqueue(a, rec, alert, AUDIT_QUEUE_BYTES, 1);
}

int audit_record_noise(struct pg_audit *a, const struct audit_rec *rec)
{
	return enqueue(a, rec, 0, AUDIT_NOISE_BYTES, 0);
}

int audit_peer_room(struct pg_audit *a)
{
	int room;

	if (a == NULL)
		return 1;
	pthread_mutex_lock(&a->mu);
	room = a->qlen + AUDIT_PEER_MARGIN <= AUDIT_PEER_BYTES;
	pthread_mutex_unlock(&a->mu);
	return room;
}

int audit_refusing(struct pg_audit *a)
{
	int r;

	if (a == NULL || !a->fail_deny)
		return 0;
	pthread_mutex_lock(&a->mu);
	r = a->failed;
	pthread_mutex_unlock(&a->mu);
	return r;
}

int audit_rotate(struct pg_audit *a, uint64_t ticket, long uid, const char *why)
{
	struct rotation *r;

	pthread_mutex_lock(&a->mu);
	if (a->nrot == AUDIT_MAX_ROTATIONS) {
		pthread_mutex_unlock(&a->mu);
		return PG_ERR_BUSY;
	}
	r = &a->rot[a->nrot++];
	memset(r, 0, sizeof(*r));
	r->ticket = ticket;
	r->uid = uid;
	snprintf(r->why, sizeof(r->why), "%s", why);
	pthread_mutex_unlock(&a->mu);
	pthread_cond_signal(&a->cv);
	return 0;
}

int audit_rotate_room(struct pg_audit *a)
{
	int room;

	pthread_mutex_lock(&a->mu);
	room = a->nrot < AUDIT_MAX_ROTATIONS;
	pthread_mutex_unlock(&a->mu);
	return room;
}

void audit_get_status(struct pg_audit *a, struct audit_status *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&a->mu);
	st->failed = a->failed;
	snprintf(st->reason, sizeof(st->reason), "%s", a->fail_reason);
	memcpy(st->head, a->head, AUDIT_HEX_SIZE);
	st->records = a->records;
	st->lost = a->lost_total;
	st->dropped = a->dropped_total;
	pthread_mutex_unlock(&a->mu);
	st->file = a->path;
}

/* ------------------------------------------------------------- lifecycle */

int audit_fd(const struct pg_audit *a)
{
	return a->efd;
}

int audit_new(const struct audit_params *p, const struct pg_completion *done,
              struct pg_audit **out)
{
	pthread_condattr_t ca;
	struct pg_audit *a;
	char *slash;
	int rc = PG_ERR_NOMEM;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return PG_ERR_NOMEM;
	a->fd = a->efd = a->dirfd = -1;
	pthread_mutex_init(&a->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->cv, &ca);
	pthread_cond_init(&a->room, &ca);
	pthread_condattr_destroy(&ca);
	if (done != NULL)
		a->complete = *done;
	a->sync_always = p->sync_always;
	a->fail_deny = p->fail_deny;
	a->rotate_size = p->rotate_size;
	a->head_interval_ms = (int64_t)p->head_interval * 1000;
	snprintf(a->host, sizeof(a->host), "%s", p->host);
	memcpy(a->prev, AUDIT_GENESIS, AUDIT_HEX_SIZE);
	memcpy(a->out_head, AUDIT_GENESIS, AUDIT_HEX_SIZE);
	memcpy(a->head, AUDIT_GENESIS, AUDIT_HEX_SIZE);
	if ((a->path = strdup(p->file)) == NULL ||
	    (a->dir = strdup(p->file)) == NULL ||
	    (a->q = malloc(AUDIT_QUEUE_BYTES)) == NULL ||
	    (a->spare = malloc(AUDIT_QUEUE_BYTES)) == NULL ||
	    /* Every queued body grows by its tail once chained. */
	    (a->out = malloc(2 * AUDIT_QUEUE_BYTES + 2 * AUDIT_LINE_MAX)) ==
	        NULL)
		goto out;
	if ((slash = strrchr(a->dir, '/')) != NULL)
		slash[slash == a->dir ? 1 : 0] = '\0';
	a->dirfd = open(slash != NULL ? a->dir : ".",
	                O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	rc = PG_ERR_IO;
	if ((a->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		goto out;
	if (open_trail(a) != 0) {
		/* Not fatal: the writer retries, logins wait meanwhile. */
		set_failed(a, a->path, errno);
		a->next_retry = time_mono_ms() + AUDIT_RETRY_MS;
	}
	a->next_head = time_mono_ms() + a->head_interval_ms;
	if (thread_start(&a->th, writer_main, a) != 0) {
		rc = PG_ERR_IO;
		goto out;
	}
	a->started = 1;
	*out = a;
	a = NULL;
	rc = 0;
out:
	audit_free(a);
	return rc;
}

void audit_free(struct pg_audit *a)
{
	uint64_t unwritten = 0;
	size_t pos = 0;
	uint32_t n;

	if (a == NULL)
		return;
	if (a->started) {
		pthread_mutex_lock(&a->mu);
		a->stop = 1;
		pthread_mutex_unlock(&a->mu);
		pthread_cond_signal(&a->cv);
		pthread_join(a->th, NULL);
		/* Answer rotations and log what the writer said last. */
		audit_drain(a);
		/* The last head, daemon-stop included: without it the records
		 * since the last periodic head could be cut unnoticed. */
		log_head(a);
	}
	while (a->q != NULL && pos + sizeof(n) <= a->qlen) {
		memcpy(&n, a->q + pos, sizeof(n));
		pos += sizeof(n) + n;
		unwritten++;
	}
	unwritten += a->outrecs;
	if (unwritten > 0)
		log_errx("audit trail %s: %llu event(s) could not be written "
		         "before stopping (they are in syslog)",
		         a->path, (unsigned long long)unwritten);
	if (a->fd >= 0) {
		if (a->need_sync && fsync(a->fd) != 0)
			log_err("audit trail %s: fsync", a->path);
		close(a->fd);
	}
	if (a->dirfd >= 0)
		close(a->dirfd);
	if (a->efd >= 0)
		close(a->efd);
	pthread_cond_destroy(&a->room);
	pthread_cond_destroy(&a->cv);
	pthread_mutex_destroy(&a->mu);
	free(a->out);
	free(a->spare);
	free(a->q);
	free(a->dir);
	free(a->path);
	free(a);
}
