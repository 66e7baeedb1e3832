/* SPDX-License-Identifier: BSD-3-Clause */
/* Repeated audit events as one record and a count: a bounded table of
 * keys, each with the start of its interval and what it counted. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/auditagg.h"
#include "err.h"
#include "username.h"

/* Bytes of a PAM item kept (as auditmap keeps them). */
#define ITEM_MAX 256

enum { F_EVENT, F_DECISION, F_REASON, F_USER, F_SERVICE, F_TTY, F_RHOST, F_N };

struct entry {
	int used;
	uint64_t hash;
	long peer;
	long uid;
	int noise;
	int64_t start_ms; /* the recorded event: the interval's start */
	int64_t seen_ms;  /* the latest event, for eviction */
	uint64_t count;   /* events since start_ms, not recorded */
	/* "" for absent. */
	char event[32];
	char decision[8];
	char reason[72];
	char user[PG_USER_MAX + 1];
	char service[ITEM_MAX + 1];
	char tty[ITEM_MAX + 1];
	char rhost[ITEM_MAX + 1];
};

struct pg_auditagg {
	struct entry e[AUDITAGG_MAX];
	size_t n;
	uint64_t counted;
};

/* The entry's fields in F_ order, with their sizes. */
static void fields(struct entry *e, char *f[F_N], size_t sz[F_N])
{
	f[F_EVENT] = e->event;
	sz[F_EVENT] = sizeof(e->event);
	f[F_DECISION] = e->decision;
	sz[F_DECISION] = sizeof(e->decision);
	f[F_REASON] = e->reason;
	sz[F_REASON] = sizeof(e->reason);
	f[F_USER] = e->user;
	sz[F_USER] = sizeof(e->user);
	f[F_SERVICE] = e->service;
	sz[F_SERVICE] = sizeof(e->service);
	f[F_TTY] = e->tty;
	sz[F_TTY] = sizeof(e->tty);
	f[F_RHOST] = e->rhost;
	sz[F_RHOST] = sizeof(e->rhost);
}

/* ev as the entry would hold it: into e (not marked used). */
static void fill(struct entry *e, const struct auditagg_event *ev)
{
	const char *v[F_N] = {ev->event,   ev->decision, ev->reason, ev->user,
	                      ev->service, ev->tty,      ev->rhost};
	const unsigned char *p;
	uint64_t h = 14695981039346656037ULL; /* FNV-1a */
	char *f[F_N];
	size_t sz[F_N], i;

	memset(e, 0, sizeof(*e));
	e->peer = ev->peer;
	e->uid = ev->uid;
	e->noise = ev->noise;
	fields(e, f, sz);
	for (i = 0; i < F_N; i++) {
		snprintf(f[i], sz[i], "%s", v[i] != NULL ? v[i] : "");
		/* A separator no value holds keeps fields apart. */
		for (p = (const unsigned char *)f[i];; p++) {
			h = (h ^ *p) * 1099511628211ULL;
			if (*p == '\0')
				break;
		}
	}
	h = (h ^ (uint64_t)ev->peer) * 1099511628211ULL;
	e->hash = (h ^ (uint64_t)ev->uid) * 1099511628211ULL;
}

static int same(struct entry *a, struct entry *b)
{
	char *fa[F_N], *fb[F_N];
	size_t sa[F_N], sb[F_N], i;

	if (a->hash != b->hash || a->peer != b->peer || a->uid != b->uid)
		return 0;
	fields(a, fa, sa);
	fields(b, fb, sb);
	for (i = 0; i < F_N; i++)
		if (strcmp(fa[i], fb[i]) != 0)
			return 0;
	return 1;
}

static const char *nz(const char *s)
{
	return s[0] != '\0' ? s : NULL;
}

/* Hand out e's aggregate if it counted any, and forget e. */
static void retire(struct pg_auditagg *g, struct entry *e,
                   auditagg_emit_fn emit, void *arg)
{
	struct audit_rec r;

	if (e->count > 0) {
		memset(&r, 0, sizeof(r));
		r.event = e->event;
		r.decision = nz(e->decision);
		r.reason = nz(e->reason);
		r.user = nz(e->user);
		r.service = nz(e->service);
		r.tty = nz(e->tty);
		r.rhost = nz(e->rhost);
		r.uid = e->uid;
		r.count = e->count;
		emit(arg, &r, e->noise);
	}
	e->used = 0;
	g->n--;
}

/* A free slot for a key of peer, making one if needed. */
static struct entry *slot(struct pg_auditagg *g, long peer,
                          auditagg_emit_fn emit, void *arg)
{
	struct entry *oldest = NULL, *oldest_peer = NULL, *free_e = NULL;
	size_t i, of_peer = 0;

	for (i = 0; i < AUDITAGG_MAX; i++) {
		struct entry *e = &g->e[i];

		if (!e->used) {
			if (free_e == NULL)
				free_e = e;
			continue;
		}
		if (oldest == NULL || e->seen_ms < oldest->seen_ms)
			oldest = e;
		if (e->peer == peer) {
			of_peer++;
			if (oldest_peer == NULL ||
			    e->seen_ms < oldest_peer->seen_ms)
				oldest_peer = e;
		}
	}
	/* Root is the PAM stacks of every service: bounded by the table. */
	if (peer != 0 && of_peer >= AUDITAGG_PER_UID) {
		retire(g, oldest_peer, emit, arg);
		return oldest_peer;
	}
	if (free_e != NULL)
		return free_e;
	retire(g, oldest, emit, arg);
	return oldest;
}

int auditagg_note(struct pg_auditagg *g, const struct auditagg_event *ev,
                  int64_t now_ms, auditagg_emit_fn emit, void *arg)
{
	struct entry key, *e;
	size_t i;

	fill(&key, ev);
	for (i = 0; i < AUDITAGG_MAX; i++) {
		e = &g->e[i];
		if (e->used && same(e, &key)) {
			e->seen_ms = now_ms;
			e->count++;
			g->counted++;
			return 0;
		}
	}
	e = slot(g, ev->peer, emit, arg);
	*e = key;
	e->used = 1;
	e->start_ms = e->seen_ms = now_ms;
	g->n++;
	return 1;
}

int64_t auditagg_expire(struct pg_auditagg *g, int64_t now_ms, int all,
                        auditagg_emit_fn emit, void *arg)
{
	int64_t next = -1, due;
	size_t i;

	for (i = 0; i < AUDITAGG_MAX; i++) {
		struct entry *e = &g->e[i];

		if (!e->used)
			continue;
		due = e->start_ms + AUDITAGG_INTERVAL_MS;
		if (all || due <= now_ms)
			retire(g, e, emit, arg);
		else if (next < 0 || due - now_ms < next)
			next = due - now_ms;
	}
	return next;
}

uint64_t auditagg_counted(const struct pg_auditagg *g)
{
	return g->counted;
}

size_t auditagg_keys(const struct pg_auditagg *g)
{
	return g->n;
}

int auditagg_new(struct pg_auditagg **out)
{
	struct pg_auditagg *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return PG_ERR_NOMEM;
	*out = g;
	return 0;
}

void auditagg_free(struct pg_auditagg *g)
{
	free(g);
}
