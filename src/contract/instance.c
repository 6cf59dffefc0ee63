/*
 * instance.c - a request body as JSON values, parsed strictly and fast.
 *
 * A body is parsed once, into values in the contract's scratch memory,
 * which each check reuses: the tree of an ordinary body costs no malloc.
 * The grammar is RFC 8259's, as strict as util/json_check.c (whose
 * messages it shares): one value, strings of well-formed UTF-8 without
 * raw control characters, numbers in JSON's grammar, nesting at most
 * JSON_CHECK_MAX_DEPTH deep. json-c's own tokener is laxer, and building
 * a json-c tree costs several times this parse, which matters when every
 * POST pays it.
 *
 * Strings without escapes point into the body; escaped ones are decoded
 * into the scratch. An escaped surrogate that is not half of a pair
 * becomes U+FFFD, as json-c decodes it, so validation sees the text a
 * handler parsing the body with json-c will see.
 */
#include "contract/internal.h"

#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json_check.h"
#include "util/utf8.h"

#define SCRATCH_FIRST 16384u
#define SCRATCH_KEEP (256u * 1024u)
#define SCRATCH_ALIGN 16u

/* --- scratch ---------------------------------------------------------- */

struct scratch_block {
	struct scratch_block *next;
	size_t size, used;
	_Alignas(SCRATCH_ALIGN) unsigned char data[];
};

static void
free_blocks(struct scratch *s)
{
	struct scratch_block *b, *next;

	for (b = s->head; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	s->head = NULL;
}

/* One block of a moderate size survives a reset; a check that needed
 * several gets one block that fits them all next time. */
void
scratch_reset(struct scratch *s)
{
	struct scratch_block *b;
	size_t total = 0;

	if (s->head != NULL && s->head->next == NULL &&
	    s->head->size <= SCRATCH_KEEP) {
		s->head->used = 0;
		return;
	}
	for (b = s->head; b != NULL; b = b->next)
		total += b->used;
	free_blocks(s);
	s->want = total < SCRATCH_KEEP ? total : SCRATCH_KEEP;
}

void
scratch_release(struct scratch *s)
{
	free_blocks(s);
}

void *
scratch_alloc(struct scratch *s, size_t n)
{
	struct scratch_block *b = s->head;
	void *p;

	n = (n + SCRATCH_ALIGN - 1) & ~(size_t)(SCRATCH_ALIGN - 1);
	if (b == NULL || b->size - b->used < n) {
		size_t size = b != NULL ? b->size * 2 :
		              s->want > SCRATCH_FIRST ? s->want : SCRATCH_FIRST;

		if (size < n)
			size = n;
		if ((b = malloc(sizeof(*b) + size)) == NULL)
			return NULL;
		b->size = size;
		b->used = 0;
		b->next = s->head;
		s->head = b;
	}
	p = b->data + b->used;
	b->used += n;
	return p;
}

char *
scratch_printf(struct scratch *s, const char *fmt, ...)
{
	va_list ap;
	char *out;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (out = scratch_alloc(s, (size_t)n + 1)) == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(out, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return out;
}

/* --- the parser --------------------------------------------------------- */

struct parser {
	struct scratch *s;
	const unsigned char *p, *end, *start;
	const char *why;            /* the first error */
	int nomem;
};

static struct value *
fail(struct parser *ps, const char *why)
{
	if (ps->why == NULL)
		ps->why = why;
	return NULL;
}

static struct value *
new_value(struct parser *ps, enum value_type type)
{
	struct value *v = scratch_alloc(ps->s, sizeof(*v));

	if (v == NULL) {
		ps->nomem = 1;
		return fail(ps, "out of memory");
	}
	memset(v, 0, sizeof(*v));
	v->type = (unsigned char)type;
	return v;
}

static void
skip_space(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\n' ||
	                           *ps->p == '\r' || *ps->p == '\t'))
		ps->p++;
}

static struct value *
literal(struct parser *ps, const char *word, enum value_type type, int b)
{
	size_t n = strlen(word);
	struct value *v;

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return fail(ps, "not a JSON value");
	ps->p += n;
	if ((v = new_value(ps, type)) != NULL)
		v->u.boolean = b;
	return v;
}

