/*
 * test_resp_parse.c - the upstream response parser (src/http/resp_parse.c).
 *
 * Every input is a stream of responses, parsed the way a proxy reads an
 * upstream connection, and written down as a transcript (heads, fields,
 * bodies, trailers, where each response ended, errors). The stream is
 * fed whole, one byte at a time, cut in two at every position, and in
 * random pieces; every way must give the transcript the test expects:
 * the parser keeps no state that depends on where the bytes were cut.
 * Body pieces must lie inside the bytes fed: they are never copies.
 */
#include "unit.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/resp_parse.h"

#define MAX_HEAD 256
#define RANDOM_RUNS 64

/* A growing text. */
struct text {
	char *p;
	size_t n, cap;
};

static void
put(struct text *t, const void *p, size_t n)
{
	if (t->n + n + 1 > t->cap) {
		t->cap = (t->n + n + 1) * 2;
		t->p = realloc(t->p, t->cap);
		ck_assert_ptr_nonnull(t->p);
	}
	memcpy(t->p + t->n, p, n);
	t->n += n;
	t->p[t->n] = '\0';
}

static void
putf(struct text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
putf(struct text *t, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ck_assert_int_lt(n, (int)sizeof(buf));
	put(t, buf, (size_t)n);
}

static const char *const framing_names[] = {
	"none", "length", "chunked", "close",
};

static void
describe_head(struct text *t, const struct http_response *r)
{
	size_t i;

	putf(t, "head %d 1.%d \"%s\" %s", r->status, r->minor, r->reason,
	     framing_names[r->framing]);
	if (r->framing == RESP_LENGTH)
		putf(t, " %llu", (unsigned long long)r->length);
	putf(t, "%s\n", r->keep_alive ? " keep-alive" : "");
	for (i = 0; i < r->nfields; i++)
		putf(t, "  %s: %s\n", r->fields[i].name, r->fields[i].value);
}

static void
flush_body(struct text *t, struct text *body)
{
	if (body->n == 0)
		return;
	putf(t, "body %zu: ", body->n);
	put(t, body->p, body->n);
	put(t, "\n", 1);
	body->n = 0;
}

/* How a stream is cut: piece sizes used in turn (none: one piece). */
struct cuts {
	const size_t *size;
	size_t n;
};

struct stream {
	const char *in;
	size_t len;
	int head_request;
	int finish;         /* the connection closes after the bytes */
};

/* The length of the next piece, from pos, of at most left bytes. */
static size_t
next_piece(const struct cuts *c, size_t *next, size_t left)
{
	size_t n;

	if (c->n == 0)
		return left;
	n = c->size[(*next)++ % c->n];
	return n < left ? n : left;
}

/*
 * Parses s cut as c with r and writes the transcript into t. After each
 * DONE the next response is begun on the rest; after a 101 the rest is
 * the tunnel's.
 */
static void
run(struct http_response *r, const struct stream *s, const struct cuts *c,
    struct text *t)
{
	struct text body = {0};
	enum resp_result res;
	size_t pos = 0, have = 0, next = 0, used, plen;
	const char *piece;

	resp_begin(r, s->head_request);
	for (;;) {
		if (pos == have)
			have += next_piece(c, &next, s->len - have);
		res = resp_parse(r, s->in + pos, have - pos, &used, &piece,
		                 &plen);
		ck_assert_uint_le(used, have - pos);
		if (res == RESP_BODY) {
			ck_assert_uint_gt(plen, 0);
			ck_assert(piece >= s->in + pos &&
			          piece + plen <= s->in + pos + used);
			put(&body, piece, plen);
		} else {
			ck_assert_ptr_null(piece);
		}
		pos += used;
		if (res == RESP_MORE) {
			ck_assert_uint_eq(pos, have);
			if (have == s->len)
				break;
		} else if (res == RESP_HEAD) {
			describe_head(t, r);
		} else if (res == RESP_DONE) {
			flush_body(t, &body);
			for (size_t i = 0; i < r->ntrailers; i++)
				putf(t, "  trailer %s: %s\n",
				     r->trailers[i].name, r->trailers[i].value);
			putf(t, "done at %zu\n", pos);
			if (r->status == 101) {
				putf(t, "tunnel: %.*s\n", (int)(s->len - pos),
				     s->in + pos);
				goto out;
			}
			if (pos == s->len)
				goto out;
			resp_begin(r, s->head_request);
		} else if (res == RESP_ERROR) {
			flush_body(t, &body);
			putf(t, "error: %s\n", r->error);
			ck_assert(!r->keep_alive);
			/* It stays failed. */
			ck_assert_int_eq(resp_parse(r, "x", 1, &used, &piece,
			                            &plen), RESP_ERROR);
			ck_assert_uint_eq(used, 0);
			goto out;
		}
	}
	flush_body(t, &body);
	if (s->finish) {
		res = resp_finish(r);
		if (res == RESP_DONE)
			putf(t, "closed: done\n");
		else
			putf(t, "closed: error: %s\n", r->error);
	} else {
		putf(t, "more\n");
	}
out:
	free(body.p);
}

static unsigned
rnd(unsigned *st)
{
	*st = *st * 1103515245u + 12345u;
	return *st >> 16;
}

static void
expect_run(struct http_response *r, const struct stream *s,
           const struct cuts *c, const char *how, const char *want)
{
	struct text t = {0};

	run(r, s, c, &t);
	ck_assert_msg(strcmp(t.p, want) == 0,
	              "fed %s:\n%.1500s\n-- want:\n%.1500s\n-- input:\n%.300s",
	              how, t.p, want, s->in);
	free(t.p);
}

/*
 * Parses in every way; each must give want. finish: the connection
 * closes after the bytes.
 */
static void
expect(const char *in, int head_request, int finish, const char *want)
{
	struct stream s = { in, strlen(in), head_request, finish };
	struct http_response r;
	size_t one = 1, two[2], sizes[8], i;
	unsigned st = 7;
	char how[64];

	resp_init(&r, MAX_HEAD);
	expect_run(&r, &s, &(struct cuts){ NULL, 0 }, "whole", want);
	expect_run(&r, &s, &(struct cuts){ &one, 1 }, "a byte at a time",
	           want);
	for (i = 1; i < s.len; i++) {
		two[0] = i;
		two[1] = s.len;
		snprintf(how, sizeof(how), "cut at %zu", i);
		expect_run(&r, &s, &(struct cuts){ two, 2 }, how, want);
	}
	for (int run_ = 0; run_ < RANDOM_RUNS; run_++) {
		for (i = 0; i < 8; i++)
			sizes[i] = rnd(&st) % 9 + 1;
		snprintf(how, sizeof(how), "random run %d", run_);
		expect_run(&r, &s, &(struct cuts){ sizes, 8 }, how, want);
	}
	resp_free(&r);
}

START_TEST(test_length_body)
{
	expect("HTTP/1.1 200 OK\r\n"
	       "Content-Type:  text/plain \t\r\n"
	       "Content-Length: 5\r\n"
	       "X-Empty:\r\n"
	       "\r\n"
	       "hello",
	       0, 0,
	       "head 200 1.1 \"OK\" length 5 keep-alive\n"
	       "  Content-Type: text/plain\n"
	       "  Content-Length: 5\n"
	       "  X-Empty: \n"
	       "body 5: hello\n"
	       "done at 82\n");
}
END_TEST

START_TEST(test_length_stops_at_end)
{
	/* The bytes after the body are the next response's. */
	expect("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
	       "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"
	       "HTTP/1.1 204 No Content\r\n\r\n",
	       0, 0,
	       "head 200 1.1 \"OK\" length 3 keep-alive\n"
	       "  Content-Length: 3\n"
	       "body 3: abc\n"
	       "done at 41\n"
	       "head 404 1.1 \"Not Found\" length 0 keep-alive\n"
	       "  content-length: 0\n"
	       "done at 86\n"
	       "head 204 1.1 \"No Content\" none keep-alive\n"
	       "done at 113\n");
}
END_TEST

START_TEST(test_status_lines)
{
	expect("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", 0, 0,
	       "head 200 1.1 \"\" length 0 keep-alive\n"
	       "  Content-Length: 0\n"
	       "done at 35\n");
	expect("HTTP/1.1 599 \r\nContent-Length: 0\r\n\r\n", 0, 0,
	       "head 599 1.1 \"\" length 0 keep-alive\n"
	       "  Content-Length: 0\n"
	       "done at 36\n");
	expect("HTTP/1.1 999 Odd but  fine\nContent-Length: 0\n\n", 0, 0,
	       "head 999 1.1 \"Odd but  fine\" length 0 keep-alive\n"
	       "  Content-Length: 0\n"
	       "done at 46\n");
	/* A later 1.x minor is read as 1.1. */
	expect("HTTP/1.7 200 OK\r\nContent-Length: 0\r\n\r\n", 0, 0,
	       "head 200 1.1 \"OK\" length 0 keep-alive\n"
	       "  Content-Length: 0\n"
	       "done at 38\n");
}
END_TEST

START_TEST(test_bad_status_lines)
{
	static const struct {
		const char *in;
		const char *error;
	} cases[] = {
		{ "HTTP/1.1 99 OK\r\n\r\n", "malformed status code" },
		{ "HTTP/1.1 099 OK\r\n\r\n", "malformed status code" },
		{ "HTTP/1.1 1000 OK\r\n\r\n", "malformed status code" },
		{ "HTTP/1.1 20x OK\r\n\r\n", "malformed status code" },
		{ "HTTP/1.1 200\tOK\r\n\r\n", "malformed status code" },
		{ "HTTP/1.1  200 OK\r\n\r\n", "malformed status code" },
		{ "HTTP/1.1 200 O\x01K\r\n\r\n",
		  "invalid character in reason phrase" },
		{ "HTTP/2.0 200 OK\r\n\r\n", "HTTP version not supported" },
		{ "HTTP/1.1200 OK\r\n\r\n", "malformed status line" },
		{ "http/1.1 200 OK\r\n\r\n", "malformed status line" },
		{ "HTTP/1 200 OK\r\n\r\n", "malformed status line" },
		{ "ICY 200 OK\r\n\r\n", "malformed status line" },
		{ "HTTP/1.1 200 OK\r\n", NULL },
		{ "\r\nHTTP/1.1 200 OK\r\n\r\n",
		  "empty line before the status line" },
		{ "HTTP/1.1 200 OK\r\n folded\r\n\r\n",
		  "obsolete line folding" },
		{ "HTTP/1.1 200 OK\r\nA: b\r\n\tc\r\n\r\n",
		  "obsolete line folding" },
		{ "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
		  "malformed header field" },
		{ "HTTP/1.1 200 OK\r\nName : x\r\n\r\n",
		  "malformed header field" },
		{ "HTTP/1.1 200 OK\r\n: x\r\n\r\n", "malformed header field" },
		{ "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
		  "malformed header field" },
		{ "HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n",
		  "invalid character in header field" },
		{ "HTTP/1.1 200 OK\r\nA: b\x7f\r\n\r\n",
		  "invalid character in header field" },
	};
	char want[128];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].error == NULL) {
			/* The head never ends: the close cuts it. */
			expect(cases[i].in, 0, 1,
			       "closed: error: closed in the response head\n");
			continue;
		}
		snprintf(want, sizeof(want), "error: %s\n", cases[i].error);
		expect(cases[i].in, 0, 0, want);
	}
}
END_TEST

