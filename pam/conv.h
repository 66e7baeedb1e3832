/* SPDX-License-Identifier: BSD-3-Clause */
/* Talking to the PAM application: the items it set (user, service, rhost,
 * tty) and its conversation function. */
#ifndef PHIGUARD_PAM_CONV_H
#define PHIGUARD_PAM_CONV_H

#include <security/pam_modules.h>

#include "proto.h"

/* Never NULL once conv_items() ran; an item the application did not set
 * is "". user is borrowed from libpam (valid until the next pam_set_item
 * or pam_end); the others point into buf, cut to what the protocol takes. */
struct pam_items {
	const char *user;
	const char *service;
	const char *rhost;
	const char *tty;
	char buf[3][PG_PROTO_MAX_ITEM + 1];
};

/*
 * Collect the items (pam_get_user may ask the application for a user
 * name). PAM_SERVICE, PAM_RHOST and PAM_TTY are copied into it->buf, each
 * cut to proto_item_len() bytes: a 4 KiB rhost must not cost the login
 * and its record. Returns 0, or PG_ERR_BAD_USER if no user name can be
 * had; the other fields are filled either way.
 */
int conv_items(pam_handle_t *pamh, struct pam_items *it);

/*
 * One PAM_PROMPT_ECHO_OFF prompt. On success *answer is the reply,
 * malloc'ed and owned by the caller, to be wiped with secret_strfree().
 * Returns 0, or PG_ERR_IO if the conversation failed or gave no reply.
 */
int conv_ask(pam_handle_t *pamh, const char *prompt, char **answer);

/*
 * A copy of PAM_AUTHTOK (set by an earlier module), owned by the caller,
 * wiped with secret_strfree(). Returns 0, PG_ERR_NOTFOUND if the item is
 * unset, or PG_ERR_NOMEM.
 */
int conv_authtok(pam_handle_t *pamh, char **answer);

/*
 * Show text as PAM_ERROR_MSG (style) or PAM_TEXT_INFO. PAM_SILENT in flags
 * drops PAM_TEXT_INFO only: an error message says why the person is
 * refused and what to do, and is always sent. Best effort: a failing
 * conversation changes no outcome.
 */
void conv_tell(pam_handle_t *pamh, int flags, int style, const char *text);

#endif
