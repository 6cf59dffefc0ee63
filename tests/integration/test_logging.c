/*
 * test_logging.c - log lines cannot be forged, and a stuck log reader
 * cannot stall requests (SPEC §13; issue items 2 and 7).
 *
 * Requests carry newlines, carriage returns, quotes, backslashes and
 * invalid UTF-8 in the path, the request id and the User-Agent; in text
 * and in JSON format each one must give exactly one access line that
 * reads back to what was sent. The text form is read with the unquoting
 * README documents, implemented here on its own. Then asterd runs with
 * stderr a pipe nobody reads: requests keep being answered promptly,
 * and once the pipe is read the drop count is reported and every line
 * is whole.
 */
#include <poll.h>
#include <pthread.h>

#include "integ.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char product_fmt[] =
	"kind: product\n"
	"id: logtest\n"
	"name: Log test\n"
	"version: 0.1.0\n"
	"server:\n"
	"  listen:\n"
	"    - address: 127.0.0.1:0\n"
	"      scopes: [public]\n"
	"log:\n"
	"  format: %s\n"
	"  level: info\n"
	"  access: true\n";

/* A copy of confs/jsonlog (one route, GET /t/hello) logging in format. */
static char *
conf_with_format(const char *format)
{
	char src[PATH_MAX], product[sizeof(product_fmt) + 16];
	char *dir = aster_test_copy_dir(integ_conf(src, sizeof(src),
	                                           "jsonlog"));

	ck_assert(dir != NULL);
	snprintf(product, sizeof(product), product_fmt, format);
	ck_assert(aster_test_write_file(dir, "product.yaml", product, -1) == 0);
	return dir;
}

/* --- reading text lines back --------------------------------------------- */

struct field {
	char key[32];
	char *val;          /* malloc'ed, val_len bytes and a NUL */
	size_t val_len;
};

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static long
hex_at(const char *s, int n)
{
	long v = 0;
	int i, d;

	for (i = 0; i < n; i++) {
		if ((d = hex_digit(s[i])) < 0)
			return -1;
		v = v << 4 | d;
	}
	return v;
}

/*
 * One value as README documents it: bare up to the next space, or in
 * double quotes with \" \\ \n \r \t, \xHH (one byte) and \uXXXX (a code
 * point, as UTF-8). Returns the end of the value or NULL when malformed.
 */
static const char *
read_value(const char *p, char *out, size_t *len)
{
	size_t o = 0;
	long v;

	if (*p != '"') {
		while (*p != '\0' && *p != ' ')
			out[o++] = *p++;
		*len = o;
		out[o] = '\0';
		return p;
	}
	for (p++; *p != '"'; p++) {
		if (*p == '\0')
			return NULL;
		if (*p != '\\') {
			out[o++] = *p;
			continue;
		}
		switch (*++p) {
		case '"': case '\\': out[o++] = *p; break;
		case 'n': out[o++] = '\n'; break;
		case 'r': out[o++] = '\r'; break;
		case 't': out[o++] = '\t'; break;
		case 'x':
			if ((v = hex_at(p + 1, 2)) < 0)
				return NULL;
			out[o++] = (char)v;
			p += 2;
			break;
		case 'u':
			if ((v = hex_at(p + 1, 4)) < 0)
				return NULL;
			if (v < 0x80) {
				out[o++] = (char)v;
			} else if (v < 0x800) {
				out[o++] = (char)(0xc0 | v >> 6);
				out[o++] = (char)(0x80 | (v & 0x3f));
			} else {
				out[o++] = (char)(0xe0 | v >> 12);
				out[o++] = (char)(0x80 | (v >> 6 & 0x3f));
				out[o++] = (char)(0x80 | (v & 0x3f));
			}
			p += 4;
			break;
		default:
			return NULL;
		}
	}
	*len = o;
	out[o] = '\0';
	return p + 1;
}

/*
 * Splits "TS LEVEL access k=v k=v ..." into its fields (at most max).
 * Returns the number of fields, or -1 when the line is not a well-formed
 * access line (message lines return 0).
 */
