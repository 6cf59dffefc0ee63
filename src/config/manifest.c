/*
 * manifest.c - the shapes of product and module manifests (SPEC §3.1-3.2).
 *
 * The tables below are the manifest schema. Rules that span several keys
 * (a handler's exclusive forms, requires entries that are either a name or
 * a mapping) are custom decoders; rules that span several modules belong to
 * the graph checks, not here.
 */
#include "config/manifest.h"

#include <stddef.h>
#include <string.h>

#include "util/arena.h"
#include "util/strmap.h"

#define NO_LIMIT 0, 0
#define INT_POSITIVE 1, 0x7fffffffffffffffLL
#define INT_NONNEG 0, 0x7fffffffffffffffLL
#define KEEPALIVE_RANGE 0, 4096

static const char *const kind_values[] = {"product", "module", NULL};
static const char *const scope_values[] = {
	"public", "user", "admin", "internal", NULL};
static const char *const method_values[] = {
	"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", NULL};
static const char *const match_values[] = {"exact", "prefix", NULL};
static const char *const restart_values[] = {
	"always", "on-failure", "never", NULL};
static const char *const log_format_values[] = {"text", "json", NULL};
static const char *const log_level_values[] = {
	"error", "warn", "info", "debug", NULL};
static const char *const rate_key_values[] = {"credential", "ip", NULL};
static const char *const source_type_values[] = {"directory", "http", NULL};
static const char *const balance_values[] = {
	"round-robin", "least-request", NULL};

#define FIELD(k, kind, flags, type, member) \
	{ k, kind, flags, offsetof(type, member), NULL, 0, 0, NULL, NULL }
#define FIELD_ENUM(k, kind, flags, type, member, vals) \
	{ k, kind, flags, offsetof(type, member), vals, 0, 0, NULL, NULL }
#define FIELD_INT(k, flags, type, member, lim) \
	{ k, FK_INT, flags, offsetof(type, member), NULL, lim, NULL, NULL }
#define FIELD_SHAPE(k, kind, flags, type, member, sh) \
	{ k, kind, flags, offsetof(type, member), NULL, 0, 0, sh, NULL }
#define FIELD_CUSTOM(k, flags, type, member, fn) \
	{ k, FK_CUSTOM, flags, offsetof(type, member), NULL, 0, 0, NULL, fn }
#define FIELD_END { NULL, FK_STRING, 0, 0, NULL, 0, 0, NULL, NULL }
#define SHAPE(name, type, fields) \
	{ name, sizeof(type), offsetof(type, node), fields }

/* --- product --------------------------------------------------------- */

static const struct field tls_fields[] = {
	FIELD("cert", FK_PATH, F_REQUIRED, struct tls_config, cert),
	FIELD("key", FK_PATH, F_REQUIRED, struct tls_config, key),
	FIELD_END,
};
static const struct shape tls_shape = SHAPE("tls", struct tls_config,
                                            tls_fields);

static const struct field listener_fields[] = {
	FIELD("address", FK_STRING, F_REQUIRED, struct listener, address),
	FIELD_ENUM("scopes", FK_ENUMLIST, F_NONEMPTY, struct listener,
	           scope_names, scope_values),
	FIELD_SHAPE("tls", FK_STRUCT, 0, struct listener, tls, &tls_shape),
	FIELD_END,
};
static const struct shape listener_shape = SHAPE("listener",
    struct listener, listener_fields);

static const struct field limits_fields[] = {
	FIELD_INT("max_body_bytes", 0, struct limits, max_body_bytes,
	          INT_NONNEG),
	FIELD_INT("max_header_bytes", 0, struct limits, max_header_bytes,
	          INT_POSITIVE),
	FIELD_INT("request_timeout_ms", 0, struct limits, request_timeout_ms,
	          INT_POSITIVE),
	FIELD_INT("max_connections", 0, struct limits, max_connections,
	          INT_POSITIVE),
	FIELD_END,
};
static const struct shape limits_shape = SHAPE("limits", struct limits,
                                               limits_fields);

static int
decode_shutdown_timeout(struct decoder *d, const node_t *v, void *dst)
{
	struct server *s = (struct server *)((char *)dst -
	    offsetof(struct server, shutdown_timeout_ms));

	if (decode_int(d, v, "server 'shutdown_timeout_ms'", INT_NONNEG,
	               &s->shutdown_timeout_ms) < 0)
		return -1;
	s->has_shutdown_timeout = 1;
	return 0;
}

