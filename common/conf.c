/* SPDX-License-Identifier: BSD-3-Clause */
/* The phiguard.conf parser: a line tokenizer feeding a table of every key,
 * which also supplies the defaults and the dump. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "conf.h"
#include "err.h"
#include "safefile.h"
#include "secret.h"

enum conf_type { CONF_STR, CONF_LONG, CONF_BOOL, CONF_WORD };

/* Key flags. */
#define CONF_F_PATH     0x1 /* must be an absolute path */
#define CONF_F_OPTIONAL 0x2 /* may be empty */

struct conf_key {
	const char *section;
	const char *key;
	enum conf_type type;
	size_t offset;
	size_t size; /* CONF_STR: the field's buffer size */
	long min, max;
	long scale; /* CONF_LONG: the field holds the value times this */
	unsigned flags;
	const char *def_str;
	long def_long;            /* CONF_WORD: the enum value */
	const char *const *words; /* CONF_WORD: the words, in enum order */
};

/* CONF_WORD fields are enums, read and written as int. */
_Static_assert(sizeof(enum conf_provider) == sizeof(int),
               "enums the size of int");

#define STR(sec, k, fl, def)                                                   \
	{                                                                      \
		.section = sec, .key = #k, .type = CONF_STR,                   \
		.offset = offsetof(struct pg_conf, k),                         \
		.size = sizeof(((struct pg_conf *)0)->k), .flags = fl,         \
		.def_str = def                                                 \
	}
/* A string key whose field has another name (k is taken by another
 * section's key). */
#define STR_AS(sec, k, field, fl, def)                                         \
	{                                                                      \
		.section = sec, .key = #k, .type = CONF_STR,                   \
		.offset = offsetof(struct pg_conf, field),                     \
		.size = sizeof(((struct pg_conf *)0)->field), .flags = fl,     \
		.def_str = def                                                 \
	}
#define NUM(sec, k, lo, hi, def)                                               \
	{                                                                      \
		.section = sec, .key = #k, .type = CONF_LONG,                  \
		.offset = offsetof(struct pg_conf, k), .min = lo, .max = hi,   \
		.scale = 1, .def_long = def                                    \
	}
/* Seconds in the file (lo, hi and def too), milliseconds in the field
 * k_ms. */
