/*
 * test_escape.c - the JSON and text escapers shared by problem bodies and
 * log lines (util/escape.h): every class of byte, truncation on a
 * character boundary, long input, and reading both forms back.
 */
#include <json-c/json.h>
#include <string.h>

#include "unit.h"
#include "util/escape.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct expect {
	const char *in;
	size_t len;             /* 0: strlen(in) */
	const char *json;
	const char *value;
};

static const struct expect cases[] = {
	{"plain", 0, "plain", "plain"},
	{"", 0, "", "\"\""},
	{"a b", 0, "a b", "\"a b\""},
	{"k=v", 0, "k=v", "\"k=v\""},
	{"say \"hi\"", 0, "say \\\"hi\\\"", "\"say \\\"hi\\\"\""},
	{"back\\slash", 0, "back\\\\slash", "\"back\\\\slash\""},
	{"a\nb", 0, "a\\nb", "\"a\\nb\""},
	{"a\rb", 0, "a\\rb", "\"a\\rb\""},
	{"a\tb", 0, "a\\tb", "\"a\\tb\""},
	{"\x01\x1f", 0, "\\u0001\\u001f", "\"\\x01\\x1f\""},
	{"nul\0in", 6, "nul\\u0000in", "\"nul\\x00in\""},
	{"del\x7f", 0, "del\\u007f", "\"del\\x7f\""},
	{"/a%0Ab", 0, "/a%0Ab", "/a%0Ab"},
	/* valid UTF-8 is kept, and needs no quotes */
	{"caf\xc3\xa9", 0, "caf\xc3\xa9", "caf\xc3\xa9"},
	{"\xe2\x82\xac\xf0\x9f\x98\x80", 0, "\xe2\x82\xac\xf0\x9f\x98\x80",
	 "\xe2\x82\xac\xf0\x9f\x98\x80"},
	/* C1 controls and the Unicode line separators are escaped */
	{"\xc2\x85", 0, "\\u0085", "\"\\u0085\""},
	{"\xc2\x9f", 0, "\\u009f", "\"\\u009f\""},
	{"\xc2\xa0", 0, "\xc2\xa0", "\xc2\xa0"},
	{"\xe2\x80\xa8|\xe2\x80\xa9", 0, "\\u2028|\\u2029",
	 "\"\\u2028|\\u2029\""},
	/* ill-formed UTF-8: each byte on its own */
	{"\xff", 0, "\\ufffd", "\"\\xff\""},
	{"a\xc3", 0, "a\\ufffd", "\"a\\xc3\""},
	{"\xc0\xaf", 0, "\\ufffd\\ufffd", "\"\\xc0\\xaf\""},
	{"\xed\xa0\x80", 0, "\\ufffd\\ufffd\\ufffd",
	 "\"\\xed\\xa0\\x80\""},
	{"\xf4\x90\x80\x80", 0, "\\ufffd\\ufffd\\ufffd\\ufffd",
	 "\"\\xf4\\x90\\x80\\x80\""},
	{"\xe2\x82x", 0, "\\ufffd\\ufffdx", "\"\\xe2\\x82x\""},
	/* a forged field or line stays inside the value */
	{"x status=200\n2026-01-01 info access id=y", 0,
	 "x status=200\\n2026-01-01 info access id=y",
	 "\"x status=200\\n2026-01-01 info access id=y\""},
};

static size_t
case_len(const struct expect *c)
{
	return c->len != 0 ? c->len : strlen(c->in);
}

/* Parses "\"" esc "\"" with json-c; the string (malloc'ed) or NULL. */
static char *
json_read_back(const char *esc, size_t *len)
{
	size_t n = strlen(esc);
	char *doc = malloc(n + 3);
	json_object *o;
	char *s = NULL;

	ck_assert(doc != NULL);
	doc[0] = '"';
	memcpy(doc + 1, esc, n);
	memcpy(doc + 1 + n, "\"", 2);
	o = json_tokener_parse(doc);
	if (o != NULL && json_object_is_type(o, json_type_string)) {
		*len = (size_t)json_object_get_string_len(o);
		s = malloc(*len + 1);
		ck_assert(s != NULL);
		memcpy(s, json_object_get_string(o), *len + 1);
	}
	json_object_put(o);
	free(doc);
	return s;
}

