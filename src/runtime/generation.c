/*
 * generation.c - one configuration as it runs: router, module runs, refs.
 */
#include "runtime/runtime.h"

#include <aster/auth.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract/contract.h"
#include "util/arena.h"
#include "util/strmap.h"

const char *
module_state_name(enum module_run_state s)
{
	static const char *const names[] = {
		"pending", "starting", "running", "stopping", "stopped",
		"failed"};

	return (unsigned)s < 6 ? names[s] : "unknown";
}

const char *
runtime_state_name(enum runtime_state s)
{
	static const char *const names[] = {
		"starting", "running", "reloading", "stopping", "failed"};

	return (unsigned)s < 5 ? names[s] : "unknown";
}

static void
digest_node(EVP_MD_CTX *md, const node_t *n)
{
	unsigned char tag[5];
	uint32_t count = n->kind == NODE_SCALAR ? n->len : n->n;
	size_t i;

	tag[0] = (unsigned char)('0' + n->kind);
	memcpy(tag + 1, &count, 4);
	EVP_DigestUpdate(md, tag, sizeof(tag));
	if (n->kind == NODE_SCALAR) {
		EVP_DigestUpdate(md, n->value, n->len);
		return;
	}
	for (i = 0; i < n->n; i++) {
		if (n->kind == NODE_MAP) {
			digest_node(md, n->pairs[i].key);
			digest_node(md, n->pairs[i].value);
		} else {
			digest_node(md, n->items[i]);
		}
	}
}

/*
 * A module's identity for reload diffs: a SHA-256 over its manifest as
 * decoded (after ${VAR} interpolation, so a changed environment counts as
 * a change). Formatting and comments do not count.
 */
static const char *
module_digest(struct arena *a, const struct module *m)
{
	unsigned char out[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	char *hex;

	if (md == NULL)
		return "";
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	digest_node(md, m->node);
	EVP_DigestFinal_ex(md, out, &len);
	EVP_MD_CTX_free(md);
	hex = arena_alloc(a, len * 2 + 1);
	for (i = 0; i < len; i++)
		snprintf(hex + i * 2, 3, "%02x", out[i]);
	return hex;
}

struct generation *
generation_new(struct config *cfg, unsigned number)
{
	struct generation *g = calloc(1, sizeof(*g));
	size_t w, i, k = 0;

	if (g == NULL)
		return NULL;
	g->refs = 1;
	g->number = number;
	g->cfg = cfg;
	g->router = router_build(cfg->arena, cfg);
	g->runs = arena_alloc(cfg->arena,
	                      (cfg->nmembers + 1) * sizeof(*g->runs));
	g->run_by_id = strmap_new(cfg->arena);
	for (w = 0; w < cfg->nwaves; w++) {
		for (i = 0; i < cfg->wave_sizes[w]; i++) {
			struct module_run *run = &g->runs[k++];

			run->module = cfg->waves[w][i];
			run->state = MODULE_PENDING;
			run->digest = module_digest(cfg->arena, run->module);
			strmap_put(g->run_by_id, run->module->id, run);
			if (g->store_run == NULL &&
			    strlist_has(&run->module->provides,
			                ASTER_STORE_CAPABILITY))
				g->store_run = run;
			if (g->auth_run == NULL &&
			    strlist_has(&run->module->provides,
			                ASTER_AUTH_CAPABILITY))
				g->auth_run = run;
		}
	}
	g->nruns = k;
	g->contract = contract_compile(cfg);
	return g;
}

struct module_run *
generation_find_run(struct generation *g, const char *id)
{
	return strmap_get(g->run_by_id, id);
}

struct module_run *
module_run_live(struct module_run *run)
{
	return run;
}

struct generation *
generation_ref(struct generation *g)
{
	g->refs++;
	return g;
}

void
generation_unref(struct generation *g)
{
	if (g == NULL || --g->refs > 0)
		return;
	runtime_upstreams_release(g);
	config_free(g->cfg);
	contract_free(g->contract);
	free(g);
}
