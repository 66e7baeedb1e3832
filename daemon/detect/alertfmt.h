/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The text forms of an alert record (detect.h): the syslog line SIEM rules
 * match on, and the JSON object the webhook posts. Pure formatting, with
 * the escaping rules of common/strbuf.h.
 */
#ifndef PHIGUARD_DAEMON_ALERTFMT_H
#define PHIGUARD_DAEMON_ALERTFMT_H

#include <stddef.h>

#include "detect/detect.h"
#include "username.h"

/* Longest line alertfmt_syslog / alertfmt_json write, with NUL: every byte
 * of user, source and detail may take 6 bytes once escaped. */
#define ALERTFMT_LINE_MAX                                                      \
	(256 + 6 * (PG_USER_MAX + DETECT_SOURCE_MAX + DETECT_DETAIL_MAX))

/*
 * One syslog line (no newline), stable key=value shape:
 *   <id> kind=<kind> severity=alert|warning time=<RFC 3339 UTC>
 *   user=<u> source_type=<t> source=<s> detail="<text>"
 * user, source_type and source are "-" when empty and escaped by the
 * key=value rule (strbuf_kv: bytes below 0x21, above 0x7e, '%', '=' and
 * '"' as %XX); detail is in double quotes with '"' and '\' backslash-
 * escaped and non-printable bytes as \xXX. Writes at most len bytes with
 * the NUL; returns 0, or PG_ERR_TOOLONG (buf holds "" then, never a cut
 * line). ALERTFMT_LINE_MAX always fits.
 */
int alertfmt_syslog(const struct detect_alert *alert, char *buf, size_t len);

/*
 * One JSON object (no newline): {"time":"<RFC 3339 UTC>","alert":"<id>",
 * "kind":..,"severity":"alert"|"warning","user":..,"source_type":..,
 * "source":..,"detail":..}; strings escaped by the JSON rule
 * (strbuf_json_str: valid UTF-8 kept, control bytes as \u00xx, invalid
 * bytes as U+FFFD, so the output is always valid UTF-8). Same returns as
 * alertfmt_syslog().
 */
int alertfmt_json(const struct detect_alert *alert, char *buf, size_t len);

/* Send the syslog line at the alert's severity (log_alert or log_warnx). */
void alertfmt_log(const struct detect_alert *alert);

#endif
