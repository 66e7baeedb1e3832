/* SPDX-License-Identifier: BSD-3-Clause */
/* phiguardctl audit: verify the trail's hash chain, show its records to an
 * auditor, print the chain head, and ask phiguardd to rotate. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/audit/auditchain.h"
#include "daemon/audit/auditfile.h"
#include "daemon/audit/auditfmt.h"
#include "commands.h"
#include "err.h"
#include "proto.h"
#include "sanitize.h"

/* The trail's files, mapped, and their lines in chain order. */
struct trail {
	size_t nfiles;
	const char **names;
	void **maps;
	size_t *sizes;
	struct auditchain_line *lines;
	size_t *file_of; /* per line: its file */
	size_t *line_no; /* per line: 1-based number in its file */
	size_t n, cap;
	char **owned; /* default names, freed with the trail */
	size_t nowned;
	/* The configured trail's current file, when it is "missing" or
	 * "empty" (phiguardd starts every file with a record); else NULL. */
	const char *current;
};

static void trail_free(struct trail *t)
{
	size_t i;

	for (i = 0; i < t->nfiles; i++)
		if (t->maps != NULL && t->maps[i] != NULL)
			munmap(t->maps[i], t->sizes[i]);
	free(t->maps);
	free(t->sizes);
	free(t->names);
	free(t->lines);
	free(t->file_of);
	free(t->line_no);
	auditfile_free_names(t->owned, t->nowned);
}

static int add_line(struct trail *t, size_t file, size_t no, const char *p,
                    size_t len, int complete)
{
	void *a, *b, *c;

	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 1024;
		if ((a = realloc(t->lines, t->cap * sizeof(*t->lines))) != NULL)
			t->lines = a;
		if ((b = realloc(t->file_of, t->cap * sizeof(size_t))) != NULL)
			t->file_of = b;
		if ((c = realloc(t->line_no, t->cap * sizeof(size_t))) != NULL)
			t->line_no = c;
		if (a == NULL || b == NULL || c == NULL)
			return PG_ERR_NOMEM;
	}
	t->lines[t->n].p = p;
	t->lines[t->n].len = len;
	t->lines[t->n].complete = complete;
	t->file_of[t->n] = file;
	t->line_no[t->n] = no;
	t->n++;
	return 0;
}

/* Map file i and index its lines. */
static int map_file(struct trail *t, size_t i)
{
	struct stat sb;
	const char *p, *end, *nl;
	size_t no = 0;
	int fd, rc;

	fd = open(t->names[i], O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		ctl_err("audit: %s", t->names[i]);
		if (fd >= 0)
			close(fd);
		return PG_ERR_IO;
	}
	t->sizes[i] = (size_t)sb.st_size;
	if (sb.st_size > 0) {
		t->maps[i] =
		    mmap(NULL, t->sizes[i], PROT_READ, MAP_PRIVATE, fd, 0);
		if (t->maps[i] == MAP_FAILED) {
			t->maps[i] = NULL;
			ctl_err("audit: mmap %s", t->names[i]);
			close(fd);
			return PG_ERR_IO;
		}
	}
	close(fd);
	p = t->maps[i];
	end = p + t->sizes[i];
	while (p != NULL && p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if ((rc = add_line(t, i, ++no, p,
		                   (size_t)((nl != NULL ? nl : end) - p),
		                   nl != NULL)) != 0)
			return rc;
		p = nl != NULL ? nl + 1 : end;
	}
	return 0;
}

/* The named files, or the configured trail with its predecessors. */
static int trail_open(const struct ctl_ctx *ctx, char **files, size_t nfiles,
                      struct trail *t)
{
	const char *cur = ctx->conf->audit_file;
	size_t i;
	int rc;

