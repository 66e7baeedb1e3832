/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * An LD_PRELOAD shim for test_state_commit.sh: fdatasync(2) of a file
 * named state.log sleeps PG_SLOWSYNC_MS milliseconds (default 300) before
 * syncing, as a slow disk would, so that a test can see what the daemon
 * does while a state log commit is in progress. Other files are synced at
 * once.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int fdatasync(int fd);

static int is_state_log(int fd)
{
	char link[64], path[4096];
	const char *base;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, path, sizeof(path) - 1)) < 0)
		return 0;
	path[n] = '\0';
	base = strrchr(path, '/');
	return base != NULL && strcmp(base + 1, "state.log") == 0;
}

int fdatasync(int fd)
{
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	const char *ms = getenv("PG_SLOWSYNC_MS");
	long delay = ms != NULL ? atol(ms) : 300;
	struct timespec ts;

	if (delay > 0 && is_state_log(fd)) {
		ts.tv_sec = delay / 1000;
		ts.tv_nsec = (delay % 1000) * 1000000L;
		while (nanosleep(&ts, &ts) != 0)
			;
	}
	return real(fd);
}
