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
 * items, enum, const, minLength, maxLength, pattern (a valid POSIX ERE),
 * minimum, maximum, exclusiveMinimum, exclusiveMaximum, minItems, maxItems,
 * format (uuid, date-time, email), $ref, and the annotations title,
 * description, default, examples, deprecated, readOnly, writeOnly.
 * Returns the number of errors reported.
 */
size_t jsonschema_check(struct diag_list *dl, const node_t *schema,
                        jsonschema_resolve_fn resolve, void *ctx);

#endif