#define SECS_AS_MS(sec, k, lo, hi, def)                                        \
	{                                                                      \
		.section = sec, .key = #k, .type = CONF_LONG,                  \
		.offset = offsetof(struct pg_conf, k##_ms), .min = lo,         \
		.max = hi, .scale = 1000, .def_long = def                      \
	}
#define BOOL(sec, k, def)                                                      \
	{                                                                      \
		.section = sec, .key = #k, .type = CONF_BOOL,                  \
		.offset = offsetof(struct pg_conf, k), .min = 0, .max = 1,     \
		.def_long = def                                                \
	}
/* list: the words of the field's enum, in its order. */
#define WORD(sec, k, list, def)                                                \
	{                                                                      \
		.section = sec, .key = #k, .type = CONF_WORD,                  \
		.offset = offsetof(struct pg_conf, k), .def_long = def,        \
		.words = list                                                  \
	}

/* The words of the enumerated keys, in the order of their enums
 * (conf.h). */
static const char *const reqcert_words[] = {"demand", "hard",  "try",
                                            "allow",  "never", NULL};
static const char *const membership_words[] = {"auto", "memberof", "member",
                                               "memberuid", NULL};
static const char *const provider_words[] = {"none", "duo", "privacyidea",
                                             NULL};
static const char *const factors_words[] = {"totp,push", "totp", "push", NULL};
static const char *const failmode_words[] = {"secure", "safe", NULL};
static const char *const trigger_words[] = {"empty", "password", NULL};
static const char *const store_words[] = {"file", "ldap", NULL};
static const char *const audit_sync_words[] = {"batch", "always", NULL};
static const char *const audit_failure_words[] = {"deny", "syslog", NULL};
static const char *const audit_checks_words[] = {"denied", "all", "none", NULL};

/*
 * Every key; keep in step with conf.h, phiguard.conf(5) and the example.
 * The same rows give conf_defaults() and conf_dump(), so a new key cannot
 * be parsed without also getting a default and appearing in the dump.
 */
static const struct conf_key conf_keys[] = {
    STR("daemon", socket, CONF_F_PATH, PG_DEFAULT_SOCKET),
    STR("daemon", state_dir, CONF_F_PATH, LOCALSTATEDIR "/lib/phiguard"),
    STR("daemon", pidfile, CONF_F_PATH | CONF_F_OPTIONAL, ""),
    STR("daemon", user, CONF_F_OPTIONAL, ""),
    NUM("daemon", max_clients, 1, 4096, 64),
    NUM("daemon", client_timeout, 1, 300, 5),
    NUM("daemon", log_level, 0, 2, 1),
    STR("totp", tokens, CONF_F_PATH, SYSCONFDIR "/phiguard/tokens"),
    NUM("totp", window, 0, 10, 1),
    NUM("totp", max_failures, 1, 1000, 5),
    NUM("totp", failure_window, 1, 86400, 300),
    NUM("totp", lockout, 1, 604800, 900),
    STR("totp", issuer, 0, "phiguard"),
    WORD("tokens", store, store_words, PG_TOKEN_STORE_FILE),
    STR("tokens", key_file, CONF_F_PATH | CONF_F_OPTIONAL, ""),
    STR_AS("tokens", base, token_base, CONF_F_OPTIONAL, ""),
    STR("tokens", admin_bind_dn, CONF_F_OPTIONAL, ""),
    STR("tokens", admin_password_file, CONF_F_PATH | CONF_F_OPTIONAL, ""),
    STR("daemon", hostname, CONF_F_OPTIONAL, ""),
    STR("ldap", uri, 0, ""),
    STR("ldap", base, 0, ""),
    STR("ldap", user_base, CONF_F_OPTIONAL, ""),
    STR("ldap", group_base, CONF_F_OPTIONAL, ""),
    STR("ldap", user_attr, 0, "uid"),
    STR("ldap", bind_dn, CONF_F_OPTIONAL, ""),
    STR("ldap", bind_password_file, CONF_F_PATH | CONF_F_OPTIONAL, ""),
    BOOL("ldap", sasl_external, false),
    BOOL("ldap", starttls, false),
    STR("ldap", tls_cacert, CONF_F_PATH | CONF_F_OPTIONAL, ""),
    WORD("ldap", tls_reqcert, reqcert_words, CONF_REQCERT_DEMAND),
    SECS_AS_MS("ldap", network_timeout, 1, 60, PG_CONF_NETWORK_TIMEOUT),
    SECS_AS_MS("ldap", search_timeout, 1, 60, PG_CONF_SEARCH_TIMEOUT),
    NUM("ldap", nesting_depth, 0, 10, 3),
    WORD("ldap", membership, membership_words, CONF_MEMBERSHIP_AUTO),
    STR("ldap", write_uri, CONF_F_OPTIONAL, ""),
    NUM("cache", ttl, 1, 86400, 300),
    NUM("cache", negative_ttl, 0, 3600, 15),
    NUM("cache", login_refresh, 0, 86400, 60),
    NUM("cache", offline_grace, 0, 604800, 28800),
    STR("audit", audit_file, CONF_F_PATH,
        LOCALSTATEDIR "/log/phiguard/audit.log"),
    WORD("audit", audit_sync, audit_sync_words, CONF_AUDIT_SYNC_BATCH),
    WORD("audit", audit_failure, audit_failure_words, CONF_AUDIT_FAILURE_DENY),
    WORD("audit", audit_checks, audit_checks_words, CONF_AUDIT_CHECKS_DENIED),
    NUM("audit", audit_rotate_size, 4096, 2147483647L, 67108864L),
    NUM("audit", audit_head_interval, 1, 86400, 3600),
    WORD("push", provider, provider_words, CONF_PROVIDER_NONE),
    WORD("push", factors, factors_words, CONF_FACTORS_TOTP_PUSH),
    WORD("push", failmode, failmode_words, CONF_FAILMODE_SECURE),
    NUM("push", push_timeout, 2, 600, 60),
    NUM("push", connect_timeout, 1, 60, 5),
    STR("push", ca_file, CONF_F_PATH | CONF_F_OPTIONAL, ""),
    STR("push", proxy, CONF_F_OPTIONAL, ""),
    NUM("push", push_max_unanswered, 1, 100, 3),
    STR("push", host, CONF_F_OPTIONAL, ""),
    STR("push", ikey, CONF_F_OPTIONAL, ""),
    STR("push", skey_file, CONF_F_PATH | CONF_F_OPTIONAL, ""),
    STR("push", url, CONF_F_OPTIONAL, ""),
    STR("push", realm, CONF_F_OPTIONAL, ""),
    STR("push", service_user, CONF_F_OPTIONAL, ""),
    STR("push", service_password_file, CONF_F_PATH | CONF_F_OPTIONAL, ""),
    WORD("push", trigger, trigger_words, CONF_TRIGGER_EMPTY),
    NUM("detect", spray_users, 2, 100, 5),
    NUM("detect", spray_window, 1, 604800, 600),
    NUM("detect", spray_block, 0, 604800, 0),
    NUM("detect", hour_min_logins, 1, 500, 20),
    NUM("detect", hour_percent, 0, 100, 2),
    STR("detect", alert_webhook, CONF_F_OPTIONAL, ""),
    STR("detect", alert_webhook_ca, CONF_F_PATH | CONF_F_OPTIONAL, ""),
    STR("detect", alert_webhook_proxy, CONF_F_OPTIONAL, ""),
    NUM("detect", alert_webhook_timeout, 1, 60, 5),
};

#define N_KEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))

/*
 * Sections in file order. Each names how its "key = value" lines are
 * handled, so a section with free-form keys (a group -> scope map) can get
 * its own handler next to the table-driven ones.
 */
struct conf_parser;
struct conf_section {
	const char *name;
	int has_arg; /* "[name ARG]" rather than "[name]" */
	/* Called on the header line (may be NULL); arg is ARG. */
	int (*enter)(struct conf_parser *p, const char *arg, size_t alen);
	int (*keyval)(struct conf_parser *p, const char *key, size_t klen,
	              const char *val, size_t vlen);
	/* Called when the section ends: next header or end of text. */
	int (*leave)(struct conf_parser *p);
	/* Cross-key checks, once the whole text is read (may be NULL). */
	int (*finish)(struct conf_parser *p);
	/* The keys that switch the section's feature off, back at their
	 * defaults, when a reader that goes on (conf_select.warn) met an
	 * error in it: half a configuration could, say, widen the CAs
	 * trusted or ask another realm. NULL: its keys stand alone. */
	const char *const *off;
};

/* Keys of a [role] section that may be given once. */
enum { ROLE_SCOPES, ROLE_TERMINALS, ROLE_BREAKGLASS, ROLE_NKEYS };

struct conf_parser {
	const char *name;
	unsigned line;
	const struct conf_select *sel;      /* NULL: everything, strictly */
	const struct conf_section *section; /* NULL before the first one */
	bool skip;             /* in a section (or before any) not read */
	bool whole;            /* the section is selected with all its keys */
	int cur_key;           /* conf_keys index of this line's key, or -1 */
	unsigned section_line; /* its header line */
	unsigned seen[N_KEYS]; /* line a key was set on, or 0 */
	unsigned role_seen[ROLE_NKEYS]; /* same, in the current [role] */
	unsigned ldap_line;             /* first [ldap] header, or 0 */
	unsigned push_line;             /* first [push] header, or 0 */
	unsigned detect_line;           /* first [detect] header, or 0 */
	unsigned broken; /* bit i: conf_sections[i] had an error gone past */
	struct pg_conf *conf;
	char msg[PG_CONF_ERRLEN]; /* the last error */
};

static int table_keyval(struct conf_parser *p, const char *key, size_t klen,
                        const char *val, size_t vlen);
static int ldap_enter(struct conf_parser *p, const char *arg, size_t alen);
static int ldap_finish(struct conf_parser *p);
static int role_enter(struct conf_parser *p, const char *arg, size_t alen);
static int role_keyval(struct conf_parser *p, const char *key, size_t klen,
                       const char *val, size_t vlen);
static int role_leave(struct conf_parser *p);
static int push_enter(struct conf_parser *p, const char *arg, size_t alen);
static int push_finish(struct conf_parser *p);
static int detect_enter(struct conf_parser *p, const char *arg, size_t alen);
static int detect_finish(struct conf_parser *p);

static const char *const push_off[] = {"provider", "proxy", NULL};
static const char *const detect_off[] = {"alert_webhook", "alert_webhook_proxy",
                                         NULL};

static const struct conf_section conf_sections[] = {
    {"daemon", 0, NULL, table_keyval, NULL, NULL, NULL},
    {"totp", 0, NULL, table_keyval, NULL, NULL, NULL},
    {"tokens", 0, NULL, table_keyval, NULL, NULL, NULL},
    {"ldap", 0, ldap_enter, table_keyval, NULL, ldap_finish, NULL},
    {"cache", 0, NULL, table_keyval, NULL, NULL, NULL},
    {"audit", 0, NULL, table_keyval, NULL, NULL, NULL},
    {"push", 0, push_enter, table_keyval, NULL, push_finish, push_off},
    {"detect", 0, detect_enter, table_keyval, NULL, detect_finish, detect_off},
    {"role", 1, role_enter, role_keyval, role_leave, NULL, NULL},
};

#define N_SECTIONS (sizeof(conf_sections) / sizeof(conf_sections[0]))

/* Longest key or section name quoted back in an error message. */
#define ERR_NAME_MAX 64

/* Record "name:line: item: reason" and return PG_ERR_CONFIG. */
__attribute__((format(printf, 4, 5))) static int
conf_error(struct conf_parser *p, const char *item, size_t ilen,
           const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(p->msg, sizeof(p->msg), "%s:%u: %.*s: ", p->name, p->line,
	             (int)(ilen > ERR_NAME_MAX ? ERR_NAME_MAX : ilen), item);
	if (n >= 0 && (size_t)n < sizeof(p->msg)) {
		va_start(ap, fmt);
		vsnprintf(p->msg + n, sizeof(p->msg) - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return PG_ERR_CONFIG;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static bool is_comment(char c)
{
	return c == '#' || c == ';';
}

static int control_error(struct conf_parser *p, size_t col)
{
	return conf_error(p, "(line)", 6, "control character at column %zu",
	                  col);
}

/* A reader that reports an error and goes on (conf_select.warn). */
static bool lenient(const struct conf_parser *p)
{
	return p->sel != NULL && p->sel->warn != NULL;
}

/*
 * Is the section named by word (wlen bytes) read? *whole: with every key
 * and its cross-key checks, not just some of its keys.
 */
static bool reads_section(const struct conf_parser *p, const char *word,
                          size_t wlen, bool *whole)
{
	const char *const *e;
	bool any = false;

	*whole = p->sel == NULL;
	if (p->sel == NULL)
		return true;
	for (e = p->sel->keys; *e != NULL; e++) {
		if (strlen(*e) < wlen || memcmp(*e, word, wlen) != 0)
			continue;
		if ((*e)[wlen] == '\0')
			*whole = any = true;
		else if ((*e)[wlen] == '.')
			any = true;
	}
	return any;
}

static bool reads_whole(const struct conf_parser *p, const char *section)
{
	bool whole;

	return reads_section(p, section, strlen(section), &whole) && whole;
}

/* Is key (klen bytes) of the current section read? */
static bool reads_key(const struct conf_parser *p, const char *key, size_t klen)
{
	const char *const *e;
	size_t slen;

	if (p->sel == NULL || p->whole)
		return true;
	slen = strlen(p->section->name);
	for (e = p->sel->keys; *e != NULL; e++)
		if (strlen(*e) == slen + 1 + klen &&
		    memcmp(*e, p->section->name, slen) == 0 &&
		    (*e)[slen] == '.' && memcmp(*e + slen + 1, key, klen) == 0)
			return true;
	return false;
}

/* A decimal integer as phiguard.conf(5) has it: an optional '-' and
 * digits. strtol would also take a '+' and leading blanks. */
static bool is_decimal(const char *val, size_t vlen)
{
	size_t i = vlen > 0 && val[0] == '-' ? 1 : 0;

	if (i == vlen)
		return false;
	for (; i < vlen; i++)
		if (val[i] < '0' || val[i] > '9')
			return false;
	return true;
}

static int set_long(struct conf_parser *p, const struct conf_key *k,
                    const char *key, size_t klen, const char *val, size_t vlen)
{
	char num[32];
	char *end;
	long v;

	/* The value is not NUL-terminated in the text; strtol needs a copy.
	 * Nothing in range needs more digits than fit. */
	if (!is_decimal(val, vlen) || vlen >= sizeof(num))
		return conf_error(p, key, klen, "not a number in %ld..%ld",
		                  k->min, k->max);
	memcpy(num, val, vlen);
	num[vlen] = '\0';
	errno = 0;
	v = strtol(num, &end, 10);
	if (*end != '\0' || end == num)
		return conf_error(p, key, klen, "not a number in %ld..%ld",
		                  k->min, k->max);
	if (errno == ERANGE || v < k->min || v > k->max)
		return conf_error(p, key, klen, "out of range (%ld..%ld)",
		                  k->min, k->max);
	*(long *)((char *)p->conf + k->offset) = v * k->scale;
	return 0;
}

static bool word_is(const char *word, const char *val, size_t vlen)
{
	return strlen(word) == vlen && memcmp(word, val, vlen) == 0;
}

/* yes/no/true/false/1/0; 0, 1, or -1 for anything else. */
static int parse_bool(const char *val, size_t vlen)
{
	if (word_is("yes", val, vlen) || word_is("true", val, vlen) ||
	    word_is("1", val, vlen))
		return 1;
	if (word_is("no", val, vlen) || word_is("false", val, vlen) ||
	    word_is("0", val, vlen))
		return 0;
	return -1;
}

static int set_bool(struct conf_parser *p, const struct conf_key *k,
                    const char *key, size_t klen, const char *val, size_t vlen)
{
	int b = parse_bool(val, vlen);

	if (b < 0)
		return conf_error(p, key, klen, "expected yes or no");
	*(bool *)((char *)p->conf + k->offset) = b;
	return 0;
}

static int set_word(struct conf_parser *p, const struct conf_key *k,
                    const char *key, size_t klen, const char *val, size_t vlen)
{
	int i;

	for (i = 0; k->words[i] != NULL; i++)
		if (word_is(k->words[i], val, vlen)) {
			memcpy((char *)p->conf + k->offset, &i, sizeof(i));
			return 0;
		}
	return conf_error(p, key, klen, "not one of the allowed words");
}

static int set_str(struct conf_parser *p, const struct conf_key *k,
                   const char *key, size_t klen, const char *val, size_t vlen)
{
	char *dst = (char *)p->conf + k->offset;

	if (vlen == 0 && !(k->flags & CONF_F_OPTIONAL))
		return conf_error(p, key, klen, "must not be empty");
	if (vlen >= k->size)
		return conf_error(p, key, klen,
		                  "value too long (max %zu bytes)",
		                  k->size - 1);
	if (vlen > 0 && (k->flags & CONF_F_PATH) && val[0] != '/')
		return conf_error(p, key, klen, "must be an absolute path");
	memcpy(dst, val, vlen);
	dst[vlen] = '\0';
	return 0;
}

/* Whole fields, so a key set back to its default leaves no bytes of the
 * value it had (a dump parsed again compares equal). */
static void set_default(struct pg_conf *conf, const struct conf_key *k)
{
	char *dst = (char *)conf + k->offset;
	int word = (int)k->def_long;

	switch (k->type) {
	case CONF_LONG:
		*(long *)dst = k->def_long * k->scale;
		return;
	case CONF_BOOL:
		*(bool *)dst = k->def_long != 0;
		return;
	case CONF_WORD:
		memcpy(dst, &word, sizeof(word));
		return;
	case CONF_STR:
		break;
	}
	memset(dst, 0, k->size);
	snprintf(dst, k->size, "%s", k->def_str);
}

/* The conf_keys index of section's key (klen bytes), or -1. */
static int key_index(const char *section, const char *key, size_t klen)
{
	const struct conf_key *k;
	size_t i;

	for (i = 0; i < N_KEYS; i++) {
		k = &conf_keys[i];
		if (strcmp(k->section, section) == 0 &&
		    word_is(k->key, key, klen))
			return (int)i;
	}
	return -1;
}

/* keyval_line() has looked the key up (p->cur_key) and refused a
 * duplicate. */
static int table_keyval(struct conf_parser *p, const char *key, size_t klen,
                        const char *val, size_t vlen)
{
	const struct conf_key *k;

	if (p->cur_key < 0)
		return conf_error(p, key, klen, "unknown key in [%s]",
		                  p->section->name);
	k = &conf_keys[p->cur_key];
	if (k->type == CONF_LONG)
		return set_long(p, k, key, klen, val, vlen);
	if (k->type == CONF_BOOL)
		return set_bool(p, k, key, klen, val, vlen);
	if (k->type == CONF_WORD)
		return set_word(p, k, key, klen, val, vlen);
	return set_str(p, k, key, klen, val, vlen);
}

static int ldap_enter(struct conf_parser *p, const char *arg, size_t alen)
{
	(void)arg;
	(void)alen;
	p->conf->ldap = 1;
	if (p->ldap_line == 0)
		p->ldap_line = p->line;
	return 0;
}

/* Role and scope names: what can travel in a space-separated list, an
 * environment variable and a log line without quoting. */
static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
	       c == '_' || c == '-';
}

static bool is_name(const char *s, size_t len, size_t max)
{
	size_t i;

	if (len == 0 || len >= max)
		return false;
	for (i = 0; i < len; i++)
		if (!is_name_char(s[i]))
			return false;
	return true;
}

static int role_enter(struct conf_parser *p, const char *arg, size_t alen)
{
	struct pg_conf *c = p->conf;
	struct pg_conf_role *r;
	size_t i;

	if (!is_name(arg, alen, PG_CONF_ROLE_NAME))
		return conf_error(p, "role", 4,
		                  "name must be 1..%d of [a-z0-9._-]",
		                  PG_CONF_ROLE_NAME - 1);
	/* A role given twice would split its groups in the group area and
	 * leave its precedence ambiguous. */
	for (i = 0; i < c->nroles; i++)
		if (word_is(c->roles[i].name, arg, alen))
			return conf_error(p, arg, alen, "duplicate role");
	if (c->nroles == PG_CONF_MAX_ROLES)
		return conf_error(p, arg, alen, "more than %d roles",
		                  PG_CONF_MAX_ROLES);
	r = &c->roles[c->nroles++];
	memcpy(r->name, arg, alen);
	r->groups_off = (unsigned)c->role_groups_used;
	memset(p->role_seen, 0, sizeof(p->role_seen));
	return 0;
}

/* A space-separated list whose every item is a scope name. */
static int check_scopes(struct conf_parser *p, const char *key, size_t klen,
                        const char *val, size_t vlen)
{
	size_t i = 0, start;

	for (;;) {
		while (i < vlen && is_space(val[i]))
			i++;
		if (i == vlen)
			return 0;
		start = i;
		while (i < vlen && !is_space(val[i]))
			i++;
		if (!is_name(val + start, i - start, PG_CONF_SCOPE_NAME))
			return conf_error(p, key, klen,
			                  "scope \"%.*s\" is not 1..%d of "
			                  "[a-z0-9._-]",
			                  (int)(i - start > ERR_NAME_MAX
			                            ? ERR_NAME_MAX
			                            : i - start),
			                  val + start, PG_CONF_SCOPE_NAME - 1);
	}
}

static int role_group(struct conf_parser *p, struct pg_conf_role *r,
                      const char *key, size_t klen, const char *val,
                      size_t vlen)
{
	struct pg_conf *c = p->conf;

	if (vlen == 0)
		return conf_error(p, key, klen, "must not be empty");
	if (vlen >= PG_CONF_GROUP_MAX)
		return conf_error(p, key, klen, "value too long (max %d bytes)",
		                  PG_CONF_GROUP_MAX - 1);
	if (vlen + 1 > sizeof(c->role_groups) - c->role_groups_used)
		return conf_error(p, key, klen,
		                  "groups of all roles exceed %zu bytes",
		                  sizeof(c->role_groups));
	memcpy(c->role_groups + c->role_groups_used, val, vlen);
	c->role_groups_used += vlen + 1;
	r->ngroups++;
	return 0;
}

static int role_keyval(struct conf_parser *p, const char *key, size_t klen,
                       const char *val, size_t vlen)
{
	static const char *const once[ROLE_NKEYS] = {"scopes", "terminals",
	                                             "breakglass"};
	struct pg_conf_role *r = &p->conf->roles[p->conf->nroles - 1];
	char *dst;
	int i, b;

	if (word_is("group", key, klen))
		return role_group(p, r, key, klen, val, vlen);
	for (i = 0; i < ROLE_NKEYS; i++)
		if (word_is(once[i], key, klen))
			break;
	if (i == ROLE_NKEYS)
		return conf_error(p, key, klen, "unknown key in [role %s]",
		                  r->name);
	if (p->role_seen[i] != 0)
		return conf_error(p, key, klen,
		                  "duplicate key (first set on line %u)",
		                  p->role_seen[i]);
	p->role_seen[i] = p->line;
	if (i == ROLE_BREAKGLASS) {
		if ((b = parse_bool(val, vlen)) < 0)
			return conf_error(p, key, klen, "expected yes or no");
		r->breakglass = b;
		return 0;
	}
	if (vlen >= PG_CONF_LIST_MAX)
		return conf_error(p, key, klen, "value too long (max %d bytes)",
		                  PG_CONF_LIST_MAX - 1);
	if (i == ROLE_SCOPES && check_scopes(p, key, klen, val, vlen) != 0)
		return PG_ERR_CONFIG;
	dst = i == ROLE_SCOPES ? r->scopes : r->terminals;
	memcpy(dst, val, vlen);
	dst[vlen] = '\0';
	return 0;
}

/* Without both a group and a scope a role grants nothing: a typo, not a
 * policy. Reported on the role's header line. */
static int role_leave(struct conf_parser *p)
{
	const struct pg_conf_role *r = &p->conf->roles[p->conf->nroles - 1];
	unsigned line = p->line;
	size_t i;
	int rc = 0;

	p->line = p->section_line;
	if (r->ngroups == 0)
		rc =
		    conf_error(p, "group", 5, "required in [role %s]", r->name);
	else {
		for (i = 0; r->scopes[i] != '\0' && is_space(r->scopes[i]); i++)
			;
		if (r->scopes[i] == '\0')
			rc = conf_error(p, "scopes", 6, "required in [role %s]",
			                r->name);
	}
	p->line = line;
	return rc;
}

static int push_enter(struct conf_parser *p, const char *arg, size_t alen)
{
	(void)arg;
	(void)alen;
	if (p->push_line == 0)
		p->push_line = p->line;
	return 0;
}

/* No whitespace, control or quote bytes: these values go into URLs and
 * HTTP headers. */
static bool is_token(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f || *s == '"')
			return false;
	return true;
}

/* A Duo API host: name or IPv4 with an optional :port, nothing else. */
static bool is_host_port(const char *s)
{
	const char *colon = strchr(s, ':');
	size_t i;

	if (s[0] == '\0' || s[0] == ':')
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		      c == ':'))
			return false;
	}
	if (colon == NULL)
		return true;
	if (strchr(colon + 1, ':') != NULL || colon[1] == '\0' ||
	    strlen(colon + 1) > 5)
		return false;
	for (i = 1; colon[i] != '\0'; i++)
		if (colon[i] < '0' || colon[i] > '9')
			return false;
	return true;
}

