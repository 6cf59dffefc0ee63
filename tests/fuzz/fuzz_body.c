/*
 * fuzz_body.c - libFuzzer target for request body validation
 * (src/contract/): the strict parser and the validator, differential
 * twice.
 *
 * The input is a request body, checked against a schema that uses every
 * keyword of the SPEC §14 subset (compiled once, in
 * LLVMFuzzerInitialize, through the real loader and check):
 *
 * - contract_check_text() calls it JSON exactly when json_check()
 *   (util/json_check.h, the state API's validator, fuzzed against json-c
 *   by fuzz_json) does, with the same reason;
 * - a body that is JSON, parsed by json-c and checked with
 *   contract_check_json(), gets the same verdict and the same errors,
 *   pointer for pointer and detail for detail, so the parser builds the
 *   value json-c would. Two things json-c does differently are left out
 *   of that comparison: an object naming a member twice (json-c keeps
 *   one, the validator checks each: found by counting the values of the
 *   text and of json-c's tree), an integer literal of 20 digits or
 *   more (json-c saturates it to 64 bits, the validator reads it as a
 *   double) and an escaped NUL (json-c's member names are C strings,
 *   cut at one; texts holding \u0000 anywhere are left out).
 *
 * A disagreement aborts with both sides, and libFuzzer keeps the input.
 * Seeds: tests/fuzz/seeds/body/; dictionary: tests/fuzz/body.dict.
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/manifest.h"
#include "contract/contract.h"
#include "diag.h"
#include "graph/graph.h"
#include "provider/registry.h"
#include "util/json_check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char product_yaml[] =
	"kind: product\nid: fuzz\nname: Fuzz\nversion: 1.0.0\n"
	"server:\n  listen:\n    - address: 127.0.0.1:8080\n";

static const char module_yaml[] =
	"kind: module\nid: app\ndisplayName: App\nversion: 1.0.0\n"
	"routes:\n"
	"  - id: route:app.body\n"
	"    scope: public\n"
	"    methods: [POST]\n"
	"    mountPath: /body\n"
	"    handler: { respond: { status: 204 } }\n"
	"    request: { schema: { $ref: Doc } }\n"
	"schemas:\n"
	"  Doc:\n"
	"    type: [object, array]\n"
	"    required: [id]\n"
	"    additionalProperties: { $ref: Any }\n"
	"    items: { $ref: Doc }\n"
	"    maxItems: 4\n"
	"    properties:\n"
	"      id: { type: string, format: uuid }\n"
	"      at: { type: string, format: date-time }\n"
	"      mail: { format: email }\n"
	"      name: { type: string, minLength: 1, maxLength: 5,\n"
	"              pattern: \"^\\\\p{Letter}+\\\\d?$\" }\n"
	"      n: { type: integer, minimum: -3, exclusiveMaximum: 1e2 }\n"
	"      x: { type: number, exclusiveMinimum: 0.5, maximum: 7 }\n"
	"      kind: { enum: [a, 1, null, true, { k: [1.5] }] }\n"
	"      c: { const: { z: [false, \"0\"] } }\n"
	"      list: { type: array, minItems: 1, items: { $ref: Doc } }\n"
	"      no: false\n"
	"      \"a/b~c\": { type: \"null\" }\n"
	"  Any: { type: [string, number, boolean, \"null\", object], "
	"minLength: 2, maxItems: 1, minimum: 0 }\n";

/* Made once and kept for the process (the contract points into cfg);
 * static, so that the leak checker sees them reachable at exit. */
static struct provider_registry *reg;
static struct diag_list dl;
static struct config *cfg;
static struct contract *contract;
static const struct contract_schema *schema;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	reg = registry_new("");
	cfg = config_new("fuzz");

	(void)argc;
	(void)argv;
	diag_list_init(&dl);
	config_add_text(cfg, &dl, "product.yaml", product_yaml,
	                strlen(product_yaml));
	config_add_text(cfg, &dl, "modules/app.yaml", module_yaml,
	                strlen(module_yaml));
	config_index_modules(cfg);
	if (graph_validate(cfg, reg, &dl) != 0) {
		diag_render_text(&dl, stderr);
		abort();
	}
	contract = contract_compile(cfg);
	if (contract == NULL)
		abort();
	schema = contract_request_schema(contract,
	                                 cfg->members[0]->routes.v[0]);
	if (schema == NULL)
		abort();
	return 0;
}

/* Whether the text holds a run of 20 digits or more. */
static int
long_integer(const uint8_t *p, size_t len)
{
	size_t i, run = 0;

	for (i = 0; i < len; i++) {
		run = p[i] >= '0' && p[i] <= '9' ? run + 1 : 0;
		if (run >= 20)
			return 1;
	}
	return 0;
}

