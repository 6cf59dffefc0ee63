/*
 * test_http_parse.c - the incremental request parser (src/http/parse.c).
 *
 * Every input is parsed three ways - whole, one byte at a time, and in
 * pieces of varying size - and the three must agree: the parser keeps no
 * state that depends on where the bytes were cut.
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/parse.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_HEAD 1024
#define MAX_BODY 4096

enum feed_mode { FEED_WHOLE, FEED_BYTES, FEED_PIECES, FEED_MODES };

static const char *const mode_names[] = { "whole", "bytes", "pieces" };

struct parsed {
	struct http_request r;
	enum http_parse_result res;
	size_t consumed;
	int heads;              /* HTTP_PARSE_HEAD results seen */
};

/*
 * Feeds in[0..len) to p->r (reset with the given limits) the way mode
 * says, until the request is done or failed or the input runs out.
 */
static void
feed(struct parsed *p, const char *in, size_t len, enum feed_mode mode,
     size_t max_head, size_t max_body)
{
	size_t off = 0, n, used, piece = 1;

	http_request_reset(&p->r, max_head, max_body);
	p->heads = 0;
	for (;;) {
		n = len - off;
		if (mode == FEED_BYTES && n > 1)
			n = 1;
		if (mode == FEED_PIECES) {
			piece = piece % 7 + 2;
			if (n > piece)
				n = piece;
		}
		p->res = http_request_parse(&p->r, in + off, n, &used);
		ck_assert_uint_le(used, n);
		off += used;
		if (p->res == HTTP_PARSE_HEAD) {
			p->heads++;
			continue;
		}
		if (p->res != HTTP_PARSE_MORE || off == len)
			break;
	}
	p->consumed = off;
}

static struct parsed *
parsed_new(void)
{
	struct parsed *p = calloc(1, sizeof(*p));

	ck_assert_ptr_nonnull(p);
	http_request_init(&p->r);
	return p;
}

static void
parsed_free(struct parsed *p)
{
	http_request_free(&p->r);
	free(p);
}

/* Parses s (NUL-terminated) all three ways; each must reach want. */
#define EACH_MODE(p, s, want)                                             \
	for (enum feed_mode m_ = 0; m_ < FEED_MODES; m_++)                \
		if (feed((p), (s), strlen(s), m_, MAX_HEAD, MAX_BODY),    \
		    ck_assert_msg((p)->res == (want),                     \
		        "%s: result %d, want %d (status %d: %s)",         \
		        mode_names[m_], (p)->res, (want), (p)->r.status,  \
		        (p)->r.detail ? (p)->r.detail : "-"), 1)

START_TEST(test_simple_get)
{
	struct parsed *p = parsed_new();
	const char *in = "GET /a/b?x=1&y HTTP/1.1\r\n"
	    "Host: example.com\r\n"
	    "User-Agent:   test/1.0  \r\n"
	    "X-Empty:\r\n"
	    "\r\n";

	EACH_MODE(p, in, HTTP_PARSE_DONE) {
		ck_assert_uint_eq(p->consumed, strlen(in));
		ck_assert_int_eq(p->heads, 0);
		ck_assert_str_eq(p->r.method, "GET");
		ck_assert_str_eq(p->r.target, "/a/b?x=1&y");
		ck_assert_str_eq(p->r.path, "/a/b");
		ck_assert_str_eq(p->r.query, "x=1&y");
		ck_assert_int_eq(p->r.minor, 1);
		ck_assert(p->r.keep_alive);
		ck_assert_uint_eq(p->r.nfields, 3);
		ck_assert_str_eq(p->r.fields[0].name, "Host");
		ck_assert_str_eq(http_request_header(&p->r, "HOST"),
		                 "example.com");
		ck_assert_str_eq(http_request_header(&p->r, "user-agent"),
		                 "test/1.0");
		ck_assert_str_eq(http_request_header(&p->r, "x-empty"), "");
		ck_assert_ptr_null(http_request_header(&p->r, "Accept"));
		ck_assert_uint_eq(p->r.body_len, 0);
	}
	parsed_free(p);
}
END_TEST

START_TEST(test_lf_only_and_leading_empty_lines)
{
	struct parsed *p = parsed_new();
	const char *in = "\r\n\nGET / HTTP/1.1\nHost: h\n\n";

	EACH_MODE(p, in, HTTP_PARSE_DONE) {
		ck_assert_str_eq(p->r.method, "GET");
		ck_assert_str_eq(p->r.path, "/");
		ck_assert_str_eq(http_request_header(&p->r, "host"), "h");
		ck_assert_ptr_null(p->r.query);
	}
	parsed_free(p);
}
END_TEST

START_TEST(test_percent_decoded_once)
{
	struct parsed *p = parsed_new();
	const char *in = "GET /a%252F?q=%20 HTTP/1.1\r\nHost: h\r\n\r\n";

	EACH_MODE(p, in, HTTP_PARSE_DONE) {
		ck_assert_str_eq(p->r.target, "/a%252F?q=%20");
		ck_assert_str_eq(p->r.path, "/a%2F");
		ck_assert_str_eq(p->r.raw_path, "/a%252F");
		ck_assert_str_eq(p->r.query, "q=%20");
	}
	parsed_free(p);
}
END_TEST

