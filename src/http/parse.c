/*
 * parse.c - the request parser of parse.h.
 *
 * The head is gathered a line at a time with memchr, so the common case
 * of a head arriving whole never runs per-byte code twice; the only state
 * carried between pieces is where the current line began. Once the empty
 * line is there the head is split and checked in one pass. The chunked
 * framing can be cut anywhere, so it is a byte-wise state machine, except
 * for chunk data, which is copied in blocks.
 */
#include "http/parse.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "http/fields.h"
#include "util/hex.h"
#include "util/utf8.h"

enum {
	RS_HEAD,
	RS_BODY,
	RS_CHUNK_SIZE,
	RS_CHUNK_EXT,
	RS_CHUNK_SIZE_LF,
	RS_CHUNK_DATA,
	RS_CHUNK_CR,
	RS_CHUNK_LF,
	RS_TRAILER,
	RS_DONE,
	RS_ERROR,
};

/* RFC 9112 §2.2 asks to ignore at least one empty line before a request
 * line (old clients sent one after a POST body); a stream of them is not
 * a client. */
#define MAX_EMPTY_LINES 8
#define MAX_CHUNK_EXT   4096
#define BODY_KEEP       (64 * 1024)
#define MIN_ALLOC       256

/* What the fields of a head said; framing holds what both parsers read. */
struct head_facts {
	struct field_framing framing;
	unsigned nhost;
	unsigned expect_continue:1;
};

static enum http_parse_result
fail(struct http_request *r, int status, const char *code,
     const char *detail)
{
	r->state = RS_ERROR;
	r->status = status;
	r->code = code;
	r->detail = detail;
	return HTTP_PARSE_ERROR;
}

static enum http_parse_result
bad(struct http_request *r, const char *detail)
{
	return fail(r, 400, "bad-request", detail);
}

static enum http_parse_result
no_memory(struct http_request *r)
{
	return fail(r, 500, "internal", "out of memory");
}

/*
 * Returns buf grown to hold need bytes (doubling, but never past limit
 * when limit allows need), updating *cap; NULL when out of memory (buf is
 * then untouched).
 */
static void *
grow(void *buf, size_t *cap, size_t need, size_t limit)
{
	size_t ncap;
	void *nb;

	if (need <= *cap && buf != NULL)
		return buf;
	ncap = *cap < MIN_ALLOC ? MIN_ALLOC : *cap;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	if (ncap > limit && limit >= need)
		ncap = limit;
	if ((nb = realloc(buf, ncap)) == NULL)
		return NULL;
	*cap = ncap;
	return nb;
}

void
http_request_init(struct http_request *r)
{
	memset(r, 0, sizeof(*r));
	r->minor = 1;
	r->state = RS_HEAD;
}

void
http_request_reset(struct http_request *r, size_t max_head, size_t max_body)
{
	r->max_head = max_head;
	r->max_body = max_body;
	r->head_len = 0;
	r->line_start = 0;
	r->empty_lines = 0;
	r->method = NULL;
	r->target = NULL;
	r->path = NULL;
	r->raw_path = NULL;
	r->query = NULL;
	r->nfields = 0;
	r->minor = 1;
	r->keep_alive = 0;
	r->expect_continue = 0;
	r->chunked = 0;
	if (r->body_cap > BODY_KEEP) {
		free(r->body);
		r->body = NULL;
		r->body_cap = 0;
	}
	r->body_len = 0;
	r->body_left = 0;
	r->chunk_left = 0;
	r->chunk_digits = 0;
	r->chunk_ext = 0;
	r->trailer_bytes = 0;
	r->trailer_line = 0;
	r->trailer_cr = 0;
	r->hand_out = 0;
	r->piece = NULL;
	r->piece_len = 0;
	r->state = RS_HEAD;
	r->status = 0;
	r->code = NULL;
	r->detail = NULL;
}

