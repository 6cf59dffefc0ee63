/*
 * gateway.c - the built-in provider `gateway` (SPEC §9): the core
 * endpoints, served through aster/http.h like any provider's.
 *
 * health is on every load balancer's and benchmark's path, so it answers
 * a constant body and allocates nothing of its own. ready, product,
 * modules, routes and openapi answer what aster_describe() says of the
 * request's configuration; state and state-list are the internal state
 * API (state*.c).
 */
#include "provider/builtin.h"

#include <stdlib.h>
#include <string.h>

#include <aster/http.h>

#include "handlers/state.h"

static const char health_body[] = "{\"status\":\"ok\"}";

static int
op_health(void *self, struct aster_request *r)
{
	(void)self;
	aster_respond(r, 200, "application/json", health_body,
	              sizeof(health_body) - 1);
	return 0;
}

/* Answers one view of aster_describe(). */
static int
answer_view(struct aster_request *r, const char *view)
{
	int status;
	char *doc = aster_describe(r, view, &status);

	if (doc == NULL) {
		aster_problem(r, 500, "internal", "the description could not "
		              "be built", NULL, 0);
		return 0;
	}
	aster_respond(r, status, "application/json", doc, strlen(doc));
	free(doc);
	return 0;
}

static int
op_ready(void *self, struct aster_request *r)
{
	(void)self;
	return answer_view(r, "ready");
}

static int
op_product(void *self, struct aster_request *r)
{
	(void)self;
	return answer_view(r, "product");
}

static int
op_modules(void *self, struct aster_request *r)
{
	(void)self;
	return answer_view(r, "modules");
}

static int
op_routes(void *self, struct aster_request *r)
{
	(void)self;
	return answer_view(r, "routes");
}

static int
op_openapi(void *self, struct aster_request *r)
{
	(void)self;
	return answer_view(r, "openapi");
}

static const struct aster_operation gateway_operations[] = {
	{"health", "GET", "Liveness of the asterd process",
	 "{\"type\":\"object\",\"required\":[\"status\"],"
	 "\"properties\":{\"status\":{\"const\":\"ok\"}}}", op_health},
	{"ready", "GET", "Readiness of every module of the product",
	 "{\"type\":\"object\",\"required\":[\"status\",\"modules\"],"
	 "\"properties\":{\"status\":{\"type\":\"string\"},"
	 "\"modules\":{\"type\":\"object\"}}}", op_ready},
	{"product", "GET", "Identity of the product",
	 "{\"type\":\"object\",\"required\":[\"id\",\"name\",\"version\","
	 "\"modules\"],\"properties\":{\"id\":{\"type\":\"string\"},"
	 "\"name\":{\"type\":\"string\"},\"description\":{\"type\":"
	 "\"string\"},\"version\":{\"type\":\"string\"},\"modules\":"
	 "{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}}",
	 op_product},
	{"modules", "GET", "Every module with its state and wave",
	 "{\"type\":\"array\",\"items\":{\"type\":\"object\"}}", op_modules},
	{"routes", "GET", "The live route table",
	 "{\"type\":\"array\",\"items\":{\"type\":\"object\"}}", op_routes},
	{"openapi", "GET", "OpenAPI 3.1 document of the product",
	 "{\"type\":\"object\"}", op_openapi},
	{"state", "GET,PUT,DELETE", "A JSON document of the state store, "
	 "versioned by its ETag", NULL, state_serve_document},
	{"state-list", "GET", "A page of the documents of a namespace",
	 "{\"type\":\"object\",\"required\":[\"items\",\"cursor\"],"
	 "\"properties\":{\"items\":{\"type\":\"array\",\"items\":"
	 "{\"type\":\"object\",\"required\":[\"key\",\"value\","
	 "\"etag\"]}},\"cursor\":{\"type\":[\"string\",\"null\"]}}}",
	 state_list_documents},
	{NULL, NULL, NULL, NULL, NULL},
};

const struct aster_provider gateway_provider = {
	.abi = ASTER_PROVIDER_ABI,
	.name = "gateway",
	.description = "Core endpoints: health, readiness, identity, "
	               "modules, routes, the OpenAPI document and the "
	               "internal state API",
	.config_keys = NULL,
	.validate = NULL,
	.operations = gateway_operations,
	.start = NULL,
	.stop = NULL,
};
