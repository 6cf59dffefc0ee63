/*
 * ecma_pattern.c - ECMA-262 patterns on PCRE2: the compile options.
 *
 * JSON Schema says a pattern is an ECMA-262 regular expression; the SPEC
 * (§14) runs it with PCRE2 and Unicode semantics. The options below make
 * PCRE2 read the pattern as JavaScript does where PCRE2 can:
 *
 * - UTF: the pattern and subjects are UTF-8, code point by code point,
 *   as under the RegExp `u` flag;
 * - ALT_BSUX with EXTRA_ALT_BSUX: \uHHHH and \u{H...} are code points and
 *   \xHH takes exactly two hex digits, as in ECMA-262;
 * - DOLLAR_ENDONLY: `$` matches at the very end only, never before a
 *   final newline;
 * - ALLOW_EMPTY_CLASS: `[]` matches nothing and `[^]` any character;
 * - MATCH_UNSET_BACKREF: a backreference to a group that did not take
 *   part matches the empty string;
 * - NEVER_BACKSLASH_C: no \C (one code unit), which JavaScript lacks;
 * - newline ANYCRLF: `.` matches neither LF nor CR.
 *
 * PCRE2 10.42 (Debian 12) knows General_Category values by their short
 * names only, so \p{Letter}, \p{gc=Letter} and
 * \p{General_Category=Uppercase_Letter} are rewritten to \p{L} and \p{Lu}
 * before compiling, and \p{Assigned} to \P{Cn}; an error offset is given
 * in the pattern as written.
 *
 * What still differs from ECMA-262 (the differential test of
 * tests/schema/ stays clear of these):
 *
 * - UCP: \d, \w, \s and \b follow Unicode properties, so \d matches
 *   any decimal digit (Arabic-Indic ones too) and \w any letter, where
 *   JavaScript means ASCII [0-9] and [A-Za-z0-9_] (the SPEC asks for
 *   Unicode semantics; PCRE2 10.42 cannot restrict \d alone);
 * - `.` matches U+2028 and U+2029, which JavaScript counts as line
 *   terminators;
 * - \s lacks U+FEFF;
 * - PCRE2 accepts syntax JavaScript refuses (possessive quantifiers,
 *   atomic groups, \A \Z \z, inline flags such as (?i), \Q...\E, POSIX
 *   classes, recursion, conditionals, a lone `{` or `]`), and refuses
 *   lookbehinds of variable length, which JavaScript allows: such a
 *   pattern is invalid-schema.
 */
#include "util/ecma_pattern.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ECMA_OPTIONS (PCRE2_UTF | PCRE2_UCP | PCRE2_ALT_BSUX | \
                      PCRE2_DOLLAR_ENDONLY | PCRE2_ALLOW_EMPTY_CLASS | \
                      PCRE2_MATCH_UNSET_BACKREF | PCRE2_NEVER_BACKSLASH_C)

/* ECMA-262's General_Category values (long names and the aliases it
 * allows) and the short names PCRE2 knows. */
static const char *const categories[][2] = {
	{"Cased_Letter", "LC"}, {"Close_Punctuation", "Pe"},
	{"Connector_Punctuation", "Pc"}, {"Control", "Cc"}, {"cntrl", "Cc"},
	{"Currency_Symbol", "Sc"}, {"Dash_Punctuation", "Pd"},
	{"Decimal_Number", "Nd"}, {"digit", "Nd"}, {"Enclosing_Mark", "Me"},
	{"Final_Punctuation", "Pf"}, {"Format", "Cf"},
	{"Initial_Punctuation", "Pi"}, {"Letter", "L"},
	{"Letter_Number", "Nl"}, {"Line_Separator", "Zl"},
	{"Lowercase_Letter", "Ll"}, {"Mark", "M"}, {"Combining_Mark", "M"},
	{"Math_Symbol", "Sm"}, {"Modifier_Letter", "Lm"},
	{"Modifier_Symbol", "Sk"}, {"Nonspacing_Mark", "Mn"},
	{"Number", "N"}, {"Open_Punctuation", "Ps"}, {"Other", "C"},
	{"Other_Letter", "Lo"}, {"Other_Number", "No"},
	{"Other_Punctuation", "Po"}, {"Other_Symbol", "So"},
	{"Paragraph_Separator", "Zp"}, {"Private_Use", "Co"},
	{"Punctuation", "P"}, {"punct", "P"}, {"Separator", "Z"},
	{"Space_Separator", "Zs"}, {"Spacing_Mark", "Mc"},
	{"Surrogate", "Cs"}, {"Symbol", "S"}, {"Titlecase_Letter", "Lt"},
	{"Unassigned", "Cn"}, {"Uppercase_Letter", "Lu"},
};

/* The short name of General_Category value name[0..len), or NULL. */
static const char *
category_short(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(categories) / sizeof(categories[0]); i++)
		if (strlen(categories[i][0]) == len &&
		    memcmp(categories[i][0], name, len) == 0)
			return categories[i][1];
	return NULL;
}

/* Appends n bytes of s, all from original offset at. */
static void
put(char *out, size_t *o, size_t *map, const char *s, size_t n, size_t at)
{
	size_t i;

	for (i = 0; i < n; i++) {
		map[*o] = at;
		out[(*o)++] = s[i];
	}
}

