/*
 * jsonschema.h - checking that a manifest schema is a valid schema.
 *
 * Manifests carry JSON Schema (2020-12 subset of SPEC §14) for named
 * `schemas`, route `request.schema` and `responses.*.schema`. At check time
 * we only verify the schemas themselves: known keywords with values of the
 * right shape, and that every $ref names a schema that exists.
 */
#ifndef ASTER_JSONSCHEMA_H
#define ASTER_JSONSCHEMA_H

#include <stddef.h>

#include "config/node.h"
#include "diag.h"

/*
 * Called for each {$ref: NAME}; ref is the scalar node holding NAME.
 * Returns 1 when NAME resolves. When it does not, the resolver reports
 * unknown-schema itself (it knows the names to suggest) and returns 0.
 */
typedef int (*jsonschema_resolve_fn)(void *ctx, const node_t *ref);

/*
 * Checks schema, reporting invalid-schema at the offending keyword or value
 * (unknown keyword, with a "did you mean" hint; wrong value type; negative
 * length; bad enum/required/pattern; unknown type or format name). Keywords:
 * type (a name or list of names: null boolean object array number integer
 * string), properties, required, additionalProperties (bool or schema),
 * items, enum, const, minLength, maxLength, pattern (an ECMA-262 regular
 * expression that PCRE2 compiles, util/ecma_pattern.h; PCRE2's reason and
 * offset in the message otherwise), minimum, maximum, exclusiveMinimum,
 * exclusiveMaximum, minItems, maxItems, format (uuid, date-time, email),
 * $ref, and the annotations title, description, $comment, default,
 * examples, deprecated, readOnly, writeOnly.
 * Returns the number of errors reported.
 */
size_t jsonschema_check(struct diag_list *dl, const node_t *schema,
                        jsonschema_resolve_fn resolve, void *ctx);

/*
 * Keyword values typed as the check types them, for the code that
 * compiles schemas (contract/): quoting does not matter, the keyword's
 * type does. Each returns 0, or -1 when n is not of that type.
 *
 * jsonschema_bool: true/True/TRUE, false/False/FALSE.
 * jsonschema_number: a YAML 1.2 decimal ([-+]?(D+(.D*)?|.D+)([eE][-+]?D+)?;
 *   no hex, octal, .inf or .nan); -2 when it overflows a double.
 * jsonschema_count: a non-negative integer by value (`3`, `"3"`, `+3`,
 *   `2.0`, `1e3`); -2 when it is past 2^64 - 1.
 */
int jsonschema_bool(const node_t *n, int *out);
int jsonschema_number(const node_t *n, double *out);
int jsonschema_count(const node_t *n, unsigned long long *out);

#endif