static int
parse_text_access(const char *line, struct field *f, int max)
{
	const char *p = strchr(line, ' ');
	int n = 0;

	if (p == NULL || strncmp(p, " info access ", 13) != 0)
		return 0;
	p += 13;
	while (*p != '\0') {
		const char *eq = strchr(p, '=');
		char *val;

		if (eq == NULL || eq == p ||
		    (size_t)(eq - p) >= sizeof(f->key) || n == max ||
		    memchr(p, ' ', (size_t)(eq - p)) != NULL)
			return -1;
		memcpy(f[n].key, p, (size_t)(eq - p));
		f[n].key[eq - p] = '\0';
		val = malloc(strlen(eq) + 1);
		ck_assert(val != NULL);
		p = read_value(eq + 1, val, &f[n].val_len);
		f[n].val = val;
		n++;
		if (p == NULL || (*p != ' ' && *p != '\0'))
			return -1;
		if (*p == ' ')
			p++;
	}
	return n;
}

static void
free_fields(struct field *f, int n)
{
	while (n-- > 0)
		free(f[n].val);
}

static const char *const text_keys[] = {
	"id", "trace", "route", "module", "method", "path", "status", "bytes",
	"duration_ms", "ua",
};

static const char *const json_keys[] = {
	"ts", "level", "msg", "requestId", "traceId", "route", "module",
	"method", "path", "status", "bytes", "durationMs", "userAgent",
};

/* --- forged fields ------------------------------------------------------- */

struct forge {
	const char *target;         /* sent as is */
	const char *id;             /* X-Request-Id, kept by asterd */
	const char *ua;             /* User-Agent, sent as is */
	int status;
	const char *path;           /* logged, read back */
	const char *ua_json;        /* read back from JSON (U+FFFD) */
};

static const struct forge forges[] = {
	{"/t/hello%0A2026-01-01T00:00:00.000Z%20info%20access", "f-lf",
	 "ua", 404, "/t/hello%0A2026-01-01T00:00:00.000Z%20info%20access",
	 "ua"},
	{"/t/a%0D%0Ab", "f-crlf", "ua", 404, "/t/a%0D%0Ab", "ua"},
	{"/t/%22q%22", "f-quote-enc", "ua", 404, "/t/%22q%22", "ua"},
	{"/t/\"q\"status=200", "f-quote", "ua", 404, "/t/\"q\"status=200",
	 "ua"},
	{"/t/%5C", "f-bs-enc", "ua", 404, "/t/%5C", "ua"},
	{"/t/a\\b\\\"", "f-bs", "ua", 404, "/t/a\\b\\\"", "ua"},
	{"/t/%FF%FE", "f-ff", "ua", 400, "/t/%FF%FE", "ua"},
	{"/t/hello?x=1%0Asecret", "f-query", "ua", 200, "/t/hello", "ua"},
	{"/t/hello", "f-id\"x\\y=z", "ua", 200, "/t/hello", "ua"},
	{"/t/hello", "f-ua", "a\" status=500 x=\\\"y \xff\xfe end", 200,
	 "/t/hello", "a\" status=500 x=\\\"y \xef\xbf\xbd\xef\xbf\xbd end"},
	{"/t/hello", "f-ua-seps", "nel\xc2\x85ls\xe2\x80\xa8ps\xe2\x80\xa9."
	 "\xc3\xa9\xc3", 200, "/t/hello",
	 "nel\xc2\x85ls\xe2\x80\xa8ps\xe2\x80\xa9.\xc3\xa9\xef\xbf\xbd"},
	{"/t/hello", "f-ua-tab", "a\tb", 200, "/t/hello", "a\tb"},
};

static void
send_forge(struct aster_test *t, const struct forge *f)
{
	struct aster_test_response r;
	char req[1024];
	int n;

	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n"
	             "X-Request-Id: %s\r\nUser-Agent: %s\r\n"
	             "Connection: close\r\n\r\n", f->target, f->id, f->ua);
	ck_assert(n > 0 && (size_t)n < sizeof(req));
	ck_assert_msg(aster_test_raw(t, "public", req, (size_t)n, &r) == 0,
	              "%s: %s", f->id, r.error);
	ck_assert_msg(r.status == f->status, "%s: status %d, expected %d",
	              f->id, r.status, f->status);
	ck_assert_str_eq(aster_test_header(&r, "X-Request-Id"), f->id);
	aster_test_response_free(&r);
}