/*
 * The property name of the \p{...} or \P{...} at p[i] (p[i] is 'p' or 'P',
 * p[i + 1] is '{'), if it needs rewriting: into out (with map), returning
 * the offset after the '}'; else 0 and nothing written.
 */
static size_t
rewrite_property(const char *p, size_t len, size_t i, char *out, size_t *o,
                 size_t *map)
{
	static const char *const prefixes[] = {"gc=", "General_Category="};
	const char *close = memchr(p + i + 2, '}', len - i - 2);
	const char *name = p + i + 2, *value = name, *s;
	size_t nlen, vlen, k;
	char sign = p[i];

	if (close == NULL)
		return 0;
	nlen = (size_t)(close - name);
	for (k = 0; k < 2; k++) {
		size_t plen = strlen(prefixes[k]);

		if (nlen > plen && memcmp(name, prefixes[k], plen) == 0)
			value = name + plen;
	}
	vlen = nlen - (size_t)(value - name);
	if ((s = category_short(value, vlen)) == NULL) {
		if (value == name && nlen == 8 &&
		    memcmp(name, "Assigned", 8) == 0) {
			s = "Cn";
			sign = sign == 'p' ? 'P' : 'p';
		} else if (value != name) {
			s = NULL;       /* gc=Lu: the value alone */
		} else {
			return 0;
		}
	}
	put(out, o, map, &sign, 1, i);
	put(out, o, map, "{", 1, i + 1);
	if (s != NULL)
		put(out, o, map, s, strlen(s), (size_t)(value - p));
	else
		put(out, o, map, value, vlen, (size_t)(value - p));
	put(out, o, map, "}", 1, (size_t)(close - p));
	return (size_t)(close - p) + 1;
}

/*
 * pattern with the property names PCRE2 lacks rewritten (file comment),
 * malloc'ed, with *map giving each output byte's offset in pattern; NULL
 * when nothing needs rewriting (or out of memory: PCRE2 then reports the
 * name it does not know).
 */
static char *
rewrite_properties(const char *p, size_t len, size_t *outlen, size_t **map)
{
	char *out;
	size_t i = 0, o = 0, next;
	int changed = 0, quoted = 0;

	if (memmem(p, len, "p{", 2) == NULL && memmem(p, len, "P{", 2) == NULL)
		return NULL;
	out = malloc(len + 1);
	*map = malloc((len + 1) * sizeof(**map));
	if (out == NULL || *map == NULL) {
		free(out);
		free(*map);
		*map = NULL;
		return NULL;
	}
	while (i < len) {
		if (p[i] != '\\' || i + 1 == len) {
			put(out, &o, *map, p + i, 1, i);
			i++;
			continue;
		}
		/* \Q...\E quotes: nothing inside is a property. */
		if (quoted || p[i + 1] == 'Q')
			quoted = p[i + 1] == 'Q' || (quoted && p[i + 1] != 'E');
		if (!quoted && (p[i + 1] == 'p' || p[i + 1] == 'P') &&
		    i + 2 < len && p[i + 2] == '{') {
			put(out, &o, *map, p + i, 1, i);
			next = rewrite_property(p, len, i + 1, out, &o, *map);
			if (next > 0) {
				changed = 1;
				i = next;
				continue;
			}
			i++;
			continue;
		}
		put(out, &o, *map, p + i, 2, i);
		i += 2;
	}
	(*map)[o] = len;
	if (!changed) {
		free(out);
		free(*map);
		*map = NULL;
		return NULL;
	}
	*outlen = o;
	return out;
}

pcre2_code *
ecma_pattern_compile(const char *pattern, size_t len, char *err,
                     size_t errlen)
{
	pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
	size_t *map = NULL, rlen = 0;
	char *rewritten = rewrite_properties(pattern, len, &rlen, &map);
	PCRE2_UCHAR why[160];
	PCRE2_SIZE offset = 0;
	pcre2_code *code = NULL;
	int rc = PCRE2_ERROR_NOMEMORY;

	if (cc != NULL) {
		pcre2_set_newline(cc, PCRE2_NEWLINE_ANYCRLF);
		pcre2_set_compile_extra_options(cc, PCRE2_EXTRA_ALT_BSUX);
		code = pcre2_compile((PCRE2_SPTR)(rewritten != NULL ?
		                     rewritten : pattern),
		                     rewritten != NULL ? rlen : len,
		                     ECMA_OPTIONS, &rc, &offset, cc);
		pcre2_compile_context_free(cc);
	}
	if (code == NULL && rewritten != NULL)
		offset = offset <= rlen ? map[offset] : len;
	free(rewritten);
	free(map);
	if (code != NULL)
		return code;
	/* A message too long for why comes back cut, which is fine. */
	if (pcre2_get_error_message(rc, why, sizeof(why)) ==
	    PCRE2_ERROR_BADDATA)
		snprintf((char *)why, sizeof(why), "error %d", rc);
	snprintf(err, errlen, "%s at offset %zu", (const char *)why,
	         (size_t)offset);
	return NULL;
}
