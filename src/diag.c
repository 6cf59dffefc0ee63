/*
 * diag.c - collecting, ordering and rendering configuration diagnostics.
 */
#include "diag.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util/arena.h"
#include "util/suggest.h"

int
diag_list_init(struct diag_list *dl)
{
	memset(dl, 0, sizeof(*dl));
	dl->arena = arena_new();
	return dl->arena == NULL ? -1 : 0;
}

void
diag_list_release(struct diag_list *dl)
{
	arena_free(dl->arena);
	memset(dl, 0, sizeof(*dl));
}

struct diag *
diag_report(struct diag_list *dl, enum severity sev, const struct mark *at,
            const char *code, const char *fmt, va_list ap)
{
	struct diag *d = arena_alloc(dl->arena, sizeof(*d));

	d->severity = sev;
	d->code = code;
	d->message = arena_vprintf(dl->arena, fmt, ap);
	if (at != NULL)
		d->mark = *at;
	d->seq = dl->n;
	dl->items = arena_grow(dl->arena, dl->items, sizeof(*dl->items),
	                       dl->n, &dl->cap, dl->n + 1);
	dl->items[dl->n++] = d;
	if (sev == SEV_ERROR)
		dl->errors++;
	else
		dl->warnings++;
	return d;
}

struct diag *
diag_error(struct diag_list *dl, const struct mark *at, const char *code,
           const char *fmt, ...)
{
	struct diag *d;
	va_list ap;

	va_start(ap, fmt);
	d = diag_report(dl, SEV_ERROR, at, code, fmt, ap);
	va_end(ap);
	return d;
}

struct diag *
diag_warning(struct diag_list *dl, const struct mark *at, const char *code,
             const char *fmt, ...)
{
	struct diag *d;
	va_list ap;

	va_start(ap, fmt);
	d = diag_report(dl, SEV_WARNING, at, code, fmt, ap);
	va_end(ap);
	return d;
}

void
diag_hint(struct diag_list *dl, struct diag *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	d->hint = arena_vprintf(dl->arena, fmt, ap);
	va_end(ap);
}

void
diag_note(struct diag_list *dl, struct diag *d, const struct mark *at,
          const char *fmt, ...)
{
	struct diag_note *note;
	va_list ap;

	d->notes = arena_grow(dl->arena, d->notes, sizeof(*d->notes),
	                      d->nnotes, &d->notes_cap, d->nnotes + 1);
	note = &d->notes[d->nnotes++];
	memset(note, 0, sizeof(*note));
	if (at != NULL)
		note->mark = *at;
	va_start(ap, fmt);
	note->message = arena_vprintf(dl->arena, fmt, ap);
	va_end(ap);
}

void
diag_suggest(struct diag_list *dl, struct diag *d, const char *given,
             const char *const *candidates, size_t n)
{
	const char *best = suggest_closest(given, candidates, n);

	if (best != NULL)
		diag_hint(dl, d, "did you mean '%s'?", best);
}

static const char *
mark_file(const struct mark *m)
{
	return m->src != NULL ? m->src->display : "";
}

