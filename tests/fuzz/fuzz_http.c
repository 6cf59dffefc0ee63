/*
 * fuzz_http.c - libFuzzer target for the HTTP/1.1 request parser
 * (src/http/parse.h).
 *
 * An input is a connection's byte stream after a short prefix that says
 * how to cut it: byte 0's low three bits are a count n (0-7), the next n
 * bytes piece sizes (each 1-256, used in turn). The stream is parsed the
 * way the server reads a connection: bytes arrive a piece at a time, the
 * parser takes what it wants, and after each whole request it is reset
 * and fed the rest (pipelining) until the bytes run out or it fails.
 *
 * Each request parsed is written down as text (method, target, path,
 * query, fields, framing, body, or the error's status, code and detail).
 * The same stream fed in one piece must give exactly the same text: a
 * parser that answers differently depending on how TCP cut the bytes is
 * a request-smuggling bug. Every request is also checked on its own:
 * errors only with the statuses and codes parse.h promises, a path that
 * is normalised, fields that hold no control characters, a body no
 * longer than the limit and as long as its Content-Length, never both
 * Content-Length and Transfer-Encoding, 100-continue only in HTTP/1.1.
 * A broken rule aborts, and libFuzzer keeps the input.
 *
 * Seeds (tests/fuzz/seeds/http/) are the requests of
 * tests/unit/test_http_parse.c and test_http_server.c, prefixed by a
 * zero byte (no cutting); the dictionary is tests/fuzz/http.dict.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/parse.h"
#include "util/utf8.h"

/* Small limits, so that 413 and 431 are within a fuzzer's reach. */
#define FUZZ_MAX_HEAD 2048
#define FUZZ_MAX_BODY 1024

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A growing text: what one way of feeding the stream made of it. */
struct text {
	char *p;
	size_t n, cap;
};

#define check(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "fuzz_http: %s:%d: broken: %s\n", __FILE__, \
		        __LINE__, #cond); \
		abort(); \
	} \
} while (0)

static void
put(struct text *t, const void *p, size_t n)
{
	if (t->n + n + 1 > t->cap) {
		t->cap = (t->n + n + 1) * 2;
		if ((t->p = realloc(t->p, t->cap)) == NULL)
			abort();
	}
	if (n > 0)
		memcpy(t->p + t->n, p, n);
	t->n += n;
	t->p[t->n] = '\0';
}

static void
puts_(struct text *t, const char *s)
{
	put(t, s, strlen(s));
	put(t, "\n", 1);
}

static void
putf(struct text *t, const char *label, unsigned long long v)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%s %llu", label, v);
	puts_(t, buf);
}

static int
is_tchar(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("\"(),/:;<=>?@[\\]{}", c) == NULL;
}

/* The rules a failed request must follow (parse.h). */
static void
check_error(const struct http_request *r)
{
	check(r->code != NULL && r->detail != NULL && r->detail[0] != '\0');
	switch (r->status) {
	case 400:
		check(strcmp(r->code, "bad-request") == 0);
		break;
	case 413:
		check(strcmp(r->code, "payload-too-large") == 0);
		break;
	case 431:
		check(strcmp(r->code, "headers-too-large") == 0);
		break;
	case 500:
		check(strcmp(r->code, "internal") == 0);
		break;
	case 501:
	case 505:
		check(strcmp(r->code, "error") == 0);
		break;
	default:
		check(!"a status parse.h does not give");
	}
}

/* The raw path is normalised (SPEC 7.1): no empty segment but a last one
 * (a trailing '/'), and no segment that decodes to "." or "..", to a NUL
 * byte or to bytes that are not UTF-8. */
static void
check_path(const char *path)
{
	const char *s, *e;
	char seg[FUZZ_MAX_HEAD + 1];
	size_t len, n, i, k;

	if (strcmp(path, "*") == 0)
		return;
	check(path[0] == '/');
	for (s = path + 1; *s != '\0'; s = *e == '\0' ? e : e + 1) {
		e = strchr(s, '/');
		if (e == NULL)
			e = s + strlen(s);
		len = (size_t)(e - s);
		check(len > 0);
		check(len < sizeof(seg));
		n = http_segment_decode(seg, s, len);
		check(!(n == 1 && seg[0] == '.'));
		check(!(n == 2 && seg[0] == '.' && seg[1] == '.'));
		check(memchr(seg, '\0', n) == NULL);
		for (i = 0; i < n; i += k)
			check((k = utf8_sequence((const unsigned char *)seg + i,
			                         n - i)) > 0);
	}
}

