/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for site mode's kept token records (daemon/tokens/tokkeep.c):
 * offline_grace, what is to be written back, the file's round trip and
 * its mode. */
#include "config.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/tokens/tokkeep.h"
#include "err.h"

static char dir[] = "/tmp/pg-test_tokkeep.XXXXXX";

static int opendir_fd(void)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

static void rec_of(struct tokrec *rec, const char *line)
{
	memset(rec, 0, sizeof(*rec));
	rec->found = 1;
	rec->period = 30;
	snprintf(rec->line, sizeof(rec->line), "%s", line);
}

static int taken;

/* A write-back submitted for r. */
static int take(struct tokkeep_rec *r, void *arg)
{
	(void)arg;
	r->in_flight = 1;
	taken++;
	return 0;
}

static void test_grace_and_pending(void **state)
{
	struct tokkeep *k = NULL;
	struct tokkeep_rec *r;
	struct tokrec rec;

	(void)state;
	assert_int_equal(tokkeep_load(opendir_fd(), &k), 0);
	assert_null(tokkeep_get(k, "nurse1", 1000, 60));
	rec_of(&rec, "nurse1 SHA1 6 30 JBSWY3DPEHPK3PXP phone");
	assert_int_equal(tokkeep_put(k, "nurse1", &rec, 1000), 0);
	assert_true(tokkeep_dirty(k));
	assert_non_null(r = tokkeep_get(k, "nurse1", 1060, 60));
	assert_null(tokkeep_get(k, "nurse1", 1061, 60));
	assert_false(tokkeep_has_pending(k));
	tokkeep_claimed(k, r);
	tokkeep_failed(k, r, 1010);
	tokkeep_failed(k, r, 1020);
	assert_int_equal(r->failures, 2);
	assert_int_equal(r->last_failure, 1020);
	assert_true(tokkeep_has_pending(k));
	/* Pending: not forgotten with its token. */
	tokkeep_forget(k, "nurse1");
	assert_non_null(tokkeep_get(k, "nurse1", 1000, 60));
	/* One failure more while the write-back of two is under way. */
	taken = 0;
	tokkeep_foreach_pending(k, take, NULL);
	assert_int_equal(taken, 1);
	assert_true(r->in_flight);
	assert_false(tokkeep_has_pending(k));
	tokkeep_failed(k, r, 1030);
	tokkeep_written(k, "nurse1", 0, 1, 2);
	r = tokkeep_get(k, "nurse1", 1000, 60);
	assert_int_equal(r->claimed, 0);
	assert_int_equal(r->failures, 1);
	assert_int_equal(r->in_flight, 0);
	assert_true(tokkeep_has_pending(k));
	/* A failed write-back keeps it all. */
	tokkeep_foreach_pending(k, take, NULL);
	tokkeep_written(k, "nurse1", PG_ERR_UNAVAIL, 0, 1);
	assert_int_equal(r->failures, 1);
	assert_true(tokkeep_has_pending(k));
	tokkeep_succeeded(k, r);
	/* Nothing left: the next walk finds none and says so. */
	taken = 0;
	tokkeep_foreach_pending(k, take, NULL);
	assert_int_equal(taken, 0);
	assert_false(tokkeep_has_pending(k));
	tokkeep_forget(k, "nurse1");
	assert_null(tokkeep_get(k, "nurse1", 1000, 60));
	tokkeep_free(k);
}

static void test_file(void **state)
{
	char path[sizeof(dir) + 32];
	struct tokkeep *k = NULL;
	struct tokkeep_rec *r;
	struct tokrec rec;
	struct stat sb;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/%s", dir, TOKKEEP_FILE);
	assert_int_equal(tokkeep_load(opendir_fd(), &k), 0);
	rec_of(&rec, "nurse2 SHA1 6 30 pgseal1:0011223344556677:QUJD");
	assert_int_equal(tokkeep_put(k, "nurse2", &rec, 2000), 0);
	tokkeep_claimed(k, tokkeep_get(k, "nurse2", 2000, 60));
	tokkeep_failed(k, tokkeep_get(k, "nurse2", 2000, 60), 2005);
	assert_int_equal(tokkeep_save(k), 0);
	assert_false(tokkeep_dirty(k));
	tokkeep_free(k);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	/* Read back, a malformed line skipped. */
	assert_non_null(f = fopen(path, "a"));
	fputs("not a record\n", f);
	fclose(f);
	k = NULL;
	assert_int_equal(tokkeep_load(opendir_fd(), &k), 0);
	assert_non_null(r = tokkeep_get(k, "nurse2", 2000, 60));
	assert_string_equal(r->line,
	                    "nurse2 SHA1 6 30 pgseal1:0011223344556677:QUJD");
	assert_int_equal(r->period, 30);
	assert_int_equal(r->read_at, 2000);
	assert_int_equal(r->claimed, 1);
	assert_int_equal(r->failures, 1);
	assert_int_equal(r->last_failure, 2005);
	tokkeep_free(k);

	/* Readable by others: refused. */
	assert_int_equal(chmod(path, 0644), 0);
	k = NULL;
	assert_int_equal(tokkeep_load(opendir_fd(), &k), PG_ERR_UNSAFE_FILE);
	assert_null(k);
	assert_int_equal(unlink(path), 0);
}

/* The save in steps, as the token store's worker makes it: the image
 * is the records when it was taken; a change meanwhile is the next one's;
 * a failed write makes them to be saved again. */
static void test_image(void **state)
{
	struct tokkeep_image *img = NULL;
	struct tokkeep *k = NULL;
	struct tokrec rec;

	(void)state;
	assert_int_equal(tokkeep_load(opendir_fd(), &k), 0);
	assert_int_equal(tokkeep_image(k, &img), 0);
	assert_null(img); /* nothing changed */
	rec_of(&rec, "nurse3 SHA1 6 30 JBSWY3DPEHPK3PXP phone");
	assert_int_equal(tokkeep_put(k, "nurse3", &rec, 3000), 0);
	assert_int_equal(tokkeep_image(k, &img), 0);
	assert_non_null(img);
	assert_false(tokkeep_dirty(k));
	/* Changed while the image is being written. */
	rec_of(&rec, "nurse4 SHA1 6 30 JBSWY3DPEHPK3PXP phone");
	assert_int_equal(tokkeep_put(k, "nurse4", &rec, 3001), 0);
	assert_int_equal(tokkeep_image_write(img), 0);
	tokkeep_image_done(k, img, 0);
	assert_true(tokkeep_dirty(k));
	/* A failed write: to be saved again. */
	assert_int_equal(tokkeep_image(k, &img), 0);
	assert_false(tokkeep_dirty(k));
	tokkeep_image_done(k, img, PG_ERR_IO);
	assert_true(tokkeep_dirty(k));
	tokkeep_free(k);
	/* What the written image held: nurse3 only. */
	k = NULL;
	assert_int_equal(tokkeep_load(opendir_fd(), &k), 0);
	assert_non_null(tokkeep_get(k, "nurse3", 3000, 60));
	assert_null(tokkeep_get(k, "nurse4", 3001, 60));
	tokkeep_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_grace_and_pending),
	    cmocka_unit_test(test_file),
	    cmocka_unit_test(test_image),
	};
	int rc;

	if (mkdtemp(dir) == NULL)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	(void)rmdir(dir);
	return rc;
}
