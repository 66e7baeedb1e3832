/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * An LD_PRELOAD shim for test_state_commit.sh and test_site_commit.sh:
 * fdatasync(2) and fsync(2) of a file named PG_SLOWSYNC_NAME (default
 * state.log) sleep PG_SLOWSYNC_MS milliseconds (default 300) before
 * syncing, as a slow disk would, so that a test can see what the daemon
 * does while such a sync is in progress. Other files are synced at once.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int fdatasync(int fd);
int fsync(int fd);

static int is_slow_file(int fd)
{
	const char *name = getenv("PG_SLOWSYNC_NAME");
	char link[64], path[4096];
	const char *base;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, path, sizeof(path) - 1)) < 0)
		return 0;
	path[n] = '\0';
	base = strrchr(path, '/');
	return base != NULL &&
	       strcmp(base + 1, name != NULL ? name : "state.log") == 0;
}

/* PG_SLOWSYNC_MS of sleep if fd is the slow file. */
static void slow_down(int fd)
{
	const char *ms = getenv("PG_SLOWSYNC_MS");
	long delay = ms != NULL ? atol(ms) : 300;
	struct timespec ts;

	if (delay > 0 && is_slow_file(fd)) {
		ts.tv_sec = delay / 1000;
		ts.tv_nsec = (delay % 1000) * 1000000L;
		while (nanosleep(&ts, &ts) != 0)
			;
	}
}

int fdatasync(int fd)
{
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");

	slow_down(fd);
	return real(fd);
}

int fsync(int fd)
{
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fsync");

	slow_down(fd);
	return real(fd);
}
