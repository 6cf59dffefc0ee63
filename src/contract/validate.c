/*
 * validate.c - checking a JSON value against a compiled schema.
 *
 * One walk over the value, applying at each place every schema that
 * reaches it (a schema, then the schemas of its $ref chain). Keywords
 * are independent, as in JSON Schema: a value of the wrong type is
 * reported, and so is its breaking an enum. Errors come in document
 * order, each with the JSON Pointer (RFC 6901) of the value, or of the
 * missing member for `required`; the walk stops at the 21st.
 *
 * The walk allocates only to report an error (its pointer and detail,
 * in the scratch), and keeps the path as a stack of references into the
 * value, so a valid body costs no memory at all.
 */
#include "contract/internal.h"

#include <stdio.h>
#include <string.h>

#include "util/json_check.h"
#include "util/utf8.h"

/* A member name in a detail is cut to this many bytes. */
#define NAME_MAX_BYTES 64

/* One step of the path from the root: a member name, or an index. */
struct step {
	const char *key;            /* NULL: an array index */
	uint32_t key_len;
	size_t index;
};

struct walk {
	struct contract *c;
	struct contract_report *out;
	/* One step per nested container, and one for a missing member. */
	struct step path[JSON_CHECK_MAX_DEPTH + 2];
	size_t depth;
	int nomem;
};

static void check(struct walk *w, const struct contract_schema *s,
                  const struct value *v);

/* --- reporting ---------------------------------------------------------- */

/* Writes the RFC 6901 form of one name: '~' as ~0, '/' as ~1; a NUL
 * byte, which a C string cannot hold, as U+FFFD. Returns the length
 * (out NULL: only counts). */
static size_t
escape_step(char *out, const char *key, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		const char *rep = key[i] == '~' ? "~0" : key[i] == '/' ? "~1" :
		                  key[i] == '\0' ? "\xef\xbf\xbd" : NULL;
		size_t rlen = rep != NULL ? strlen(rep) : 1;

		if (out != NULL)
			memcpy(out + n, rep != NULL ? rep : key + i, rlen);
		n += rlen;
	}
	return n;
}

static size_t
index_text(char *out, size_t index)
{
	char digits[24];
	size_t n = 0, i;

	do {
		digits[n++] = (char)('0' + index % 10);
		index /= 10;
	} while (index > 0);
	for (i = 0; out != NULL && i < n; i++)
		out[i] = digits[n - 1 - i];
	return n;
}

/* The path as a JSON Pointer, in the scratch. */
static const char *
pointer(struct walk *w)
{
	size_t i, len = 0;
	char *out, *p;

	for (i = 0; i < w->depth; i++)
		len += 1 + (w->path[i].key != NULL ?
		            escape_step(NULL, w->path[i].key,
		                        w->path[i].key_len) :
		            index_text(NULL, w->path[i].index));
	if ((out = scratch_alloc(&w->c->scratch, len + 1)) == NULL)
		return NULL;
	for (i = 0, p = out; i < w->depth; i++) {
		*p++ = '/';
		p += w->path[i].key != NULL ?
		     escape_step(p, w->path[i].key, w->path[i].key_len) :
		     index_text(p, w->path[i].index);
	}
	*p = '\0';
	return out;
}

static int
full(const struct walk *w)
{
	return w->out->truncated || w->nomem;
}

/* Records an error at the current path (detail made by the caller, in
 * the scratch; NULL when that ran out of memory). */
static void
report(struct walk *w, const char *detail)
{
	struct contract_report *r = w->out;
	const char *ptr;

	if (full(w))
		return;
	if (r->nerrors == CONTRACT_MAX_ERRORS) {
		r->truncated = 1;
		return;
	}
	if (detail == NULL || (ptr = pointer(w)) == NULL) {
		w->nomem = 1;
		return;
	}
	r->errors[r->nerrors].pointer = ptr;
	r->errors[r->nerrors].detail = detail;
	r->nerrors++;
}

#define REPORT(w, ...) \
	report((w), scratch_printf(&(w)->c->scratch, __VA_ARGS__))

/* A member name for a detail: at most NAME_MAX_BYTES, on a character
 * boundary (the body is UTF-8), NUL bytes shown as U+FFFD. */
static const char *
name_text(struct walk *w, const char *key, size_t len)
{
	size_t keep = 0, n;
	char *out, *p;

	while (keep < len && keep < NAME_MAX_BYTES) {
		n = utf8_sequence((const unsigned char *)key + keep,
		                  len - keep);
		if (n == 0 || keep + n > NAME_MAX_BYTES)
			break;
		keep += n;
	}
	/* Each byte grows to 3 at most (NUL as U+FFFD), and "..." follows. */
	if ((out = scratch_alloc(&w->c->scratch, keep * 3 + 4)) == NULL)
		return "?";
	for (p = out, n = 0; n < keep; n++) {
		if (key[n] == '\0') {
			memcpy(p, "\xef\xbf\xbd", 3);
			p += 3;
		} else {
			*p++ = key[n];
		}
	}
	memcpy(p, keep < len ? "..." : "", keep < len ? 4 : 1);
	return out;
}

