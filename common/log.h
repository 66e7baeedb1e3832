/* SPDX-License-Identifier: BSD-3-Clause */
/* Logging for the daemon and phiguardctl (the PAM module logs through
 * pam_syslog instead). log_warn/log_err append strerror(errno); the
 * ...x variants do not; the _f variants prefix the function name. */
#ifndef PHIGUARD_COMMON_LOG_H
#define PHIGUARD_COMMON_LOG_H

enum pg_log_level { PG_LOG_ERR = 0, PG_LOG_INFO = 1, PG_LOG_DEBUG = 2 };

/* ident for syslog; to_stderr: write to stderr instead of syslog
 * (LOG_AUTHPRIV), as "TIME ident[pid]: text" lines, or, if stderr is the
 * journal (JOURNAL_STREAM names it), as "<N>text" with N the syslog
 * priority. Call once before logging; may be called again. */
void log_init(const char *ident, int to_stderr, enum pg_log_level level);
/* A request id prefixed to each line the calling thread logs until reset
 * with 0 (thread-local: other threads' lines are not tagged). */
void log_setrequest(unsigned long id);
/* 1 if a line at level would be logged now (log_init's level), so that a
 * caller can skip building a line nobody will see; else 0. */
int log_enabled(enum pg_log_level level);

#define PG_PRINTF(a, b) __attribute__((format(printf, a, b)))
/* LOG_ALERT: a security event someone must look at now (break-glass,
 * push fatigue). Messages start with "ALERT <id>" so they read the same
 * on stderr, where the priority is not shown. */
void log_alert(const char *fmt, ...) PG_PRINTF(1, 2);
void log_err(const char *fmt, ...) PG_PRINTF(1, 2);
void log_errx(const char *fmt, ...) PG_PRINTF(1, 2);
void log_warn(const char *fmt, ...) PG_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) PG_PRINTF(1, 2);
/* LOG_NOTICE, shown at every level: the audit trail's syslog copy. */
void log_notice(const char *fmt, ...) PG_PRINTF(1, 2);
void log_info(const char *fmt, ...) PG_PRINTF(1, 2);
void log_debug(const char *fmt, ...) PG_PRINTF(1, 2);

#define log_warn_f(fmt, ...)  log_warn("%s: " fmt, __func__, ##__VA_ARGS__)
#define log_warnx_f(fmt, ...) log_warnx("%s: " fmt, __func__, ##__VA_ARGS__)
#define log_debug_f(fmt, ...) log_debug("%s: " fmt, __func__, ##__VA_ARGS__)

#endif
