/*
 * escape.c - JSON string and text log escaping (see escape.h).
 *
 * The access log runs this on every request, so runs of plain bytes
 * (nearly all of a path or a user agent) are found with a cheap test and
 * copied in one memcpy; only the odd byte goes through the slow path.
 */
#include "util/escape.h"

#include <string.h>

#include "util/utf8.h"

enum form {
	FORM_JSON,
	FORM_VALUE,     /* inside a quoted text value */
	FORM_MESSAGE,   /* bare text: '"' needs no escape */
};

static const char hex[] = "0123456789abcdef";

/* Bytes that go out as they are, by form (the bits below, 7 for all
 * three). Everything from 0x80 takes the slow path (UTF-8 checks). One
 * table load per byte keeps the common case, a plain path or user
 * agent, cheap. */
enum {
	AS_IS_QUOTED = 1,       /* in a JSON string or a quoted text value */
	AS_IS_MESSAGE = 2,      /* in a text message */
	AS_IS_BARE = 4,         /* in a bare text value */
};

static const unsigned char plain_bytes[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	3, 7, 2, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
	7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 3, 7, 7,
	7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
	7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 0, 7, 7, 7,
	7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
	7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 0,
};

static const unsigned char form_mask[] = {
	[FORM_JSON] = AS_IS_QUOTED,
	[FORM_VALUE] = AS_IS_QUOTED,
	[FORM_MESSAGE] = AS_IS_MESSAGE,
};

/* For a well-formed sequence of len bytes at p: the code point if it is
 * one that must be escaped even though it is valid (C1 controls, U+2028,
 * U+2029), else 0. */
static unsigned
special_code_point(const unsigned char *p, size_t len)
{
	if (len == 2 && p[0] == 0xc2 && p[1] <= 0x9f)
		return p[1];
	if (len == 3 && p[0] == 0xe2 && p[1] == 0x80 &&
	    (p[2] == 0xa8 || p[2] == 0xa9))
		return 0x2000u | (p[2] - 0xa8u + 0x28u);
	return 0;
}

/*
 * The slow path: escapes the character at p (avail > 0 bytes) into esc
 * (at least 8 bytes). Returns the input bytes it stands for and sets
 * *esc_len; an *esc_len of 0 means "copy the returned bytes as they are"
 * (well-formed UTF-8 that needs nothing).
 */
static size_t
escape_char(const unsigned char *p, size_t avail, enum form f, char *esc,
            size_t *esc_len)
{
	unsigned char c = p[0];
	size_t len;
	unsigned cp;

	*esc_len = 2;
	esc[0] = '\\';
	switch (c) {
	case '"': esc[1] = '"'; return 1;
	case '\\': esc[1] = '\\'; return 1;
	case '\n': esc[1] = 'n'; return 1;
	case '\r': esc[1] = 'r'; return 1;
	case '\t': esc[1] = 't'; return 1;
	}
	if (c < 0x80) {
		cp = c;
		len = 1;
	} else if ((len = utf8_sequence(p, avail)) == 0) {
		if (f == FORM_JSON) {
			memcpy(esc, "\\ufffd", 6);
			*esc_len = 6;
		} else {
			esc[1] = 'x';
			esc[2] = hex[c >> 4];
			esc[3] = hex[c & 0xf];
			*esc_len = 4;
		}
		return 1;
	} else if ((cp = special_code_point(p, len)) == 0) {
		*esc_len = 0;
		return len;
	}
	if (cp < 0x80 && f != FORM_JSON) {
		esc[1] = 'x';
		esc[2] = hex[cp >> 4];
		esc[3] = hex[cp & 0xf];
		*esc_len = 4;
		return len;
	}
	esc[1] = 'u';
	esc[2] = hex[cp >> 12 & 0xf];
	esc[3] = hex[cp >> 8 & 0xf];
	esc[4] = hex[cp >> 4 & 0xf];
	esc[5] = hex[cp & 0xf];
	*esc_len = 6;
	return len;
}

/* Escapes s into out, leaving room for reserve bytes after it (plus the
 * NUL, which it writes). */
static size_t
escape_into(char *out, size_t cap, const unsigned char *s, size_t n,
            enum form f, size_t reserve, size_t *taken)
{
	size_t room = cap > reserve ? cap - reserve - 1 : 0;
	size_t i = 0, o = 0;
	unsigned char mask = form_mask[f];