/*
 * SPEC §7.1: the raw path is split on '/' first, then each segment is
 * decoded once. raw and decoded are the two results; NULL raw: refused,
 * with decoded the start of the reason.
 */
static const struct {
	const char *in;
	const char *raw;
	const char *decoded;
} paths[] = {
	{ "/", "/", "/" },
	{ "/a/b", "/a/b", "/a/b" },
	{ "/a/b/", "/a/b/", "/a/b/" },
	/* Runs of '/' collapse: an empty segment names nothing. */
	{ "//a///b", "/a/b", "/a/b" },
	{ "//", "/", "/" },
	{ "/a//", "/a/", "/a/" },
	{ "/a/./b/../c", "/a/c", "/a/c" },
	{ "/a/.", "/a/", "/a/" },
	{ "/a/..", "/", "/" },
	{ "/a/b/..", "/a/", "/a/" },
	{ "/./", "/", "/" },
	{ "/a/..x/.b", "/a/..x/.b", "/a/..x/.b" },
	{ "/a%20b", "/a%20b", "/a b" },
	/* An encoded slash stays inside its segment, either case. */
	{ "/a%2Fb", "/a%2Fb", "/a/b" },
	{ "/a%2fb/c", "/a%2fb/c", "/a/b/c" },
	{ "/%2F", "/%2F", "//" },
	{ "/%2F%2F/x", "/%2F%2F/x", "////x" },
	{ "/a%2f..%2fb", "/a%2f..%2fb", "/a/../b" },
	{ "/a%2F%2E%2E", "/a%2F%2E%2E", "/a/.." },
	/* Dot segments, raw or encoded, resolved and never above "/". */
	{ "/a/%2e%2e", "/", "/" },
	{ "/a/b/%2E%2E/c", "/a/c", "/a/c" },
	{ "/a/b/.%2e/c", "/a/c", "/a/c" },
	{ "/a/b/%2e./c", "/a/c", "/a/c" },
	{ "/a/%2e/b", "/a/b", "/a/b" },
	{ "/a/%2E", "/a/", "/a/" },
	{ "/..", "/", "/" },
	{ "/../a", "/a", "/a" },
	{ "/a/../..", "/", "/" },
	{ "/a/../../b", "/b", "/b" },
	{ "/%2e%2e/etc/passwd", "/etc/passwd", "/etc/passwd" },
	{ "/%2E%2E/%2e%2E/..%2f", "/..%2f", "/../" },
	{ "/a/%2e%2e%2e", "/a/%2e%2e%2e", "/a/..." },
	/* Decoded once: "%252e" is the segment "%2e", not a dot. */
	{ "/a/%252e%252e", "/a/%252e%252e", "/a/%2e%2e" },
	{ "/a%252F", "/a%252F", "/a%2F" },
	/* UTF-8, encoded or not. */
	{ "/%C3%A9", "/%C3%A9", "/\xc3\xa9" },
	{ "/caf%c3%a9/%E2%98%95", "/caf%c3%a9/%E2%98%95",
	  "/caf\xc3\xa9/\xe2\x98\x95" },
	{ "/%F0%9F%8E%89", "/%F0%9F%8E%89", "/\xf0\x9f\x8e\x89" },
	{ "/\xc3\xa9", "/\xc3\xa9", "/\xc3\xa9" },
	{ "/%7F%01", "/%7F%01", "/\x7f\x01" },
	/* Refused. */
	{ "/%00", NULL, "a path segment decodes to a NUL" },
	{ "/a%00b/c", NULL, "a path segment decodes to a NUL" },
	{ "/x/%00/..", NULL, "a path segment decodes to a NUL" },
	{ "/%FF", NULL, "a path segment does not decode to UTF-8" },
	{ "/a/b%fe", NULL, "a path segment does not decode to UTF-8" },
	{ "/%C0%AF", NULL, "a path segment does not decode to UTF-8" },
	{ "/%C0%AE%C0%AE", NULL, "a path segment does not decode to UTF-8" },
	{ "/%ED%A0%80", NULL, "a path segment does not decode to UTF-8" },
	{ "/%F4%90%80%80", NULL, "a path segment does not decode to UTF-8" },
	{ "/%C3", NULL, "a path segment does not decode to UTF-8" },
	{ "/%E2%98", NULL, "a path segment does not decode to UTF-8" },
	{ "/a/%FF/../b", NULL, "a path segment does not decode to UTF-8" },
	{ "/\xff", NULL, "a path segment does not decode to UTF-8" },
	{ "/%zz", NULL, "invalid percent-encoding" },
	{ "/%4", NULL, "invalid percent-encoding" },
	{ "/a%", NULL, "invalid percent-encoding" },
	{ "/a%/b", NULL, "invalid percent-encoding" },
	{ "%2Fa", NULL, "the path does not start with '/'" },
	{ "a/b", NULL, "the path does not start with '/'" },
	{ "", NULL, "the path does not start with '/'" },
};

