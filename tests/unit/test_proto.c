/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for the wire protocol (common/proto.c) and the error table it
 * carries (common/err.c). */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "testutil.h"

#include "err.h"
#include "proto.h"
#include "username.h"

static int parse_str(const char *s, struct pg_msg *m)
{
	return proto_parse(s, strlen(s), m);
}

/* Format m and return the line in a static buffer (tests only). */
static const char *fmt(const struct pg_msg *m)
{
	static char out[PG_PROTO_MAX_LINE + 1];
	size_t len = 0;

	assert_int_equal(proto_format(m, out, sizeof(out), &len), 0);
	assert_int_equal(len, strlen(out));
	return out;
}

static void test_verb_names(void **state)
{
	enum pg_verb v;

	for (v = PG_VERB_OK; v <= PG_VERB_UNLOCK; v++) {
		assert_non_null(proto_verb_name(v));
		assert_int_equal(proto_verb_from_name(proto_verb_name(v)), v);
	}
	assert_string_equal(proto_verb_name(PG_VERB_CLAIM), "CLAIM");
	assert_null(proto_verb_name(PG_VERB_UNKNOWN));
	assert_null(proto_verb_name((enum pg_verb)999));
	assert_int_equal(proto_verb_from_name("FROB"), PG_VERB_UNKNOWN);
	assert_int_equal(proto_verb_from_name("preauth"), PG_VERB_UNKNOWN);
	assert_int_equal(proto_verb_from_name(NULL), PG_VERB_UNKNOWN);
}

static void test_err_table(void **state)
{
	int e;

	/* Every code has a distinct wire name that maps back to it. */
	for (e = PG_ERR_INTERNAL; e >= PG_ERR_LAST; e--) {
		assert_int_equal(pg_err_from_name(pg_err_name(e)), e);
		assert_string_not_equal(pg_strerror(e), "unknown error");
	}
	assert_string_equal(pg_err_name(PG_ERR_UNKNOWN_VERB), "unknown-verb");
	assert_string_equal(pg_err_name(PG_ERR_MISSING), "missing-field");
	assert_string_equal(pg_err_name(PG_ERR_TOOLONG), "too-long");
	assert_string_equal(pg_err_name(-999), "internal");
	assert_string_equal(pg_err_name(5), "internal");
	assert_string_equal(pg_strerror(-999), "unknown error");
	assert_string_equal(pg_strerror(0), "success");
	assert_int_equal(pg_err_from_name("bogus"), PG_ERR_INTERNAL);
	assert_int_equal(pg_err_from_name("ok"), PG_ERR_INTERNAL);
	assert_int_equal(pg_err_from_name(NULL), PG_ERR_INTERNAL);
}

static void test_err_set(void **state)
{
	char err[8] = "unset";

	pg_err_set(err, sizeof(err), "%s: %d", "x", 42);
	assert_string_equal(err, "x: 42");
	/* Truncated, still terminated. */
	pg_err_set(err, sizeof(err), "%s", "0123456789");
	assert_string_equal(err, "0123456");
	/* No buffer, or no room: nothing is written. */
	pg_err_set(NULL, 0, "%s", "ignored");
	pg_err_set(NULL, sizeof(err), "%s", "ignored");
	pg_err_set(err, 0, "%s", "ignored");
	assert_string_equal(err, "0123456");
}

static void test_round_trip(void **state)
{
	static struct pg_msg m, p;

	proto_msg_init(&m, PG_VERB_PREAUTH);
	assert_int_equal(proto_add(&m, "user", "nurse1"), 0);
	assert_int_equal(proto_add(&m, "service", "login"), 0);
	assert_int_equal(proto_add(&m, "tty", "tty1"), 0);
	assert_string_equal(fmt(&m),
	                    "v1 PREAUTH user=nurse1 service=login tty=tty1\n");
	assert_int_equal(parse_str(fmt(&m), &p), 0);
	assert_int_equal(p.verb, PG_VERB_PREAUTH);
	assert_string_equal(p.verb_name, "PREAUTH");
	assert_int_equal(p.nfields, 3);
	assert_string_equal(proto_get(&p, "user"), "nurse1");
	assert_string_equal(proto_get(&p, "service"), "login");
	assert_string_equal(proto_get(&p, "tty"), "tty1");
	assert_null(proto_get(&p, "rhost"));
	assert_null(proto_get(&p, NULL));
	/* Without the final newline too. */
	assert_int_equal(parse_str("v1 OK locked=no", &p), 0);
	assert_int_equal(p.verb, PG_VERB_OK);
	assert_string_equal(proto_get(&p, "locked"), "no");
	/* No fields at all. */
	assert_int_equal(parse_str("v1 STATUS\n", &p), 0);
	assert_int_equal(p.verb, PG_VERB_STATUS);
	assert_int_equal(p.nfields, 0);
}

