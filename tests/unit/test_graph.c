/*
 * test_graph.c - graph validation and planning (SPEC §5, §6) on
 * configurations built in memory: membership, dependency cycles and the
 * one cycle each group prints, waves, the independence of the plan from
 * file names and order, hints and notes, and scale (a 2,000-module chain
 * and cycle must not overflow the stack).
 *
 * Diagnostics are compared as text, one "SEVERITY CODE FILE:LINE:COL"
 * line each in sorted order, so a failure shows the whole picture.
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "config/manifest.h"
#include "diag.h"
#include "graph/graph.h"
#include "product.h"
#include "provider/registry.h"
#include "util/arena.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Lines 1-7; a modules: list, when wanted, is appended as line 8. */
#define PRODUCT                                                        \
	"kind: product\n"                                              \
	"id: corpus\n"                                                 \
	"name: Corpus\n"                                               \
	"version: 1.0.0\n"                                             \
	"server:\n"                                                    \
	"  listen:\n"                                                  \
	"    - address: 127.0.0.1:8080\n"

static struct provider_registry *reg;
static struct arena *ta;                /* the test's own strings */
static struct config *cfg;
static struct diag_list dl;

static void
setup(void)
{
	reg = registry_new(unit_test_modules_dir());
	ck_assert_ptr_nonnull(reg);
	ta = arena_new();
	ck_assert_ptr_nonnull(ta);
	cfg = config_new("conf.d");
	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(diag_list_init(&dl), 0);
}

static void
teardown(void)
{
	diag_list_release(&dl);
	config_free(cfg);
	arena_free(ta);
	registry_free(reg);
	cfg = NULL;
	ta = NULL;
	reg = NULL;
}

/*
 * A module manifest: kind, id, displayName and version on lines 1-4, then
 * extra from line 5 on.
 */
static const char *
mod(const char *id, const char *extra)
{
	return arena_printf(ta, "kind: module\nid: %s\ndisplayName: Module %s\n"
	                    "version: 1.0.0\n%s", id, id, extra);
}

static void
add(const char *rel, const char *text)
{
	config_add_text(cfg, &dl, rel, text, strlen(text));
}

/* Indexes, validates and sorts; returns the error count. */
static size_t
validate(void)
{
	size_t errors;

	config_index_modules(cfg);
	errors = graph_validate(cfg, reg, &dl);
	ck_assert_uint_eq(errors, dl.errors);
	diag_sort(&dl);
	return errors;
}

/* Every diagnostic as "error CODE FILE:LINE:COL\n" (or "FILE" alone
 * without a line), in sorted order. */
static const char *
diags(void)
{
	const char *s = "";
	size_t i;

	for (i = 0; i < dl.n; i++) {
		const struct diag *d = dl.items[i];
		const char *file = d->mark.src ? d->mark.src->display : "-";

		if (d->mark.line == 0)
			s = arena_printf(ta, "%s%s %s %s\n", s,
			                 d->severity == SEV_ERROR ? "error" :
			                 "warning", d->code, file);
		else
			s = arena_printf(ta, "%s%s %s %s:%u:%u\n", s,
			                 d->severity == SEV_ERROR ? "error" :
			                 "warning", d->code, file, d->mark.line,
			                 d->mark.col);
	}
	return s;
}

/* The only diagnostic with code. */
static const struct diag *
only(const char *code)
{
	const struct diag *found = NULL;
	size_t i;

	for (i = 0; i < dl.n; i++) {
		if (strcmp(dl.items[i]->code, code) != 0)
			continue;
		ck_assert_msg(found == NULL, "two %s diagnostics:\n%s", code,
		              diags());
		found = dl.items[i];
	}
	ck_assert_msg(found != NULL, "no %s diagnostic:\n%s", code, diags());
	return found;
}

static const char *
mark_text(const struct mark *m)
{
	return arena_printf(ta, "%s:%u:%u", m->src ? m->src->display : "-",
	                    m->line, m->col);
}

static void
expect_note(const struct diag *d, size_t i, const char *where)
{
	ck_assert_msg(i < d->nnotes, "'%s' has %zu notes, want note %zu",
	              d->message, d->nnotes, i + 1);
	ck_assert_str_eq(mark_text(&d->notes[i].mark), where);
}

/* The plan as "a,b|c|d": waves separated by '|'. */
static const char *
waves(const struct config *c)
{
	const char *s = "";
	size_t w, i;

	for (w = 0; w < c->nwaves; w++)
		for (i = 0; i < c->wave_sizes[w]; i++)
			s = arena_printf(ta, "%s%s%s", s,
			                 i > 0 ? "," : w > 0 ? "|" : "",
			                 c->waves[w][i]->id);
	return s;
}

static const char *
members(const struct config *c)
{
	const char *s = "";
	size_t i;

	for (i = 0; i < c->nmembers; i++)
		s = arena_printf(ta, "%s%s%s", s, i ? "," : "",
		                 c->members[i]->id);
	return s;
}

/* --- a valid product -------------------------------------------------- */

START_TEST(test_minimal)
{
	add("product.yaml", PRODUCT);
	add("modules/a.yaml", mod("a",
	    "routes:\n"
	    "  - id: route:a.index\n"
	    "    scope: public\n"
	    "    methods: [GET]\n"
	    "    mountPath: /a\n"
	    "    handler: { respond: { status: 200 } }\n"));
	ck_assert_uint_eq(validate(), 0);
	ck_assert_str_eq(diags(), "");
	ck_assert_int_eq(cfg->planned, 1);
	ck_assert_uint_eq(cfg->nmembers, 1);
	ck_assert_uint_eq(cfg->nroutes, 1);
	ck_assert_uint_eq(cfg->nwaves, 1);
	ck_assert_uint_eq(cfg->wave_sizes[0], 1);
	ck_assert_str_eq(cfg->waves[0][0]->id, "a");
	ck_assert_int_eq(cfg->waves[0][0]->wave, 1);
	ck_assert_str_eq(product_summary(cfg), "configuration ok: product "
	                 "'corpus' 1.0.0, 1 module, 1 route");
}
END_TEST

