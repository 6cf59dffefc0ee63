/*
 * decode.h - table-driven decoding of YAML mappings into C structs.
 *
 * Each manifest shape (product, module, route, ...) is described by a table
 * of fields: key, type, whether it is required, where it lands in the
 * struct. One generic decoder then reports unknown keys (with "did you
 * mean"), missing keys and wrong types the same way for every shape, so
 * the schema of SPEC §3 lives in tables rather than in hand-written
 * checks scattered over the loader.
 */
#ifndef ASTER_DECODE_H
#define ASTER_DECODE_H

#include <stddef.h>

#include "config/node.h"
#include "diag.h"

struct arena;

/* What decoding needs: where to allocate, where to report. */
struct decoder {
	struct arena *arena;
	struct diag_list *dl;
	/* The field being decoded, for messages (see describe()). */
	const char *shape_what;
	const char *field_key;
};

/* A list of strings with the node each came from. */
struct strlist {
	size_t n;
	const char **v;
	const node_t **at;
};

/* 1 when l holds s. */
int strlist_has(const struct strlist *l, const char *s);

/* A list of decoded structs. */
struct objlist {
	size_t n;
	void **v;
};

enum field_kind {
	FK_STRING,      /* const char *: any scalar */
	FK_ID,          /* const char *: identifier (invalid-id) */
	FK_PATH,        /* const char *: resolved against the file's dir */
	FK_VERSION,     /* const char *: SemVer 2.0 (invalid-value) */
	FK_INT,         /* long long in [min, max] */
	FK_BOOL,        /* int: true | false */
	FK_ENUM,        /* const char *: one of values */
	FK_STRLIST,     /* struct strlist: list of scalars */
	FK_IDLIST,      /* struct strlist: list of identifiers */
	FK_ENUMLIST,    /* struct strlist: list of values, no repeats */
	FK_MAP,         /* const node_t *: a mapping, kept raw */
	FK_NODE,        /* const node_t *: anything, kept raw */
	FK_STRUCT,      /* void *: allocated, decoded with shape */
	FK_LIST,        /* struct objlist: list, items decoded with shape */
	FK_CUSTOM,      /* decoded by custom() */
};

#define F_REQUIRED 0x1u
#define F_NONEMPTY 0x2u     /* lists: at least one item */

struct shape;

struct field {
	const char *key;
	enum field_kind kind;
	unsigned flags;
	size_t offset;
	const char *const *values;      /* FK_ENUM, FK_ENUMLIST: NULL-ended */
	long long min, max;             /* FK_INT */
	const struct shape *shape;      /* FK_STRUCT, FK_LIST */
	/* FK_CUSTOM: decodes value into the field at dst; 0 or -1. */
	int (*custom)(struct decoder *d, const node_t *value, void *dst);
};

struct shape {
	const char *what;               /* "route", for messages */
	size_t size;                    /* sizeof the struct */
	size_t node_offset;             /* where the mapping node is kept */
	const struct field *fields;     /* ends with key == NULL */
};

/*
 * Decodes map into obj (zeroed by the caller) per shape. Keeps going after
 * errors; returns the number of errors reported. Absent optional fields
 * are left zeroed.
 */
size_t decode_map(struct decoder *d, const node_t *map,
                  const struct shape *shape, void *obj);

/* Allocates and decodes one struct of shape; never NULL. */
void *decode_new(struct decoder *d, const node_t *map,
                 const struct shape *shape, size_t *errors);

/* Single-value helpers, shared with custom decoders. Each reports its own
 * error and returns -1 on a bad value; what names the value in messages
 * (NULL: the field the generic decoder is decoding). */
int decode_scalar(struct decoder *d, const node_t *n, const char *what,
                  const char **out);
int decode_int(struct decoder *d, const node_t *n, const char *what,
               long long min, long long max, long long *out);
int decode_bool(struct decoder *d, const node_t *n, const char *what,
                int *out);
int decode_id(struct decoder *d, const node_t *n, const char *what,
              const char **out);
int decode_enum(struct decoder *d, const node_t *n, const char *what,
                const char *const *values, const char **out);

/* Resolves path against the directory of the file holding n. */
const char *decode_resolve_path(struct arena *a, const node_t *n,
                                const char *path);

/* SPEC §3.2 identifier: ^[a-z][a-z0-9-]*(\.[a-z0-9-]+)*$, <= 64 bytes. */
int is_identifier(const char *s);

/* Service ids: ^[a-z][a-z0-9-]*$, <= 64 bytes. */
int is_service_id(const char *s);

/* Schema names: ^[A-Za-z][A-Za-z0-9_]*$, <= 64 bytes. */
int is_schema_name(const char *s);

#endif
