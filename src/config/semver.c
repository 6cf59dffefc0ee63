/*
 * semver.c - SemVer 2.0.0 versions and npm (node-semver) ranges.
 *
 * A range is parsed straight into node-semver's desugared form: a list of
 * comparator sets (OR), each a list of (operator, full version) pairs
 * (AND). Tilde, caret, x-ranges, partial versions and hyphen ranges all
 * become plain comparators here, exactly as node-semver rewrites them, so
 * matching is one loop and the prerelease rule sees the same comparators
 * npm's does. An empty set is npm's "*".
 *
 * node-semver bounds ranges above with "<X.Y.Z-0" rather than "<X.Y.Z" so
 * that prereleases of the next version are excluded; the "-0" prerelease
 * is the lowest version with that X.Y.Z.
 *
 * Range errors that quote the input ("invalid version '1.2.3.4' in
 * range") are formatted into the caller's arena, so they live exactly as
 * long as a range parsed from it would have; the rest are literals.
 */
#include "config/semver.h"

#include <stdint.h>
#include <string.h>

#include "util/arena.h"

enum cmp_op {
	OP_LT,
	OP_LE,
	OP_GT,
	OP_GE,
	OP_EQ,
};

struct comparator {
	enum cmp_op op;
	struct semver v;
};

struct comparator_set {
	struct comparator *items;
	size_t n, cap;
};

struct semver_range {
	struct comparator_set *sets;
	size_t n, cap;
};

/*
 * A version as written in a range: up to three numbers, any of which may
 * be a wildcard or missing. Only the numbers before the first wildcard
 * count ("1.x.3" is "1.x"), and a prerelease is kept only on a complete
 * version, as node-semver does.
 */
struct partial {
	int nparts;             /* numbers before the first x or gap: 0..3 */
	uint64_t num[3];
	const char *pre;
	const char *build;
};

/* Operators as written; tilde and caret expand to several comparators. */
enum range_op {
	ROP_NONE,
	ROP_LT,
	ROP_LE,
	ROP_GT,
	ROP_GE,
	ROP_EQ,
	ROP_TILDE,
	ROP_CARET,
};

static const struct {
	const char *text;
	enum range_op op;
} range_ops[] = {
	/* Longest first: ">=" must win over ">". */
	{ "~>", ROP_TILDE },
	{ ">=", ROP_GE },
	{ "<=", ROP_LE },
	{ "~", ROP_TILDE },
	{ "^", ROP_CARET },
	{ ">", ROP_GT },
	{ "<", ROP_LT },
	{ "=", ROP_EQ },
};

struct builder {
	struct arena *a;
	struct semver_range *r;
	const char **err;
};

/* JavaScript's \s for ASCII, which is what node-semver splits on. */
static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_ident(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z') || c == '-';
}

static int
is_wild(int c)
{
	return c == 'x' || c == 'X' || c == '*';
}

static int
all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!is_digit((unsigned char)s[i]))
			return 0;
	return 1;
}

/*
 * Scans a numeric identifier ("0", or digits without a leading zero) that
 * fits in uint64_t. Returns the end of the number, or NULL with *why set
 * (NULL when nothing more specific than "invalid" applies).
 */
static const char *
scan_number(const char *p, const char *end, uint64_t *out, const char **why)
{
	uint64_t n = 0;
	const char *start = p;

	*why = NULL;
	for (; p < end && is_digit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');

		if (n > (UINT64_MAX - d) / 10) {
			*why = "number too large";
			return NULL;
		}
		n = n * 10 + d;
	}
	if (p == start)
		return NULL;
	if (*start == '0' && p - start > 1) {
		*why = "leading zero in a numeric part";
		return NULL;
	}
	*out = n;
	return p;
}

/*
 * Scans dot-separated identifiers (a prerelease or build metadata) up to
 * the first character that cannot belong to them. Prerelease numeric
 * identifiers may not have leading zeros; build ones may. Returns the end,
 * or NULL with *why set.
 */
static const char *
scan_idents(const char *p, const char *end, int prerelease, const char **why)
{
	const char *start;

	for (;;) {
		for (start = p; p < end && is_ident((unsigned char)*p); p++)
			;
		if (p == start) {
			*why = "empty identifier";
			return NULL;
		}
		if (prerelease && *start == '0' && p - start > 1 &&
		    all_digits(start, (size_t)(p - start))) {
			*why = "leading zero in a numeric prerelease "
			    "identifier";
			return NULL;
		}
		if (p == end || *p != '.')
			return p;
		p++;
	}
}