/* --- dependency cycles ------------------------------------------------ */

/* SPEC §5's own example: requires, after and needs all count. */
START_TEST(test_cycle_spec_example)
{
	const struct diag *d;

	add("product.yaml", PRODUCT);
	add("modules/a.yaml", mod("a", "needs: [cap-c]\n"));
	add("modules/b.yaml", mod("b", "requires: [a]\n"));
	add("modules/c.yaml", mod("c", "provides: [cap-c]\nafter: [b]\n"));
	ck_assert_uint_eq(validate(), 1);
	d = only("dependency-cycle");
	ck_assert_str_eq(d->message, "dependency cycle: a -> c -> b -> a");
	ck_assert_str_eq(mark_text(&d->mark), "conf.d/modules/a.yaml:5:9");
	ck_assert_uint_eq(d->nnotes, 2);
	expect_note(d, 0, "conf.d/modules/c.yaml:6:9");
	expect_note(d, 1, "conf.d/modules/b.yaml:5:12");
	ck_assert_int_eq(cfg->planned, 0);
	ck_assert_uint_eq(cfg->nwaves, 0);
}
END_TEST

/* One group, one diagnostic: from the smallest id, the smallest next id
 * each step, although d is written before b. */
START_TEST(test_cycle_smallest_next)
{
	const struct diag *d;

	add("product.yaml", PRODUCT);
	add("modules/a.yaml", mod("a", "requires: [d, b]\n"));
	add("modules/b.yaml", mod("b", "requires: [c]\n"));
	add("modules/c.yaml", mod("c", "requires: [a]\n"));
	add("modules/d.yaml", mod("d", "requires: [a]\n"));
	ck_assert_uint_eq(validate(), 1);
	d = only("dependency-cycle");
	ck_assert_str_eq(d->message, "dependency cycle: a -> b -> c -> a");
	ck_assert_str_eq(mark_text(&d->mark), "conf.d/modules/a.yaml:5:15");
	ck_assert_uint_eq(d->nnotes, 2);
	expect_note(d, 0, "conf.d/modules/b.yaml:5:12");
	expect_note(d, 1, "conf.d/modules/c.yaml:5:12");
}
END_TEST

/* The smallest step from b (c) leads back into the path, never to a:
 * the cycle printed is the one through a, a -> b -> d -> a. */
START_TEST(test_cycle_dead_end)
{
	const struct diag *d;

	add("product.yaml", PRODUCT);
	add("modules/mods.yaml",
	    arena_printf(ta, "%s---\n%s---\n%s---\n%s",
	                 mod("a", "requires: [b]\n"),
	                 mod("b", "requires: [c, d]\n"),
	                 mod("c", "requires: [b]\n"),
	                 mod("d", "requires: [a]\n")));
	ck_assert_uint_eq(validate(), 1);
	d = only("dependency-cycle");
	ck_assert_str_eq(d->message, "dependency cycle: a -> b -> d -> a");
	ck_assert_str_eq(mark_text(&d->mark), "conf.d/modules/mods.yaml:5:12");
	ck_assert_uint_eq(d->nnotes, 2);
	expect_note(d, 0, "conf.d/modules/mods.yaml:11:15");
	expect_note(d, 1, "conf.d/modules/mods.yaml:23:12");
}
END_TEST

/* Where two kinds link one pair, requires before after before needs. */
START_TEST(test_cycle_edge_kind_order)
{
	const struct diag *d;

	add("product.yaml", PRODUCT);
	add("modules/a.yaml", mod("a", "after: [b]\nrequires: [b]\n"
	                          "provides: [cap-a]\n"));
	add("modules/b.yaml", mod("b", "needs: [cap-a]\nafter: [a]\n"));
	ck_assert_uint_eq(validate(), 1);
	d = only("dependency-cycle");
	ck_assert_str_eq(d->message, "dependency cycle: a -> b -> a");
	ck_assert_str_eq(mark_text(&d->mark), "conf.d/modules/a.yaml:6:12");
	ck_assert_uint_eq(d->nnotes, 1);
	expect_note(d, 0, "conf.d/modules/b.yaml:6:9");
}
END_TEST

/* Two strongly connected groups: two diagnostics; a module that only
 * depends on a group is in none. */
START_TEST(test_cycle_two_groups)
{
	add("product.yaml", PRODUCT);
	add("modules/pair.yaml", arena_printf(ta, "%s---\n%s---\n%s",
	    mod("pb", "requires: [pa]\n"), mod("pa", "requires: [pb]\n"),
	    mod("outside", "requires: [pa, tx]\n")));
	add("modules/tri.yaml", arena_printf(ta, "%s---\n%s---\n%s",
	    mod("tz", "after: [tx]\n"), mod("ty", "after: [tz]\n"),
	    mod("tx", "after: [ty]\n")));
	ck_assert_uint_eq(validate(), 2);
	ck_assert_str_eq(diags(),
	    "error dependency-cycle conf.d/modules/pair.yaml:11:12\n"
	    "error dependency-cycle conf.d/modules/tri.yaml:17:9\n");
	ck_assert_str_eq(dl.items[0]->message,
	                 "dependency cycle: pa -> pb -> pa");
	ck_assert_str_eq(dl.items[1]->message,
	                 "dependency cycle: tx -> ty -> tz -> tx");
}
END_TEST

