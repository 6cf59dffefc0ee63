/*
 * value.c - JSON values as validation sees them: numbers by value,
 * equality for enum and const, code points, and YAML values typed as JSON.
 *
 * Numbers: an integer that fits int64 stays exact (VALUE_INT); any other
 * number is the nearest double (VALUE_DOUBLE), as JavaScript reads JSON,
 * so a validator written in JavaScript agrees with us on every number it
 * can tell apart. A double is an integer when its value is (1.0, 1e3);
 * one too large for a double (1e400) reads as infinity and counts as an
 * integer, as every decimal that large is one in practice. Comparing an
 * int64 with a double is exact (no conversion that could round), so
 * `maximum: 9007199254740992` refuses 9007199254740993.
 *
 * YAML: keyword values are untyped text in the manifest tree. A value
 * where the manifest writes JSON (enum, const) is typed as YAML 1.2's
 * core schema reads a plain scalar, exactly as config/yaml_json.c types
 * it for the OpenAPI document and respond bodies: `3` is a number, `"3"`
 * a string, `true` a boolean, `~` null; hex, octal and .inf stay
 * strings, JSON having no spelling for them. (That reader builds json-c
 * trees; validation wants values in its own arena, exact int64s and no
 * recursion past a body's depth, hence this one.)
 */
#include "contract/internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/jsonschema.h"
#include "util/arena.h"
#include "util/json_check.h"

#define YAML_STR_TAG "tag:yaml.org,2002:str"

/* 2^63 as a double: every double at or above it is past int64. */
#define TWO_63 9223372036854775808.0

static int
compare_int_double(int64_t i, double d)
{
	int64_t t;
	double frac;

	if (d >= TWO_63)
		return -1;
	if (d < -TWO_63)
		return 1;
	t = (int64_t)d;             /* truncates; fits after the tests above */
	if (i != t)
		return i < t ? -1 : 1;
	frac = d - (double)t;       /* exact: d's own fractional part */
	return frac > 0 ? -1 : frac < 0 ? 1 : 0;
}

static int
compare_doubles(double a, double b)
{
	return a < b ? -1 : a > b ? 1 : 0;
}

/* a and b are numbers (VALUE_INT or VALUE_DOUBLE, or struct number). */
static int
compare_numbers(int a_int, int64_t ai, double ad, int b_int, int64_t bi,
                double bd)
{
	if (a_int && b_int)
		return ai < bi ? -1 : ai > bi;
	if (a_int)
		return compare_int_double(ai, bd);
	if (b_int)
		return -compare_int_double(bi, ad);
	return compare_doubles(ad, bd);
}

int
value_compare_number(const struct value *v, const struct number *n)
{
	return compare_numbers(v->type == VALUE_INT, v->u.i, v->u.d, n->is_int,
	                       n->i, n->d);
}

static int
is_number(const struct value *v)
{
	return v->type == VALUE_INT || v->type == VALUE_DOUBLE;
}

/* Every member of a has an equal member of the same name in b. */
static int
members_in(const struct value *a, const struct value *b)
{
	const struct value *m, *o;

	for (m = a->u.first; m != NULL; m = m->next) {
		for (o = b->u.first; o != NULL; o = o->next)
			if (o->key_len == m->key_len &&
			    memcmp(o->key, m->key, m->key_len) == 0 &&
			    value_equal(m, o))
				break;
		if (o == NULL)
			return 0;
	}
	return 1;
}

int
value_equal(const struct value *a, const struct value *b)
{
	const struct value *x, *y;

	if (is_number(a) && is_number(b))
		return compare_numbers(a->type == VALUE_INT, a->u.i, a->u.d,
		                       b->type == VALUE_INT, b->u.i,
		                       b->u.d) == 0;
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case VALUE_NULL:
		return 1;
	case VALUE_BOOL:
		return a->u.boolean == b->u.boolean;
	case VALUE_STRING:
		return a->len == b->len && memcmp(a->u.s, b->u.s, a->len) == 0;
	case VALUE_ARRAY:
		if (a->len != b->len)
			return 0;
		for (x = a->u.first, y = b->u.first; x != NULL && y != NULL;
		     x = x->next, y = y->next)
			if (!value_equal(x, y))
				return 0;
		return 1;
	case VALUE_OBJECT:
		return a->len == b->len && members_in(a, b) && members_in(b, a);
	default:
		return 0;
	}
}

