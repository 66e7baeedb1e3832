/* SPDX-License-Identifier: BSD-3-Clause */
/* Token store edits for phiguardctl: line-preserving changes written with
 * lock, temp file, fsync and rename so a crash or a race never loses data. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "fileio.h"
#include "secret.h"
#include "timeutil.h"
#include "tokens.h"
#include "tokenstore.h"

#define LOCK_POLL_MS 20
#define AUTO_LABEL   "token"

int tokenstore_buf_append(struct tokenstore_buf *b, const void *p, size_t n)
{
	size_t need, cap;
	char *nd;

	if (n > SIZE_MAX / 4 - b->len)
		return PG_ERR_NOMEM;
	need = b->len + n + 1;
	if (need > b->cap) {
		for (cap = b->cap < 256 ? 256 : b->cap; cap < need; cap *= 2)
			;
		/* Not realloc: it could leave a copy of the secrets behind. */
		if ((nd = malloc(cap)) == NULL)
			return PG_ERR_NOMEM;
		if (b->len > 0)
			memcpy(nd, b->data, b->len);
		secret_free(b->data, b->cap);
		b->data = nd;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

void tokenstore_buf_wipe(struct tokenstore_buf *b)
{
	if (b == NULL)
		return;
	secret_free(b->data, b->cap);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

/* Move src into dst, wiping what dst held. */
static void buf_replace(struct tokenstore_buf *dst, struct tokenstore_buf *src)
{
	tokenstore_buf_wipe(dst);
	*dst = *src;
	src->data = NULL;
	src->len = 0;
	src->cap = 0;
}

/* A line that is blank or whose first non-blank byte is '#'. */
static int is_comment(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && (p[i] == ' ' || p[i] == '\t'); i++)
		;
	return i == n || p[i] == '#';
}

/*
 * Parse n bytes at p as a store line through the shared parser, using
 * line (TOKENSTORE_MAX_LINE + 1 bytes) as scratch. Returns what
 * tokens_parse_line() does; over-long lines and lines with a NUL byte are
 * PG_ERR_INVAL unless they are comments.
 */
static int parse_raw(const char *p, size_t n, char *line, struct pg_token *tok)
{
	char why[128];

	if (is_comment(p, n))
		return PG_ERR_NOTFOUND;
	/* A NUL would hide the rest of the line from the parser. */
	if (n > TOKENSTORE_MAX_LINE || memchr(p, '\0', n) != NULL)
		return PG_ERR_INVAL;
	memcpy(line, p, n);
	line[n] = '\0';
	return tokens_parse_line(line, tok, why, sizeof(why));
}

int tokenstore_foreach(const char *text, size_t len, tokenstore_line_fn fn,
                       void *arg, unsigned *bad_lines)
{
	char line[TOKENSTORE_MAX_LINE + 1];
	struct pg_token tok;
	const char *p = text, *end = text + len, *nl;
	size_t rawlen, linelen;
	unsigned lineno = 0, bad = 0;
	int rc = 0, prc;

	memset(&tok, 0, sizeof(tok));
	while (len > 0 && p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		rawlen = nl != NULL ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		linelen = nl != NULL ? rawlen - 1 : rawlen;
		lineno++;
		prc = parse_raw(p, linelen, line, &tok);
		if (prc != 0 && prc != PG_ERR_NOTFOUND)
			bad++;
		rc = fn(p, rawlen, lineno, prc == 0 ? &tok : NULL, arg);
		tokens_wipe(&tok);
		if (rc != 0)
			break;
		p += rawlen;
	}
	secret_wipe(line, sizeof(line));
	if (bad_lines != NULL)
		*bad_lines = bad;
	return rc;
}

static int label_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '@' ||
	       c == '+' || c == '-';
}

int tokenstore_label_check(const char *label)
{
	size_t i;

	if (label == NULL)
		return PG_ERR_INVAL;
	for (i = 0; label[i] != '\0'; i++) {
		if (i >= PG_TOKEN_MAX_LABEL || !label_char(label[i]))
			return PG_ERR_INVAL;
	}
	return i > 0 ? 0 : PG_ERR_INVAL;
}

