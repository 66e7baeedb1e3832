/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target for phiguard.conf: arbitrary text through conf_parse;
 * whatever it accepts must dump to a file that parses back identically,
 * and whatever it refuses must come with a "name:line: " reason. The PAM
 * module's reading (conf_parse_select, going on past errors) must never
 * fail, must end in a valid configuration, and must agree with the whole
 * parse on a file that has no error. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "err.h"
#include "fuzz.h"

static void dump_round_trip(const struct pg_conf *conf)
{
	static struct pg_conf back;
	char err[PG_CONF_ERRLEN];
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	CHECK(out != NULL);
	conf_dump(conf, out);
	CHECK(fclose(out) == 0);
	conf_defaults(&back);
	CHECK(conf_parse("dump", text, len, &back, err, sizeof(err)) == 0);
	CHECK(memcmp(conf, &back, sizeof(back)) == 0);
	free(text);
}

/* What pam/pamcfg.c reads; keep in step. */
static const char *const module_keys[] = {"daemon.socket", "totp.tokens",
                                          "totp.window", "push", NULL};

static void count(void *arg, const char *msg)
{
	CHECK(strncmp(msg, "fuzz.conf:", 10) == 0);
	++*(unsigned *)arg;
}

/* The module's reading; *warned counts the errors it went past. */
static void module_parse(const uint8_t *data, size_t size, struct pg_conf *conf,
                         unsigned *warned)
{
	struct conf_select sel = {module_keys, count, warned};
	char err[PG_CONF_ERRLEN];

	*warned = 0;
	conf_defaults(conf);
	CHECK(conf_parse_select("fuzz.conf", (const char *)data, size, &sel,
	                        conf, err, sizeof(err)) == 0);
	dump_round_trip(conf);
}

#define SPAN(from, to)                                                         \
	(offsetof(struct pg_conf, to) + sizeof(((struct pg_conf *)0)->to) -    \
	 offsetof(struct pg_conf, from))

/* A file without an error: the module reads what the daemon reads. */
static void same_keys(const struct pg_conf *full, const struct pg_conf *mod)
{
	CHECK(strcmp(full->socket, mod->socket) == 0);
	CHECK(strcmp(full->tokens, mod->tokens) == 0);
	CHECK(full->window == mod->window);
	CHECK(memcmp(&full->provider, &mod->provider,
	             SPAN(provider, trigger)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pg_conf conf, mod;
	char err[PG_CONF_ERRLEN];
	unsigned warned;
	int rc;

	conf_defaults(&conf);
	err[0] = '\0';
	rc = conf_parse("fuzz.conf", (const char *)data, size, &conf, err,
	                sizeof(err));
	if (rc == 0) {
		dump_round_trip(&conf);
	} else {
		CHECK(rc == PG_ERR_CONFIG);
		CHECK(strncmp(err, "fuzz.conf:", 10) == 0);
	}
	module_parse(data, size, &mod, &warned);
	if (rc == 0) {
		CHECK(warned == 0);
		same_keys(&conf, &mod);
	}
	return 0;
}