/* The [push] keys that only make sense together. */
static int push_finish(struct conf_parser *p)
{
	const struct pg_conf *c = p->conf;

	p->line = p->push_line;
	if (!is_token(c->proxy))
		return conf_error(p, "proxy", 5, "must not contain blanks");
	if (c->provider == CONF_PROVIDER_DUO) {
		if (c->host[0] == '\0' || c->ikey[0] == '\0' ||
		    c->skey_file[0] == '\0')
			return conf_error(p, "provider", 8,
			                  "duo needs host, ikey and skey_file");
		if (!is_host_port(c->host))
			return conf_error(p, "host", 4,
			                  "must be a host name[:port]");
		if (!is_token(c->ikey))
			return conf_error(p, "ikey", 4,
			                  "must not contain blanks");
	} else if (c->provider == CONF_PROVIDER_PRIVACYIDEA) {
		/* Plain http would send the service password and the
		 * decision in clear. */
		if (strncmp(c->url, "https://", 8) != 0 || c->url[8] == '\0' ||
		    !is_token(c->url))
			return conf_error(p, "url", 3,
			                  "privacyidea needs an https:// url");
		if ((c->service_user[0] == '\0') !=
		    (c->service_password_file[0] == '\0'))
			return conf_error(p, "service_user", 12,
			                  "service_user and "
			                  "service_password_file go together");
		if (!is_token(c->service_user) || !is_token(c->realm))
			return conf_error(p, "service_user", 12,
			                  "service_user and realm must not "
			                  "contain blanks");
	}
	return 0;
}

