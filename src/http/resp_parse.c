/*
 * resp_parse.c - the upstream response parser of resp_parse.h.
 *
 * Heads and trailers are gathered a line at a time with memchr into the
 * parser's buffer, then split in place in one pass, as the request parser
 * does. The chunked framing can be cut anywhere, so it is a byte-wise
 * state machine, except for chunk data, which is handed back as it lies
 * in the bytes fed. Each call returns at most one body piece, so a proxy
 * can pass it on (and stop reading) before the parser goes further.
 *
 * Trailers are gathered behind the final head in the same buffer; when
 * the buffer must grow then, the head's pointers are moved with it.
 */
#include "http/resp_parse.h"

#include <stdlib.h>
#include <string.h>

#include "http/fields.h"
#include "util/hex.h"

enum {
	RS_HEAD,
	RS_INTERIM,         /* a 1xx head was returned; the next follows */
	RS_BODY,            /* Content-Length bytes still to come */
	RS_UNTIL_CLOSE,
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

/* 16 hex digits hold any uint64_t; a longer size is not a real chunk. */
#define MAX_CHUNK_DIGITS 16
#define MAX_CHUNK_EXT    4096
#define MIN_ALLOC        256

/* A list of fields in the buffer: the head's or the trailers'. */
struct field_list {
	struct http_field **fields;
	size_t *n;
	size_t *cap;
};

static enum resp_result
fail(struct http_response *r, const char *why)
{
	r->state = RS_ERROR;
	r->error = why;
	r->keep_alive = 0;
	return RESP_ERROR;
}

static void
clear_head(struct http_response *r)
{
	r->minor = 1;
	r->status = 0;
	r->reason = NULL;
	r->nfields = 0;
	r->framing = RESP_NO_BODY;
	r->length = 0;
	r->keep_alive = 0;
	r->buf_len = 0;
	r->line_start = 0;
	r->part_start = 0;
}

void
resp_init(struct http_response *r, size_t max_head)
{
	memset(r, 0, sizeof(*r));
	r->max_head = max_head;
	resp_begin(r, 0);
}

void
resp_free(struct http_response *r)
{
	free(r->buf);
	free(r->fields);
	free(r->trailers);
	memset(r, 0, sizeof(*r));
}

void
resp_begin(struct http_response *r, int head_request)
{
	clear_head(r);
	r->ntrailers = 0;
	r->error = NULL;
	r->left = 0;
	r->chunk_digits = 0;
	r->chunk_ext = 0;
	r->head_request = head_request;
	r->state = RS_HEAD;
}

const char *
resp_header(const struct http_response *r, const char *name)
{
	return field_find(r->fields, r->nfields, name);
}

/* --- the buffer -------------------------------------------------------- */

static const char *
moved(const char *p, const char *old, char *nb)
{
	return p != NULL ? nb + (p - old) : NULL;
}

/*
 * Makes room for need bytes in buf. Not realloc: while trailers are
 * gathered the head's strings live in buf, and their pointers are moved
 * into the new block while the old one still exists.
 */
static int
reserve(struct http_response *r, size_t need)
{
	size_t ncap, i;
	char *nb;

	if (need <= r->buf_cap)
		return 0;
	ncap = r->buf_cap < MIN_ALLOC ? MIN_ALLOC : r->buf_cap;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	if ((nb = malloc(ncap)) == NULL)
		return -1;
	if (r->buf_len > 0)
		memcpy(nb, r->buf, r->buf_len);
	r->reason = moved(r->reason, r->buf, nb);
	for (i = 0; i < r->nfields; i++) {
		r->fields[i].name = moved(r->fields[i].name, r->buf, nb);
		r->fields[i].value = moved(r->fields[i].value, r->buf, nb);
	}
	free(r->buf);
	r->buf = nb;
	r->buf_cap = ncap;
	return 0;
}

/*
 * Copies the lines of a head or a trailer section (begun at part_start)
 * into buf up to the empty line that ends it. Returns 1 when that line
 * has arrived (*used is past it; buf_len is the end of the last line), 0
 * when every byte was taken, -1 on error. The bound counts the lines, not
 * the empty one, nor its CR while the LF is on the way.
 */
static int
gather(struct http_response *r, const char *data, size_t len, size_t *used,
       const char *too_large)
{
	size_t off = 0, n, line, counted;
	const char *p, *nl;
	char first;

	while (off < len) {
		p = data + off;
		nl = memchr(p, '\n', len - off);
		n = nl != NULL ? (size_t)(nl - p) + 1 : len - off;
		line = r->buf_len - r->line_start + n;
		first = r->buf_len > r->line_start ?
		    r->buf[r->line_start] : p[0];
		if (nl != NULL && (line == 1 || (line == 2 && first == '\r'))) {
			r->buf_len = r->line_start;
			*used = off + n;
			return 1;
		}
		counted = r->buf_len - r->part_start + n -
		    (nl == NULL && line == 1 && first == '\r');
		*used = off;
		if (counted > r->max_head) {
			fail(r, too_large);
			return -1;
		}
		if (reserve(r, r->buf_len + n + 1) == -1) {
			fail(r, "out of memory");
			return -1;
		}
		memcpy(r->buf + r->buf_len, p, n);
		r->buf_len += n;
		off += n;
		if (nl != NULL)
			r->line_start = r->buf_len;
	}
	*used = off;
	return 0;
}

/* --- the head ---------------------------------------------------------- */

/* HTTP/1.x SP 3DIGIT [SP reason]: a missing reason is common enough. */
static enum resp_result
parse_status_line(struct http_response *r, char *line, const char *end)
{
	const char *p;

	if (end - line < 12 || strncmp(line, "HTTP/", 5) != 0 ||
	    line[5] < '0' || line[5] > '9' || line[6] != '.' ||
	    line[7] < '0' || line[7] > '9' || line[8] != ' ')
		return fail(r, "malformed status line");
	if (line[5] != '1')
		return fail(r, "HTTP version not supported");
	if (line[9] < '1' || line[9] > '9' || line[10] < '0' ||
	    line[10] > '9' || line[11] < '0' || line[11] > '9')
		return fail(r, "malformed status code");
	if (end - line > 12 && line[12] != ' ')
		return fail(r, "malformed status code");
	for (p = line + 12; p < end; p++)
		if (!field_is_value_char((unsigned char)*p))
			return fail(r, "invalid character in reason phrase");
	/* RFC 9110 §2.5: a later 1.x minor is read as 1.1. */
	r->minor = line[7] == '0' ? 0 : 1;
	r->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 +
	    (line[11] - '0');
	r->reason = end - line > 12 ? line + 13 : end;
	return RESP_MORE;
}

/* Adds name: value to list, growing it. */
static enum resp_result
add_field(struct http_response *r, struct field_list *list,
          const char *name, const char *value)
{
	struct http_field *fields;

	if (*list->n == *list->cap) {
		size_t cap = *list->cap < 16 ? 16 : *list->cap * 2;

		fields = realloc(*list->fields, cap * sizeof(*fields));
		if (fields == NULL)
			return fail(r, "out of memory");
		*list->fields = fields;
		*list->cap = cap;
	}
	(*list->fields)[*list->n].name = name;
	(*list->fields)[*list->n].value = value;
	(*list->n)++;
	return RESP_MORE;
}

/* One field line, added to list; f (the head's, NULL for trailers,
 * which cannot change the framing already followed) notes it. */
static enum resp_result
parse_field(struct http_response *r, struct field_list *list,
            struct field_framing *f, char *line, char *end)
{
	const char *why;
	size_t nlen;
	char *value;

