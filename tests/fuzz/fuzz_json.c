/*
 * fuzz_json.c - libFuzzer target for the JSON validator
 * (src/util/json_check.h), differential against json-c's strict tokener.
 *
 * The input is the text. json_check() says yes or no; json-c, with
 * JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8, parses it, and its
 * yes is a whole value ending where only white space (SP, HTAB, LF, CR)
 * follows up to the end of the input. The two must agree; a disagreement
 * aborts with both verdicts, and libFuzzer keeps the input.
 *
 * Where json-c's strict mode (0.16, Debian 12's) is not RFC 8259, the
 * difference is undone here, each kind in one place below, and nothing
 * else is excused:
 *
 * - json-c accepts, RFC 8259 refuses (json_check must refuse; measured,
 *   not assumed: see lenience() for each):
 *   numbers with a fraction of no digit ("1.", "2.e3", "-1."), with no
 *   integer part after a minus ("-.5") or with a leading zero after a
 *   minus ("-01", "-00"); the literals NaN, Infinity and -Infinity;
 *   object keys in single quotes ({'a':1}, though not values: 'a');
 *   raw control bytes U+0000-U+001F in strings ("a<TAB>b"; a raw NUL
 *   ends json-c's input instead, see below); and, with
 *   JSON_TOKENER_VALIDATE_UTF8, byte sequences that only have UTF-8's
 *   shape: overlong forms (C0 AF, E0 80 80, F0 80 80 80), UTF-16
 *   surrogates (ED A0 80) and code points past U+10FFFF (F4 90 80 80,
 *   F5-F7 leads); RFC 8259 §8.1 wants UTF-8 as RFC 3629 defines it.
 *   When json-c accepts a text holding any of these (lexically found,
 *   which is exact for a text json-c parsed), json_check must refuse it.
 * - Depth. json_check refuses more than JSON_CHECK_MAX_DEPTH nested
 *   arrays and objects, as its contract says; RFC 8259 §9 lets a parser
 *   set such a limit. json-c counts depth differently (an empty innermost
 *   container costs one level less), so it runs with a much larger limit
 *   and a text it accepts that nests deeper than JSON_CHECK_MAX_DEPTH must
 *   be refused by json_check as "nested too deep" (and nothing else).
 * - The end of the text. json-c cannot tell that a number at the very end
 *   is complete ("12" may go on); it is given the input followed by one
 *   NUL byte that is not part of the text and ends the number. A NUL in
 *   the input itself is then compared like any other byte: json-c stops
 *   there (its parse end is before it), and what follows must be white
 *   space for it to accept.
 *
 * Lone surrogates in \u escapes are accepted by both (JSON's grammar
 * allows them; json-c replaces them with U+FFFD), big numbers too (json-c
 * saturates or keeps them as doubles), and both refuse comments, single
 * quotes, a BOM, trailing commas and white space other than SP, HTAB,
 * LF and CR: no exception needed.
 *
 * Seeds (tests/fuzz/seeds/json/) are the samples of
 * tests/unit/test_json_check.c; the dictionary is tests/fuzz/json.dict.
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json_check.h"

/* json-c's own limit: far beyond ours, so that ours decides. */
#define JSONC_DEPTH 1000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The deepest nesting of arrays and objects in text, counting brackets
 * outside strings: exact for any text json-c accepted.
 */
static size_t
nesting(const uint8_t *p, size_t len)
{
	size_t i, depth = 0, max = 0;
	int in_string = 0;

	for (i = 0; i < len; i++) {
		if (in_string) {
			if (p[i] == '\\')
				i++;
			else if (p[i] == '"')
				in_string = 0;
		} else if (p[i] == '"') {
			in_string = 1;
		} else if (p[i] == '[' || p[i] == '{') {
			if (++depth > max)
				max = depth;
		} else if ((p[i] == ']' || p[i] == '}') && depth > 0) {
			depth--;
		}
	}
	return max;
}

/* RFC 8259 §6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static int
rfc_number(const uint8_t *p, size_t n)
{
	size_t i = 0;

#define DIGIT(i) ((i) < n && p[i] >= '0' && p[i] <= '9')
	if (i < n && p[i] == '-')
		i++;
	if (i < n && p[i] == '0')
		i++;
	else if (DIGIT(i))
		while (DIGIT(i))
			i++;
	else
		return 0;
	if (i < n && p[i] == '.') {
		if (!DIGIT(i + 1))
			return 0;
		for (i++; DIGIT(i); i++)
			;
	}
	if (i < n && (p[i] == 'e' || p[i] == 'E')) {
		i++;
		if (i < n && (p[i] == '+' || p[i] == '-'))
			i++;
		if (!DIGIT(i))
			return 0;
		while (DIGIT(i))
			i++;
	}
#undef DIGIT
	return i == n;
}

/*
 * The length of the well-formed UTF-8 sequence at p (RFC 3629 §4, the
 * Unicode standard's table 3-7), or 0.
 */
