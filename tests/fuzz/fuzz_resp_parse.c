/*
 * fuzz_resp_parse.c - libFuzzer target for the upstream response parser
 * (src/http/resp_parse.h).
 *
 * An input is an upstream connection's byte stream after a short prefix:
 * byte 0's low three bits are a count n (0-7) of piece sizes that follow
 * (each 1-256, used in turn), bit 3 says the responses answer HEAD
 * requests. The stream is parsed the way a proxy reads it: bytes arrive
 * a piece at a time, the parser takes what it wants, after each response
 * the next is begun on the rest, and when the bytes run out the
 * connection closes (resp_finish()).
 *
 * What comes out is written down as text (heads, fields, body, trailers,
 * where each response ended, errors). The stream fed in one piece must
 * give exactly the same text: a proxy whose idea of where a response
 * ends depends on how TCP cut the bytes can be made to smuggle one.
 * Every response is also checked on its own: a status of three digits,
 * field names that are tokens and values trimmed and free of controls,
 * body pieces inside the bytes fed, a Content-Length body exactly that
 * long, no body where the framing says none. A broken rule aborts, and
 * libFuzzer keeps the input.
 *
 * Seeds (tests/fuzz/seeds/resp_parse/) are responses of
 * tests/unit/test_resp_parse.c, prefixed by a zero byte (no cutting).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/resp_parse.h"

/* Small, so that the bound is within a fuzzer's reach. */
#define FUZZ_MAX_HEAD 1024

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct text {
	char *p;
	size_t n, cap;
};

#define check(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "fuzz_resp_parse: %s:%d: broken: %s\n", \
		        __FILE__, __LINE__, #cond); \
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

static void
check_fields(const struct http_field *f, size_t n, struct text *t)
{
	const char *s, *v;
	size_t i, len;

	for (i = 0; i < n; i++) {
		check(f[i].name[0] != '\0');
		for (s = f[i].name; *s != '\0'; s++)
			check(is_tchar((unsigned char)*s));
		v = f[i].value;
		for (s = v; *s != '\0'; s++)
			check(*s == '\t' || ((unsigned char)*s >= 0x20 &&
			                     (unsigned char)*s != 0x7f));
		len = strlen(v);
		check(len == 0 || (v[0] != ' ' && v[0] != '\t' &&
		                   v[len - 1] != ' ' && v[len - 1] != '\t'));
		puts_(t, f[i].name);
		puts_(t, v);
	}
}

static void
check_head(const struct http_response *r, int head_request, struct text *t)
{
	check(r->status >= 100 && r->status <= 999);
	check(r->minor == 0 || r->minor == 1);
	check(r->reason != NULL);
	putf(t, "-- head", (unsigned long long)r->status);
	puts_(t, r->reason);
	check_fields(r->fields, r->nfields, t);
	for (size_t i = 0; i < r->nfields; i++)
		check(resp_header(r, r->fields[i].name) != NULL);
	if (r->status < 200 || r->status == 204 || r->status == 304 ||
	    head_request)
		check(r->framing == RESP_NO_BODY);
	if (r->framing == RESP_UNTIL_CLOSE)
		check(!r->keep_alive);
	putf(t, "framing", r->framing);
	putf(t, "length", r->length);
	putf(t, "keep-alive", r->keep_alive);
}

/* One way of feeding the stream; the text of what came out goes to t. */
static void
parse_stream(const uint8_t *stream, size_t len, const uint8_t *cuts,
             size_t ncuts, int head_request, struct text *t)
{
	struct http_response r;
	enum resp_result res;
	size_t pos = 0, have = 0, next = 0, used, plen;
	uint64_t body = 0;
	const char *piece, *in = (const char *)stream;

	resp_init(&r, FUZZ_MAX_HEAD);
	resp_begin(&r, head_request);
	for (;;) {
		if (pos == have && have < len) {
			have += ncuts == 0 ? len :
			    (size_t)cuts[next++ % ncuts] + 1;
			if (have > len)
				have = len;
		}
		res = resp_parse(&r, in + pos, have - pos, &used, &piece,
		                 &plen);
		check(used <= have - pos);
		if (res == RESP_BODY) {
			check(plen > 0 && piece >= in + pos &&
			      piece + plen <= in + pos + used);
			check(r.framing != RESP_NO_BODY);
			put(t, piece, plen);
			body += plen;
			if (r.framing == RESP_LENGTH)
				check(body <= r.length);
		}
		pos += used;
		switch (res) {
		case RESP_MORE:
			check(pos == have);
			if (have < len)
				continue;
			res = resp_finish(&r);
			puts_(t, res == RESP_DONE ? "-- closed, done" :
			      "-- closed, error");
			goto out;
		case RESP_HEAD:
			check_head(&r, head_request, t);
			body = 0;
			continue;
		case RESP_BODY:
			continue;
		case RESP_DONE:
			if (r.framing == RESP_LENGTH)
				check(body == r.length);
			check_fields(r.trailers, r.ntrailers, t);
			putf(t, "-- done at", pos);
			if (r.status == 101 || pos == len)
				goto out;
			resp_begin(&r, head_request);
			continue;
		case RESP_ERROR:
			check(r.error != NULL && r.error[0] != '\0');
			check(!r.keep_alive);
			puts_(t, "-- error");
			puts_(t, r.error);
			check(resp_parse(&r, "x", 1, &used, &piece, &plen) ==
			      RESP_ERROR && used == 0);
			goto out;
		}
	}
out:
	resp_free(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct text whole = {0}, cut = {0};
	size_t ncuts;
	int head_request;

	if (size == 0)
		return 0;
	ncuts = data[0] & 7;
	head_request = (data[0] >> 3) & 1;
	if (size < 1 + ncuts)
		return 0;
	parse_stream(data + 1 + ncuts, size - 1 - ncuts, NULL, 0,
	             head_request, &whole);
	if (ncuts > 0) {
		parse_stream(data + 1 + ncuts, size - 1 - ncuts, data + 1,
		             ncuts, head_request, &cut);
		if (whole.n != cut.n || memcmp(whole.p, cut.p, whole.n) != 0) {
			fprintf(stderr, "fuzz_resp_parse: the stream parsed in "
			        "one piece:\n%s\n-- and cut:\n%s\n", whole.p,
			        cut.p);
			abort();
		}
	}
	free(whole.p);
	free(cut.p);
	return 0;
}