	memset(t, 0, sizeof(*t));
	if (nfiles == 0) {
		files = NULL;
		if (auditfile_rotated(cur, &t->owned, &t->nowned, NULL) != 0) {
			ctl_err("audit: reading the directory of %s", cur);
			return PG_ERR_IO;
		}
		nfiles = t->nowned + (access(cur, F_OK) == 0);
		if (nfiles == 0) {
			ctl_errx("audit: no trail at %s", cur);
			return PG_ERR_NOTFOUND;
		}
		if (nfiles == t->nowned)
			t->current = "missing";
	}
	t->nfiles = nfiles;
	if ((t->names = calloc(nfiles, sizeof(char *))) == NULL ||
	    (t->maps = calloc(nfiles, sizeof(void *))) == NULL ||
	    (t->sizes = calloc(nfiles, sizeof(size_t))) == NULL)
		return PG_ERR_NOMEM;
	for (i = 0; i < nfiles; i++)
		t->names[i] = files != NULL   ? files[i]
		              : i < t->nowned ? t->owned[i]
		                              : cur;
	for (i = 0; i < nfiles; i++)
		if ((rc = map_file(t, i)) != 0)
			return rc;
	if (files == NULL && t->current == NULL && t->sizes[nfiles - 1] == 0)
		t->current = "empty";
	return 0;
}

/* A 64-hex-digit hash from the command line, lower-cased. */
static int parse_hash(const char *s, char *out)
{
	size_t i;

	if (strlen(s) != AUDIT_HEX_LEN)
		return -1;
	for (i = 0; i < AUDIT_HEX_LEN; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return -1;
		out[i] = c;
	}
	out[AUDIT_HEX_LEN] = '\0';
	return 0;
}

/* "file:line" of line index i (n: just after the last line). */
static void where(const struct trail *t, size_t i, char *out, size_t size)
{
	if (t->n == 0)
		snprintf(out, size, "%s:1",
		         t->nfiles > 0 ? t->names[t->nfiles - 1] : "(none)");
	else if (i >= t->n)
		snprintf(out, size, "%s:%zu", t->names[t->file_of[t->n - 1]],
		         t->line_no[t->n - 1] + 1);
	else
		snprintf(out, size, "%s:%zu", t->names[t->file_of[i]],
		         t->line_no[i]);
}

static void report(const struct trail *t, const struct auditchain_result *r)
{
	char at[4200], other[4200];

	where(t, r->line, at, sizeof(at));
	where(t, r->other, other, sizeof(other));
	/* Past the end there is nothing to point at: name the last line
	 * that is left. */
	if (r->kind == AUDITCHAIN_TRUNCATED && t->n > 0)
		where(t, t->n - 1, at, sizeof(at));
	printf("%s: %s: ", at, auditchain_kind_name(r->kind));
	switch (r->kind) {
	case AUDITCHAIN_MALFORMED:
		printf("not an audit record (bad JSON, other keys, or no "
		       "valid prev)\n");
		break;
	case AUDITCHAIN_PARTIAL:
		printf("the last line is incomplete (no newline): a write "
		       "cut short\n");
		break;
	case AUDITCHAIN_MODIFIED_OR_REMOVED:
		printf("does not follow %s: that line was changed, or lines "
		       "between the two were removed (hash links cannot "
		       "tell which)\n",
		       other);
		break;
	case AUDITCHAIN_REMOVED_START:
		printf("the chain does not start here (prev is not the "
		       "expected anchor): earlier lines or files are "
		       "missing, or this line was changed\n");
		break;
	case AUDITCHAIN_INSERTED:
		if (r->other != r->line)
			printf("this line through %s were inserted: the "
			       "line after them links to the line before\n",
			       other);
		else
			printf("inserted: the next line links to the line "
			       "before this one\n");
		break;
	case AUDITCHAIN_REORDERED:
		printf("out of order: it follows %s, which comes later\n",
		       other);
		break;
	case AUDITCHAIN_TRUNCATED:
		printf("the given head is no line's hash: %s, or the trail "
		       "was rewritten\n",
		       t->n > 0 ? "this is the last line left; lines after "
		                  "it were removed"
		                : "no line is left");
		break;
	case AUDITCHAIN_OK:
		printf("\n");
		break;
	}
}

/*
 * The current file is missing or empty, while phiguardd starts every
 * file with a record (daemon-start, audit-rotate): the links of what is
 * left cannot show that its end went.
 */
static void current_gone(const struct ctl_ctx *ctx, const struct trail *t)
{
	char head[AUDIT_HEX_SIZE];

	printf("%s: %s: every file phiguardd starts holds a record at once, "
	       "so its records since the last rotation were removed (or "
	       "phiguardd could not write it: see its log)",
	       ctx->conf->audit_file, t->current);
	if (t->n > 0) {
		auditfmt_hash(t->lines[t->n - 1].p, t->lines[t->n - 1].len,
		              head);
		printf("; the %zu record%s before it verify, head %s", t->n,
		       t->n == 1 ? "" : "s", head);
	}
	printf("\n");
}