static int detect_enter(struct conf_parser *p, const char *arg, size_t alen)
{
	(void)arg;
	(void)alen;
	if (p->detect_line == 0)
		p->detect_line = p->line;
	return 0;
}

/* Alerts name users and sources: never in clear, never via a proxy
 * the environment picked. */
static int detect_finish(struct conf_parser *p)
{
	const struct pg_conf *c = p->conf;

	p->line = p->detect_line;
	if (c->alert_webhook[0] != '\0' &&
	    (strncmp(c->alert_webhook, "https://", 8) != 0 ||
	     c->alert_webhook[8] == '\0' || !is_token(c->alert_webhook)))
		return conf_error(p, "alert_webhook", 13,
		                  "must be an https:// URL");
	if (!is_token(c->alert_webhook_proxy))
		return conf_error(p, "alert_webhook_proxy", 19,
		                  "must not contain blanks");
	return 0;
}

/* [ldap] needs a server, a base, and (if read) a role to grant. */
static int ldap_finish(struct conf_parser *p)
{
	const struct pg_conf *c = p->conf;

	/* The token store in the directory needs a directory. */
	if (!c->ldap && c->store == PG_TOKEN_STORE_LDAP &&
	    reads_whole(p, "tokens"))
		return conf_error(p, "store", 5,
		                  "ldap needs an [ldap] section with uri");
	if (!c->ldap)
		return 0;
	p->line = p->ldap_line;
	if (c->uri[0] == '\0')
		return conf_error(p, "uri", 3, "required in [ldap]");
	if (c->base[0] == '\0')
		return conf_error(p, "base", 4, "required in [ldap]");
	/* Every user would be denied: surely not what was meant. */
	if (c->nroles == 0 && reads_whole(p, "role"))
		return conf_error(p, "[ldap]", 6,
		                  "no [role] section maps a group to scopes");
	return 0;
}

