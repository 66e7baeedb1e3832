/* SPDX-License-Identifier: BSD-3-Clause */
/* Site mode's kept token records and their file. */
#include "config.h"

#include "tokens/tokkeep.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fileio.h"
#include "log.h"
#include "secret.h"
#include "strbuf.h"
#include "username.h"

#define TOKKEEP_TMP TOKKEEP_FILE ".tmp"
/* sscanf's width for a user name: one byte more than a valid one. */
#define STR2(x)           #x
#define STR(x)            STR2(x)
#define USER_WIDTH        STR(PG_USER_MAX_PLUS1)
#define PG_USER_MAX_PLUS1 257
_Static_assert(PG_USER_MAX_PLUS1 == PG_USER_MAX + 1, "USER_WIDTH");
/* One saved line: the numbers, the user and the token line. */
#define TOKKEEP_LINE_MAX (TOKREC_LINE_MAX + PG_USER_MAX + 128)

struct tokkeep {
	int dirfd;
	int dirty;
	/* 0: no record is waiting for a write-back (else maybe one is):
	 * tokkeep_has_pending() at every request costs no walk. */
	int maybe_pending;
	size_t n, cap;
	struct tokkeep_rec *r;
};

static struct tokkeep_rec *find(struct tokkeep *k, const char *user)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		if (strcmp(k->r[i].user, user) == 0)
			return &k->r[i];
	return NULL;
}

static int pending(const struct tokkeep_rec *r)
{
	return r->claimed || r->failures > 0;
}

static void drop(struct tokkeep *k, struct tokkeep_rec *r)
{
	struct tokkeep_rec *last = &k->r[k->n - 1];

	if (r != last)
		*r = *last;
	secret_wipe(last, sizeof(*last));
	k->n--;
	k->dirty = 1;
}

/* Room for one more record: grown, or the oldest idle one forgotten.
 * NULL: none (no memory, or every record has a write-back to do). */
static struct tokkeep_rec *slot(struct tokkeep *k)
{
	struct tokkeep_rec *nr, *old = NULL;
	size_t i, cap;

	if (k->n == TOKKEEP_MAX) {
		for (i = 0; i < k->n; i++)
			if (!pending(&k->r[i]) &&
			    (old == NULL || k->r[i].read_at < old->read_at))
				old = &k->r[i];
		if (old == NULL)
			return NULL;
		drop(k, old);
	}
	if (k->n == k->cap) {
		cap = k->cap ? k->cap * 2 : 16;
		if (cap > TOKKEEP_MAX)
			cap = TOKKEEP_MAX;
		/* Not realloc: the old block holds secrets and is wiped. */
		if ((nr = calloc(cap, sizeof(*nr))) == NULL)
			return NULL;
		if (k->n > 0)
			memcpy(nr, k->r, k->n * sizeof(*nr));
		secret_free(k->r, k->cap * sizeof(*k->r));
		k->r = nr;
		k->cap = cap;
	}
	nr = &k->r[k->n++];
	memset(nr, 0, sizeof(*nr));
	return nr;
}

/* One saved line into a record; 0 or PG_ERR_INVAL. */
static int parse_line(char *s, struct tokkeep_rec *r)
{
	long long read_at, last_failure;
	unsigned long long failures, dir_step;
	unsigned period;
	int claimed, off = 0;
	char user[PG_USER_MAX + 2];
	size_t len;

	memset(r, 0, sizeof(*r));
	if (sscanf(s, "%" USER_WIDTH "s %lld %u %llu %d %llu %lld %n", user,
	           &read_at, &period, &dir_step, &claimed, &failures,
	           &last_failure, &off) != 7 ||
	    off == 0 || username_check(user) != 0 || period == 0 ||
	    (claimed != 0 && claimed != 1))
		return PG_ERR_INVAL;
	len = strlen(s + off);
	if (len > 0 && s[off + len - 1] == '\n')
		s[off + --len] = '\0';
	if (len == 0 || len >= sizeof(r->line))
		return PG_ERR_INVAL;
	memcpy(r->user, user, strlen(user) + 1);
	memcpy(r->line, s + off, len + 1);
	r->read_at = read_at;
	r->period = period;
	r->dir_step = dir_step;
	r->claimed = claimed;
	r->failures = failures;
	r->last_failure = last_failure;
	return 0;
}