/* What tokenstore_add needs to know about the user's existing tokens. */
struct add_scan {
	const char *user;
	const char *label;
	unsigned count;
	int label_taken;
	/* used[n] is set if "tokenN" is taken; n <= MAX suffices, since a
	 * user with fewer than MAX tokens leaves one of them free. */
	unsigned char used[PG_TOKENS_MAX_PER_USER + 1];
};

/* N if label is exactly "tokenN" with 1 <= N <= MAX, else 0. */
static unsigned auto_label_index(const char *label)
{
	const char *d = label + strlen(AUTO_LABEL);
	unsigned long n;
	char *end;

	if (strncmp(label, AUTO_LABEL, strlen(AUTO_LABEL)) != 0 || *d < '1' ||
	    *d > '9')
		return 0;
	n = strtoul(d, &end, 10);
	return *end == '\0' && n <= PG_TOKENS_MAX_PER_USER ? (unsigned)n : 0;
}

static int add_scan_line(const char *raw, size_t rawlen, unsigned lineno,
                         const struct pg_token *tok, void *arg)
{
	struct add_scan *s = arg;

	if (tok == NULL || strcmp(tok->user, s->user) != 0)
		return 0;
	s->count++;
	if (s->label[0] != '\0' && strcmp(tok->label, s->label) == 0)
		s->label_taken = 1;
	s->used[auto_label_index(tok->label)] = 1;
	return 0;
}

/* b is a as read back: a sealed secret reads back as its text only. */
static int same_token(const struct pg_token *a, const struct pg_token *b)
{
	return strcmp(a->user, b->user) == 0 && a->alg == b->alg &&
	       a->digits == b->digits && a->period == b->period &&
	       strcmp(a->sealed, b->sealed) == 0 &&
	       (a->sealed[0] != '\0' ||
	        (a->secret_len == b->secret_len &&
	         secret_equal(a->secret, b->secret, a->secret_len))) &&
	       strcmp(a->label, b->label) == 0;
}

/*
 * Format tok as a store line and prove that the shared parser reads the
 * same token back: the module will read this line, and a token that
 * silently turns into a comment or another user's token must not be
 * written.
 */
static int format_checked(const struct pg_token *tok, char *line, size_t sz,
                          char *err, size_t errlen)
{
	struct pg_token back;
	char why[128] = "";
	size_t n;
	int rc;

	memset(&back, 0, sizeof(back));
	if ((rc = tokens_format_line(tok, line, sz)) != 0) {
		pg_err_set(err, errlen, "cannot store a token for %s: %s",
		           tok->user, pg_strerror(rc));
		goto out;
	}
	n = strlen(line);
	if (n == 0 || line[n - 1] != '\n') {
		rc = PG_ERR_INTERNAL;
		pg_err_set(err, errlen, "cannot store a token for %s: %s",
		           tok->user, "formatted line lacks its newline");
		goto out;
	}
	line[n - 1] = '\0';
	rc = tokens_parse_line(line, &back, why, sizeof(why));
	line[n - 1] = '\n';
	if (rc == 0 && same_token(tok, &back))
		goto out;
	pg_err_set(err, errlen, "cannot store a token for %s: %s", tok->user,
	           rc == PG_ERR_NOTFOUND ? "the line would read as a comment"
	           : rc != 0             ? why
	                     : "the line would read back differently");
	rc = PG_ERR_INVAL;
out:
	tokens_wipe(&back);
	return rc;
}