/* A request the parser refuses (a raw 0xFF in the target): 400, and an
 * access line all the same. */
static void
send_refused(struct aster_test *t)
{
	static const char req[] = "GET /t/\xff HTTP/1.1\r\nHost: x\r\n"
	                          "Connection: close\r\n\r\n";
	struct aster_test_response r;

	ck_assert(aster_test_raw(t, "public", req, sizeof(req) - 1, &r) == 0);
	ck_assert_int_eq(r.status, 400);
	aster_test_response_free(&r);
}

static const struct forge *
forge_by_id(const char *id, size_t len)
{
	size_t i;

	for (i = 0; i < NELEM(forges); i++)
		if (strlen(forges[i].id) == len &&
		    memcmp(forges[i].id, id, len) == 0)
			return &forges[i];
	return NULL;
}

static void
field_is(const struct field *f, const char *key, const char *want,
         size_t want_len)
{
	ck_assert_str_eq(f->key, key);
	ck_assert_msg(f->val_len == want_len &&
	              memcmp(f->val, want, want_len) == 0,
	              "field %s is \"%s\", expected \"%s\"", key, f->val, want);
}

/* Checks one text access line; returns its forge case (NULL: the
 * refused request) and counts it in seen. */
static void
check_text_line(const char *line, int *seen, int *refused)
{
	struct field f[16];
	const struct forge *c;
	char status[16];
	int n = parse_text_access(line, f, 16), i;

	ck_assert_msg(n >= 0, "malformed text access line: %s", line);
	if (n == 0) {
		free_fields(f, 0);
		return;
	}
	ck_assert_msg(n == (int)NELEM(text_keys), "%d fields in %s", n, line);
	for (i = 0; i < n; i++)
		ck_assert_msg(strcmp(f[i].key, text_keys[i]) == 0,
		              "field %d is %s, not %s: %s", i, f[i].key,
		              text_keys[i], line);
	c = forge_by_id(f[0].val, f[0].val_len);
	if (c == NULL) {
		ck_assert_msg(strcmp(f[6].val, "400") == 0,
		              "an access line for no request sent: %s", line);
		(*refused)++;
		free_fields(f, n);
		return;
	}
	seen[c - forges]++;
	ck_assert_msg(strlen(f[1].val) == 32 &&
	              strspn(f[1].val, "0123456789abcdef") == 32,
	              "trace id %s", f[1].val);
	field_is(&f[4], "method", "GET", 3);
	field_is(&f[5], "path", c->path, strlen(c->path));
	snprintf(status, sizeof(status), "%d", c->status);
	field_is(&f[6], "status", status, strlen(status));
	field_is(&f[9], "ua", c->ua, strlen(c->ua));
	free_fields(f, n);
}

