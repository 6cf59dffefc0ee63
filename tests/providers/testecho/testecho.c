/*
 * testecho.c - a test-only provider exercising every part of the ABI.
 *
 * Its key table has one key of each type the core checks generically, its
 * validate hook a rule a table cannot express (the greeting's length), and
 * its start/stop hooks own a little state, so the corpus, the unit tests
 * and the sanitizer builds see a provider that does all a real one does.
 */
#include <aster/http.h>
#include <aster/provider.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GREETING_MAX 64

struct echo_state {
	char *greeting;
	char *body;                 /* {"greeting":"..."}, made at start */
	unsigned long requests;
};

static const struct aster_config_key echo_keys[] = {
	{"greeting", ASTER_VALUE_STRING, 1, 0, 0,
	 "text the echo operation answers with (1 to 64 bytes)"},
	{"port", ASTER_VALUE_INT, 0, 1, 65535, "a port number"},
	{"verbose", ASTER_VALUE_BOOL, 0, 0, 0, "log every request"},
	{"root", ASTER_VALUE_PATH, 0, 0, 0, "a directory"},
	{"tags", ASTER_VALUE_LIST, 0, 0, 0, "free-form labels"},
	{NULL, 0, 0, 0, 0, NULL},
};

/* The key table has made sure greeting is a scalar when present. */
static int
echo_validate(const struct aster_host *host, struct aster_check *chk,
              const aster_node *config)
{
	const aster_node *g = host->map_get(config, "greeting");
	const char *s = g != NULL ? host->scalar(g) : NULL;
	size_t len;

	if (s == NULL)
		return 0;
	len = strlen(s);
	if (len == 0) {
		host->report(chk, g, "testecho: 'greeting' must not be empty");
		return 1;
	}
	if (len > GREETING_MAX) {
		host->report(chk, g, "testecho: 'greeting' is %zu bytes long, "
		             "at most %d are allowed", len, GREETING_MAX);
		return 1;
	}
	return 0;
}

/* {"greeting":"TEXT"}, quotes and backslashes escaped, control
 * characters made spaces. */
static char *
greeting_json(const char *g)
{
	size_t n = strlen(g), i, o = 0;
	char *out = malloc(2 * n + 16);

	if (out == NULL)
		return NULL;
	o += (size_t)sprintf(out, "{\"greeting\":\"");
	for (i = 0; i < n; i++) {
		if (g[i] == '"' || g[i] == '\\')
			out[o++] = '\\';
		out[o++] = (unsigned char)g[i] < 0x20 ? ' ' : g[i];
	}
	strcpy(out + o, "\"}");
	return out;
}

static int
echo_start(const struct aster_host *host, struct aster_service *svc,
           const aster_node *config, void **state, const char **cause)
{
	const aster_node *g = host->map_get(config, "greeting");
	const char *s = g != NULL ? host->scalar(g) : NULL;
	struct echo_state *st;

	(void)svc;
	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		*cause = "testecho: out of memory";
		return ASTER_FAILED;
	}
	st->greeting = strdup(s != NULL ? s : "hello");
	st->body = st->greeting != NULL ? greeting_json(st->greeting) : NULL;
	if (st->body == NULL) {
		free(st->greeting);
		free(st);
		*cause = "testecho: out of memory";
		return ASTER_FAILED;
	}
	*state = st;
	return ASTER_STARTED;
}

static void
echo_stop(void *state)
{
	struct echo_state *st = state;

	if (st == NULL)
		return;
	free(st->greeting);
	free(st->body);
	free(st);
}

/* GET: the greeting, as {"greeting": ...}; POST: the body, echoed. */
static int
echo_handle(void *state, struct aster_request *r)
{
	struct echo_state *st = state;
	const void *body;
	size_t len;

	st->requests++;
	if (strcmp(aster_method(r), "POST") == 0) {
		body = aster_body(r, &len);
		aster_respond(r, 200, "application/json", body, len);
		return 0;
	}
	aster_respond(r, 200, "application/json", st->body, strlen(st->body));
	return 0;
}

static const struct aster_operation echo_operations[] = {
	{"echo", "GET,POST", "Answers with the configured greeting (GET) or "
	 "the body (POST)",
	 "{\"type\":\"object\",\"properties\":{\"greeting\":"
	 "{\"type\":\"string\"}}}", echo_handle},
	{"ping", "GET", "Answers that the service is up", NULL, NULL},
	{NULL, NULL, NULL, NULL, NULL},
};

ASTER_PROVIDER_DEFINE = {
	.abi = ASTER_PROVIDER_ABI,
	.name = "testecho",
	.description = "Test provider: echoes a configured greeting",
	.config_keys = echo_keys,
	.validate = echo_validate,
	.operations = echo_operations,
	.start = echo_start,
	.stop = echo_stop,
};
