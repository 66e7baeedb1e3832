/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Test driver for daemon/detect/webhook.c: posts N alerts (JSON from
 * daemon/detect/detect.c) to a URL and reports what happened.
 *
 *   webhookdrive URL [--ca FILE] [--proxy URL] [--timeout S]
 *                [--attempts N] [--backoff MS] [--queue N] [--count N]
 *                [--drain MS]
 *
 * Prints each body it queued ("sent <json>"), then "send_max_ms=<the
 * longest webhook_send call>" and, after webhook_free(drain),
 * "delivered=D failed=F retries=R dropped=X". Logs go to stderr. Exit 0
 * when every call was accepted, 1 on a usage or set-up error.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/detect/alertfmt.h"
#include "daemon/detect/detect.h"
#include "daemon/detect/webhook.h"
#include "log.h"
#include "timeutil.h"

static int usage(void)
{
	fprintf(stderr, "usage: webhookdrive URL [--ca FILE] [--proxy URL] "
	                "[--timeout S] [--attempts N] [--backoff MS] "
	                "[--queue N] [--count N] [--drain MS]\n");
	return 1;
}

int main(int argc, char **argv)
{
	struct webhook_cfg cfg = {.timeout = 5};
	struct detect_alert a;
	struct webhook_stats st;
	struct pg_webhook *w = NULL;
	char json[ALERTFMT_LINE_MAX], user[32], err[256];
	unsigned count = 1, drain = 10000, i;
	int64_t t0, dt, max = 0;
	int k;

	if (argc < 2)
		return usage();
	cfg.url = argv[1];
	for (k = 2; k + 1 < argc; k += 2) {
		const char *o = argv[k], *v = argv[k + 1];
		if (strcmp(o, "--ca") == 0)
			cfg.ca_file = v;
		else if (strcmp(o, "--proxy") == 0)
			cfg.proxy = v;
		else if (strcmp(o, "--timeout") == 0)
			cfg.timeout = strtol(v, NULL, 10);
		else if (strcmp(o, "--attempts") == 0)
			cfg.max_attempts = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(o, "--backoff") == 0)
			cfg.backoff_ms = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(o, "--count") == 0)
			count = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(o, "--queue") == 0)
			cfg.queue_max = strtoul(v, NULL, 10);
		else if (strcmp(o, "--drain") == 0)
			drain = (unsigned)strtoul(v, NULL, 10);
		else
			return usage();
	}
	if (k != argc)
		return usage();
	log_init("webhookdrive", 1, PG_LOG_INFO);
	if (webhook_global_init() != 0 ||
	    webhook_new(&cfg, &w, err, sizeof(err)) != 0) {
		fprintf(stderr, "webhookdrive: %s\n", err);
		return 1;
	}
	for (i = 0; i < count; i++) {
		snprintf(user, sizeof(user), "nurse%u", i + 1);
		/* A source with bytes PAM may hand over: quote, backslash,
		 * a control byte and a non-ASCII one. */
		detect_alert_bruteforce(&a, user, "evil\"host\\\x01\xc3\xa9",
		                        NULL, 1700000000 + i, 5, 1700000900);
		if (alertfmt_json(&a, json, sizeof(json)) != 0)
			return 1;
		t0 = time_mono_ms();
		if (webhook_send(w, json) != 0) {
			fprintf(stderr, "webhookdrive: webhook_send failed\n");
			return 1;
		}
		dt = time_mono_ms() - t0;
		if (dt > max)
			max = dt;
		printf("sent %s\n", json);
	}
	printf("send_max_ms=%lld\n", (long long)max);
	fflush(stdout);
	webhook_free(w, drain, &st);
	printf("delivered=%llu failed=%llu retries=%llu dropped=%llu\n",
	       (unsigned long long)st.delivered, (unsigned long long)st.failed,
	       (unsigned long long)st.retries, (unsigned long long)st.dropped);
	return 0;
}
