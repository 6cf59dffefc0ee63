/*
 * internal.h - what the files of contract/ share: compiled schemas, JSON
 * values, the scratch memory of a check, patterns and formats.
 */
#ifndef ASTER_CONTRACT_INTERNAL_H
#define ASTER_CONTRACT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "config/node.h"
#include "contract/contract.h"

struct arena;
struct strmap;

/* --- JSON values: instances and enum/const values ------------------------ */

enum value_type {
	VALUE_NULL,
	VALUE_BOOL,
	VALUE_INT,          /* within int64 */
	VALUE_DOUBLE,       /* any other number */
	VALUE_STRING,       /* valid UTF-8, may hold NUL */
	VALUE_ARRAY,
	VALUE_OBJECT,
	/* An enum or const value nested deeper than any body may be: it
	 * equals nothing, and its members are not kept. */
	VALUE_DEEP,
};

/*
 * One JSON value. Members of arrays and objects are a list through next
 * (an object member carries its name in key), so a parse allocates each
 * value once, in order, and nothing else.
 */
struct value {
	unsigned char type;         /* enum value_type */
	unsigned char integral;     /* VALUE_DOUBLE with an integer value */
	unsigned char ascii;        /* VALUE_STRING of ASCII bytes only */
	uint32_t len;               /* string bytes; members of a container */
	uint32_t key_len;
	const char *key;            /* member name in an object, else NULL */
	struct value *next;
	union {
		int boolean;
		int64_t i;
		double d;
		const char *s;
		struct value *first;
	} u;
};

/* A number of a keyword (minimum...), exact when it is an integer. */
struct number {
	int is_int;
	int64_t i;
	double d;
	const char *text;           /* as written, for messages */
};

/* -1, 0 or 1 as the number v (VALUE_INT or VALUE_DOUBLE) is below, equal
 * to or above n; exact for every pair. */
int value_compare_number(const struct value *v, const struct number *n);

/* 1 when a and b are the same JSON value (numbers by value, objects as
 * sets of members). */
int value_equal(const struct value *a, const struct value *b);

/* Code points in a string value (valid UTF-8). */
size_t value_codepoints(const struct value *v);

/* A YAML value as JSON (config typing: a plain scalar is a number,
 * boolean or null when YAML 1.2's core schema reads it so, a quoted one a
 * string), in a; containers nested past JSON_CHECK_MAX_DEPTH become
 * VALUE_DEEP. */
struct value *value_from_yaml(struct arena *a, const node_t *n);

/* A keyword's number, as config/jsonschema.c types it. 0 or -1. */
int value_number(const node_t *n, struct number *out);

/* A value as compact JSON, cut to about max bytes, for messages. */
const char *value_text(struct arena *a, const struct value *v, size_t max);

/* --- the scratch memory of one check ------------------------------------- */

/*
 * A bump allocator reset before each check: its first block is kept
 * (up to SCRATCH_KEEP bytes), so a steady stream of ordinary bodies
 * allocates nothing. Unlike the configuration arena it fails softly:
 * a body that does not fit in memory is a 500, not an abort.
 */
struct scratch_block;
struct scratch {
	struct scratch_block *head;
	size_t want;                /* bytes the last check used */
};

