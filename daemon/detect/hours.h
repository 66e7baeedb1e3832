/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Learned login hours: per user, 24 counters of successful logins by hour
 * of the day, and the file they persist in. The unusual-hour detector
 * (detect.h) reads and feeds them; this module only counts and stores.
 *
 * Old habits fade: when a user's total reaches HOURS_CAP, every counter is
 * halved (rounding down). At most HOURS_MAX_USERS users are kept; a new
 * one when full evicts the one seen least recently. Lookups are linear
 * scans over this bounded table.
 *
 * The file: HOURS_FILE in a directory open as dirfd (dirname for messages
 * only), one record per line:
 *   phiguard-hours 1
 *   U <user> <last-seen> <c0> ... <c23>
 *   end <number of U records>
 */
#ifndef PHIGUARD_DAEMON_HOURS_H
#define PHIGUARD_DAEMON_HOURS_H

#include <stddef.h>
#include <stdint.h>

#define HOURS_MAX_USERS 10000
#define HOURS_CAP       1000 /* a user's total that halves counters */
#define HOURS_FILE      "hours"

struct hours; /* opaque */

/* An empty table. 0 and *out, or PG_ERR_NOMEM. Free with hours_free
 * (accepts NULL). */
int hours_new(struct hours **out);
void hours_free(struct hours *h);

/*
 * Count one successful login of user (validated name) at hour (0..23) of
 * its local day, seen at now. *count and *total: the user's logins in that
 * hour and in all hours before this one was counted (0 for a new user).
 * The table becomes dirty. 0, or PG_ERR_NOMEM (nothing counted, outputs
 * untouched).
 */
int hours_learn(struct hours *h, const char *user, int hour, int64_t now,
                unsigned *count, unsigned *total);

/* Users in the table. */
size_t hours_users(const struct hours *h);

/* 1 if something was learned since the last load or save. */
int hours_dirty(const struct hours *h);

/*
 * Replace the table with the file's. A missing file is an empty start; a
 * damaged or unreadable one is logged, kept as HOURS_FILE ".corrupt", and
 * the table starts empty (and dirty): never fatal. 0 or PG_ERR_NOMEM.
 */
int hours_load(struct hours *h, int dirfd, const char *dirname);

/*
 * Write the table atomically (temp file, fsync, rename, fsync of the
 * directory) and clear the dirty flag. 0, or PG_ERR_IO / PG_ERR_NOMEM
 * (logged; the previous file stays).
 */
int hours_save(struct hours *h, int dirfd, const char *dirname);

#endif
