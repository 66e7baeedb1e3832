/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target for the wire protocol: whatever proto_parse accepts must
 * format, reparse to the same message, and rebuild through proto_add. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fuzz.h"
#include "proto.h"

static void same_msg(const struct pg_msg *a, const struct pg_msg *b)
{
	size_t i;

	CHECK(a->verb == b->verb);
	CHECK(strcmp(a->verb_name, b->verb_name) == 0);
	CHECK(a->nfields == b->nfields);
	for (i = 0; i < a->nfields; i++) {
		CHECK(strcmp(a->fields[i].key, b->fields[i].key) == 0);
		CHECK(strcmp(a->fields[i].value, b->fields[i].value) == 0);
	}
}

/* Copy data as a C string (no NUL inside) for the text-taking calls. */
static char *as_text(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	size_t i;

	if (s == NULL)
		return NULL;
	for (i = 0; i < size; i++)
		s[i] = data[i] != 0 ? (char)data[i] : ' ';
	s[size] = '\0';
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pg_msg m, again, built;
	static char out[PG_PROTO_MAX_LINE + 1], out2[PG_PROTO_MAX_LINE + 1];
	size_t len = 0, len2 = 0, i;
	uint64_t v;
	char *text;

	text = as_text(data, size);
	if (text != NULL) {
		/* Any text makes a valid error line. */
		proto_make_error(&built, -(int)(size % 30), text);
		CHECK(proto_format(&built, out, sizeof(out), &len) == 0);
		CHECK(proto_parse(out, len, &again) == 0);
		CHECK(proto_response_status(&again) != 0);
		free(text);
	}

	if (proto_parse((const char *)data, size, &m) != 0) {
		CHECK(m.nfields == 0 && m.verb == PG_VERB_UNKNOWN);
		return 0;
	}
	CHECK(proto_format(&m, out, sizeof(out), &len) == 0);
	CHECK(len <= PG_PROTO_MAX_LINE && out[len - 1] == '\n');
	CHECK(proto_parse(out, len, &again) == 0);
	same_msg(&m, &again);
	CHECK(proto_format(&again, out2, sizeof(out2), &len2) == 0);
	CHECK(len == len2 && memcmp(out, out2, len) == 0);

	/* Everything the parser accepts, proto_add accepts too. */
	proto_msg_init(&built, m.verb);
	memcpy(built.verb_name, m.verb_name, sizeof(built.verb_name));
	for (i = 0; i < m.nfields; i++) {
		CHECK(proto_add(&built, m.fields[i].key, m.fields[i].value) ==
		      0);
		CHECK(proto_get(&m, m.fields[i].key) == m.fields[i].value);
		(void)proto_get_u64(&m, m.fields[i].key, UINT64_MAX, &v);
	}
	same_msg(&m, &built);
	(void)proto_response_status(&m);
	proto_msg_clear(&m);
	return 0;
}
