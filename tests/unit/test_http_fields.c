/*
 * test_http_fields.c - the field syntax both HTTP parsers share
 * (src/http/fields.c): field lines, comma lists, and what Content-Length,
 * Transfer-Encoding and Connection say about framing.
 *
 * The parsers' own tests reach all of this through whole messages; these
 * pin the edges a parser's test would not name, such as which empty list
 * elements are seen and which are not.
 */
#include "unit.h"

#include <string.h>

#include "http/fields.h"
#include "http/parse.h"

/* The elements of value, each in brackets: "[a][][b]". */
static const char *
elements(const char *value)
{
	static char out[256];
	const char *s = value, *t;
	size_t len, n = 0;

	out[0] = '\0';
	while ((t = field_list_next(&s, &len)) != NULL) {
		ck_assert_uint_lt(n + len + 3, sizeof(out));
		out[n++] = '[';
		memcpy(out + n, t, len);
		n += len;
		out[n++] = ']';
		out[n] = '\0';
	}
	return out;
}

START_TEST(test_list_elements)
{
	ck_assert_str_eq(elements("a"), "[a]");
	ck_assert_str_eq(elements(" a ,\tb\t"), "[a][b]");
	/* Empty elements are seen, a trailing one and an empty value too. */
	ck_assert_str_eq(elements(""), "[]");
	ck_assert_str_eq(elements("5,"), "[5][]");
	ck_assert_str_eq(elements(",, a"), "[][][a]");
	ck_assert_str_eq(elements(" , "), "[][]");
}
END_TEST

START_TEST(test_list_has)
{
	ck_assert_int_eq(field_list_has("Upgrade", "upgrade"), 1);
	ck_assert_int_eq(field_list_has("keep-alive, UPGRADE ", "upgrade"), 1);
	ck_assert_int_eq(field_list_has(",,\t x-a\t,, ", "X-A"), 1);
	ck_assert_int_eq(field_list_has("upgrade2, up", "upgrade"), 0);
	ck_assert_int_eq(field_list_has("x-a b", "x-a"), 0);
	/* An empty element names nothing. */
	ck_assert_int_eq(field_list_has("a,,b", ""), 0);
	ck_assert_int_eq(field_list_has("", ""), 0);
}
END_TEST

/* field_split_line() on a copy of s; *why, or the name and value. */
static const char *
split(const char *s, char *name, char *value)
{
	char line[128], *v;
	const char *why;
	size_t nlen;

	ck_assert_uint_lt(strlen(s), sizeof(line));
	memcpy(line, s, strlen(s) + 1);
	why = field_split_line(line, line + strlen(s), &nlen, &v);
	if (why == NULL) {
		ck_assert_uint_eq(nlen, strlen(line));
		strcpy(name, line);
		strcpy(value, v);
	}
	return why;
}

START_TEST(test_split_line)
{
	char name[128], value[128];

	ck_assert_ptr_null(split("Host: \t example.com \t", name, value));
	ck_assert_str_eq(name, "Host");
	ck_assert_str_eq(value, "example.com");
	ck_assert_ptr_null(split("X-Empty:", name, value));
	ck_assert_str_eq(value, "");
	ck_assert_ptr_null(split("X-High: caf\xc3\xa9", name, value));
	ck_assert_str_eq(value, "caf\xc3\xa9");
	ck_assert_str_eq(split(" folded: x", name, value),
	                 "obsolete line folding");
	ck_assert_str_eq(split("Bad Name: x", name, value),
	                 "malformed header field");
	ck_assert_str_eq(split(": x", name, value), "malformed header field");
	ck_assert_str_eq(split("Host : x", name, value),
	                 "malformed header field");
	ck_assert_str_eq(split("X-Ctl: a\x01z", name, value),
	                 "invalid character in header field");
	ck_assert_str_eq(split("X-Del: a\x7f", name, value),
	                 "invalid character in header field");
}
END_TEST

/* The framing facts of the fields "name: value" given in pairs. */
static struct field_framing
facts(const char *const *fv)
{
	struct field_framing f;

	memset(&f, 0, sizeof(f));
	for (; fv[0] != NULL; fv += 2)
		field_framing_note(&f, fv[0], strlen(fv[0]), fv[1]);
	return f;
}