START_TEST(test_nul_in_head)
{
	static const char in[] = "HTTP/1.1 200 OK\r\nA: b\0c\r\n\r\n";
	struct stream s = { in, sizeof(in) - 1, 0, 0 };
	struct http_response r;
	struct text t = {0};

	resp_init(&r, MAX_HEAD);
	run(&r, &s, &(struct cuts){ NULL, 0 }, &t);
	ck_assert_str_eq(t.p, "error: invalid character in header field\n");
	free(t.p);
	resp_free(&r);
}
END_TEST

START_TEST(test_head_bound)
{
	char in[MAX_HEAD + 64];
	int n;

	/* Status line and fields of exactly MAX_HEAD bytes pass... */
	n = snprintf(in, sizeof(in), "HTTP/1.1 204 No Content\r\nX: ");
	memset(in + n, 'a', MAX_HEAD - (size_t)n - 2);
	strcpy(in + MAX_HEAD - 2, "\r\n\r\n");
	{
		struct text want = {0};

		putf(&want, "head 204 1.1 \"No Content\" none keep-alive\n"
		     "  X: %.*s\ndone at %d\n", MAX_HEAD - n - 2, in + n,
		     MAX_HEAD + 2);
		expect(in, 0, 0, want.p);
		free(want.p);
	}
	/* ...one more byte does not, and fails as soon as it arrives. */
	n = snprintf(in, sizeof(in), "HTTP/1.1 204 No Content\r\nX: ");
	memset(in + n, 'a', MAX_HEAD - (size_t)n);
	in[MAX_HEAD] = '\0';
	expect(in, 0, 0, "more\n");
	in[MAX_HEAD] = 'a';
	in[MAX_HEAD + 1] = '\0';
	expect(in, 0, 0, "error: response head too large\n");
}
END_TEST

