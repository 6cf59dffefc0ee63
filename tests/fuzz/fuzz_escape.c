/*
 * fuzz_escape.c - libFuzzer target for util/escape.h, the escaper behind
 * problem+json bodies and every log line.
 *
 * For any bytes:
 * - the JSON form holds no control byte, parses back with json-c's
 *   strict tokener into a string equal to the input where the input is
 *   well-formed UTF-8 and U+FFFD for each byte where it is not; cut short
 *   at a size taken from the input, it is a prefix of the whole form,
 *   still parses, and stands for exactly the input bytes it claims;
 * - the text value form holds no control byte, has no space, quote, '='
 *   or backslash when bare, and unquotes back to exactly the input (cut
 *   short too);
 * - the text message form holds no control byte.
 * problem_send() needs a live exchange, so its strings are covered here
 * through the escaper it calls. Seeds are in tests/fuzz/seeds/escape/.
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/escape.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

/* The well-formed UTF-8 sequence length at p, or 0: written apart from
 * util/utf8.h on purpose, from RFC 3629's table. */
static size_t
sequence(const uint8_t *p, size_t n)
{
	size_t len, i;
	uint8_t lo = 0x80, hi = 0xbf;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] == 0xe0)
		len = 3, lo = 0xa0;
	else if (p[0] == 0xed)
		len = 3, hi = 0x9f;
	else if (p[0] >= 0xe1 && p[0] <= 0xef)
		len = 3;
	else if (p[0] == 0xf0)
		len = 4, lo = 0x90;
	else if (p[0] == 0xf4)
		len = 4, hi = 0x8f;
	else if (p[0] >= 0xf1 && p[0] <= 0xf3)
		len = 4;
	else
		return 0;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

/* The string JSON must read back: the input, U+FFFD per bad byte. */
static size_t
expected_json(const uint8_t *s, size_t n, char *out)
{
	size_t i = 0, o = 0, len;

	while (i < n) {
		if ((len = sequence(s + i, n - i)) == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		} else {
			memcpy(out + o, s + i, len);
			o += len;
			i += len;
		}
	}
	return o;
}

static void
assert_one_line(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		CHECK((unsigned char)s[i] >= 0x20 &&
		      (unsigned char)s[i] != 0x7f);
	CHECK(s[n] == '\0');
}

/* Parses "\"" esc "\"" strictly and compares it with want. */
static void
assert_json_reads(const char *esc, size_t n, const char *want,
                  size_t want_len)
{
	struct json_tokener *tok = json_tokener_new();
	json_object *o;
	char *doc = malloc(n + 2);

	CHECK(tok != NULL && doc != NULL);
	doc[0] = '"';
	memcpy(doc + 1, esc, n);
	doc[n + 1] = '"';
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, doc, (int)(n + 2));
	CHECK(o != NULL && json_tokener_get_error(tok) == json_tokener_success);
	CHECK(json_object_is_type(o, json_type_string));
	CHECK((size_t)json_object_get_string_len(o) == want_len);
	CHECK(memcmp(json_object_get_string(o), want, want_len) == 0);
	json_object_put(o);
	json_tokener_free(tok);
	free(doc);
}

static void
check_json(const uint8_t *s, size_t n, size_t cut)
{
	size_t cap = ESCAPE_JSON_MAX(n) + 1, len, part, taken, want_len;
	char *out = malloc(cap), *small = malloc(cap);
	char *want = malloc(3 * n + 1);

	CHECK(out != NULL && small != NULL && want != NULL);
	len = escape_json(out, cap, (const char *)s, n, &taken);
	CHECK(taken == n && len < cap);
	assert_one_line(out, len);
	want_len = expected_json(s, n, want);
	assert_json_reads(out, len, want, want_len);

	cut = cut % cap + 1;
	part = escape_json(small, cut, (const char *)s, n, &taken);
	CHECK(part < cut && taken <= n && memcmp(small, out, part) == 0);
	want_len = expected_json(s, taken, want);
	assert_json_reads(small, part, want, want_len);
	free(out);
	free(small);
	free(want);
}

static void
check_text_value(const uint8_t *s, size_t n, size_t cut)
{
	size_t cap = ESCAPE_TEXT_MAX(n) + 1, len, taken;
	char *out = malloc(cap), *back = malloc(n + 1);
	const char *end;
	long m;

	CHECK(out != NULL && back != NULL);
	len = escape_text_value(out, cap, (const char *)s, n, &taken);
	CHECK(taken == n && len < cap && len > 0);
	assert_one_line(out, len);
	if (out[0] != '"')
		CHECK(strpbrk(out, " \"=\\") == NULL);
	m = escape_text_unquote(out, len, back, n + 1, &end);
	CHECK(m == (long)n && end == out + len);
	CHECK(memcmp(back, s, n) == 0);

	cut = 3 + cut % (cap - 2);
	len = escape_text_value(out, cut, (const char *)s, n, &taken);
	CHECK(len < cut && taken <= n);
	assert_one_line(out, len);
	m = escape_text_unquote(out, len, back, n + 1, &end);
	CHECK(m == (long)taken && end == out + len);
	CHECK(memcmp(back, s, taken) == 0);
	free(out);
	free(back);
}

static void
check_text_message(const uint8_t *s, size_t n)
{
	size_t cap = ESCAPE_TEXT_MAX(n) + 1, len, taken;
	char *out = malloc(cap);

	CHECK(out != NULL);
	len = escape_text(out, cap, (const char *)s, n, &taken);
	CHECK(taken == n && len < cap);
	assert_one_line(out, len);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t cut = 0;

	/* The first two bytes pick where to cut; all of it is escaped. */
	if (size >= 2)
		cut = (size_t)data[0] << 8 | data[1];
	check_json(data, size, cut);
	check_text_value(data, size, cut);
	check_text_message(data, size);
	return 0;
}