/* A stretch of the input, [s, e); s is NULL when absent. */
struct span {
	const char *s, *e;
};

static const char *
span_dup(struct arena *a, struct span sp)
{
	return sp.s != NULL ? arena_strndup(a, sp.s, (size_t)(sp.e - sp.s)) :
	    NULL;
}

/* Scans an optional "-prerelease" then "+build"; NULL on a bad one. */
static const char *
scan_qualifier(const char *p, const char *end, struct span *pre,
               struct span *build, const char **why)
{
	if (p < end && *p == '-') {
		pre->s = ++p;
		if ((p = pre->e = scan_idents(p, end, 1, why)) == NULL)
			return NULL;
	}
	if (p < end && *p == '+') {
		build->s = ++p;
		if ((p = build->e = scan_idents(p, end, 0, why)) == NULL)
			return NULL;
	}
	return p;
}

/*
 * Parses [s, end) as a version: MAJOR.MINOR.PATCH with optional
 * "-prerelease" and "+build". With allow_partial, parts may be wildcards
 * (x, X, *) or missing from the right, and a qualifier is still only
 * allowed after three parts. The prerelease and build strings are copied
 * into a only once the whole text is known to be valid. Returns 0, or -1
 * with *why set (possibly to NULL).
 */
static int
parse_partial(struct arena *a, const char *s, const char *end,
              int allow_partial, struct partial *out, const char **why)
{
	struct span pre = { NULL, NULL }, build = { NULL, NULL };
	const char *p = s;
	int given, wild = 0;

	memset(out, 0, sizeof(*out));
	*why = NULL;
	for (given = 0; given < 3; given++) {
		if (given > 0) {
			if (p == end || *p != '.')
				break;
			p++;
		}
		if (allow_partial && p < end && is_wild((unsigned char)*p)) {
			p++;
			wild = 1;
			continue;
		}
		if ((p = scan_number(p, end, &out->num[given], why)) == NULL)
			return -1;
		if (!wild)
			out->nparts++;
	}
	if (given < 3 && !allow_partial)
		return -1;
	if (given == 3 &&
	    (p = scan_qualifier(p, end, &pre, &build, why)) == NULL)
		return -1;
	if (p != end)
		return -1;
	if (out->nparts == 3) {
		out->pre = span_dup(a, pre);
		out->build = span_dup(a, build);
	} else {
		/* A wildcard makes the rest meaningless: "1.x.3" is "1.x". */
		memset(out->num + out->nparts, 0,
		       sizeof(out->num[0]) * (size_t)(3 - out->nparts));
	}
	return 0;
}

int
semver_parse(struct arena *a, const char *s, struct semver *v)
{
	struct partial pt;
	const char *why;

	if (s == NULL ||
	    parse_partial(a, s, s + strlen(s), 0, &pt, &why) < 0)
		return -1;
	v->major = pt.num[0];
	v->minor = pt.num[1];
	v->patch = pt.num[2];
	v->pre = pt.pre;
	v->build = pt.build;
	return 0;
}

static int
cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

/*
 * SemVer 2.0.0 item 11: numeric identifiers compare as numbers (any
 * length, so by digit count first), others by ASCII, and numeric ones
 * sort before alphanumeric ones.
 */
static int
cmp_ident(const char *a, size_t la, const char *b, size_t lb)
{
	int na = all_digits(a, la), nb = all_digits(b, lb), c;

	if (na && nb) {
		for (; la > 1 && *a == '0'; a++, la--)
			;
		for (; lb > 1 && *b == '0'; b++, lb--)
			;
		if (la != lb)
			return la < lb ? -1 : 1;
		c = memcmp(a, b, la);
		return c < 0 ? -1 : c > 0;
	}
	if (na != nb)
		return na ? -1 : 1;
	c = memcmp(a, b, la < lb ? la : lb);
	if (c != 0)
		return c < 0 ? -1 : 1;
	return cmp_u64(la, lb);
}

/* Prerelease precedence; no prerelease ranks above any prerelease. */
static int
cmp_pre(const char *a, const char *b)
{
	size_t la, lb;
	int c;

	if (a == NULL || *a == '\0' || b == NULL || *b == '\0')
		return (a == NULL || *a == '\0') - (b == NULL || *b == '\0');
	for (;;) {
		la = strcspn(a, ".");
		lb = strcspn(b, ".");
		if ((c = cmp_ident(a, la, b, lb)) != 0)
			return c;
		a += la;
		b += lb;
		if (*a == '\0' || *b == '\0')
			return (*a != '\0') - (*b != '\0');
		a++;
		b++;
	}
}