START_TEST(test_cycle_self)
{
	const struct diag *d;

	add("product.yaml", PRODUCT);
	add("modules/s.yaml", mod("s", "requires: [s]\n"));
	ck_assert_uint_eq(validate(), 1);
	d = only("dependency-cycle");
	ck_assert_str_eq(d->message, "dependency cycle: s -> s");
	ck_assert_str_eq(mark_text(&d->mark), "conf.d/modules/s.yaml:5:12");
	ck_assert_uint_eq(d->nnotes, 0);
}
END_TEST

/* A cycle through a module outside the product is no cycle. */
START_TEST(test_cycle_outside_product)
{
	add("product.yaml", PRODUCT "modules: [a]\n");
	add("modules/a.yaml", mod("a", "after: [b]\n"));
	add("modules/b.yaml", mod("b", "requires: [a]\n"));
	ck_assert_uint_eq(validate(), 0);
	ck_assert_str_eq(diags(),
	                 "warning unused-module conf.d/modules/b.yaml:2:5\n");
	ck_assert_str_eq(waves(cfg), "a");
}
END_TEST

/* --- waves -------------------------------------------------------------- */

static const char *const wave_ids[] = {"a", "b", "c", "d", "e", "f", "g",
                                       "h"};

static const char *
wave_extra(const char *id)
{
	switch (id[0]) {
	case 'b':
	case 'c':
		return "requires: [a]\n";
	case 'd':
		return "requires: [c, b]\nprovides: [cap-d]\n";
	case 'e':
		return "after: [d]\n";
	case 'g':
		return "needs: [cap-d]\n";
	case 'h':
		return "after: [zz-not-defined]\n";
	}
	return "";
}

START_TEST(test_waves)
{
	size_t i;

	add("product.yaml", PRODUCT);
	for (i = 0; i < NELEM(wave_ids); i++)
		add(arena_printf(ta, "modules/%s.yaml", wave_ids[i]),
		    mod(wave_ids[i], wave_extra(wave_ids[i])));
	ck_assert_uint_eq(validate(), 0);
	ck_assert_str_eq(diags(),
	    "warning unknown-after conf.d/modules/h.yaml:5:9\n");
	ck_assert_int_eq(cfg->planned, 1);
	ck_assert_str_eq(waves(cfg), "a,f,h|b,c|d|e,g");
	ck_assert_uint_eq(cfg->nwaves, 4);
	ck_assert_uint_eq(cfg->wave_sizes[0], 3);
	ck_assert_uint_eq(cfg->wave_sizes[1], 2);
	ck_assert_uint_eq(cfg->wave_sizes[2], 1);
	ck_assert_uint_eq(cfg->wave_sizes[3], 2);
	ck_assert_int_eq(config_find_module(cfg, "a")->wave, 1);
	ck_assert_int_eq(config_find_module(cfg, "c")->wave, 2);
	ck_assert_int_eq(config_find_module(cfg, "d")->wave, 3);
	ck_assert_int_eq(config_find_module(cfg, "g")->wave, 4);
	ck_assert_int_eq(config_find_module(cfg, "h")->wave, 1);
	ck_assert_str_eq(members(cfg), "a,b,c,d,e,f,g,h");
}
END_TEST

/*
 * The same modules in three arrangements: a file each, in order; one
 * multi-document file in reverse order; other file names in another
 * order. Plan, members and diagnostic codes must not change.
 */
static void
arrange(struct config *c, struct diag_list *l, int variant)
{
	static const char *const names[] = {"zeta", "alpha", "mid/x", "b",
	                                    "q/r/s", "c0", "y", "e"};
	size_t n = NELEM(wave_ids), i;
	const char *all = "";

	switch (variant) {
	case 0:
		config_add_text(c, l, "product.yaml", PRODUCT,
		                strlen(PRODUCT));
		for (i = 0; i < n; i++) {
			const char *t = mod(wave_ids[i],
			                    wave_extra(wave_ids[i]));

			config_add_text(c, l, arena_printf(ta,
			                "modules/%s.yaml", wave_ids[i]), t,
			                strlen(t));
		}
		break;
	case 1:
		for (i = n; i-- > 0;)
			all = arena_printf(ta, "%s%s---\n", all,
			                   mod(wave_ids[i],
			                       wave_extra(wave_ids[i])));
		all = arena_printf(ta, "%s%s", all, PRODUCT);
		config_add_text(c, l, "everything.yaml", all, strlen(all));
		break;
	default:
		for (i = 0; i < n; i++) {
			size_t k = (i * 3 + 5) % n;
			const char *t = mod(wave_ids[k],
			                    wave_extra(wave_ids[k]));

			config_add_text(c, l, arena_printf(ta, "%s.yml",
			                names[i]), t, strlen(t));
		}
		config_add_text(c, l, "p/product.yaml", PRODUCT,
		                strlen(PRODUCT));
		break;
	}
}