/* The rules a whole request must follow; its description goes to t. */
static void
check_request(const struct http_request *r, struct text *t)
{
	const char *cl, *te, *v;
	unsigned long long n;
	char *end;
	size_t i;

	check(r->method != NULL && r->target != NULL && r->path != NULL);
	check(r->method[0] != '\0');
	for (i = 0; r->method[i] != '\0'; i++)
		check(is_tchar((unsigned char)r->method[i]));
	check(r->minor == 0 || r->minor == 1);
	check(r->raw_path != NULL);
	check_path(r->raw_path);
	puts_(t, r->method);
	puts_(t, r->target);
	puts_(t, r->path);
	puts_(t, r->raw_path);
	puts_(t, r->query != NULL ? r->query : "(no query)");
	for (i = 0; i < r->nfields; i++) {
		const char *name = r->fields[i].name;

		v = r->fields[i].value;
		check(name[0] != '\0');
		for (; *name != '\0'; name++)
			check(is_tchar((unsigned char)*name));
		for (; *v != '\0'; v++)
			check(*v == '\t' || (unsigned char)*v >= 0x20);
		v = r->fields[i].value;
		check(v[0] != ' ' && v[0] != '\t');
		check(v[0] == '\0' || (v[strlen(v) - 1] != ' ' &&
		                       v[strlen(v) - 1] != '\t'));
		check(http_request_header(r, r->fields[i].name) != NULL);
		puts_(t, r->fields[i].name);
		puts_(t, v);
	}
	cl = http_request_header(r, "content-length");
	te = http_request_header(r, "transfer-encoding");
	check(cl == NULL || te == NULL);
	check(r->chunked == (te != NULL));
	check(r->body_len <= FUZZ_MAX_BODY);
	if (cl != NULL) {
		n = strtoull(cl, &end, 10);
		check(*end == '\0' && n == r->body_len);
	} else if (te == NULL) {
		check(r->body_len == 0);
	}
	check(!r->expect_continue || r->minor == 1);
	check(!r->chunked || r->minor == 1);
	putf(t, "minor", (unsigned long long)r->minor);
	putf(t, "keep-alive", r->keep_alive);
	putf(t, "continue", r->expect_continue);
	putf(t, "chunked", r->chunked);
	putf(t, "body", r->body_len);
	put(t, r->body, r->body_len);
}

/*
 * Parses stream[0..len) fed in pieces of the sizes in cuts (cyclic; none:
 * one piece) and describes what came out in t.
 */
static void
parse_stream(const uint8_t *stream, size_t len, const uint8_t *cuts,
             size_t ncuts, struct text *t)
{
	struct http_request r;
	enum http_parse_result res;
	size_t pos = 0, have = 0, next = 0, used;

	http_request_init(&r);
	http_request_reset(&r, FUZZ_MAX_HEAD, FUZZ_MAX_BODY);
	for (;;) {
		if (pos == have) {
			if (have == len)
				break;
			have += ncuts == 0 ? len :
			    (size_t)cuts[next++ % ncuts] + 1;
			if (have > len)
				have = len;
		}
		res = http_request_parse(&r, (const char *)stream + pos,
		                         have - pos, &used);
		check(used <= have - pos);
		pos += used;
		switch (res) {
		case HTTP_PARSE_MORE:
			check(pos == have);
			break;
		case HTTP_PARSE_HEAD:
			/* The head is whole and parsed; a body follows. */
			check(r.method != NULL && r.path != NULL);
			check(r.chunked || r.body_left > 0);
			break;
		case HTTP_PARSE_DONE:
			puts_(t, "-- request");
			check_request(&r, t);
			http_request_reset(&r, FUZZ_MAX_HEAD, FUZZ_MAX_BODY);
			break;
		case HTTP_PARSE_ERROR:
			check_error(&r);
			putf(t, "-- error", (unsigned long long)r.status);
			puts_(t, r.code);
			puts_(t, r.detail);
			/* It stays failed until reset. */
			check(http_request_parse(&r, "x", 1, &used) ==
			      HTTP_PARSE_ERROR && used == 0);
			goto out;
		}
	}
	putf(t, "-- end, unparsed head bytes", r.head_len);
out:
	http_request_free(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct text whole = {0}, cut = {0};
	size_t ncuts;

	if (size == 0)
		return 0;
	ncuts = data[0] & 7;
	if (size < 1 + ncuts)
		return 0;
	parse_stream(data + 1 + ncuts, size - 1 - ncuts, NULL, 0, &whole);
	if (ncuts > 0) {
		parse_stream(data + 1 + ncuts, size - 1 - ncuts, data + 1,
		             ncuts, &cut);
		if (whole.n != cut.n || memcmp(whole.p, cut.p, whole.n) != 0) {
			fprintf(stderr, "fuzz_http: the stream parsed in one "
			        "piece:\n%s\n-- and cut:\n%s\n", whole.p,
			        cut.p);
			abort();
		}
	}
	free(whole.p);
	free(cut.p);
	return 0;
}