START_TEST(test_path_normalise)
{
	const char *why;
	size_t i;

	for (i = 0; i < NELEM(paths); i++) {
		size_t len = strlen(paths[i].in);
		int rc;

		/* Exactly len + 1 bytes each: ASan sees any overrun. */
		char *r = malloc(len + 1), *d = malloc(len + 1);

		ck_assert(r != NULL && d != NULL);
		why = NULL;
		rc = http_path_normalise(paths[i].in, len, r, d, &why);
		if (paths[i].raw == NULL) {
			ck_assert_msg(rc == -1, "'%s' should be refused, got "
			              "'%s'", paths[i].in, r);
			ck_assert_msg(why != NULL && strncmp(why,
			              paths[i].decoded,
			              strlen(paths[i].decoded)) == 0,
			              "'%s': reason '%s', want '%s...'",
			              paths[i].in, why ? why : "(none)",
			              paths[i].decoded);
		} else {
			ck_assert_msg(rc == 0, "'%s' should be accepted: %s",
			              paths[i].in, why);
			ck_assert_msg(strcmp(r, paths[i].raw) == 0,
			              "'%s' -> raw '%s', want '%s'",
			              paths[i].in, r, paths[i].raw);
			ck_assert_msg(strcmp(d, paths[i].decoded) == 0,
			              "'%s' -> decoded '%s', want '%s'",
			              paths[i].in, d, paths[i].decoded);
		}
		free(r);
		free(d);
	}
}
END_TEST

/* Once, whatever the case of the digits; a bad escape is kept as is. */
START_TEST(test_segment_decode)
{
	char out[32];

	ck_assert_uint_eq(http_segment_decode(out, "a%2Fb%2fc", 9), 5);
	ck_assert_str_eq(out, "a/b/c");
	ck_assert_uint_eq(http_segment_decode(out, "%252F", 5), 3);
	ck_assert_str_eq(out, "%2F");
	ck_assert_uint_eq(http_segment_decode(out, "%zz%4", 5), 5);
	ck_assert_str_eq(out, "%zz%4");
	ck_assert_uint_eq(http_segment_decode(out, "x%00y", 5), 3);
	ck_assert(memcmp(out, "x\0y", 4) == 0);
	ck_assert_uint_eq(http_segment_decode(out, "", 0), 0);
	ck_assert_str_eq(out, "");
	/* In place. */
	strcpy(out, "%61%62c");
	ck_assert_uint_eq(http_segment_decode(out, out, 7), 3);
	ck_assert_str_eq(out, "abc");
}
END_TEST

static const struct {
	const char *method;
	const char *target;
	const char *path;       /* NULL: 400 */
	const char *query;
} targets[] = {
	{ "GET", "/x/../y?a=b", "/y", "a=b" },
	{ "GET", "http://example.com/p/q?z", "/p/q", "z" },
	{ "GET", "HTTPS://example.com", "/", NULL },
	{ "GET", "http://example.com?k=v", "/", "k=v" },
	{ "GET", "/?", "/", "" },
	{ "GET", "/a?b?c", "/a", "b?c" },
	{ "OPTIONS", "*", "*", NULL },
	{ "GET", "*", NULL, NULL },
	{ "GET", "/a#frag", NULL, NULL },
	{ "CONNECT", "example.com:443", NULL, NULL },
	{ "GET", "ftp://example.com/", NULL, NULL },
	{ "GET", "/..?x", "/", "x" },
	/* %2F is no separator: ".." removes all of "a%2Fb". */
	{ "GET", "/a%2Fb/%2e%2e/c?d=%2F", "/c", "d=%2F" },
	{ "GET", "/a/%00?x", NULL, NULL },
	{ "GET", "/%C0%AF", NULL, NULL },
	{ "GET", "/%ED%A0%80", NULL, NULL },
	{ "GET", "/%FF", NULL, NULL },
	{ "GET", "/a%zz", NULL, NULL },
	{ "GET", "/a?b#c", NULL, NULL },
	{ "GET", "%2Fa", NULL, NULL },
};

START_TEST(test_targets)
{
	struct parsed *p = parsed_new();
	char in[256];
	size_t i;

	for (i = 0; i < NELEM(targets); i++) {
		snprintf(in, sizeof(in), "%s %s HTTP/1.1\r\nHost: h\r\n\r\n",
		         targets[i].method, targets[i].target);
		if (targets[i].path == NULL) {
			EACH_MODE(p, in, HTTP_PARSE_ERROR) {
				ck_assert_int_eq(p->r.status, 400);
				ck_assert_str_eq(p->r.code, "bad-request");
			}
			continue;
		}
		EACH_MODE(p, in, HTTP_PARSE_DONE) {
			ck_assert_str_eq(p->r.target, targets[i].target);
			ck_assert_str_eq(p->r.path, targets[i].path);
			if (targets[i].query == NULL)
				ck_assert_ptr_null(p->r.query);
			else
				ck_assert_str_eq(p->r.query,
				                 targets[i].query);
		}
	}
	parsed_free(p);
}
END_TEST