	while (i < n) {
		size_t run = i, used, esc_len;
		char esc[8];

		while (run < n && (plain_bytes[s[run]] & mask) != 0)
			run++;
		if (run > i) {
			size_t k = run - i < room - o ? run - i : room - o;

			memcpy(out + o, s + i, k);
			o += k;
			i += k;
			if (i < run)
				break;
			continue;
		}
		used = escape_char(s + i, n - i, f, esc, &esc_len);
		if (esc_len == 0) {
			if (used > room - o)
				break;
			memcpy(out + o, s + i, used);
			o += used;
		} else {
			if (esc_len > room - o)
				break;
			memcpy(out + o, esc, esc_len);
			o += esc_len;
		}
		i += used;
	}
	if (cap > 0)
		out[o] = '\0';
	if (taken != NULL)
		*taken = i;
	return o;
}

size_t
escape_json(char *out, size_t cap, const char *s, size_t n, size_t *taken)
{
	return escape_into(out, cap, (const unsigned char *)s, n, FORM_JSON, 0,
	                   taken);
}

size_t
escape_text(char *out, size_t cap, const char *s, size_t n, size_t *taken)
{
	return escape_into(out, cap, (const unsigned char *)s, n,
	                   FORM_MESSAGE, 0, taken);
}

/* Whether the value needs quotes: empty, or holding a byte that is not
 * plain (space, '=' and '"' included) and not harmless UTF-8. */
static int
needs_quotes(const unsigned char *s, size_t n)
{
	size_t i = 0, len;

	if (n == 0)
		return 1;
	while (i < n) {
		if (plain_bytes[s[i]] & AS_IS_BARE) {
			i++;
			continue;
		}
		if (s[i] < 0x80 || (len = utf8_sequence(s + i, n - i)) == 0 ||
		    special_code_point(s + i, len) != 0)
			return 1;
		i += len;
	}
	return 0;
}

size_t
escape_text_value(char *out, size_t cap, const char *s, size_t n,
                  size_t *taken)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t o;

	if (cap < 3) {
		if (cap > 0)
			out[0] = '\0';
		if (taken != NULL)
			*taken = 0;
		return 0;
	}
	if (!needs_quotes(u, n))
		return escape_into(out, cap, u, n, FORM_VALUE, 0, taken);
	out[0] = '"';
	o = 1 + escape_into(out + 1, cap - 1, u, n, FORM_VALUE, 1, taken);
	out[o++] = '"';
	out[o] = '\0';
	return o;
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Reads n hex digits at s; -1 if one is not. */
static long
read_hex(const char *s, int n)
{
	long v = 0;
	int i, d;

	for (i = 0; i < n; i++) {
		if ((d = hex_value(s[i])) < 0)
			return -1;
		v = v << 4 | d;
	}
	return v;
}

/* Appends code point cp (< 0x10000) as UTF-8; -1 when out is full. */
static int
put_utf8(char *out, size_t cap, size_t *o, long cp)
{
	unsigned char b[3];
	size_t k = 0;

	if (cp < 0x80) {
		b[k++] = (unsigned char)cp;
	} else if (cp < 0x800) {
		b[k++] = (unsigned char)(0xc0 | cp >> 6);
		b[k++] = (unsigned char)(0x80 | (cp & 0x3f));
	} else {
		b[k++] = (unsigned char)(0xe0 | cp >> 12);
		b[k++] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		b[k++] = (unsigned char)(0x80 | (cp & 0x3f));
	}
	if (*o + k >= cap)
		return -1;
	memcpy(out + *o, b, k);
	*o += k;
	return 0;
}

long
escape_text_unquote(const char *s, size_t len, char *out, size_t cap,
                    const char **end)
{
	size_t i = 0, o = 0;
	int quoted = len > 0 && s[0] == '"';
	long v;

	if (quoted)
		i = 1;
	while (i < len) {
		char c = s[i];

		if (quoted && c == '"')
			break;
		if (!quoted && c == ' ')
			break;
		if (c != '\\') {
			if (o + 1 >= cap)
				return -1;
			out[o++] = c;
			i++;
			continue;
		}
		if (i + 1 >= len)
			return -1;
		switch (s[i + 1]) {
		case '"': case '\\': c = s[i + 1]; break;
		case 'n': c = '\n'; break;
		case 'r': c = '\r'; break;
		case 't': c = '\t'; break;
		case 'x':
			if (i + 4 > len || (v = read_hex(s + i + 2, 2)) < 0 ||
			    o + 1 >= cap)
				return -1;
			out[o++] = (char)v;
			i += 4;
			continue;
		case 'u':
			if (i + 6 > len || (v = read_hex(s + i + 2, 4)) < 0 ||
			    put_utf8(out, cap, &o, v) != 0)
				return -1;
			i += 6;
			continue;
		default:
			return -1;
		}
		if (o + 1 >= cap)
			return -1;
		out[o++] = c;
		i += 2;
	}
	if (quoted) {
		if (i >= len)
			return -1;
		i++;
	}
	if (cap == 0)
		return -1;
	out[o] = '\0';
	if (end != NULL)
		*end = s + i;
	return (long)o;
}