START_TEST(test_content_length)
{
	const char *one[] = { "content-length", "42", NULL };
	const char *agree[] = { "Content-Length", "7, 7", "Content-Length",
	                        "7", NULL };
	const char *differ[] = { "Content-Length", "7", "Content-Length",
	                         "8", NULL };
	const char *trailing[] = { "Content-Length", "5,", NULL };
	const char *huge[] = { "Content-Length", "18446744073709551616",
	                       NULL };
	struct field_framing f;

	f = facts(one);
	ck_assert_uint_eq(f.ncontent_length, 1);
	ck_assert_uint_eq(f.length, 42);
	ck_assert_str_eq(f.content_length, "42");
	ck_assert(!f.bad_length);
	f = facts(agree);
	ck_assert_uint_eq(f.ncontent_length, 2);
	ck_assert_uint_eq(f.length, 7);
	ck_assert(!f.bad_length);
	ck_assert(facts(differ).bad_length);
	ck_assert(facts(trailing).bad_length);
	ck_assert(facts(huge).bad_length);
}
END_TEST

START_TEST(test_transfer_codings)
{
	const char *chunked[] = { "Transfer-Encoding", "gzip, , Chunked",
	                          NULL };
	const char *after[] = { "Transfer-Encoding", "chunked",
	                        "Transfer-Encoding", "gzip", NULL };
	const char *twice[] = { "Transfer-Encoding", "chunked, chunked",
	                        NULL };
	struct field_framing f;

	f = facts(chunked);
	ck_assert(f.te_seen && f.last_chunked && f.te_other);
	ck_assert_uint_eq(f.nchunked, 1);
	f = facts(after);
	ck_assert(f.te_seen && !f.last_chunked && f.te_other);
	f = facts(twice);
	ck_assert(f.last_chunked && !f.te_other);
	ck_assert_uint_eq(f.nchunked, 2);
}
END_TEST

START_TEST(test_connection)
{
	const char *close[] = { "Connection", "Upgrade, CLOSE", NULL };
	const char *keep[] = { "connection", " keep-alive ", NULL };
	const char *other[] = { "X-Connection", "close", NULL };

	ck_assert(facts(close).conn_close);
	ck_assert_int_eq(field_framing_keep_alive(&(struct field_framing){
	    .conn_close = 1 }, 1), 0);
	ck_assert(facts(keep).conn_keep_alive);
	ck_assert_int_eq(field_framing_keep_alive(&(struct field_framing){
	    .conn_keep_alive = 1 }, 0), 1);
	ck_assert_int_eq(field_framing_keep_alive(&(struct field_framing){
	    .conn_close = 0 }, 0), 0);
	ck_assert_int_eq(field_framing_keep_alive(&(struct field_framing){
	    .conn_close = 0 }, 1), 1);
	ck_assert(!facts(other).conn_close);
	ck_assert_int_eq(field_framing_note(&(struct field_framing){ 0 },
	                                    "Host", 4, "x"), 0);
}
END_TEST

START_TEST(test_find)
{
	struct http_field f[] = {
		{ "Host", "a" }, { "X-Request-Id", "b" }, { "host", "c" },
	};

	ck_assert_str_eq(field_find(f, 3, "HOST"), "a");
	ck_assert_str_eq(field_find(f, 3, "x-request-id"), "b");
	ck_assert_ptr_null(field_find(f, 3, "X-Request"));
	ck_assert_ptr_null(field_find(f, 0, "Host"));
	/* '@' | 0x20 is '`': the fold must not let them meet. */
	ck_assert_ptr_null(field_find((struct http_field[]){ { "@x", "v" } },
	                              1, "`x"));
}
END_TEST

static Suite *
http_fields_suite(void)
{
	Suite *s = suite_create("http_fields");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_list_elements);
	tcase_add_test(tc, test_list_has);
	tcase_add_test(tc, test_split_line);
	tcase_add_test(tc, test_content_length);
	tcase_add_test(tc, test_transfer_codings);
	tcase_add_test(tc, test_connection);
	tcase_add_test(tc, test_find);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(http_fields_suite)
