/*
 * gateway_desc.c - the built-in provider behind the core endpoints (SPEC §9).
 *
 * It takes no configuration. Its operations describe the routes of the
 * `core` module; they are served by the HTTP layer of the runtime.
 */
#include "provider/builtin.h"

static const struct aster_operation gateway_operations[] = {
	{"health", "GET", "Liveness of the asterd process",
	 "{\"type\":\"object\",\"required\":[\"status\"],"
	 "\"properties\":{\"status\":{\"const\":\"ok\"}}}", NULL},
	{"ready", "GET", "Readiness of every module of the product",
	 "{\"type\":\"object\",\"required\":[\"status\",\"modules\"],"
	 "\"properties\":{\"status\":{\"type\":\"string\"},"
	 "\"modules\":{\"type\":\"object\"}}}", NULL},
	{"product", "GET", "Identity of the product",
	 "{\"type\":\"object\",\"required\":[\"id\",\"name\",\"version\","
	 "\"modules\"],\"properties\":{\"id\":{\"type\":\"string\"},"
	 "\"name\":{\"type\":\"string\"},\"description\":{\"type\":"
	 "\"string\"},\"version\":{\"type\":\"string\"},\"modules\":"
	 "{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}}", NULL},
	{"modules", "GET", "Every module with its state and wave",
	 "{\"type\":\"array\",\"items\":{\"type\":\"object\"}}", NULL},
	{"routes", "GET", "The live route table",
	 "{\"type\":\"array\",\"items\":{\"type\":\"object\"}}", NULL},
	{"openapi", "GET", "OpenAPI 3.1 document of the product",
	 "{\"type\":\"object\"}", NULL},
	{"state", "GET,PUT,DELETE", "A JSON document of the state store, "
	 "versioned by its ETag", NULL, NULL},
	{"state-list", "GET", "A page of the documents of a namespace",
	 "{\"type\":\"object\",\"required\":[\"items\",\"cursor\"],"
	 "\"properties\":{\"items\":{\"type\":\"array\",\"items\":"
	 "{\"type\":\"object\",\"required\":[\"key\",\"value\","
	 "\"etag\"]}},\"cursor\":{\"type\":[\"string\",\"null\"]}}}",
	 NULL},
	{"whoami", "GET", "The caller's credential",
	 "{\"type\":\"object\",\"required\":[\"kind\",\"id\","
	 "\"role\"],\"properties\":{\"kind\":{\"enum\":[\"api-key\","
	 "\"jwt\"]},\"id\":{\"type\":\"string\"},\"role\":{\"enum\":"
	 "[\"admin\",\"user\"]},\"spaces\":{\"type\":[\"array\","
	 "\"null\"],\"items\":{\"type\":\"string\"}}}}", NULL},
	{"keys-create", "POST", "Create an API key (shown once)", NULL, NULL},
	{"keys-list", "GET", "Every API key, without secrets",
	 "{\"type\":\"object\",\"required\":[\"items\"]}", NULL},
	{"keys-revoke", "DELETE", "Revoke an API key, on every node", NULL,
	 NULL},
	{NULL, NULL, NULL, NULL, NULL},
};

const struct aster_provider gateway_provider = {
	.abi = ASTER_PROVIDER_ABI,
	.name = "gateway",
	.description = "Core endpoints: health, readiness, identity, "
	               "modules, routes, the OpenAPI document, the "
	               "internal state API, whoami and API keys",
	.config_keys = NULL,
	.validate = NULL,
	.operations = gateway_operations,
	.start = NULL,
	.stop = NULL,
};