static int load_file(struct tokkeep *k, FILE *f)
{
	char buf[TOKKEEP_LINE_MAX];
	struct tokkeep_rec *r, one;
	unsigned lineno = 0;
	int rc = 0;

	while (fgets(buf, sizeof(buf), f) != NULL) {
		lineno++;
		if (parse_line(buf, &one) != 0 || find(k, one.user) != NULL) {
			log_warnx("%s:%u: malformed, skipped", TOKKEEP_FILE,
			          lineno);
			continue;
		}
		if ((r = slot(k)) == NULL) {
			rc = PG_ERR_NOMEM;
			break;
		}
		*r = one;
		if (pending(r))
			k->maybe_pending = 1;
	}
	secret_wipe(buf, sizeof(buf));
	secret_wipe(&one, sizeof(one));
	if (rc == 0 && ferror(f))
		rc = PG_ERR_IO;
	return rc;
}

int tokkeep_load(int dirfd, struct tokkeep **out)
{
	struct tokkeep *k = calloc(1, sizeof(*k));
	struct stat sb;
	FILE *f = NULL;
	int fd, rc = 0;

	if (k == NULL)
		return PG_ERR_NOMEM;
	k->dirfd = dirfd;
	fd = openat(dirfd, TOKKEEP_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		rc = errno == ENOENT ? 0 : PG_ERR_IO;
		goto out;
	}
	/* Ours and ours only: it holds secrets (sealed or not). */
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_uid != geteuid() || (sb.st_mode & 077) != 0) {
		log_errx("%s: not a regular file of ours, mode 0600; ignored",
		         TOKKEEP_FILE);
		close(fd);
		rc = PG_ERR_UNSAFE_FILE;
		goto out;
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		close(fd);
		rc = PG_ERR_NOMEM;
		goto out;
	}
	rc = load_file(k, f);
	fclose(f);
	if (rc == 0 && k->n > 0)
		log_info("tokens: %zu kept token record(s) read from %s", k->n,
		         TOKKEEP_FILE);
out:
	if (rc != 0) {
		k->dirfd = -1;
		tokkeep_free(k);
		return rc;
	}
	*out = k;
	return 0;
}

/* The records as saved into sb. */
static void format_all(const struct tokkeep *k, struct strbuf *sb)
{
	const struct tokkeep_rec *r;
	char num[128];
	size_t i;

	for (i = 0; i < k->n; i++) {
		r = &k->r[i];
		snprintf(num, sizeof(num), " %lld %u %llu %d %llu %lld ",
		         (long long)r->read_at, r->period,
		         (unsigned long long)r->dir_step, r->claimed ? 1 : 0,
		         (unsigned long long)r->failures,
		         (long long)r->last_failure);
		strbuf_puts(sb, r->user);
		strbuf_puts(sb, num);
		strbuf_puts(sb, r->line);
		strbuf_puts(sb, "\n");
	}
}

/* The file's text, taken on the loop and written anywhere. */
struct tokkeep_image {
	int dirfd; /* the tokkeep's */
	char *buf;
	size_t size, len;
};

int tokkeep_image(struct tokkeep *k, struct tokkeep_image **out)
{
	struct tokkeep_image *img;
	struct strbuf sb;
	size_t i, size = 1;

	*out = NULL;
	if (!k->dirty)
		return 0;
	/* Sized to the records (a line each: user, numbers, token line),
	 * not to TOKKEEP_MAX of the longest. */
	for (i = 0; i < k->n; i++)
		size += strlen(k->r[i].user) + strlen(k->r[i].line) + 128;
	if ((img = calloc(1, sizeof(*img))) == NULL)
		return PG_ERR_NOMEM;
	if ((img->buf = malloc(size)) == NULL) {
		free(img);
		return PG_ERR_NOMEM;
	}
	img->dirfd = k->dirfd;
	img->size = size;
	strbuf_init(&sb, img->buf, size);
	format_all(k, &sb);
	img->len = strbuf_len(&sb);
	/* Changes from now on are the next image's. */
	k->dirty = 0;
	*out = img;
	return 0;
}