START_TEST(test_plan_independent_of_files)
{
	const char *want_waves = NULL, *want_members = NULL;
	int variant;

	for (variant = 0; variant < 3; variant++) {
		struct config *c = config_new("conf.d");
		struct diag_list l;
		const char *codes = "";
		size_t i;

		ck_assert_ptr_nonnull(c);
		ck_assert_int_eq(diag_list_init(&l), 0);
		arrange(c, &l, variant);
		config_index_modules(c);
		ck_assert_uint_eq(graph_validate(c, reg, &l), 0);
		for (i = 0; i < l.n; i++)
			codes = arena_printf(ta, "%s%s;", codes,
			                     l.items[i]->code);
		ck_assert_str_eq(codes, "unknown-after;");
		ck_assert_int_eq(c->planned, 1);
		if (want_waves == NULL) {
			want_waves = waves(c);
			want_members = members(c);
		}
		ck_assert_msg(strcmp(waves(c), want_waves) == 0,
		              "variant %d: plan %s, want %s", variant,
		              waves(c), want_waves);
		ck_assert_str_eq(members(c), want_members);
		diag_list_release(&l);
		config_free(c);
	}
	ck_assert_str_eq(want_waves, "a,f,h|b,c|d|e,g");
}
END_TEST

/* --- scale -------------------------------------------------------------- */

#define LONG 2000
#define VERY_LONG 20000     /* a chain; the plan is linear */
#define LONG_CYCLE 5000     /* a cycle; printing it is not */

/* n modules m00000.. in one text, written last to first; each requires
 * the one before it, and m00000 requires the last when closed. */
static char *
long_chain(int n, int closed)
{
	size_t cap = (size_t)n * 128, len = 0;
	char *text = malloc(cap);
	int i, w;

	ck_assert_ptr_nonnull(text);
	for (i = n - 1; i >= 0; i--) {
		w = snprintf(text + len, cap - len,
		             "kind: module\nid: m%05d\ndisplayName: M\n"
		             "version: 1.0.0\n", i);
		ck_assert(w > 0 && (size_t)w < cap - len);
		len += (size_t)w;
		if (i > 0 || closed) {
			w = snprintf(text + len, cap - len,
			             "requires: [m%05d]\n",
			             i > 0 ? i - 1 : n - 1);
			ck_assert(w > 0 && (size_t)w < cap - len);
			len += (size_t)w;
		}
		if (i > 0) {
			ck_assert(cap - len > 4);
			memcpy(text + len, "---\n", 5);
			len += 4;
		}
	}
	return text;
}

static void
check_chain(int n)
{
	size_t i;

	ck_assert_uint_eq(validate(), 0);
	ck_assert_str_eq(diags(), "");
	ck_assert_uint_eq(cfg->nmembers, (size_t)n);
	ck_assert_uint_eq(cfg->nwaves, (size_t)n);
	for (i = 0; i < (size_t)n; i++) {
		ck_assert_uint_eq(cfg->wave_sizes[i], 1);
		ck_assert_int_eq(cfg->waves[i][0]->wave, (int)i + 1);
		ck_assert_str_eq(cfg->waves[i][0]->id,
		                 arena_printf(ta, "m%05zu", i));
	}
}

static void
check_cycle(int n)
{
	const struct diag *d;
	size_t cap = (size_t)n * 16 + 64, len;
	char *want = malloc(cap);
	int i;

	ck_assert_ptr_nonnull(want);
	ck_assert_uint_eq(validate(), 1);
	d = only("dependency-cycle");
	/* m00000 starts after the last, which starts after the one before
	 * it, ... */
	len = (size_t)snprintf(want, cap, "dependency cycle: m00000");
	for (i = n - 1; i >= 0; i--)
		len += (size_t)snprintf(want + len, cap - len, " -> m%05d", i);
	ck_assert_uint_lt(len, cap);
	ck_assert_msg(strcmp(d->message, want) == 0, "cycle of %d: %.80s...",
	              n, d->message);
	free(want);
	ck_assert_uint_eq(d->nnotes, (size_t)n - 1);
	ck_assert_int_eq(cfg->planned, 0);
}

static void
add_chain(int n, int closed)
{
	char *text = long_chain(n, closed);

	add("product.yaml", PRODUCT);
	add("modules/chain.yaml", text);
	free(text);
}

START_TEST(test_long_chain)
{
	add_chain(LONG, 0);
	check_chain(LONG);
}
END_TEST

START_TEST(test_long_cycle)
{
	add_chain(LONG, 1);
	check_cycle(LONG);
}
END_TEST

/*
 * On a 256 KiB stack: an implementation recursing once per module would
 * need megabytes for these and crash here.
 */
static struct rlimit saved_stack;

static void
small_stack(void)
{
	struct rlimit rl;

	ck_assert_int_eq(getrlimit(RLIMIT_STACK, &saved_stack), 0);
	rl = saved_stack;
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 256 * 1024)
		rl.rlim_cur = 256 * 1024;
	ck_assert_int_eq(setrlimit(RLIMIT_STACK, &rl), 0);
}

static void
restore_stack(void)
{
	ck_assert_int_eq(setrlimit(RLIMIT_STACK, &saved_stack), 0);
}

START_TEST(test_very_long_chain_small_stack)
{
	add_chain(VERY_LONG, 0);
	small_stack();
	check_chain(VERY_LONG);
	restore_stack();
}
END_TEST

START_TEST(test_long_cycle_small_stack)
{
	add_chain(LONG_CYCLE, 1);
	small_stack();
	check_cycle(LONG_CYCLE);
	restore_stack();
}
END_TEST

/* --- membership --------------------------------------------------------- */

