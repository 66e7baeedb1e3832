/* SPDX-License-Identifier: BSD-3-Clause */
/* An alert record as a syslog line and as a JSON object. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

#include "detect/alertfmt.h"
#include "err.h"
#include "log.h"
#include "strbuf.h"

static void fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "1970-01-01T00:00:00Z");
}

static const char *sev_name(int severity)
{
	return severity == LOG_ALERT ? "alert" : "warning";
}

/* detail="..." of the syslog line: our own short text, so a C-like
 * quoting reads better than percent-encoding. */
static void put_quoted(struct strbuf *sb, const char *val)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)val;
	char esc[4];

	strbuf_putc(sb, '"');
	for (; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			strbuf_put(sb, esc, 2);
		} else if (*p < 0x20 || *p > 0x7e) {
			esc[0] = '\\';
			esc[1] = 'x';
			esc[2] = hex[*p >> 4];
			esc[3] = hex[*p & 15];
			strbuf_put(sb, esc, 4);
		} else {
			strbuf_putc(sb, (char)*p);
		}
	}
	strbuf_putc(sb, '"');
}

/* The end of both forms: never a cut line. */
static int finish(const struct strbuf *sb, char *buf, size_t len)
{
	if (strbuf_finish(sb) == 0)
		return 0;
	if (len > 0)
		buf[0] = '\0';
	return PG_ERR_TOOLONG;
}

int alertfmt_syslog(const struct detect_alert *a, char *buf, size_t len)
{
	struct strbuf sb;
	char ts[32];

	strbuf_init(&sb, buf, len);
	fmt_time(a->time, ts, sizeof(ts));
	strbuf_puts(&sb, a->id);
	strbuf_kv(&sb, "kind", detect_kind_name(a->kind), SIZE_MAX);
	strbuf_kv(&sb, "severity", sev_name(a->severity), SIZE_MAX);
	strbuf_kv(&sb, "time", ts, SIZE_MAX);
	strbuf_kv(&sb, "user", a->user, SIZE_MAX);
	strbuf_kv(&sb, "source_type", a->source_type, SIZE_MAX);
	strbuf_kv(&sb, "source", a->source, SIZE_MAX);
	strbuf_puts(&sb, " detail=");
	put_quoted(&sb, a->detail);
	return finish(&sb, buf, len);
}

int alertfmt_json(const struct detect_alert *a, char *buf, size_t len)
{
	struct strbuf sb;
	char ts[32];

	strbuf_init(&sb, buf, len);
	fmt_time(a->time, ts, sizeof(ts));
	strbuf_puts(&sb, "{\"time\":");
	strbuf_json_str(&sb, ts);
	strbuf_puts(&sb, ",\"alert\":");
	strbuf_json_str(&sb, a->id);
	strbuf_puts(&sb, ",\"kind\":");
	strbuf_json_str(&sb, detect_kind_name(a->kind));
	strbuf_puts(&sb, ",\"severity\":");
	strbuf_json_str(&sb, sev_name(a->severity));
	strbuf_puts(&sb, ",\"user\":");
	strbuf_json_str(&sb, a->user);
	strbuf_puts(&sb, ",\"source_type\":");
	strbuf_json_str(&sb, a->source_type);
	strbuf_puts(&sb, ",\"source\":");
	strbuf_json_str(&sb, a->source);
	strbuf_puts(&sb, ",\"detail\":");
	strbuf_json_str(&sb, a->detail);
	strbuf_putc(&sb, '}');
	return finish(&sb, buf, len);
}

void alertfmt_log(const struct detect_alert *a)
{
	char line[ALERTFMT_LINE_MAX];

	if (alertfmt_syslog(a, line, sizeof(line)) != 0)
		return;
	/* log_alert's lines start with "ALERT": SIEM rules match on it and
	 * on the stable id after it. */
	if (a->severity == LOG_ALERT)
		log_alert("ALERT %s", line);
	else
		log_warnx("ALERT %s", line);
}