int tokenstore_add(struct tokenstore_buf *store, struct pg_token *tok,
                   char *err, size_t errlen)
{
	struct add_scan s;
	char line[TOKENSTORE_MAX_LINE + 1];
	unsigned i;
	int rc = PG_ERR_INVAL;

	memset(&s, 0, sizeof(s));
	s.user = tok->user;
	s.label = tok->label;
	if (tok->label[0] != '\0' && tokenstore_label_check(tok->label) != 0) {
		pg_err_set(err, errlen,
		           "invalid label (1-%d of A-Z a-z 0-9 . _ @ + -)",
		           PG_TOKEN_MAX_LABEL);
		goto out;
	}
	tokenstore_foreach(store->data, store->len, add_scan_line, &s, NULL);
	if (s.count >= PG_TOKENS_MAX_PER_USER) {
		pg_err_set(err, errlen,
		           "%s already has %u tokens (the maximum)", tok->user,
		           s.count);
		goto out;
	}
	if (s.label_taken) {
		pg_err_set(err, errlen, "%s already has a token labelled %s",
		           tok->user, tok->label);
		goto out;
	}
	if (tok->label[0] == '\0') {
		for (i = 1; s.used[i]; i++)
			;
		snprintf(tok->label, sizeof(tok->label), AUTO_LABEL "%u", i);
	}
	if ((rc = format_checked(tok, line, sizeof(line), err, errlen)) != 0)
		goto out;
	/* Appending to a last line without "\n" would merge two lines. */
	if (store->len > 0 && store->data[store->len - 1] != '\n' &&
	    (rc = tokenstore_buf_append(store, "\n", 1)) != 0)
		goto out;
	rc = tokenstore_buf_append(store, line, strlen(line));
out:
	secret_wipe(line, sizeof(line));
	return rc;
}

struct rewrite_ctx {
	tokenstore_token_fn fn;
	void *arg;
	struct tokenstore_buf out;
	char *err;
	size_t errlen;
};

static int rewrite_line(const char *raw, size_t rawlen, unsigned lineno,
                        const struct pg_token *tok, void *arg)
{
	struct rewrite_ctx *c = arg;
	char line[TOKENSTORE_MAX_LINE + 1];
	struct pg_token t;
	int rc;

	if (tok == NULL)
		return tokenstore_buf_append(&c->out, raw, rawlen);
	t = *tok;
	if ((rc = c->fn(&t, lineno, c->arg, c->err, c->errlen)) == 0 &&
	    (rc = format_checked(&t, line, sizeof(line), c->err, c->errlen)) ==
	        0)
		rc = tokenstore_buf_append(&c->out, line, strlen(line));
	secret_wipe(line, sizeof(line));
	tokens_wipe(&t);
	return rc;
}

int tokenstore_rewrite(struct tokenstore_buf *store, tokenstore_token_fn fn,
                       void *arg, unsigned *bad_lines, char *err, size_t errlen)
{
	struct rewrite_ctx c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.fn = fn;
	c.arg = arg;
	c.err = err;
	c.errlen = errlen;
	rc = tokenstore_foreach(store->data, store->len, rewrite_line, &c,
	                        bad_lines);
	if (rc == 0)
		buf_replace(store, &c.out);
	tokenstore_buf_wipe(&c.out);
	return rc;
}

struct remove_ctx {
	const char *user;
	const char *label;
	struct tokenstore_buf out;
	unsigned removed;
};

static int remove_line(const char *raw, size_t rawlen, unsigned lineno,
                       const struct pg_token *tok, void *arg)
{
	struct remove_ctx *c = arg;

	if (tok != NULL && strcmp(tok->user, c->user) == 0 &&
	    (c->label == NULL || strcmp(tok->label, c->label) == 0)) {
		c->removed++;
		return 0;
	}
	return tokenstore_buf_append(&c->out, raw, rawlen);
}

int tokenstore_remove(struct tokenstore_buf *store, const char *user,
                      const char *label, unsigned *removed)
{
	struct remove_ctx c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.user = user;
	c.label = label;
	rc = tokenstore_foreach(store->data, store->len, remove_line, &c, NULL);
	if (rc == 0 && c.removed == 0)
		rc = PG_ERR_NOTFOUND;
	if (rc == 0) {
		buf_replace(store, &c.out);
		*removed = c.removed;
	}
	tokenstore_buf_wipe(&c.out);
	return rc;
}