START_TEST(test_membership)
{
	add("product.yaml", PRODUCT "modules: [app, tools]\n");
	add("modules/app.yaml", mod("app",
	    "requires: [svc]\n"
	    "routes:\n"
	    "  - id: route:app.index\n"
	    "    scope: public\n"
	    "    methods: [GET]\n"
	    "    mountPath: /app\n"
	    "    handler: { respond: { status: 200 } }\n"));
	add("modules/svc.yaml", mod("svc", "requires:\n  - base\n"));
	add("modules/base.yaml", mod("base", ""));
	add("modules/tools.yaml", mod("tools", "after: [reports]\n"));
	/* Not members: their routes neither conflict, nor need auth, nor
	 * count. */
	add("modules/reports.yaml", mod("reports",
	    "routes:\n"
	    "  - id: route:app.index\n"
	    "    scope: user\n"
	    "    methods: [GET]\n"
	    "    mountPath: /app\n"
	    "    handler: { respond: { status: 200 } }\n"));
	add("modules/orphan.yaml", "# not listed, not required\n"
	    "kind: module\ndisplayName: Orphan\nid:   orphan\nversion: 1.0.0\n");
	ck_assert_uint_eq(validate(), 0);
	ck_assert_str_eq(diags(),
	    "warning unused-module conf.d/modules/orphan.yaml:4:7\n"
	    "warning unused-module conf.d/modules/reports.yaml:2:5\n");
	ck_assert_str_eq(members(cfg), "app,base,svc,tools");
	ck_assert_int_eq(config_find_module(cfg, "svc")->in_product, 1);
	ck_assert_int_eq(config_find_module(cfg, "base")->in_product, 1);
	ck_assert_int_eq(config_find_module(cfg, "reports")->in_product, 0);
	ck_assert_int_eq(config_find_module(cfg, "orphan")->in_product, 0);
	ck_assert_uint_eq(cfg->nroutes, 1);
	/* after on a module outside the product orders nothing. */
	ck_assert_str_eq(waves(cfg), "base,tools|svc|app");
	ck_assert_str_eq(product_summary(cfg), "configuration ok: product "
	                 "'corpus' 1.0.0, 4 modules, 1 route");
}
END_TEST

/* Without modules: every module defined is a member. */
START_TEST(test_membership_default)
{
	add("product.yaml", PRODUCT);
	add("modules/a.yaml", mod("a", ""));
	add("modules/b.yaml", mod("b", ""));
	ck_assert_uint_eq(validate(), 0);
	ck_assert_str_eq(diags(), "");
	ck_assert_str_eq(members(cfg), "a,b");
	ck_assert_str_eq(waves(cfg), "a,b");
	ck_assert_str_eq(product_summary(cfg), "configuration ok: product "
	                 "'corpus' 1.0.0, 2 modules, 0 routes");
}
END_TEST

START_TEST(test_no_product)
{
	const struct diag *d;

	add("modules/a.yaml", mod("a", ""));
	ck_assert_uint_eq(validate(), 1);
	d = only("no-product");
	ck_assert_uint_eq(d->mark.line, 0);
	ck_assert_ptr_nonnull(d->mark.src);
	ck_assert_str_eq(d->mark.src->display, "conf.d");
	ck_assert_int_eq(cfg->planned, 0);
}
END_TEST

START_TEST(test_multiple_products)
{
	const struct diag *d;

	add("a.yaml", PRODUCT);
	add("b.yaml", "# second\n" PRODUCT);
	ck_assert_uint_eq(validate(), 1);
	d = only("multiple-products");
	ck_assert_str_eq(mark_text(&d->mark), "conf.d/b.yaml:2:1");
	ck_assert_uint_eq(d->nnotes, 1);
	expect_note(d, 0, "conf.d/a.yaml:1:1");
}
END_TEST

START_TEST(test_duplicate_module)
{
	const struct diag *d;

	add("product.yaml", PRODUCT);
	add("modules/a.yaml", mod("dup", ""));
	add("modules/b.yaml", "\n\n" "displayName: Again\nkind: module\n"
	    "id: dup\nversion: 2.0.0\n");
	ck_assert_uint_eq(validate(), 1);
	d = only("duplicate-module");
	ck_assert_str_eq(mark_text(&d->mark), "conf.d/modules/b.yaml:3:1");
	ck_assert_uint_eq(d->nnotes, 1);
	expect_note(d, 0, "conf.d/modules/a.yaml:1:1");
	/* The first definition stays the module. */
	ck_assert_str_eq(config_find_module(cfg, "dup")->version, "1.0.0");
}
END_TEST

/* --- hints and notes ---------------------------------------------------- */

START_TEST(test_missing_dependency_hint)
{
	const struct diag *d;

	add("product.yaml", PRODUCT);
	add("modules/billing.yaml", mod("billing", "requires:\n  - payment\n"));
	add("modules/payments.yaml", mod("payments", ""));
	ck_assert_uint_eq(validate(), 1);
	d = only("missing-dependency");
	ck_assert_str_eq(mark_text(&d->mark),
	                 "conf.d/modules/billing.yaml:6:5");
	ck_assert_ptr_nonnull(strstr(d->message, "'payment'"));
	ck_assert_ptr_nonnull(d->hint);
	ck_assert_str_eq(d->hint, "did you mean 'payments'?");
	ck_assert_uint_eq(d->nnotes, 1);
	expect_note(d, 0, "conf.d/modules/payments.yaml:1:1");
}
END_TEST

START_TEST(test_unknown_module_hint)
{
	const struct diag *d;

	add("product.yaml", PRODUCT "modules: [billng, zzz]\n");
	add("modules/billing.yaml", mod("billing", ""));
	ck_assert_uint_eq(validate(), 2);
	ck_assert_str_eq(diags(),
	    "warning unused-module conf.d/modules/billing.yaml:2:5\n"
	    "error unknown-module conf.d/product.yaml:8:11\n"
	    "error unknown-module conf.d/product.yaml:8:19\n");
	d = dl.items[1];
	ck_assert_ptr_nonnull(d->hint);
	ck_assert_str_eq(d->hint, "did you mean 'billing'?");
	ck_assert_ptr_null(dl.items[2]->hint);
}
END_TEST