size_t
value_codepoints(const struct value *v)
{
	const unsigned char *s = (const unsigned char *)v->u.s;
	size_t i = 0, n = 0;
	uint64_t x;

	if (v->ascii)
		return v->len;
	/* Valid UTF-8: every byte but a continuation byte (10xxxxxx)
	 * starts one; count those eight at a time. */
	for (; i + 8 <= v->len; i += 8) {
		memcpy(&x, s + i, 8);
		x = (x >> 7) & ~(x >> 6) & UINT64_C(0x0101010101010101);
		n += 8 - (size_t)__builtin_popcountll(x);
	}
	for (; i < v->len; i++)
		n += (s[i] & 0xc0) != 0x80;
	return n;
}

/* --- numbers from text ---------------------------------------------------- */

/* An integer literal ([-+]?digits) that fits int64, into *out. */
static int
exact_integer(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (s[0] == '\0' || strspn(s + (s[0] == '-' || s[0] == '+'),
	                           "0123456789") !=
	    strlen(s + (s[0] == '-' || s[0] == '+')))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

int
value_number(const node_t *n, struct number *out)
{
	double d;

	if (n->kind != NODE_SCALAR || jsonschema_number(n, &d) < 0)
		return -1;
	out->text = n->value;
	out->d = d;
	out->is_int = exact_integer(n->value, &out->i) == 0;
	return 0;
}

static int
is_one_of(const char *s, const char *const *names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return 1;
	return 0;
}

/* A plain scalar YAML 1.2 reads as a decimal number, as a value. */
static int
number_value(const node_t *n, struct value *v)
{
	struct number num;

	if (value_number(n, &num) < 0)
		return -1;
	if (num.is_int) {
		v->type = VALUE_INT;
		v->u.i = num.i;
	} else {
		v->type = VALUE_DOUBLE;
		v->u.d = num.d;
		v->integral = !isfinite(num.d) || num.d == floor(num.d);
	}
	return 0;
}

static void
scalar_value(const node_t *n, struct value *v)
{
	static const char *const yes[] = {"true", "True", "TRUE"};
	static const char *const no[] = {"false", "False", "FALSE"};

	v->type = VALUE_STRING;
	v->u.s = n->value;
	v->len = n->len;
	if (!n->plain || (n->tag != NULL && strcmp(n->tag, YAML_STR_TAG) == 0))
		return;
	if (is_one_of(n->value, yes, 3) || is_one_of(n->value, no, 3)) {
		v->type = VALUE_BOOL;
		v->u.boolean = n->value[0] == 't' || n->value[0] == 'T';
	} else if (node_is_null(n)) {
		v->type = VALUE_NULL;
	} else if (number_value(n, v) == 0) {
		v->len = 0;
	} else {
		v->type = VALUE_STRING;
	}
}

/* Whether an earlier member of the object o is already named key. */
static int
has_member(const struct value *o, const char *key, size_t len)
{
	const struct value *m;

	for (m = o->u.first; m != NULL; m = m->next)
		if (m->key_len == len && memcmp(m->key, key, len) == 0)
			return 1;
	return 0;
}

/* n at depth (containers above it); see value_from_yaml(). */
static struct value *
yaml_value(struct arena *a, const node_t *n, unsigned depth)
{
	struct value *v = arena_alloc(a, sizeof(*v)), **tail;
	uint32_t i;

	if (n->kind == NODE_SCALAR) {
		scalar_value(n, v);
		return v;
	}
	/* A body nests at most JSON_CHECK_MAX_DEPTH containers; a value
	 * deeper than that (the loader allows 100,000 levels) could only
	 * cost stack. */
	if (depth >= JSON_CHECK_MAX_DEPTH) {
		v->type = VALUE_DEEP;
		return v;
	}
	v->type = n->kind == NODE_MAP ? VALUE_OBJECT : VALUE_ARRAY;
	tail = &v->u.first;
	for (i = 0; i < n->n; i++) {
		const node_t *key = n->kind == NODE_MAP ? n->pairs[i].key :
		                    NULL;
		struct value *m;

		/* Merged keys follow explicit ones and lose (the loader
		 * refuses any other repeated key). */
		if (key != NULL && n->pairs[i].merged &&
		    has_member(v, key->value, key->len))
			continue;
		m = yaml_value(a, key != NULL ? n->pairs[i].value :
		               n->items[i], depth + 1);
		if (key != NULL) {
			m->key = key->value;
			m->key_len = key->len;
		}
		*tail = m;
		tail = &m->next;
		v->len++;
	}
	return v;
}

struct value *
value_from_yaml(struct arena *a, const node_t *n)
{
	return yaml_value(a, n, 0);
}

/* --- values as text, for messages --------------------------------------- */

struct text {
	char *buf;
	size_t len, cap;            /* cap: bytes usable before the cut */
};

static void
text_put(struct text *t, const char *s, size_t n)
{
	size_t room = t->len < t->cap ? t->cap - t->len : 0;

	if (n > room)
		n = room;
	memcpy(t->buf + t->len, s, n);
	t->len += n;
}

static void
text_string(struct text *t, const char *s, size_t n)
{
	size_t i;

	text_put(t, "\"", 1);
	for (i = 0; i < n && t->len < t->cap; i++) {
		char esc[8];

		if (s[i] == '"' || s[i] == '\\') {
			esc[0] = '\\';
			esc[1] = s[i];
			text_put(t, esc, 2);
		} else if ((unsigned char)s[i] < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", s[i]);
			text_put(t, esc, 6);
		} else {
			text_put(t, s + i, 1);
		}
	}
	text_put(t, "\"", 1);
}

/* The shortest %g form that reads back as d: 0.1, not
 * 0.10000000000000001. */
static size_t
shortest_double(char *out, size_t len, double d)
{
	int precision, n = 0;

	for (precision = 15; precision <= 17; precision++) {
		n = snprintf(out, len, "%.*g", precision, d);
		if (strtod(out, NULL) == d)
			break;
	}
	return (size_t)n;
}

static void
text_value(struct text *t, const struct value *v)
{
	const struct value *m;
	char num[40];

	if (t->len >= t->cap)
		return;     /* cut already: nothing deeper shows */
	switch (v->type) {
	case VALUE_DEEP:
		text_put(t, "[...]", 5);
		return;
	case VALUE_NULL:
		text_put(t, "null", 4);
		return;
	case VALUE_BOOL:
		text_put(t, v->u.boolean ? "true" : "false",
		         v->u.boolean ? 4 : 5);
		return;
	case VALUE_INT:
		text_put(t, num, (size_t)snprintf(num, sizeof(num), "%lld",
		                                  (long long)v->u.i));
		return;
	case VALUE_DOUBLE:
		text_put(t, num, shortest_double(num, sizeof(num), v->u.d));
		return;
	case VALUE_STRING:
		text_string(t, v->u.s, v->len);
		return;
	default:
		break;
	}
	text_put(t, v->type == VALUE_ARRAY ? "[" : "{", 1);
	for (m = v->u.first; m != NULL && t->len < t->cap; m = m->next) {
		if (m != v->u.first)
			text_put(t, ",", 1);
		if (m->key != NULL) {
			text_string(t, m->key, m->key_len);
			text_put(t, ":", 1);
		}
		text_value(t, m);
	}
	text_put(t, v->type == VALUE_ARRAY ? "]" : "}", 1);
}

const char *
value_text(struct arena *a, const struct value *v, size_t max)
{
	struct text t;

	t.buf = arena_alloc(a, max + 8);
	t.len = 0;
	t.cap = max;
	text_value(&t, v);
	if (t.len >= max) {
		/* Cut on a character boundary, and say so. */
		size_t lead = t.len;

		while (lead > 0 && ((unsigned char)t.buf[lead - 1] & 0xc0) ==
		       0x80)
			lead--;
		if (lead > 0 && (unsigned char)t.buf[lead - 1] >= 0xc0)
			t.len = lead - 1;   /* drop a sequence cut short */
		memcpy(t.buf + t.len, "...", 4);
		return t.buf;
	}
	t.buf[t.len] = '\0';
	return t.buf;
}
