/*
 * check.c - generic provider config checks.
 *
 * The key table catches what every provider would otherwise check by hand
 * (unknown keys with hints, required keys, types); the provider's own
 * validate hook then sees a config whose shape is already right.
 */
#include "provider/check.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "provider/host.h"
#include "util/arena.h"

#define MAX_CONFIG_KEYS 64

static const struct aster_config_key *
find_key(const struct aster_provider *p, const char *name)
{
	const struct aster_config_key *k;

	for (k = p->config_keys; k != NULL && k->name != NULL; k++)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

static const char *
type_name(enum aster_value_type t)
{
	switch (t) {
	case ASTER_VALUE_STRING:
	case ASTER_VALUE_PATH:
		return "a string";
	case ASTER_VALUE_INT:
		return "an integer";
	case ASTER_VALUE_BOOL:
		return "true or false";
	case ASTER_VALUE_MAP:
		return "a mapping";
	case ASTER_VALUE_LIST:
		return "a list";
	}
	return "a value";
}

static int
is_bool_text(const char *s)
{
	static const char *const words[] = {
		"true", "True", "TRUE", "false", "False", "FALSE"};
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(s, words[i]) == 0)
			return 1;
	return 0;
}

/* 1 when v has the type k asks for (and its range, for integers). */
static int
value_fits(const struct aster_config_key *k, const node_t *v)
{
	char *end;
	long long n;

	switch (k->type) {
	case ASTER_VALUE_STRING:
	case ASTER_VALUE_PATH:
		return v->kind == NODE_SCALAR;
	case ASTER_VALUE_MAP:
		return v->kind == NODE_MAP;
	case ASTER_VALUE_LIST:
		return v->kind == NODE_SEQ;
	case ASTER_VALUE_BOOL:
		return v->kind == NODE_SCALAR && is_bool_text(v->value);
	case ASTER_VALUE_INT:
		if (v->kind != NODE_SCALAR || v->len == 0)
			return 0;
		errno = 0;
		n = strtoll(v->value, &end, 10);
		if (*end != '\0' || errno == ERANGE)
			return 0;
		return k->min == k->max || (n >= k->min && n <= k->max);
	}
	return 0;
}

static void
check_value(struct aster_check *chk, const struct aster_config_key *k,
            const node_t *v)
{
	const struct aster_host *host = provider_host();

	if (value_fits(k, v))
		return;
	if (k->type == ASTER_VALUE_INT && k->min != k->max &&
	    v->kind == NODE_SCALAR)
		host->report(chk, v, "config key '%s' of provider '%s' must "
		             "be an integer from %lld to %lld, got '%s'",
		             k->name, chk->provider->name, k->min, k->max,
		             v->value);
	else
		host->report(chk, v, "config key '%s' of provider '%s' must "
		             "be %s, got %s", k->name, chk->provider->name,
		             type_name(k->type), v->kind == NODE_SCALAR ?
		             "a string" : node_kind_name(v));
}

static void
check_unknown(struct aster_check *chk, const node_t *key)
{
	const char *names[MAX_CONFIG_KEYS];
	const struct aster_config_key *k;
	size_t n = 0;
	struct diag *d;

	for (k = chk->provider->config_keys; k != NULL && k->name != NULL &&
	     n < MAX_CONFIG_KEYS; k++)
		names[n++] = k->name;
	d = diag_error(chk->dl, &key->mark, "provider-config",
	               "unknown config key '%s' for provider '%s'",
	               key->value, chk->provider->name);
	diag_suggest(chk->dl, d, key->value, names, n);
	chk->errors++;
}

size_t
provider_check_config(struct diag_list *dl, struct arena *a,
                      const struct aster_provider *p, const node_t *config,
                      const node_t *at)
{
	struct aster_check chk = {dl, a, p, config != NULL ? config : at, 0};
	const struct aster_config_key *k;
	size_t i;

	for (i = 0; config != NULL && i < config->n; i++) {
		k = find_key(p, config->pairs[i].key->value);
		if (k == NULL)
			check_unknown(&chk, config->pairs[i].key);
		else
			check_value(&chk, k, config->pairs[i].value);
	}
	for (k = p->config_keys; k != NULL && k->name != NULL; k++)
		if (k->required && node_key(config, k->name) == NULL)
			provider_host()->report(&chk, NULL, "provider '%s' "
			                        "needs config key '%s'", p->name,
			                        k->name);
	if (chk.errors == 0 && p->validate != NULL)
		p->validate(provider_host(), &chk, config);
	return chk.errors;
}
