/* SPDX-License-Identifier: BSD-3-Clause */
/* The registry of parked requests (pending.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pending.h"
#include "err.h"

int pending_copy_msg(struct pg_msg *to, const struct pg_msg *from)
{
	size_t i;
	int rc;

	proto_msg_init(to, from->verb);
	snprintf(to->verb_name, sizeof(to->verb_name), "%s", from->verb_name);
	for (i = 0; i < from->nfields; i++)
		if ((rc = proto_add(to, from->fields[i].key,
		                    from->fields[i].value)) != 0)
			return rc;
	return 0;
}

int pending_add(struct pending **list, uint64_t ticket,
                const struct pg_peer *peer, const struct pg_msg *req,
                const char *user, const struct audit_req *ar, int64_t start_us)
{
	struct pending *p = malloc(sizeof(*p));

	if (p == NULL)
		return PG_ERR_NOMEM;
	p->ticket = ticket;
	p->peer = *peer;
	p->has_user = user != NULL;
	p->start_us = start_us;
	p->ar = *ar;
	/* It fitted one line when parsed, so it fits again. */
	if (pending_copy_msg(&p->req, req) != 0) {
		free(p);
		return PG_ERR_NOMEM;
	}
	p->next = *list;
	*list = p;
	return 0;
}

struct pending *pending_take(struct pending **list, uint64_t ticket)
{
	struct pending *p;

	for (; (p = *list) != NULL; list = &p->next)
		if (p->ticket == ticket) {
			*list = p->next;
			return p;
		}
	return NULL;
}

const char *pending_user(const struct pending *p)
{
	return p->has_user ? proto_get(&p->req, "user") : NULL;
}

void pending_free_all(struct pending **list)
{
	struct pending *p;

	while ((p = *list) != NULL) {
		*list = p->next;
		proto_msg_clear(&p->req);
		free(p);
	}
}