int tokenstore_load(const char *path, const struct safefile_policy *pol,
                    struct tokenstore_buf *out, struct stat *st, char *err,
                    size_t errlen)
{
	char *buf;
	size_t len;
	int rc;

	tokenstore_buf_wipe(out);
	if ((rc = safefile_read_stat(path, pol, &buf, &len, st, err, errlen)) !=
	    0)
		return rc;
	/* safefile_read_stat's buffer holds len + 1 bytes, the NUL included:
	 * that is all tokenstore_buf_wipe() needs to wipe. */
	out->data = buf;
	out->len = len;
	out->cap = len + 1;
	return 0;
}

void tokenstore_policy(struct safefile_policy *pol)
{
	*pol = safefile_secret_policy;
	pol->owner = geteuid();
}

int tokenstore_read(const char *path, struct tokenstore_buf *out, char *err,
                    size_t errlen)
{
	struct safefile_policy pol;
	int rc;

	tokenstore_policy(&pol);
	rc = tokenstore_load(path, &pol, out, NULL, err, errlen);
	if (rc == PG_ERR_NOTFOUND) {
		pg_err_set(err, errlen, "%s", "");
		rc = 0;
	}
	return rc;
}

/* Open the directory that holds path and check that only root or we could
 * have put files into it: the rename makes its entries the store. */
