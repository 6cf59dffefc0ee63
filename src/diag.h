/*
 * diag.h - configuration diagnostics: collect, order, render.
 *
 * Every stage reports into one diag_list and keeps going, so an operator
 * sees every problem of a configuration in one run. Codes are the stable
 * strings of SPEC section 5; tests match on them.
 */
#ifndef ASTER_DIAG_H
#define ASTER_DIAG_H

#include <stdio.h>

#include "util/mark.h"

enum severity {
	SEV_ERROR,
	SEV_WARNING,
};

struct diag_note {
	struct mark mark;
	const char *message;
};

struct diag {
	enum severity severity;
	const char *code;
	const char *message;
	struct mark mark;
	const char *hint;           /* "did you mean 'x'?", or NULL */
	struct diag_note *notes;
	size_t nnotes, notes_cap;
	size_t seq;                 /* report order, keeps sorting stable */
};

struct diag_list {
	struct arena *arena;        /* owns every diagnostic and string */
	struct diag **items;
	size_t n, cap;
	size_t errors;
	size_t warnings;
};

/* Initialises an empty list with its own arena; returns 0 or -1. */
int diag_list_init(struct diag_list *dl);
void diag_list_release(struct diag_list *dl);

/* Reports an error or warning at mark (NULL: no position). The returned
 * diagnostic may receive a hint and notes. */
struct diag *diag_error(struct diag_list *dl, const struct mark *at,
                        const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
struct diag *diag_warning(struct diag_list *dl, const struct mark *at,
                          const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
struct diag *diag_report(struct diag_list *dl, enum severity sev,
                         const struct mark *at, const char *code,
                         const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

void diag_hint(struct diag_list *dl, struct diag *d, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void diag_note(struct diag_list *dl, struct diag *d, const struct mark *at,
               const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Adds "did you mean 'x'?" when a candidate is close to given. */
void diag_suggest(struct diag_list *dl, struct diag *d, const char *given,
                  const char *const *candidates, size_t n);

/* Orders diagnostics by file path, line, column, then report order, and
 * drops exact repeats (same severity, code, place and message). */
void diag_sort(struct diag_list *dl);

/* Compiler-style text, one diagnostic per line with indented hint/notes. */
void diag_render_text(const struct diag_list *dl, FILE *out);

/* "N errors, M warnings" (singular forms for 1). */
void diag_render_summary(const struct diag_list *dl, FILE *out);

/* The --format json document of SPEC section 5, newline-terminated.
 * summary is added as "summary" when non-NULL. */
void diag_render_json(const struct diag_list *dl, const char *summary,
                      FILE *out);

#endif