static void test_encoding_all_bytes(void **state)
{
	static struct pg_msg m, p;
	char value[256];
	const char *line, *v;
	int c, i = 0;

	for (c = 1; c < 256; c++)
		value[i++] = (char)c;
	value[i] = '\0';
	proto_msg_init(&m, PG_VERB_OK);
	assert_int_equal(proto_add(&m, "v", value), 0);
	line = fmt(&m);
	/* Each byte appears as the spec says: escaped or literal. */
	v = line + strlen("v1 OK v=");
	for (c = 1; c < 256; c++) {
		if (c < 0x21 || c == '%' || c == '=' || c == 0x7f) {
			char esc[4];

			snprintf(esc, sizeof(esc), "%%%02X", c);
			assert_memory_equal(v, esc, 3);
			v += 3;
		} else {
			assert_int_equal((unsigned char)*v, c);
			v++;
		}
	}
	assert_string_equal(v, "\n");
	assert_int_equal(parse_str(line, &p), 0);
	assert_string_equal(proto_get(&p, "v"), value);
}

static void test_escapes(void **state)
{
	static struct pg_msg m, p;

	proto_msg_init(&m, PG_VERB_ERR);
	assert_int_equal(proto_add(&m, "msg", "a b%c=d\x7f\n"), 0);
	assert_string_equal(fmt(&m), "v1 ERR msg=a%20b%25c%3Dd%7F%0A\n");
	/* Lower-case hex is accepted on input. */
	assert_int_equal(parse_str("v1 OK a=%2f%2F%7e", &p), 0);
	assert_string_equal(proto_get(&p, "a"), "//~");
	/* Multi-byte UTF-8 passes through literally. */
	assert_int_equal(parse_str("v1 OK a=j\xc3\xbcrgen", &p), 0);
	assert_string_equal(proto_get(&p, "a"), "j\xc3\xbcrgen");
	/* Empty value. */
	assert_int_equal(parse_str("v1 OK a= b=x", &p), 0);
	assert_string_equal(proto_get(&p, "a"), "");
	assert_string_equal(proto_get(&p, "b"), "x");
}

static void test_bad_escapes(void **state)
{
	static struct pg_msg p;
	static const char *const bad[] = {
	    "v1 OK a=%",    "v1 OK a=%2",  "v1 OK a=%G0", "v1 OK a=%0G",
	    "v1 OK a=%00",  "v1 OK a=x%",  "v1 OK a=%%",  "v1 OK a=a=b",
	    "v1 OK a=\x7f", "v1 OK a=\t",  "v1 OK a=\r",  "v1 OK a=\x01",
	    "v1 OK a=%-1",  "v1 OK a=% 1",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse_str(bad[i], &p), PG_ERR_PROTO);
}