static const struct field server_fields[] = {
	FIELD_SHAPE("listen", FK_LIST, F_NONEMPTY, struct server, listen,
	            &listener_shape),
	FIELD("control", FK_PATH, 0, struct server, control),
	FIELD_SHAPE("limits", FK_STRUCT, 0, struct server, limits,
	            &limits_shape),
	FIELD_CUSTOM("shutdown_timeout_ms", 0, struct server,
	             shutdown_timeout_ms, decode_shutdown_timeout),
	FIELD_END,
};
static const struct shape server_shape = SHAPE("server", struct server,
                                               server_fields);

static int
decode_log_access(struct decoder *d, const node_t *v, void *dst)
{
	struct log_config *l = (struct log_config *)((char *)dst -
	    offsetof(struct log_config, access));

	if (decode_bool(d, v, "log 'access'", &l->access) < 0)
		return -1;
	l->has_access = 1;
	return 0;
}

static const struct field log_fields[] = {
	FIELD_ENUM("format", FK_ENUM, 0, struct log_config, format,
	           log_format_values),
	FIELD_ENUM("level", FK_ENUM, 0, struct log_config, level,
	           log_level_values),
	FIELD_CUSTOM("access", 0, struct log_config, access,
	             decode_log_access),
	FIELD_END,
};
static const struct shape log_shape = SHAPE("log", struct log_config,
                                            log_fields);

static int
decode_product_modules(struct decoder *d, const node_t *v, void *dst)
{
	struct product *p = (struct product *)((char *)dst -
	    offsetof(struct product, modules));
	const char *what = "product 'modules'";

	p->modules_node = v;
	if (v->kind != NODE_SEQ) {
		diag_error(d->dl, &v->mark, "wrong-type",
		           "%s must be a list, got %s", what, node_kind_name(v));
		return -1;
	}
	p->modules.v = arena_alloc(d->arena, (v->n + 1) * sizeof(char *));
	p->modules.at = arena_alloc(d->arena, (v->n + 1) * sizeof(node_t *));
	for (size_t i = 0; i < v->n; i++) {
		const char *id;

		if (decode_id(d, v->items[i], "product module", &id) < 0)
			continue;
		p->modules.v[p->modules.n] = id;
		p->modules.at[p->modules.n++] = v->items[i];
	}
	return 0;
}

static const struct field product_fields[] = {
	FIELD_ENUM("kind", FK_ENUM, F_REQUIRED, struct product, kind,
	           kind_values),
	FIELD("id", FK_ID, F_REQUIRED, struct product, id),
	FIELD("name", FK_STRING, F_REQUIRED, struct product, name),
	FIELD("description", FK_STRING, 0, struct product, description),
	FIELD("version", FK_VERSION, F_REQUIRED, struct product, version),
	FIELD_CUSTOM("modules", 0, struct product, modules,
	             decode_product_modules),
	FIELD_SHAPE("server", FK_STRUCT, 0, struct product, server,
	            &server_shape),
	FIELD_SHAPE("log", FK_STRUCT, 0, struct product, log, &log_shape),
	FIELD_END,
};
static const struct shape product_shape = SHAPE("product", struct product,
                                                product_fields);

/* --- module: services and routes -------------------------------------- */

static int
decode_service_id(struct decoder *d, const node_t *v, void *dst)
{
	const char **out = dst;

	if (decode_scalar(d, v, "service 'id'", out) < 0)
		return -1;
	if (!is_service_id(*out)) {
		diag_error(d->dl, &v->mark, "invalid-id",
		           "service id '%s' is not valid (lower-case letters, "
		           "digits and '-', starting with a letter, no dots)",
		           *out);
		return -1;
	}
	return 0;
}

static const struct field service_fields[] = {
	FIELD_CUSTOM("id", F_REQUIRED, struct service, id, decode_service_id),
	FIELD("provider", FK_STRING, F_REQUIRED, struct service, provider),
	FIELD("config", FK_MAP, 0, struct service, config),
	FIELD_END,
};
static const struct shape service_shape = SHAPE("service", struct service,
                                                service_fields);

static int
decode_route_id(struct decoder *d, const node_t *v, void *dst)
{
	const char **out = dst;
	const char *bare;

	if (decode_scalar(d, v, "route 'id'", out) < 0)
		return -1;
	bare = strncmp(*out, "route:", 6) == 0 ? *out + 6 : *out;
	if (!is_identifier(bare)) {
		diag_error(d->dl, &v->mark, "invalid-id",
		           "route id '%s' is not valid (an identifier, "
		           "optionally prefixed with 'route:')", *out);
		return -1;
	}
	return 0;
}

