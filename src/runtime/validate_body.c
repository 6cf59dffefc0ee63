/*
 * validate_body.c - a request's body against its route's schema, before
 * any handler runs (SPEC §14).
 *
 * Every handler form is behind it alike: operations, respond, static,
 * proxy and runtime. A route with `request.schema` takes
 * `application/json` (charset utf-8 at most) only, else 415
 * unsupported-media-type; a body that is not one JSON text is 400
 * invalid-json; one that breaks the schema is 422 validation-failed with
 * an `errors` member of JSON Pointers and details (at most 20).
 *
 * GET, HEAD and OPTIONS carry no body to validate: the OpenAPI document
 * gives them no requestBody either, so a schema on a route that also
 * answers GET applies to its other methods only.
 */
#include "runtime/runtime.h"

#include <stdio.h>
#include <string.h>

#include "contract/contract.h"
#include "http/problem.h"
#include "http/server.h"

static int
has_body(const char *method)
{
	return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
	       strcmp(method, "OPTIONS") != 0;
}

static void
refuse_invalid(struct http_exchange *ex, struct request_ctx *ctx,
               const struct contract_report *r)
{
	struct problem_error errs[CONTRACT_MAX_ERRORS];
	char detail[128];
	size_t i;

	for (i = 0; i < r->nerrors; i++) {
		errs[i].pointer = r->errors[i].pointer;
		errs[i].detail = r->errors[i].detail;
	}
	if (r->truncated)
		snprintf(detail, sizeof(detail), "the body does not match the "
		         "route's schema: the first %zu errors", r->nerrors);
	else
		snprintf(detail, sizeof(detail), "the body does not match the "
		         "route's schema: %zu error%s", r->nerrors,
		         r->nerrors == 1 ? "" : "s");
	problem_send_errors(ex, 422, "validation-failed", detail,
	                    ctx->request_id, errs, r->nerrors);
}

int
runtime_refuse_body(struct http_exchange *ex, struct request_ctx *ctx)
{
	const struct route *route = ctx->route;
	const struct contract_schema *schema;
	struct contract_report report;
	const unsigned char *body;
	char detail[160];
	size_t len;

	if (route->request == NULL || route->request->schema == NULL ||
	    !has_body(http_method(ex)))
		return 0;
	schema = contract_request_schema(ctx->gen->contract, route);
	if (schema == NULL) {
		/* Its generation could not compile it (out of memory). */
		problem_send(ex, 500, "internal", "the route's request schema "
		             "is not available", ctx->request_id);
		return 1;
	}
	if (!contract_json_media_type(http_header(ex, "Content-Type"))) {
		problem_send(ex, 415, "unsupported-media-type", "this route "
		             "takes application/json (charset utf-8) only",
		             ctx->request_id);
		return 1;
	}
	body = http_body(ex, &len);
	switch (contract_check_text(ctx->gen->contract, schema,
	                            (const char *)body, len, &report)) {
	case CONTRACT_VALID:
		return 0;
	case CONTRACT_INVALID_JSON:
		if (len == 0)
			snprintf(detail, sizeof(detail), "the body is empty; "
			         "this route takes a JSON body");
		else
			snprintf(detail, sizeof(detail), "the body is not "
			         "JSON: %s", report.why);
		problem_send(ex, 400, "invalid-json", detail, ctx->request_id);
		return 1;
	case CONTRACT_INVALID:
		refuse_invalid(ex, ctx, &report);
		return 1;
	default:
		problem_send(ex, 500, "internal", "out of memory validating "
		             "the body", ctx->request_id);
		return 1;
	}
}