static void test_syntax_errors(void **state)
{
	static struct pg_msg p;
	static const char *const bad[] = {
	    "",
	    "\n",
	    " v1 OK",
	    "v1",
	    "v1 ",
	    "v1  OK",
	    "v1 OK ",
	    "v1 OK  a=1",
	    "v1 OK a=1 ",
	    "v1 ok",
	    "v1 PRE-AUTH",
	    "v1 OK\r",
	    "v1 ABCDEFGHIJKLMNOPQ",
	    "v1 OK a",
	    "v1 OK =1",
	    "v1 OK A=1",
	    "v1 OK a-b=1",
	    "v1 OK abcdefghijklmnopqrstuvwxyz0123456=1",
	    "v1 OK a=1\nv1 OK b=2",
	    "v1 OK a=1\n\n",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse_str(bad[i], &p), PG_ERR_PROTO);
	/* Limits are inclusive: a 16-letter verb and a 32-byte key. */
	assert_int_equal(parse_str("v1 ABCDEFGHIJKLMNOP", &p), 0);
	assert_int_equal(p.verb, PG_VERB_UNKNOWN);
	assert_int_equal(
	    parse_str("v1 OK abcdefghijklmnopqrstuvwxyz012345=1", &p), 0);
	assert_string_equal(proto_get(&p, "abcdefghijklmnopqrstuvwxyz012345"),
	                    "1");
	/* A NUL byte inside the line. */
	assert_int_equal(proto_parse("v1 OK a=1\0b", 11, &p), PG_ERR_PROTO);
	assert_int_equal(proto_parse(NULL, 0, &p), PG_ERR_PROTO);
}

static void test_version(void **state)
{
	static struct pg_msg p;

	assert_int_equal(parse_str("v2 PREAUTH user=a", &p), PG_ERR_VERSION);
	assert_int_equal(parse_str("V1 OK", &p), PG_ERR_VERSION);
	assert_int_equal(parse_str("v10 OK", &p), PG_ERR_VERSION);
	assert_int_equal(parse_str("GET / HTTP/1.1", &p), PG_ERR_VERSION);
	assert_int_equal(parse_str("PREAUTH user=a", &p), PG_ERR_VERSION);
}

static void test_unknown_verb(void **state)
{
	static struct pg_msg p;

	assert_int_equal(parse_str("v1 FROB x=1\n", &p), 0);
	assert_int_equal(p.verb, PG_VERB_UNKNOWN);
	assert_string_equal(p.verb_name, "FROB");
	assert_string_equal(proto_get(&p, "x"), "1");
	/* It formats back under the name it came with. */
	assert_string_equal(fmt(&p), "v1 FROB x=1\n");
}

static void test_duplicate_keys(void **state)
{
	static struct pg_msg m, p;

	assert_int_equal(parse_str("v1 OK a=1 b=2 a=3", &p), PG_ERR_PROTO);
	assert_int_equal(parse_str("v1 OK a=1 a=1", &p), PG_ERR_PROTO);
	/* Keys that share a prefix are not duplicates. */
	assert_int_equal(parse_str("v1 OK a=1 ab=2", &p), 0);
	assert_string_equal(proto_get(&p, "a"), "1");
	assert_string_equal(proto_get(&p, "ab"), "2");
	proto_msg_init(&m, PG_VERB_OK);
	assert_int_equal(proto_add(&m, "a", "1"), 0);
	assert_int_equal(proto_add(&m, "a", "2"), PG_ERR_INVAL);
	assert_int_equal(proto_add(&m, "ab", "2"), 0);
	assert_int_equal(m.nfields, 2);
}

static void test_field_limit(void **state)
{
	static struct pg_msg m, p;
	char line[1024], key[8];
	size_t pos, i;

	pos = (size_t)snprintf(line, sizeof(line), "v1 OK");
	for (i = 0; i < PG_PROTO_MAX_FIELDS; i++)
		pos += (size_t)snprintf(line + pos, sizeof(line) - pos,
		                        " k%zu=%zu", i, i);
	assert_int_equal(parse_str(line, &p), 0);
	assert_int_equal(p.nfields, PG_PROTO_MAX_FIELDS);
	snprintf(line + pos, sizeof(line) - pos, " extra=1");
	assert_int_equal(parse_str(line, &p), PG_ERR_PROTO);

	proto_msg_init(&m, PG_VERB_OK);
	for (i = 0; i < PG_PROTO_MAX_FIELDS; i++) {
		snprintf(key, sizeof(key), "k%zu", i);
		assert_int_equal(proto_add(&m, key, "v"), 0);
	}
	assert_int_equal(proto_add(&m, "extra", "v"), PG_ERR_TOOLONG);
	assert_int_equal(m.nfields, PG_PROTO_MAX_FIELDS);
}