static int
digits(struct parser *ps)
{
	const unsigned char *from = ps->p;

	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
		ps->p++;
	if (ps->p > from)
		return 0;
	fail(ps, "a digit is missing in a number");
	return -1;
}

/* Digits of an integer literal that fits int64, exactly; -1 past it. */
static int
integer_value(const unsigned char *p, const unsigned char *end,
              int64_t *out)
{
	int negative = *p == '-';
	uint64_t v = 0, limit = negative ? (uint64_t)INT64_MAX + 1 :
	                        (uint64_t)INT64_MAX;

	for (p += negative; p < end; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (limit - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = negative ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

/*
 * The common decimal (0.75, -12.5e3) without strtod: with at most 15
 * significant digits the digits form an exact integer, and a power of
 * ten up to 1e22 is exact too, so one multiplication or division gives
 * the correctly rounded double, as strtod would (Clinger's fast path).
 * Returns -1 when the number needs strtod.
 */
static int
fast_double(const unsigned char *p, const unsigned char *end, double *out)
{
	static const double powers[] = {
		1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
		1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21,
		1e22,
	};
	int negative = *p == '-', digits = 0, exp = 0, exp_negative = 0;
	int64_t m = 0, e = 0;
	double d;

	for (p += negative; p < end && *p >= '0' && *p <= '9'; p++)
		if (++digits <= 15)
			m = m * 10 + (*p - '0');
	if (p < end && *p == '.')
		for (p++; p < end && *p >= '0' && *p <= '9'; p++) {
			if (++digits <= 15)
				m = m * 10 + (*p - '0');
			exp--;
		}
	if (digits > 15)
		return -1;
	if (p < end) {          /* e or E */
		p++;
		exp_negative = *p == '-';
		p += *p == '-' || *p == '+';
		for (; p < end && e < 1000; p++)
			e = e * 10 + (*p - '0');
		if (p < end)
			return -1;
		exp += (int)(exp_negative ? -e : e);
	}
	if (exp < -22 || exp > 22)
		return -1;
	d = exp < 0 ? (double)m / powers[-exp] : (double)m * powers[exp];
	*out = negative ? -d : d;
	return 0;
}

/* A number as a double: strtod needs a terminated copy. */
static int
double_value(struct parser *ps, const unsigned char *from, size_t n,
             double *out)
{
	char local[64], *copy = local;

	if (fast_double(from, from + n, out) == 0)
		return 0;
	if (n >= sizeof(local) &&
	    (copy = scratch_alloc(ps->s, n + 1)) == NULL) {
		ps->nomem = 1;
		fail(ps, "out of memory");
		return -1;
	}
	memcpy(copy, from, n);
	copy[n] = '\0';
	*out = strtod(copy, NULL);
	return 0;
}

/* -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static struct value *
number(struct parser *ps)
{
	const unsigned char *from = ps->p;
	int fraction = 0;
	struct value *v;
	int64_t i;

	if (*ps->p == '-')
		ps->p++;
	if (ps->p < ps->end && *ps->p == '0')
		ps->p++;
	else if (digits(ps) < 0)
		return NULL;
	if (ps->p < ps->end && *ps->p == '.') {
		ps->p++;
		fraction = 1;
		if (digits(ps) < 0)
			return NULL;
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
		ps->p++;
		fraction = 1;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		if (digits(ps) < 0)
			return NULL;
	}
	if (!fraction && integer_value(from, ps->p, &i) == 0) {
		if ((v = new_value(ps, VALUE_INT)) != NULL)
			v->u.i = i;
		return v;
	}
	if ((v = new_value(ps, VALUE_DOUBLE)) == NULL ||
	    double_value(ps, from, (size_t)(ps->p - from), &v->u.d) < 0)
		return NULL;
	v->integral = !isfinite(v->u.d) || v->u.d == floor(v->u.d);
	return v;
}

static int
hex_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The four hex digits at p (checked by the scan). */
static unsigned
hex4(const unsigned char *p)
{
	return (unsigned)(hex_digit(p[0]) << 12 | hex_digit(p[1]) << 8 |
	                  hex_digit(p[2]) << 4 | hex_digit(p[3]));
}

static size_t
put_utf8(char *out, unsigned cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * Decodes the escapes of a string body p[0..n) (checked by the scan)
 * into out, which has n bytes (decoding never grows a string); returns
 * the length.
 */
static size_t
decode(const unsigned char *p, size_t n, char *out)
{
	size_t i = 0, o = 0;

	while (i < n) {
		unsigned cp;

		if (p[i] != '\\') {
			out[o++] = (char)p[i++];
			continue;
		}
		switch (p[i + 1]) {
		case 'b': out[o++] = '\b'; i += 2; continue;
		case 'f': out[o++] = '\f'; i += 2; continue;
		case 'n': out[o++] = '\n'; i += 2; continue;
		case 'r': out[o++] = '\r'; i += 2; continue;
		case 't': out[o++] = '\t'; i += 2; continue;
		case 'u': break;
		default: out[o++] = (char)p[i + 1]; i += 2; continue;
		}
		cp = hex4(p + i + 2);
		i += 6;
		if (cp >= 0xd800 && cp <= 0xdbff && i + 6 <= n &&
		    p[i] == '\\' && p[i + 1] == 'u') {
			unsigned lo = hex4(p + i + 2);

			if (lo >= 0xdc00 && lo <= 0xdfff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				     (lo - 0xdc00);
				i += 6;
			}
		}
		if (cp >= 0xd800 && cp <= 0xdfff)
			cp = 0xfffd;
		o += put_utf8(out + o, cp);
	}
	return o;
}

/*
 * The bytes of x that need a look, as their high bits: a quote, a
 * backslash, a control character or a byte of a multibyte sequence.
 * Strings are most of a body, so they are skipped a word at a time. The
 * lowest bit set is exact (higher ones may be false alarms, from
 * borrows), and little by little is all the caller needs.
 */
static uint64_t
special8(uint64_t x)
{
	const uint64_t ones = UINT64_C(0x0101010101010101);
	const uint64_t high = ones * 0x80;
	uint64_t quote = x ^ (ones * '"'), slash = x ^ (ones * '\\');

	return (((x - ones * 0x20) & ~x) |      /* below 0x20 */
	        ((quote - ones) & ~quote) |     /* '"' */
	        ((slash - ones) & ~slash) |     /* '\\' */
	        x) & high;                      /* 0x80 and above */
}

/* Steps over the bytes of a string that need no look, to the first one
 * that does or to the last seven of the text. */
static void
skip_plain(struct parser *ps)
{
	uint64_t x, m;

	while (ps->end - ps->p >= 8) {
		memcpy(&x, ps->p, 8);
		if ((m = special8(x)) != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			ps->p += __builtin_ctzll(m) >> 3;
#endif
			return;
		}
		ps->p += 8;
	}
}

/* One escape at ps->p (a backslash): checks it and steps over it. */
static int
escape(struct parser *ps)
{
	unsigned char c;

	if (ps->end - ps->p < 2) {
		ps->p = ps->end;
		return 0;           /* "does not end" */
	}
	/* Errors point past the letter after the backslash, as
	 * json_check's do. */
	c = ps->p[1];
	ps->p += 2;
	if (c == 'u') {
		if (ps->end - ps->p < 4 || hex_digit(ps->p[0]) < 0 ||
		    hex_digit(ps->p[1]) < 0 || hex_digit(ps->p[2]) < 0 ||
		    hex_digit(ps->p[3]) < 0) {
			fail(ps, "a \\u escape needs four hex digits");
			return -1;
		}
		ps->p += 4;
	} else if (c == '\0' || strchr("\"\\/bfnrt", c) == NULL) {
		fail(ps, "an invalid escape in a string");
		return -1;
	}
	return 0;
}

/* At the opening quote: the string's bytes into *out, *len, and
 * whether they are all ASCII. */
static int
string(struct parser *ps, const char **out, uint32_t *len,
       unsigned char *ascii)
{
	const unsigned char *from = ++ps->p;
	int escaped = 0;
	char *buf;

	*ascii = 1;
	while (ps->p < ps->end) {
		unsigned char c;
		size_t n;

		skip_plain(ps);
		if (ps->p == ps->end)
			break;
		c = *ps->p;
		if (c == '"')
			break;
		if (c < 0x20) {
			fail(ps, "a control character in a string");
			return -1;
		}
		if (c < 0x80 && c != '\\') {
			ps->p++;
		} else if (c >= 0x80) {
			n = utf8_sequence(ps->p, (size_t)(ps->end - ps->p));
			if (n == 0) {
				fail(ps, "invalid UTF-8 in a string");
				return -1;
			}
			ps->p += n;
			*ascii = 0;
		} else {
			escaped = 1;
			if (escape(ps) < 0)
				return -1;
		}
	}
	if (ps->p >= ps->end) {
		fail(ps, "a string does not end");
		return -1;
	}
	if ((size_t)(ps->p - from) > UINT32_MAX) {
		fail(ps, "a string is too long");
		return -1;
	}
	if (!escaped) {
		*out = (const char *)from;
		*len = (uint32_t)(ps->p - from);
	} else {
		if ((buf = scratch_alloc(ps->s, (size_t)(ps->p - from))) ==
		    NULL) {
			ps->nomem = 1;
			fail(ps, "out of memory");
			return -1;
		}
		*out = buf;
		*len = (uint32_t)decode(from, (size_t)(ps->p - from), buf);
		/* \u escapes may decode to non-ASCII. */
		*ascii = *ascii && memchr(from, 'u', (size_t)(ps->p - from)) ==
		         NULL;
	}
	ps->p++;
	return 0;
}

static struct value *parse_value(struct parser *ps, int depth);

/* At '[' or '{'. */
static struct value *
container(struct parser *ps, int depth)
{
	unsigned char close = *ps->p == '[' ? ']' : '}';
	struct value *v, *m, **tail;
	const char *key = NULL;
	uint32_t key_len = 0;
	unsigned char ascii;

	if (depth >= JSON_CHECK_MAX_DEPTH)
		return fail(ps, "nested too deep");
	if ((v = new_value(ps, close == ']' ? VALUE_ARRAY :
	                   VALUE_OBJECT)) == NULL)
		return NULL;
	tail = &v->u.first;
	ps->p++;
	skip_space(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return v;
	}
	for (;;) {
		if (close == '}') {
			skip_space(ps);
			if (ps->p == ps->end || *ps->p != '"')
				return fail(ps, "an object key must be a "
				            "string");
			if (string(ps, &key, &key_len, &ascii) < 0)
				return NULL;
			skip_space(ps);
			if (ps->p == ps->end || *ps->p != ':')
				return fail(ps, "':' expected after an object "
				            "key");
			ps->p++;
		}
		if ((m = parse_value(ps, depth + 1)) == NULL)
			return NULL;
		m->key = key;
		m->key_len = key_len;
		*tail = m;
		tail = &m->next;
		v->len++;
		skip_space(ps);
		if (ps->p == ps->end)
			return fail(ps, "the text ends inside an array or "
			            "object");
		if (*ps->p == close) {
			ps->p++;
			return v;
		}
		if (*ps->p != ',')
			return fail(ps, "',' or the closing bracket expected");
		ps->p++;
	}
}

static struct value *
parse_value(struct parser *ps, int depth)
{
	struct value *v;

	skip_space(ps);
	if (ps->p == ps->end)
		return fail(ps, "a value is missing");
	switch (*ps->p) {
	case '{':
	case '[':
		return container(ps, depth);
	case '"':
		if ((v = new_value(ps, VALUE_STRING)) == NULL ||
		    string(ps, &v->u.s, &v->len, &v->ascii) < 0)
			return NULL;
		return v;
	case 't':
		return literal(ps, "true", VALUE_BOOL, 1);
	case 'f':
		return literal(ps, "false", VALUE_BOOL, 0);
	case 'n':
		return literal(ps, "null", VALUE_NULL, 0);
	default:
		if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
			return number(ps);
		return fail(ps, "not a JSON value");
	}
}

struct value *
instance_parse(struct scratch *s, const char *text, size_t len, char *why,
               size_t whylen, int *nomem)
{
	struct parser ps;
	struct value *root;

	ps.s = s;
	ps.start = ps.p = (const unsigned char *)text;
	ps.end = ps.p + len;
	ps.why = NULL;
	ps.nomem = 0;
	*nomem = 0;
	if (len == 0) {
		snprintf(why, whylen, "the body is empty");
		return NULL;
	}
	root = parse_value(&ps, 0);
	if (root != NULL) {
		skip_space(&ps);
		if (ps.p == ps.end)
			return root;
		fail(&ps, "more than one value");
	}
	*nomem = ps.nomem;
	snprintf(why, whylen, "%s (at byte %zu)", ps.why,
	         (size_t)(ps.p - ps.start));
	return NULL;
}

/* --- json-c values ------------------------------------------------------ */

/* 1 for ASCII, 2 for other valid UTF-8, 0 for anything else. */
static int
utf8_kind(const char *s, size_t len)
{
	size_t i = 0, n;
	int kind = 1;

	while (i < len) {
		if ((unsigned char)s[i] < 0x80) {
			i++;
			continue;
		}
		if ((n = utf8_sequence((const unsigned char *)s + i,
		                       len - i)) == 0)
			return 0;
		i += n;
		kind = 2;
	}
	return kind;
}

static struct value *
from_json(struct parser *ps, json_object *o, int depth)
{
	struct value *v, *m, **tail;
	size_t i, n;

	switch (json_object_get_type(o)) {
	case json_type_null:
		return new_value(ps, VALUE_NULL);
	case json_type_boolean:
		if ((v = new_value(ps, VALUE_BOOL)) != NULL)
			v->u.boolean = json_object_get_boolean(o);
		return v;
	case json_type_int:
		/* json-c keeps integers past int64 as uint64. */
		if (json_object_get_int64(o) == INT64_MAX &&
		    json_object_get_uint64(o) > (uint64_t)INT64_MAX) {
			if ((v = new_value(ps, VALUE_DOUBLE)) != NULL) {
				v->u.d = (double)json_object_get_uint64(o);
				v->integral = 1;
			}
			return v;
		}
		if ((v = new_value(ps, VALUE_INT)) != NULL)
			v->u.i = json_object_get_int64(o);
		return v;
	case json_type_double:
		if ((v = new_value(ps, VALUE_DOUBLE)) != NULL) {
			v->u.d = json_object_get_double(o);
			v->integral = !isfinite(v->u.d) ||
			              v->u.d == floor(v->u.d);
		}
		return v;
	case json_type_string:
		if ((v = new_value(ps, VALUE_STRING)) == NULL)
			return NULL;
		v->u.s = json_object_get_string(o);
		v->len = (uint32_t)json_object_get_string_len(o);
		switch (utf8_kind(v->u.s, v->len)) {
		case 0:
			return fail(ps, "a string is not UTF-8");
		case 1:
			v->ascii = 1;
			break;
		}
		return v;
	default:
		break;
	}
	if (depth >= JSON_CHECK_MAX_DEPTH)
		return fail(ps, "nested too deep");
	if (json_object_is_type(o, json_type_array)) {
		if ((v = new_value(ps, VALUE_ARRAY)) == NULL)
			return NULL;
		tail = &v->u.first;
		n = json_object_array_length(o);
		for (i = 0; i < n; i++) {
			m = from_json(ps, json_object_array_get_idx(o, i),
			              depth + 1);
			if (m == NULL)
				return NULL;
			*tail = m;
			tail = &m->next;
			v->len++;
		}
		return v;
	}
	if ((v = new_value(ps, VALUE_OBJECT)) == NULL)
		return NULL;
	tail = &v->u.first;
	json_object_object_foreach(o, key, member) {
		if (utf8_kind(key, strlen(key)) == 0)
			return fail(ps, "a member name is not UTF-8");
		if ((m = from_json(ps, member, depth + 1)) == NULL)
			return NULL;
		m->key = key;
		m->key_len = (uint32_t)strlen(key);
		*tail = m;
		tail = &m->next;
		v->len++;
	}
	return v;
}

struct value *
instance_from_json(struct scratch *s, const struct json_object *o,
                   char *why, size_t whylen, int *nomem)
{
	struct parser ps;
	struct value *root;

	memset(&ps, 0, sizeof(ps));
	ps.s = s;
	/* json-c's getters take no const; none of them changes o. */
	root = from_json(&ps, (json_object *)(uintptr_t)o, 0);
	*nomem = ps.nomem;
	if (root == NULL)
		snprintf(why, whylen, "%s", ps.why);
	return root;
}
