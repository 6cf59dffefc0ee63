/*
 * json.c - a JSON answer, shared by the handlers (and linked by the
 * control socket's users of keys.c without the rest of the gateway).
 */
#include "handlers/handlers.h"

#include <json-c/json.h>

#include "http/server.h"

void
handler_send_json(struct http_exchange *ex, int status, json_object *o)
{
	size_t len;
	const char *text = json_object_to_json_string_length(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

	http_add_header(ex, "Content-Type", "application/json");
	http_respond(ex, status, text, len);
	json_object_put(o);
}