/* A line of exactly total bytes (with or without the "\n"). */
static char *make_line(size_t total, int newline)
{
	char *s = malloc(total + 1);
	size_t prefix = strlen("v1 OK a=");

	assert_non_null(s);
	memcpy(s, "v1 OK a=", prefix);
	memset(s + prefix, 'x', total - prefix);
	if (newline)
		s[total - 1] = '\n';
	s[total] = '\0';
	return s;
}

static void test_line_length(void **state)
{
	static struct pg_msg p;
	char *s;

	s = make_line(PG_PROTO_MAX_LINE, 1);
	assert_int_equal(proto_parse(s, PG_PROTO_MAX_LINE, &p), 0);
	assert_int_equal(strlen(proto_get(&p, "a")),
	                 PG_PROTO_MAX_LINE - strlen("v1 OK a=") - 1);
	free(s);
	s = make_line(PG_PROTO_MAX_LINE + 1, 1);
	assert_int_equal(proto_parse(s, PG_PROTO_MAX_LINE + 1, &p),
	                 PG_ERR_TOOLONG);
	free(s);
	/* Without the "\n" the limit is one less, as the "\n" still counts. */
	s = make_line(PG_PROTO_MAX_LINE - 1, 0);
	assert_int_equal(proto_parse(s, PG_PROTO_MAX_LINE - 1, &p), 0);
	free(s);
	s = make_line(PG_PROTO_MAX_LINE, 0);
	assert_int_equal(proto_parse(s, PG_PROTO_MAX_LINE, &p), PG_ERR_TOOLONG);
	free(s);
}

static void test_add_limits(void **state)
{
	static struct pg_msg m, p;
	static char big[PG_PROTO_MAX_LINE];
	size_t room;

	proto_msg_init(&m, PG_VERB_OK);
	assert_int_equal(proto_add(&m, "User", "x"), PG_ERR_INVAL);
	assert_int_equal(proto_add(&m, "", "x"), PG_ERR_INVAL);
	assert_int_equal(proto_add(&m, "a b", "x"), PG_ERR_INVAL);
	assert_int_equal(
	    proto_add(&m, "abcdefghijklmnopqrstuvwxyz0123456", "x"),
	    PG_ERR_INVAL);
	assert_int_equal(proto_add(&m, NULL, "x"), PG_ERR_INVAL);
	assert_int_equal(proto_add(&m, "a", NULL), PG_ERR_INVAL);
	assert_int_equal(m.nfields, 0);

	/* "v1 OK a=" + value + "\n" == 4096 exactly fits. */
	room = PG_PROTO_MAX_LINE - strlen("v1 OK a=") - 1;
	memset(big, 'y', room + 1);
	big[room + 1] = '\0';
	assert_int_equal(proto_add(&m, "a", big), PG_ERR_TOOLONG);
	big[room] = '\0';
	assert_int_equal(proto_add(&m, "a", big), 0);
	assert_int_equal(strlen(fmt(&m)), PG_PROTO_MAX_LINE);
	assert_int_equal(parse_str(fmt(&m), &p), 0);
	assert_string_equal(proto_get(&p, "a"), big);
	assert_int_equal(proto_add(&m, "b", ""), PG_ERR_TOOLONG);

	/* Escaping counts: a third as many '%' do not fit either. */
	proto_msg_init(&m, PG_VERB_OK);
	memset(big, '%', room / 3 + 1);
	big[room / 3 + 1] = '\0';
	assert_int_equal(proto_add(&m, "a", big), PG_ERR_TOOLONG);
	big[room / 3] = '\0';
	assert_int_equal(proto_add(&m, "a", big), 0);
}

static void test_add_numbers(void **state)
{
	static struct pg_msg m;

	proto_msg_init(&m, PG_VERB_CLAIM);
	assert_int_equal(proto_add_u64(&m, "max", UINT64_MAX), 0);
	assert_int_equal(proto_add_u64(&m, "zero", 0), 0);
	assert_int_equal(proto_add_i64(&m, "min", INT64_MIN), 0);
	assert_int_equal(proto_add_i64(&m, "neg", -5), 0);
	assert_int_equal(proto_add_u64(&m, "Bad", 1), PG_ERR_INVAL);
	assert_string_equal(proto_get(&m, "max"), "18446744073709551615");
	assert_string_equal(proto_get(&m, "zero"), "0");
	assert_string_equal(proto_get(&m, "min"), "-9223372036854775808");
	assert_string_equal(proto_get(&m, "neg"), "-5");
}

