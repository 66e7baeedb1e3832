/* SPDX-License-Identifier: BSD-3-Clause */
/* The audit trail's files: rotated names in chain order, and the last
 * complete line of a file found from its end. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "audit/auditfile.h"
#include "err.h"

#define CHUNK 4096

void auditfile_free_names(char **names, size_t n)
{
	size_t i;

	if (names == NULL)
		return;
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

struct numbered {
	unsigned long n;
	char *path;
};

static int by_number(const void *a, const void *b)
{
	const struct numbered *x = a, *y = b;

	return x->n < y->n ? -1 : x->n > y->n;
}

/* "N" with no sign, no leading zero, fitting an unsigned long. */
static int suffix_number(const char *s, unsigned long *n)
{
	char *end;

	if (s[0] < '1' || s[0] > '9' || strlen(s) > 9)
		return -1;
	*n = strtoul(s, &end, 10);
	return *end == '\0' ? 0 : -1;
}

int auditfile_rotated(const char *path, char ***names, size_t *n,
                      unsigned long *max_n)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash != NULL ? slash + 1 : path;
	size_t blen = strlen(base), cnt = 0, cap = 0, i;
	struct numbered *v = NULL, *nv;
	char dir[4096];
	struct dirent *de;
	unsigned long num;
	DIR *dp;
	int rc = PG_ERR_NOMEM;

	*names = NULL;
	*n = 0;
	if (max_n != NULL)
		*max_n = 0;
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if ((dp = opendir(dir)) == NULL)
		return PG_ERR_IO;
	while ((de = readdir(dp)) != NULL) {
		if (strncmp(de->d_name, base, blen) != 0 ||
		    de->d_name[blen] != '.' ||
		    suffix_number(de->d_name + blen + 1, &num) != 0)
			continue;
		if (cnt == cap) {
			cap = cap ? 2 * cap : 16;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL)
				goto out;
			v = nv;
		}
		v[cnt].n = num;
		if (asprintf(&v[cnt].path, "%s.%lu", path, num) < 0)
			goto out;
		cnt++;
	}
	if (cnt > 1)
		qsort(v, cnt, sizeof(*v), by_number);
	if (cnt > 0 && (*names = calloc(cnt, sizeof(char *))) == NULL)
		goto out;
	for (i = 0; i < cnt; i++) {
		(*names)[i] = v[i].path;
		v[i].path = NULL;
	}
	*n = cnt;
	if (max_n != NULL && cnt > 0)
		*max_n = v[cnt - 1].n;
	rc = 0;
out:
	for (i = 0; i < cnt; i++)
		free(v[i].path);
	free(v);
	closedir(dp);
	return rc;
}

/* Offset of the last "\n" in [0, before), or -1 if none; -2 on error. */
static off_t last_newline(int fd, off_t before)
{
	char buf[CHUNK];
	off_t pos = before, start;
	ssize_t got;
	size_t i;

	while (pos > 0) {
		start = pos > CHUNK ? pos - CHUNK : 0;
		got = pread(fd, buf, (size_t)(pos - start), start);
		if (got != (ssize_t)(pos - start))
			return -2;
		for (i = (size_t)got; i > 0; i--)
			if (buf[i - 1] == '\n')
				return start + (off_t)i - 1;
		pos = start;
	}
	return -1;
}

/* SHA-256 of [from, to) of fd, as hex. */
static int hash_range(int fd, off_t from, off_t to, char hex[AUDIT_HEX_SIZE])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	char buf[CHUNK];
	EVP_MD_CTX *ctx;
	size_t want;
	ssize_t got;
	int rc = PG_ERR_IO;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return PG_ERR_NOMEM;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	while (from < to) {
		want = to - from > CHUNK ? CHUNK : (size_t)(to - from);
		got = pread(fd, buf, want, from);
		if (got != (ssize_t)want ||
		    EVP_DigestUpdate(ctx, buf, want) != 1)
			goto out;
		from += (off_t)want;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32)
		goto out;
	for (i = 0; i < mdlen; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 0xf];
	}
	hex[AUDIT_HEX_LEN] = '\0';
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

int auditfile_tail(int fd, off_t size, off_t *end_complete, int *has_line,
                   char hex[AUDIT_HEX_SIZE])
{
	off_t nl, prev;

	*has_line = 0;
	*end_complete = 0;
	if (size == 0)
		return 0;
	if ((nl = last_newline(fd, size)) == -2)
		return PG_ERR_IO;
	if (nl < 0)
		return 0; /* no complete line at all */
	*end_complete = nl + 1;
	if ((prev = last_newline(fd, nl)) == -2)
		return PG_ERR_IO;
	*has_line = 1;
	return hash_range(fd, prev + 1, nl, hex);
}

/* The head of one file: 0 with a line, PG_ERR_NOTFOUND without. */
static int file_head(const char *path, char hex[AUDIT_HEX_SIZE])
{
	struct stat sb;
	off_t end;
	int fd, has, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT ? PG_ERR_NOTFOUND : PG_ERR_IO;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
		rc = PG_ERR_IO;
	else if ((rc = auditfile_tail(fd, sb.st_size, &end, &has, hex)) == 0 &&
	         !has)
		rc = PG_ERR_NOTFOUND;
	close(fd);
	return rc;
}

int auditfile_head(const char *path, char hex[AUDIT_HEX_SIZE])
{
	char **names = NULL;
	size_t n = 0, total;
	int rc;

	memcpy(hex, AUDIT_GENESIS, AUDIT_HEX_SIZE);
	if ((rc = file_head(path, hex)) != PG_ERR_NOTFOUND)
		return rc;
	if ((rc = auditfile_rotated(path, &names, &n, NULL)) != 0)
		return rc;
	total = n;
	rc = PG_ERR_NOTFOUND;
	while (n > 0 && rc == PG_ERR_NOTFOUND)
		rc = file_head(names[--n], hex);
	auditfile_free_names(names, total);
	if (rc == PG_ERR_NOTFOUND)
		memcpy(hex, AUDIT_GENESIS, AUDIT_HEX_SIZE);
	return rc;
}