static const struct field rate_fields[] = {
	FIELD_INT("requests", F_REQUIRED, struct rate_limit, requests,
	          INT_POSITIVE),
	FIELD_INT("per_ms", F_REQUIRED, struct rate_limit, per_ms,
	          INT_POSITIVE),
	FIELD_INT("burst", 0, struct rate_limit, burst, INT_POSITIVE),
	FIELD_ENUM("key", FK_ENUM, 0, struct rate_limit, key,
	           rate_key_values),
	FIELD_END,
};
static const struct shape rate_shape = SHAPE("rateLimit", struct rate_limit,
                                             rate_fields);

static int
decode_respond_status(struct decoder *d, const node_t *v, void *dst)
{
	struct respond_handler *r = (struct respond_handler *)((char *)dst -
	    offsetof(struct respond_handler, status));

	if (decode_int(d, v, "respond 'status'", 200, 599, &r->status) < 0)
		return -1;
	r->has_status = 1;
	return 0;
}

static const struct field respond_fields[] = {
	FIELD_CUSTOM("status", 0, struct respond_handler, status,
	             decode_respond_status),
	FIELD("body", FK_NODE, 0, struct respond_handler, body),
	FIELD("content_type", FK_STRING, 0, struct respond_handler,
	      content_type),
	FIELD_END,
};
static const struct shape respond_shape = SHAPE("respond handler",
    struct respond_handler, respond_fields);

static const struct field static_fields[] = {
	FIELD("root", FK_PATH, F_REQUIRED, struct static_handler, root),
	FIELD("index", FK_STRING, 0, struct static_handler, index),
	FIELD_END,
};
static const struct shape static_shape = SHAPE("static handler",
    struct static_handler, static_fields);

static int
decode_proxy_timeout(struct decoder *d, const node_t *v, void *dst)
{
	struct proxy_handler *p = (struct proxy_handler *)((char *)dst -
	    offsetof(struct proxy_handler, timeout_ms));

	if (decode_int(d, v, "proxy 'timeout_ms'", INT_POSITIVE,
	               &p->timeout_ms) < 0)
		return -1;
	p->has_timeout = 1;
	return 0;
}

static int
decode_proxy_retries(struct decoder *d, const node_t *v, void *dst)
{
	struct proxy_handler *p = (struct proxy_handler *)((char *)dst -
	    offsetof(struct proxy_handler, retries));

	if (decode_int(d, v, "proxy 'retries'", 0, 10, &p->retries) < 0)
		return -1;
	p->has_retries = 1;
	return 0;
}

static int
decode_proxy_try_timeout(struct decoder *d, const node_t *v, void *dst)
{
	struct proxy_handler *p = (struct proxy_handler *)((char *)dst -
	    offsetof(struct proxy_handler, try_timeout_ms));

	if (decode_int(d, v, "proxy 'try_timeout_ms'", INT_POSITIVE,
	               &p->try_timeout_ms) < 0)
		return -1;
	p->has_try_timeout = 1;
	return 0;
}

static const struct field proxy_fields[] = {
	FIELD("upstream", FK_STRING, F_REQUIRED, struct proxy_handler,
	      upstream),
	FIELD("strip_prefix", FK_BOOL, 0, struct proxy_handler, strip_prefix),
	FIELD_CUSTOM("timeout_ms", 0, struct proxy_handler, timeout_ms,
	             decode_proxy_timeout),
	FIELD_CUSTOM("try_timeout_ms", 0, struct proxy_handler,
	             try_timeout_ms, decode_proxy_try_timeout),
	FIELD_CUSTOM("retries", 0, struct proxy_handler, retries,
	             decode_proxy_retries),
	FIELD("preserve_host", FK_BOOL, 0, struct proxy_handler,
	      preserve_host),
	FIELD("pass_authorization", FK_BOOL, 0, struct proxy_handler,
	      pass_authorization),
	FIELD_END,
};
static const struct shape proxy_shape = SHAPE("proxy handler",
    struct proxy_handler, proxy_fields);

