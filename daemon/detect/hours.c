/* SPDX-License-Identifier: BSD-3-Clause */
/* Learned login hours: the per-user hour counters and their file. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "detect/fnv.h"
#include "detect/hours.h"
#include "err.h"
#include "fileio.h"
#include "log.h"
#include "username.h"

#define HOURS_TMP     HOURS_FILE ".tmp"
#define HOURS_CORRUPT HOURS_FILE ".corrupt"
#define HOURS_HEADER  "phiguard-hours 1"
/* "U " + name + 25 numbers of at most 20 digits + blanks: fits easily. */
#define HOURS_LINE_MAX 1024
/* A file bigger than HOURS_MAX_USERS full lines is damage. */
#define HOURS_FILE_MAX ((off_t)HOURS_LINE_MAX * (HOURS_MAX_USERS + 2))

struct hour_user {
	uint32_t hash;
	char *name;
	int64_t last; /* last success: eviction order */
	unsigned total;
	uint16_t count[24];
};

struct hours {
	size_t nusers;
	struct hour_user *users; /* HOURS_MAX_USERS slots, allocated lazily */
	int dirty;
};

int hours_new(struct hours **out)
{
	struct hours *h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return PG_ERR_NOMEM;
	*out = h;
	return 0;
}

static void users_clear(struct hours *h)
{
	size_t i;

	for (i = 0; i < h->nusers; i++)
		free(h->users[i].name);
	h->nusers = 0;
}

void hours_free(struct hours *h)
{
	if (h == NULL)
		return;
	users_clear(h);
	free(h->users);
	free(h);
}

static struct hour_user *user_find(const struct hours *h, const char *name,
                                   uint32_t hash)
{
	size_t i;

	for (i = 0; i < h->nusers; i++)
		if (h->users[i].hash == hash &&
		    strcmp(h->users[i].name, name) == 0)
			return &h->users[i];
	return NULL;
}

/* A fresh entry for name (counters zero), evicting the user seen least
 * recently when full. NULL on no memory. */
static struct hour_user *user_add(struct hours *h, const char *name,
                                  uint32_t hash)
{
	struct hour_user *u;
	size_t i, v = 0;
	char *copy;

	if (h->users == NULL &&
	    (h->users = calloc(HOURS_MAX_USERS, sizeof(*h->users))) == NULL)
		return NULL;
	if ((copy = strdup(name)) == NULL)
		return NULL;
	if (h->nusers == HOURS_MAX_USERS) {
		for (i = 1; i < h->nusers; i++)
			if (h->users[i].last < h->users[v].last)
				v = i;
		free(h->users[v].name);
		u = &h->users[v];
	} else {
		u = &h->users[h->nusers++];
	}
	memset(u, 0, sizeof(*u));
	u->name = copy;
	u->hash = hash;
	return u;
}

static void user_learn(struct hour_user *u, int hour)
{
	int i;

	if (u->count[hour] < UINT16_MAX) {
		u->count[hour]++;
		u->total++;
	}
	if (u->total >= HOURS_CAP) {
		u->total = 0;
		for (i = 0; i < 24; i++) {
			u->count[i] /= 2;
			u->total += u->count[i];
		}
	}
}

int hours_learn(struct hours *h, const char *user, int hour, int64_t now,
                unsigned *count, unsigned *total)
{
	struct hour_user *u;
	uint32_t hash = fnv_32(user);

	if ((u = user_find(h, user, hash)) == NULL &&
	    (u = user_add(h, user, hash)) == NULL)
		return PG_ERR_NOMEM;
	*count = u->count[hour];
	*total = u->total;
	user_learn(u, hour);
	u->last = now;
	h->dirty = 1;
	return 0;
}

size_t hours_users(const struct hours *h)
{
	return h->nusers;
}

int hours_dirty(const struct hours *h)
{
	return h->dirty;
}

/* ------------------------------------------------------------ the file */

/* Parse an unsigned decimal field of at most max; advances *p past one
 * blank. */
static int parse_u64(char **p, uint64_t max, uint64_t *out)
{
	char *s = *p, *end;
	uint64_t v;

	if (*s < '0' || *s > '9')
		return PG_ERR_INVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || v > max || (*end != ' ' && *end != '\0'))
		return PG_ERR_INVAL;
	*p = *end == ' ' ? end + 1 : end;
	*out = v;
	return 0;
}