static int cmd_verify(const struct ctl_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"head", required_argument, NULL, 'H'},
	    {"anchor", required_argument, NULL, 'a'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char head[AUDIT_HEX_SIZE], anchor[AUDIT_HEX_SIZE], at[4200];
	struct auditchain_result res;
	int opt, have_head = 0, have_anchor = 0, rc;
	struct trail t;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'H':
		case 'a':
			if (parse_hash(optarg, opt == 'H' ? head : anchor) !=
			    0) {
				ctl_errx("audit verify: --%s needs 64 hex "
				         "digits",
				         opt == 'H' ? "head" : "anchor");
				return CTL_EXIT_USAGE;
			}
			*(opt == 'H' ? &have_head : &have_anchor) = 1;
			break;
		case 'h':
			return CTL_HELP;
		default:
			return CTL_EXIT_USAGE;
		}
	}
	rc = trail_open(ctx, argv + optind, (size_t)(argc - optind), &t);
	if (rc == 0 &&
	    auditchain_verify(t.lines, t.n, have_anchor ? anchor : NULL,
	                      have_head ? head : NULL, &res) != 0)
		rc = PG_ERR_NOMEM;
	if (rc != 0) {
		if (rc == PG_ERR_NOMEM)
			ctl_errx("audit verify: out of memory");
		trail_free(&t);
		return CTL_EXIT_FAIL;
	}
	if (res.kind != AUDITCHAIN_OK) {
		report(&t, &res);
		trail_free(&t);
		return CTL_EXIT_FAIL;
	}
	if (t.current != NULL) {
		current_gone(ctx, &t);
		trail_free(&t);
		return CTL_EXIT_FAIL;
	}
	printf("intact: %zu record%s in %zu file%s", t.n, t.n == 1 ? "" : "s",
	       t.nfiles, t.nfiles == 1 ? "" : "s");
	if (t.n > 0) {
		auditfmt_hash(t.lines[t.n - 1].p, t.lines[t.n - 1].len, head);
		printf(", head %s", head);
	}
	printf("\n");
	if (have_head && t.n > 0) {
		where(&t, res.head_at, at, sizeof(at));
		printf("the given head is %s; %zu record%s written after it\n",
		       at, t.n - 1 - res.head_at,
		       t.n - 1 - res.head_at == 1 ? "" : "s");
	}
	trail_free(&t);
	return CTL_EXIT_OK;
}

/* ------------------------------------------------------------------ show */

enum {
	V_TIME,
	V_HOST,
	V_EVENT,
	V_USER,
	V_SERVICE,
	V_TTY,
	V_RHOST,
	V_FACTOR,
	V_DECISION,
	V_SCOPES,
	V_REASON,
	V_RULE,
	V_SOURCE,
	V_UID,
	V_COUNT,
	V_PREV
};

/* A value for the terminal: UTF-8 kept, controls and escape sequences
 * dropped (sanitize.h), cut at a character boundary to fit. */
static const char *shown(const char *v, char *out, size_t size)
{
	if (v == NULL)
		return "-";
	sanitize_text(v, strlen(v), out, size);
	return out;
}

struct filter {
	const char *user;
	const char *event;
	int64_t since, until; /* ms; -1 = none */
	int json;
};

static int matches(const struct filter *f, const struct audit_view *v)
{
	int64_t t;

	if (f->user != NULL &&
	    (v->val[V_USER] == NULL || strcmp(f->user, v->val[V_USER]) != 0))
		return 0;
	if (f->event != NULL && fnmatch(f->event, v->val[V_EVENT], 0) != 0)
		return 0;
	if (f->since >= 0 || f->until >= 0) {
		if (auditfmt_parse_time(v->val[V_TIME], &t) != 0)
			return 0;
		if ((f->since >= 0 && t < f->since) ||
		    (f->until >= 0 && t > f->until))
			return 0;
	}
	return 1;
}