int tokkeep_image_write(const struct tokkeep_image *img)
{
	enum fileio_step step;
	int fd, rc = 0;

	(void)unlinkat(img->dirfd, TOKKEEP_TMP, 0);
	fd = openat(img->dirfd, TOKKEEP_TMP,
	            O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || fchmod(fd, 0600) != 0 ||
	    fileio_write_all(fd, img->buf, img->len) != 0 ||
	    fileio_commit(fd, img->dirfd, TOKKEEP_TMP, TOKKEEP_FILE, &step) !=
	        0) {
		log_warn("tokens: saving %s", TOKKEEP_FILE);
		if (fd >= 0)
			(void)unlinkat(img->dirfd, TOKKEEP_TMP, 0);
		rc = PG_ERR_IO;
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

void tokkeep_image_done(struct tokkeep *k, struct tokkeep_image *img, int rc)
{
	if (img == NULL)
		return;
	if (rc != 0)
		k->dirty = 1;
	secret_free(img->buf, img->size);
	free(img);
}

int tokkeep_save(struct tokkeep *k)
{
	struct tokkeep_image *img;
	int rc;

	if ((rc = tokkeep_image(k, &img)) != 0 || img == NULL)
		return rc;
	rc = tokkeep_image_write(img);
	tokkeep_image_done(k, img, rc);
	return rc;
}

int tokkeep_dirty(const struct tokkeep *k)
{
	return k->dirty;
}

int tokkeep_has_pending(const struct tokkeep *k)
{
	return k->maybe_pending;
}

int tokkeep_rec_pending(const struct tokkeep_rec *r)
{
	return pending(r) || r->in_flight;
}

void tokkeep_free(struct tokkeep *k)
{
	if (k == NULL)
		return;
	if (k->r != NULL)
		secret_free(k->r, k->cap * sizeof(*k->r));
	if (k->dirfd >= 0)
		close(k->dirfd);
	free(k);
}

int tokkeep_put(struct tokkeep *k, const char *user, const struct tokrec *rec,
                int64_t now)
{
	struct tokkeep_rec *r = find(k, user);

	if (r == NULL) {
		if ((r = slot(k)) == NULL)
			return PG_ERR_NOMEM;
		memcpy(r->user, user, strlen(user) + 1);
	}
	memcpy(r->line, rec->line, sizeof(r->line));
	r->period = rec->period;
	r->dir_step = rec->st.has_step ? rec->st.step : 0;
	r->read_at = now;
	k->dirty = 1;
	return 0;
}

void tokkeep_forget(struct tokkeep *k, const char *user)
{
	struct tokkeep_rec *r = find(k, user);

	if (r != NULL && !pending(r) && !r->in_flight)
		drop(k, r);
}

struct tokkeep_rec *tokkeep_get(struct tokkeep *k, const char *user,
                                int64_t now, int64_t grace)
{
	struct tokkeep_rec *r = find(k, user);

	return r != NULL && now - r->read_at <= grace ? r : NULL;
}

void tokkeep_claimed(struct tokkeep *k, struct tokkeep_rec *r)
{
	r->claimed = 1;
	k->dirty = 1;
	k->maybe_pending = 1;
}

void tokkeep_failed(struct tokkeep *k, struct tokkeep_rec *r, int64_t now)
{
	r->failures++;
	r->last_failure = now;
	k->dirty = 1;
	k->maybe_pending = 1;
}

void tokkeep_succeeded(struct tokkeep *k, struct tokkeep_rec *r)
{
	r->failures = 0;
	k->dirty = 1;
}

void tokkeep_foreach_pending(struct tokkeep *k,
                             int (*fn)(struct tokkeep_rec *r, void *arg),
                             void *arg)
{
	size_t i;

	k->maybe_pending = 0;
	for (i = 0; i < k->n; i++) {
		if (!pending(&k->r[i]) || k->r[i].in_flight)
			continue;
		/* Still waiting unless fn took it (in_flight). */
		if (fn(&k->r[i], arg) != 0 || !k->r[i].in_flight) {
			k->maybe_pending = 1;
			return;
		}
	}
}

void tokkeep_written(struct tokkeep *k, const char *user, int rc, int claimed,
                     uint64_t failures)
{
	struct tokkeep_rec *r = find(k, user);

	if (r == NULL)
		return;
	r->in_flight = 0;
	/* No token any more: nothing left to write to. */
	if (rc != 0 && rc != PG_ERR_NOTFOUND) {
		k->maybe_pending = 1;
		return;
	}
	if (claimed)
		r->claimed = 0;
	r->failures = r->failures > failures ? r->failures - failures : 0;
	k->dirty = 1;
	if (pending(r))
		k->maybe_pending = 1;
}