	if ((why = field_split_line(line, end, &nlen, &value)) != NULL)
		return fail(r, why);
	if (add_field(r, list, line, value) == RESP_ERROR)
		return RESP_ERROR;
	if (f != NULL)
		field_framing_note(f, line, nlen, value);
	return RESP_MORE;
}

/* Splits the field lines in buf from pos to buf_len into list. */
static enum resp_result
split_fields(struct http_response *r, struct field_list *list,
             struct field_framing *f, char *pos)
{
	char *limit = r->buf + r->buf_len, *line, *end;

	while (pos < limit) {
		end = field_take_line(&pos, limit, &line);
		if (parse_field(r, list, f, line, end) == RESP_ERROR)
			return RESP_ERROR;
	}
	return RESP_MORE;
}

/*
 * RFC 9112 §6.3, for a final head. A coding after chunked leaves only
 * the close to end the body (§6.3 item 4), so it is read until close
 * rather than refused; either way the connection cannot be reused.
 */
static enum resp_result
decide_framing(struct http_response *r, const struct field_framing *f)
{
	int no_body = r->head_request || r->status == 204 ||
	    r->status == 304;

	if (f->te_seen && !no_body) {
		/* §6.1: Transfer-Encoding in HTTP/1.0 is faulty framing. */
		if (r->minor == 0)
			return fail(r, "Transfer-Encoding in HTTP/1.0");
		if (f->nchunked > 1)
			return fail(r, "chunked applied more than once");
		/* A Content-Length beside it, valid or not, may have
		 * framed the body otherwise for another hop (§6.1). */
		if (f->ncontent_length > 0)
			r->keep_alive = 0;
		if (f->last_chunked) {
			r->framing = RESP_CHUNKED;
			return RESP_MORE;
		}
		r->framing = RESP_UNTIL_CLOSE;
		r->keep_alive = 0;
		return RESP_MORE;
	}
	if (f->bad_length)
		return fail(r, "invalid Content-Length");
	if (no_body) {
		r->framing = RESP_NO_BODY;
	} else if (f->ncontent_length > 0) {
		r->framing = RESP_LENGTH;
		r->length = f->length;
	} else {
		r->framing = RESP_UNTIL_CLOSE;
		r->keep_alive = 0;
	}
	return RESP_MORE;
}

static void
enter_body(struct http_response *r)
{
	switch (r->framing) {
	case RESP_LENGTH:
		r->left = r->length;
		r->state = r->left > 0 ? RS_BODY : RS_DONE;
		break;
	case RESP_CHUNKED:
		r->state = RS_CHUNK_SIZE;
		r->chunk_digits = 0;
		r->chunk_ext = 0;
		r->left = 0;
		break;
	case RESP_UNTIL_CLOSE:
		r->state = RS_UNTIL_CLOSE;
		break;
	default:
		r->state = RS_DONE;
		break;
	}
}

static enum resp_result
finish_head(struct http_response *r)
{
	struct field_list list = { &r->fields, &r->nfields, &r->fields_cap };
	struct field_framing f;
	char *pos = r->buf, *line, *end;

	if (r->buf_len == 0)
		return fail(r, "empty line before the status line");
	memset(&f, 0, sizeof(f));
	end = field_take_line(&pos, r->buf + r->buf_len, &line);
	if (parse_status_line(r, line, end) == RESP_ERROR ||
	    split_fields(r, &list, &f, pos) == RESP_ERROR)
		return RESP_ERROR;
	r->keep_alive = field_framing_keep_alive(&f, r->minor);
	if (r->status == 101) {
		/* The tunnel's bytes follow: nothing more is parsed. */
		r->framing = RESP_NO_BODY;
		r->state = RS_DONE;
		return RESP_HEAD;
	}
	if (r->status < 200) {
		r->framing = RESP_NO_BODY;
		r->state = RS_INTERIM;
		return RESP_HEAD;
	}
	if (decide_framing(r, &f) == RESP_ERROR)
		return RESP_ERROR;
	enter_body(r);
	return RESP_HEAD;
}

static enum resp_result
parse_head(struct http_response *r, const char *data, size_t len,
           size_t *used)
{
	switch (gather(r, data, len, used, "response head too large")) {
	case 1:
		return finish_head(r);
	case 0:
		return RESP_MORE;
	default:
		return RESP_ERROR;
	}
}

/* --- the body ---------------------------------------------------------- */

static enum resp_result
parse_trailers(struct http_response *r, const char *data, size_t len,
               size_t *used)
{
	struct field_list list = { &r->trailers, &r->ntrailers,
	                           &r->trailers_cap };

	switch (gather(r, data, len, used, "trailers too large")) {
	case 1:
		break;
	case 0:
		return RESP_MORE;
	default:
		return RESP_ERROR;
	}
	if (split_fields(r, &list, NULL, r->buf + r->part_start) ==
	    RESP_ERROR)
		return RESP_ERROR;
	r->state = RS_DONE;
	return RESP_DONE;
}

static void
start_trailers(struct http_response *r)
{
	r->state = RS_TRAILER;
	r->part_start = r->buf_len;
	r->line_start = r->buf_len;
}

static enum resp_result
chunk_size_byte(struct http_response *r, unsigned char c)
{
	int d = hex_digit(c);

	if (d >= 0) {
		if (++r->chunk_digits > MAX_CHUNK_DIGITS)
			return fail(r, "chunk size too long");
		r->left = r->left << 4 | (uint64_t)d;
		return RESP_MORE;
	}
	if (r->chunk_digits == 0)
		return fail(r, "malformed chunk size");
	if (c == ';' || c == ' ' || c == '\t')
		r->state = RS_CHUNK_EXT;
	else if (c == '\r')
		r->state = RS_CHUNK_SIZE_LF;
	else
		return fail(r, "malformed chunk size");
	return RESP_MORE;
}

/* A byte of the chunked framing outside data and trailers. */
static enum resp_result
chunk_byte(struct http_response *r, unsigned char c)
{
	switch (r->state) {
	case RS_CHUNK_SIZE:
		return chunk_size_byte(r, c);
	case RS_CHUNK_EXT:
		if (c == '\r')
			r->state = RS_CHUNK_SIZE_LF;
		else if (!field_is_value_char(c) ||
		         ++r->chunk_ext > MAX_CHUNK_EXT)
			return fail(r, "malformed chunk extension");
		return RESP_MORE;
	case RS_CHUNK_SIZE_LF:
		if (c != '\n')
			return fail(r, "malformed chunk size");
		if (r->left > 0)
			r->state = RS_CHUNK_DATA;
		else
			start_trailers(r);
		return RESP_MORE;
	case RS_CHUNK_CR:
		if (c != '\r')
			return fail(r, "chunk longer than its size");
		r->state = RS_CHUNK_LF;
		return RESP_MORE;
	default:    /* RS_CHUNK_LF */
		if (c != '\n')
			return fail(r, "chunk longer than its size");
		r->state = RS_CHUNK_SIZE;
		r->chunk_digits = 0;
		r->chunk_ext = 0;
		return RESP_MORE;
	}
}

static enum resp_result
parse_chunked(struct http_response *r, const char *data, size_t len,
              size_t *used, const char **piece, size_t *piece_len)
{
	size_t off = 0, n, rest;
	enum resp_result res;

	while (off < len) {
		if (r->state == RS_CHUNK_DATA) {
			n = len - off < r->left ? len - off : (size_t)r->left;
			*piece = data + off;
			*piece_len = n;
			if ((r->left -= n) == 0)
				r->state = RS_CHUNK_CR;
			*used = off + n;
			return RESP_BODY;
		}
		if (r->state == RS_TRAILER) {
			res = parse_trailers(r, data + off, len - off, &rest);
			*used = off + rest;
			return res;
		}
		if (chunk_byte(r, (unsigned char)data[off++]) == RESP_ERROR) {
			*used = off;
			return RESP_ERROR;
		}
	}
	*used = off;
	return RESP_MORE;
}

static enum resp_result
parse_length(struct http_response *r, const char *data, size_t len,
             size_t *used, const char **piece, size_t *piece_len)
{
	size_t n = len < r->left ? len : (size_t)r->left;

	if (n == 0)
		return RESP_MORE;
	*piece = data;
	*piece_len = n;
	*used = n;
	if ((r->left -= n) == 0)
		r->state = RS_DONE;
	return RESP_BODY;
}

enum resp_result
resp_parse(struct http_response *r, const char *data, size_t len,
           size_t *used, const char **piece, size_t *piece_len)
{
	*used = 0;
	*piece = NULL;
	*piece_len = 0;
	if (r->state == RS_INTERIM) {
		/* The 1xx head was read; the next one replaces it. */
		clear_head(r);
		r->state = RS_HEAD;
	}
	switch (r->state) {
	case RS_HEAD:
		return parse_head(r, data, len, used);
	case RS_BODY:
		return parse_length(r, data, len, used, piece, piece_len);
	case RS_UNTIL_CLOSE:
		if (len == 0)
			return RESP_MORE;
		*piece = data;
		*piece_len = len;
		*used = len;
		return RESP_BODY;
	case RS_DONE:
		return RESP_DONE;
	case RS_ERROR:
		return RESP_ERROR;
	default:
		return parse_chunked(r, data, len, used, piece, piece_len);
	}
}

enum resp_result
resp_finish(struct http_response *r)
{
	switch (r->state) {
	case RS_DONE:
		return RESP_DONE;
	case RS_UNTIL_CLOSE:
		r->state = RS_DONE;
		return RESP_DONE;
	case RS_ERROR:
		return RESP_ERROR;
	case RS_HEAD:
	case RS_INTERIM:
		return fail(r, r->status == 0 && r->buf_len == 0 ?
		            "closed before the response" :
		            "closed in the response head");
	default:
		return fail(r, "closed in the response body");
	}
}

uint64_t
resp_body_left(const struct http_response *r)
{
	return r->state == RS_BODY && r->framing == RESP_LENGTH ? r->left : 0;
}

void
resp_body_moved(struct http_response *r, uint64_t n)
{
	if (r->state != RS_BODY || r->framing != RESP_LENGTH || n > r->left)
		return;
	if ((r->left -= n) == 0)
		r->state = RS_DONE;
}
