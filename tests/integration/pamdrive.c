/* SPDX-License-Identifier: BSD-3-Clause */
/* pamdrive: run PAM operations for one service and user through libpamtest
 * with a scripted conversation, printing what the user would see. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libpamtest.h>
#include <security/pam_appl.h>

#define MAX_ANSWERS 16
#define MAX_OPS     8
#define MAX_OBJECTS 256 /* shared objects remembered by -M */
#define MAX_OBJPATH 512

enum conv_mode { CONV_SCRIPT = 0, CONV_FAIL, CONV_NULL };

/* -M: every shared object mapped at some point of the transaction. */
struct objects {
	char path[MAX_OBJECTS][MAX_OBJPATH];
	size_t n;
	int overflow;
};

struct script {
	enum conv_mode mode;
	const char *answers[MAX_ANSWERS];
	size_t n_answers;
	size_t next;
	struct objects *objects; /* NULL without -M */
};

static const struct {
	const char *name;
	enum pamtest_ops op;
} op_names[] = {
    {"auth", PAMTEST_AUTHENTICATE},   {"setcred", PAMTEST_SETCRED},
    {"acct", PAMTEST_ACCOUNT},        {"open", PAMTEST_OPEN_SESSION},
    {"close", PAMTEST_CLOSE_SESSION},
};

#define CODE(x)                                                                \
	{                                                                      \
		x, #x                                                          \
	}
static const struct {
	int code;
	const char *name;
} pam_codes[] = {
    CODE(PAM_SUCCESS),
    CODE(PAM_OPEN_ERR),
    CODE(PAM_SYMBOL_ERR),
    CODE(PAM_SERVICE_ERR),
    CODE(PAM_SYSTEM_ERR),
    CODE(PAM_BUF_ERR),
    CODE(PAM_PERM_DENIED),
    CODE(PAM_AUTH_ERR),
    CODE(PAM_CRED_INSUFFICIENT),
    CODE(PAM_AUTHINFO_UNAVAIL),
    CODE(PAM_USER_UNKNOWN),
    CODE(PAM_MAXTRIES),
    CODE(PAM_NEW_AUTHTOK_REQD),
    CODE(PAM_ACCT_EXPIRED),
    CODE(PAM_SESSION_ERR),
    CODE(PAM_CRED_UNAVAIL),
    CODE(PAM_CRED_EXPIRED),
    CODE(PAM_CRED_ERR),
    CODE(PAM_NO_MODULE_DATA),
    CODE(PAM_CONV_ERR),
    CODE(PAM_AUTHTOK_ERR),
    CODE(PAM_AUTHTOK_RECOVERY_ERR),
    CODE(PAM_AUTHTOK_LOCK_BUSY),
    CODE(PAM_AUTHTOK_DISABLE_AGING),
    CODE(PAM_TRY_AGAIN),
    CODE(PAM_IGNORE),
    CODE(PAM_ABORT),
    CODE(PAM_AUTHTOK_EXPIRED),
    CODE(PAM_MODULE_UNKNOWN),
    CODE(PAM_BAD_ITEM),
    CODE(PAM_CONV_AGAIN),
    CODE(PAM_INCOMPLETE),
};

static void print_code(const char *op, int code)
{
	size_t i;

	for (i = 0; i < sizeof(pam_codes) / sizeof(pam_codes[0]); i++) {
		if (pam_codes[i].code == code) {
			printf("%s: %s\n", op, pam_codes[i].name);
			return;
		}
	}
	printf("%s: PAM_CODE_%d\n", op, code);
}

static void free_replies(struct pam_response *r, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(r[i].resp);
	free(r);
}

/*
 * Add every shared object mapped now (a path in /proc/self/maps with ".so"
 * in its last component) to o. Called at each conversation and after the
 * transaction: libpam unloads the module at pam_end, so what a login loads
 * is the union of what was mapped while it ran.
 */