int
semver_compare(const struct semver *a, const struct semver *b)
{
	int c;

	if ((c = cmp_u64(a->major, b->major)) != 0 ||
	    (c = cmp_u64(a->minor, b->minor)) != 0 ||
	    (c = cmp_u64(a->patch, b->patch)) != 0)
		return c;
	return cmp_pre(a->pre, b->pre);
}

static void
set_err(struct builder *b, const char *msg)
{
	if (b->err != NULL)
		*b->err = msg;
}

static struct comparator_set *
current_set(struct builder *b)
{
	return &b->r->sets[b->r->n - 1];
}

static void
push(struct builder *b, enum cmp_op op, struct semver v)
{
	struct comparator_set *s = current_set(b);

	s->items = arena_grow(b->a, s->items, sizeof(*s->items), s->n,
	                      &s->cap, s->n + 1);
	s->items[s->n].op = op;
	s->items[s->n].v = v;
	s->n++;
}

/*
 * Pushes op against the lowest version pt stands for: missing parts
 * become 0, and a wildcard version takes partial_pre as its prerelease
 * (node-semver's "<1.2.0-0" for "<1.2").
 */
static void
push_floor(struct builder *b, enum cmp_op op, const struct partial *pt,
           const char *partial_pre)
{
	struct semver v = { pt->num[0], pt->num[1], pt->num[2], NULL, NULL };

	if (pt->nparts == 3) {
		v.pre = pt->pre;
		v.build = pt->build;
	} else {
		v.pre = partial_pre;
	}
	push(b, op, v);
}

/*
 * Pushes op against pt with part i incremented and the parts after it
 * zeroed, with prerelease pre ("0" for node-semver's exclusive upper
 * bounds). Returns -1 when part i cannot be incremented.
 */
static int
push_next(struct builder *b, enum cmp_op op, const struct partial *pt,
          int i, const char *pre)
{
	uint64_t n[3] = { pt->num[0], pt->num[1], pt->num[2] };
	int j;

	if (n[i] == UINT64_MAX)
		return -1;
	n[i]++;
	for (j = i + 1; j < 3; j++)
		n[j] = 0;
	push(b, op, (struct semver){ n[0], n[1], n[2], pre, NULL });
	return 0;
}

/* ">=floor <next": what "1.2", "~1.2.3", "^0.2" and friends become. */
static int
push_span(struct builder *b, const struct partial *pt, int bump)
{
	push_floor(b, OP_GE, pt, NULL);
	return push_next(b, OP_LT, pt, bump, "0");
}

/*
 * A primitive comparator or a bare version, desugared like node-semver's
 * x-range rewrite: ">1.2" is ">=1.3.0", "<=1.2" is "<1.3.0-0", "<1.2" is
 * "<1.2.0-0", "1.2" is ">=1.2.0 <1.3.0-0"; "<*" and ">*" match nothing.
 */
static int
desugar_primitive(struct builder *b, enum range_op op,
                  const struct partial *pt)
{
	static const enum cmp_op full[] = {
		[ROP_LT] = OP_LT, [ROP_LE] = OP_LE, [ROP_GT] = OP_GT,
		[ROP_GE] = OP_GE, [ROP_EQ] = OP_EQ, [ROP_NONE] = OP_EQ,
	};
	int last = pt->nparts - 1;

	if (pt->nparts == 3) {
		push_floor(b, full[op], pt, NULL);
		return 0;
	}
	if (pt->nparts == 0) {
		if (op == ROP_LT || op == ROP_GT)
			push(b, OP_LT, (struct semver){ 0, 0, 0, "0", NULL });
		return 0;
	}
	switch (op) {
	case ROP_GT:
		return push_next(b, OP_GE, pt, last, NULL);
	case ROP_GE:
		push_floor(b, OP_GE, pt, NULL);
		return 0;
	case ROP_LT:
		push_floor(b, OP_LT, pt, "0");
		return 0;
	case ROP_LE:
		return push_next(b, OP_LT, pt, last, "0");
	default:
		return push_span(b, pt, last);
	}
}

/* ~1 is 1.x; otherwise ~ allows patch-level changes: ~1.2.3 <1.3.0-0. */
static int
desugar_tilde(struct builder *b, const struct partial *pt)
{
	if (pt->nparts == 0)
		return 0;
	return push_span(b, pt, pt->nparts == 1 ? 0 : 1);
}