static int
diag_order(const void *pa, const void *pb)
{
	const struct diag *a = *(const struct diag *const *)pa;
	const struct diag *b = *(const struct diag *const *)pb;
	int c = strcmp(mark_file(&a->mark), mark_file(&b->mark));

	if (c != 0)
		return c;
	if (a->mark.line != b->mark.line)
		return a->mark.line < b->mark.line ? -1 : 1;
	if (a->mark.col != b->mark.col)
		return a->mark.col < b->mark.col ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int
same_report(const struct diag *a, const struct diag *b)
{
	return a->severity == b->severity && a->mark.line == b->mark.line &&
	       a->mark.col == b->mark.col && strcmp(a->code, b->code) == 0 &&
	       strcmp(mark_file(&a->mark), mark_file(&b->mark)) == 0 &&
	       strcmp(a->message, b->message) == 0;
}

/*
 * A subtree shared through YAML aliases is checked once per use, and
 * would say the same thing at the same place each time: such repeats are
 * dropped here, so every line an operator reads is news.
 */
void
diag_sort(struct diag_list *dl)
{
	size_t i, kept = 0;

	if (dl->n < 2)
		return;
	qsort(dl->items, dl->n, sizeof(*dl->items), diag_order);
	for (i = 0; i < dl->n; i++) {
		if (kept > 0 && same_report(dl->items[kept - 1],
		                            dl->items[i])) {
			if (dl->items[i]->severity == SEV_ERROR)
				dl->errors--;
			else
				dl->warnings--;
			continue;
		}
		dl->items[kept++] = dl->items[i];
	}
	dl->n = kept;
}

static void
render_position(const struct mark *m, FILE *out)
{
	if (m->src == NULL)
		return;
	if (m->line == 0)
		fprintf(out, "%s: ", m->src->display);
	else
		fprintf(out, "%s:%u:%u: ", m->src->display, m->line, m->col);
}

void
diag_render_text(const struct diag_list *dl, FILE *out)
{
	size_t i, j;

	for (i = 0; i < dl->n; i++) {
		const struct diag *d = dl->items[i];

		render_position(&d->mark, out);
		fprintf(out, "%s: %s [%s]\n",
		        d->severity == SEV_ERROR ? "error" : "warning",
		        d->message, d->code);
		if (d->hint != NULL)
			fprintf(out, "  hint: %s\n", d->hint);
		for (j = 0; j < d->nnotes; j++) {
			fputs("  note: ", out);
			render_position(&d->notes[j].mark, out);
			fprintf(out, "%s\n", d->notes[j].message);
		}
	}
}

void
diag_render_summary(const struct diag_list *dl, FILE *out)
{
	fprintf(out, "%zu error%s, %zu warning%s\n",
	        dl->errors, dl->errors == 1 ? "" : "s",
	        dl->warnings, dl->warnings == 1 ? "" : "s");
}

static void
json_add_position(json_object *o, const struct mark *m)
{
	json_object_object_add(o, "file", m->src != NULL ?
	    json_object_new_string(m->src->display) : NULL);
	json_object_object_add(o, "line", m->line ?
	    json_object_new_int((int)m->line) : NULL);
	json_object_object_add(o, "column", m->line ?
	    json_object_new_int((int)m->col) : NULL);
}

static json_object *
diag_to_json(const struct diag *d)
{
	json_object *o = json_object_new_object();
	json_object *notes = json_object_new_array();
	size_t j;

	json_object_object_add(o, "severity", json_object_new_string(
	    d->severity == SEV_ERROR ? "error" : "warning"));
	json_object_object_add(o, "code", json_object_new_string(d->code));
	json_object_object_add(o, "message",
	                       json_object_new_string(d->message));
	json_add_position(o, &d->mark);
	if (d->hint != NULL)
		json_object_object_add(o, "hint",
		                       json_object_new_string(d->hint));
	for (j = 0; j < d->nnotes; j++) {
		json_object *n = json_object_new_object();

		json_add_position(n, &d->notes[j].mark);
		json_object_object_add(n, "message",
		    json_object_new_string(d->notes[j].message));
		json_object_array_add(notes, n);
	}
	json_object_object_add(o, "notes", notes);
	return o;
}

void
diag_render_json(const struct diag_list *dl, const char *summary, FILE *out)
{
	json_object *root = json_object_new_object();
	json_object *arr = json_object_new_array();
	size_t i;

	json_object_object_add(root, "ok",
	                       json_object_new_boolean(dl->errors == 0));
	json_object_object_add(root, "errors",
	                       json_object_new_int64((int64_t)dl->errors));
	json_object_object_add(root, "warnings",
	                       json_object_new_int64((int64_t)dl->warnings));
	for (i = 0; i < dl->n; i++)
		json_object_array_add(arr, diag_to_json(dl->items[i]));
	json_object_object_add(root, "diagnostics", arr);
	if (summary != NULL)
		json_object_object_add(root, "summary",
		                       json_object_new_string(summary));
	fprintf(out, "%s\n", json_object_to_json_string_ext(root,
	        JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
}
