/*
 * ecma_pattern.h - JSON Schema `pattern`s (ECMA-262 regular expressions)
 * compiled by PCRE2, with one set of options for the check and the
 * validator.
 *
 * `--check-config` compiles every pattern to refuse a bad one
 * (invalid-schema, config/jsonschema.c); each configuration generation
 * compiles them again, once, for request validation (contract/pattern.c).
 * Both go through ecma_pattern_compile(), so what the check accepts is
 * exactly what runs.
 */
#ifndef ASTER_ECMA_PATTERN_H
#define ASTER_ECMA_PATTERN_H

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif

#include <pcre2.h>
#include <stddef.h>

/*
 * Compiles pattern (len bytes of UTF-8, unanchored) with the options that
 * bring PCRE2 closest to an ECMA-262 RegExp with the `u` flag (see
 * ecma_pattern.c for what still differs). Returns the code, to free with
 * pcre2_code_free(), or NULL with PCRE2's reason and the offset in err
 * ("missing closing parenthesis at offset 5").
 */
pcre2_code *ecma_pattern_compile(const char *pattern, size_t len, char *err,
                                 size_t errlen);

#endif