static int parse_user_line(struct hours *h, char *line)
{
	struct hour_user *u;
	char *p = line + 2, *name;
	uint64_t v, last;
	unsigned total = 0;
	uint16_t c[24];
	int i;

	name = p;
	if ((p = strchr(p, ' ')) == NULL)
		return PG_ERR_INVAL;
	*p++ = '\0';
	if (username_check(name) != 0 || parse_u64(&p, INT64_MAX, &last) != 0)
		return PG_ERR_INVAL;
	for (i = 0; i < 24; i++) {
		if (parse_u64(&p, HOURS_CAP, &v) != 0)
			return PG_ERR_INVAL;
		c[i] = (uint16_t)v;
		total += (unsigned)v;
	}
	if (*p != '\0' || total >= HOURS_CAP ||
	    user_find(h, name, fnv_32(name)) != NULL ||
	    h->nusers == HOURS_MAX_USERS)
		return PG_ERR_INVAL;
	if ((u = user_add(h, name, fnv_32(name))) == NULL)
		return PG_ERR_NOMEM;
	memcpy(u->count, c, sizeof(c));
	u->total = total;
	u->last = (int64_t)last;
	return 0;
}

/* Parse the whole file in f into h. PG_ERR_INVAL on damage. */
static int parse_hours(struct hours *h, FILE *f)
{
	char line[HOURS_LINE_MAX];
	size_t n, lineno = 0, records = 0;
	uint64_t count;
	char *p;
	int rc, ended = 0;

	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		n = strlen(line);
		if (n == 0 || line[n - 1] != '\n' || ended)
			return PG_ERR_INVAL;
		line[n - 1] = '\0';
		if (lineno == 1) {
			if (strcmp(line, HOURS_HEADER) != 0)
				return PG_ERR_INVAL;
		} else if (strncmp(line, "U ", 2) == 0) {
			if ((rc = parse_user_line(h, line)) != 0)
				return rc;
			records++;
		} else if (strncmp(line, "end ", 4) == 0) {
			p = line + 4;
			if (parse_u64(&p, SIZE_MAX, &count) != 0 ||
			    *p != '\0' || count != records)
				return PG_ERR_INVAL;
			ended = 1;
		} else {
			return PG_ERR_INVAL;
		}
	}
	return ferror(f) || !ended ? PG_ERR_INVAL : 0;
}

int hours_load(struct hours *h, int dirfd, const char *dirname)
{
	struct stat sb;
	FILE *f = NULL;
	int fd, rc = 0;

	users_clear(h);
	h->dirty = 0;
	fd = openat(dirfd, HOURS_FILE,
	            O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		log_err("%s/%s: cannot open", dirname, HOURS_FILE);
		rc = PG_ERR_INVAL;
		goto damaged;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > HOURS_FILE_MAX) {
		close(fd);
		rc = PG_ERR_INVAL;
		goto damaged;
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		close(fd);
		return PG_ERR_NOMEM;
	}
	rc = parse_hours(h, f);
	fclose(f);
	if (rc == 0 || rc == PG_ERR_NOMEM) {
		if (rc != 0)
			users_clear(h);
		return rc;
	}
damaged:
	/* Learned habits only tune a warning: losing them is safe, so a
	 * damaged file never stops the daemon. Keep it for the admin. */
	users_clear(h);
	log_errx("%s/%s: damaged; learned login hours start empty (kept as "
	         "%s)",
	         dirname, HOURS_FILE, HOURS_CORRUPT);
	if (renameat(dirfd, HOURS_FILE, dirfd, HOURS_CORRUPT) != 0)
		log_err("%s/%s: rename", dirname, HOURS_FILE);
	h->dirty = 1;
	return 0;
}

int hours_save(struct hours *h, int dirfd, const char *dirname)
{
	enum fileio_step failed;
	char *buf = NULL;
	size_t len = 0, i;
	FILE *m = NULL;
	int fd = -1, rc = PG_ERR_NOMEM, j;
	const struct hour_user *u;

	if ((m = open_memstream(&buf, &len)) == NULL)
		goto out;
	fprintf(m, "%s\n", HOURS_HEADER);
	for (i = 0; i < h->nusers; i++) {
		u = &h->users[i];
		fprintf(m, "U %s %" PRId64, u->name, u->last < 0 ? 0 : u->last);
		for (j = 0; j < 24; j++)
			fprintf(m, " %u", (unsigned)u->count[j]);
		fputc('\n', m);
	}
	fprintf(m, "end %zu\n", h->nusers);
	if (fclose(m) != 0) {
		m = NULL;
		goto out;
	}
	m = NULL;
	rc = PG_ERR_IO;
	if (unlinkat(dirfd, HOURS_TMP, 0) != 0 && errno != ENOENT)
		goto fail;
	fd = openat(dirfd, HOURS_TMP,
	            O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || fileio_write_all(fd, buf, len) != 0)
		goto fail;
	if (fileio_commit(fd, dirfd, HOURS_TMP, HOURS_FILE, &failed) != 0) {
		if (failed != FILEIO_STEP_FSYNC_DIR)
			goto fail;
		log_warn("%s: fsync", dirname);
	}
	h->dirty = 0;
	rc = 0;
	goto out;
fail:
	log_err("%s/%s: cannot save learned login hours", dirname, HOURS_FILE);
	if (fd >= 0)
		unlinkat(dirfd, HOURS_TMP, 0);
out:
	if (m != NULL)
		fclose(m);
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}
