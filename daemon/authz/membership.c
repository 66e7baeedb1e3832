/* SPDX-License-Identifier: BSD-3-Clause */
/* Membership attributes: which a directory uses, which a mode searches. */
#include "config.h"

#include "authz/membership.h"

#include "strbuf.h"

/* AD's groups are objectClass group with member; a directory without
 * that class simply matches nothing. */
static const struct membership_kind kinds[MEMBERSHIP_NKINDS] = {
    {MEMBERSHIP_MEMBER, "member",
     "(|(objectClass=groupOfNames)(objectClass=group))"},
    {MEMBERSHIP_UNIQUEMEMBER, "uniqueMember",
     "(objectClass=groupOfUniqueNames)"},
    {MEMBERSHIP_MEMBERUID, "memberUid", "(objectClass=posixGroup)"},
};

const struct membership_kind *membership_kind(size_t i)
{
	return i < MEMBERSHIP_NKINDS ? &kinds[i] : NULL;
}

unsigned membership_direct(enum conf_membership mode, unsigned found)
{
	switch (mode) {
	case CONF_MEMBERSHIP_AUTO:
		return found;
	case CONF_MEMBERSHIP_MEMBER:
		return found & MEMBERSHIP_BY_DN;
	case CONF_MEMBERSHIP_MEMBERUID:
		return MEMBERSHIP_MEMBERUID;
	case CONF_MEMBERSHIP_MEMBEROF:
	default:
		return 0;
	}
}

unsigned membership_nested(enum conf_membership mode, unsigned found)
{
	return mode == CONF_MEMBERSHIP_MEMBEROF ? 0 : found & MEMBERSHIP_BY_DN;
}

int membership_needs_discovery(enum conf_membership mode)
{
	return mode != CONF_MEMBERSHIP_MEMBEROF;
}

void membership_describe(unsigned set, char *buf, size_t len)
{
	struct strbuf sb;
	size_t i;

	strbuf_init(&sb, buf, len);
	for (i = 0; i < MEMBERSHIP_NKINDS; i++) {
		if (!(set & kinds[i].bit))
			continue;
		if (strbuf_len(&sb) > 0)
			strbuf_putc(&sb, ',');
		strbuf_puts(&sb, kinds[i].attr);
	}
	if (strbuf_len(&sb) == 0)
		strbuf_puts(&sb, "none");
	(void)strbuf_finish(&sb);
}
