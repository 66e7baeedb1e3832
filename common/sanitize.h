/* SPDX-License-Identifier: BSD-3-Clause */
/* Making untrusted text (a push provider's, a directory's) safe to show on a
 * terminal and to write to the log. */
#ifndef PHIGUARD_COMMON_SANITIZE_H
#define PHIGUARD_COMMON_SANITIZE_H

#include <stddef.h>

/*
 * Copy inlen bytes of untrusted text (NUL bytes included) into out
 * (outsz >= 1 bytes, always NUL-terminated) keeping only printable text:
 *   - escape sequences are removed whole: CSI (ESC [ ... final), OSC
 *     (ESC ] ... BEL or ST), DCS/SOS/PM/APC (ESC P/X/^/_ ... ST), and any
 *     other ESC + intermediates + final byte; their 8-bit C1 forms too;
 *   - other C0 controls, DEL and C1 controls (U+0080..U+009F) are
 *     dropped, except that TAB, LF and CR become one space;
 *   - Unicode bidirectional overrides and isolates are dropped;
 *   - invalid UTF-8 (stray, truncated or overlong sequences, surrogates,
 *     values over U+10FFFF) becomes '?';
 *   - runs of spaces collapse to one; leading and trailing spaces go.
 * Output is cut at a character boundary when it does not fit. Returns
 * the length of out.
 */
size_t sanitize_text(const char *in, size_t inlen, char *out, size_t outsz);

#endif