/* The values (scalars and containers) of a valid JSON text, counted
 * from its tokens: a string followed by ':' is a name, not a value. */
static size_t
text_values(const uint8_t *p, size_t len)
{
	size_t i = 0, n = 0, j;

	while (i < len) {
		if (p[i] == '"') {
			for (i++; p[i] != '"'; i++)
				if (p[i] == '\\')
					i++;
			for (j = ++i; j < len && p[j] != '\0' &&
			     strchr(" \t\r\n", p[j]) != NULL; j++)
				;
			n += j == len || p[j] != ':';
		} else if (strchr("{[tfn-0123456789", p[i]) != NULL &&
		           p[i] != '\0') {
			n++;
			if (p[i] == '{' || p[i] == '[') {
				i++;
				continue;
			}
			while (i < len && strchr(",]} \t\r\n", p[i]) == NULL)
				i++;
		} else {
			i++;
		}
	}
	return n;
}

/* The values of a json-c tree (json-c keeps one member of a name). */
static size_t
tree_values(json_object *o)
{
	size_t n = 1, i;

	if (json_object_is_type(o, json_type_array))
		for (i = 0; i < json_object_array_length(o); i++)
			n += tree_values(json_object_array_get_idx(o, i));
	else if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, key, member) {
			(void)key;
			n += tree_values(member);
		}
	}
	return n;
}

static void
print_report(const char *who, enum contract_verdict v,
             const struct contract_report *r)
{
	size_t i;

	fprintf(stderr, "%s: verdict %d why '%s' %zu errors%s\n", who, v,
	        r->why, r->nerrors, r->truncated ? " (truncated)" : "");
	for (i = 0; i < r->nerrors; i++)
		fprintf(stderr, "  '%s': %s\n", r->errors[i].pointer,
		        r->errors[i].detail);
}

/* The errors of a report as one text (the scratch is reused). */
static char *
report_text(const struct contract_report *r)
{
	size_t i, len = 1;
	char *out, *p;

	for (i = 0; i < r->nerrors; i++)
		len += strlen(r->errors[i].pointer) +
		       strlen(r->errors[i].detail) + 2;
	if ((out = malloc(len)) == NULL)
		abort();
	for (i = 0, p = out; i < r->nerrors; i++)
		p += sprintf(p, "%s\t%s\n", r->errors[i].pointer,
		             r->errors[i].detail);
	*p = '\0';
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct contract_report ours, theirs;
	enum contract_verdict v, w;
	char why[128], *a, *b;
	json_tokener *tok;
	json_object *o;
	int is_json;

	v = contract_check_text(contract, schema, text, size, &ours);
	is_json = json_check(text, size, why, sizeof(why)) == 0;
	if (v == CONTRACT_NO_MEMORY)
		return 0;
	if (is_json != (v != CONTRACT_INVALID_JSON) ||
	    (!is_json && size > 0 && strcmp(why, ours.why) != 0)) {
		fprintf(stderr, "json_check: %s '%s'\n", is_json ? "JSON" :
		        "not JSON", is_json ? "" : why);
		print_report("contract", v, &ours);
		abort();
	}
	if (!is_json || long_integer(data, size) ||
	    memmem(data, size, "\\u0000", 6) != NULL)
		return 0;
	a = report_text(&ours);
	tok = json_tokener_new_ex(JSON_CHECK_MAX_DEPTH + 1);
	o = json_tokener_parse_ex(tok, text, (int)size);
	if (json_tokener_get_error(tok) == json_tokener_continue)
		o = json_tokener_parse_ex(tok, "", 1);
	if (json_tokener_get_error(tok) != json_tokener_success) {
		/* json-c reads less than RFC 8259 allows only at a NUL. */
		json_tokener_free(tok);
		free(a);
		return 0;
	}
	if (tree_values(o) != text_values(data, size)) {
		/* A name given twice: json-c kept one of its members. */
		json_object_put(o);
		json_tokener_free(tok);
		free(a);
		return 0;
	}
	w = contract_check_json(contract, schema, o, &theirs);
	b = report_text(&theirs);
	if (v != w || strcmp(a, b) != 0 ||
	    ours.truncated != theirs.truncated) {
		/* ours' own strings are gone with the second check. */
		fprintf(stderr, "text: verdict %d, %struncated, errors:\n%s",
		        v, ours.truncated ? "" : "not ", a);
		print_report("json-c", w, &theirs);
		abort();
	}
	free(a);
	free(b);
	json_object_put(o);
	json_tokener_free(tok);
	return 0;
}
