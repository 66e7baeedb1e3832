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

enum conf_type { CONF_STR, CONF_LONG };

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
	unsigned flags;
	const char *def_str;
	long def_long;
};

#define STR(sec, k, fl, def)                                                   \
	{                                                                      \
		.section = sec, .key = #k, .type = CONF_STR,                   \
		.offset = offsetof(struct pg_conf, k),                         \
		.size = sizeof(((struct pg_conf *)0)->k), .flags = fl,         \
		.def_str = def                                                 \
	}
#define NUM(sec, k, lo, hi, def)                                               \
	{                                                                      \
		.section = sec, .key = #k, .type = CONF_LONG,                  \
		.offset = offsetof(struct pg_conf, k), .min = lo, .max = hi,   \
		.def_long = def                                                \
	}

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
	int (*keyval)(struct conf_parser *p, const char *key, size_t klen,
	              const char *val, size_t vlen);
};

struct conf_parser {
	const char *name;
	unsigned line;
	const struct conf_section *section; /* NULL before the first one */
	unsigned seen[N_KEYS];              /* line a key was set on, or 0 */
	struct pg_conf *conf;
	char *err;
	size_t errlen;
};

static int table_keyval(struct conf_parser *p, const char *key, size_t klen,
                        const char *val, size_t vlen);

static const struct conf_section conf_sections[] = {
    {"daemon", table_keyval},
    {"totp", table_keyval},
};

#define N_SECTIONS (sizeof(conf_sections) / sizeof(conf_sections[0]))

/* Longest key or section name quoted back in an error message. */
#define ERR_NAME_MAX 64

/* Record "name:line: item: reason" and return PG_ERR_CONFIG. */
__attribute__((format(printf, 4, 5))) static int
conf_error(struct conf_parser *p, const char *item, size_t ilen,
           const char *fmt, ...)
{
	char reason[PG_CONF_ERRLEN];
	va_list ap;

	if (p->err == NULL || p->errlen == 0)
		return PG_ERR_CONFIG;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s:%u: %.*s: %s", p->name, p->line,
	         (int)(ilen > ERR_NAME_MAX ? ERR_NAME_MAX : ilen), item,
	         reason);
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

static int set_long(struct conf_parser *p, const struct conf_key *k,
                    const char *key, size_t klen, const char *val, size_t vlen)
{
	char num[32];
	char *end;
	long v;

	/* The value is not NUL-terminated in the text; strtol needs a copy.
	 * Nothing in range needs more digits than fit. */
	if (vlen == 0 || vlen >= sizeof(num))
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
	*(long *)((char *)p->conf + k->offset) = v;
	return 0;
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

static int table_keyval(struct conf_parser *p, const char *key, size_t klen,
                        const char *val, size_t vlen)
{
	const struct conf_key *k;
	size_t i;

	for (i = 0; i < N_KEYS; i++) {
		k = &conf_keys[i];
		if (strcmp(k->section, p->section->name) == 0 &&
		    strlen(k->key) == klen && memcmp(k->key, key, klen) == 0)
			break;
	}
	if (i == N_KEYS)
		return conf_error(p, key, klen, "unknown key in [%s]",
		                  p->section->name);
	/* Not last-wins: with a key set twice an admin cannot tell from the
	 * file which value is in force. */
	if (p->seen[i] != 0)
		return conf_error(p, key, klen,
		                  "duplicate key (first set on line %u)",
		                  p->seen[i]);
	p->seen[i] = p->line;
	if (k->type == CONF_LONG)
		return set_long(p, k, key, klen, val, vlen);
	return set_str(p, k, key, klen, val, vlen);
}

static int section_line(struct conf_parser *p, const char *s, size_t len)
{
	const char *close = memchr(s, ']', len);
	const char *name = s + 1;
	const char *rest;
	size_t nlen, i;

	if (close == NULL)
		return conf_error(p, s, len, "missing ']'");
	for (rest = close + 1; rest < s + len && is_space(*rest); rest++)
		;
	if (rest < s + len && !is_comment(*rest))
		return conf_error(p, s, len, "junk after ']'");
	while (name < close && is_space(*name))
		name++;
	nlen = (size_t)(close - name);
	while (nlen > 0 && is_space(name[nlen - 1]))
		nlen--;
	for (i = 0; i < N_SECTIONS; i++) {
		if (strlen(conf_sections[i].name) == nlen &&
		    memcmp(conf_sections[i].name, name, nlen) == 0) {
			p->section = &conf_sections[i];
			return 0;
		}
	}
	return conf_error(p, s, (size_t)(close - s) + 1, "unknown section");
}

/*
 * Split "key = value" and unquote the value. An unquoted value ends at a
 * '#' or ';' that follows whitespace (an inline comment) and loses its
 * trailing whitespace; a value in double quotes is taken literally up to
 * the next '"', which is how a value keeps a " #" or edge spaces. There
 * are no escapes, so a quoted value cannot contain '"'.
 */
static int keyval_line(struct conf_parser *p, const char *s, size_t len)
{
	const char *end = s + len;
	const char *key = s, *val, *q;
	size_t klen;

	while (s < end && !is_space(*s) && *s != '=')
		s++;
	klen = (size_t)(s - key);
	while (s < end && is_space(*s))
		s++;
	if (s == end || *s != '=')
		return conf_error(p, key, klen, "expected \"key = value\"");
	if (klen == 0)
		return conf_error(p, "=", 1, "missing key");
	if (p->section == NULL)
		return conf_error(p, key, klen, "key before any [section]");
	s++;
	while (s < end && is_space(*s))
		s++;
	if (s < end && *s == '"') {
		val = s + 1;
		q = memchr(val, '"', (size_t)(end - val));
		if (q == NULL)
			return conf_error(p, key, klen,
			                  "missing closing quote");
		for (s = q + 1; s < end && is_space(*s); s++)
			;
		if (s < end && !is_comment(*s))
			return conf_error(p, key, klen,
			                  "junk after closing quote");
		end = q;
	} else {
		val = s;
		for (q = val; q < end; q++)
			if (is_comment(*q) && q > val && is_space(q[-1]))
				break;
		end = q;
		while (end > val && is_space(end[-1]))
			end--;
	}
	return p->section->keyval(p, key, klen, val, (size_t)(end - val));
}

static int parse_line(struct conf_parser *p, const char *s, size_t len)
{
	size_t i;

	/* NUL and control bytes have no business in a config file and
	 * would otherwise truncate or garble values and log lines. */
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 && s[i] != '\t' && s[i] != '\r')
			return conf_error(p, "(line)", 6,
			                  "control character at column %zu",
			                  i + 1);
	while (len > 0 && is_space(*s)) {
		s++;
		len--;
	}
	while (len > 0 && is_space(s[len - 1]))
		len--;
	if (len == 0 || is_comment(*s))
		return 0;
	if (*s == '[')
		return section_line(p, s, len);
	return keyval_line(p, s, len);
}