START_TEST(test_interim_heads)
{
	expect("HTTP/1.1 100 Continue\r\n\r\n"
	       "HTTP/1.1 103 Early Hints\r\n"
	       "Link: </a.css>; rel=preload\r\n"
	       "Link: </b.js>; rel=preload\r\n\r\n"
	       "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
	       0, 0,
	       "head 100 1.1 \"Continue\" none keep-alive\n"
	       "head 103 1.1 \"Early Hints\" none keep-alive\n"
	       "  Link: </a.css>; rel=preload\n"
	       "  Link: </b.js>; rel=preload\n"
	       "head 200 1.1 \"OK\" length 2 keep-alive\n"
	       "  Content-Length: 2\n"
	       "body 2: ok\n"
	       "done at 150\n");
	/* An interim head's fields are gone with the next head. */
	expect("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
	       "HTTP/1.1 204 No Content\r\n\r\n",
	       0, 0,
	       "head 103 1.1 \"Early Hints\" none keep-alive\n"
	       "  Link: </a>\n"
	       "head 204 1.1 \"No Content\" none keep-alive\n"
	       "done at 67\n");
	/* Closed after the interim head: no response. */
	expect("HTTP/1.1 100 Continue\r\n\r\n", 0, 1,
	       "head 100 1.1 \"Continue\" none keep-alive\n"
	       "closed: error: closed before the response\n");
}
END_TEST