/* The raw path beside the decoded one, and the 400's detail. */
START_TEST(test_raw_path)
{
	static const struct {
		const char *target;
		const char *raw;        /* NULL: 400 with this detail */
		const char *path;
	} rows[] = {
		{ "/state/ns/a%2Fb", "/state/ns/a%2Fb", "/state/ns/a/b" },
		{ "/state/ns/x/%2E%2E/k?q", "/state/ns/k", "/state/ns/k" },
		{ "http://h/a%2fb//c/.", "/a%2fb/c/", "/a/b/c/" },
		{ "http://h", "/", "/" },
		{ "*", "*", "*" },
		{ "/%68ealth", "/%68ealth", "/health" },
		{ "/a/%00", NULL, "a path segment decodes to a NUL byte" },
		{ "/a/%C0%AF", NULL,
		  "a path segment does not decode to UTF-8" },
		{ "/a%", NULL, "invalid percent-encoding in the path" },
	};
	struct parsed *p = parsed_new();
	char in[256];
	size_t i;

	for (i = 0; i < NELEM(rows); i++) {
		snprintf(in, sizeof(in), "%s %s HTTP/1.1\r\nHost: h\r\n\r\n",
		         rows[i].raw != NULL && strcmp(rows[i].target, "*") == 0
		         ? "OPTIONS" : "GET", rows[i].target);
		if (rows[i].raw == NULL) {
			EACH_MODE(p, in, HTTP_PARSE_ERROR) {
				ck_assert_int_eq(p->r.status, 400);
				ck_assert_str_eq(p->r.code, "bad-request");
				ck_assert_str_eq(p->r.detail, rows[i].path);
			}
			continue;
		}
		EACH_MODE(p, in, HTTP_PARSE_DONE) {
			ck_assert_str_eq(p->r.raw_path, rows[i].raw);
			ck_assert_str_eq(p->r.path, rows[i].path);
		}
	}
	parsed_free(p);
}
END_TEST

