/* SPDX-License-Identifier: BSD-3-Clause */
/* FNV-1a string hashes: a quick pre-compare for the detectors' linear
 * scans, and the spray identity of a user name. */
#ifndef PHIGUARD_DAEMON_FNV_H
#define PHIGUARD_DAEMON_FNV_H

#include <stdint.h>

/* 64-bit FNV-1a of the NUL-terminated s (a collision between two real
 * user names is a one-in-2^64 chance per pair). */
uint64_t fnv_64(const char *s);

/* fnv_64 folded to 32 bits. */
uint32_t fnv_32(const char *s);

#endif