START_TEST(test_switching_protocols)
{
	expect("HTTP/1.1 101 Switching Protocols\r\n"
	       "Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
	       "\x81\x05hello HTTP/1.1 200 OK\r\n\r\n",
	       0, 0,
	       "head 101 1.1 \"Switching Protocols\" none keep-alive\n"
	       "  Upgrade: websocket\n"
	       "  Connection: Upgrade\n"
	       "done at 77\n"
	       "tunnel: \x81\x05hello HTTP/1.1 200 OK\r\n\r\n\n");
}
END_TEST

START_TEST(test_no_body_statuses)
{
	/* 204 and 304 have no body whatever their fields say; so has the
	 * answer to a HEAD. */
	expect("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"
	       "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n",
	       0, 0,
	       "head 304 1.1 \"Not Modified\" none keep-alive\n"
	       "  Content-Length: 10\n"
	       "done at 49\n"
	       "head 204 1.1 \"No Content\" none keep-alive\n"
	       "  Transfer-Encoding: chunked\n"
	       "done at 104\n");
	expect("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
	       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	       "HTTP/1.1 200 OK\r\n\r\n",
	       1, 0,
	       "head 200 1.1 \"OK\" none keep-alive\n"
	       "  Content-Length: 10\n"
	       "done at 39\n"
	       "head 200 1.1 \"OK\" none keep-alive\n"
	       "  Transfer-Encoding: chunked\n"
	       "done at 86\n"
	       "head 200 1.1 \"OK\" none keep-alive\n"
	       "done at 105\n");
	/* Even then a Content-Length must be one. */
	expect("HTTP/1.1 304 Not Modified\r\nContent-Length: x\r\n\r\n",
	       0, 0, "error: invalid Content-Length\n");
}
END_TEST

