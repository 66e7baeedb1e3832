/* SPDX-License-Identifier: BSD-3-Clause */
/* The module's side of the PAM conversation, through libpam's own
 * pam_prompt() and item accessors. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "conv.h"
#include "err.h"
#include "secret.h"

/* The item, cut as the protocol wants it (proto.h), in buf. */
static const char *item_str(pam_handle_t *pamh, int type,
                            char buf[PG_PROTO_MAX_ITEM + 1])
{
	const void *v = NULL;
	size_t n;

	if (pam_get_item(pamh, type, &v) != PAM_SUCCESS || v == NULL)
		v = "";
	n = proto_item_len(v);
	memcpy(buf, v, n);
	buf[n] = '\0';
	return buf;
}

int conv_items(pam_handle_t *pamh, struct pam_items *it)
{
	const char *user = NULL;
	int rc = PG_ERR_BAD_USER;

	it->service = item_str(pamh, PAM_SERVICE, it->buf[0]);
	it->rhost = item_str(pamh, PAM_RHOST, it->buf[1]);
	it->tty = item_str(pamh, PAM_TTY, it->buf[2]);
	it->user = "";
	if (pam_get_user(pamh, &user, NULL) != PAM_SUCCESS || user == NULL)
		goto out;
	it->user = user;
	rc = 0;
out:
	return rc;
}

int conv_ask(pam_handle_t *pamh, const char *prompt, char **answer)
{
	char *resp = NULL;
	int rc = PG_ERR_IO;

	/* pam_prompt() hands back resp->resp, which a conversation may
	 * leave NULL while still claiming success. */
	if (pam_prompt(pamh, PAM_PROMPT_ECHO_OFF, &resp, "%s", prompt) !=
	        PAM_SUCCESS ||
	    resp == NULL)
		goto out;
	*answer = resp;
	resp = NULL;
	rc = 0;
out:
	secret_strfree(resp);
	return rc;
}

int conv_authtok(pam_handle_t *pamh, char **answer)
{
	const void *tok = NULL;
	char *copy;
	int rc = PG_ERR_NOTFOUND;

	if (pam_get_item(pamh, PAM_AUTHTOK, &tok) != PAM_SUCCESS || tok == NULL)
		goto out;
	rc = PG_ERR_NOMEM;
	if ((copy = strdup(tok)) == NULL)
		goto out;
	*answer = copy;
	rc = 0;
out:
	return rc;
}

void conv_tell(pam_handle_t *pamh, int flags, int style, const char *text)
{
	/* sudo passes PAM_SILENT to pam_authenticate and pam_acct_mgmt
	 * whatever happens, and prints every message its conversation gets
	 * all the same: honouring the flag for a refusal would leave the
	 * person with "Sorry, try again" and no way to tell why. */
	if ((flags & PAM_SILENT) && style != PAM_ERROR_MSG)
		return;
	(void)pam_prompt(pamh, style, NULL, "%s", text);
}
