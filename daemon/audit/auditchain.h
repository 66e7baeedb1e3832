/* SPDX-License-Identifier: BSD-3-Clause */
/* Verifying an audit hash chain held in memory, and naming the first
 * break: what hash links can tell, and what they cannot. Pure. */
#ifndef PHIGUARD_DAEMON_AUDITCHAIN_H
#define PHIGUARD_DAEMON_AUDITCHAIN_H

#include <stddef.h>

#include "audit/auditfmt.h"

/* One line of the trail, in chain order across files. */
struct auditchain_line {
	const char *p; /* the bytes, without "\n" */
	size_t len;
	int complete; /* it ended in "\n" */
};

enum auditchain_kind {
	AUDITCHAIN_OK = 0,
	/* Not a record of ours: bad JSON, wrong keys, no valid prev. */
	AUDITCHAIN_MALFORMED,
	/* The last line has no "\n" (a crash mid-write, or a cut file). */
	AUDITCHAIN_PARTIAL,
	/* Line `line` is not the successor of line - 1, and its prev is
	 * the hash of no line at all: line - 1 was changed, or lines
	 * between line - 1 and line were removed. Hash links alone cannot
	 * tell these two apart. */
	AUDITCHAIN_MODIFIED_OR_REMOVED,
	/* The first line's prev is not the expected anchor (genesis, or
	 * --anchor): lines before it are missing, or it was changed. */
	AUDITCHAIN_REMOVED_START,
	/* Line `line` (through `other`) does not belong here: the line
	 * after it links to the line before it, or several lines claim
	 * the same predecessor. */
	AUDITCHAIN_INSERTED,
	/* Line `line` links to a later line (`other`): lines were moved. */
	AUDITCHAIN_REORDERED,
	/* All links hold, but the given head is no line's hash: lines were
	 * removed from the end (or the chain was rewritten since). */
	AUDITCHAIN_TRUNCATED,
};

struct auditchain_result {
	enum auditchain_kind kind;
	size_t line;    /* 0-based index of the first bad line (n for a head
	                   past the end) */
	size_t other;   /* see the kinds */
	size_t head_at; /* with a head: index of the line it names */
};

/*
 * Verify n lines. anchor: the prev the first line must carry (NULL: the
 * genesis, 64 zeros). head: if not NULL, a head taken earlier (from the
 * daemon or syslog); it must be the hash of one of the lines (lines after
 * it were appended since). Returns 0 and *res (kind AUDITCHAIN_OK or the
 * first problem), or PG_ERR_NOMEM.
 */
int auditchain_verify(const struct auditchain_line *lines, size_t n,
                      const char *anchor, const char *head,
                      struct auditchain_result *res);

/* A short name for a kind: "ok", "malformed", "partial",
 * "modified-or-removed", "removed", "inserted", "reordered",
 * "truncated". */
const char *auditchain_kind_name(enum auditchain_kind kind);

#endif
