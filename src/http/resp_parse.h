/*
 * resp_parse.h - incremental HTTP/1.1 response parser (RFC 9112), for
 * what upstreams answer.
 *
 * Fed whatever bytes arrived, in pieces of any size. The head (status
 * line and fields) is copied into a buffer the parser owns and split in
 * place once the empty line arrives; the body is not copied: body pieces
 * point into the bytes fed, de-chunked, so a proxy can pass them on
 * without a copy of its own. Trailer fields of a chunked body are kept
 * like the head's.
 *
 * Framing follows RFC 9112 §6.3: no body for a HEAD request, 1xx, 204
 * and 304; chunked when Transfer-Encoding ends in chunked (it then wins
 * over a Content-Length, and the connection is not reused); until the
 * connection closes when Transfer-Encoding ends in another coding
 * (§6.3 item 4); else Content-Length (a list of equal values is one
 * value; differing values or a bad value are errors); else the body
 * runs until the connection closes (resp_finish()). Transfer-Encoding in
 * an HTTP/1.0 response, or chunked applied twice, is an error.
 */
#ifndef ASTER_HTTP_RESP_PARSE_H
#define ASTER_HTTP_RESP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "http/parse.h"     /* struct http_field */

enum resp_result {
	RESP_MORE,      /* every byte taken; go on feeding */
	RESP_HEAD,      /* a head is complete (check status: 1xx heads come
	                   before the final one) */
	RESP_BODY,      /* a piece of body: *piece, *piece_len */
	RESP_DONE,      /* the response is complete (trailers parsed) */
	RESP_ERROR,     /* invalid: resp->error says why */
};

enum resp_framing {
	RESP_NO_BODY,
	RESP_LENGTH,
	RESP_CHUNKED,
	RESP_UNTIL_CLOSE,
};

struct http_response {
	size_t max_head;            /* head or trailers longer: error */

	/* The head, valid from RESP_HEAD until the next resp_begin() or,
	 * for a 1xx head, the next resp_parse(). */
	int minor;                  /* HTTP/1.minor */
	int status;
	const char *reason;
	struct http_field *fields;
	size_t nfields;
	enum resp_framing framing;
	uint64_t length;            /* RESP_LENGTH: Content-Length */
	unsigned keep_alive:1;      /* the connection may carry another */

	/* Trailers of a chunked body, valid from RESP_DONE. */
	struct http_field *trailers;
	size_t ntrailers;

	const char *error;          /* RESP_ERROR: a short reason */

	/* Private. */
	char *buf;
	size_t buf_len, buf_cap;
	size_t fields_cap, trailers_cap;
	size_t line_start;
	size_t part_start;          /* where the head or trailers begin */
	uint64_t left;              /* of the body or of the chunk */
	unsigned chunk_digits;
	size_t chunk_ext;
	int head_request;
	int state;
};

/* An empty parser (no allocation yet). */
void resp_init(struct http_response *r, size_t max_head);

/* Releases the buffers; r can be initialised again. */
void resp_free(struct http_response *r);

/* Starts parsing the response to a request (head_request: to a HEAD,
 * so no body whatever the head says). Buffers are kept. */
void resp_begin(struct http_response *r, int head_request);

/*
 * Takes bytes of data[0..len); *used says how many. RESP_MORE: all of
 * them. RESP_HEAD: the head is complete (1xx: feed on, the next head
 * follows; a final head: the body follows, or RESP_DONE comes at the
 * next call if there is none). RESP_BODY: *piece and *piece_len point
 * into data, a part of the body; feed the rest (one piece a call; after
 * the last piece of a Content-Length body, RESP_DONE comes at the next
 * call, whatever len). RESP_DONE: complete; the bytes after *used are
 * not this response's. A 101 head ends the parse: what follows is the
 * tunnel's.
 */
enum resp_result resp_parse(struct http_response *r, const char *data,
                            size_t len, size_t *used, const char **piece,
                            size_t *piece_len);

/* The connection closed: RESP_DONE when the body ran until close (or a
 * response ended exactly here), RESP_ERROR when it was cut short. */
enum resp_result resp_finish(struct http_response *r);

/* Of a Content-Length body under way, the bytes still to come; else 0.
 * They may be moved without the parser (splice(2)) and reported with
 * resp_body_moved(), after which resp_parse() ends as usual. */
uint64_t resp_body_left(const struct http_response *r);
void resp_body_moved(struct http_response *r, uint64_t n);

/* First value of a head field (case-insensitive), or NULL. */
const char *resp_header(const struct http_response *r, const char *name);

#endif
