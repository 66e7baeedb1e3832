/* SPDX-License-Identifier: BSD-3-Clause */
/* Leveled logging to syslog (LOG_AUTHPRIV), stderr, or the journal through
 * stderr, with an optional request-id prefix; the daemon's only way to
 * log. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX 2048

static char log_ident[64] = "phiguard";
static int log_to_stderr = 1;
static int log_to_journal;
static enum pg_log_level log_level = PG_LOG_INFO;
/* Per thread: set by the event loop around a request; the directory and
 * webhook threads never see the loop's value (nor race on it). */
static _Thread_local unsigned long log_request;

/*
 * systemd sets JOURNAL_STREAM=DEV:INODE when it connects a service's stderr
 * to journald (systemd.exec(5)). The pair must be our stderr's own: a child
 * inherits the variable after its stderr was redirected elsewhere.
 */
static int stderr_is_journal(void)
{
	const char *v = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char *end;

	if (v == NULL || *v < '0' || *v > '9')
		return 0;
	errno = 0;
	dev = strtoull(v, &end, 10);
	if (errno != 0 || *end != ':' || end[1] < '0' || end[1] > '9')
		return 0;
	ino = strtoull(end + 1, &end, 10);
	if (errno != 0 || *end != '\0' || fstat(STDERR_FILENO, &st) != 0)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

void log_init(const char *ident, int to_stderr, enum pg_log_level level)
{
	/* openlog() keeps the pointer, so it must point at our own copy. */
	snprintf(log_ident, sizeof(log_ident), "%s",
	         ident != NULL ? ident : "phiguard");
	log_to_stderr = to_stderr;
	log_to_journal = to_stderr && stderr_is_journal();
	log_level = level;
	closelog();
	if (!to_stderr)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
}

void log_setrequest(unsigned long id)
{
	log_request = id;
}

int log_enabled(enum pg_log_level level)
{
	return level <= log_level;
}

/*
 * The start of a stderr line. For the journal, only the "<N>" priority
 * prefix journald reads (sd-daemon(3)): it adds time, ident and pid
 * itself, and would otherwise file every line at the unit's default
 * level. Returns the bytes written to line.
 */
static size_t log_prefix(char *line, size_t size, int prio)
{
	size_t pos = 0;
	struct tm tm;
	time_t now;
	int n;

	if (log_to_journal) {
		n = snprintf(line, size, "<%d>", LOG_PRI(prio));
		return n > 0 ? (size_t)n : 0;
	}
	now = time(NULL);
	if (localtime_r(&now, &tm) != NULL)
		pos = strftime(line, size, "%Y-%m-%dT%H:%M:%S%z ", &tm);
	n = snprintf(line + pos, size - pos, "%s[%ld]: ", log_ident,
	             (long)getpid());
	return pos + (n > 0 ? (size_t)n : 0);
}

/*
 * Assemble the whole line first and emit it with one write(2), so lines
 * from several processes sharing stderr do not interleave. errnum >= 0
 * appends strerror(errnum). Over-long lines are truncated, never split;
 * for the journal a line break inside the message becomes a space, so no
 * part of it is filed at another priority.
 */
static PG_PRINTF(4, 0) void log_vemit(int prio, enum pg_log_level need,
                                      int errnum, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX], *nl;
	size_t pos = 0, start;
	int n;

	if (need > log_level)
		return;
	if (log_to_stderr)
		pos = log_prefix(line, sizeof(line), prio);
	start = pos;
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
	line[pos] = '\0';
	while (log_to_journal && (nl = strchr(line + start, '\n')) != NULL)
		*nl = ' ';

	if (log_to_stderr) {
		line[pos++] = '\n';
		/* Nothing sensible can be done if stderr is gone. */
		if (write(STDERR_FILENO, line, pos) < 0)
			return;
	} else
		syslog(prio, "%s", line);
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
/* Audit records (daemon/audit/audit.c): at every level, like warnings, since
 * the trail's syslog copy is not optional. */
LOG_FUNC(log_notice, LOG_NOTICE, PG_LOG_ERR, 0)
LOG_FUNC(log_info, LOG_INFO, PG_LOG_INFO, 0)
LOG_FUNC(log_debug, LOG_DEBUG, PG_LOG_DEBUG, 0)