/* --- types --------------------------------------------------------------- */

static unsigned
value_types(const struct value *v)
{
	switch (v->type) {
	case VALUE_NULL: return TYPE_NULL;
	case VALUE_BOOL: return TYPE_BOOLEAN;
	case VALUE_INT: return TYPE_INTEGER | TYPE_NUMBER;
	case VALUE_DOUBLE:
		return v->integral ? TYPE_INTEGER | TYPE_NUMBER : TYPE_NUMBER;
	case VALUE_STRING: return TYPE_STRING;
	case VALUE_ARRAY: return TYPE_ARRAY;
	default: return TYPE_OBJECT;
	}
}

static const char *
value_type_name(const struct value *v)
{
	static const char *const names[] = {
		"null", "boolean", "integer", "number", "string", "array",
		"object"};

	if (v->type == VALUE_DOUBLE && v->integral)
		return "integer";
	return names[v->type];
}

static void
check_type(struct walk *w, const struct contract_schema *s,
           const struct value *v)
{
	static const char *const names[] = {
		"null", "boolean", "object", "array", "number", "integer",
		"string"};
	char want[80];
	size_t i, used = 0;

	if (s->types == 0 || (s->types & value_types(v)) != 0)
		return;
	for (i = 0; i < 7; i++) {
		if (!(s->types & (1u << i)))
			continue;
		used += (size_t)snprintf(want + used, sizeof(want) - used,
		                         "%s%s", used > 0 ? " or " : "",
		                         names[i]);
	}
	REPORT(w, "must be %s, not %s", want, value_type_name(v));
}

/* --- keywords by instance type ------------------------------------------ */

static void
check_string(struct walk *w, const struct contract_schema *s,
             const struct value *v)
{
	int ok;

	if (s->has & (HAS_MIN_LENGTH | HAS_MAX_LENGTH)) {
		size_t n = value_codepoints(v);

		if ((s->has & HAS_MIN_LENGTH) && n < s->min_length)
			REPORT(w, "must be at least %llu character%s long",
			       s->min_length, s->min_length == 1 ? "" : "s");
		if ((s->has & HAS_MAX_LENGTH) && n > s->max_length)
			REPORT(w, "must be at most %llu character%s long",
			       s->max_length, s->max_length == 1 ? "" : "s");
	}
	if (s->pattern != NULL) {
		ok = pattern_match(s->pattern, v->u.s, v->len);
		if (ok == 0)
			REPORT(w, "must match the pattern '%s'",
			       pattern_text(s->pattern));
		else if (ok < 0)
			REPORT(w, "could not be matched against the pattern "
			       "'%s' within the match limit",
			       pattern_text(s->pattern));
	}
	switch (s->format) {
	case FORMAT_UUID:
		if (!format_uuid(v->u.s, v->len))
			REPORT(w, "must be a UUID");
		break;
	case FORMAT_DATE_TIME:
		if (!format_date_time(v->u.s, v->len))
			REPORT(w, "must be an RFC 3339 date-time");
		break;
	case FORMAT_EMAIL:
		if (!format_email(v->u.s, v->len))
			REPORT(w, "must be an email address");
		break;
	default:
		break;
	}
}

static void
check_number(struct walk *w, const struct contract_schema *s,
             const struct value *v)
{
	if ((s->has & HAS_MINIMUM) && value_compare_number(v, &s->minimum) < 0)
		REPORT(w, "must be >= %s", s->minimum.text);
	if ((s->has & HAS_EXCL_MINIMUM) &&
	    value_compare_number(v, &s->excl_minimum) <= 0)
		REPORT(w, "must be > %s", s->excl_minimum.text);
	if ((s->has & HAS_MAXIMUM) && value_compare_number(v, &s->maximum) > 0)
		REPORT(w, "must be <= %s", s->maximum.text);
	if ((s->has & HAS_EXCL_MAXIMUM) &&
	    value_compare_number(v, &s->excl_maximum) >= 0)
		REPORT(w, "must be < %s", s->excl_maximum.text);
}

static void
check_array(struct walk *w, const struct contract_schema *s,
            const struct value *v)
{
	const struct value *item;
	size_t i;

	if ((s->has & HAS_MIN_ITEMS) && v->len < s->min_items)
		REPORT(w, "must have at least %llu item%s", s->min_items,
		       s->min_items == 1 ? "" : "s");
	if ((s->has & HAS_MAX_ITEMS) && v->len > s->max_items)
		REPORT(w, "must have at most %llu item%s", s->max_items,
		       s->max_items == 1 ? "" : "s");
	if (s->items == NULL)
		return;
	for (item = v->u.first, i = 0; item != NULL && !full(w);
	     item = item->next, i++) {
		w->path[w->depth].key = NULL;
		w->path[w->depth].index = i;
		w->depth++;
		check(w, s->items, item);
		w->depth--;
	}
}