/*
 * ^ allows changes that keep the leftmost non-zero part among those
 * given: ^1.2.3 <2.0.0-0, ^0.2.3 <0.3.0-0, ^0.0.3 <0.0.4-0, but ^0.0
 * <0.1.0-0 and ^0 <1.0.0-0, since a missing part is a wildcard.
 */
static int
desugar_caret(struct builder *b, const struct partial *pt)
{
	int i;

	if (pt->nparts == 0)
		return 0;
	for (i = 0; i < pt->nparts - 1 && pt->num[i] == 0; i++)
		;
	return push_span(b, pt, i);
}

/* "A - B": >=A with A's gaps zeroed; <=B, or below the next B if partial. */
static int
desugar_hyphen(struct builder *b, const struct partial *from,
               const struct partial *to)
{
	if (from->nparts > 0)
		push_floor(b, OP_GE, from, NULL);
	if (to->nparts == 3)
		push_floor(b, OP_LE, to, NULL);
	else if (to->nparts > 0)
		return push_next(b, OP_LT, to, to->nparts - 1, "0");
	return 0;
}

/* Advances *ts past a leading operator and returns it. */
static enum range_op
scan_op(const char **ts, const char *te)
{
	size_t i, n;

	for (i = 0; i < sizeof(range_ops) / sizeof(range_ops[0]); i++) {
		n = strlen(range_ops[i].text);
		if ((size_t)(te - *ts) >= n &&
		    memcmp(*ts, range_ops[i].text, n) == 0) {
			*ts += n;
			return range_ops[i].op;
		}
	}
	return ROP_NONE;
}

/*
 * Parses the version text of a comparator, hyphen end or tilde/caret
 * operand: an optional "v", then a partial version. On failure sets the
 * error to a message naming the text and returns -1.
 */
static int
parse_operand(struct builder *b, const char *s, const char *e,
              struct partial *pt)
{
	const char *p = s, *why;

	if (p < e && *p == 'v')
		p++;
	if (p < e && strchr(".+~^<>=|", *p) != NULL) {
		set_err(b, arena_printf(b->a, "unexpected '%c' in range", *p));
		return -1;
	}
	if (p < e && *p == '-') {
		set_err(b, "unexpected '-': a hyphen range is 'VERSION - "
		        "VERSION' on its own");
		return -1;
	}
	if (parse_partial(b->a, p, e, 1, pt, &why) == 0)
		return 0;
	if (why != NULL)
		set_err(b, arena_printf(b->a, "invalid version '%.*s' in "
		        "range: %s", (int)(e - s), s, why));
	else
		set_err(b, arena_printf(b->a, "invalid version '%.*s' in "
		        "range", (int)(e - s), s));
	return -1;
}

static void
overflow_err(struct builder *b, const char *s, const char *e)
{
	set_err(b, arena_printf(b->a, "invalid version '%.*s' in range: "
	        "number too large", (int)(e - s), s));
}

/* Finds the next whitespace-separated token in [*pp, end). */
static int
next_token(const char **pp, const char *end, const char **ts,
           const char **te)
{
	const char *p = *pp;

	while (p < end && is_space((unsigned char)*p))
		p++;
	if (p == end)
		return 0;
	*ts = p;
	while (p < end && !is_space((unsigned char)*p))
		p++;
	*te = p;
	*pp = p;
	return 1;
}

static int
is_hyphen_token(const char *ts, const char *te)
{
	return te - ts == 1 && *ts == '-';
}

/*
 * Handles "A - B" when the alternative [s, end) is one. Returns 1 when it
 * was and has been added, 0 when it has no lone "-" token, -1 on error
 * (including a "-" anywhere but between exactly two versions, which
 * node-semver rejects as well).
 */
static int
parse_hyphen(struct builder *b, const char *s, const char *end)
{
	const char *p = s, *ts[3], *te[3], *t, *e;
	struct partial from, to;
	int n = 0, hyphens = 0;

	while (next_token(&p, end, &t, &e)) {
		hyphens += is_hyphen_token(t, e);
		if (n < 3) {
			ts[n] = t;
			te[n] = e;
		}
		n++;
	}
	if (hyphens == 0)
		return 0;
	if (n != 3 || hyphens != 1 || !is_hyphen_token(ts[1], te[1])) {
		set_err(b, "unexpected '-': a hyphen range is 'VERSION - "
		        "VERSION' on its own");
		return -1;
	}
	if (parse_operand(b, ts[0], te[0], &from) < 0 ||
	    parse_operand(b, ts[2], te[2], &to) < 0)
		return -1;
	if (desugar_hyphen(b, &from, &to) < 0) {
		overflow_err(b, ts[2], te[2]);
		return -1;
	}
	return 1;
}