/* No byte that could end or break a line. */
static void
assert_one_line(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		ck_assert_msg((unsigned char)s[i] >= 0x20 &&
		              (unsigned char)s[i] != 0x7f,
		              "control byte 0x%02x in \"%s\"",
		              (unsigned char)s[i], s);
}

START_TEST(test_json_cases)
{
	const struct expect *c = &cases[_i];
	char out[256];
	size_t taken, n;

	n = escape_json(out, sizeof(out), c->in, case_len(c), &taken);
	ck_assert_str_eq(out, c->json);
	ck_assert_uint_eq(n, strlen(c->json));
	ck_assert_uint_eq(taken, case_len(c));
	assert_one_line(out, n);
}
END_TEST

START_TEST(test_text_value_cases)
{
	const struct expect *c = &cases[_i];
	char out[256], back[256];
	const char *end;
	size_t taken, n;
	long m;

	n = escape_text_value(out, sizeof(out), c->in, case_len(c), &taken);
	ck_assert_str_eq(out, c->value);
	ck_assert_uint_eq(n, strlen(c->value));
	ck_assert_uint_eq(taken, case_len(c));
	assert_one_line(out, n);
	/* a bare value has no space, so it cannot fake a second field */
	if (out[0] != '"')
		ck_assert(strpbrk(out, " =\"\\") == NULL);
	m = escape_text_unquote(out, n, back, sizeof(back), &end);
	ck_assert_int_eq(m, (long)case_len(c));
	ck_assert(memcmp(back, c->in, case_len(c)) == 0);
	ck_assert(end == out + n);
}
END_TEST

/* Every single byte: JSON reads back as itself (U+FFFD past ASCII), text
 * as itself, both on one line. */
START_TEST(test_every_byte)
{
	char in[1] = {(char)_i}, out[32], back[32], *json;
	size_t n, len = 0;
	long m;

	n = escape_json(out, sizeof(out), in, 1, NULL);
	assert_one_line(out, n);
	json = json_read_back(out, &len);
	ck_assert_msg(json != NULL, "byte 0x%02x: %s is not JSON", _i, out);
	if (_i < 0x80) {
		ck_assert_uint_eq(len, 1);
		ck_assert_int_eq(json[0], in[0]);
	} else {
		ck_assert_str_eq(json, "\xef\xbf\xbd");
	}
	free(json);

	n = escape_text_value(out, sizeof(out), in, 1, NULL);
	assert_one_line(out, n);
	m = escape_text_unquote(out, n, back, sizeof(back), NULL);
	ck_assert_int_eq(m, 1);
	ck_assert_int_eq(back[0], in[0]);

	n = escape_text(out, sizeof(out), in, 1, NULL);
	assert_one_line(out, n);
}
END_TEST

/* The message form keeps quotes, '=' and spaces, and escapes the rest. */
START_TEST(test_text_message)
{
	char out[128];

	escape_text(out, sizeof(out), "reload: \"a b\" k=v", 17, NULL);
	ck_assert_str_eq(out, "reload: \"a b\" k=v");
	escape_text(out, sizeof(out), "x\ny\\z\xff\x1b[2J", 10, NULL);
	ck_assert_str_eq(out, "x\\ny\\\\z\\xff\\x1b[2J");
}
END_TEST

/* A mixed input, cut at every output size: never past cap, always
 * NUL-terminated, never half an escape or half a character, and what is
 * written stands for exactly the first *taken bytes. */
static const char mixed[] = "a\"b\\c\n\xc3\xa9\xff\xe2\x80\xa8z \x01"
                            "\xf0\x9f\x98\x80=q";