static int
decode_runtime_handler(struct decoder *d, const node_t *v, void *dst)
{
	const node_t **out = dst;

	if (v->kind != NODE_MAP && !node_is_null(v)) {
		diag_error(d->dl, &v->mark, "wrong-type",
		           "handler 'runtime' must be a mapping, got %s",
		           node_kind_name(v));
		return -1;
	}
	if (v->kind == NODE_MAP && v->n > 0) {
		diag_error(d->dl, &v->pairs[0].key->mark, "unknown-key",
		           "unknown key '%s' in runtime handler (it takes "
		           "no options)", v->pairs[0].key->value);
		return -1;
	}
	*out = v;
	return 0;
}

static const struct field handler_fields[] = {
	FIELD("service", FK_STRING, 0, struct handler, service),
	FIELD("operation", FK_STRING, 0, struct handler, operation),
	FIELD_SHAPE("respond", FK_STRUCT, 0, struct handler, respond,
	            &respond_shape),
	FIELD_SHAPE("static", FK_STRUCT, 0, struct handler, statik,
	            &static_shape),
	FIELD_SHAPE("proxy", FK_STRUCT, 0, struct handler, proxy,
	            &proxy_shape),
	FIELD_CUSTOM("runtime", 0, struct handler, runtime,
	             decode_runtime_handler),
	FIELD_END,
};
static const struct shape handler_shape = SHAPE("handler", struct handler,
                                                handler_fields);

/*
 * A handler is exactly one form: {service, operation}, respond, static,
 * proxy or runtime. The generic decoder has checked each key; here we
 * check the combination.
 */
static int
decode_handler(struct decoder *d, const node_t *v, void *dst)
{
	static const char *const forms[] = {
		"respond", "static", "proxy", "runtime"};
	struct handler **out = dst, *h;
	size_t errors = 0, nforms = 0, i;
	int has_service, has_operation;

	h = decode_new(d, v, &handler_shape, &errors);
	*out = h;
	if (v->kind != NODE_MAP)
		return -1;
	has_service = node_key(v, "service") != NULL;
	has_operation = node_key(v, "operation") != NULL;
	for (i = 0; i < 4; i++)
		nforms += node_key(v, forms[i]) != NULL;
	if (has_service || has_operation)
		nforms++;
	if (nforms != 1) {
		diag_error(d->dl, &v->mark, "invalid-value",
		           nforms == 0 ?
		           "handler needs one of {service, operation}, "
		           "respond, static, proxy or runtime" :
		           "handler must be exactly one of {service, "
		           "operation}, respond, static, proxy or runtime");
		return -1;
	}
	if (has_service != has_operation) {
		diag_error(d->dl, &v->mark, "missing-key",
		           "handler is missing required key '%s'",
		           has_service ? "operation" : "service");
		return -1;
	}
	h->kind = has_service ? HANDLER_OPERATION :
	          h->respond != NULL ? HANDLER_RESPOND :
	          h->statik != NULL ? HANDLER_STATIC :
	          h->proxy != NULL ? HANDLER_PROXY : HANDLER_RUNTIME;
	return errors ? -1 : 0;
}

static const struct field request_fields[] = {
	FIELD("schema", FK_NODE, F_REQUIRED, struct route_body,
	      schema),
	FIELD("description", FK_STRING, 0, struct route_body,
	      description),
	FIELD_END,
};
static const struct shape request_shape = SHAPE("request",
    struct route_body, request_fields);

static const struct field response_fields[] = {
	FIELD("description", FK_STRING, F_REQUIRED,
	      struct route_body, description),
	FIELD("schema", FK_NODE, 0, struct route_body, schema),
	FIELD_END,
};
static const struct shape response_shape = SHAPE("response",
    struct route_body, response_fields);

static int
decode_request(struct decoder *d, const node_t *v, void *dst)
{
	struct route_body **out = dst;
	size_t errors = 0;

	*out = decode_new(d, v, &request_shape, &errors);
	return errors ? -1 : 0;
}

/* responses: a mapping from status code ("200", "4XX", "default") to
 * {description, schema}. */
static int
decode_responses(struct decoder *d, const node_t *v, void *dst)
{
	const node_t **out = dst;
	size_t i, errors = 0;

	*out = v;
	if (v->kind != NODE_MAP) {
		diag_error(d->dl, &v->mark, "wrong-type",
		           "route 'responses' must be a mapping, got %s",
		           node_kind_name(v));
		return -1;
	}
	for (i = 0; i < v->n; i++) {
		const char *code = v->pairs[i].key->value;
		int valid = strcmp(code, "default") == 0 ||
		    (strlen(code) == 3 && code[0] >= '1' && code[0] <= '5' &&
		     ((code[1] >= '0' && code[1] <= '9' && code[2] >= '0' &&
		       code[2] <= '9') ||
		      (code[1] == 'X' && code[2] == 'X')));

		if (!valid) {
			diag_error(d->dl, &v->pairs[i].key->mark,
			           "invalid-value",
			           "response key '%s' is not an HTTP status "
			           "code (100-599), a range like '4XX', or "
			           "'default'", code);
			errors++;
		}
		decode_new(d, v->pairs[i].value, &response_shape, &errors);
	}
	return errors ? -1 : 0;
}