START_TEST(test_content_length_lists)
{
	expect("HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n"
	       "Content-Length: 3\r\n\r\nabcdef",
	       0, 0,
	       "head 200 1.1 \"OK\" length 3 keep-alive\n"
	       "  Content-Length: 3, 3\n"
	       "  Content-Length: 3\n"
	       "body 3: abc\n"
	       "done at 63\n"
	       "more\n");
	expect("HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\nabcd", 0, 0,
	       "error: invalid Content-Length\n");
	expect("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
	       "Content-Length: 4\r\n\r\nabcd", 0, 0,
	       "error: invalid Content-Length\n");
	expect("HTTP/1.1 200 OK\r\nContent-Length: 3,\r\n\r\nabc", 0, 0,
	       "error: invalid Content-Length\n");
	expect("HTTP/1.1 200 OK\r\nContent-Length: ,3\r\n\r\nabc", 0, 0,
	       "error: invalid Content-Length\n");
	expect("HTTP/1.1 200 OK\r\nContent-Length: 3 3\r\n\r\nabc", 0, 0,
	       "error: invalid Content-Length\n");
	expect("HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", 0, 0,
	       "error: invalid Content-Length\n");
	expect("HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\nabc", 0, 0,
	       "error: invalid Content-Length\n");
	expect("HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616"
	       "\r\n\r\n", 0, 0, "error: invalid Content-Length\n");
	/* The largest that fits is taken; the close then cuts it short. */
	expect("HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615"
	       "\r\n\r\nab", 0, 1,
	       "head 200 1.1 \"OK\" length 18446744073709551615 keep-alive\n"
	       "  Content-Length: 18446744073709551615\n"
	       "body 2: ab\n"
	       "closed: error: closed in the response body\n");
}
END_TEST

START_TEST(test_until_close)
{
	expect("HTTP/1.1 200 OK\r\n\r\nall of this\r\n\r\nHTTP/1.1 200",
	       0, 1,
	       "head 200 1.1 \"OK\" close\n"
	       "body 27: all of this\r\n\r\nHTTP/1.1 200\n"
	       "closed: done\n");
	/* Nothing at all: a close before any byte is no response. */
	expect("", 0, 1, "closed: error: closed before the response\n");
	/* A body that ended exactly at the close is whole. */
	expect("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 0, 1,
	       "head 200 1.1 \"OK\" length 2 keep-alive\n"
	       "  Content-Length: 2\n"
	       "body 2: ok\n"
	       "done at 40\n");
}
END_TEST

START_TEST(test_transfer_encoding)
{
	/* Chunked wins over Content-Length, and the connection goes. */
	expect("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n"
	       "Transfer-Encoding: chunked\r\n\r\n"
	       "3\r\nabc\r\n0\r\n\r\n",
	       0, 0,
	       "head 200 1.1 \"OK\" chunked\n"
	       "  Content-Length: 100\n"
	       "  Transfer-Encoding: chunked\n"
	       "body 3: abc\n"
	       "done at 81\n");
	/* chunked last, after another coding (the body stays encoded). */
	expect("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n"
	       "Transfer-Encoding: CHUNKED\r\n\r\n1\r\nz\r\n0\r\n\r\n",
	       0, 0,
	       "head 200 1.1 \"OK\" chunked keep-alive\n"
	       "  Transfer-Encoding: gzip\n"
	       "  Transfer-Encoding: CHUNKED\n"
	       "body 1: z\n"
	       "done at 83\n");
	/* Not chunked last: the close ends the body (RFC 9112 §6.3). */
	expect("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n"
	       "Content-Length: 2\r\n\r\nxyz",
	       0, 1,
	       "head 200 1.1 \"OK\" close\n"
	       "  Transfer-Encoding: chunked, gzip\n"
	       "  Content-Length: 2\n"
	       "body 3: xyz\n"
	       "closed: done\n");
	expect("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n"
	       "\r\n", 0, 0, "error: chunked applied more than once\n");
	expect("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
	       0, 0, "error: Transfer-Encoding in HTTP/1.0\n");
}
END_TEST