START_TEST(test_unknown_after_hint)
{
	const struct diag *d;

	add("product.yaml", PRODUCT);
	add("modules/app.yaml", mod("app", "after: [analytcs]\n"));
	add("modules/analytics.yaml", mod("analytics", ""));
	ck_assert_uint_eq(validate(), 0);
	d = only("unknown-after");
	ck_assert_int_eq(d->severity, SEV_WARNING);
	ck_assert_str_eq(mark_text(&d->mark), "conf.d/modules/app.yaml:5:9");
	ck_assert_ptr_nonnull(d->hint);
	ck_assert_str_eq(d->hint, "did you mean 'analytics'?");
	ck_assert_int_eq(cfg->planned, 1);
}
END_TEST

START_TEST(test_missing_capability_hint)
{
	const struct diag *d;

	add("product.yaml", PRODUCT);
	add("modules/app.yaml", mod("app", "needs: [state-stor]\n"));
	add("modules/db.yaml", mod("db", "provides: [state-store]\n"));
	ck_assert_uint_eq(validate(), 1);
	d = only("missing-capability");
	ck_assert_str_eq(mark_text(&d->mark), "conf.d/modules/app.yaml:5:9");
	ck_assert_ptr_nonnull(d->hint);
	ck_assert_str_eq(d->hint, "did you mean 'state-store'?");
}
END_TEST

START_TEST(test_ambiguous_capability_notes)
{
	const struct diag *d;

	add("product.yaml", PRODUCT);
	add("modules/app.yaml", mod("app", "needs:\n  - store\n"));
	add("modules/s1.yaml", mod("s1", "provides: [store]\n"));
	add("modules/s2.yaml", mod("s2", "provides: [x, store]\n"));
	add("modules/s3.yaml", mod("s3", "provides: [x]\n"));
	ck_assert_uint_eq(validate(), 1);
	d = only("ambiguous-capability");
	ck_assert_str_eq(mark_text(&d->mark), "conf.d/modules/app.yaml:6:5");
	ck_assert_uint_eq(d->nnotes, 2);
	expect_note(d, 0, "conf.d/modules/s1.yaml:5:12");
	expect_note(d, 1, "conf.d/modules/s2.yaml:5:15");
}
END_TEST

#define ROUTE(id, scope, path)                                          \
	"  - id: " id "\n"                                              \
	"    scope: " scope "\n"                                        \
	"    methods: [GET]\n"                                          \
	"    mountPath: " path "\n"                                     \
	"    handler: { respond: { status: 200 } }\n"

/* The auth rule: one diagnostic per user or admin route, at the route. */
START_TEST(test_auth_rule)
{
	add("product.yaml", PRODUCT);
	add("modules/app.yaml", mod("app", "routes:\n"
	    ROUTE("route:app.pub", "public", "/app")
	    ROUTE("route:app.mine", "user", "/app/mine")
	    ROUTE("route:app.admin", "admin", "/gateway/v1/admin/app")));
	ck_assert_uint_eq(validate(), 2);
	ck_assert_str_eq(diags(),
	    "error missing-capability conf.d/modules/app.yaml:11:5\n"
	    "error missing-capability conf.d/modules/app.yaml:16:5\n");
}
END_TEST

START_TEST(test_auth_rule_ambiguous)
{
	const struct diag *d;

	add("product.yaml", PRODUCT);
	add("modules/app.yaml", mod("app", "routes:\n"
	    ROUTE("route:app.mine", "user", "/app/mine")));
	add("modules/ldap.yaml", mod("ldap", "provides: [auth]\n"));
	add("modules/oidc.yaml", mod("oidc", "provides: [auth]\n"));
	ck_assert_uint_eq(validate(), 1);
	d = only("ambiguous-capability");
	ck_assert_str_eq(mark_text(&d->mark), "conf.d/modules/app.yaml:6:5");
	ck_assert_uint_eq(d->nnotes, 2);
	expect_note(d, 0, "conf.d/modules/ldap.yaml:5:12");
	expect_note(d, 1, "conf.d/modules/oidc.yaml:5:12");
}
END_TEST

START_TEST(test_route_conflict_note)
{
	const struct diag *d;

	add("product.yaml", PRODUCT);
	add("modules/a.yaml", mod("a", "routes:\n"
	    ROUTE("route:a.item", "public", "/items/{a}")));
	add("modules/b.yaml", mod("b", "routes:\n"
	    ROUTE("route:b.prefix", "public", "/items/{p}\n    match: prefix")
	    ROUTE("route:b.item", "public", "/items/{b}")));
	ck_assert_uint_eq(validate(), 1);
	d = only("route-conflict");
	ck_assert_str_eq(mark_text(&d->mark), "conf.d/modules/b.yaml:12:5");
	ck_assert_uint_eq(d->nnotes, 1);
	expect_note(d, 0, "conf.d/modules/a.yaml:6:5");
}
END_TEST

/* Literals are compared decoded (SPEC 7.1): "/%68ealth" is "/health". */
START_TEST(test_route_conflict_encoded)
{
	const struct diag *d;

	add("product.yaml", PRODUCT);
	add("modules/a.yaml", mod("a", "routes:\n"
	    ROUTE("route:a.health", "public", "/app/health")));
	add("modules/b.yaml", mod("b", "routes:\n"
	    ROUTE("route:b.health", "public", "/app/%68ealth")));
	ck_assert_uint_eq(validate(), 1);
	d = only("route-conflict");
	ck_assert_str_eq(mark_text(&d->mark), "conf.d/modules/b.yaml:6:5");
	ck_assert_uint_eq(d->nnotes, 1);
	expect_note(d, 0, "conf.d/modules/a.yaml:6:5");
}
END_TEST