static const struct field route_fields[] = {
	FIELD_CUSTOM("id", F_REQUIRED, struct route, id, decode_route_id),
	FIELD_ENUM("scope", FK_ENUM, F_REQUIRED, struct route, scope_name,
	           scope_values),
	FIELD_ENUM("methods", FK_ENUMLIST, F_REQUIRED | F_NONEMPTY,
	           struct route, methods, method_values),
	FIELD("mountPath", FK_STRING, F_REQUIRED, struct route, mount_path),
	FIELD_ENUM("match", FK_ENUM, 0, struct route, match, match_values),
	FIELD_CUSTOM("handler", F_REQUIRED, struct route, handler,
	             decode_handler),
	FIELD("summary", FK_STRING, 0, struct route, summary),
	FIELD("description", FK_STRING, 0, struct route, description),
	FIELD_CUSTOM("request", 0, struct route, request, decode_request),
	FIELD_CUSTOM("responses", 0, struct route, responses,
	             decode_responses),
	FIELD_SHAPE("rateLimit", FK_STRUCT, 0, struct route, rate_limit,
	            &rate_shape),
	FIELD_END,
};
static const struct shape route_shape = SHAPE("route", struct route,
                                              route_fields);

/* --- module: upstreams (SPEC §3.2, §7.7) ------------------------------ */

/*
 * The shapes only: the URLs, the shared scheme and the defaults are the
 * graph's (graph/upstreams.c), which also builds the upstreams a proxy
 * names inline.
 */

/* targets: a nonempty list of URLs, each kept with its item. */
static int
decode_targets(struct decoder *d, const node_t *v, void *dst)
{
	struct objlist *out = dst;
	size_t i;
	int rc = 0;

	if (v->kind != NODE_SEQ) {
		diag_error(d->dl, &v->mark, "wrong-type",
		           "upstream 'targets' must be a list, got %s",
		           node_kind_name(v));
		return -1;
	}
	if (v->n == 0) {
		diag_error(d->dl, &v->mark, "invalid-value",
		           "upstream 'targets' must not be empty");
		return -1;
	}
	out->v = arena_alloc(d->arena, v->n * sizeof(*out->v));
	for (i = 0; i < v->n; i++) {
		struct upstream_target *t;
		const char *url;

		if (decode_scalar(d, v->items[i], "upstream target", &url) < 0) {
			rc = -1;
			continue;
		}
		t = arena_alloc(d->arena, sizeof(*t));
		t->node = v->items[i];
		t->url = url;
		out->v[out->n++] = t;
	}
	return rc;
}

static const struct field health_fields[] = {
	FIELD("path", FK_STRING, F_REQUIRED, struct upstream_health, path),
	FIELD_INT("interval_ms", 0, struct upstream_health, interval_ms,
	          INT_POSITIVE),
	FIELD_INT("timeout_ms", 0, struct upstream_health, timeout_ms,
	          INT_POSITIVE),
	FIELD_INT("healthy", 0, struct upstream_health, healthy,
	          INT_POSITIVE),
	FIELD_INT("unhealthy", 0, struct upstream_health, unhealthy,
	          INT_POSITIVE),
	FIELD_END,
};
static const struct shape health_shape = SHAPE("upstream health",
    struct upstream_health, health_fields);

static const struct field eject_fields[] = {
	FIELD_INT("consecutive_failures", 0, struct upstream_eject,
	          consecutive_failures, INT_POSITIVE),
	FIELD_INT("base_ms", 0, struct upstream_eject, base_ms, INT_POSITIVE),
	FIELD_END,
};
static const struct shape eject_shape = SHAPE("upstream eject",
    struct upstream_eject, eject_fields);

static int
decode_tls_verify(struct decoder *d, const node_t *v, void *dst)
{
	struct upstream_tls *t = (struct upstream_tls *)((char *)dst -
	    offsetof(struct upstream_tls, verify));

	if (decode_bool(d, v, "upstream tls 'verify'", &t->verify) < 0)
		return -1;
	t->has_verify = 1;
	return 0;
}

