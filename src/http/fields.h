/*
 * fields.h - the field syntax both HTTP/1.1 parsers share (RFC 9110 §5):
 * tokens, field lines, comma-separated lists, and what a head's
 * Content-Length, Transfer-Encoding and Connection fields say about its
 * framing and its connection.
 *
 * The request parser (parse.c) and the upstream response parser
 * (resp_parse.c) read fields the same way and differ only in what they
 * do with the result: a request's faulty framing is answered with an
 * error status, a response's is read as the proxy can. So the reading
 * lives here once, and each parser keeps its own decisions. Everything
 * works in place on NUL-terminated strings in a parser's buffer.
 */
#ifndef ASTER_HTTP_FIELDS_H
#define ASTER_HTTP_FIELDS_H

#include <stddef.h>
#include <stdint.h>

struct http_field;      /* parse.h */

/* The value of the first of fields[0..n) called name (any case), or
 * NULL. */
const char *field_find(const struct http_field *fields, size_t n,
                       const char *name);

/* RFC 9110 §5.6.2 tchar: the characters of a token. */
int field_is_tchar(unsigned char c);

/* field-vchar, SP, HTAB or obs-text (§5.5): anything but controls. */
int field_is_value_char(unsigned char c);

/* The length of the token at the start of s (0 when none is there). */
size_t field_token_len(const char *s);

/* Is p[0..len) the token word, ignoring case (§5.6.2)? */
int field_token_is(const char *p, size_t len, const char *word);

/*
 * Cuts the line at *pos (it ends in '\n' before limit, maybe after '\r')
 * into a string and moves *pos past it; returns the end of the string.
 */
char *field_take_line(char **pos, char *limit, char **line);

/*
 * Splits the field line [line, end) in place into name ":" OWS value OWS
 * (RFC 9112 §5): the name stays at line, NUL-terminated, and is nlen
 * long; *value is the value, trimmed and NUL-terminated. Returns NULL,
 * or why the line is refused, worded for the peer that sent it.
 */
const char *field_split_line(char *line, char *end, size_t *nlen,
                             char **value);

/*
 * The next element of the comma-separated list at *s (§5.6.1), OWS
 * trimmed, *len long; NULL after the last. Empty elements are returned
 * too ("" and "a," hold one): most lists ignore them, but Content-Length
 * must refuse them, so the choice is the caller's. Start with *s = value.
 */
const char *field_list_next(const char **s, size_t *len);

/* Is word one of the (non-empty) elements of the list value? */
int field_list_has(const char *value, const char *word);

/* What the fields of one head said about its framing and connection. */
struct field_framing {
	const char *content_length; /* the last Content-Length value */
	unsigned ncontent_length;   /* Content-Length fields */
	uint64_t length;            /* the length every element agrees on */
	unsigned nchunked;          /* "chunked" codings, in all fields */
	unsigned te_seen:1;         /* a Transfer-Encoding field */
	unsigned te_other:1;        /* a coding other than chunked */
	unsigned last_chunked:1;    /* the last coding is chunked */
	unsigned length_set:1;      /* length holds the first element */
	unsigned bad_length:1;      /* an element not 1*DIGIT, too large,
	                               empty or disagreeing */
	unsigned conn_close:1;
	unsigned conn_keep_alive:1;
};

/*
 * Notes the field name (nlen long): value in f, which starts zeroed.
 * Returns 1 when name is Content-Length, Transfer-Encoding or
 * Connection, else 0 (the caller may look at the field itself).
 */
int field_framing_note(struct field_framing *f, const char *name,
                       size_t nlen, const char *value);

/* May the connection carry another message (RFC 9112 §9.3)? minor is
 * the message's HTTP/1.minor. */
int field_framing_keep_alive(const struct field_framing *f, int minor);

#endif