static unsigned section_bit(const struct conf_section *sec)
{
	return 1u << (sec - conf_sections);
}

/*
 * The cross-key checks of a section read whole. A reader that goes on
 * gets the error, and a section with any error switched off (its off
 * keys back at their defaults, which pass).
 */
static int finish_section(struct conf_parser *p, const struct conf_section *sec)
{
	const char *const *k;
	int rc = 0, i;

	if (!reads_whole(p, sec->name))
		return 0;
	if (!(p->broken & section_bit(sec)) && (rc = sec->finish(p)) == 0)
		return 0;
	if (!lenient(p))
		return rc;
	if (rc != 0)
		p->sel->warn(p->sel->arg, p->msg);
	for (k = sec->off; k != NULL && *k != NULL; k++)
		if ((i = key_index(sec->name, *k, strlen(*k))) >= 0)
			set_default(p->conf, &conf_keys[i]);
	return sec->finish(p);
}

/* The checks on the whole text, once it is all read. */
static int conf_finish(struct conf_parser *p)
{
	size_t i;
	int rc;

	for (i = 0; i < N_SECTIONS; i++)
		if (conf_sections[i].finish != NULL &&
		    (rc = finish_section(p, &conf_sections[i])) != 0)
			return rc;
	return 0;
}

const char *conf_role_group(const struct pg_conf *conf,
                            const struct pg_conf_role *role, unsigned i)
{
	const char *g = conf->role_groups + role->groups_off;

	while (i-- > 0)
		g += strlen(g) + 1;
	return g;
}