static void objects_collect(struct objects *o)
{
	char line[MAX_OBJPATH + 128];
	const char *path, *base;
	size_t i;
	FILE *f;

	if ((f = fopen("/proc/self/maps", "re")) == NULL) {
		o->overflow = 1;
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if ((path = strchr(line, '/')) == NULL)
			continue;
		base = strrchr(path, '/');
		if (strstr(base, ".so") == NULL)
			continue;
		for (i = 0; i < o->n; i++)
			if (strcmp(o->path[i], path) == 0)
				break;
		if (i < o->n)
			continue;
		if (o->n == MAX_OBJECTS || strlen(path) >= MAX_OBJPATH) {
			o->overflow = 1;
			continue;
		}
		memcpy(o->path[o->n++], path, strlen(path) + 1);
	}
	fclose(f);
}

/* Write the objects collected to file, one path a line. Returns 0 or -1. */
static int objects_write(const struct objects *o, const char *file)
{
	FILE *f;
	size_t i;

	if (o->overflow || (f = fopen(file, "we")) == NULL)
		return -1;
	for (i = 0; i < o->n; i++)
		fprintf(f, "%s\n", o->path[i]);
	return fclose(f) == 0 ? 0 : -1;
}

/* Print every message; answer prompts from the script, in order. */
static int conv(int n, const struct pam_message **msg,
                struct pam_response **resp, void *data)
{
	struct script *s = data;
	struct pam_response *r;
	int i, prompts = 0;

	if (s->objects != NULL)
		objects_collect(s->objects);
	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	if ((r = calloc((size_t)n, sizeof(*r))) == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		const char *text = msg[i]->msg != NULL ? msg[i]->msg : "";

		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
		case PAM_PROMPT_ECHO_ON:
			printf("prompt: %s\n", text);
			prompts++;
			if (s->mode != CONV_SCRIPT)
				break;
			if (s->next >= s->n_answers)
				goto fail;
			if ((r[i].resp = strdup(s->answers[s->next++])) == NULL)
				goto fail;
			break;
		case PAM_ERROR_MSG:
			printf("error: %s\n", text);
			break;
		case PAM_TEXT_INFO:
			printf("info: %s\n", text);
			break;
		default:
			goto fail;
		}
	}
	fflush(stdout);
	if (prompts > 0 && s->mode == CONV_FAIL)
		goto fail;
	if (prompts > 0 && s->mode == CONV_NULL) {
		free_replies(r, n);
		*resp = NULL;
		return PAM_SUCCESS;
	}
	*resp = r;
	return PAM_SUCCESS;
fail:
	fflush(stdout);
	free_replies(r, n);
	return PAM_CONV_ERR;
}

static void usage(void)
{
	fprintf(stderr, "usage: pamdrive -s SERVICE -u USER [-a ANSWER]... "
	                "[-C fail|null] [-e] [-S] [-M FILE] OPS\n"
	                "  OPS: comma-separated auth,setcred,acct,open,close\n"
	                "  -S: pass PAM_SILENT to every op, as sudo does\n"
	                "  -M FILE: write the shared objects mapped during the "
	                "transaction to FILE\n");
}

static int parse_ops(char *list, int flags, struct pam_testcase *tc, size_t *n)
{
	char *tok, *save = NULL;
	size_t i;

	*n = 0;
	for (tok = strtok_r(list, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++)
			if (strcmp(tok, op_names[i].name) == 0)
				break;
		if (i == sizeof(op_names) / sizeof(op_names[0]) ||
		    *n >= MAX_OPS)
			return -1;
		/* Every op is expected to succeed, so libpamtest stops at
		 * the first one that does not. */
		tc[*n].pam_operation = op_names[i].op;
		tc[*n].expected_rv = PAM_SUCCESS;
		tc[*n].flags = flags;
		(*n)++;
	}
	return *n > 0 ? 0 : -1;
}