/* A member that neither properties names: additionalProperties. */
static void
check_additional(struct walk *w, const struct contract_schema *s,
                 const struct value *m)
{
	if (s->additional->boolean == 0)
		REPORT(w, "property '%s' is not allowed",
		       name_text(w, m->key, m->key_len));
	else
		check(w, s->additional, m);
}

static void
check_object(struct walk *w, const struct contract_schema *s,
             const struct value *v)
{
	uint64_t local[4] = {0}, *seen = local;
	const struct value *m;
	uint32_t i;

	if (s->nrequired > 64 * 4) {
		size_t bytes = (s->nrequired + 63) / 64 * sizeof(*seen);

		if ((seen = scratch_alloc(&w->c->scratch, bytes)) == NULL) {
			w->nomem = 1;
			return;
		}
		memset(seen, 0, bytes);
	}
	for (m = v->u.first; m != NULL && !full(w); m = m->next) {
		const struct property *p = s->nprops > 0 ?
		    schema_property(s, m->key, m->key_len) : NULL;

		if (p != NULL && p->required >= 0)
			seen[p->required / 64] |=
			    UINT64_C(1) << (p->required % 64);
		if ((p == NULL || p->schema == NULL) && s->additional == NULL)
			continue;
		w->path[w->depth].key = m->key;
		w->path[w->depth].key_len = m->key_len;
		w->depth++;
		if (p != NULL && p->schema != NULL)
			check(w, p->schema, m);
		else
			check_additional(w, s, m);
		w->depth--;
	}
	for (i = 0; i < s->nrequired && !full(w); i++) {
		const struct property *p = s->required[i];

		if (seen[i / 64] & (UINT64_C(1) << (i % 64)))
			continue;
		w->path[w->depth].key = p->name;
		w->path[w->depth].key_len = p->len;
		w->depth++;
		REPORT(w, "required property '%s' is missing",
		       name_text(w, p->name, p->len));
		w->depth--;
	}
}

/* --- schemas ------------------------------------------------------------- */

static int
in_enum(const struct contract_schema *s, const struct value *v)
{
	size_t i;

	for (i = 0; i < s->nenums; i++)
		if (value_equal(v, s->enums[i]))
			return 1;
	return 0;
}

/* The keywords of s itself (not of its $ref). */
static void
check_own(struct walk *w, const struct contract_schema *s,
          const struct value *v)
{
	if (s->boolean >= 0) {
		if (s->boolean == 0)
			REPORT(w, "no value is allowed here");
		return;
	}
	check_type(w, s, v);
	if ((s->has & HAS_CONST) && !value_equal(v, s->konst))
		REPORT(w, "must be %s", s->const_text);
	if ((s->has & HAS_ENUM) && !in_enum(s, v))
		REPORT(w, "must be one of %s", s->enum_text);
	switch (v->type) {
	case VALUE_STRING:
		check_string(w, s, v);
		break;
	case VALUE_INT:
	case VALUE_DOUBLE:
		check_number(w, s, v);
		break;
	case VALUE_ARRAY:
		check_array(w, s, v);
		break;
	case VALUE_OBJECT:
		if (s->has & (HAS_PROPERTIES | HAS_ADDITIONAL))
			check_object(w, s, v);
		break;
	default:
		break;
	}
}

/* s and the distinct schemas of its $ref chain (compile.c). */
static void
check(struct walk *w, const struct contract_schema *s, const struct value *v)
{
	uint32_t n;

	for (n = s->chain; s != NULL && n > 0 && !full(w); s = s->ref, n--)
		check_own(w, s, v);
}

static enum contract_verdict
walk_value(struct contract *c, const struct contract_schema *s,
           const struct value *v, struct contract_report *out)
{
	struct walk w;

	w.c = c;
	w.out = out;
	w.depth = 0;
	w.nomem = 0;
	check(&w, s, v);
	if (w.nomem)
		return CONTRACT_NO_MEMORY;
	return out->nerrors > 0 ? CONTRACT_INVALID : CONTRACT_VALID;
}

static void
report_init(struct contract_report *out)
{
	out->nerrors = 0;
	out->truncated = 0;
	out->why[0] = '\0';
}

enum contract_verdict
contract_check_text(struct contract *c, const struct contract_schema *s,
                    const char *text, size_t len,
                    struct contract_report *out)
{
	struct value *v;
	int nomem;

	report_init(out);
	scratch_reset(&c->scratch);
	v = instance_parse(&c->scratch, text, len, out->why, sizeof(out->why),
	                   &nomem);
	if (v == NULL)
		return nomem ? CONTRACT_NO_MEMORY : CONTRACT_INVALID_JSON;
	return walk_value(c, s, v, out);
}

enum contract_verdict
contract_check_json(struct contract *c, const struct contract_schema *s,
                    const struct json_object *o,
                    struct contract_report *out)
{
	struct value *v;
	int nomem;

	report_init(out);
	scratch_reset(&c->scratch);
	v = instance_from_json(&c->scratch, o, out->why, sizeof(out->why),
	                       &nomem);
	if (v == NULL)
		return nomem ? CONTRACT_NO_MEMORY : CONTRACT_INVALID_JSON;
	return walk_value(c, s, v, out);
}