static void table_row(const struct audit_view *v)
{
	static const int detail[] = {V_SCOPES, V_REASON, V_FACTOR, V_SERVICE,
	                             V_TTY,    V_RHOST,  V_SOURCE, V_RULE,
	                             V_UID,    V_COUNT};
	char a[64], b[64], c[72], d[16], e[300];
	size_t i;

	printf("%-24s %-14s %-16s %-5s", shown(v->val[V_TIME], a, sizeof(a)),
	       shown(v->val[V_EVENT], b, sizeof(b)),
	       shown(v->val[V_USER], c, 17),
	       shown(v->val[V_DECISION], d, sizeof(d)));
	for (i = 0; i < sizeof(detail) / sizeof(detail[0]); i++)
		if (v->val[detail[i]] != NULL && v->val[detail[i]][0] != '\0')
			printf(" %s=%s", auditfmt_keys[detail[i]],
			       shown(v->val[detail[i]], e, sizeof(e)));
	printf("\n");
}

static int parse_when(const char *opt, const char *s, int64_t *ms)
{
	if (auditfmt_parse_time(s, ms) == 0)
		return 0;
	ctl_errx("audit show: --%s: not a time: use 2026-11-29T08:00:00Z, "
	         "2026-11-29 08:00, 2026-11-29 or @UNIXSECONDS",
	         opt);
	return -1;
}

static int cmd_show(const struct ctl_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"user", required_argument, NULL, 'u'},
	    {"since", required_argument, NULL, 's'},
	    {"until", required_argument, NULL, 'U'},
	    {"event", required_argument, NULL, 'e'},
	    {"json", no_argument, NULL, 'j'},
	    {"table", no_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct filter f = {NULL, NULL, -1, -1, 0};
	struct audit_view *v;
	struct trail t;
	char at[4200];
	size_t i, shown_n = 0, bad = 0;
	int opt;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'u':
			f.user = optarg;
			break;
		case 'e':
			f.event = optarg;
			break;
		case 's':
		case 'U':
			if (parse_when(opt == 's' ? "since" : "until", optarg,
			               opt == 's' ? &f.since : &f.until) != 0)
				return CTL_EXIT_USAGE;
			break;
		case 'j':
		case 't':
			f.json = opt == 'j';
			break;
		case 'h':
			return CTL_HELP;
		default:
			return CTL_EXIT_USAGE;
		}
	}
	if ((v = malloc(sizeof(*v))) == NULL) {
		ctl_errx("audit show: out of memory");
		return CTL_EXIT_FAIL;
	}
	if (trail_open(ctx, argv + optind, (size_t)(argc - optind), &t) != 0) {
		trail_free(&t);
		free(v);
		return CTL_EXIT_FAIL;
	}
	if (!f.json)
		printf("%-24s %-14s %-16s %-5s %s\n", "TIME (UTC)", "EVENT",
		       "USER", "DECISION", "DETAILS");
	for (i = 0; i < t.n; i++) {
		if (!t.lines[i].complete ||
		    auditfmt_parse(t.lines[i].p, t.lines[i].len, v) != 0) {
			where(&t, i, at, sizeof(at));
			/* Where the line is, also when both streams go
			 * to one file or pipe. */
			fflush(stdout);
			ctl_warnx("%s: not an audit record; skipped "
			          "(phiguardctl audit verify tells more)",
			          at);
			bad++;
			continue;
		}
		if (!matches(&f, v))
			continue;
		shown_n++;
		if (f.json) {
			/* As stored: the bytes the chain hashes. */
			fwrite(t.lines[i].p, 1, t.lines[i].len, stdout);
			putchar('\n');
		} else
			table_row(v);
	}
	trail_free(&t);
	free(v);
	/*
	 * The table's last line, on its stream: on stderr it came out
	 * anywhere in the table once stdout went through a pipe (ssh).
	 * Reading is not proving: say so every time (on stderr with --json,
	 * whose stdout is records only).
	 */
	fprintf(f.json ? stderr : stdout,
	        "%zu record%s shown%s; the chain was not verified "
	        "(phiguardctl audit verify)\n",
	        shown_n, shown_n == 1 ? "" : "s",
	        bad > 0 ? "; some lines were not records" : "");
	return fflush(stdout) != 0 || ferror(stdout) ? CTL_EXIT_FAIL
	                                             : CTL_EXIT_OK;
}

/* phiguardctl alerts [OPTIONS] [FILE...]: audit show of the "alert"
 * records (the alert's id is their reason). */