START_TEST(test_chunked)
{
	expect("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	       "5\r\nhello\r\n"
	       "1;name=value;q=\"a b\"\r\n \r\n"
	       "00000000000000A  ;x\r\n0123456789\r\n"
	       "0\r\n"
	       "X-Sum:  abc \r\n"
	       "x-more: 1\r\n"
	       "\r\n"
	       "HTTP/1.1 204 No Content\r\n\r\n",
	       0, 0,
	       "head 200 1.1 \"OK\" chunked keep-alive\n"
	       "  Transfer-Encoding: chunked\n"
	       "body 16: hello 0123456789\n"
	       "  trailer X-Sum: abc\n"
	       "  trailer x-more: 1\n"
	       "done at 145\n"
	       "head 204 1.1 \"No Content\" none keep-alive\n"
	       "done at 172\n");
	/* The last chunk without trailers, and a close after it. */
	expect("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	       "0\r\n\r\n", 0, 1,
	       "head 200 1.1 \"OK\" chunked keep-alive\n"
	       "  Transfer-Encoding: chunked\n"
	       "done at 52\n");
}
END_TEST

START_TEST(test_bad_chunked)
{
	static const struct {
		const char *body;
		const char *error;
	} cases[] = {
		{ "x\r\n", "malformed chunk size" },
		{ ";a\r\n", "malformed chunk size" },
		{ "5\n", "malformed chunk size" },
		{ "5\rx", "malformed chunk size" },
		{ "5;a\nb\r\n", "malformed chunk extension" },
		{ "5;a\x01\r\n", "malformed chunk extension" },
		{ "5\r\nhelloX", "chunk longer than its size" },
		{ "5\r\nhello\rX", "chunk longer than its size" },
		{ "5\r\nhello\n", "chunk longer than its size" },
		{ "00000000000000001\r\n", "chunk size too long" },
		{ "0\r\n folded: x\r\n\r\n", "obsolete line folding" },
		{ "0\r\nBad Name: x\r\n\r\n", "malformed header field" },
		{ "0\r\nA: \x01\r\n\r\n", "invalid character in header field" },
	};
	char in[256], want[128];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(in, sizeof(in), "HTTP/1.1 200 OK\r\n"
		         "Transfer-Encoding: chunked\r\n\r\n%s", cases[i].body);
		snprintf(want, sizeof(want), "head 200 1.1 \"OK\" chunked "
		         "keep-alive\n  Transfer-Encoding: chunked\n%s"
		         "error: %s\n", strstr(cases[i].body, "hello") ?
		         "body 5: hello\n" : "", cases[i].error);
		expect(in, 0, 0, want);
	}
	/* Cut short: in the data, in the size, in the trailers. */
	static const char *const short_bodies[] = {
		"5\r\nhel", "5", "5\r\nhello\r\n", "0\r\n", "0\r\nA: b\r\n",
	};
	for (i = 0; i < sizeof(short_bodies) / sizeof(short_bodies[0]); i++) {
		snprintf(in, sizeof(in), "HTTP/1.1 200 OK\r\n"
		         "Transfer-Encoding: chunked\r\n\r\n%s",
		         short_bodies[i]);
		snprintf(want, sizeof(want), "head 200 1.1 \"OK\" chunked "
		         "keep-alive\n  Transfer-Encoding: chunked\n%s"
		         "closed: error: closed in the response body\n",
		         strstr(short_bodies[i], "hel") ?
		         (strstr(short_bodies[i], "hello") ?
		          "body 5: hello\n" : "body 3: hel\n") : "");
		expect(in, 0, 1, want);
	}
}
END_TEST