/*
 * Parses one comparator starting at token [ts, te); an operator standing
 * alone (">= 1.2.3", "~ 1.2") takes the next token as its version.
 */
static int
parse_simple(struct builder *b, const char **pp, const char *end,
             const char *ts, const char *te)
{
	const char *op_start = ts;
	enum range_op op = scan_op(&ts, te);
	struct partial pt;
	int rc;

	if (ts == te && !next_token(pp, end, &ts, &te)) {
		set_err(b, arena_printf(b->a, "operator '%.*s' without a "
		        "version", (int)(te - op_start), op_start));
		return -1;
	}
	if (parse_operand(b, ts, te, &pt) < 0)
		return -1;
	if (op == ROP_TILDE)
		rc = desugar_tilde(b, &pt);
	else if (op == ROP_CARET)
		rc = desugar_caret(b, &pt);
	else
		rc = desugar_primitive(b, op, &pt);
	if (rc < 0)
		overflow_err(b, ts, te);
	return rc;
}

/* One "||" alternative: a hyphen range, or comparators ANDed by space. */
static int
parse_alternative(struct builder *b, const char *s, const char *end)
{
	struct semver_range *r = b->r;
	const char *p = s, *ts, *te;
	int rc;

	r->sets = arena_grow(b->a, r->sets, sizeof(*r->sets), r->n, &r->cap,
	                     r->n + 1);
	memset(&r->sets[r->n++], 0, sizeof(r->sets[0]));
	if ((rc = parse_hyphen(b, s, end)) != 0)
		return rc < 0 ? -1 : 0;
	while (next_token(&p, end, &ts, &te))
		if (parse_simple(b, &p, end, ts, te) < 0)
			return -1;
	return 0;
}

/*
 * Rejects characters that cannot appear anywhere in a range up front, so
 * "1.2.3 && 2" reports the '&' rather than a puzzling invalid version.
 */
static int
check_charset(struct builder *b, const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (is_ident(*p) || is_space(*p) || strchr(".+*~^<>=|", *p))
			continue;
		if (*p > ' ' && *p < 0x7f)
			set_err(b, arena_printf(b->a, "unexpected '%c'", *p));
		else
			set_err(b, arena_printf(b->a, "unexpected byte 0x%02x",
			        *p));
		return -1;
	}
	return 0;
}

struct semver_range *
semver_range_parse(struct arena *a, const char *s, const char **err)
{
	struct builder b = { a, NULL, err };
	const char *p, *bar;

	if (s == NULL) {
		set_err(&b, "missing range");
		return NULL;
	}
	if (check_charset(&b, s) < 0)
		return NULL;
	b.r = arena_alloc(a, sizeof(*b.r));
	for (p = s;; p = bar + 2) {
		bar = strstr(p, "||");
		if (parse_alternative(&b, p, bar != NULL ? bar : p + strlen(p))
		    < 0)
			return NULL;
		if (bar == NULL)
			break;
	}
	return b.r;
}

static int
test_comparator(const struct comparator *c, const struct semver *v)
{
	int d = semver_compare(v, &c->v);

	switch (c->op) {
	case OP_LT:
		return d < 0;
	case OP_LE:
		return d <= 0;
	case OP_GT:
		return d > 0;
	case OP_GE:
		return d >= 0;
	case OP_EQ:
		break;
	}
	return d == 0;
}

static int
has_pre(const struct semver *v)
{
	return v->pre != NULL && *v->pre != '\0';
}

/*
 * All comparators must hold; a prerelease version additionally needs a
 * comparator that names a prerelease of its own major.minor.patch, so
 * "^1.2.3-beta.1" admits 1.2.3-beta.2 but not 1.2.4-alpha.
 */
static int
test_set(const struct comparator_set *s, const struct semver *v)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (!test_comparator(&s->items[i], v))
			return 0;
	if (!has_pre(v))
		return 1;
	for (i = 0; i < s->n; i++) {
		const struct semver *c = &s->items[i].v;

		if (has_pre(c) && c->major == v->major &&
		    c->minor == v->minor && c->patch == v->patch)
			return 1;
	}
	return 0;
}

int
semver_satisfies(const struct semver_range *r, const struct semver *v)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (test_set(&r->sets[i], v))
			return 1;
	return 0;
}
