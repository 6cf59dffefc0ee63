/*
 * openapi_int.h - what the files of the OpenAPI generator share: the
 * document being built, and the parts each file contributes (schemas in
 * openapi_schema.c, error responses in openapi_errors.c, the rest in
 * openapi.c).
 */
#ifndef ASTER_OPENAPI_INT_H
#define ASTER_OPENAPI_INT_H

#include <json-c/json.h>

#include "config/manifest.h"
#include "contract/openapi.h"

#define OPENAPI_SCHEMAS "#/components/schemas/"
#define OPENAPI_RESPONSES "#/components/responses/"

struct schema_pending;

struct openapi_doc {
	struct arena *a;
	const struct config *cfg;
	unsigned scopes;
	const struct openapi_server *servers;
	size_t nservers;
	json_object *paths;
	struct strmap *items;       /* shape -> struct path_item */
	struct strmap *op_ids;      /* operationIds taken */
	/* Named schemas the document refers to: "module.Name" -> its JSON
	 * once translated; those still to translate wait in pending. */
	struct strmap *schemas;
	struct schema_pending *pending;
	unsigned errors_used;       /* bits of the error responses used */
	int problem_used;           /* a declared error response uses the
	                               problem schema */
	int bearer_used;
};

/* {"$ref": pointer} */
json_object *openapi_ref(const char *pointer);

/*
 * openapi_schema.c: a manifest schema of module owner (validated by
 * config/jsonschema.c) as JSON Schema, its $refs pointing at
 * components.schemas and recorded so that openapi_add_schemas() emits
 * what they name.
 */
json_object *openapi_schema(struct openapi_doc *d, const struct module *owner,
                            const node_t *n);

/* openapi_schema.c: into schemas, every named schema the document
 * refers to (and those they refer to), in module and manifest order,
 * then the problem schemas the error responses use. */
void openapi_add_schemas(struct openapi_doc *d, json_object *schemas);

/* openapi_errors.c: into responses (an operation's), a reference to the
 * error response for each error the route can answer method with, for
 * the codes the route does not declare itself, and `default`. */
void openapi_add_errors(struct openapi_doc *d, const struct route *r,
                        const char *method, json_object *responses);

/* openapi_errors.c: the error responses used, for components.responses;
 * 1 when one of them uses schema name (Problem, ValidationProblem). */
void openapi_add_error_responses(const struct openapi_doc *d,
                                 json_object *responses);
int openapi_error_schema_used(const struct openapi_doc *d, const char *name);

#endif