START_TEST(test_duplicate_route_note)
{
	const struct diag *d;

	add("product.yaml", PRODUCT);
	add("modules/a.yaml", mod("a", "routes:\n"
	    ROUTE("route:x", "public", "/a")));
	add("modules/b.yaml", mod("b", "routes:\n"
	    ROUTE("route:x", "public", "/b")));
	ck_assert_uint_eq(validate(), 1);
	d = only("duplicate-route");
	ck_assert_str_eq(mark_text(&d->mark), "conf.d/modules/b.yaml:6:9");
	expect_note(d, 0, "conf.d/modules/a.yaml:6:9");
}
END_TEST

START_TEST(test_unreachable_route)
{
	add("product.yaml", PRODUCT);
	add("modules/ops.yaml", mod("ops", "routes:\n"
	    ROUTE("route:ops.metrics", "internal",
	          "/gateway/v1/internal/metrics")));
	ck_assert_uint_eq(validate(), 0);
	ck_assert_str_eq(diags(),
	    "warning unreachable-route conf.d/modules/ops.yaml:6:5\n");
	ck_assert_int_eq(cfg->planned, 1);
}
END_TEST

START_TEST(test_service_hints)
{
	add("product.yaml", PRODUCT);
	add("modules/app.yaml", mod("app",
	    "services:\n"
	    "  - id: store\n"
	    "    provider: testecho\n"
	    "    config: { greeting: hi }\n"
	    "  - id: other\n"
	    "    provider: testech\n"
	    "routes:\n"
	    "  - id: route:app.a\n"
	    "    scope: public\n"
	    "    methods: [GET]\n"
	    "    mountPath: /a\n"
	    "    handler: { service: stor, operation: ping }\n"
	    "  - id: route:app.b\n"
	    "    scope: public\n"
	    "    methods: [GET]\n"
	    "    mountPath: /b\n"
	    "    handler: { service: store, operation: pong }\n"));
	ck_assert_uint_eq(validate(), 3);
	ck_assert_str_eq(diags(),
	    "error unknown-provider conf.d/modules/app.yaml:10:15\n"
	    "error unknown-service conf.d/modules/app.yaml:16:25\n"
	    "error unknown-operation conf.d/modules/app.yaml:21:43\n");
	ck_assert_str_eq(dl.items[0]->hint, "did you mean 'testecho'?");
	ck_assert_str_eq(dl.items[1]->hint, "did you mean 'store'?");
	ck_assert_str_eq(dl.items[2]->hint, "did you mean 'ping'?");
}
END_TEST

START_TEST(test_schema_hint)
{
	const struct diag *d;

	add("product.yaml", PRODUCT);
	add("modules/app.yaml", mod("app",
	    "schemas:\n"
	    "  Item: { type: string }\n"
	    "  List: { type: array, items: { $ref: Itme } }\n"));
	ck_assert_uint_eq(validate(), 1);
	d = only("unknown-schema");
	ck_assert_str_eq(mark_text(&d->mark), "conf.d/modules/app.yaml:7:39");
	ck_assert_ptr_nonnull(d->hint);
	ck_assert_str_eq(d->hint, "did you mean 'Item'?");
}
END_TEST

/*
 * A hint is something to write instead: for a name of another module
 * (module.service, module.Schema) that is the qualified name, since the
 * bare one would name the module's own service or schema.
 */
static void
add_lib_and_app(const char *service, const char *ref)
{
	add("product.yaml", PRODUCT);
	add("modules/lib.yaml", mod("lib",
	    "services:\n"
	    "  - id: store\n"
	    "    provider: testecho\n"
	    "    config: { greeting: hi }\n"
	    "schemas:\n"
	    "  Item: { type: string }\n"));
	add("modules/app.yaml", mod("app", arena_printf(ta,
	    "requires: [lib]\n"
	    "schemas:\n"
	    "  X: { $ref: %s }\n"
	    "routes:\n"
	    "  - id: route:app.a\n"
	    "    scope: public\n"
	    "    methods: [GET]\n"
	    "    mountPath: /a\n"
	    "    handler: { service: %s, operation: ping }\n", ref,
	    service)));
}

START_TEST(test_qualified_hints)
{
	const struct diag *d;

	add_lib_and_app("lib.stor", "lib.Itme");
	ck_assert_uint_eq(validate(), 2);
	d = only("unknown-service");
	ck_assert_str_eq(mark_text(&d->mark), "conf.d/modules/app.yaml:13:25");
	ck_assert_ptr_nonnull(d->hint);
	ck_assert_str_eq(d->hint, "did you mean 'lib.store'?");
	d = only("unknown-schema");
	ck_assert_str_eq(mark_text(&d->mark), "conf.d/modules/app.yaml:7:14");
	ck_assert_ptr_nonnull(d->hint);
	ck_assert_str_eq(d->hint, "did you mean 'lib.Item'?");
}
END_TEST

/* A misspelt module part has a near name too. */
START_TEST(test_qualified_hints_module_typo)
{
	const struct diag *d;

	add_lib_and_app("lbi.store", "lbi.Item");
	ck_assert_uint_eq(validate(), 2);
	d = only("unknown-service");
	ck_assert_ptr_nonnull(d->hint);
	ck_assert_str_eq(d->hint, "did you mean 'lib.store'?");
	d = only("unknown-schema");
	ck_assert_ptr_nonnull(d->hint);
	ck_assert_str_eq(d->hint, "did you mean 'lib.Item'?");
}
END_TEST