void scratch_reset(struct scratch *s);
void scratch_release(struct scratch *s);
void *scratch_alloc(struct scratch *s, size_t n);    /* NULL: no memory */
char *scratch_printf(struct scratch *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Parses text[0..len) strictly (RFC 8259, nesting at most 64) into
 * values in s. Returns the root, or NULL with *nomem set when memory ran
 * out, else the reason and byte offset in why.
 */
struct value *instance_parse(struct scratch *s, const char *text, size_t len,
                             char *why, size_t whylen, int *nomem);

/* The same for a json-c value (NULL is null); strings must be UTF-8. */
struct value *instance_from_json(struct scratch *s, const struct json_object *o,
                                 char *why, size_t whylen, int *nomem);

/* --- compiled schemas ---------------------------------------------------- */

enum {
	TYPE_NULL = 1u << 0,
	TYPE_BOOLEAN = 1u << 1,
	TYPE_OBJECT = 1u << 2,
	TYPE_ARRAY = 1u << 3,
	TYPE_NUMBER = 1u << 4,
	TYPE_INTEGER = 1u << 5,
	TYPE_STRING = 1u << 6,
};

/* Keywords a schema has (struct contract_schema.has). */
enum {
	HAS_MIN_LENGTH = 1u << 0,
	HAS_MAX_LENGTH = 1u << 1,
	HAS_MIN_ITEMS = 1u << 2,
	HAS_MAX_ITEMS = 1u << 3,
	HAS_MINIMUM = 1u << 4,
	HAS_MAXIMUM = 1u << 5,
	HAS_EXCL_MINIMUM = 1u << 6,
	HAS_EXCL_MAXIMUM = 1u << 7,
	HAS_CONST = 1u << 8,
	HAS_ENUM = 1u << 9,
	HAS_PROPERTIES = 1u << 10,  /* properties or required */
	HAS_ADDITIONAL = 1u << 11,
	HAS_ITEMS = 1u << 12,
};

enum format {
	FORMAT_NONE,
	FORMAT_UUID,
	FORMAT_DATE_TIME,
	FORMAT_EMAIL,
};

/* A name of `properties` or `required`. */
struct property {
	const char *name;
	uint32_t len;
	uint32_t hash;
	const struct contract_schema *schema;  /* NULL: only required */
	int required;               /* index in the required list, or -1 */
};

struct pattern;

struct contract_schema {
	signed char boolean;        /* 1 true, 0 false; -1 a mapping */
	unsigned types;             /* TYPE_ bits; 0: any */
	unsigned has;               /* HAS_ bits */
	enum format format;

	struct property *props;     /* properties, then required-only names */
	uint32_t nprops;
	uint32_t *slots;            /* open addressing: index + 1, or 0 */
	uint32_t slot_mask;
	const struct property **required;   /* in the order written */
	uint32_t nrequired;
	const struct contract_schema *additional;
	const struct contract_schema *items;

	const struct value *konst;
	const char *const_text;     /* for messages */
	const struct value **enums;
	size_t nenums;
	const char *enum_text;      /* the values, cut to ~120 bytes */

	unsigned long long min_length, max_length, min_items, max_items;
	struct number minimum, maximum, excl_minimum, excl_maximum;
	const struct pattern *pattern;

	/* $ref: the schema it names, and how many distinct schemas the
	 * chain from here holds (a cycle of $refs only ever adds the
	 * same keywords again, so a check stops after chain of them). */
	const struct contract_schema *ref;
	uint32_t chain;
};

/* Open addressing over property names. */
uint32_t property_hash(const char *s, size_t len);
const struct property *schema_property(const struct contract_schema *s,
                                       const char *name, size_t len);

struct contract {
	struct arena *arena;        /* compiled schemas and their values */
	struct route_entry *routes; /* by route address */
	size_t route_mask;
	size_t nroutes;
	struct pattern_set *patterns;
	struct scratch scratch;
};

/* --- patterns (pattern.c) ------------------------------------------------ */

/* The patterns of one contract: compiled once each, JIT when available,
 * with their match data, a shared JIT stack and match limits. */
struct pattern_set *pattern_set_new(void);
void pattern_set_free(struct pattern_set *ps);

/* The compiled pattern for text (NUL-free, len bytes), made once per
 * distinct text; NULL when PCRE2 refuses it or memory ran out, with the
 * reason in err. */
const struct pattern *pattern_get(struct pattern_set *ps, const char *text,
                                  size_t len, char *err, size_t errlen);

/* The pattern as written, for messages. */
const char *pattern_text(const struct pattern *p);

/* 1 when the UTF-8 string s[0..len) holds a match, 0 when not, -1 when
 * PCRE2 gave up (match or depth limit): the caller fails closed. */
int pattern_match(const struct pattern *p, const char *s, size_t len);

/* --- formats (format.c) -------------------------------------------------- */

int format_uuid(const char *s, size_t len);
int format_date_time(const char *s, size_t len);
int format_email(const char *s, size_t len);

#endif