static void test_get_u64(void **state)
{
	static struct pg_msg p;
	uint64_t v = 42;

	assert_int_equal(
	    parse_str("v1 CLAIM step=59240123 max=18446744073709551615"
	              " over=18446744073709551616 neg=-1 plus=+1"
	              " sp=%201 tr=1%20 hex=0x10 empty= zero=0"
	              " lead=007 big=99999999999999999999999",
	              &p),
	    0);
	assert_int_equal(proto_get_u64(&p, "step", UINT64_MAX, &v), 0);
	assert_int_equal(v, 59240123);
	assert_int_equal(proto_get_u64(&p, "max", UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(proto_get_u64(&p, "zero", 0, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(proto_get_u64(&p, "lead", 7, &v), 0);
	assert_int_equal(v, 7);

	v = 42;
	assert_int_equal(proto_get_u64(&p, "absent", 10, &v), PG_ERR_MISSING);
	assert_int_equal(proto_get_u64(&p, "over", UINT64_MAX, &v),
	                 PG_ERR_INVAL);
	assert_int_equal(proto_get_u64(&p, "big", UINT64_MAX, &v),
	                 PG_ERR_INVAL);
	assert_int_equal(proto_get_u64(&p, "neg", UINT64_MAX, &v),
	                 PG_ERR_INVAL);
	assert_int_equal(proto_get_u64(&p, "plus", UINT64_MAX, &v),
	                 PG_ERR_INVAL);
	assert_int_equal(proto_get_u64(&p, "sp", UINT64_MAX, &v), PG_ERR_INVAL);
	assert_int_equal(proto_get_u64(&p, "tr", UINT64_MAX, &v), PG_ERR_INVAL);
	assert_int_equal(proto_get_u64(&p, "hex", UINT64_MAX, &v),
	                 PG_ERR_INVAL);
	assert_int_equal(proto_get_u64(&p, "empty", UINT64_MAX, &v),
	                 PG_ERR_INVAL);
	/* Above max: one over is refused, max itself is not. */
	assert_int_equal(proto_get_u64(&p, "step", 59240122, &v), PG_ERR_INVAL);
	/* The out-parameter is untouched by every failure above. */
	assert_int_equal(v, 42);
	assert_int_equal(proto_get_u64(&p, "step", 59240123, &v), 0);
	assert_int_equal(v, 59240123);
}

static void test_format_errors(void **state)
{
	static struct pg_msg m;
	char small[16];
	char out[PG_PROTO_MAX_LINE + 1];
	size_t len = 777;

	proto_msg_init(&m, PG_VERB_PREAUTH);
	assert_int_equal(proto_add(&m, "user", "nurse1"), 0);
	assert_int_equal(proto_format(&m, small, sizeof(small), &len),
	                 PG_ERR_TOOLONG);
	assert_int_equal(len, 777);
	/* The line is 23 bytes; 23 + NUL is the minimum buffer. */
	assert_int_equal(proto_format(&m, out, 23, &len), PG_ERR_TOOLONG);
	assert_int_equal(proto_format(&m, out, 24, &len), 0);
	assert_int_equal(len, 23);

	/* No verb to put on the wire. */
	proto_msg_init(&m, PG_VERB_UNKNOWN);
	assert_int_equal(proto_format(&m, out, sizeof(out), &len),
	                 PG_ERR_INVAL);
	/* A key poked in by hand that the parser would refuse. */
	proto_msg_init(&m, PG_VERB_OK);
	assert_int_equal(proto_add(&m, "a", "1"), 0);
	m.fields[0].key = "Bad";
	assert_int_equal(proto_format(&m, out, sizeof(out), &len),
	                 PG_ERR_INVAL);
	assert_int_equal(len, 23);
}

/*
 * The exact bytes proto_format writes (built by copies since the warm
 * CHECK path lost its printf): every verb alone, the CHECK answers, an
 * unknown verb as received, escapes at the start, the end and in a row,
 * numbers at their limits, and a line ending at the buffer's last byte.
 */
static void test_format_exact(void **state)
{
	static struct pg_msg m, p;
	char out[PG_PROTO_MAX_LINE + 1], want[64];
	size_t len = 0, n;
	int v;

	for (v = PG_VERB_OK; v <= PG_VERB_AUDIT; v++) {
		proto_msg_init(&m, (enum pg_verb)v);
		assert_string_equal(m.verb_name, proto_verb_name(v));
		snprintf(want, sizeof(want), "v1 %s\n", proto_verb_name(v));
		assert_string_equal(fmt(&m), want);
	}
	proto_msg_init(&m, PG_VERB_UNKNOWN);
	assert_string_equal(m.verb_name, "");

	proto_msg_init(&m, PG_VERB_OK);
	assert_int_equal(proto_add(&m, "allowed", "yes"), 0);
	assert_int_equal(proto_add(&m, "source", "cache"), 0);
	assert_string_equal(fmt(&m), "v1 OK allowed=yes source=cache\n");
	assert_int_equal(proto_add(&m, "breakglass", "phi.read.all"), 0);
	assert_string_equal(
	    fmt(&m),
	    "v1 OK allowed=yes source=cache breakglass=phi.read.all\n");

	/* A parsed unknown verb goes back out under its own name. */
	assert_int_equal(parse_str("v1 FROBNICATE x=%25", &p), 0);
	assert_string_equal(fmt(&p), "v1 FROBNICATE x=%25\n");

	proto_msg_init(&m, PG_VERB_OK);
	assert_int_equal(proto_add(&m, "a", "%"), 0);
	assert_int_equal(proto_add(&m, "b", "=x="), 0);
	assert_int_equal(proto_add(&m, "c", " \t\x01\x7f"), 0);
	assert_int_equal(proto_add(&m, "d", ""), 0);
	assert_int_equal(proto_add(&m, "e", "~!\x80\xff"), 0);
	assert_int_equal(proto_add(&m, "f", "dn1\ndn2"), 0);
	assert_string_equal(fmt(&m), "v1 OK a=%25 b=%3Dx%3D c=%20%09%01%7F d= "
	                             "e=~!\x80\xff f=dn1%0Adn2\n");
	assert_int_equal(parse_str(fmt(&m), &p), 0);
	assert_string_equal(proto_get(&p, "b"), "=x=");
	assert_string_equal(proto_get(&p, "c"), " \t\x01\x7f");

	proto_msg_init(&m, PG_VERB_OK);
	assert_int_equal(proto_add_u64(&m, "max", UINT64_MAX), 0);
	assert_int_equal(proto_add_i64(&m, "min", INT64_MIN), 0);
	assert_int_equal(proto_add_i64(&m, "zero", 0), 0);
	assert_string_equal(fmt(&m), "v1 OK max=18446744073709551615 "
	                             "min=-9223372036854775808 zero=0\n");

	/* An escape as the last thing before "\n" at the buffer's end:
	 * "v1 OK k=%0A\n" is 12 bytes, so 13 with the NUL. */
	proto_msg_init(&m, PG_VERB_OK);
	assert_int_equal(proto_add(&m, "k", "\n"), 0);
	memset(out, 'X', sizeof(out));
	assert_int_equal(proto_format(&m, out, 12, &len), PG_ERR_TOOLONG);
	assert_int_equal(proto_format(&m, out, 13, &len), 0);
	assert_int_equal(len, 12);
	assert_memory_equal(out, "v1 OK k=%0A\n", 13);
	assert_int_equal(out[13], 'X');

	/* A line of exactly PG_PROTO_MAX_LINE bytes, ending in escapes. */
	proto_msg_init(&m, PG_VERB_OK);
	n = PG_PROTO_MAX_LINE - strlen("v1 OK k=\n") - 3;
	{
		static char big[PG_PROTO_MAX_LINE];

		memset(big, 'a', n);
		big[n] = ' ';
		big[n + 1] = '\0';
		assert_int_equal(proto_add(&m, "k", big), 0);
	}
	assert_int_equal(proto_format(&m, out, sizeof(out), &len), 0);
	assert_int_equal(len, PG_PROTO_MAX_LINE);
	assert_memory_equal(out + len - 4, "%20\n", 5);
}

static void test_make_error(void **state)
{
	static struct pg_msg m, p;
	static char text[3 * PG_PROTO_MAX_LINE];
	const char *msg;

	proto_make_error(&m, PG_ERR_UNKNOWN_VERB, "FROB");
	assert_string_equal(fmt(&m), "v1 ERR code=unknown-verb msg=FROB\n");
	assert_int_equal(proto_response_status(&m), PG_ERR_UNKNOWN_VERB);

	proto_make_error(&m, PG_ERR_REPLAY, "step already used");
	assert_string_equal(fmt(&m),
	                    "v1 ERR code=replay msg=step%20already%20used\n");

	proto_make_error(&m, PG_ERR_BUSY, NULL);
	assert_string_equal(fmt(&m), "v1 ERR code=busy\n");

	/* Not an error code: reported as internal rather than "ok". */
	proto_make_error(&m, 0, NULL);
	assert_string_equal(fmt(&m), "v1 ERR code=internal\n");
	proto_make_error(&m, -1000, NULL);
	assert_string_equal(fmt(&m), "v1 ERR code=internal\n");

	/* Over-long text is truncated to fit one line. */
	memset(text, ' ', sizeof(text) - 1);
	proto_make_error(&m, PG_ERR_INVAL, text);
	assert_true(strlen(fmt(&m)) <= PG_PROTO_MAX_LINE);
	assert_int_equal(parse_str(fmt(&m), &p), 0);
	assert_true(strlen(proto_get(&p, "msg")) > 1000);

	/* ... and never in the middle of a UTF-8 sequence. */
	for (size_t i = 0; i + 2 < sizeof(text); i += 2)
		memcpy(text + i, "\xc3\xbc", 2);
	text[sizeof(text) - 1] = '\0';
	proto_make_error(&m, PG_ERR_INVAL, text);
	msg = proto_get(&m, "msg");
	assert_non_null(msg);
	assert_int_equal(strlen(msg) % 2, 0);
	assert_true(strlen(fmt(&m)) <= PG_PROTO_MAX_LINE);
}

static void test_response_status(void **state)
{
	static struct pg_msg p;

	assert_int_equal(parse_str("v1 OK claimed=yes", &p), 0);
	assert_int_equal(proto_response_status(&p), 0);
	assert_int_equal(parse_str("v1 ERR code=replay msg=x", &p), 0);
	assert_int_equal(proto_response_status(&p), PG_ERR_REPLAY);
	assert_int_equal(parse_str("v1 ERR code=locked until=5", &p), 0);
	assert_int_equal(proto_response_status(&p), PG_ERR_LOCKED);
	assert_int_equal(parse_str("v1 ERR msg=x", &p), 0);
	assert_int_equal(proto_response_status(&p), PG_ERR_PROTO);
	assert_int_equal(parse_str("v1 ERR code=bogus", &p), 0);
	assert_int_equal(proto_response_status(&p), PG_ERR_INTERNAL);
	assert_int_equal(parse_str("v1 ERR code=ok", &p), 0);
	assert_int_equal(proto_response_status(&p), PG_ERR_INTERNAL);
	assert_int_equal(parse_str("v1 PREAUTH user=a", &p), 0);
	assert_int_equal(proto_response_status(&p), PG_ERR_PROTO);
	assert_int_equal(parse_str("v1 FROB", &p), 0);
	assert_int_equal(proto_response_status(&p), PG_ERR_PROTO);
}

static void test_clear(void **state)
{
	static struct pg_msg m;

	assert_int_equal(parse_str("v1 CLAIM user=nurse1 step=1", &m), 0);
	assert_false(tu_all_zero(m.buf, sizeof(m.buf)));
	proto_msg_clear(&m);
	assert_true(tu_all_zero(m.buf, sizeof(m.buf)));
	assert_int_equal(m.nfields, 0);
	assert_int_equal(m.used, 0);
	assert_int_equal(m.verb, PG_VERB_UNKNOWN);
	assert_string_equal(m.verb_name, "");

	/* A failed parse leaves the message cleared, not half-filled. */
	assert_int_equal(parse_str("v1 CLAIM user=secret a=%zz", &m),
	                 PG_ERR_PROTO);
	assert_true(tu_all_zero(m.buf, sizeof(m.buf)));
	assert_int_equal(m.nfields, 0);
	assert_int_equal(m.verb, PG_VERB_UNKNOWN);
	assert_null(proto_get(&m, "user"));
}

/* PAM items are cut at PG_PROTO_MAX_ITEM bytes, never inside a UTF-8
 * character, and a request with all of them that long still fits. */
static void test_item_len(void **state)
{
	static char item[4096], line[PG_PROTO_MAX_LINE + 1];
	static struct pg_msg m;
	const char *keys[] = {"service", "rhost", "tty"};
	size_t len, i;

	assert_int_equal(proto_item_len(""), 0);
	assert_int_equal(proto_item_len("10.0.0.7"), 8);
	memset(item, 'a', PG_PROTO_MAX_ITEM);
	item[PG_PROTO_MAX_ITEM] = '\0';
	assert_int_equal(proto_item_len(item), PG_PROTO_MAX_ITEM);
	memset(item, 'a', sizeof(item) - 1);
	assert_int_equal(proto_item_len(item), PG_PROTO_MAX_ITEM);
	/* A 2-byte character across the limit goes whole. */
	memcpy(item + PG_PROTO_MAX_ITEM - 1, "\xc3\xa9", 2);
	assert_int_equal(proto_item_len(item), PG_PROTO_MAX_ITEM - 1);
	/* A 4-byte one ending just inside stays whole. */
	memcpy(item + PG_PROTO_MAX_ITEM - 4,
	       "\xf0\x9f\x98\x80"
	       "a",
	       5);
	assert_int_equal(proto_item_len(item), PG_PROTO_MAX_ITEM);
	/* ... and one starting two bytes before the limit goes. */
	memcpy(item + PG_PROTO_MAX_ITEM - 2, "\xf0\x9f\x98\x80", 4);
	assert_int_equal(proto_item_len(item), PG_PROTO_MAX_ITEM - 2);
	/* Not UTF-8 (continuation bytes only): cut at the limit. */
	memset(item, 0x80, sizeof(item) - 1);
	assert_int_equal(proto_item_len(item), PG_PROTO_MAX_ITEM);

	/* The longest user and three items of bytes that all need escaping,
	 * with the longest other fields a REPORT carries. */
	memset(item, ' ', sizeof(item) - 1);
	proto_msg_init(&m, PG_VERB_REPORT);
	memset(line, 'u', PG_USER_MAX);
	line[PG_USER_MAX] = '\0';
	assert_int_equal(proto_add(&m, "user", line), 0);
	len = proto_item_len(item);
	item[len] = '\0';
	for (i = 0; i < 3; i++)
		assert_int_equal(proto_add(&m, keys[i], item), 0);
	assert_int_equal(proto_add(&m, "factor", "totp"), 0);
	assert_int_equal(proto_add(&m, "result", "failure"), 0);
	memset(line, 'r', 64);
	line[64] = '\0';
	assert_int_equal(proto_add(&m, "reason", line), 0);
	assert_int_equal(proto_add_u64(&m, "step_start", UINT64_MAX), 0);
	assert_int_equal(proto_format(&m, line, sizeof(line), &len), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_verb_names),
	    cmocka_unit_test(test_err_table),
	    cmocka_unit_test(test_err_set),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_encoding_all_bytes),
	    cmocka_unit_test(test_escapes),
	    cmocka_unit_test(test_bad_escapes),
	    cmocka_unit_test(test_syntax_errors),
	    cmocka_unit_test(test_version),
	    cmocka_unit_test(test_unknown_verb),
	    cmocka_unit_test(test_duplicate_keys),
	    cmocka_unit_test(test_field_limit),
	    cmocka_unit_test(test_line_length),
	    cmocka_unit_test(test_add_limits),
	    cmocka_unit_test(test_add_numbers),
	    cmocka_unit_test(test_get_u64),
	    cmocka_unit_test(test_format_errors),
	    cmocka_unit_test(test_format_exact),
	    cmocka_unit_test(test_make_error),
	    cmocka_unit_test(test_response_status),
	    cmocka_unit_test(test_clear),
	    cmocka_unit_test(test_item_len),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
