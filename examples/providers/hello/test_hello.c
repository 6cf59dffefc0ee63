/*
 * test_hello.c - the hello provider, tested through a real asterd with
 * libastertest (<aster/testing.h>).
 *
 * Starts the product of CONF_DIR (default conf.d) on ephemeral ports and
 * checks what a client sees: the greeting as JSON (a greeting that needs
 * escaping, given through ${HELLO_GREETING}), a valid message echoed, an
 * invalid one refused by asterd with 422 before hello.so sees it; then
 * that a greeting too long for the provider's validator stops asterd at
 * start-up with a configuration error.
 *
 * Usage: test_hello [CONF_DIR]. asterd is $ASTERD, and finds hello.so on
 * $ASTER_MODULE_PATH (the Makefile's `check` sets both). Prints one `ok`
 * or `not ok` line per check, what went wrong and asterd's log after a
 * failure, and exits 1 when a check failed.
 */
#include <aster/testing.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A quotation mark and a backslash, which the JSON answer must escape. */
#define GREETING      "Say \"hi\" \\ to asterd"
#define GREETING_JSON "Say \\\"hi\\\" \\\\ to asterd"

static int failures;

static int
check(int ok, const char *what)
{
	printf("%s - %s\n", ok ? "ok" : "not ok", what);
	if (!ok)
		failures++;
	return ok;
}

/* After a failed check: what the client got. */
static void
show(const struct aster_test_response *r)
{
	if (r->status == 0)
		printf("# no response: %s\n", r->error);
	else
		printf("# got %d: %s\n", r->status,
		       r->body != NULL ? r->body : "");
}

/* The response's media type is type (parameters such as charset
 * aside). */
static int
has_type(const struct aster_test_response *r, const char *type)
{
	const char *v = aster_test_header(r, "Content-Type");
	size_t n = strlen(type);

	return v != NULL && strncmp(v, type, n) == 0 &&
	       (v[n] == '\0' || v[n] == ';');
}

static int
body_is(const struct aster_test_response *r, const char *text)
{
	return r->body != NULL && r->body_len == strlen(text) &&
	       memcmp(r->body, text, r->body_len) == 0;
}

static void
test_greet(struct aster_test *t)
{
	const char *headers[] = {"X-Request-Id: hello-test-1", NULL};
	struct aster_test_response r;
	int ok;

	aster_test_request(t, "public", "GET", "/hello/v1/greeting", headers,
	                   NULL, 0, &r);
	ok = check(r.status == 200, "GET /hello/v1/greeting answers 200");
	ok &= check(has_type(&r, "application/json"),
	            "the greeting is application/json");
	ok &= check(body_is(&r, "{\"greeting\":\"" GREETING_JSON "\","
	                    "\"requestId\":\"hello-test-1\"}"),
	            "the greeting is the configured text, escaped, with the "
	            "request id");
	if (!ok)
		show(&r);
	aster_test_response_free(&r);
}

static void
test_echo_valid(struct aster_test *t)
{
	static const char message[] =
	    "{\"name\":\"Ada\",\"text\":\"Hello, asterd\","
	    "\"tags\":[\"example\"]}";
	const char *headers[] = {"Content-Type: application/json", NULL};
	struct aster_test_response r;
	int ok;

	aster_test_request(t, "public", "POST", "/hello/v1/echo", headers,
	                   message, strlen(message), &r);
	ok = check(r.status == 200, "POST /hello/v1/echo with a valid "
	           "message answers 200");
	ok &= check(has_type(&r, "application/json"),
	            "the echo is application/json");
	ok &= check(body_is(&r, message), "the echo is the body as sent");
	if (!ok)
		show(&r);
	aster_test_response_free(&r);
}

/* `text` must be a string: asterd's check of the route's request.schema
 * refuses the body, so hello.so is never called. */
static void
test_echo_invalid(struct aster_test *t)
{
	static const char message[] = "{\"name\":\"Ada\",\"text\":5}";
	const char *headers[] = {"Content-Type: application/json", NULL};
	struct aster_test_response r;
	int ok;

	aster_test_request(t, "public", "POST", "/hello/v1/echo", headers,
	                   message, strlen(message), &r);
	ok = check(r.status == 422, "POST /hello/v1/echo with a number for "
	           "`text` answers 422");
	ok &= check(has_type(&r, "application/problem+json"),
	            "the 422 is a problem (application/problem+json)");
	ok &= check(r.body != NULL &&
	            strstr(r.body, "\"validation-failed\"") != NULL &&
	            strstr(r.body, "\"/text\"") != NULL,
	            "the problem is validation-failed and points at /text");
	if (!ok)
		show(&r);
	aster_test_response_free(&r);
}

/* The provider's validate hook refuses a greeting of 300 bytes: asterd
 * reports it at the YAML value and exits 78 without serving. */
static void
test_long_greeting_refused(const char *conf)
{
	char env_greeting[sizeof("HELLO_GREETING=") + 300];
	const char *env[] = {env_greeting, NULL};
	struct aster_test_options o;
	struct aster_test *t;
	int code;

	strcpy(env_greeting, "HELLO_GREETING=");
	memset(env_greeting + strlen(env_greeting), 'x', 300);
	env_greeting[sizeof(env_greeting) - 1] = '\0';
	memset(&o, 0, sizeof(o));
	o.env = env;
	t = aster_test_spawn(conf, &o);
	if (!check(t != NULL, "asterd runs with a 300-byte greeting"))
		return;
	code = aster_test_wait(t, aster_test_timeout(10000));
	check(code == 78, "a 300-byte greeting: asterd exits 78 "
	      "(configuration error)");
	if (!check(strstr(aster_test_stderr(t),
	                  "'greeting' is 300 bytes long") != NULL,
	           "asterd shows the provider's reason"))
		printf("# asterd's log:\n%s", aster_test_stderr(t));
	aster_test_free(t);
}

int
main(int argc, char **argv)
{
	const char *conf = argc > 1 ? argv[1] : "conf.d";
	const char *env[] = {"HELLO_GREETING=" GREETING, NULL};
	struct aster_test_options o;
	struct aster_test *t;

	memset(&o, 0, sizeof(o));
	o.env = env;
	t = aster_test_start(conf, &o);     /* says why on stderr */
	if (!check(t != NULL, "the hello product starts"))
		return 1;
	test_greet(t);
	test_echo_valid(t);
	test_echo_invalid(t);
	check(aster_test_stop(t) == 0, "asterd stops in order (exit 0)");
	if (failures > 0)
		printf("# asterd's log:\n%s", aster_test_stderr(t));
	aster_test_free(t);

	test_long_greeting_refused(conf);

	if (failures > 0) {
		printf("test_hello: %d checks failed\n", failures);
		return 1;
	}
	printf("test_hello: all passed\n");
	return 0;
}
