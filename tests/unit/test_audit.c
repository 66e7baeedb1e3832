/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for the audit trail writer (daemon/audit/audit.c) and its files
 * (daemon/audit/auditfile.c): records reach the file chained, a restart goes on
 * from the last complete line after a torn write, rotation keeps the
 * chain, and a trail that cannot be opened is reported failed. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/audit/audit.h"
#include "daemon/audit/auditchain.h"
#include "daemon/audit/auditfile.h"
#include "err.h"
#include "log.h"
#include "testutil.h"
#include "timeutil.h"

static struct audit_params params(const char *file)
{
	struct audit_params p = {file, 0, 1, 1 << 20, 3600, "ws1"};

	return p;
}

static void record(struct pg_audit *a, const char *event, const char *user)
{
	struct audit_rec r;

	memset(&r, 0, sizeof(r));
	r.event = event;
	r.user = user;
	r.uid = -1;
	assert_int_equal(audit_record(a, &r, 0), 0);
}

/* Verify the files (oldest first) as one chain; returns the kind and
 * the number of lines in *n. */
static enum auditchain_kind verify_files(const char *const *files,
                                         size_t nfiles, size_t *n)
{
	static char *texts[8];
	struct auditchain_line lines[256] = {{NULL, 0, 0}};
	struct auditchain_result res;
	size_t f, cnt = 0, len;
	char *p, *nl;

	for (f = 0; f < nfiles; f++) {
		texts[f] = tu_read_file(files[f], &len);
		for (p = texts[f]; p < texts[f] + len; p = nl + 1) {
			nl = memchr(p, '\n', (size_t)(texts[f] + len - p));
			assert_non_null(nl);
			assert_true(cnt < 256);
			lines[cnt].p = p;
			lines[cnt].len = (size_t)(nl - p);
			lines[cnt].complete = 1;
			cnt++;
		}
	}
	assert_int_equal(auditchain_verify(lines, cnt, NULL, NULL, &res), 0);
	for (f = 0; f < nfiles; f++)
		free(texts[f]);
	*n = cnt;
	return res.kind;
}

static size_t count_lines(const char *path)
{
	size_t len, i, n = 0;
	char *t = tu_read_file(path, &len);

	for (i = 0; i < len; i++)
		n += t[i] == '\n';
	free(t);
	return n;
}

static void test_write_and_restart(void **state)
{
	char path[256], torn[300], head[AUDIT_HEX_SIZE], fhead[AUDIT_HEX_SIZE];
	struct audit_params p;
	struct audit_status st;
	struct pg_audit *a;
	const char *files[1];
	size_t n;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s", tu_path("audit.log"));
	p = params(path);
	assert_int_equal(audit_new(&p, NULL, &a), 0);
	record(a, "daemon-start", NULL);
	record(a, "authz-allow", "nurse1");
	record(a, "check-deny", "nurse\"2\n");
	audit_free(a);
	files[0] = path;
	assert_int_equal(verify_files(files, 1, &n), AUDITCHAIN_OK);
	assert_int_equal(n, 3);

	/* A crash mid-write: the torn tail is moved aside, the chain goes
	 * on from the last complete line. */
	f = fopen(path, "a");
	assert_non_null(f);
	fputs("{\"time\":\"2026-11-29T00:1", f);
	fclose(f);
	assert_int_equal(audit_new(&p, NULL, &a), 0);
	record(a, "daemon-start", NULL);
	audit_get_status(a, &st);
	assert_false(st.failed);
	audit_free(a);
	assert_int_equal(verify_files(files, 1, &n), AUDITCHAIN_OK);
	assert_int_equal(n, 4);
	snprintf(torn, sizeof(torn), "%s.torn-*", path);
	{
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "test -s %s", torn);
		assert_int_equal(system(cmd), 0);
	}
	/* The head from the file is the hash of the last line. */
	assert_int_equal(auditfile_head(path, fhead), 0);
	assert_int_equal(audit_new(&p, NULL, &a), 0);
	audit_get_status(a, &st);
	memcpy(head, st.head, sizeof(head));
	audit_free(a);
	assert_string_equal(head, fhead);
}

/* Wait (at most 5 s) until the writer has written n lines since start:
 * what was queued before a rotation request must be in the old file. */