void
http_request_free(struct http_request *r)
{
	free(r->head);
	free(r->fields);
	free(r->pathbuf);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

const char *
http_request_header(const struct http_request *r, const char *name)
{
	return field_find(r->fields, r->nfields, name);
}

/* --- the path ---------------------------------------------------------- */

size_t
http_segment_decode(char *dst, const char *s, size_t len)
{
	const char *pct = memchr(s, '%', len);
	size_t i, n;
	int hi, lo;

	/* Most segments hold no escape: one move. dst may be s. */
	n = pct != NULL ? (size_t)(pct - s) : len;
	memmove(dst, s, n);
	for (i = n; i < len; i++) {
		if (s[i] == '%' && len - i >= 3 &&
		    (hi = hex_digit((unsigned char)s[i + 1])) >= 0 &&
		    (lo = hex_digit((unsigned char)s[i + 2])) >= 0) {
			dst[n++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			dst[n++] = s[i];
		}
	}
	dst[n] = '\0';
	return n;
}

/* The decoded segment s[0..n): 1 for ".", 2 for "..", else 0. */
static int
plain_dots(const char *s, size_t n)
{
	if (n == 1 && s[0] == '.')
		return 1;
	if (n == 2 && s[0] == '.' && s[1] == '.')
		return 2;
	return 0;
}

/*
 * Checks the raw segment s[0..len) (no '/'), decoding it into scratch
 * (room for len + 1). Returns 0 for an ordinary segment, 1 for ".", 2 for
 * "..", or -1 with *why set.
 */
static int
segment_check(const char *s, size_t len, char *scratch, const char **why)
{
	unsigned char *d = (unsigned char *)scratch;
	size_t i, n = 0, step;
	int hi, lo, high = 0;

	for (i = 0; i < len; i++, n++) {
		d[n] = (unsigned char)s[i];
		if (s[i] == '%') {
			if (len - i < 3 ||
			    (hi = hex_digit((unsigned char)s[i + 1])) < 0 ||
			    (lo = hex_digit((unsigned char)s[i + 2])) < 0) {
				*why = "invalid percent-encoding in the path";
				return -1;
			}
			d[n] = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		if (d[n] == '\0') {
			*why = "a path segment decodes to a NUL byte";
			return -1;
		}
		high |= d[n] >= 0x80;
	}
	for (i = 0; high && i < n; i += step) {
		if ((step = utf8_sequence(d + i, n - i)) == 0) {
			*why = "a path segment does not decode to UTF-8";
			return -1;
		}
	}
	return plain_dots(scratch, n);
}

/*
 * The raw half of http_path_normalise(): segments are pushed onto raw
 * as they come and ".." pops the last one, found by the '/' before it
 * (a raw segment holds no '/'). Only a segment holding a '%', a NUL or a
 * byte above ASCII is decoded (into scratch) to be checked. Returns the
 * length of raw, or -1.
 */
static ssize_t
normalise_raw(const char *src, size_t len, char *raw, char *scratch,
              const char **why)
{
	size_t rd = 0, wr = 0, seg, n;
	unsigned char c;
	int dot, odd;

	while (rd < len) {
		while (rd < len && src[rd] == '/')
			rd++;
		for (seg = rd, odd = 0; rd < len && (c = src[rd]) != '/'; rd++)
			odd |= c == '%' || c >= 0x80 || c == '\0';
		if ((n = rd - seg) == 0) {
			raw[wr++] = '/';
			break;
		}
		if (!odd)
			dot = plain_dots(src + seg, n);
		else if ((dot = segment_check(src + seg, n, scratch, why)) < 0)
			return -1;
		if (dot == 2)
			while (wr > 0 && raw[--wr] != '/')
				;
		if (dot != 0) {
			if (rd == len)
				raw[wr++] = '/';
			continue;
		}
		raw[wr++] = '/';
		memcpy(raw + wr, src + seg, n);
		wr += n;
	}
	if (wr == 0)
		raw[wr++] = '/';
	raw[wr] = '\0';
	return (ssize_t)wr;
}

int
http_path_normalise(const char *src, size_t len, char *raw, char *decoded,
                    const char **why)
{
	ssize_t n;

	if (len == 0 || src[0] != '/') {
		*why = "the path does not start with '/'";
		return -1;
	}
	if ((n = normalise_raw(src, len, raw, decoded, why)) < 0)
		return -1;
	/* Segments decoded and joined with '/' are the whole raw path
	 * decoded: a raw '/' is always a separator. */
	http_segment_decode(decoded, raw, (size_t)n);
	return 0;
}

/*
 * Sets path and query from the target: origin-form "/p?q", absolute-form
 * "http://host/p?q" (the path is taken, the authority left to Host), or
 * "*" for OPTIONS. A fragment is never part of a request target.
 */
static enum http_parse_result
parse_target(struct http_request *r, const char *target)
{
	const char *p = target, *q, *why;
	size_t n;
	char *buf;

	if (strchr(target, '#') != NULL)
		return bad(r, "fragment in request target");
	if (strcmp(target, "*") == 0) {
		if (strcmp(r->method, "OPTIONS") != 0)
			return bad(r, "'*' target outside OPTIONS");
		r->path = r->raw_path = "*";
		return HTTP_PARSE_MORE;
	}
	if (*p != '/') {
		if (strncasecmp(p, "http://", 7) == 0)
			p += 7;
		else if (strncasecmp(p, "https://", 8) == 0)
			p += 8;
		else
			return bad(r, "request target is not a path");
		p += strcspn(p, "/?");
	}
	q = strchr(p, '?');
	n = q != NULL ? (size_t)(q - p) : strlen(p);
	if (q != NULL)
		r->query = q + 1;
	if (n == 0) {
		p = "/";
		n = 1;
	}
	/* The raw path, then the decoded one, each of at most n bytes. */
	buf = grow(r->pathbuf, &r->pathbuf_cap, 2 * (n + 1), SIZE_MAX);
	if (buf == NULL)
		return no_memory(r);
	r->pathbuf = buf;
	if (http_path_normalise(p, n, buf, buf + n + 1, &why) == -1)
		return bad(r, why);
	r->raw_path = buf;
	r->path = buf + n + 1;
	return HTTP_PARSE_MORE;
}

/* --- the head ---------------------------------------------------------- */

static enum http_parse_result
parse_request_line(struct http_request *r, char *line, const char *end)
{
	char *target, *v;
	size_t i;

	i = field_token_len(line);
	if (i == 0 || line[i] != ' ')
		return bad(r, "malformed request line");
	line[i] = '\0';
	r->method = line;
	target = line + i + 1;
	for (i = 0; (unsigned char)target[i] > 0x20 &&
	     (unsigned char)target[i] < 0x7f; i++)
		;
	if (i == 0 || target[i] != ' ')
		return bad(r, "malformed request line");
	target[i] = '\0';
	r->target = target;
	v = target + i + 1;
	if (end - v != 8 || strncmp(v, "HTTP/", 5) != 0 ||
	    v[5] < '0' || v[5] > '9' || v[6] != '.' ||
	    v[7] < '0' || v[7] > '9')
		return bad(r, "malformed HTTP version");
	if (v[5] != '1')
		return fail(r, 505, "error", "HTTP version not supported");
	/* RFC 9110 §2.5: a later 1.x minor is answered as 1.1. */
	r->minor = v[7] == '0' ? 0 : 1;
	return HTTP_PARSE_MORE;
}

/* Notes what the field name: value means for the request: its framing
 * and connection, then the fields only a request carries. */
static void
inspect_field(struct head_facts *f, const char *name, size_t nlen,
              const char *value)
{
	if (field_framing_note(&f->framing, name, nlen, value))
		return;
	if (nlen == 6 && strcasecmp(name, "Expect") == 0) {
		if (strcasecmp(value, "100-continue") == 0)
			f->expect_continue = 1;
	} else if (nlen == 4 && strcasecmp(name, "Host") == 0) {
		f->nhost++;
	}
}

/* Adds name: value to the request's fields, growing them. */
static enum http_parse_result
add_field(struct http_request *r, const char *name, const char *value)
{
	struct http_field *fields;

	if (r->nfields == r->fields_cap) {
		size_t cap = r->fields_cap * sizeof(*fields);

		fields = grow(r->fields, &cap, cap + sizeof(*fields),
		              SIZE_MAX);
		if (fields == NULL)
			return no_memory(r);
		r->fields = fields;
		r->fields_cap = cap / sizeof(*fields);
	}
	r->fields[r->nfields].name = name;
	r->fields[r->nfields].value = value;
	r->nfields++;
	return HTTP_PARSE_MORE;
}

static enum http_parse_result
parse_field(struct http_request *r, struct head_facts *f, char *line,
            char *end)
{
	const char *why;
	size_t nlen;
	char *value;

	if ((why = field_split_line(line, end, &nlen, &value)) != NULL)
		return bad(r, why);
	if (add_field(r, line, value) == HTTP_PARSE_ERROR)
		return HTTP_PARSE_ERROR;
	inspect_field(f, line, nlen, value);
	return HTTP_PARSE_MORE;
}

/* Content-Length: 1*DIGIT; a list ("5, 5") is refused like two fields. */
static enum http_parse_result
parse_content_length(struct http_request *r, const char *s)
{
	uint64_t v = 0, d, max = r->max_body;
	int big = 0;

	if (*s == '\0')
		return bad(r, "invalid Content-Length");
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return bad(r, "invalid Content-Length");
		d = (uint64_t)(*s - '0');
		/* v * 10 + d <= max, without overflowing */
		if (big || d > max || v > (max - d) / 10)
			big = 1;
		else
			v = v * 10 + d;
	}
	if (big)
		return fail(r, 413, "payload-too-large",
		            "request body too large");
	r->body_left = v;
	return HTTP_PARSE_MORE;
}

/* Decides how the body is framed (RFC 9112 §6.3) and what follows. */
static enum http_parse_result
framing(struct http_request *r, const struct field_framing *f)
{
	if (f->te_seen) {
		if (f->ncontent_length > 0)
			return bad(r, "both Content-Length and "
			           "Transfer-Encoding");
		if (f->te_other)
			return fail(r, 501, "error",
			            "unsupported transfer coding");
		if (f->nchunked != 1)
			return bad(r, "invalid Transfer-Encoding");
		/* RFC 9112 §6.1: faulty framing in an HTTP/1.0 message. */
		if (r->minor == 0)
			return bad(r, "Transfer-Encoding in HTTP/1.0");
		r->chunked = 1;
	} else if (f->ncontent_length > 1) {
		return bad(r, "more than one Content-Length");
	} else if (f->ncontent_length == 1 &&
	    parse_content_length(r, f->content_length) == HTTP_PARSE_ERROR) {
		return HTTP_PARSE_ERROR;
	}
	return HTTP_PARSE_MORE;
}

static enum http_parse_result
finish_head(struct http_request *r)
{
	struct head_facts f;
	char *pos = r->head, *limit = r->head + r->line_start, *line, *end;

	memset(&f, 0, sizeof(f));
	end = field_take_line(&pos, limit, &line);
	if (parse_request_line(r, line, end) == HTTP_PARSE_ERROR)
		return HTTP_PARSE_ERROR;
	while (pos < limit) {
		end = field_take_line(&pos, limit, &line);
		if (parse_field(r, &f, line, end) == HTTP_PARSE_ERROR)
			return HTTP_PARSE_ERROR;
	}
	if (framing(r, &f.framing) == HTTP_PARSE_ERROR)
		return HTTP_PARSE_ERROR;
	/* RFC 9112 §3.2: exactly one Host in an HTTP/1.1 request. */
	if (r->minor == 1 && f.nhost != 1)
		return bad(r, f.nhost == 0 ? "missing Host" :
		           "more than one Host");
	if (parse_target(r, r->target) == HTTP_PARSE_ERROR)
		return HTTP_PARSE_ERROR;
	r->keep_alive = field_framing_keep_alive(&f.framing, r->minor);
	r->expect_continue = r->minor == 1 && f.expect_continue;
	if (r->chunked) {
		r->state = RS_CHUNK_SIZE;
		return HTTP_PARSE_HEAD;
	}
	if (r->body_left > 0) {
		r->state = RS_BODY;
		return HTTP_PARSE_HEAD;
	}
	r->state = RS_DONE;
	return HTTP_PARSE_DONE;
}

/*
 * Copies head bytes up to each line end. The bound counts the request
 * line and fields; the empty line that ends them is free, and so is its
 * CR while the LF is still on the way.
 */
static enum http_parse_result
parse_head(struct http_request *r, const char *data, size_t len,
           size_t *used)
{
	size_t off = 0, n, line, counted;
	const char *p, *nl;
	char first, *buf;

	while (off < len) {
		p = data + off;
		nl = memchr(p, '\n', len - off);
		n = nl != NULL ? (size_t)(nl - p) + 1 : len - off;
		line = r->head_len - r->line_start + n;
		first = r->head_len > r->line_start ?
		    r->head[r->line_start] : p[0];
		if (nl != NULL && (line == 1 || (line == 2 && first == '\r'))) {
			off += n;
			r->head_len = r->line_start;
			if (r->line_start > 0) {
				*used = off;
				return finish_head(r);
			}
			if (++r->empty_lines > MAX_EMPTY_LINES)
				return bad(r, "empty lines before the request");
			continue;
		}
		counted = r->head_len + n -
		    (nl == NULL && line == 1 && first == '\r');
		if (counted > r->max_head) {
			*used = off;
			return fail(r, 431, "headers-too-large",
			            "request line and headers too large");
		}
		buf = grow(r->head, &r->head_cap, r->head_len + n + 1,
		           r->max_head + 2);
		if (buf == NULL)
			return no_memory(r);
		r->head = buf;
		memcpy(r->head + r->head_len, p, n);
		r->head_len += n;
		off += n;
		if (nl != NULL)
			r->line_start = r->head_len;
	}
	*used = off;
	return HTTP_PARSE_MORE;
}

/* --- the body ---------------------------------------------------------- */

static enum http_parse_result
body_append(struct http_request *r, const char *p, size_t n, size_t final)
{
	unsigned char *buf;

	buf = grow(r->body, &r->body_cap, r->body_len + n, final);
	if (buf == NULL)
		return no_memory(r);
	r->body = buf;
	memcpy(r->body + r->body_len, p, n);
	r->body_len += n;
	return HTTP_PARSE_MORE;
}

void
http_request_hand_out(struct http_request *r)
{
	r->hand_out = 1;
}

/* Hands out data[0..n) as the next piece. */
static enum http_parse_result
hand_out(struct http_request *r, const char *data, size_t n)
{
	r->piece = data;
	r->piece_len = n;
	r->body_len += n;
	return HTTP_PARSE_BODY;
}

static enum http_parse_result
parse_body(struct http_request *r, const char *data, size_t len,
           size_t *used)
{
	size_t n = len < r->body_left ? len : (size_t)r->body_left;

	if (n == 0)
		return HTTP_PARSE_MORE;
	/* The last piece ends the body: DONE comes with the next call. */
	if (r->hand_out) {
		r->body_left -= n;
		*used = n;
		if (r->body_left == 0)
			r->state = RS_DONE;
		return hand_out(r, data, n);
	}
	if (body_append(r, data, n, r->body_len + (size_t)r->body_left) ==
	    HTTP_PARSE_ERROR)
		return HTTP_PARSE_ERROR;
	r->body_left -= n;
	*used = n;
	if (r->body_left > 0)
		return HTTP_PARSE_MORE;
	r->state = RS_DONE;
	return HTTP_PARSE_DONE;
}

static enum http_parse_result
chunk_size_byte(struct http_request *r, unsigned char c)
{
	int d = hex_digit(c);

	if (d >= 0) {
		uint64_t room = r->max_body - r->body_len;

		/* chunk_left * 16 + d <= room, without overflowing */
		if ((uint64_t)d > room || r->chunk_left > (room - d) / 16)
			return fail(r, 413, "payload-too-large",
			            "request body too large");
		r->chunk_left = r->chunk_left * 16 + (uint64_t)d;
		r->chunk_digits++;
		return HTTP_PARSE_MORE;
	}
	if (r->chunk_digits == 0)
		return bad(r, "malformed chunk size");
	if (c == ';' || c == ' ' || c == '\t')
		r->state = RS_CHUNK_EXT;
	else if (c == '\r')
		r->state = RS_CHUNK_SIZE_LF;
	else
		return bad(r, "malformed chunk size");
	return HTTP_PARSE_MORE;
}

/* A trailer field byte: trailers are read to find their end, and
 * dropped (nothing downstream asks for them). */
static enum http_parse_result
trailer_byte(struct http_request *r, unsigned char c)
{
	if (r->trailer_cr && c != '\n')
		return bad(r, "bare CR in trailer");
	if (c == '\n') {
		r->trailer_cr = 0;
		if (r->trailer_line == 0) {
			r->state = RS_DONE;
			return HTTP_PARSE_DONE;
		}
		r->trailer_line = 0;
		return HTTP_PARSE_MORE;
	}
	if (c == '\r') {
		r->trailer_cr = 1;
		return HTTP_PARSE_MORE;
	}
	if (c == '\0')
		return bad(r, "NUL in trailer");
	r->trailer_line++;
	if (++r->trailer_bytes > r->max_head)
		return fail(r, 431, "headers-too-large", "trailers too large");
	return HTTP_PARSE_MORE;
}

static enum http_parse_result
chunked_byte(struct http_request *r, unsigned char c)
{
	switch (r->state) {
	case RS_CHUNK_SIZE:
		return chunk_size_byte(r, c);
	case RS_CHUNK_EXT:
		if (c == '\r')
			r->state = RS_CHUNK_SIZE_LF;
		else if (!field_is_value_char(c) ||
		         ++r->chunk_ext > MAX_CHUNK_EXT)
			return bad(r, "malformed chunk extension");
		return HTTP_PARSE_MORE;
	case RS_CHUNK_SIZE_LF:
		if (c != '\n')
			return bad(r, "malformed chunk size");
		r->state = r->chunk_left > 0 ? RS_CHUNK_DATA : RS_TRAILER;
		return HTTP_PARSE_MORE;
	case RS_CHUNK_CR:
		if (c != '\r')
			return bad(r, "chunk longer than its size");
		r->state = RS_CHUNK_LF;
		return HTTP_PARSE_MORE;
	case RS_CHUNK_LF:
		if (c != '\n')
			return bad(r, "chunk longer than its size");
		r->state = RS_CHUNK_SIZE;
		r->chunk_digits = 0;
		r->chunk_ext = 0;
		return HTTP_PARSE_MORE;
	default:
		return trailer_byte(r, c);
	}
}

static enum http_parse_result
parse_chunked(struct http_request *r, const char *data, size_t len,
              size_t *used)
{
	enum http_parse_result res;
	size_t off = 0, n;

	while (off < len) {
		if (r->state == RS_CHUNK_DATA) {
			n = len - off < r->chunk_left ?
			    len - off : (size_t)r->chunk_left;
			if (r->hand_out) {
				if ((r->chunk_left -= n) == 0)
					r->state = RS_CHUNK_CR;
				*used = off + n;
				return hand_out(r, data + off, n);
			}
			if (body_append(r, data + off, n, r->max_body) ==
			    HTTP_PARSE_ERROR)
				return HTTP_PARSE_ERROR;
			off += n;
			if ((r->chunk_left -= n) == 0)
				r->state = RS_CHUNK_CR;
			continue;
		}
		res = chunked_byte(r, (unsigned char)data[off++]);
		if (res != HTTP_PARSE_MORE) {
			*used = off;
			return res;
		}
	}
	*used = off;
	return HTTP_PARSE_MORE;
}

enum http_parse_result
http_request_parse(struct http_request *r, const char *data, size_t len,
                   size_t *used)
{
	*used = 0;
	switch (r->state) {
	case RS_HEAD:
		return parse_head(r, data, len, used);
	case RS_BODY:
		return parse_body(r, data, len, used);
	case RS_DONE:
		return HTTP_PARSE_DONE;
	case RS_ERROR:
		return HTTP_PARSE_ERROR;
	default:
		return parse_chunked(r, data, len, used);
	}
}
