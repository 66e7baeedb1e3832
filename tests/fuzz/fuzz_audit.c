/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target for the audit trail reader behind "phiguardctl audit
 * verify|show": a file an attacker may have edited, cut into lines and
 * verified as a chain (with and without a head), and each line through the
 * line parser, the prev extractor and the time parser. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit/auditchain.h"
#include "audit/auditfmt.h"
#include "err.h"
#include "fuzz.h"

/* Every value of a parsed view lies in the view's own storage. */
static void check_view(const struct audit_view *v)
{
	size_t k;

	for (k = 0; k < AUDIT_NKEYS; k++) {
		const char *s = v->val[k];

		if (s == NULL)
			continue;
		CHECK(s >= v->store && s < v->store + sizeof(v->store));
		CHECK(memchr(s, '\0',
		             (size_t)(v->store + sizeof(v->store) - s)) !=
		      NULL);
	}
}

/* Returns 1 if the line parsed as a record. */
static int one_line(const char *p, size_t len)
{
	static struct audit_view v;
	char hex[AUDIT_HEX_SIZE], *copy;
	int64_t ms;
	int rc, parsed;

	rc = auditfmt_parse(p, len, &v);
	CHECK(rc == 0 || rc == PG_ERR_INVAL);
	if ((parsed = rc == 0))
		check_view(&v);
	rc = auditfmt_prev(p, len, hex);
	CHECK(rc == 0 || rc == PG_ERR_INVAL);
	if (rc == 0)
		CHECK(strlen(hex) == AUDIT_HEX_LEN);
	/* show --since/--until and each record's time. */
	if ((copy = malloc(len + 1)) == NULL)
		return parsed;
	memcpy(copy, p, len);
	copy[len] = '\0';
	rc = auditfmt_parse_time(copy, &ms);
	CHECK(rc == 0 || rc == PG_ERR_INVAL);
	free(copy);
	return parsed;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *nl;
	struct auditchain_line *lines;
	struct auditchain_result res;
	char head[AUDIT_HEX_SIZE];
	size_t n = 0, pos = 0, parsed = 0;

	if ((lines = calloc(size + 1, sizeof(*lines))) == NULL)
		return 0;
	while (pos < size) {
		nl = memchr(text + pos, '\n', size - pos);
		lines[n].p = text + pos;
		lines[n].len = nl ? (size_t)(nl - text - pos) : size - pos;
		lines[n].complete = nl != NULL;
		parsed += (size_t)one_line(lines[n].p, lines[n].len);
		pos += lines[n].len + (nl ? 1 : 0);
		n++;
	}
	CHECK(auditchain_verify(lines, n, NULL, NULL, &res) == 0);
	CHECK(res.kind >= AUDITCHAIN_OK && res.kind <= AUDITCHAIN_TRUNCATED);
	CHECK(res.line <= n);
	CHECK(auditchain_kind_name(res.kind) != NULL);
	/* An intact chain is made of records only. */
	CHECK(res.kind != AUDITCHAIN_OK || parsed == n);
	if (n > 0) {
		/* A head that names the middle line, as an older head would. */
		auditfmt_hash(lines[n / 2].p, lines[n / 2].len, head);
		CHECK(auditchain_verify(lines, n, NULL, head, &res) == 0);
		CHECK(res.kind != AUDITCHAIN_TRUNCATED);
		CHECK(res.line <= n);
	}
	free(lines);
	return 0;
}