static const char *op_name(enum pamtest_ops op)
{
	size_t i;

	for (i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++)
		if (op_names[i].op == op)
			return op_names[i].name;
	return "?";
}

/*
 * pam_wrapper (1.1.4) copies the service files into /tmp/pam.X in a
 * library constructor, before main, taking the first X whose directory
 * does not exist and going on if its mkdir fails: two processes starting
 * at once can take the same one, and one of them then runs the other
 * test's services, or loses them when the other's copy is removed (seen
 * with the tests run in parallel). So run_pam (lib.sh) starts pamdrive
 * holding a lock every process the suite starts under pam_wrapper takes;
 * the copy made, it is let go here (PG_PWRAP_LOCK_FD).
 */
static void pam_wrapper_unlock(void)
{
	const char *fd = getenv("PG_PWRAP_LOCK_FD");

	if (fd != NULL && fd[0] >= '3' && fd[0] <= '9' && fd[1] == '\0')
		close(fd[0] - '0');
}

int main(int argc, char **argv)
{
	struct pam_testcase tc[MAX_OPS + 1];
	struct script s;
	const char *service = NULL, *user = NULL, *objects_file = NULL;
	const struct pam_testcase *failed;
	enum pamtest_err perr;
	size_t n_ops = 0, i;
	int c, want_env = 0, flags = 0, rc = 2;
	char **env;

	pam_wrapper_unlock();
	memset(&s, 0, sizeof(s));
	memset(tc, 0, sizeof(tc));
	while ((c = getopt(argc, argv, "s:u:a:C:eSM:")) != -1) {
		switch (c) {
		case 's':
			service = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		case 'a':
			if (s.n_answers >= MAX_ANSWERS)
				goto usage;
			s.answers[s.n_answers++] = optarg;
			break;
		case 'C':
			if (strcmp(optarg, "fail") == 0)
				s.mode = CONV_FAIL;
			else if (strcmp(optarg, "null") == 0)
				s.mode = CONV_NULL;
			else
				goto usage;
			break;
		case 'e':
			want_env = 1;
			break;
		case 'S':
			flags = PAM_SILENT;
			break;
		case 'M':
			objects_file = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (service == NULL || user == NULL || optind != argc - 1 ||
	    parse_ops(argv[optind], flags, tc, &n_ops) != 0)
		goto usage;
	/* Reached only when every op succeeded. */
	if (want_env)
		tc[n_ops++].pam_operation = PAMTEST_GETENVLIST;
	if (objects_file != NULL &&
	    (s.objects = calloc(1, sizeof(*s.objects))) == NULL)
		goto out;

	perr = _pamtest_conv(service, user, conv, &s, tc, n_ops, NULL);
	if (perr != PAMTEST_ERR_OK && perr != PAMTEST_ERR_CASE) {
		fprintf(stderr, "pamdrive: %s\n", pamtest_strerror(perr));
		goto out;
	}
	failed = pamtest_failed_case(tc);
	for (i = 0; i < n_ops && tc[i].pam_operation != PAMTEST_GETENVLIST;
	     i++) {
		print_code(op_name(tc[i].pam_operation), tc[i].op_rv);
		if (&tc[i] == failed)
			break;
	}
	if (want_env && failed == NULL) {
		env = tc[n_ops - 1].case_out.envlist;
		for (i = 0; env != NULL && env[i] != NULL; i++)
			printf("env: %s\n", env[i]);
		pamtest_free_env(env);
	}
	rc = failed == NULL ? 0 : 1;
	if (s.objects != NULL) {
		objects_collect(s.objects);
		if (objects_write(s.objects, objects_file) != 0) {
			fprintf(stderr, "pamdrive: cannot list objects in %s\n",
			        objects_file);
			rc = 2;
		}
	}
	goto out;
usage:
	usage();
out:
	free(s.objects);
	fflush(stdout);
	return rc;
}
