/*
 * parse.h - incremental HTTP/1.1 request parser (RFC 9112).
 *
 * The parser is fed whatever bytes have arrived, in pieces of any size,
 * and says how many it took. It copies the head (request line and header
 * fields) into a buffer it owns, so the bytes it is fed may be released
 * at once, and splits it in place when the empty line arrives: method,
 * target and fields are then NUL-terminated strings in that buffer. The
 * body is copied into a second buffer, de-chunked. Both buffers are kept
 * across requests of one connection, so a steady keep-alive stream costs
 * no allocation.
 *
 * Limits are decided as early as the bytes allow: a head longer than
 * max_head fails with 431 the moment the bound is passed, a body longer
 * than max_body with 413 from its Content-Length or from the chunk size
 * that would pass it, before any of it is read.
 */
#ifndef ASTER_HTTP_PARSE_H
#define ASTER_HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

struct http_field {
	const char *name;
	const char *value;
};

enum http_parse_result {
	HTTP_PARSE_MORE,    /* every byte taken; the request goes on */
	HTTP_PARSE_HEAD,    /* the head is complete and a body follows */
	HTTP_PARSE_DONE,    /* a whole request; the rest is the next one */
	HTTP_PARSE_ERROR,   /* status, code and detail say why */
	HTTP_PARSE_BODY,    /* handing out: a piece of body in r->piece */
};

struct http_request {
	/* Limits of this request (http_request_reset). */
	size_t max_head;
	size_t max_body;

	/* The head: raw bytes, split in place once complete. */
	char *head;
	size_t head_len;
	size_t head_cap;
	size_t line_start;          /* offset of the line being read */
	unsigned empty_lines;       /* empty lines before the request line */

	/* The parsed head; NULL until known. */
	const char *method;
	const char *target;         /* as received */
	const char *path;           /* normalised, segments decoded */
	const char *raw_path;       /* normalised, segments as received */
	const char *query;          /* after the first '?', or NULL */
	struct http_field *fields;
	size_t nfields;
	size_t fields_cap;
	char *pathbuf;
	size_t pathbuf_cap;
	int minor;                  /* HTTP/1.minor: 0 or 1 */
	unsigned keep_alive:1;      /* the connection may serve another */
	unsigned expect_continue:1; /* HTTP/1.1 Expect: 100-continue */
	unsigned chunked:1;

	/* The body. */
	unsigned char *body;
	size_t body_len;
	size_t body_cap;
	uint64_t body_left;         /* Content-Length still to read */
	uint64_t chunk_left;        /* bytes of the current chunk */
	unsigned chunk_digits;
	size_t chunk_ext;           /* bytes of chunk extensions */
	size_t trailer_bytes;
	size_t trailer_line;
	unsigned trailer_cr:1;
	/* Handing out (http_request_hand_out()): the piece of the body
	 * the last HTTP_PARSE_BODY found, inside the data it was fed. */
	unsigned hand_out:1;
	const char *piece;
	size_t piece_len;

	int state;

	/* Set with HTTP_PARSE_ERROR. */
	int status;
	const char *code;
	const char *detail;
};

/* Prepares an empty parser (no allocation yet). */
void http_request_init(struct http_request *r);

/*
 * Starts a new request with these limits, keeping the buffers of the
 * previous one (a large body buffer is released: one big upload must not
 * pin its memory for the connection's life). Pointers into the previous
 * request become invalid.
 */
void http_request_reset(struct http_request *r, size_t max_head,
                        size_t max_body);

/* Releases the buffers; r can be initialised again. */
void http_request_free(struct http_request *r);

/*
 * Takes bytes of data[0..len) and sets *used to how many it consumed:
 * all of them with HTTP_PARSE_MORE; with HTTP_PARSE_HEAD and
 * HTTP_PARSE_DONE possibly fewer (the rest is body, or the next request,
 * to feed again). After HTTP_PARSE_ERROR the parser stays failed until
 * reset; r->status is 400, 413, 431, 501, 505 (or 500 when memory ran
 * out) and r->code the SPEC §7.2 code.
 */
enum http_parse_result http_request_parse(struct http_request *r,
                                          const char *data, size_t len,
                                          size_t *used);

/*
 * From now on (this request only) the body is handed out rather than
 * copied: each piece of it, de-chunked, comes back as HTTP_PARSE_BODY
 * with r->piece and r->piece_len pointing into the data fed, and *used
 * counting up to its end; the framing before it is consumed silently.
 * body_len still counts the bytes, so max_body applies as before. A
 * streamed upload then holds no more memory than one read.
 */
void http_request_hand_out(struct http_request *r);

/* First value of the header name (case-insensitive), or NULL. */
const char *http_request_header(const struct http_request *r,
                                const char *name);

/*
 * Normalises the path src[0..len) of a request target (from its leading
 * '/' up to the '?' or the end) as SPEC §7.1 says: the raw path is split
 * on '/' first, and each segment percent-decoded once, so that "%2F" stays
 * inside its segment. A segment that decodes to "." or ".." (".", "%2e",
 * ".%2E", ...) is resolved: "." goes, ".." removes the segment before it
 * and never climbs above "/" ("/.." is "/"); a final dot segment leaves a
 * trailing '/'. Runs of '/' collapse into one (an empty segment names
 * nothing); a trailing '/' stays.
 *
 * The result is written twice, each with room for len + 1 bytes: into
 * raw with every segment as received ("/a%2Fb/c"), and into decoded with
 * every segment decoded and joined with '/' ("/a/b/c", which no longer
 * says where segments end). Returns 0, or -1 with *why saying what is
 * wrong: no leading '/', a '%' without two hex digits after it, or a
 * segment (even one that ".." removes) that decodes to a NUL byte or to
 * bytes that are not UTF-8.
 */
int http_path_normalise(const char *src, size_t len, char *raw,
                        char *decoded, const char **why);

/*
 * Percent-decodes the segment s[0..len) once into dst (room for len + 1
 * bytes; dst may be s) and NUL-terminates it; returns the decoded length.
 * Given a whole raw path, it gives the decoded one of
 * http_path_normalise().
 * A '%' without two hex digits after it is kept as it is (a path that
 * http_path_normalise() accepted has none); a decoded NUL is written like
 * any byte, so the length, not strlen(), says where the segment ends.
 */
size_t http_segment_decode(char *dst, const char *s, size_t len);

#endif
