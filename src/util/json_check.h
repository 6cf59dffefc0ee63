/*
 * json_check.h - strict validation of JSON text (RFC 8259) without
 * building it.
 *
 * The state API stores values as the text it received, so it needs an
 * exact yes or no, not a parse tree: one value, optional white space
 * around it, strings in well-formed UTF-8 (no overlongs, surrogates or
 * code points past U+10FFFF, as raw bytes) with valid escapes, numbers in
 * JSON's grammar, and nesting at most JSON_CHECK_MAX_DEPTH deep.
 */
#ifndef ASTER_JSON_CHECK_H
#define ASTER_JSON_CHECK_H

#include <stddef.h>

#define JSON_CHECK_MAX_DEPTH 64

/*
 * Returns 0 when text[0..len) is exactly one JSON value; else -1 with a
 * one-line reason naming the byte offset in err (errlen bytes).
 */
int json_check(const char *text, size_t len, char *err, size_t errlen);

#endif
