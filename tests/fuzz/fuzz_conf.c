/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target for phiguard.conf: arbitrary text through conf_parse;
 * whatever it accepts must dump to a file that parses back identically,
 * and whatever it refuses must come with a "name:line: " reason. */
#include "config.h"

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pg_conf conf;
	char err[PG_CONF_ERRLEN];
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
	return 0;
}