void conf_defaults(struct pg_conf *conf)
{
	const struct conf_key *k;
	size_t i;

	memset(conf, 0, sizeof(*conf));
	for (i = 0; i < N_KEYS; i++) {
		k = &conf_keys[i];
		if (k->type == CONF_LONG)
			*(long *)((char *)conf + k->offset) = k->def_long;
		else
			snprintf((char *)conf + k->offset, k->size, "%s",
			         k->def_str);
	}
}

int conf_parse(const char *name, const char *text, size_t len,
               struct pg_conf *conf, char *err, size_t errlen)
{
	struct conf_parser p = {
	    .name = name != NULL ? name : "(config)",
	    .conf = conf,
	    .err = err,
	    .errlen = errlen,
	};
	const char *end, *nl;
	int rc;

	if (text == NULL)
		return len == 0 ? 0 : PG_ERR_INVAL;
	end = text + len;
	while (text < end) {
		p.line++;
		nl = memchr(text, '\n', (size_t)(end - text));
		if (nl == NULL)
			nl = end;
		if ((rc = parse_line(&p, text, (size_t)(nl - text))) != 0)
			return rc;
		text = nl < end ? nl + 1 : end;
	}
	return 0;
}

int conf_load(const char *path, int check_owner, struct pg_conf *conf,
              char *err, size_t errlen)
{
	struct safefile_policy pol = safefile_config_policy;
	char *buf = NULL;
	size_t len = 0;
	int rc;

	pol.allow_other_owner = !check_owner;
	if ((rc = safefile_read(path, &pol, &buf, &len, err, errlen)) != 0)
		goto out;
	rc = conf_parse(path, buf, len, conf, err, errlen);
out:
	/* Wiped even though the config holds only paths: cheap insurance
	 * against someone pasting a secret into it. */
	secret_free(buf, len + 1);
	return rc;
}

/* Quote exactly when the parser would otherwise change the value. */
static bool needs_quotes(const char *v)
{
	size_t len = strlen(v), i;

	if (len == 0 || v[0] == '"' || is_space(v[0]) || is_space(v[len - 1]))
		return true;
	for (i = 1; i < len; i++)
		if (is_comment(v[i]) && is_space(v[i - 1]))
			return true;
	return false;
}

void conf_dump(const struct pg_conf *conf, FILE *out)
{
	const struct conf_key *k;
	const char *v;
	size_t s, i;

	fprintf(out, "# phiguard effective configuration\n");
	for (s = 0; s < N_SECTIONS; s++) {
		fprintf(out, "\n[%s]\n", conf_sections[s].name);
		for (i = 0; i < N_KEYS; i++) {
			k = &conf_keys[i];
			if (strcmp(k->section, conf_sections[s].name) != 0)
				continue;
			if (k->type == CONF_LONG) {
				fprintf(out, "%s = %ld\n", k->key,
				        *(const long *)((const char *)conf +
				                        k->offset));
				continue;
			}
			v = (const char *)conf + k->offset;
			fprintf(out,
			        needs_quotes(v) ? "%s = \"%s\"\n" : "%s = %s\n",
			        k->key, v);
		}
	}
}