/* A header "[ word arg ]" taken apart; close is NULL without ']'. */
struct header {
	const char *close, *word, *arg;
	size_t wlen, alen;
	const struct conf_section *sec; /* NULL: no such section */
};

static void header_split(const char *s, size_t len, struct header *h)
{
	const char *end, *name;
	size_t nlen, i;

	h->close = memchr(s, ']', len);
	end = h->close != NULL ? h->close : s + len;
	for (name = s + 1; name < end && is_space(*name); name++)
		;
	nlen = (size_t)(end - name);
	while (nlen > 0 && is_space(name[nlen - 1]))
		nlen--;
	/* "[role nurse]": the word, then the argument after blanks. */
	h->word = name;
	for (h->wlen = 0; h->wlen < nlen && !is_space(name[h->wlen]); h->wlen++)
		;
	for (h->arg = name + h->wlen; h->arg < name + nlen && is_space(*h->arg);
	     h->arg++)
		;
	h->alen = (size_t)(name + nlen - h->arg);
	h->sec = NULL;
	for (i = 0; i < N_SECTIONS; i++)
		if (word_is(conf_sections[i].name, h->word, h->wlen))
			h->sec = &conf_sections[i];
}

#define INLINE_COMMENT                                                         \
	"inline comments are not allowed: put the comment "                    \
	"on its own line"

/* ctl_col: the column of a control byte in the line, or 0. */
static int header_check(struct conf_parser *p, const char *s, size_t len,
                        const struct header *h, size_t ctl_col)
{
	const char *rest;
	size_t ilen;

	if (ctl_col != 0)
		return control_error(p, ctl_col);
	if (h->close == NULL)
		return conf_error(p, s, len, "missing ']'");
	for (rest = h->close + 1; rest < s + len && is_space(*rest); rest++)
		;
	if (rest < s + len)
		return conf_error(p, s, len, "%s",
		                  is_comment(*rest) ? INLINE_COMMENT
		                                    : "junk after ']'");
	ilen = (size_t)(h->close - s) + 1;
	if (h->sec == NULL)
		return conf_error(p, s, ilen, "unknown section");
	if (h->sec->has_arg && h->alen == 0)
		return conf_error(p, s, ilen, "missing name: [%s NAME]",
		                  h->sec->name);
	if (!h->sec->has_arg && h->alen > 0)
		return conf_error(p, s, ilen, "[%s] takes no name",
		                  h->sec->name);
	return 0;
}

static int section_end(struct conf_parser *p)
{
	if (p->section == NULL || p->section->leave == NULL)
		return 0;
	return p->section->leave(p);
}

/* End the current section; enter h's (NULL: one that is not read). */
static int section_enter(struct conf_parser *p, const struct header *h,
                         bool whole)
{
	int rc;

	if ((rc = section_end(p)) != 0)
		return rc;
	p->section = NULL;
	p->skip = true;
	if (h == NULL)
		return 0;
	p->section_line = p->line;
	if (h->sec->enter != NULL &&
	    (rc = h->sec->enter(p, h->arg, h->alen)) != 0)
		return rc;
	p->section = h->sec;
	p->skip = false;
	p->whole = whole;
	return 0;
}

