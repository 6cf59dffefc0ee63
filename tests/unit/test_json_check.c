/*
 * test_json_check.c - the strict JSON validator the state API stores
 * values through: what RFC 8259 accepts, and everything it does not.
 */
#include "unit.h"

#include <string.h>

#include "util/json_check.h"

struct sample {
	const char *text;
	size_t len;             /* 0: strlen(text) */
};

#define S(t) {t, sizeof(t) - 1}

static const struct sample valid[] = {
	S("0"), S("-0"), S("42"), S("-12.5e+3"), S("1E9"), S("0.25"),
	S("true"), S("false"), S("null"), S("\"\""), S("\"a\\\"b\\\\\""),
	S("\"\\u00e9\\uD834\\udd1e\\/\\b\\f\\n\\r\\t\""),
	S("\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""),
	S("[]"), S("{}"), S(" [1, \"2\", {\"a\": [null]}] \n"),
	S("{\"a\":{\"b\":{\"c\":[true,false]}}}"), S("\t\r\n 7 \t\r\n"),
};

static const struct sample invalid[] = {
	S(""), S(" "), S("tru"), S("nul"), S("True"), S("01"), S("-"),
	S("1."), S(".5"), S("1e"), S("1e+"), S("+1"), S("0x10"), S("NaN"),
	S("Infinity"), S("{'a':1}"), S("'a'"), S("[1,]"), S("{\"a\":1,}"),
	S("[1 2]"), S("{\"a\" 1}"), S("{a:1}"), S("{\"a\":1"), S("[1"),
	S("\"abc"), S("\"a\\x\""), S("\"\\u12\""), S("\"\\u12g4\""),
	S("\"tab\there\""), S("1 2"), S("{} {}"), S("[]x"), S("\"\xff\""),
	S("\"\xc0\xaf\""), S("\"\xed\xa0\x80\""), S("\"\xf4\x90\x80\x80\""),
	S("\"\xe2\x82\""), S("\"\x80\""), S("[1]\0"), S("\0"),
	S("/* c */ 1"),
};

START_TEST(test_valid)
{
	const struct sample *v = &valid[_i];
	char err[128] = "";

	ck_assert_msg(json_check(v->text, v->len, err, sizeof(err)) == 0,
	              "sample %d refused: %s", _i, err);
}
END_TEST

START_TEST(test_invalid)
{
	const struct sample *v = &invalid[_i];
	char err[128] = "";

	ck_assert_msg(json_check(v->text, v->len, err, sizeof(err)) == -1,
	              "sample %d accepted", _i);
	ck_assert_msg(strstr(err, "(at byte ") != NULL,
	              "sample %d: the reason names no offset: %s", _i, err);
}
END_TEST

/* Nesting is bounded, so a hostile value cannot exhaust the stack. */
START_TEST(test_depth)
{
	char deep[2 * (JSON_CHECK_MAX_DEPTH + 1) + 1];
	char err[128];
	size_t n;

	for (n = 0; n < JSON_CHECK_MAX_DEPTH; n++) {
		deep[n] = '[';
		deep[2 * JSON_CHECK_MAX_DEPTH - 1 - n] = ']';
	}
	ck_assert_int_eq(json_check(deep, 2 * JSON_CHECK_MAX_DEPTH, err,
	                            sizeof(err)), 0);
	memmove(deep + 1, deep, 2 * JSON_CHECK_MAX_DEPTH);
	deep[0] = '[';
	deep[2 * JSON_CHECK_MAX_DEPTH + 1] = ']';
	ck_assert_int_eq(json_check(deep, 2 * JSON_CHECK_MAX_DEPTH + 2, err,
	                            sizeof(err)), -1);
	ck_assert_msg(strstr(err, "deep") != NULL, "%s", err);
}
END_TEST

/* The text need not be NUL-terminated: the length is the limit. */
START_TEST(test_length_bounds)
{
	ck_assert_int_eq(json_check("[1]garbage", 3, NULL, 0), 0);
	ck_assert_int_eq(json_check("12345", 2, NULL, 0), 0);
	ck_assert_int_eq(json_check("truex", 4, NULL, 0), 0);
	ck_assert_int_eq(json_check("\"ab\"", 3, NULL, 0), -1);
}
END_TEST

static Suite *
json_check_suite(void)
{
	Suite *s = suite_create("json_check");
	TCase *tc = tcase_create("json_check");

	tcase_add_loop_test(tc, test_valid, 0,
	                    (int)(sizeof(valid) / sizeof(valid[0])));
	tcase_add_loop_test(tc, test_invalid, 0,
	                    (int)(sizeof(invalid) / sizeof(invalid[0])));
	tcase_add_test(tc, test_depth);
	tcase_add_test(tc, test_length_bounds);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(json_check_suite)
