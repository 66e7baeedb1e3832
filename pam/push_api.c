/* SPDX-License-Identifier: BSD-3-Clause */
/* The one symbol push.so exports: the push client's functions, with the
 * version and structure sizes the module checks before calling them. */
#include "config.h"

#include "push_api.h"

const struct push_api phiguard_push_v1 = {
    .version = PUSH_API_VERSION,
    .package_version = PACKAGE_VERSION,
    .push_size = sizeof(struct push),
    .cfg_size = sizeof(struct push_cfg),
    .start = push_start,
    .wait = push_wait,
    .done = push_done,
    .latency_ms = push_latency_ms,
};