START_TEST(test_chunk_extension_bound)
{
	static char in[8192];
	int n = snprintf(in, sizeof(in), "HTTP/1.1 200 OK\r\n"
	                 "Transfer-Encoding: chunked\r\n\r\n1;");

	memset(in + n, 'e', 4096);
	strcpy(in + n + 4096, "\r\nz\r\n0\r\n\r\n");
	expect(in, 0, 0, "head 200 1.1 \"OK\" chunked keep-alive\n"
	       "  Transfer-Encoding: chunked\n"
	       "body 1: z\n"
	       "done at 4155\n");
	in[n + 4096] = 'e';
	strcpy(in + n + 4097, "\r\nz\r\n0\r\n\r\n");
	expect(in, 0, 0, "head 200 1.1 \"OK\" chunked keep-alive\n"
	       "  Transfer-Encoding: chunked\n"
	       "error: malformed chunk extension\n");
}
END_TEST

START_TEST(test_trailer_bound)
{
	char in[1024], want[1024];
	int n = snprintf(in, sizeof(in), "HTTP/1.1 200 OK\r\n"
	                 "Transfer-Encoding: chunked\r\n\r\n0\r\nT: ");
	/* Trailer lines of exactly MAX_HEAD bytes pass, one more fails. */
	memset(in + n, 'v', MAX_HEAD - 5);
	strcpy(in + n + MAX_HEAD - 5, "\r\n\r\n");
	snprintf(want, sizeof(want), "head 200 1.1 \"OK\" chunked keep-alive\n"
	         "  Transfer-Encoding: chunked\n  trailer T: %.*s\n"
	         "done at %zu\n", MAX_HEAD - 5, in + n, strlen(in));
	expect(in, 0, 0, want);
	memset(in + n, 'v', MAX_HEAD - 4);
	strcpy(in + n + MAX_HEAD - 4, "\r\n\r\n");
	expect(in, 0, 0, "head 200 1.1 \"OK\" chunked keep-alive\n"
	       "  Transfer-Encoding: chunked\n"
	       "error: trailers too large\n");
}
END_TEST

START_TEST(test_keep_alive)
{
	expect("HTTP/1.1 200 OK\r\nConnection: close\r\n"
	       "Content-Length: 0\r\n\r\n", 0, 0,
	       "head 200 1.1 \"OK\" length 0\n"
	       "  Connection: close\n  Content-Length: 0\n"
	       "done at 57\n");
	expect("HTTP/1.1 200 OK\r\nConnection: Upgrade, CLOSE\r\n"
	       "Content-Length: 0\r\n\r\n", 0, 0,
	       "head 200 1.1 \"OK\" length 0\n"
	       "  Connection: Upgrade, CLOSE\n  Content-Length: 0\n"
	       "done at 66\n");
	expect("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 0, 0,
	       "head 200 1.0 \"OK\" length 0\n"
	       "  Content-Length: 0\n"
	       "done at 38\n");
	expect("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n"
	       "Content-Length: 0\r\n\r\n", 0, 0,
	       "head 200 1.0 \"OK\" length 0 keep-alive\n"
	       "  Connection: keep-alive\n  Content-Length: 0\n"
	       "done at 62\n");
	expect("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\nabc", 0, 1,
	       "head 200 1.0 \"OK\" close\n"
	       "  Connection: keep-alive\n"
	       "body 3: abc\n"
	       "closed: done\n");
}
END_TEST

START_TEST(test_header_lookup)
{
	static const char in[] = "HTTP/1.1 200 OK\r\nContent-Type: a/b\r\n"
	    "X-Twice: 1\r\nx-twice: 2\r\nContent-Length: 0\r\n\r\n";
	struct http_response r;
	size_t used, plen;
	const char *piece;

	resp_init(&r, MAX_HEAD);
	ck_assert_int_eq(resp_parse(&r, in, strlen(in), &used, &piece, &plen),
	                 RESP_HEAD);
	ck_assert_uint_eq(used, strlen(in));
	ck_assert_str_eq(resp_header(&r, "content-type"), "a/b");
	ck_assert_str_eq(resp_header(&r, "CONTENT-TYPE"), "a/b");
	ck_assert_str_eq(resp_header(&r, "X-TWICE"), "1");
	ck_assert_ptr_null(resp_header(&r, "Content"));
	ck_assert_ptr_null(resp_header(&r, "x"));
	ck_assert_int_eq(resp_parse(&r, in, 0, &used, &piece, &plen),
	                 RESP_DONE);
	ck_assert_uint_eq(used, 0);
	/* Done stays done, and takes nothing. */
	ck_assert_int_eq(resp_parse(&r, in, 5, &used, &piece, &plen),
	                 RESP_DONE);
	ck_assert_uint_eq(used, 0);
	ck_assert_int_eq(resp_finish(&r), RESP_DONE);
	resp_free(&r);
}
END_TEST

