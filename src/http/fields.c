/*
 * fields.c - the shared field syntax of fields.h.
 *
 * Both parsers split a head once it is whole, so nothing here keeps state
 * between calls: a function sees a complete line or a complete value.
 * Field names are compared with their length first, since a head holds
 * many fields and few are of interest here.
 */
#include "http/fields.h"

#include <string.h>
#include <strings.h>

#include "http/parse.h"     /* struct http_field */

/*
 * Callers ask for fields a message rarely has (X-Request-Id,
 * traceparent), so most comparisons fail: the first bytes, with the case
 * bit of letters folded (| 0x20), rule most fields out without a call.
 * The fold never separates two bytes strcasecmp takes as equal.
 */
const char *
field_find(const struct http_field *fields, size_t n, const char *name)
{
	unsigned char first = (unsigned char)name[0] | 0x20;
	size_t i;

	for (i = 0; i < n; i++)
		if (((unsigned char)fields[i].name[0] | 0x20) == first &&
		    strcasecmp(fields[i].name, name) == 0)
			return fields[i].value;
	return NULL;
}

int
field_is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	switch (c) {
	case '!': case '#': case '$': case '%': case '&': case '\'':
	case '*': case '+': case '-': case '.': case '^': case '_':
	case '`': case '|': case '~':
		return 1;
	default:
		return 0;
	}
}

int
field_is_value_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

size_t
field_token_len(const char *s)
{
	size_t i;

	for (i = 0; field_is_tchar((unsigned char)s[i]); i++)
		;
	return i;
}

int
field_token_is(const char *p, size_t len, const char *word)
{
	return strlen(word) == len && strncasecmp(p, word, len) == 0;
}

/* memchr, not strchr: a NUL inside a line must not hide its end (the
 * character checks refuse it later). */
char *
field_take_line(char **pos, char *limit, char **line)
{
	char *s = *pos, *e = memchr(s, '\n', (size_t)(limit - s));

	*pos = e + 1;
	if (e > s && e[-1] == '\r')
		e--;
	*e = '\0';
	*line = s;
	return e;
}

static int
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* A line that starts with white space continues the one before it
 * (obs-fold), which RFC 9112 §5.2 lets a recipient refuse: it has been
 * a way to smuggle fields past a less careful parser. */
const char *
field_split_line(char *line, char *end, size_t *nlen, char **value)
{
	char *v, *p;
	size_t i;

	if (is_ows(line[0]))
		return "obsolete line folding";
	i = field_token_len(line);
	if (i == 0 || line[i] != ':')
		return "malformed header field";
	line[i] = '\0';
	v = line + i + 1;
	for (p = v; p < end; p++)
		if (!field_is_value_char((unsigned char)*p))
			return "invalid character in header field";
	while (is_ows(*v))
		v++;
	while (end > v && is_ows(end[-1]))
		end--;
	*end = '\0';
	*nlen = i;
	*value = v;
	return NULL;
}

/* *s becomes NULL after the last element, so that a trailing comma or an
 * empty value still yields its empty element. */
const char *
field_list_next(const char **s, size_t *len)
{
	const char *p = *s, *e;

	if (p == NULL)
		return NULL;
	while (is_ows(*p))
		p++;
	e = p + strcspn(p, ",");
	*s = *e == ',' ? e + 1 : NULL;
	while (e > p && is_ows(e[-1]))
		e--;
	*len = (size_t)(e - p);
	return p;
}

int
field_list_has(const char *value, const char *word)
{
	const char *s = value, *t;
	size_t len;

	while ((t = field_list_next(&s, &len)) != NULL)
		if (len > 0 && field_token_is(t, len, word))
			return 1;
	return 0;
}

/*
 * One element of Content-Length: 1*DIGIT. RFC 9110 §8.6 lets a list of
 * equal lengths stand for one (some senders repeat the field), so each
 * element must agree with the first.
 */
static void
note_length(struct field_framing *f, const char *p, size_t len)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0)
		f->bad_length = 1;
	for (i = 0; i < len && !f->bad_length; i++) {
		if (p[i] < '0' || p[i] > '9' ||
		    v > (UINT64_MAX - (uint64_t)(p[i] - '0')) / 10)
			f->bad_length = 1;
		else
			v = v * 10 + (uint64_t)(p[i] - '0');
	}
	if (f->bad_length)
		return;
	if (f->length_set && v != f->length)
		f->bad_length = 1;
	f->length = v;
	f->length_set = 1;
}

/* Unlike other lists, an empty element ("5,") makes it invalid. */
static void
note_content_length(struct field_framing *f, const char *value)
{
	const char *s = value, *t;
	size_t len;

	f->content_length = value;
	f->ncontent_length++;
	while ((t = field_list_next(&s, &len)) != NULL)
		note_length(f, t, len);
}

/* Codings are counted rather than judged: a request refuses any but
 * chunked, a response reads an unknown one until the close. */
static void
note_codings(struct field_framing *f, const char *value)
{
	const char *s = value, *t;
	size_t len;

	f->te_seen = 1;
	while ((t = field_list_next(&s, &len)) != NULL) {
		if (len == 0)
			continue;
		f->last_chunked = field_token_is(t, len, "chunked");
		f->nchunked += f->last_chunked;
		f->te_other |= !f->last_chunked;
	}
}

static void
note_connection(struct field_framing *f, const char *value)
{
	const char *s = value, *t;
	size_t len;

	while ((t = field_list_next(&s, &len)) != NULL) {
		if (field_token_is(t, len, "close"))
			f->conn_close = 1;
		else if (field_token_is(t, len, "keep-alive"))
			f->conn_keep_alive = 1;
	}
}

int
field_framing_note(struct field_framing *f, const char *name, size_t nlen,
                   const char *value)
{
	if (nlen == 14 && strcasecmp(name, "Content-Length") == 0)
		note_content_length(f, value);
	else if (nlen == 17 && strcasecmp(name, "Transfer-Encoding") == 0)
		note_codings(f, value);
	else if (nlen == 10 && strcasecmp(name, "Connection") == 0)
		note_connection(f, value);
	else
		return 0;
	return 1;
}

/* HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 only
 * when asked to keep it. */
int
field_framing_keep_alive(const struct field_framing *f, int minor)
{
	return !f->conn_close && (minor == 1 || f->conn_keep_alive);
}
