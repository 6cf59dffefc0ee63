/*
 * yaml_json.h - a YAML value of a manifest as a JSON value (json-c).
 *
 * Respond bodies are sent as JSON and manifest schemas become OpenAPI
 * schemas: both need the YAML tree, whose scalars are untyped text, read
 * the way a YAML 1.2 core-schema reader would read it.
 */
#ifndef ASTER_YAML_JSON_H
#define ASTER_YAML_JSON_H

struct aster_node;
struct json_object;

/*
 * n as JSON: mappings and lists become objects and arrays (a merged key
 * behind an explicit one is dropped); a plain scalar that reads as a
 * decimal number, true/false or null becomes that, any other scalar a
 * string. Hex, octal and .inf stay strings, as JSON has no spelling for
 * them; a number keeps its text as written, in JSON's grammar. as_plain
 * types quoted scalars the same way, for places whose type is fixed
 * (`minLength: "3"` is 3); a scalar tagged !!str is a string either way.
 * Returns a new json-c reference; NULL stands for JSON null (and n NULL).
 */
struct json_object *yaml_to_json(const struct aster_node *n, int as_plain);

#endif