static void wait_written(struct pg_audit *a, uint64_t n)
{
	struct audit_status st;
	int i;

	for (i = 0; i < 500; i++) {
		audit_get_status(a, &st);
		if (st.records >= n)
			return;
		usleep(10000);
	}
	fail_msg("the audit writer wrote %llu of %llu lines in 5 s",
	         (unsigned long long)st.records, (unsigned long long)n);
}

static void test_rotation(void **state)
{
	char path[256], r1[300], r2[300];
	const char *files[8];
	struct audit_params p;
	struct pg_audit *a;
	char **names;
	size_t n, i, lines, len;
	char *t;
	int k;

	(void)state;
	snprintf(path, sizeof(path), "%s", tu_path("rot.log"));
	snprintf(r1, sizeof(r1), "%s.1", path);
	snprintf(r2, sizeof(r2), "%s.2", path);
	p = params(path);
	/* On request: FILE.1, FILE.2, each new file opened by the
	 * rotation record, chained on. */
	assert_int_equal(audit_new(&p, NULL, &a), 0);
	for (k = 0; k < 11; k++) {
		record(a, "authz-allow", "nurse1");
		if (k == 4 || k == 9) {
			/* records so far, plus the rotation record already
			 * written for the first rotation */
			wait_written(a, (uint64_t)k + 1 + (k == 9));
			assert_int_equal(audit_rotate(a, 0, 0, "request"), 0);
			wait_written(a, (uint64_t)k + 2 + (k == 9));
		}
	}
	audit_free(a);
	assert_int_equal(auditfile_rotated(path, &names, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], r1);
	assert_string_equal(names[1], r2);
	files[0] = names[0];
	files[1] = names[1];
	files[2] = path;
	assert_int_equal(verify_files(files, 3, &lines), AUDITCHAIN_OK);
	assert_int_equal(lines, 11 + 2);
	assert_int_equal(count_lines(r1), 5);
	assert_int_equal(count_lines(r2), 6);
	t = tu_read_file(path, &len);
	/* The first line of the new file is the rotation record. */
	assert_non_null(strstr(t, "\"event\":\"audit-rotate\""));
	assert_true(strstr(t, "audit-rotate") < strchr(t, '\n'));
	free(t);
	auditfile_free_names(names, n);

	/* By size: whatever the batches, the chain holds across files. */
	snprintf(path, sizeof(path), "%s", tu_path("size.log"));
	p = params(path);
	p.rotate_size = 4096;
	assert_int_equal(audit_new(&p, NULL, &a), 0);
	for (k = 0; k < 40; k++) {
		record(a, "authz-allow", "nurse1");
		if (k % 5 == 4)
			usleep(20000);
	}
	audit_free(a);
	assert_int_equal(auditfile_rotated(path, &names, &n, NULL), 0);
	assert_true(n >= 1 && n < 7);
	for (i = 0; i < n; i++)
		files[i] = names[i];
	files[n] = path;
	assert_int_equal(verify_files(files, n + 1, &lines), AUDITCHAIN_OK);
	assert_int_equal(lines, 40 + n);
	auditfile_free_names(names, n);
}

static void test_unwritable(void **state)
{
	char dir[256], path[300];
	struct audit_params p;
	struct audit_status st;
	struct pg_audit *a;
	struct audit_rec r;

	(void)state;
	snprintf(dir, sizeof(dir), "%s", tu_path("nodir"));
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	p = params(path);
	assert_int_equal(audit_new(&p, NULL, &a), 0);
	audit_get_status(a, &st);
	assert_true(st.failed);
	assert_true(audit_refusing(a));
	memset(&r, 0, sizeof(r));
	r.event = "authz-allow";
	r.uid = -1;
	assert_int_equal(audit_record(a, &r, 0), PG_ERR_IO);
	/* The directory appears: the writer recovers by itself and writes
	 * what was queued. */
	assert_int_equal(mkdir(dir, 0700), 0);
	usleep(1500 * 1000);
	audit_get_status(a, &st);
	assert_false(st.failed);
	assert_false(audit_refusing(a));
	audit_free(a);
	assert_int_equal(count_lines(path), 1);
	/* audit_failure = syslog: never refusing. */
	p.fail_deny = 0;
	snprintf(path, sizeof(path), "%s/none/audit.log", dir);
	assert_int_equal(audit_new(&p, NULL, &a), 0);
	assert_false(audit_refusing(a));
	audit_free(a);
}