/*
 * A header line. One of a section this reader does not read is skipped
 * unchecked, with everything up to the next header; so is a broken one of
 * a section it reads, once reported (for a reader that goes on).
 */
static int section_line(struct conf_parser *p, const char *s, size_t len,
                        size_t ctl_col)
{
	struct header h;
	bool whole;
	int rc;

	header_split(s, len, &h);
	if (!reads_section(p, h.word, h.wlen, &whole))
		return section_enter(p, NULL, false);
	if ((rc = header_check(p, s, len, &h, ctl_col)) != 0) {
		/* Not section_enter(): only sections without a leave()
		 * are read by a reader that goes on after an error. */
		if (h.sec != NULL)
			p->broken |= section_bit(h.sec);
		p->section = NULL;
		p->skip = true;
		return rc;
	}
	return section_enter(p, &h, whole);
}

/*
 * The value after "key =" (s to end, blanks skipped): in double quotes,
 * taken literally up to the next '"' (no escapes, so a quoted value
 * cannot hold '"'); else up to the end of the line, less trailing blanks.
 * There are no inline comments: "group = Team #5" silently cut to "Team"
 * could name another group, and kept whole it would surprise whoever
 * meant a comment; so a '#' or ';' that starts an unquoted value or
 * follows a blank in it is an error, as is anything after the quotes.
 */
static int value_split(struct conf_parser *p, const char *key, size_t klen,
                       const char *s, const char *end, const char **val,
                       size_t *vlen)
{
	const char *q;

	if (s < end && *s == '"') {
		q = memchr(s + 1, '"', (size_t)(end - s - 1));
		if (q == NULL)
			return conf_error(p, key, klen,
			                  "missing closing quote");
		*val = s + 1;
		*vlen = (size_t)(q - s - 1);
		for (s = q + 1; s < end && is_space(*s); s++)
			;
		if (s < end)
			return conf_error(p, key, klen, "%s",
			                  is_comment(*s)
			                      ? INLINE_COMMENT
			                      : "junk after closing quote");
		return 0;
	}
	for (q = s; q < end; q++)
		if (is_comment(*q) && (q == s || is_space(q[-1])))
			return conf_error(p, key, klen,
			                  INLINE_COMMENT
			                  ", or quote the value "
			                  "if '%c' belongs to it",
			                  *q);
	while (end > s && is_space(end[-1]))
		end--;
	*val = s;
	*vlen = (size_t)(end - s);
	return 0;
}

/*
 * "key = value" in a section that is read. A key of the table is looked
 * up (p->cur_key) and marked seen before anything else can fail, so a
 * reader that goes on keeps the default for it even if it comes again.
 */
static int keyval_line(struct conf_parser *p, const char *s, size_t len,
                       size_t ctl_col)
{
	const char *end = s + len;
	const char *key = s, *val = NULL;
	size_t klen, vlen = 0;
	int rc;

	while (s < end && !is_space(*s) && *s != '=')
		s++;
	klen = (size_t)(s - key);
	if (!reads_key(p, key, klen))
		return 0;
	if (p->section != NULL && p->section->keyval == table_keyval)
		p->cur_key = key_index(p->section->name, key, klen);
	if (p->cur_key >= 0) {
		/* Not last-wins: with a key set twice an admin cannot tell
		 * from the file which value is in force. */
		if (p->seen[p->cur_key] != 0)
			return conf_error(
			    p, key, klen,
			    "duplicate key (first set on line %u)",
			    p->seen[p->cur_key]);
		p->seen[p->cur_key] = p->line;
	}
	if (ctl_col != 0)
		return control_error(p, ctl_col);
	while (s < end && is_space(*s))
		s++;
	if (s == end || *s != '=')
		return conf_error(p, key, klen, "expected \"key = value\"");
	if (klen == 0)
		return conf_error(p, "=", 1, "missing key");
	if (p->section == NULL)
		return conf_error(p, key, klen, "key before any [section]");
	for (s++; s < end && is_space(*s); s++)
		;
	if ((rc = value_split(p, key, klen, s, end, &val, &vlen)) != 0)
		return rc;
	return p->section->keyval(p, key, klen, val, vlen);
}

static int parse_line(struct conf_parser *p, const char *s, size_t len)
{
	size_t i, col = 0;

	/* NUL and control bytes have no business in a config file and
	 * would otherwise truncate or garble values and log lines. Only
	 * what is read is checked. */
	for (i = 0; i < len && col == 0; i++)
		if ((unsigned char)s[i] < 0x20 && s[i] != '\t' && s[i] != '\r')
			col = i + 1;
	p->cur_key = -1;
	while (len > 0 && is_space(*s)) {
		s++;
		len--;
	}
	while (len > 0 && is_space(s[len - 1]))
		len--;
	if (len > 0 && *s == '[')
		return section_line(p, s, len, col);
	if (p->skip)
		return 0;
	if (len == 0 || is_comment(*s))
		return col == 0 ? 0 : control_error(p, col);
	return keyval_line(p, s, len, col);
}

void conf_defaults(struct pg_conf *conf)
{
	size_t i;

	memset(conf, 0, sizeof(*conf));
	for (i = 0; i < N_KEYS; i++)
		set_default(conf, &conf_keys[i]);
}

/*
 * Every entry names a section, or a key of a table section; a reader that
 * goes on after errors reads only sections that make sense alone.
 */
static int select_check(const struct conf_select *sel)
{
	const struct conf_section *sec = NULL;
	const char *const *e;
	const char *dot;
	size_t i, slen;

	if (sel->keys == NULL)
		return PG_ERR_INVAL;
	for (e = sel->keys; *e != NULL; e++) {
		dot = strchr(*e, '.');
		slen = dot != NULL ? (size_t)(dot - *e) : strlen(*e);
		for (i = 0; i < N_SECTIONS; i++) {
			sec = &conf_sections[i];
			if (word_is(sec->name, *e, slen))
				break;
		}
		if (i == N_SECTIONS ||
		    (dot != NULL &&
		     (sec->keyval != table_keyval ||
		      key_index(sec->name, dot + 1, strlen(dot + 1)) < 0)))
			return PG_ERR_INVAL;
		/* Its keys make no sense without the rest of the file. */
		if (sel->warn != NULL &&
		    (sec->keyval != table_keyval ||
		     (sec->finish != NULL && sec->off == NULL)))
			return PG_ERR_INVAL;
	}
	return 0;
}

