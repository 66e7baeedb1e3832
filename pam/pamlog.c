/* SPDX-License-Identifier: BSD-3-Clause */
/* pam_syslog lines for pam_phiguard, in the one shape log parsers rely on. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <security/pam_ext.h>

#include "pamlog.h"

/* Room for one escaped value; longer ones are cut and marked "...". */
#define PAMLOG_VALUE_MAX 256

const char *pamlog_escape(const char *s, int keep_space, char *out,
                          size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;

	if (outsz < 8) {
		if (outsz > 0)
			out[0] = '\0';
		return out;
	}
	if (s == NULL || *s == '\0') {
		snprintf(out, outsz, "-");
		return out;
	}
	/* Reserve room for "..." and the NUL. */
	for (; *p != '\0' && o + 4 + 4 < outsz; p++) {
		if ((*p < 0x21 && !(keep_space && *p == ' ')) || *p > 0x7e ||
		    *p == '\\' || *p == ';') {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 0xf];
		} else {
			out[o++] = (char)*p;
		}
	}
	if (*p != '\0') {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

void pamlog_outcome(pam_handle_t *pamh, int priority, const char *event,
                    const struct pam_items *it, const char *result,
                    const char *reason, const char *detail)
{
	char user[PAMLOG_VALUE_MAX], service[PAMLOG_VALUE_MAX];
	char rhost[PAMLOG_VALUE_MAX], tty[PAMLOG_VALUE_MAX];
	char det[PAMLOG_VALUE_MAX * 2];

	pamlog_escape(it->user, 0, user, sizeof(user));
	pamlog_escape(it->service, 0, service, sizeof(service));
	pamlog_escape(it->rhost, 0, rhost, sizeof(rhost));
	pamlog_escape(it->tty, 0, tty, sizeof(tty));
	if (detail != NULL)
		pamlog_escape(detail, 1, det, sizeof(det));
	pam_syslog(pamh, priority,
	           "%s; user=%s; service=%s; rhost=%s; tty=%s; result=%s; "
	           "reason=%s%s%s",
	           event, user, service, rhost, tty, result, reason,
	           detail != NULL ? "; detail=" : "",
	           detail != NULL ? det : "");
}

void pamlog_msg(pam_handle_t *pamh, int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pam_vsyslog(pamh, priority, fmt, ap);
	va_end(ap);
}

void pamlog_debug(pam_handle_t *pamh, int debug, const char *fmt, ...)
{
	va_list ap;

	if (!debug)
		return;
	va_start(ap, fmt);
	pam_vsyslog(pamh, LOG_DEBUG, fmt, ap);
	va_end(ap);
}