START_TEST(test_truncation)
{
	size_t len = sizeof(mixed) - 1, cap, n, taken, full;
	char out[256], whole[256], back[256];
	long m;

	full = escape_json(whole, sizeof(whole), mixed, len, NULL);
	for (cap = 1; cap <= full + 1; cap++) {
		memset(out, 'Z', sizeof(out));
		n = escape_json(out, cap, mixed, len, &taken);
		ck_assert_uint_lt(n, cap);
		ck_assert_int_eq(out[n], '\0');
		ck_assert_int_eq(out[cap], 'Z');
		ck_assert(memcmp(out, whole, n) == 0);
		escape_json(back, sizeof(back), mixed, taken, NULL);
		ck_assert_str_eq(out, back);
		if (cap == full + 1)
			ck_assert_uint_eq(taken, len);
	}
	full = escape_text_value(whole, sizeof(whole), mixed, len, NULL);
	for (cap = 3; cap <= full + 1; cap++) {
		memset(out, 'Z', sizeof(out));
		n = escape_text_value(out, cap, mixed, len, &taken);
		ck_assert_uint_lt(n, cap);
		ck_assert_int_eq(out[cap], 'Z');
		ck_assert_int_eq(out[0], '"');
		ck_assert_int_eq(out[n - 1], '"');
		m = escape_text_unquote(out, n, back, sizeof(back), NULL);
		ck_assert_int_eq(m, (long)taken);
		ck_assert(memcmp(back, mixed, taken) == 0);
	}
	/* too small for even "" */
	ck_assert_uint_eq(escape_text_value(out, 2, "x", 1, &taken), 0);
	ck_assert_uint_eq(taken, 0);
	ck_assert_int_eq(out[0], '\0');
}
END_TEST

/* A megabyte of the worst byte fills exactly the documented maximum;
 * plain bytes are copied as they are. */
START_TEST(test_long_input)
{
	size_t n = 1 << 20, taken, len;
	char *in = malloc(n), *out = malloc(ESCAPE_JSON_MAX(n) + 1), *back;

	ck_assert(in != NULL && out != NULL);
	memset(in, 0xff, n);
	ck_assert_uint_eq(escape_json(out, ESCAPE_JSON_MAX(n) + 1, in, n,
	                              &taken), ESCAPE_JSON_MAX(n));
	ck_assert_uint_eq(taken, n);
	memset(in, 0x01, n);
	ck_assert_uint_eq(escape_text_value(out, ESCAPE_TEXT_MAX(n) + 1, in, n,
	                                    &taken), ESCAPE_TEXT_MAX(n));
	ck_assert_uint_eq(taken, n);
	memset(in, 'a', n);
	ck_assert_uint_eq(escape_json(out, n + 1, in, n, &taken), n);
	ck_assert(memcmp(out, in, n) == 0);
	back = json_read_back(out, &len);
	ck_assert(back != NULL);
	ck_assert_uint_eq(len, n);
	free(back);
	free(in);
	free(out);
}
END_TEST

START_TEST(test_unquote_rejects)
{
	static const char *const bad[] = {
		"\"open", "\"bad \\q\"", "\"\\x4\"", "\"\\u12\"", "\"end\\",
		"\"\\xzz\"",
	};
	char out[64];
	size_t i;

	for (i = 0; i < NELEM(bad); i++)
		ck_assert_int_eq(escape_text_unquote(bad[i], strlen(bad[i]),
		                 out, sizeof(out), NULL), -1);
	/* a bare value ends at a space */
	ck_assert_int_eq(escape_text_unquote("ab cd", 5, out, sizeof(out),
	                                     NULL), 2);
	ck_assert_str_eq(out, "ab");
	/* out too small */
	ck_assert_int_eq(escape_text_unquote("abcdef", 6, out, 3, NULL), -1);
}
END_TEST

static Suite *
escape_suite(void)
{
	Suite *s = suite_create("escape");
	TCase *tc = tcase_create("forms");

	tcase_add_loop_test(tc, test_json_cases, 0, NELEM(cases));
	tcase_add_loop_test(tc, test_text_value_cases, 0, NELEM(cases));
	tcase_add_loop_test(tc, test_every_byte, 0, 256);
	tcase_add_test(tc, test_text_message);
	suite_add_tcase(s, tc);
	tc = tcase_create("bounds");
	tcase_add_test(tc, test_truncation);
	tcase_add_test(tc, test_long_input);
	tcase_add_test(tc, test_unquote_rejects);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(escape_suite)
