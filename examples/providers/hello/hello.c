/*
 * hello.c - an example provider: answers a greeting taken from its
 * configuration, and echoes a JSON body back.
 *
 * It is built outside asterd's source tree, against the installed
 * headers (`pkg-config --cflags aster`), as any provider of another
 * project is; README.md beside it walks through it. Its service takes
 * one config key, `greeting` (required, one line of 1 to 200 bytes), and
 * serves two operations:
 *
 *   greet  GET:  {"greeting": "<the greeting>", "requestId": "<id>"}
 *   echo   POST: the request body, as it came, as application/json.
 *
 * echo trusts its body to be JSON because the routes to it declare a
 * `request.schema`: asterd has answered 415, 400 or 422 for any other
 * body before echo is called (SPEC §14).
 */
#include <aster/http.h>
#include <aster/provider.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GREETING_MAX 200

/* One started service. */
struct hello {
	char *greeting_json;    /* the greeting, escaped for a JSON string */
};

static const struct aster_config_key hello_keys[] = {
	{"greeting", ASTER_VALUE_STRING, 1, 0, 0,
	 "the text `greet` answers with (one line, 1 to 200 bytes)"},
	{NULL, 0, 0, 0, 0, NULL},
};

/*
 * s as the inside of a JSON string (RFC 8259 §7): quotation mark,
 * backslash and control characters escaped, every other byte as it is
 * (the greeting comes from YAML, which is UTF-8, and request ids are
 * visible ASCII). malloc'ed; NULL when out of memory.
 */
static char *
json_escape(const char *s)
{
	size_t len = strlen(s);
	char *out, *o;

	if (len > (SIZE_MAX - 1) / 6)
		return NULL;
	out = malloc(len * 6 + 1);      /* at worst \u00XX for every byte */
	if (out == NULL)
		return NULL;
	for (o = out; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			o += sprintf(o, "\\u%04x", c);
		} else {
			*o++ = (char)c;
		}
	}
	*o = '\0';
	return out;
}

/* What the key table cannot say: the greeting's length, and that it is
 * one line of text. Reported at the greeting's place in the YAML. */
static int
hello_validate(const struct aster_host *host, struct aster_check *chk,
               const aster_node *config)
{
	const aster_node *g = config != NULL ?
	    host->map_get(config, "greeting") : NULL;
	const char *s = g != NULL ? host->scalar(g) : NULL;
	size_t len, i;

	if (s == NULL)
		return 0;       /* the key table has reported it */
	len = strlen(s);
	if (len == 0 || len > GREETING_MAX) {
		host->report(chk, g, "hello: 'greeting' is %zu bytes long; "
		             "it must have 1 to %d", len, GREETING_MAX);
		return 1;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f) {
			host->report(chk, g, "hello: 'greeting' holds a "
			             "control character (byte %zu): it must "
			             "be one line of text", i + 1);
			return 1;
		}
	}
	return 0;
}

/* validate() has run at check time, so the greeting is there and good. */
static int
hello_start(const struct aster_host *host, struct aster_service *svc,
            const aster_node *config, void **state, const char **cause)
{
	const char *greeting = host->scalar(host->map_get(config, "greeting"));
	struct hello *h;

	(void)svc;
	h = calloc(1, sizeof(*h));
	if (h != NULL)
		h->greeting_json = json_escape(greeting);
	if (h == NULL || h->greeting_json == NULL) {
		free(h);
		*cause = "hello: out of memory";
		return ASTER_FAILED;
	}
	*state = h;
	return ASTER_STARTED;
}

static void
hello_stop(void *state)
{
	struct hello *h = state;

	free(h->greeting_json);
	free(h);
}

/* GET: the greeting and the request's id, as a JSON object. Returning
 * -1 without an answer makes asterd answer 500 for us. */
static int
hello_greet(void *state, struct aster_request *req)
{
	static const char shape[] = "{\"greeting\":\"%s\",\"requestId\":\"%s\"}";
	struct hello *h = state;
	char *id = json_escape(aster_request_id(req));
	char *body = NULL;
	size_t size;

	if (id != NULL) {
		size = sizeof(shape) + strlen(h->greeting_json) + strlen(id);
		body = malloc(size);
	}
	if (body == NULL) {
		free(id);
		return -1;
	}
	snprintf(body, size, shape, h->greeting_json, id);
	aster_respond_json(req, 200, body);     /* copies the body */
	free(body);
	free(id);
	return 0;
}

/* POST: the body back, as it came. A route without a request.schema
 * could bring no body at all: that is the client's mistake. */
static int
hello_echo(void *state, struct aster_request *req)
{
	size_t len;
	const void *body = aster_body(req, &len);

	(void)state;
	if (body == NULL || len == 0) {
		aster_problem(req, 400, "bad-request",
		              "hello: echo needs a JSON body", NULL, 0);
		return 0;
	}
	aster_respond(req, 200, "application/json", body, len);
	return 0;
}

/* greet's default 200 response schema, for routes that give none. */
#define GREETING_SCHEMA \
	"{\"type\":\"object\",\"required\":[\"greeting\",\"requestId\"]," \
	"\"properties\":{\"greeting\":{\"type\":\"string\"}," \
	"\"requestId\":{\"type\":\"string\"}}}"

static const struct aster_operation hello_operations[] = {
	{"greet", "GET", "The configured greeting", GREETING_SCHEMA,
	 hello_greet},
	{"echo", "POST", "The request body, echoed", NULL, hello_echo},
	{NULL, NULL, NULL, NULL, NULL},
};

ASTER_PROVIDER_DEFINE = {
	.abi = ASTER_PROVIDER_ABI,
	.name = "hello",                /* the file is hello.so */
	.description = "Example: a configured greeting, and a JSON echo",
	.config_keys = hello_keys,
	.validate = hello_validate,
	.operations = hello_operations,
	.start = hello_start,
	.stop = hello_stop,
};
