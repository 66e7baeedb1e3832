/* SPDX-License-Identifier: BSD-3-Clause */
/* What every pam_phiguard stage shares: arguments, items, config, the daemon
 * client, the reason for the log and the one outcome line. */
#ifndef PHIGUARD_PAM_STAGE_H
#define PHIGUARD_PAM_STAGE_H

#include <security/pam_modules.h>

#include "ask_daemon.h"
#include "conf.h"
#include "conv.h"
#include "pamcfg.h"
#include "pamlog.h"
#include "result.h"

struct stage {
	pam_handle_t *pamh; /* borrowed */
	int flags;
	struct pamcfg cfg;
	struct pam_items it;
	struct ask_daemon daemon;
	const char *reason; /* short static token for the log line */
	char detail[PG_CONF_ERRLEN];
	int has_detail;
	int told; /* an error message went to the person */
};

/* Reset *s for one call: no detail, reason "internal", items "". */
void stage_init(struct stage *s, pam_handle_t *pamh, int flags);

/*
 * Arguments, items, user name check, config file, daemon client; nothing
 * leaves the process. Logs unknown arguments. Returns 0, PG_ERR_INVAL (bad
 * argument), PG_ERR_BAD_USER, or the pamcfg_resolve() errors, with
 * s->reason (and detail) set.
 */
int stage_setup(struct stage *s, int argc, const char **argv);

/* printf into s->detail, logged as "; detail=..." (never a secret). */
void stage_detail(struct stage *s, const char *fmt, ...) PAMLOG_PRINTF(2, 3);

/* conv_tell() for this stage; remembers in s->told that the person got an
 * error message, so that no second one is added. */
void stage_tell(struct stage *s, int style, const char *text);

/* The outcome line for event at the priority pam_rc deserves. */
void stage_log(const struct stage *s, const char *event, int pam_rc,
               const char *result);

/*
 * End an account or session stage whose work returned r: PAM_IGNORE if r
 * is an unreachable daemon under daemon_down=ignore, else
 * result_to_pam_stage(stage, r); logs the outcome line for event and
 * returns that PAM code.
 */
int stage_finish(const struct stage *s, enum result_stage stage,
                 const char *event, int r);

#endif
