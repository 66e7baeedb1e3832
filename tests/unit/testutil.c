/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers shared by the cmocka unit tests. */
#include "config.h"

#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <oath.h>

#include "testutil.h"

char tu_tmpdir[64];

int tu_setup_tmpdir(void **state)
{
	(void)state;
	snprintf(tu_tmpdir, sizeof(tu_tmpdir), "/tmp/pgunit.XXXXXX");
	return mkdtemp(tu_tmpdir) == NULL ? -1 : 0;
}

static int remove_entry(const char *path, const struct stat *st, int type,
                        struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

int tu_teardown_tmpdir(void **state)
{
	(void)state;
	chmod(tu_tmpdir, 0700);
	/* Depth first, without following symlinks: tests plant some. */
	return nftw(tu_tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *tu_path(const char *name)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/%s", tu_tmpdir, name);
	return path;
}

void tu_write_file(const char *path, const char *text, mode_t mode)
{
	size_t len = strlen(text);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

char *tu_read_file(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = calloc(1, (size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	if (len != NULL)
		*len = (size_t)st.st_size;
	return buf;
}

int tu_all_zero(const void *p, size_t len)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

int tu_setup_oath(void **state)
{
	(void)state;
	return oath_init() == OATH_OK ? 0 : -1;
}

int tu_teardown_oath(void **state)
{
	(void)state;
	oath_done();
	return 0;
}