static int open_dir(const char *path, int *fd_out, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct stat st;
	size_t n;
	int fd = -1, rc = PG_ERR_TOOLONG;

	n = slash == NULL ? 0 : slash == path ? 1 : (size_t)(slash - path);
	if (n >= sizeof(dir)) {
		pg_err_set(err, errlen, "%s: path too long", path);
		goto out;
	}
	memcpy(dir, n == 0 ? "." : path, n == 0 ? 2 : n);
	dir[n == 0 ? 1 : n] = '\0';
	rc = PG_ERR_IO;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		pg_err_set(err, errlen, "%s: %s", dir, strerror(errno));
		goto out;
	}
	rc = PG_ERR_UNSAFE_FILE;
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		pg_err_set(err, errlen, "%s: directory owned by uid %lu", dir,
		           (unsigned long)st.st_uid);
		goto out;
	}
	if ((st.st_mode & 022) != 0) {
		pg_err_set(err, errlen,
		           "%s: directory is writable by group or other (mode "
		           "%04o)",
		           dir, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	*fd_out = fd;
	fd = -1;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/*
 * flock() on a lock file that is never removed: the kernel drops the lock
 * when its holder dies, so a crash cannot leave a lock behind (pam_oath's
 * O_EXCL lock file can). Waits at most timeout_ms.
 */
static int lock_store(const char *path, int timeout_ms, int *fd_out, char *err,
                      size_t errlen)
{
	const struct timespec pause = {0, LOCK_POLL_MS * 1000000L};
	char lp[PATH_MAX];
	struct stat st;
	int64_t deadline;
	int fd = -1, rc = PG_ERR_TOOLONG;

	if ((size_t)snprintf(lp, sizeof(lp), "%s.lock", path) >= sizeof(lp)) {
		pg_err_set(err, errlen, "%s: path too long", path);
		goto out;
	}
	rc = PG_ERR_IO;
	fd = open(lp,
	          O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
	              O_NONBLOCK,
	          0600);
	if (fd < 0) {
		if (errno == ELOOP)
			rc = PG_ERR_UNSAFE_FILE;
		pg_err_set(err, errlen, "%s: %s", lp,
		           errno == ELOOP ? "is a symbolic link"
		                          : strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = PG_ERR_UNSAFE_FILE;
		pg_err_set(err, errlen, "%s: not a regular file", lp);
		goto out;
	}
	deadline = time_mono_ms() + timeout_ms;
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			pg_err_set(err, errlen, "%s: flock: %s", lp,
			           strerror(errno));
			goto out;
		}
		if (time_left_ms(deadline) == 0) {
			rc = PG_ERR_BUSY;
			pg_err_set(
			    err, errlen,
			    "%s: still locked by another process after %d "
			    "ms",
			    lp, timeout_ms);
			goto out;
		}
		nanosleep(&pause, NULL);
	}
	*fd_out = fd;
	fd = -1;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Owner of the new store: the old one's, or root's for a new store made by
 * root (the module refuses a store root does not own). */
static int set_owner(int fd, const struct stat *old)
{
	if (old != NULL)
		return fchown(fd, old->st_uid, old->st_gid);
	return geteuid() == 0 ? fchown(fd, 0, 0) : 0;
}

/* Write the new content next to path and rename it into place. */
static int write_replace(const char *path, int dirfd,
                         const struct tokenstore_buf *store,
                         const struct stat *old, char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	/* Where the names relative to dirfd start in path and in tmp. */
	size_t base = slash == NULL ? 0 : (size_t)(slash - path) + 1;
	enum fileio_step failed;
	char tmp[PATH_MAX];
	const char *step;
	int fd = -1, created = 0, rc = PG_ERR_TOOLONG;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >=
	    sizeof(tmp)) {
		pg_err_set(err, errlen, "%s: path too long", path);
		goto out;
	}
	rc = PG_ERR_IO;
	step = "create";
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)
		goto fail;
	created = 1;
	step = "chmod";
	if (fchmod(fd, 0600) != 0)
		goto fail;
	step = "chown";
	if (set_owner(fd, old) != 0)
		goto fail;
	step = "write";
	if (fileio_write_all(fd, store->data, store->len) != 0)
		goto fail;
	if (fileio_commit(fd, dirfd, tmp + base, path + base, &failed) != 0) {
		if (failed != FILEIO_STEP_FSYNC_DIR) {
			step = failed == FILEIO_STEP_FSYNC ? "fsync" : "rename";
			goto fail;
		}
		created = 0;
		pg_err_set(err, errlen,
		           "%s: written, but fsync of its directory "
		           "failed: %s",
		           path, strerror(errno));
		goto out;
	}
	created = 0;
	rc = 0;
	goto out;
fail:
	pg_err_set(err, errlen, "%s: %s: %s", created ? tmp : path, step,
	           strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	if (created)
		unlink(tmp);
	return rc;
}

int tokenstore_update(const char *path, int lock_timeout_ms,
                      tokenstore_edit_fn edit, void *arg, char *err,
                      size_t errlen)
{
	struct tokenstore_buf store = {0};
	struct safefile_policy pol;
	struct stat st;
	int dirfd = -1, lockfd = -1, have_old = 1, rc;

	pg_err_set(err, errlen, "%s", "");
	if ((rc = open_dir(path, &dirfd, err, errlen)) != 0 ||
	    (rc = lock_store(path, lock_timeout_ms, &lockfd, err, errlen)) != 0)
		goto out;
	/* Read only under the lock, so no other writer's change is lost. */
	tokenstore_policy(&pol);
	rc = tokenstore_load(path, &pol, &store, &st, err, errlen);
	if (rc == PG_ERR_NOTFOUND) {
		have_old = 0;
		rc = 0;
	}
	if (rc != 0 || (rc = edit(&store, arg, err, errlen)) != 0 ||
	    (rc = write_replace(path, dirfd, &store, have_old ? &st : NULL, err,
	                        errlen)) != 0)
		goto out;
	rc = 0;
out:
	/* An edit may fail without a reason (out of memory): never leave
	 * the caller an empty message. */
	if (rc != 0 && errlen > 0 && err[0] == '\0')
		pg_err_set(err, errlen, "%s: %s", path, pg_strerror(rc));
	tokenstore_buf_wipe(&store);
	/* Closing the descriptor releases the flock. */
	if (lockfd >= 0)
		close(lockfd);
	if (dirfd >= 0)
		close(dirfd);
	return rc;
}
