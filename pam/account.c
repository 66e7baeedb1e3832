/* SPDX-License-Identifier: BSD-3-Clause */
/* The account stage: AUTHZ at phiguardd, scopes into the PAM environment,
 * a message the agent can act on when refused. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <security/pam_ext.h>

#include "account.h"
#include "ask_daemon.h"
#include "err.h"
#include "result.h"
#include "stage.h"

#define ACCOUNT_EVENT "account"
#define ENV_SCOPES    "PHIGUARD_SCOPES"
#define ENV_ROLE      "PHIGUARD_ROLE"

/* Agents read these at the login prompt: say what to do, not why in
 * directory terms. Keep in step with pam_phiguard(8). */
static const struct {
	const char *reason;
	const char *text;
} deny_msgs[] = {
    {"no-rule", "Your account has no access to patient data on this "
                "terminal. Ask your supervisor to check your role."},
    {"terminal", "Your role has no access to patient data from this "
                 "terminal. Use a workstation approved for your role or "
                 "ask your supervisor."},
    {"unknown-user", "Your account was not found in the directory. Call "
                     "the help desk."},
    {"ambiguous-user", "Your user name matches more than one account in "
                       "the directory. Call the help desk."},
    {"directory-unreachable",
     "The directory cannot be reached and your access could not be "
     "confirmed. Try again or call the help desk."},
};

/*
 * Through these services a person takes on another account's rights, and
 * is refused for having no role mostly as an administrator, who needs to
 * hear the way out: the exemption group of contrib/pam-configs/phiguard.
 */
static const struct {
	const char *service;
	const char *program;
} admin_services[] = {
    {"sudo", "sudo"},
    {"sudo-i", "sudo"},
    {"su", "su"},
    {"su-l", "su"},
};

/* The daemon's reasons that mean "no role for this person here". */
static const char *const no_role_reasons[] = {"no-rule", "terminal",
                                              "unknown-user"};

#define MSG_NO_ROLE_ADMIN                                                      \
	"You have no PHI access role on this terminal, so phiguard refuses "   \
	"%s. Ask IT to add you to a role group, or use an administrator "      \
	"account in the group phiguard-exempt."

#define MSG_OTHER                                                              \
	"Your access to patient data could not be confirmed. Call the help "   \
	"desk."
#define MSG_DAEMON                                                             \
	"The access service is not available and your access could not be "    \
	"confirmed. Try again or call the help desk."

#define N_ELEM(a) (sizeof(a) / sizeof((a)[0]))

/* The program behind an administration service, or NULL. */
static const char *admin_program(const char *service)
{
	size_t i;

	for (i = 0; i < N_ELEM(admin_services); i++)
		if (strcmp(admin_services[i].service, service) == 0)
			return admin_services[i].program;
	return NULL;
}

static int no_role(const char *reason)
{
	size_t i;

	for (i = 0; i < N_ELEM(no_role_reasons); i++)
		if (strcmp(no_role_reasons[i], reason) == 0)
			return 1;
	return 0;
}

/* The refusal in words for this service; buf holds a composed one. */
static const char *deny_text(const char *reason, const char *service, char *buf,
                             size_t len)
{
	const char *program = admin_program(service);
	size_t i;

	if (program != NULL && no_role(reason)) {
		snprintf(buf, len, MSG_NO_ROLE_ADMIN, program);
		return buf;
	}
	for (i = 0; i < N_ELEM(deny_msgs); i++)
		if (strcmp(deny_msgs[i].reason, reason) == 0)
			return deny_msgs[i].text;
	return MSG_OTHER;
}

/* Both variables or neither: a role without its scopes would mislead. */
static int export_env(pam_handle_t *pamh, const struct ask_authz *az)
{
	char scopes[sizeof(ENV_SCOPES) + ASK_MAX_SCOPES + 1];
	char role[sizeof(ENV_ROLE) + ASK_MAX_TOKEN + 1];

	snprintf(scopes, sizeof(scopes), ENV_SCOPES "=%s", az->scopes);
	snprintf(role, sizeof(role), ENV_ROLE "=%s", az->role);
	if (pam_putenv(pamh, scopes) != PAM_SUCCESS)
		return PG_ERR_NOMEM;
	if (pam_putenv(pamh, role) != PAM_SUCCESS) {
		/* The name alone removes the variable. */
		(void)pam_putenv(pamh, ENV_SCOPES);
		return PG_ERR_NOMEM;
	}
	return 0;
}

int account_acct_mgmt(pam_handle_t *pamh, int flags, int argc,
                      const char **argv)
{
	struct stage st;
	struct ask_authz az;
	char msg[256];
	int r, pam_rc;

	stage_init(&st, pamh, flags);
	memset(&az, 0, sizeof(az));
	if ((r = stage_setup(&st, argc, argv)) != 0)
		goto out;
	r = ask_authz(&st.daemon, &st.it, &az);
	ask_release(&st.daemon);
	if (r != 0) {
		st.reason = "daemon";
		stage_detail(&st, "authz: %s", pg_strerror(r));
		goto out;
	}
	if (!az.allowed) {
		/* Checked to [a-z0-9-] by ask_authz(): fit for the log
		 * line, and az outlives it. */
		st.reason = az.reason;
		stage_detail(&st, "source=%s",
		             az.source[0] != '\0' ? az.source : "-");
		stage_tell(
		    &st, PAM_ERROR_MSG,
		    deny_text(az.reason, st.it.service, msg, sizeof(msg)));
		r = PG_ERR_AUTH;
		goto out;
	}
	if ((r = export_env(pamh, &az)) != 0) {
		st.reason = "pam-env";
		goto out;
	}
	st.reason = "ok";
	stage_detail(&st, "role=%s scopes=%s source=%s", az.role, az.scopes,
	             az.source[0] != '\0' ? az.source : "-");
out:
	pam_rc = stage_finish(&st, RESULT_ACCOUNT, ACCOUNT_EVENT, r);
	if (pam_rc != PAM_SUCCESS && pam_rc != PAM_IGNORE &&
	    strcmp(st.reason, "daemon") == 0)
		stage_tell(&st, PAM_ERROR_MSG, MSG_DAEMON);
	return pam_rc;
}
