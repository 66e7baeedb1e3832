/* SPDX-License-Identifier: BSD-3-Clause */
/* Leveled logging to syslog (LOG_AUTHPRIV) or stderr, with an optional
 * request-id prefix; the daemon's and phiguardctl's only way to log. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX 2048

static char log_ident[64] = "phiguard";
static int log_to_stderr = 1;
static enum pg_log_level log_level = PG_LOG_INFO;
static unsigned long log_request;

void log_init(const char *ident, int to_stderr, enum pg_log_level level)
{
	/* openlog() keeps the pointer, so it must point at our own copy. */
	snprintf(log_ident, sizeof(log_ident), "%s",
	         ident != NULL ? ident : "phiguard");
	log_to_stderr = to_stderr;
	log_level = level;
	closelog();
	if (!to_stderr)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
}

void log_setlevel(enum pg_log_level level)
{
	log_level = level;
}

void log_setrequest(unsigned long id)
{
	log_request = id;
}

/*
 * Assemble the whole line first and emit it with one write(2), so lines
 * from several processes sharing stderr do not interleave. errnum >= 0
 * appends strerror(errnum). Over-long lines are truncated, never split.
 */
static PG_PRINTF(4, 0) void log_vemit(int prio, enum pg_log_level need,
                                      int errnum, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	size_t pos = 0;
	struct tm tm;
	time_t now;
	int n;

	if (need > log_level)
		return;
	if (log_to_stderr) {
		now = time(NULL);
		if (localtime_r(&now, &tm) != NULL)
			pos = strftime(line, sizeof(line),
			               "%Y-%m-%dT%H:%M:%S%z ", &tm);
		n = snprintf(line + pos, sizeof(line) - pos,
		             "%s[%ld]: ", log_ident, (long)getpid());
		pos += n > 0 ? (size_t)n : 0;
	}
	if (log_request != 0 && pos < sizeof(line)) {
		n = snprintf(line + pos, sizeof(line) - pos, "[req %lu] ",
		             log_request);
		pos += n > 0 ? (size_t)n : 0;
	}
	if (pos < sizeof(line)) {
		n = vsnprintf(line + pos, sizeof(line) - pos, fmt, ap);
		pos += n > 0 ? (size_t)n : 0;
	}
	if (errnum >= 0 && pos < sizeof(line)) {
		n = snprintf(line + pos, sizeof(line) - pos, ": %s",
		             strerror(errnum));
		pos += n > 0 ? (size_t)n : 0;
	}
	if (pos >= sizeof(line))
		pos = sizeof(line) - 2; /* keep room for "\n" */

	if (log_to_stderr) {
		line[pos++] = '\n';
		/* Nothing sensible can be done if stderr is gone. */
		if (write(STDERR_FILENO, line, pos) < 0)
			return;
	} else {
		line[pos] = '\0';
		syslog(prio, "%s", line);
	}
}

#define LOG_FUNC(name, prio, need, with_errno)                                 \
	void name(const char *fmt, ...)                                        \
	{                                                                      \
		int saved_errno = errno;                                       \
		va_list ap;                                                    \
                                                                               \
		va_start(ap, fmt);                                             \
		log_vemit(prio, need, with_errno ? saved_errno : -1, fmt, ap); \
		va_end(ap);                                                    \
		errno = saved_errno;                                           \
	}

/* Warnings show at every level: they report something an admin must fix. */
LOG_FUNC(log_alert, LOG_ALERT, PG_LOG_ERR, 0)
LOG_FUNC(log_err, LOG_ERR, PG_LOG_ERR, 1)
LOG_FUNC(log_errx, LOG_ERR, PG_LOG_ERR, 0)
LOG_FUNC(log_warn, LOG_WARNING, PG_LOG_ERR, 1)
LOG_FUNC(log_warnx, LOG_WARNING, PG_LOG_ERR, 0)
/* Audit records (daemon/audit.c): at every level, like warnings, since
 * the trail's syslog copy is not optional. */
LOG_FUNC(log_notice, LOG_NOTICE, PG_LOG_ERR, 0)
LOG_FUNC(log_info, LOG_INFO, PG_LOG_INFO, 0)
LOG_FUNC(log_debug, LOG_DEBUG, PG_LOG_DEBUG, 0)
