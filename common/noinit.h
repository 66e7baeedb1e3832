/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * PG_NOINIT: exempt one stack variable from -ftrivial-auto-var-init=zero
 * (configure.ac's hardening), which otherwise zeroes it on every call.
 * Only for large buffers on a per-request path whose every use is after a
 * function that initialises it (proto_parse, proto_msg_init,
 * strbuf_init, a memset): the zeroing buys nothing there and costs a few
 * KiB of stores, and cache, per request. Empty where the compiler has no
 * such attribute.
 */
#ifndef PHIGUARD_COMMON_NOINIT_H
#define PHIGUARD_COMMON_NOINIT_H

#if defined(__has_attribute)
#if __has_attribute(uninitialized)
#define PG_NOINIT __attribute__((uninitialized))
#endif
#endif
#ifndef PG_NOINIT
#define PG_NOINIT
#endif

#endif
