/*
 * pattern.c - the `pattern`s of one contract, on PCRE2.
 *
 * Each distinct pattern text is compiled once per configuration
 * generation (util/ecma_pattern.c has the options and what they mean),
 * then JIT-compiled when PCRE2 has a JIT for this machine; a request only
 * matches. Matching needs no capture, so one match data block of one pair
 * serves every pattern, and one match context carries a JIT stack and
 * the limits: a pattern that backtracks badly on a client's string gives
 * up after PATTERN_MATCH_LIMIT steps instead of holding the event loop,
 * and the validator then refuses the value (fails closed).
 */
#include "contract/internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/arena.h"
#include "util/ecma_pattern.h"
#include "util/strmap.h"

#define PATTERN_MATCH_LIMIT 1000000u
#define JIT_STACK_START (32u * 1024u)
#define JIT_STACK_MAX (16u * 1024u * 1024u)

struct pattern {
	pcre2_code *code;
	int jit;                    /* JIT-compiled: match with the JIT entry */
	const char *text;
	struct pattern_set *set;
	struct pattern *next;       /* every pattern, for freeing */
};

struct pattern_set {
	struct arena *arena;
	struct strmap *by_text;
	struct pattern *all;
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	pcre2_jit_stack *jit;
};

struct pattern_set *
pattern_set_new(void)
{
	struct pattern_set *ps = calloc(1, sizeof(*ps));

	if (ps == NULL)
		return NULL;
	ps->arena = arena_new();
	ps->md = pcre2_match_data_create(1, NULL);
	ps->mctx = pcre2_match_context_create(NULL);
	if (ps->arena == NULL || ps->md == NULL || ps->mctx == NULL) {
		pattern_set_free(ps);
		return NULL;
	}
	ps->by_text = strmap_new(ps->arena);
	pcre2_set_match_limit(ps->mctx, PATTERN_MATCH_LIMIT);
	/* Without a JIT stack of its own, JIT code has 32 KiB of the
	 * machine stack: too little for a repeated group on a long string
	 * (^(a|b)+$ over 100,000 characters needs megabytes). The stack
	 * is address space reserved up front and backed as it is used. */
	ps->jit = pcre2_jit_stack_create(JIT_STACK_START, JIT_STACK_MAX, NULL);
	if (ps->jit != NULL)
		pcre2_jit_stack_assign(ps->mctx, NULL, ps->jit);
	return ps;
}

void
pattern_set_free(struct pattern_set *ps)
{
	struct pattern *p;

	if (ps == NULL)
		return;
	for (p = ps->all; p != NULL; p = p->next)
		pcre2_code_free(p->code);
	pcre2_jit_stack_free(ps->jit);
	pcre2_match_context_free(ps->mctx);
	pcre2_match_data_free(ps->md);
	arena_free(ps->arena);
	free(ps);
}

const struct pattern *
pattern_get(struct pattern_set *ps, const char *text, size_t len, char *err,
            size_t errlen)
{
	const char *key = arena_strndup(ps->arena, text, len);
	struct pattern *p = strmap_get(ps->by_text, key);
	pcre2_code *code;

	if (p != NULL)
		return p;
	if ((code = ecma_pattern_compile(text, len, err, errlen)) == NULL)
		return NULL;
	/* No JIT for this machine (or no memory for it): PCRE2 interprets
	 * the pattern instead, with the same result. */
	p = arena_alloc(ps->arena, sizeof(*p));
	p->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
	p->code = code;
	p->text = key;
	p->set = ps;
	p->next = ps->all;
	ps->all = p;
	strmap_put(ps->by_text, key, p);
	return p;
}

const char *
pattern_text(const struct pattern *p)
{
	return p->text;
}

int
pattern_match(const struct pattern *p, const char *s, size_t len)
{
	int rc;

	/* Subjects are checked UTF-8 already (instance.c). The JIT's own
	 * entry skips pcre2_match()'s option checks: on every request. */
	if (p->jit)
		rc = pcre2_jit_match(p->code, (PCRE2_SPTR)s, len, 0,
		                     PCRE2_NO_UTF_CHECK, p->set->md,
		                     p->set->mctx);
	else
		rc = pcre2_match(p->code, (PCRE2_SPTR)s, len, 0,
		                 PCRE2_NO_UTF_CHECK, p->set->md, p->set->mctx);
	/* 0 is a match with more groups than the data holds. */
	if (rc >= 0)
		return 1;
	return rc == PCRE2_ERROR_NOMATCH ? 0 : -1;
}