int cmd_alerts(const struct ctl_ctx *ctx, int argc, char **argv)
{
	char **args = calloc((size_t)argc + 2, sizeof(*args));
	char event[] = "--event=alert";
	int i, rc;

	if (args == NULL) {
		ctl_errx("alerts: out of memory");
		return CTL_EXIT_FAIL;
	}
	args[0] = argv[0];
	args[1] = event;
	for (i = 1; i < argc; i++)
		args[i + 1] = argv[i];
	rc = cmd_show(ctx, argc + 1, args);
	free(args);
	return rc;
}

/* ---------------------------------------------------------- head, rotate */

static int no_operands(int argc, char **argv, const char *cmd)
{
	static const struct option longopts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1)
		return opt == 'h' ? CTL_HELP : CTL_EXIT_USAGE;
	if (optind != argc) {
		ctl_errx("audit %s: no arguments expected", cmd);
		return CTL_EXIT_USAGE;
	}
	return 0;
}

static int cmd_head(const struct ctl_ctx *ctx, int argc, char **argv)
{
	char hex[AUDIT_HEX_SIZE];
	struct pg_msg req, resp;
	const char *h;
	int rc;

	if ((rc = no_operands(argc, argv, "head")) != 0)
		return rc;
	proto_msg_init(&req, PG_VERB_AUDIT);
	proto_msg_init(&resp, PG_VERB_UNKNOWN);
	if (proto_add(&req, "action", "head") != 0)
		return CTL_EXIT_FAIL;
	rc = ctl_daemon_call(ctx, "audit head", &req, &resp);
	if (rc == CTL_EXIT_OK) {
		h = proto_get(&resp, "head");
		if (h == NULL || parse_hash(h, hex) != 0) {
			ctl_errx("audit head: phiguardd sent no head");
			rc = CTL_EXIT_FAIL;
		} else
			printf("%s\n", hex);
	} else if (rc == CTL_EXIT_UNREACHABLE) {
		/* Not running: what a restart would continue from. */
		rc = auditfile_head(ctx->conf->audit_file, hex);
		if (rc == PG_ERR_IO) {
			ctl_err("audit head: %s", ctx->conf->audit_file);
			rc = CTL_EXIT_FAIL;
		} else {
			fprintf(stderr,
			        "phiguardctl: audit head: from %s (phiguardd "
			        "not reachable)%s\n",
			        ctx->conf->audit_file,
			        rc == PG_ERR_NOTFOUND ? "; no records yet"
			                              : "");
			printf("%s\n", hex);
			rc = CTL_EXIT_OK;
		}
	}
	proto_msg_clear(&resp);
	proto_msg_clear(&req);
	return rc;
}

static int cmd_rotate(const struct ctl_ctx *ctx, int argc, char **argv)
{
	struct pg_msg req, resp;
	char a[4200], b[AUDIT_HEX_SIZE + 8];
	const char *rotated, *head;
	int rc;

	if ((rc = no_operands(argc, argv, "rotate")) != 0)
		return rc;
	proto_msg_init(&req, PG_VERB_AUDIT);
	proto_msg_init(&resp, PG_VERB_UNKNOWN);
	if (proto_add(&req, "action", "rotate") != 0)
		return CTL_EXIT_FAIL;
	rc = ctl_daemon_call(ctx, "audit rotate", &req, &resp);
	if (rc == CTL_EXIT_OK) {
		rotated = proto_get(&resp, "rotated");
		head = proto_get(&resp, "head");
		printf("rotated to %s; head %s\n", shown(rotated, a, sizeof(a)),
		       shown(head, b, sizeof(b)));
	}
	proto_msg_clear(&resp);
	proto_msg_clear(&req);
	return rc;
}

int cmd_audit(const struct ctl_ctx *ctx, int argc, char **argv)
{
	static const struct {
		const char *name;
		ctl_handler fn;
	} subs[] = {
	    {"verify", cmd_verify},
	    {"show", cmd_show},
	    {"head", cmd_head},
	    {"rotate", cmd_rotate},
	};
	char progcmd[48];
	size_t i;

	if (argc < 2) {
		ctl_errx("audit: verify, show, head or rotate?");
		return CTL_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return CTL_HELP;
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (strcmp(argv[1], subs[i].name) != 0)
			continue;
		snprintf(progcmd, sizeof(progcmd), "phiguardctl audit %s",
		         subs[i].name);
		argv[1] = progcmd;
		optind = 0;
		return subs[i].fn(ctx, argc - 1, argv + 1);
	}
	ctl_errx("audit: unknown subcommand '%s'", argv[1]);
	return CTL_EXIT_USAGE;
}