/* The decoder's findings arrive through the same list, with hints. */
START_TEST(test_unknown_key_hint)
{
	const struct diag *d;

	add("product.yaml", PRODUCT);
	add("modules/app.yaml", "kind: module\nid: app\ndisplayname: App\n"
	    "version: 1.0.0\n");
	ck_assert_uint_eq(validate(), 2);
	ck_assert_str_eq(diags(),
	    "error missing-key conf.d/modules/app.yaml:1:1\n"
	    "error unknown-key conf.d/modules/app.yaml:3:1\n");
	d = only("unknown-key");
	ck_assert_ptr_nonnull(d->hint);
	ck_assert_str_eq(d->hint, "did you mean 'displayName'?");
	ck_assert_ptr_nonnull(strstr(only("missing-key")->message,
	                             "displayName"));
}
END_TEST

/* Columns count characters, not bytes: two three-byte characters
 * precede the unknown key. */
START_TEST(test_columns_are_characters)
{
	add("product.yaml", PRODUCT);
	add("modules/app.yaml", mod("app",
	    "routes: [{ summary: \"\xe2\x82\xac\xe2\x82\xac\", bogus: 1 }]\n"));
	validate();
	ck_assert_str_eq(mark_text(&only("unknown-key")->mark),
	                 "conf.d/modules/app.yaml:5:27");
}
END_TEST

/* $ref: module.Name needs the module in the product. */
START_TEST(test_schema_other_module)
{
	add("product.yaml", PRODUCT "modules: [app, lib]\n");
	add("modules/app.yaml", mod("app",
	    "schemas:\n"
	    "  A: { $ref: lib.Item }\n"
	    "  B: { $ref: unused.Item }\n"));
	add("modules/lib.yaml", mod("lib", "schemas:\n  Item: { type: string }\n"));
	add("modules/unused.yaml", mod("unused",
	    "schemas:\n  Item: { type: string }\n"));
	ck_assert_uint_eq(validate(), 1);
	ck_assert_str_eq(diags(),
	    "error unknown-schema conf.d/modules/app.yaml:7:14\n"
	    "warning unused-module conf.d/modules/unused.yaml:2:5\n");
}
END_TEST

/* Errors anywhere leave the configuration unplanned. */
START_TEST(test_not_planned_on_error)
{
	add("product.yaml", PRODUCT);
	add("modules/a.yaml", mod("a", "requires: [ghost]\n"));
	add("modules/b.yaml", mod("b", ""));
	ck_assert_uint_eq(validate(), 1);
	ck_assert_int_eq(cfg->planned, 0);
	ck_assert_uint_eq(cfg->nwaves, 0);
}
END_TEST

static Suite *
graph_suite(void)
{
	Suite *s = suite_create("graph");
	TCase *tc = tcase_create("cycles");
	TCase *tp = tcase_create("plan");
	TCase *tm = tcase_create("members");
	TCase *th = tcase_create("diagnostics");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_cycle_spec_example);
	tcase_add_test(tc, test_cycle_smallest_next);
	tcase_add_test(tc, test_cycle_dead_end);
	tcase_add_test(tc, test_cycle_edge_kind_order);
	tcase_add_test(tc, test_cycle_two_groups);
	tcase_add_test(tc, test_cycle_self);
	tcase_add_test(tc, test_cycle_outside_product);
	tcase_add_test(tc, test_long_cycle);
	tcase_add_test(tc, test_long_cycle_small_stack);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(tp, setup, teardown);
	tcase_add_test(tp, test_minimal);
	tcase_add_test(tp, test_waves);
	tcase_add_test(tp, test_plan_independent_of_files);
	tcase_add_test(tp, test_long_chain);
	tcase_add_test(tp, test_very_long_chain_small_stack);
	tcase_add_test(tp, test_not_planned_on_error);
	suite_add_tcase(s, tp);

	tcase_add_checked_fixture(tm, setup, teardown);
	tcase_add_test(tm, test_membership);
	tcase_add_test(tm, test_membership_default);
	tcase_add_test(tm, test_no_product);
	tcase_add_test(tm, test_multiple_products);
	tcase_add_test(tm, test_duplicate_module);
	suite_add_tcase(s, tm);

	tcase_add_checked_fixture(th, setup, teardown);
	tcase_add_test(th, test_missing_dependency_hint);
	tcase_add_test(th, test_unknown_module_hint);
	tcase_add_test(th, test_unknown_after_hint);
	tcase_add_test(th, test_missing_capability_hint);
	tcase_add_test(th, test_ambiguous_capability_notes);
	tcase_add_test(th, test_auth_rule);
	tcase_add_test(th, test_auth_rule_ambiguous);
	tcase_add_test(th, test_route_conflict_note);
	tcase_add_test(th, test_route_conflict_encoded);
	tcase_add_test(th, test_duplicate_route_note);
	tcase_add_test(th, test_unreachable_route);
	tcase_add_test(th, test_service_hints);
	tcase_add_test(th, test_schema_hint);
	tcase_add_test(th, test_schema_other_module);
	tcase_add_test(th, test_qualified_hints);
	tcase_add_test(th, test_qualified_hints_module_typo);
	tcase_add_test(th, test_unknown_key_hint);
	tcase_add_test(th, test_columns_are_characters);
	suite_add_tcase(s, th);
	return s;
}

UNIT_MAIN(graph_suite)