/* A reader that goes on: report, and the line's key back to its default. */
static void recover(struct conf_parser *p)
{
	p->sel->warn(p->sel->arg, p->msg);
	if (p->cur_key >= 0)
		set_default(p->conf, &conf_keys[p->cur_key]);
	if (p->section != NULL)
		p->broken |= section_bit(p->section);
}

static int parse_text(struct conf_parser *p, const char *text, size_t len)
{
	const char *end = text + len, *nl;
	int rc;

	while (text < end) {
		p->line++;
		nl = memchr(text, '\n', (size_t)(end - text));
		if (nl == NULL)
			nl = end;
		if ((rc = parse_line(p, text, (size_t)(nl - text))) != 0) {
			if (!lenient(p))
				return rc;
			recover(p);
		}
		text = nl < end ? nl + 1 : end;
	}
	if ((rc = section_end(p)) != 0)
		return rc;
	return conf_finish(p);
}

int conf_parse_select(const char *name, const char *text, size_t len,
                      const struct conf_select *sel, struct pg_conf *conf,
                      char *err, size_t errlen)
{
	struct conf_parser p = {
	    .name = name != NULL ? name : "(config)",
	    .sel = sel,
	    .skip = sel != NULL, /* lines before any header */
	    .conf = conf,
	};
	int rc;

	if (sel != NULL && select_check(sel) != 0) {
		pg_err_set(err, errlen, "%s: bad selection of keys", p.name);
		return PG_ERR_INVAL;
	}
	if (text == NULL)
		return len == 0 ? 0 : PG_ERR_INVAL;
	rc = parse_text(&p, text, len);
	if (rc != 0 && err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", p.msg);
	return rc;
}

int conf_parse(const char *name, const char *text, size_t len,
               struct pg_conf *conf, char *err, size_t errlen)
{
	return conf_parse_select(name, text, len, NULL, conf, err, errlen);
}

int conf_load_select(const char *path, int check_owner,
                     const struct conf_select *sel, struct pg_conf *conf,
                     char *err, size_t errlen)
{
	struct safefile_policy pol = safefile_config_policy;
	char *buf = NULL;
	size_t len = 0;
	int rc;

	pol.allow_other_owner = !check_owner;
	if ((rc = safefile_read(path, &pol, &buf, &len, err, errlen)) != 0)
		goto out;
	rc = conf_parse_select(path, buf, len, sel, conf, err, errlen);
out:
	/* Wiped even though the config holds only paths: cheap insurance
	 * against someone pasting a secret into it. */
	secret_free(buf, len + 1);
	return rc;
}

int conf_load(const char *path, int check_owner, struct pg_conf *conf,
              char *err, size_t errlen)
{
	return conf_load_select(path, check_owner, NULL, conf, err, errlen);
}

/* Quote exactly when the parser would otherwise change the value. */
static bool needs_quotes(const char *v)
{
	size_t len = strlen(v), i;

	if (len == 0 || v[0] == '"' || is_space(v[0]) || is_space(v[len - 1]))
		return true;
	for (i = 0; i < len; i++)
		if (is_comment(v[i]) && (i == 0 || is_space(v[i - 1])))
			return true;
	return false;
}

static void dump_str(FILE *out, const char *key, const char *v)
{
	fprintf(out, needs_quotes(v) ? "%s = \"%s\"\n" : "%s = %s\n", key, v);
}

static void dump_table(const struct pg_conf *conf, const char *section,
                       FILE *out)
{
	const struct conf_key *k;
	const char *field;
	size_t i;
	int w;

	for (i = 0; i < N_KEYS; i++) {
		k = &conf_keys[i];
		if (strcmp(k->section, section) != 0)
			continue;
		field = (const char *)conf + k->offset;
		switch (k->type) {
		case CONF_STR:
			dump_str(out, k->key, field);
			break;
		case CONF_BOOL:
			fprintf(out, "%s = %s\n", k->key,
			        *(const bool *)field ? "yes" : "no");
			break;
		case CONF_WORD:
			memcpy(&w, field, sizeof(w));
			fprintf(out, "%s = %s\n", k->key, k->words[w]);
			break;
		case CONF_LONG:
			fprintf(out, "%s = %ld\n", k->key,
			        *(const long *)field / k->scale);
			break;
		}
	}
}

const char *conf_reqcert_name(enum conf_reqcert v)
{
	return (unsigned)v <= CONF_REQCERT_NEVER ? reqcert_words[v] : "unknown";
}

const char *conf_provider_name(enum conf_provider v)
{
	return (unsigned)v <= CONF_PROVIDER_PRIVACYIDEA ? provider_words[v]
	                                                : "none";
}

void conf_dump(const struct pg_conf *conf, FILE *out)
{
	const struct pg_conf_role *r;
	size_t s, i;
	unsigned g;

	fprintf(out, "# phiguard effective configuration\n");
	for (s = 0; s < N_SECTIONS; s++) {
		if (conf_sections[s].keyval != table_keyval)
			continue;
		/* Without [ldap] the daemon runs without a directory; a dump
		 * must not switch it on. */
		if (strcmp(conf_sections[s].name, "ldap") == 0 && !conf->ldap)
			continue;
		fprintf(out, "\n[%s]\n", conf_sections[s].name);
		dump_table(conf, conf_sections[s].name, out);
	}
	for (i = 0; i < conf->nroles; i++) {
		r = &conf->roles[i];
		fprintf(out, "\n[role %s]\n", r->name);
		for (g = 0; g < r->ngroups; g++)
			dump_str(out, "group", conf_role_group(conf, r, g));
		dump_str(out, "scopes", r->scopes);
		dump_str(out, "terminals", r->terminals);
		fprintf(out, "breakglass = %s\n", r->breakglass ? "yes" : "no");
	}
}