/* Bytes a record of test_shares takes in the queue (its length first). */
static size_t queued_size(const char *event, const char *user, long uid)
{
	char body[AUDIT_LINE_MAX];
	struct audit_rec r;
	size_t len;

	memset(&r, 0, sizeof(r));
	r.time_ms = time_mono_ms() + 1700000000000; /* any 24-byte time */
	r.host = "ws1";
	r.event = event;
	r.user = user;
	r.reason = uid >= 0 ? "permission PREAUTH" : NULL;
	r.uid = uid;
	assert_int_equal(auditfmt_body(&r, body, sizeof(body), &len), 0);
	return len + sizeof(uint32_t);
}

/*
 * Who may fill how much of the queue, with a writer that cannot drain it
 * (its trail fails): noise a quarter, then it is dropped; requests of
 * non-root peers are let in below half; decisions take the rest and are
 * then lost at once (no wait while the trail is failing). Nothing queued
 * is lost once the trail is back, and the chain says what was not.
 */
static void test_shares(void **state)
{
	char dir[256], path[300], *text;
	struct audit_params p;
	struct audit_status st;
	struct pg_audit *a;
	struct audit_rec r;
	size_t noise = 0, decisions = 0, len, ln, ld;
	int64_t t0;
	int err;

	(void)state;
	snprintf(dir, sizeof(dir), "%s", tu_path("later"));
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	p = params(path);
	p.rotate_size = 64L << 20; /* all in one file */
	assert_int_equal(audit_new(&p, NULL, &a), 0);
	/* Thousands of mirrored lines: not into the test's log. */
	fflush(stderr);
	err = dup(2);
	assert_true(err >= 0);
	assert_non_null(freopen("/dev/null", "w", stderr));
	memset(&r, 0, sizeof(r));
	/* The writer takes what is queued once, and keeps it until it can
	 * write it: from then on nothing leaves the queue. */
	r.event = "daemon-start";
	r.uid = -1;
	assert_int_equal(audit_record(a, &r, 0), PG_ERR_IO);
	usleep(200 * 1000);
	r.event = "refused";
	r.reason = "permission PREAUTH";
	r.uid = 65534;
	while (audit_record_noise(a, &r) == PG_ERR_IO)
		noise++;
	assert_true(audit_peer_room(a));
	r.event = "session-open";
	r.user = "nurse1";
	r.reason = NULL;
	r.uid = -1;
	while (audit_peer_room(a)) {
		assert_int_equal(audit_record(a, &r, 0), PG_ERR_IO);
		decisions++;
	}
	t0 = time_mono_ms();
	while (audit_record(a, &r, 0) == PG_ERR_IO)
		decisions++;
	assert_true(time_mono_ms() - t0 < AUDIT_ROOM_WAIT_MS);
	fflush(stderr);
	assert_true(dup2(err, 2) == 2);
	close(err);
	audit_get_status(a, &st);
	assert_int_equal(st.dropped, 1);
	assert_int_equal(st.lost, 1);
	/* Noise filled a quarter, decisions the rest, to the record. */
	ln = queued_size("refused", NULL, 65534);
	ld = queued_size("session-open", "nurse1", -1);
	assert_true(noise * ln <= AUDIT_NOISE_BYTES &&
	            (noise + 1) * ln > AUDIT_NOISE_BYTES);
	assert_true(noise * ln + decisions * ld <= AUDIT_QUEUE_BYTES &&
	            noise * ln + (decisions + 1) * ld > AUDIT_QUEUE_BYTES);
	assert_true(audit_refusing(a));
	assert_int_equal(mkdir(dir, 0700), 0);
	usleep(1500 * 1000);
	assert_false(audit_refusing(a));
	audit_free(a);
	assert_int_equal(count_lines(path), 1 + noise + decisions + 2);
	text = tu_read_file(path, &len);
	assert_non_null(strstr(text, "\"event\":\"audit-lost\""));
	assert_non_null(strstr(text, "\"reason\":\"queue-full\",\"rule\":null,"
	                             "\"source\":null,\"uid\":null,"
	                             "\"count\":1,"));
	assert_non_null(strstr(text, "\"reason\":\"noise\",\"rule\":null,"
	                             "\"source\":null,\"uid\":null,"
	                             "\"count\":1,"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
	        test_write_and_restart, tu_setup_tmpdir, tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_rotation, tu_setup_tmpdir,
	                                    tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_unwritable, tu_setup_tmpdir,
	                                    tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_shares, tu_setup_tmpdir,
	                                    tu_teardown_tmpdir),
	};

	/* Quiet: the writer's news go to stderr. */
	log_init("test_audit", 1, PG_LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
