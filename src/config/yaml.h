/*
 * yaml.h - reading one manifest file into node trees with libyaml.
 */
#ifndef ASTER_YAML_H
#define ASTER_YAML_H

#include <stddef.h>

#include "config/node.h"
#include "diag.h"

struct arena;

/* At most this many nodes per document after alias expansion (SPEC §5). */
#define YAML_MAX_NODES 100000

/*
 * Parses len bytes of text, read from src, into its documents.
 *
 * Every node gets its mark; scalars are ${VAR}-interpolated (interp.h);
 * anchors/aliases are resolved by sharing the anchored node; `<<` merge keys
 * are resolved (explicit keys win; merged pairs are appended with
 * merged = 1); empty documents are dropped.
 *
 * Reports, and keeps going where it can:
 *   yaml-syntax    a libyaml error, at its problem mark; parsing of the file
 *                  stops there and only complete earlier documents are kept
 *   duplicate-key  at the second key, with a note at the first
 *   wrong-type     a key that is not a scalar, or a bad merge value
 *   yaml-limit     a document over YAML_MAX_NODES nodes after alias
 *                  expansion, at the node or alias crossing the bound; the
 *                  document is dropped
 *   unset-variable an unset ${VAR} without default, at the scalar
 *   invalid-value  a malformed ${...} reference, at the scalar
 *
 * On return *docs (arena array) holds *ndocs document roots. Returns the
 * number of errors reported.
 */
size_t yaml_parse(struct arena *a, const struct source *src, const char *text,
                  size_t len, struct diag_list *dl, node_t ***docs,
                  size_t *ndocs);

#endif
