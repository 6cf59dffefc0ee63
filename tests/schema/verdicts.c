/*
 * verdicts.c - asterd's side of the schema differential test.
 *
 *     build/tests/schema/verdicts CASES.json
 *
 * CASES.json (written by gen.js) holds named schemas per module, as JSON
 * text, and cases: a schema name ("module.Name"), an instance as JSON
 * text and ajv's verdict. This program builds a product in memory whose
 * modules carry those schemas (JSON text is YAML flow text, so they go
 * through the real loader and check), with one route per schema whose
 * request.schema is {$ref: module.Name}; compiles the contract as a
 * generation does, and checks every instance with contract_check_text(),
 * the function requests go through. Each disagreement with ajv is
 * printed with our errors. Exits 1 on any disagreement, on an instance
 * we could not parse, or with fewer than 200 cases; the last line is
 * "schema: N passed, M failed".
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/manifest.h"
#include "contract/contract.h"
#include "diag.h"
#include "graph/graph.h"
#include "provider/registry.h"

#define MIN_CASES 200

static const char product_yaml[] =
	"kind: product\nid: differential\nname: Differential\n"
	"version: 1.0.0\n"
	"server:\n  listen:\n    - address: 127.0.0.1:8080\n";

struct text {
	char *s;
	size_t len, cap;
};

static void
put(struct text *t, const char *s)
{
	size_t n = strlen(s);

	if (t->len + n + 1 > t->cap) {
		t->cap = (t->len + n + 1) * 2;
		if ((t->s = realloc(t->s, t->cap)) == NULL) {
			perror("verdicts");
			exit(70);
		}
	}
	memcpy(t->s + t->len, s, n + 1);
	t->len += n;
}

static json_object *
get(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v)) {
		fprintf(stderr, "verdicts: the cases file has no '%s'\n", key);
		exit(70);
	}
	return v;
}

/* A module document: its schemas, and a route per case schema of it
 * (routes go to the first module, whatever module names the schema). */
static void
add_module(struct config *cfg, struct diag_list *dl, json_object *mod,
           json_object *cases, int with_routes)
{
	const char *id = json_object_get_string(get(mod, "id"));
	struct text t = {0};
	char line[512], rel[128];
	size_t i, n = json_object_array_length(cases);
	json_object *seen = json_object_new_object();

	snprintf(line, sizeof(line), "kind: module\nid: %s\ndisplayName: %s\n"
	         "version: 1.0.0\nschemas: ", id, id);
	put(&t, line);
	put(&t, json_object_get_string(get(mod, "schemas")));
	put(&t, "\n");
	if (with_routes)
		put(&t, "routes:\n");
	for (i = 0; with_routes && i < n; i++) {
		const char *name = json_object_get_string(
		    get(json_object_array_get_idx(cases, i), "schema"));

		if (json_object_object_get_ex(seen, name, NULL))
			continue;
		json_object_object_add(seen, name, NULL);
		snprintf(line, sizeof(line),
		         "  - id: \"route:check.%zu\"\n"
		         "    scope: public\n"
		         "    methods: [POST]\n"
		         "    mountPath: /check/%zu\n"
		         "    handler: { respond: { status: 204 } }\n"
		         "    request: { schema: { $ref: %s } }\n",
		         i, i, name);
		put(&t, line);
	}
	snprintf(rel, sizeof(rel), "modules/%s.yaml", id);
	config_add_text(cfg, dl, rel, t.s, t.len);
	json_object_put(seen);
	free(t.s);
}

static struct config *
load(json_object *doc, struct provider_registry *reg, struct diag_list *dl)
{
	json_object *modules = get(doc, "modules");
	struct config *cfg = config_new("differential");
	size_t i, errors;

	config_add_text(cfg, dl, "product.yaml", product_yaml,
	                strlen(product_yaml));
	for (i = 0; i < json_object_array_length(modules); i++)
		add_module(cfg, dl, json_object_array_get_idx(modules, i),
		           get(doc, "cases"), i == 0);
	config_index_modules(cfg);
	errors = graph_validate(cfg, reg, dl);
	if (errors > 0) {
		diag_render_text(dl, stderr);
		fprintf(stderr, "verdicts: the schemas do not pass the "
		        "check (%zu errors)\n", errors);
		exit(1);
	}
	return cfg;
}

/* The request schema of the route whose $ref names name. */
static const struct contract_schema *
schema_of(const struct config *cfg, const struct contract *c,
          const char *name)
{
	size_t i, j;

	for (i = 0; i < cfg->nmembers; i++)
		for (j = 0; j < cfg->members[i]->routes.n; j++) {
			const struct route *r = cfg->members[i]->routes.v[j];
			const node_t *ref = node_get(r->request->schema,
			                             "$ref");

			if (ref != NULL && strcmp(ref->value, name) == 0)
				return contract_request_schema(c, r);
		}
	return NULL;
}

static void
print_errors(const struct contract_report *r)
{
	size_t i;

	for (i = 0; i < r->nerrors; i++)
		printf("    '%s': %s\n", r->errors[i].pointer,
		       r->errors[i].detail);
}

int
main(int argc, char **argv)
{
	struct provider_registry *reg;
	struct diag_list dl;
	struct config *cfg;
	struct contract *c;
	json_object *doc, *cases;
	size_t i, n, failed = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CASES.json\n", argv[0]);
		return 64;
	}
	if ((doc = json_object_from_file(argv[1])) == NULL) {
		fprintf(stderr, "verdicts: cannot read %s: %s\n", argv[1],
		        json_util_get_last_err());
		return 1;
	}
	reg = registry_new("");
	diag_list_init(&dl);
	cfg = load(doc, reg, &dl);
	if ((c = contract_compile(cfg)) == NULL) {
		fprintf(stderr, "verdicts: out of memory\n");
		return 70;
	}
	cases = get(doc, "cases");
	n = json_object_array_length(cases);
	for (i = 0; i < n; i++) {
		json_object *k = json_object_array_get_idx(cases, i);
		const char *name = json_object_get_string(get(k, "schema"));
		const char *text = json_object_get_string(get(k, "instance"));
		int theirs = json_object_get_boolean(get(k, "valid"));
		const struct contract_schema *s = schema_of(cfg, c, name);
		struct contract_report r;
		enum contract_verdict v;

		if (s == NULL) {
			printf("FAIL %s: no route checks it\n", name);
			failed++;
			continue;
		}
		v = contract_check_text(c, s, text, strlen(text), &r);
		if ((v == CONTRACT_VALID || v == CONTRACT_INVALID) &&
		    (v == CONTRACT_VALID) == theirs)
			continue;
		failed++;
		printf("FAIL %s %s: ajv says %s, asterd %s%s\n", name, text,
		       theirs ? "valid" : "invalid",
		       v == CONTRACT_VALID ? "valid" :
		       v == CONTRACT_INVALID ? "invalid" :
		       v == CONTRACT_INVALID_JSON ? "not JSON: " : "no memory",
		       v == CONTRACT_INVALID_JSON ? r.why : "");
		print_errors(&r);
	}
	if (n < MIN_CASES) {
		printf("FAIL only %zu cases, at least %d expected\n", n,
		       MIN_CASES);
		failed++;
	}
	printf("schema: %zu passed, %zu failed\n", n - (failed > n ? n :
	       failed), failed);
	contract_free(c);
	config_free(cfg);
	diag_list_release(&dl);
	registry_free(reg);
	json_object_put(doc);
	return failed > 0;
}