static const char *
json_str(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static void
check_json_line(const char *line, int *seen, int *refused)
{
	json_object *o = json_tokener_parse(line), *v;
	const struct forge *c;
	const char *id, *msg;
	size_t i;

	ck_assert_msg(o != NULL && json_object_is_type(o, json_type_object),
	              "not a JSON object: %s", line);
	msg = json_str(o, "msg");
	ck_assert_msg(msg != NULL, "no msg: %s", line);
	if (strcmp(msg, "access") != 0) {
		json_object_put(o);
		return;
	}
	ck_assert_msg(json_object_object_length(o) == (int)NELEM(json_keys),
	              "%d keys in %s", json_object_object_length(o), line);
	for (i = 0; i < NELEM(json_keys); i++)
		ck_assert_msg(json_object_object_get_ex(o, json_keys[i], NULL),
		              "no %s in %s", json_keys[i], line);
	id = json_str(o, "requestId");
	ck_assert(id != NULL);
	c = forge_by_id(id, strlen(id));
	ck_assert(json_object_object_get_ex(o, "status", &v));
	if (c == NULL) {
		ck_assert_msg(json_object_get_int(v) == 400,
		              "an access line for no request sent: %s", line);
		(*refused)++;
		json_object_put(o);
		return;
	}
	seen[c - forges]++;
	ck_assert_int_eq(json_object_get_int(v), c->status);
	ck_assert_str_eq(json_str(o, "method"), "GET");
	ck_assert_str_eq(json_str(o, "path"), c->path);
	ck_assert_str_eq(json_str(o, "userAgent"), c->ua_json);
	ck_assert_uint_eq(strlen(json_str(o, "traceId")), 32);
	json_object_put(o);
}

/* Every line of a text log: printable but for the newline ending it. */
static void
assert_no_control_bytes(const char *log)
{
	const unsigned char *p;

	for (p = (const unsigned char *)log; *p != '\0'; p++)
		ck_assert_msg(*p == '\n' || (*p >= 0x20 && *p != 0x7f),
		              "byte 0x%02x in the log:\n%s", *p, log);
}

START_TEST(test_forged_fields)
{
	int json = _i == 1, seen[NELEM(forges)] = {0}, refused = 0;
	char *dir = conf_with_format(json ? "json" : "text");
	struct aster_test *t = integ_start_dir(dir, NULL);
	char *log, *line, *save = NULL;
	size_t i;

	for (i = 0; i < NELEM(forges); i++)
		send_forge(t, &forges[i]);
	send_refused(t);
	ck_assert_int_eq(aster_test_stop(t), 0);
	integ_assert_clean_log(t);
	log = strdup(aster_test_stderr(t));
	ck_assert(log != NULL);
	assert_no_control_bytes(log);
	ck_assert_msg(log[0] != '\0' && log[strlen(log) - 1] == '\n',
	              "the log does not end a line:\n%s", log);
	for (line = strtok_r(log, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (json)
			check_json_line(line, seen, &refused);
		else
			check_text_line(line, seen, &refused);
	}
	for (i = 0; i < NELEM(forges); i++)
		ck_assert_msg(seen[i] == 1, "%d access lines for %s:\n%s",
		              seen[i], forges[i].id, aster_test_stderr(t));
	ck_assert_int_eq(refused, 1);
	free(log);
	aster_test_free(t);
	aster_test_remove_tree(dir);
	free(dir);
}
END_TEST

/* --- a stderr nobody reads ------------------------------------------------ */

#define STUCK_REQUESTS 2000

/* Reads what the pipe holds, waiting up to timeout_ms for more; appends
 * to *buf. Returns 0 at EOF, 1 when it timed out. */
static int
drain(int fd, char **buf, size_t *len, size_t *cap, int timeout_ms)
{
	struct pollfd p = {fd, POLLIN, 0};

	for (;;) {
		ssize_t n;

		if (poll(&p, 1, timeout_ms) <= 0)
			return 1;
		if (*cap - *len < 65536) {
			*cap = *cap * 2 + 65536;
			*buf = realloc(*buf, *cap + 1);
			ck_assert(*buf != NULL);
		}
		n = read(fd, *buf + *len, *cap - *len);
		if (n == 0)
			return 0;
		ck_assert(n > 0 || errno == EINTR || errno == EAGAIN);
		if (n > 0)
			*len += (size_t)n;
		(*buf)[*len] = '\0';
	}
}

START_TEST(test_stuck_stderr)
{
	struct aster_test_options o = integ_options(NULL);
	char *dir = conf_with_format("text");
	char ua[1400], hdr[1500], *log = NULL, *line, *save = NULL;
	const char *const hdrs[] = {hdr, NULL};
	unsigned long long dropped = 0;
	uint64_t slowest = 0, bound = (uint64_t)aster_test_timeout(1000);
	uint64_t deadline;
	size_t len = 0, cap = 0, i;
	struct aster_test_conn *c;
	struct aster_test *t;
	int pipefd[2], access = 0;
	const char *note;

	ck_assert(pipe2(pipefd, O_CLOEXEC) == 0);
	o.stderr_fd = pipefd[1];
	t = aster_test_spawn(dir, &o);
	ck_assert(t != NULL);
	close(pipefd[1]);
	ck_assert_msg(aster_test_wait_ready(t) == 0, "%s", aster_test_error(t));

	/* Long lines fill the 64 KiB pipe and asterd's buffers quickly. */
	memset(ua, 'u', sizeof(ua) - 1);
	ua[sizeof(ua) - 1] = '\0';
	snprintf(hdr, sizeof(hdr), "User-Agent: %s", ua);
	c = aster_test_connect(t, "public");
	ck_assert(c != NULL);
	for (i = 0; i < STUCK_REQUESTS; i++) {
		struct aster_test_response r;
		uint64_t start = integ_ms_now(), took;

		ck_assert_msg(aster_test_conn_request(c, "GET", "/t/hello",
		              hdrs, NULL, 0, &r) == 0, "request %zu: %s", i,
		              r.error);
		took = integ_ms_now() - start;
		ck_assert_int_eq(r.status, 200);
		aster_test_response_free(&r);
		if (took > slowest)
			slowest = took;
		ck_assert_msg(took <= bound, "request %zu took %llu ms (bound "
		              "%llu ms): the log stalls the loop", i,
		              (unsigned long long)took,
		              (unsigned long long)bound);
	}
	aster_test_conn_close(c);

	/* Read the pipe: the writer gets through and reports the drops. */
	deadline = integ_ms_now() + (uint64_t)aster_test_timeout(5000);
	do
		drain(pipefd[0], &log, &len, &cap, 100);
	while ((log == NULL || strstr(log, "lines dropped\n") == NULL) &&
	       integ_ms_now() < deadline);
	ck_assert_msg(log != NULL && strstr(log, "lines dropped\n") != NULL,
	              "no drop report in %zu bytes of log", len);
	ck_assert_int_eq(aster_test_signal(t, SIGTERM), 0);
	ck_assert_msg(drain(pipefd[0], &log, &len, &cap,
	              aster_test_timeout(15000)) == 0,
	              "asterd's stderr did not close");
	ck_assert_int_eq(aster_test_wait(t, aster_test_timeout(5000)), 0);
	close(pipefd[0]);

	ck_assert_msg(len > 0 && log[len - 1] == '\n', "a cut last line");
	ck_assert_uint_eq(strlen(log), len);
	assert_no_control_bytes(log);
	for (line = strtok_r(log, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		struct field f[16];
		int n = parse_text_access(line, f, 16);

		ck_assert_msg(n == 0 || n == (int)NELEM(text_keys),
		              "a broken access line: %.200s", line);
		if (n > 0) {
			ck_assert_str_eq(f[5].val, "/t/hello");
			ck_assert_str_eq(f[6].val, "200");
			access++;
		} else if ((note = strstr(line, " warn log: ")) != NULL) {
			unsigned long long k = strtoull(note + 11, NULL, 10);

			ck_assert_msg(k > 0, "%s", line);
			dropped += k;
		} else {
			ck_assert_msg(strstr(line, " info ") != NULL,
			              "not a log line: %.200s", line);
		}
		free_fields(f, n > 0 ? n : 0);
	}
	ck_assert_msg(dropped > 0, "nothing reported dropped");
	ck_assert_int_lt(access, STUCK_REQUESTS);
	ck_assert_msg(access + dropped >= STUCK_REQUESTS, "%d access lines "
	              "and %llu dropped for %d requests", access, dropped,
	              STUCK_REQUESTS);
	fprintf(stderr, "test_stuck_stderr: %d access lines written, %llu "
	        "lines dropped, slowest request %llu ms\n", access, dropped,
	        (unsigned long long)slowest);
	free(log);
	aster_test_free(t);
	aster_test_remove_tree(dir);
	free(dir);
}
END_TEST

static Suite *
logging_suite(void)
{
	Suite *s = suite_create("logging");
	TCase *tc = tcase_create("logging");

	tcase_set_timeout(tc, INTEG_TCASE_TIMEOUT);
	tcase_add_loop_test(tc, test_forged_fields, 0, 2);
	tcase_add_test(tc, test_stuck_stderr);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(logging_suite)