static const struct field upstream_tls_fields[] = {
	FIELD("ca", FK_PATH, 0, struct upstream_tls, ca),
	FIELD("server_name", FK_STRING, 0, struct upstream_tls, server_name),
	FIELD_CUSTOM("verify", 0, struct upstream_tls, verify,
	             decode_tls_verify),
	FIELD_END,
};
static const struct shape upstream_tls_shape = SHAPE("upstream tls",
    struct upstream_tls, upstream_tls_fields);

static const struct field upstream_fields[] = {
	FIELD_CUSTOM("targets", F_REQUIRED, struct upstream_conf, targets,
	             decode_targets),
	FIELD_ENUM("balance", FK_ENUM, 0, struct upstream_conf, balance,
	           balance_values),
	FIELD_INT("keepalive", 0, struct upstream_conf, keepalive,
	          KEEPALIVE_RANGE),
	FIELD_INT("connect_timeout_ms", 0, struct upstream_conf,
	          connect_timeout_ms, INT_POSITIVE),
	FIELD_SHAPE("health", FK_STRUCT, 0, struct upstream_conf, health,
	            &health_shape),
	FIELD_SHAPE("eject", FK_STRUCT, 0, struct upstream_conf, eject,
	            &eject_shape),
	FIELD_SHAPE("tls", FK_STRUCT, 0, struct upstream_conf, tls,
	            &upstream_tls_shape),
	FIELD_END,
};
static const struct shape upstream_shape = SHAPE("upstream",
    struct upstream_conf, upstream_fields);

/* upstreams: a mapping from name to entry, kept in file order. The
 * names are checked by the graph, which reports them with the rest. */
static int
decode_upstreams(struct decoder *d, const node_t *v, void *dst)
{
	struct module *m = (struct module *)((char *)dst -
	    offsetof(struct module, upstreams));
	size_t i, errors = 0;

	m->upstreams_node = v;
	if (v->kind != NODE_MAP) {
		diag_error(d->dl, &v->mark, "wrong-type",
		           "module 'upstreams' must be a mapping, got %s",
		           node_kind_name(v));
		return -1;
	}
	m->upstreams.v = arena_alloc(d->arena,
	                             (v->n + 1) * sizeof(*m->upstreams.v));
	for (i = 0; i < v->n; i++) {
		struct upstream_conf *u = decode_new(d, v->pairs[i].value,
		                                     &upstream_shape, &errors);

		u->name = v->pairs[i].key->value;
		m->upstreams.v[m->upstreams.n++] = u;
	}
	return errors ? -1 : 0;
}

/* --- module: the rest ------------------------------------------------- */

/* requires entries: "id" or {id, version}. */
static const struct field requirement_fields[] = {
	FIELD("id", FK_ID, F_REQUIRED, struct requirement, id),
	FIELD("version", FK_STRING, 0, struct requirement, range_text),
	FIELD_END,
};
static const struct shape requirement_shape = SHAPE("requires entry",
    struct requirement, requirement_fields);

static void
decode_requirement(struct decoder *d, const node_t *item,
                   struct requirement *r)
{
	if (item->kind == NODE_SCALAR) {
		r->node = item;
		r->id_node = item;
		if (decode_id(d, item, "required module", &r->id) < 0)
			r->id = NULL;
		return;
	}
	if (decode_map(d, item, &requirement_shape, r) > 0 && r->id == NULL)
		return;
	r->id_node = node_get(item, "id");
	r->range_node = node_get(item, "version");
	if (r->range_text != NULL) {
		const char *err = NULL;

		r->range = semver_range_parse(d->arena, r->range_text, &err);
		if (r->range == NULL)
			diag_error(d->dl, &r->range_node->mark,
			           "invalid-value",
			           "version range '%s' is not valid: %s",
			           r->range_text, err ? err : "malformed");
	}
}

static int
decode_requires(struct decoder *d, const node_t *v, void *dst)
{
	struct requirements *out = dst;
	size_t i;

	if (v->kind != NODE_SEQ) {
		diag_error(d->dl, &v->mark, "wrong-type",
		           "module 'requires' must be a list, got %s",
		           node_kind_name(v));
		return -1;
	}
	out->v = arena_alloc(d->arena, (v->n + 1) * sizeof(*out->v));
	for (i = 0; i < v->n; i++) {
		struct requirement *r = &out->v[out->n];

		decode_requirement(d, v->items[i], r);
		if (r->id != NULL)
			out->n++;
		else
			memset(r, 0, sizeof(*r));
	}
	return 0;
}

