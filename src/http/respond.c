/*
 * respond.c - handler: {respond: {status, body, content_type}}: an answer
 * written in the manifest, served by the HTTP layer like static files.
 *
 * A scalar body goes out as written; a mapping or list as JSON, its
 * scalars typed as yaml_to_json() types them (`count: 3` a number,
 * `count: "3"` a string).
 */
#include "http/respond.h"

#include <json-c/json.h>

#include "config/manifest.h"
#include "config/node.h"
#include "config/yaml_json.h"
#include "http/server.h"

/* 1xx, 204 and 304 answers carry no body (RFC 9110 §6.4.1). */
static int
bodiless(int status)
{
	return status < 200 || status == 204 || status == 304;
}

/* See respond.h. */
void
http_serve_respond(struct http_exchange *ex, const struct respond_handler *h)
{
	int status = h->has_status ? (int)h->status : 200;
	const node_t *body = h->body;
	json_object *json;
	const char *text;
	size_t len;

	if (body == NULL || node_is_null(body) || bodiless(status)) {
		if (h->content_type != NULL && !bodiless(status))
			http_add_header(ex, "Content-Type", h->content_type);
		http_respond(ex, status, NULL, 0);
		return;
	}
	if (body->kind == NODE_SCALAR) {
		http_add_header(ex, "Content-Type", h->content_type != NULL ?
		                h->content_type : "text/plain; charset=utf-8");
		http_respond(ex, status, body->value, body->len);
		return;
	}
	json = yaml_to_json(body, 0);
	text = json_object_to_json_string_length(json, JSON_C_TO_STRING_PLAIN |
	                                         JSON_C_TO_STRING_NOSLASHESCAPE,
	                                         &len);
	http_add_header(ex, "Content-Type", h->content_type != NULL ?
	                h->content_type : "application/json");
	http_respond(ex, status, text, len);
	json_object_put(json);
}
