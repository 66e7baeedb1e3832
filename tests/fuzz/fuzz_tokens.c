/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target for the token store: arbitrary store text through
 * tokens_find_user, arbitrary lines through tokens_parse_line, and every
 * parsed token through a format/parse round trip; the lines
 * tokens_find_user checks without decoding are bad exactly when parsing
 * them fails. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fuzz.h"
#include "tokens.h"

/* A parsed token must format and parse back to itself. */
static void round_trip(const struct pg_token *tok)
{
	static struct pg_token back;
	char line[1024], err[256];
	size_t len;

	CHECK(tokens_format_line(tok, line, sizeof(line)) == 0);
	len = strlen(line);
	CHECK(len > 0 && line[len - 1] == '\n');
	line[len - 1] = '\0';
	CHECK(tokens_parse_line(line, &back, err, sizeof(err)) == 0);
	CHECK(memcmp(tok, &back, sizeof(back)) == 0);
	tokens_wipe(&back);
}

/* The lines of text that tokens_parse_line() refuses, split and bounded
 * as tokens_find_user() does (TOKEN_LINE_MAX in common/tokens.c). */
static unsigned bad_by_parsing(const char *text, size_t size)
{
	static struct pg_token tok;
	static char line[1024 + 1];
	const char *end = text + size, *nl;
	unsigned bad = 0;
	size_t llen;

	while (text < end) {
		nl = memchr(text, '\n', (size_t)(end - text));
		llen = (size_t)((nl != NULL ? nl : end) - text);
		if (llen > 1024 || memchr(text, '\0', llen) != NULL) {
			bad++;
		} else {
			memcpy(line, text, llen);
			line[llen] = '\0';
			if (tokens_parse_line(line, &tok, NULL, 0) ==
			    PG_ERR_INVAL)
				bad++;
			tokens_wipe(&tok);
		}
		text = nl != NULL ? nl + 1 : end;
	}
	return bad;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pg_token_list list;
	static struct pg_token tok;
	char user[PG_USER_MAX + 1], err[256];
	const char *text = (const char *)data;
	unsigned bad = 0;
	size_t i, ulen;
	char *line;
	int rc;

	/* Look up the user named by the first word, so matches happen. */
	for (ulen = 0; ulen < size && ulen < PG_USER_MAX; ulen++)
		if (text[ulen] == ' ' || text[ulen] == '\t' ||
		    text[ulen] == '\n' || text[ulen] == '\0')
			break;
	memcpy(user, text, ulen);
	user[ulen] = '\0';
	CHECK(tokens_find_user(text, size, user, &list, &bad, err,
	                       sizeof(err)) == 0);
	CHECK(list.n <= PG_TOKENS_MAX_PER_USER);
	CHECK(bad == 0 || err[0] != '\0');
	for (i = 0; i < list.n; i++) {
		CHECK(strcmp(list.tok[i].user, user) == 0);
		round_trip(&list.tok[i]);
	}
	tokens_list_wipe(&list);
	/* Asked for nobody, no secret is decoded: the lines checked alone
	 * are bad exactly when parsing and decoding them fails. */
	CHECK(tokens_find_user(text, size, NULL, &list, &bad, NULL, 0) == 0);
	CHECK(list.n == 0);
	CHECK(bad == bad_by_parsing(text, size));

	/* The whole input as one line, up to its first NUL. */
	if ((line = malloc(size + 1)) == NULL)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	rc = tokens_parse_line(line, &tok, err, sizeof(err));
	CHECK(rc == 0 || rc == PG_ERR_NOTFOUND || rc == PG_ERR_INVAL);
	if (rc == 0)
		round_trip(&tok);
	tokens_wipe(&tok);
	free(line);
	return 0;
}