static int
decode_schemas(struct decoder *d, const node_t *v, void *dst)
{
	const node_t **out = dst;
	size_t i;
	int rc = 0;

	*out = v;
	if (v->kind != NODE_MAP) {
		diag_error(d->dl, &v->mark, "wrong-type",
		           "module 'schemas' must be a mapping, got %s",
		           node_kind_name(v));
		*out = NULL;
		return -1;
	}
	for (i = 0; i < v->n; i++) {
		if (!is_schema_name(v->pairs[i].key->value)) {
			diag_error(d->dl, &v->pairs[i].key->mark, "invalid-id",
			           "schema name '%s' is not valid (a letter, "
			           "then letters, digits or '_')",
			           v->pairs[i].key->value);
			rc = -1;
		}
	}
	return rc;
}

/* The variables of the runtime socket contract (SPEC §10). */
static int
set_by_asterd(const char *name)
{
	static const char *const names[] = {
		"ASTER_RUNTIME_SOCKET", "ASTER_GATEWAY_SOCKET",
		"ASTER_MODULE_ID", "ASTER_PRODUCT_ID", "ASTER_RUNTIME_DIR",
		"NOTIFY_SOCKET",
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return 1;
	return 0;
}

static int
decode_env(struct decoder *d, const node_t *v, void *dst)
{
	const node_t **out = dst;
	size_t i;
	int rc = 0;

	*out = v;
	if (v->kind != NODE_MAP) {
		diag_error(d->dl, &v->mark, "wrong-type",
		           "runtime 'env' must be a mapping, got %s",
		           node_kind_name(v));
		return -1;
	}
	for (i = 0; i < v->n; i++) {
		const node_t *key = v->pairs[i].key;
		const char *s;

		if (decode_scalar(d, v->pairs[i].value, "runtime 'env' value",
		                  &s) < 0)
			rc = -1;
		if (set_by_asterd(key->value)) {
			diag_error(d->dl, &key->mark, "invalid-value",
			           "runtime 'env' cannot set %s: asterd sets it "
			           "for the runtime", key->value);
			rc = -1;
		}
	}
	return rc;
}

static const struct field runtime_fields[] = {
	FIELD("command", FK_STRLIST, F_REQUIRED | F_NONEMPTY, struct runtime_config,
	      command),
	FIELD_CUSTOM("env", 0, struct runtime_config, env, decode_env),
	FIELD_ENUM("restart", FK_ENUM, 0, struct runtime_config, restart,
	           restart_values),
	FIELD_INT("ready_timeout_ms", 0, struct runtime_config, ready_timeout_ms,
	          INT_POSITIVE),
	FIELD_INT("stop_timeout_ms", 0, struct runtime_config, stop_timeout_ms,
	          INT_POSITIVE),
	FIELD_END,
};
static const struct shape runtime_shape = SHAPE("runtime", struct runtime_config,
                                                runtime_fields);

static const struct field migration_fields[] = {
	FIELD("id", FK_STRING, F_REQUIRED, struct migration, id),
	FIELD("sql", FK_STRING, F_REQUIRED, struct migration, sql),
	FIELD_END,
};
static const struct shape migration_shape = SHAPE("migration",
    struct migration, migration_fields);

static const struct field database_fields[] = {
	FIELD_SHAPE("migrations", FK_LIST, 0, struct database, migrations,
	            &migration_shape),
	FIELD_END,
};
static const struct shape database_shape = SHAPE("database",
    struct database, database_fields);

static const struct field source_fields[] = {
	FIELD("id", FK_ID, F_REQUIRED, struct market_source, id),
	FIELD_ENUM("type", FK_ENUM, F_REQUIRED, struct market_source, type,
	           source_type_values),
	FIELD("location", FK_STRING, F_REQUIRED, struct market_source,
	      location),
	FIELD("publicKey", FK_STRING, 0, struct market_source, public_key),
	FIELD_END,
};
static const struct shape source_shape = SHAPE("marketplace source",
    struct market_source, source_fields);

static const struct field marketplace_fields[] = {
	FIELD_SHAPE("sources", FK_LIST, 0, struct marketplace, sources,
	            &source_shape),
	FIELD_END,
};
static const struct shape marketplace_shape = SHAPE("marketplace",
    struct marketplace, marketplace_fields);

static const struct field analytics_fields[] = {
	FIELD("events", FK_IDLIST, 0, struct analytics, events),
	FIELD_END,
};
static const struct shape analytics_shape = SHAPE("analytics",
    struct analytics, analytics_fields);

static const struct field module_fields[] = {
	FIELD_ENUM("kind", FK_ENUM, F_REQUIRED, struct module, kind,
	           kind_values),
	FIELD("id", FK_ID, F_REQUIRED, struct module, id),
	FIELD("displayName", FK_STRING, F_REQUIRED, struct module,
	      display_name),
	FIELD("version", FK_VERSION, F_REQUIRED, struct module, version),
	FIELD("description", FK_STRING, 0, struct module, description),
	FIELD_CUSTOM("requires", 0, struct module, requires, decode_requires),
	FIELD("after", FK_IDLIST, 0, struct module, after),
	FIELD("provides", FK_IDLIST, 0, struct module, provides),
	FIELD("needs", FK_IDLIST, 0, struct module, needs),
	FIELD_SHAPE("services", FK_LIST, 0, struct module, services,
	            &service_shape),
	FIELD_SHAPE("routes", FK_LIST, 0, struct module, routes,
	            &route_shape),
	FIELD_CUSTOM("schemas", 0, struct module, schemas, decode_schemas),
	FIELD_SHAPE("runtime", FK_STRUCT, 0, struct module, runtime,
	            &runtime_shape),
	FIELD_SHAPE("database", FK_STRUCT, 0, struct module, database,
	            &database_shape),
	FIELD_SHAPE("marketplace", FK_STRUCT, 0, struct module, marketplace,
	            &marketplace_shape),
	FIELD_SHAPE("analytics", FK_STRUCT, 0, struct module, analytics,
	            &analytics_shape),
	FIELD_SHAPE("rateLimit", FK_STRUCT, 0, struct module, rate_limit,
	            &rate_shape),
	FIELD_CUSTOM("upstreams", 0, struct module, upstreams,
	             decode_upstreams),
	FIELD_END,
};
static const struct shape module_shape = SHAPE("module", struct module,
                                               module_fields);

/* --- documents -------------------------------------------------------- */

static void
add_module(struct config *cfg, struct module *m)
{
	size_t i;

	m->index = cfg->nmodules;
	cfg->modules = arena_grow(cfg->arena, cfg->modules,
	                          sizeof(*cfg->modules), cfg->nmodules,
	                          &cfg->modules_cap, cfg->nmodules + 1);
	cfg->modules[cfg->nmodules++] = m;
	for (i = 0; i < m->services.n; i++)
		((struct service *)m->services.v[i])->module = m;
	for (i = 0; i < m->routes.n; i++)
		((struct route *)m->routes.v[i])->module = m;
	for (i = 0; i < m->upstreams.n; i++)
		((struct upstream_conf *)m->upstreams.v[i])->module = m;
}

static void
add_product(struct config *cfg, struct decoder *d, struct product *p)
{
	struct diag *dg;

	if (cfg->product == NULL) {
		cfg->product = p;
		return;
	}
	dg = diag_error(d->dl, &p->node->mark, "multiple-products",
	                "a second product '%s' is defined; a config dir "
	                "holds exactly one product",
	                p->id != NULL ? p->id : "?");
	diag_note(d->dl, dg, &cfg->product->node->mark,
	          "the first product is defined here");
}

void
manifest_decode_document(struct config *cfg, struct decoder *d,
                         const node_t *doc)
{
	const node_t *kind;
	const char *k;
	size_t errors = 0;

	if (doc->kind != NODE_MAP) {
		diag_error(d->dl, &doc->mark, "wrong-type",
		           "a manifest document must be a mapping with "
		           "'kind: product' or 'kind: module', got %s",
		           node_kind_name(doc));
		return;
	}
	kind = node_get(doc, "kind");
	if (kind == NULL) {
		diag_error(d->dl, &doc->mark, "missing-key",
		           "document is missing required key 'kind' "
		           "(product or module)");
		return;
	}
	if (decode_enum(d, kind, "'kind'", kind_values, &k) < 0)
		return;
	if (strcmp(k, "product") == 0)
		add_product(cfg, d, decode_new(d, doc, &product_shape,
		                               &errors));
	else
		add_module(cfg, decode_new(d, doc, &module_shape, &errors));
}
