/* SPDX-License-Identifier: BSD-3-Clause */
/* Audit chain verification: every line's prev must be the hash of the line
 * before. At the first line where it is not, the links around it say how
 * the trail was changed, as far as hashes can say it. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "audit/auditchain.h"
#include "err.h"

const char *auditchain_kind_name(enum auditchain_kind kind)
{
	switch (kind) {
	case AUDITCHAIN_OK:
		return "ok";
	case AUDITCHAIN_MALFORMED:
		return "malformed";
	case AUDITCHAIN_PARTIAL:
		return "partial";
	case AUDITCHAIN_MODIFIED_OR_REMOVED:
		return "modified-or-removed";
	case AUDITCHAIN_REMOVED_START:
		return "removed";
	case AUDITCHAIN_INSERTED:
		return "inserted";
	case AUDITCHAIN_REORDERED:
		return "reordered";
	case AUDITCHAIN_TRUNCATED:
		return "truncated";
	}
	return "unknown";
}

/* Per line: its hash and its prev, hex without NUL; prev "" if none. */
struct link {
	char hash[AUDIT_HEX_LEN];
	char prev[AUDIT_HEX_LEN];
	int bad; /* malformed or partial */
};

static int same(const char *a, const char *b)
{
	return memcmp(a, b, AUDIT_HEX_LEN) == 0;
}

/* Index of a line (other than skip) whose hash is h, or n. */
static size_t find_hash(const struct link *l, size_t n, const char *h,
                        size_t skip)
{
	size_t j;

	for (j = 0; j < n; j++)
		if (j != skip && same(l[j].hash, h))
			return j;
	return n;
}

static void classify(const struct link *l, size_t n, size_t i,
                     const char *expected, struct auditchain_result *res)
{
	size_t j;

	res->line = i;
	res->other = i;
	/* It follows a line that comes later: moved. (Checked first: two
	 * swapped neighbours also look like an insertion below.) */
	j = find_hash(l, n, l[i].prev, i);
	if (j < n && j > i) {
		res->kind = AUDITCHAIN_REORDERED;
		res->other = j;
		return;
	}
	/* The next line links to the one this should have followed: this
	 * one was put in between. */
	if (i + 1 < n && !l[i + 1].bad && same(l[i + 1].prev, expected)) {
		res->kind = AUDITCHAIN_INSERTED;
		return;
	}
	if (j < n && i > 0 && j < i - 1) {
		/* Lines j+1 .. i-1 and line i both claim line j as their
		 * predecessor: the former were slipped in after it. */
		res->kind = AUDITCHAIN_INSERTED;
		res->line = j + 1;
		res->other = i - 1;
	} else if (i == 0) {
		res->kind = AUDITCHAIN_REMOVED_START;
	} else {
		res->kind = AUDITCHAIN_MODIFIED_OR_REMOVED;
		res->other = i - 1;
	}
}

int auditchain_verify(const struct auditchain_line *lines, size_t n,
                      const char *anchor, const char *head,
                      struct auditchain_result *res)
{
	struct audit_view *v = NULL;
	struct link *l = NULL;
	char hex[AUDIT_HEX_SIZE];
	const char *expected;
	size_t i;
	int rc = PG_ERR_NOMEM;

	memset(res, 0, sizeof(*res));
	if (anchor == NULL)
		anchor = AUDIT_GENESIS;
	if ((n > 0 && (l = calloc(n, sizeof(*l))) == NULL) ||
	    (v = malloc(sizeof(*v))) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		auditfmt_hash(lines[i].p, lines[i].len, hex);
		memcpy(l[i].hash, hex, AUDIT_HEX_LEN);
		if (!lines[i].complete ||
		    auditfmt_parse(lines[i].p, lines[i].len, v) != 0 ||
		    auditfmt_prev(lines[i].p, lines[i].len, hex) != 0) {
			l[i].bad = lines[i].complete ? 1 : 2;
			continue;
		}
		memcpy(l[i].prev, hex, AUDIT_HEX_LEN);
	}
	rc = 0;
	for (i = 0; i < n; i++) {
		expected = i == 0 ? anchor : l[i - 1].hash;
		if (l[i].bad) {
			res->kind = l[i].bad == 2 ? AUDITCHAIN_PARTIAL
			                          : AUDITCHAIN_MALFORMED;
			res->line = res->other = i;
			goto out;
		}
		if (!same(l[i].prev, expected)) {
			classify(l, n, i, expected, res);
			goto out;
		}
	}
	res->kind = AUDITCHAIN_OK;
	res->head_at = n > 0 ? n - 1 : 0;
	if (head != NULL) {
		if (strlen(head) != AUDIT_HEX_LEN ||
		    (i = find_hash(l, n, head, n)) == n) {
			/* The empty trail's head is the anchor itself. */
			if (!(n == 0 && strcmp(head, anchor) == 0)) {
				res->kind = AUDITCHAIN_TRUNCATED;
				res->line = res->other = n;
			}
		} else
			res->head_at = i;
	}
out:
	free(v);
	free(l);
	return rc;
}