static const struct {
	const char *in;
	int status;
	const char *code;
} errors[] = {
	{ "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505, "error" },
	{ "GET / HTTP/0.9\r\nHost: h\r\n\r\n", 505, "error" },
	{ "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n folded\r\n\r\n", 400,
	  "bad-request" },
	{ "GET / HTTP/1.1\r\nHost: h\r\n\tX: a\r\n\r\n", 400, "bad-request" },
	{ "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
	  "Transfer-Encoding: chunked\r\n\r\n", 400, "bad-request" },
	{ "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n",
	  501, "error" },
	{ "POST / HTTP/1.1\r\nHost: h\r\n"
	  "Transfer-Encoding: gzip, chunked\r\n\r\n", 501, "error" },
	{ "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
	  "Transfer-Encoding: chunked\r\n\r\n", 400, "bad-request" },
	{ "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \r\n\r\n", 400,
	  "bad-request" },
	{ "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
	  "bad-request" },
	{ "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n"
	  "Content-Length: 1\r\n\r\n", 400, "bad-request" },
	{ "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 1\r\n\r\n", 400,
	  "bad-request" },
	{ "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400,
	  "bad-request" },
	{ "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \r\n\r\n", 400,
	  "bad-request" },
	{ "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4097\r\n\r\n", 413,
	  "payload-too-large" },
	{ "POST / HTTP/1.1\r\nHost: h\r\n"
	  "Content-Length: 99999999999999999999999999\r\n\r\n", 413,
	  "payload-too-large" },
	{ "GET / HTTP/1.1\r\n\r\n", 400, "bad-request" },
	{ "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "bad-request" },
	{ "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "bad-request" },
	{ "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400, "bad-request" },
	{ "GET / http/1.1\r\nHost: h\r\n\r\n", 400, "bad-request" },
	{ "GET / HTTP/1.10\r\nHost: h\r\n\r\n", 400, "bad-request" },
	{ "GET /\r\n\r\n", 400, "bad-request" },
	{ " GET / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "bad-request" },
	{ "G(ET / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "bad-request" },
	{ "GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n", 400, "bad-request" },
	{ "GET / HTTP/1.1\rHost: h\r\n\r\n", 400, "bad-request" },
	{ "GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", 400, "bad-request" },
	{ "GET / HTTP/1.1\r\nHost: h\r\nX: a\x01\r\n\r\n", 400, "bad-request" },
	{ "GET / HTTP/1.1\r\nHost: h\r\nBad Name: v\r\n\r\n", 400,
	  "bad-request" },
	{ "GET / HTTP/1.1\r\nHost: h\r\nX : v\r\n\r\n", 400, "bad-request" },
	{ "GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n", 400, "bad-request" },
	{ "GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", 400, "bad-request" },
	{ "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n", 400,
	  "bad-request" },
	{ "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "zz\r\n", 400, "bad-request" },
	{ "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "\r\n", 400, "bad-request" },
	{ "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "3\r\nabcd\r\n", 400, "bad-request" },
	{ "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "3\nabc\r\n", 400, "bad-request" },
	{ "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "3;a\nb\r\nabc\r\n", 400, "bad-request" },
	{ "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "1001\r\n", 413, "payload-too-large" },
	{ "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "800\r\n", 0, NULL },     /* fine so far: 2048 */
	{ "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "fffffffffffffffffffffffff\r\n", 413, "payload-too-large" },
	{ "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "0\r\nX: a\rb\r\n\r\n", 400, "bad-request" },
};

START_TEST(test_errors)
{
	struct parsed *p = parsed_new();
	size_t i;

	for (i = 0; i < NELEM(errors); i++) {
		if (errors[i].status == 0) {
			EACH_MODE(p, errors[i].in, HTTP_PARSE_MORE) {
				ck_assert_int_eq(p->heads, 1);
			}
			continue;
		}
		EACH_MODE(p, errors[i].in, HTTP_PARSE_ERROR) {
			ck_assert_msg(p->r.status == errors[i].status,
			              "row %zu: status %d, want %d (%s)", i,
			              p->r.status, errors[i].status,
			              p->r.detail);
			ck_assert_str_eq(p->r.code, errors[i].code);
			ck_assert_ptr_nonnull(p->r.detail);
		}
	}
	parsed_free(p);
}
END_TEST

/* A NUL inside a line must not hide the rest of it. */
START_TEST(test_nul_in_head)
{
	struct parsed *p = parsed_new();
	static const char in[] = "GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n";
	static const char in2[] = "GET / HTTP/1.1\0x\r\nHost: h\r\n\r\n";
	enum feed_mode m;

	for (m = 0; m < FEED_MODES; m++) {
		feed(p, in, sizeof(in) - 1, m, MAX_HEAD, MAX_BODY);
		ck_assert_int_eq(p->res, HTTP_PARSE_ERROR);
		ck_assert_int_eq(p->r.status, 400);
		feed(p, in2, sizeof(in2) - 1, m, MAX_HEAD, MAX_BODY);
		ck_assert_int_eq(p->res, HTTP_PARSE_ERROR);
		ck_assert_int_eq(p->r.status, 400);
	}
	parsed_free(p);
}
END_TEST

/* Builds a head of exactly len bytes (request line and fields with their
 * CRLFs, without the final empty line), then the empty line. */
static char *
head_of(size_t len)
{
	const char *start = "GET / HTTP/1.1\r\nHost: h\r\nX: ";
	size_t n = strlen(start);
	char *s = malloc(len + 3);

	ck_assert_ptr_nonnull(s);
	ck_assert_uint_ge(len, n + 3);
	memcpy(s, start, n);
	memset(s + n, 'a', len - n - 2);
	memcpy(s + len - 2, "\r\n\r\n", 5);
	return s;
}

START_TEST(test_header_bound)
{
	struct parsed *p = parsed_new();
	char *at = head_of(MAX_HEAD), *over = head_of(MAX_HEAD + 1);
	enum feed_mode m;

	for (m = 0; m < FEED_MODES; m++) {
		feed(p, at, strlen(at), m, MAX_HEAD, MAX_BODY);
		ck_assert_msg(p->res == HTTP_PARSE_DONE, "%s: %d %s",
		              mode_names[m], p->res, p->r.detail);
		ck_assert_uint_eq(strlen(http_request_header(&p->r, "x")),
		                  MAX_HEAD - 28 - 2);
		feed(p, over, strlen(over), m, MAX_HEAD, MAX_BODY);
		ck_assert_int_eq(p->res, HTTP_PARSE_ERROR);
		ck_assert_int_eq(p->r.status, 431);
		ck_assert_str_eq(p->r.code, "headers-too-large");
	}
	free(at);
	free(over);
	parsed_free(p);
}
END_TEST

/* 431 as soon as the bound is passed, without waiting for a line end. */
START_TEST(test_header_bound_early)
{
	struct parsed *p = parsed_new();
	size_t len = 64 * 1024;
	char *in = malloc(len);
	enum feed_mode m;

	ck_assert_ptr_nonnull(in);
	memcpy(in, "GET / HTTP/1.1\r\nX: ", 19);
	memset(in + 19, 'a', len - 19);
	for (m = 0; m < FEED_MODES; m++) {
		feed(p, in, len, m, MAX_HEAD, MAX_BODY);
		ck_assert_int_eq(p->res, HTTP_PARSE_ERROR);
		ck_assert_int_eq(p->r.status, 431);
		ck_assert_uint_le(p->consumed, MAX_HEAD + 1);
		ck_assert_uint_le(p->r.head_cap, MAX_HEAD + 2);
	}
	free(in);
	parsed_free(p);
}
END_TEST

START_TEST(test_content_length_body)
{
	struct parsed *p = parsed_new();
	const char *in = "POST /upload HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 11\r\n\r\nhello worldGET /next";

	EACH_MODE(p, in, HTTP_PARSE_DONE) {
		ck_assert_int_eq(p->heads, 1);
		ck_assert_uint_eq(p->r.body_len, 11);
		ck_assert(memcmp(p->r.body, "hello world", 11) == 0);
		/* the next request is left alone */
		ck_assert_uint_eq(p->consumed, strlen(in) - 9);
	}
	parsed_free(p);
}
END_TEST

START_TEST(test_413_before_body)
{
	struct parsed *p = parsed_new();
	const char *in = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n"
	    "\r\n";
	enum feed_mode m;

	for (m = 0; m < FEED_MODES; m++) {
		feed(p, in, strlen(in), m, MAX_HEAD, 9);
		ck_assert_int_eq(p->res, HTTP_PARSE_ERROR);
		ck_assert_int_eq(p->r.status, 413);
		ck_assert_uint_eq(p->r.body_cap, 0);
		feed(p, in, strlen(in), m, MAX_HEAD, 10);
		ck_assert_int_eq(p->res, HTTP_PARSE_MORE);
		ck_assert_int_eq(p->heads, 1);
	}
	/* max_body 0: no body at all, but an empty one is fine */
	feed(p, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
	     47, FEED_WHOLE, MAX_HEAD, 0);
	ck_assert_int_eq(p->res, HTTP_PARSE_DONE);
	parsed_free(p);
}
END_TEST

START_TEST(test_chunked_body)
{
	struct parsed *p = parsed_new();
	const char *in = "POST / HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: Chunked\r\n\r\n"
	    "5\r\nhello\r\n"
	    "1;name=value;x=\"q\"\r\n \r\n"
	    "00005 \r\nworld\r\n"
	    "0\r\nTrailer: x\r\nOther: y\r\n\r\n"
	    "NEXT";

	EACH_MODE(p, in, HTTP_PARSE_DONE) {
		ck_assert(p->r.chunked);
		ck_assert_int_eq(p->heads, 1);
		ck_assert_uint_eq(p->r.body_len, 11);
		ck_assert(memcmp(p->r.body, "hello world", 11) == 0);
		ck_assert_uint_eq(p->consumed, strlen(in) - 4);
		/* trailers are dropped, not merged into the fields */
		ck_assert_ptr_null(http_request_header(&p->r, "trailer"));
	}
	parsed_free(p);
}
END_TEST

/* The chunks add up: 2 KiB + 2 KiB + 1 byte passes a 4 KiB bound. */
START_TEST(test_chunked_413_total)
{
	struct parsed *p = parsed_new();
	size_t len = 0;
	char *in = malloc(8192);
	enum feed_mode m;

	ck_assert_ptr_nonnull(in);
	len += (size_t)sprintf(in, "POST / HTTP/1.1\r\nHost: h\r\n"
	                       "Transfer-Encoding: chunked\r\n\r\n800\r\n");
	memset(in + len, 'a', 2048);
	len += 2048;
	len += (size_t)sprintf(in + len, "\r\n800\r\n");
	memset(in + len, 'b', 2048);
	len += 2048;
	len += (size_t)sprintf(in + len, "\r\n1\r\nc\r\n0\r\n\r\n");
	for (m = 0; m < FEED_MODES; m++) {
		feed(p, in, len, m, MAX_HEAD, MAX_BODY);
		ck_assert_int_eq(p->res, HTTP_PARSE_ERROR);
		ck_assert_int_eq(p->r.status, 413);
		ck_assert_uint_eq(p->r.body_len, 4096);
		feed(p, in, len, m, MAX_HEAD, MAX_BODY + 1);
		ck_assert_int_eq(p->res, HTTP_PARSE_DONE);
		ck_assert_uint_eq(p->r.body_len, 4097);
	}
	free(in);
	parsed_free(p);
}
END_TEST

START_TEST(test_connection_and_expect)
{
	struct parsed *p = parsed_new();

	EACH_MODE(p, "GET / HTTP/1.0\r\n\r\n", HTTP_PARSE_DONE) {
		ck_assert_int_eq(p->r.minor, 0);
		ck_assert(!p->r.keep_alive);
	}
	EACH_MODE(p, "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
	          HTTP_PARSE_DONE)
		ck_assert(p->r.keep_alive);
	EACH_MODE(p, "GET / HTTP/1.1\r\nHost: h\r\n"
	          "Connection: upgrade, close\r\n\r\n", HTTP_PARSE_DONE)
		ck_assert(!p->r.keep_alive);
	EACH_MODE(p, "GET / HTTP/1.2\r\nHost: h\r\n\r\n", HTTP_PARSE_DONE) {
		ck_assert_int_eq(p->r.minor, 1);
		ck_assert(p->r.keep_alive);
	}
	EACH_MODE(p, "PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\n"
	          "Content-Length: 2\r\n\r\nok", HTTP_PARSE_DONE) {
		ck_assert(p->r.expect_continue);
		ck_assert_int_eq(p->heads, 1);
	}
	EACH_MODE(p, "PUT / HTTP/1.0\r\nExpect: 100-continue\r\n"
	          "Content-Length: 2\r\n\r\nok", HTTP_PARSE_DONE)
		ck_assert(!p->r.expect_continue);
	parsed_free(p);
}
END_TEST

/* One connection's parser, request after request: buffers are reused,
 * and a large body is not kept. */
START_TEST(test_reuse)
{
	struct parsed *p = parsed_new();
	size_t big = 100 * 1024, n;
	char *in = malloc(big + 128);
	char *head;

	ck_assert_ptr_nonnull(in);
	n = (size_t)sprintf(in, "POST / HTTP/1.1\r\nHost: h\r\n"
	                    "Content-Length: %zu\r\n\r\n", big);
	memset(in + n, 'z', big);
	feed(p, in, n + big, FEED_WHOLE, MAX_HEAD, big);
	ck_assert_int_eq(p->res, HTTP_PARSE_DONE);
	ck_assert_uint_eq(p->r.body_len, big);
	EACH_MODE(p, "GET /x HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_PARSE_DONE) {
		ck_assert_uint_eq(p->r.body_cap, 0);
		ck_assert_str_eq(p->r.path, "/x");
	}
	head = p->r.head;
	EACH_MODE(p, "GET /y HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_PARSE_DONE)
		ck_assert_ptr_eq(p->r.head, head);
	free(in);
	parsed_free(p);
}
END_TEST

/* Done and failed parsers take nothing more until reset. */
START_TEST(test_sticky_end)
{
	struct parsed *p = parsed_new();
	size_t used = 99;

	feed(p, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 27, FEED_WHOLE, 64, 0);
	ck_assert_int_eq(p->res, HTTP_PARSE_DONE);
	ck_assert_int_eq(http_request_parse(&p->r, "GET", 3, &used),
	                 HTTP_PARSE_DONE);
	ck_assert_uint_eq(used, 0);
	feed(p, "GET / HTTP/9.9\r\nHost: h\r\n\r\n", 27, FEED_WHOLE, 64, 0);
	ck_assert_int_eq(p->res, HTTP_PARSE_ERROR);
	ck_assert_int_eq(http_request_parse(&p->r, "GET", 3, &used),
	                 HTTP_PARSE_ERROR);
	ck_assert_uint_eq(used, 0);
	parsed_free(p);
}
END_TEST

static const char *const seeds[] = {
	"GET /a/b?c=d HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n",
	"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
	"PUT /%41/./b HTTP/1.0\r\nConnection: keep-alive\r\n"
	"Content-Length: 3\r\n\r\nxyz",
	"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
	"4;e=1\r\nwiki\r\n5\r\npedia\r\n0\r\nT: v\r\n\r\n",
	"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET http://h/x/../y HTTP/1.1\r\nHost: h\r\n\r\n",
};

/* xorshift32: the same cases on every run */
static uint32_t
rnd(uint32_t *st)
{
	*st ^= *st << 13;
	*st ^= *st >> 17;
	*st ^= *st << 5;
	return *st;
}

static int
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/*
 * Mutated requests, small limits: however the bytes are cut, the parser
 * must reach the same verdict and the same request.
 */
START_TEST(test_cuts_agree)
{
	static const char alphabet[] = "\r\n\0 \t:%/.a0f;,-\x80\x7f";
	struct parsed *ref = parsed_new(), *p = parsed_new();
	char in[256];
	uint32_t st = 0x9e3779b9u;
	size_t len, i, k, limits[][2] = { { 1024, 4096 }, { 40, 6 } };
	int iter, nmut;
	enum feed_mode m;

	for (iter = 0; iter < 4000; iter++) {
		const char *seed = seeds[rnd(&st) % NELEM(seeds)];
		size_t *lim = limits[rnd(&st) % 2];

		len = strlen(seed);
		memcpy(in, seed, len);
		nmut = (int)(rnd(&st) % 4);
		for (k = 0; k < (size_t)nmut; k++) {
			i = rnd(&st) % len;
			in[i] = alphabet[rnd(&st) % (sizeof(alphabet) - 1)];
		}
		if (rnd(&st) % 4 == 0)
			len -= rnd(&st) % len;
		feed(ref, in, len, FEED_WHOLE, lim[0], lim[1]);
		for (m = FEED_BYTES; m < FEED_MODES; m++) {
			feed(p, in, len, m, lim[0], lim[1]);
			ck_assert_msg(p->res == ref->res &&
			              p->r.status == ref->r.status,
			              "iteration %d, %s: %d/%d, whole: %d/%d",
			              iter, mode_names[m], p->res, p->r.status,
			              ref->res, ref->r.status);
			if (ref->res != HTTP_PARSE_DONE)
				continue;
			ck_assert_uint_eq(p->consumed, ref->consumed);
			ck_assert(same_str(p->r.method, ref->r.method));
			ck_assert(same_str(p->r.target, ref->r.target));
			ck_assert(same_str(p->r.path, ref->r.path));
			ck_assert(same_str(p->r.raw_path, ref->r.raw_path));
			ck_assert(same_str(p->r.query, ref->r.query));
			ck_assert_uint_eq(p->r.nfields, ref->r.nfields);
			ck_assert_uint_eq(p->r.body_len, ref->r.body_len);
			ck_assert(p->r.body_len == 0 ||
			          memcmp(p->r.body, ref->r.body,
			                 p->r.body_len) == 0);
		}
	}
	parsed_free(ref);
	parsed_free(p);
}
END_TEST

/*
 * Handing out: the body comes back in pieces pointing into the data fed,
 * whatever the cuts, and what follows it stays for the next request.
 */
static enum http_parse_result
hand_out_all(const char *in, size_t len, enum feed_mode mode, size_t max_body,
             char *body, size_t *body_len, size_t *consumed)
{
	struct http_request r;
	enum http_parse_result res;
	size_t off = 0, n, used, piece = 1;

	http_request_init(&r);
	http_request_reset(&r, MAX_HEAD, max_body);
	*body_len = 0;
	for (;;) {
		n = len - off;
		if (mode == FEED_BYTES && n > 1)
			n = 1;
		if (mode == FEED_PIECES) {
			piece = piece % 7 + 2;
			if (n > piece)
				n = piece;
		}
		res = http_request_parse(&r, in + off, n, &used);
		ck_assert_uint_le(used, n);
		off += used;
		if (res == HTTP_PARSE_HEAD) {
			http_request_hand_out(&r);
			continue;
		}
		if (res == HTTP_PARSE_BODY) {
			/* inside what was fed, ending where used ends */
			ck_assert(r.piece >= in && r.piece + r.piece_len ==
			          in + off);
			memcpy(body + *body_len, r.piece, r.piece_len);
			*body_len += r.piece_len;
			continue;
		}
		if (res != HTTP_PARSE_MORE || off == len)
			break;
	}
	ck_assert_ptr_null(r.body);
	http_request_free(&r);
	*consumed = off;
	return res;
}

START_TEST(test_hand_out)
{
	static const char sized[] = "POST /u HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 11\r\n\r\nhello worldGET / HTTP/1.1\r\n";
	static const char chunked[] = "POST /u HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n"
	    "6\r\n world\r\n0\r\nT: 1\r\n\r\nGET / HTTP/1.1\r\n";
	static const char big[] = "POST /u HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n9\r\n";
	char body[64];
	size_t len, used;
	enum feed_mode m;

	for (m = 0; m < FEED_MODES; m++) {
		ck_assert_int_eq(hand_out_all(sized, strlen(sized), m, 100,
		                              body, &len, &used),
		                 HTTP_PARSE_DONE);
		ck_assert_uint_eq(len, 11);
		ck_assert(memcmp(body, "hello world", 11) == 0);
		ck_assert_str_eq(sized + used, "GET / HTTP/1.1\r\n");
		ck_assert_int_eq(hand_out_all(chunked, strlen(chunked), m, 100,
		                              body, &len, &used),
		                 HTTP_PARSE_DONE);
		ck_assert_uint_eq(len, 11);
		ck_assert(memcmp(body, "hello world", 11) == 0);
		ck_assert_str_eq(chunked + used, "GET / HTTP/1.1\r\n");
		/* 8 + 9 > 16: refused at the size, as when copying */
		ck_assert_int_eq(hand_out_all(big, strlen(big), m, 16, body,
		                              &len, &used), HTTP_PARSE_ERROR);
		ck_assert_uint_eq(len, 8);
	}
}
END_TEST

static Suite *
http_parse_suite(void)
{
	Suite *s = suite_create("http_parse");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_simple_get);
	tcase_add_test(tc, test_lf_only_and_leading_empty_lines);
	tcase_add_test(tc, test_percent_decoded_once);
	tcase_add_test(tc, test_path_normalise);
	tcase_add_test(tc, test_segment_decode);
	tcase_add_test(tc, test_targets);
	tcase_add_test(tc, test_raw_path);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_nul_in_head);
	tcase_add_test(tc, test_header_bound);
	tcase_add_test(tc, test_header_bound_early);
	tcase_add_test(tc, test_content_length_body);
	tcase_add_test(tc, test_413_before_body);
	tcase_add_test(tc, test_chunked_body);
	tcase_add_test(tc, test_chunked_413_total);
	tcase_add_test(tc, test_connection_and_expect);
	tcase_add_test(tc, test_reuse);
	tcase_add_test(tc, test_sticky_end);
	tcase_add_test(tc, test_cuts_agree);
	tcase_add_test(tc, test_hand_out);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(http_parse_suite)