static size_t
rfc_utf8(const uint8_t *p, size_t n)
{
	uint8_t lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

/*
 * What json-c strict accepts and RFC 8259 does not, found in p[0..n)
 * (a text json-c parsed, so a lexical scan is exact): a description, or
 * NULL when there is none.
 */
static const char *
lenience(const uint8_t *p, size_t n)
{
	size_t i = 0, j, len;

	while (i < n) {
		if (p[i] == '"') {
			for (i++; i < n && p[i] != '"'; i += len) {
				len = 1;
				if (p[i] == '\\')
					len = 2;
				else if (p[i] < 0x20)
					return "a raw control byte in a string";
				else if ((len = rfc_utf8(p + i, n - i)) == 0)
					return "ill-formed UTF-8 in a string";
			}
			i++;
		} else if (p[i] == '\'') {
			return "a single-quoted object key";
		} else if (p[i] == 'N' || p[i] == 'I') {
			return "NaN or Infinity";
		} else if (p[i] == '-' || (p[i] >= '0' && p[i] <= '9')) {
			for (j = i; j < n && strchr("0123456789.eE+-", p[j]) &&
			     p[j] != '\0'; j++)
				;
			if (!rfc_number(p + i, j - i))
				return "a number outside JSON's grammar";
			i = j;
		} else {
			i++;
		}
	}
	return NULL;
}

/* json-c strict's verdict on data[0..size): 0 yes, -1 no. */
static int
jsonc_check(const uint8_t *data, size_t size, char *why, size_t whylen)
{
	json_tokener *tok;
	json_object *o;
	char *text;
	size_t end;
	int rc = -1;

	if (size > INT32_MAX - 1)
		return -1;
	if ((text = malloc(size + 1)) == NULL ||
	    (tok = json_tokener_new_ex(JSONC_DEPTH)) == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	                       JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, text, (int)size + 1);
	if (o == NULL && json_tokener_get_error(tok) != json_tokener_success) {
		snprintf(why, whylen, "%s at %zu",
		         json_tokener_error_desc(json_tokener_get_error(tok)),
		         json_tokener_get_parse_end(tok));
		goto out;
	}
	/* null parses to NULL with success. */
	end = json_tokener_get_parse_end(tok);
	while (end < size && strchr(" \t\n\r", text[end]) != NULL &&
	       text[end] != '\0')
		end++;
	if (end < size) {
		snprintf(why, whylen, "more after the value, at %zu", end);
		goto out;
	}
	rc = 0;
out:
	json_object_put(o);
	json_tokener_free(tok);
	free(text);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char ours[160] = "", theirs[160] = "";
	const char *lenient;
	int a, b;

	a = json_check((const char *)data, size, ours, sizeof(ours));
	b = jsonc_check(data, size, theirs, sizeof(theirs));
	lenient = b == 0 ? lenience(data, size) : NULL;
	if (lenient != NULL) {
		/* json-c is lenient here; RFC 8259 and json_check are not. */
		if (a == 0) {
			fprintf(stderr, "fuzz_json: json_check accepts %zu "
			        "bytes with %s\n", size, lenient);
			abort();
		}
		return 0;
	}
	if (b == 0 && nesting(data, size) > JSON_CHECK_MAX_DEPTH) {
		/* Deeper than our limit: ours refuses, for that reason. */
		if (a == 0 || strncmp(ours, "nested too deep", 15) != 0) {
			fprintf(stderr, "fuzz_json: %zu bytes nested %zu deep: "
			        "json_check says %s\n", size,
			        nesting(data, size), a == 0 ? "yes" : ours);
			abort();
		}
		return 0;
	}
	if (a != b) {
		fprintf(stderr, "fuzz_json: json_check and json-c strict "
		        "disagree on %zu bytes: json_check %s, json-c %s\n",
		        size, a == 0 ? "accepts" : ours,
		        b == 0 ? "accepts" : theirs);
		abort();
	}
	return 0;
}
