/* SPDX-License-Identifier: BSD-3-Clause */
/* FNV-1a string hashes. */
#include "config.h"

#include "detect/fnv.h"

uint64_t fnv_64(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

uint32_t fnv_32(const char *s)
{
	uint64_t h = fnv_64(s);

	return (uint32_t)(h ^ (h >> 32));
}