/* Parses in whole on r from resp_begin to RESP_DONE. */
static void
parse_whole(struct http_response *r, const char *in)
{
	size_t off = 0, len = strlen(in), used, plen;
	const char *piece;
	enum resp_result res;

	resp_begin(r, 0);
	do {
		res = resp_parse(r, in + off, len - off, &used, &piece, &plen);
		off += used;
	} while (res == RESP_HEAD || res == RESP_BODY);
	ck_assert_int_eq(res, RESP_DONE);
	ck_assert_uint_eq(off, len);
}

START_TEST(test_reuse_costs_no_allocation)
{
	static const char in[] = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\nT: x\r\n\r\n";
	struct http_response r;
	char *buf;
	struct http_field *fields, *trailers;
	size_t cap;

	resp_init(&r, MAX_HEAD);
	parse_whole(&r, in);
	buf = r.buf;
	cap = r.buf_cap;
	fields = r.fields;
	trailers = r.trailers;
	ck_assert_str_eq(resp_header(&r, "b"), "2");
	ck_assert_uint_eq(r.ntrailers, 1);
	for (int i = 0; i < 100; i++) {
		parse_whole(&r, in);
		ck_assert_ptr_eq(r.buf, buf);
		ck_assert_uint_eq(r.buf_cap, cap);
		ck_assert_ptr_eq(r.fields, fields);
		ck_assert_ptr_eq(r.trailers, trailers);
		ck_assert_str_eq(resp_header(&r, "a"), "1");
		ck_assert_str_eq(r.trailers[0].value, "x");
	}
	resp_free(&r);
}
END_TEST

START_TEST(test_head_survives_trailers)
{
	/* Trailers longer than the room the head left make the buffer
	 * grow: the head's strings must move with it. */
	char in[1024];
	struct http_response r;
	int n;

	resp_init(&r, 1000);
	n = snprintf(in, sizeof(in), "HTTP/1.1 200 Fine\r\nA: first\r\n"
	             "Transfer-Encoding: chunked\r\n\r\n0\r\nT: ");
	memset(in + n, 't', 900);
	strcpy(in + n + 900, "\r\n\r\n");
	parse_whole(&r, in);
	ck_assert_str_eq(r.reason, "Fine");
	ck_assert_str_eq(resp_header(&r, "a"), "first");
	ck_assert_str_eq(resp_header(&r, "transfer-encoding"), "chunked");
	ck_assert_uint_eq(r.ntrailers, 1);
	ck_assert_uint_eq(strlen(r.trailers[0].value), 900);
	resp_free(&r);
}
END_TEST

static Suite *
resp_parse_suite(void)
{
	Suite *s = suite_create("resp_parse");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_length_body);
	tcase_add_test(tc, test_length_stops_at_end);
	tcase_add_test(tc, test_status_lines);
	tcase_add_test(tc, test_bad_status_lines);
	tcase_add_test(tc, test_nul_in_head);
	tcase_add_test(tc, test_head_bound);
	tcase_add_test(tc, test_interim_heads);
	tcase_add_test(tc, test_switching_protocols);
	tcase_add_test(tc, test_no_body_statuses);
	tcase_add_test(tc, test_content_length_lists);
	tcase_add_test(tc, test_until_close);
	tcase_add_test(tc, test_transfer_encoding);
	tcase_add_test(tc, test_chunked);
	tcase_add_test(tc, test_bad_chunked);
	tcase_add_test(tc, test_chunk_extension_bound);
	tcase_add_test(tc, test_trailer_bound);
	tcase_add_test(tc, test_keep_alive);
	tcase_add_test(tc, test_header_lookup);
	tcase_add_test(tc, test_reuse_costs_no_allocation);
	tcase_add_test(tc, test_head_survives_trailers);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(resp_parse_suite)
