/*
 * suggest.c - edit distance for "did you mean" hints.
 *
 * Only run when a name is already known to be wrong, so the quadratic
 * distance never sits on a hot path.
 */
#include "util/suggest.h"

#include <stdlib.h>
#include <string.h>

#define SUGGEST_MAX_LEN 128

static size_t
min3(size_t a, size_t b, size_t c)
{
	size_t m = a < b ? a : b;

	return m < c ? m : c;
}

size_t
suggest_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, d;
	size_t rows[3][SUGGEST_MAX_LEN + 1];
	size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2], *t;

	if (la > SUGGEST_MAX_LEN || lb > SUGGEST_MAX_LEN)
		return la > lb ? la : lb;
	for (j = 0; j <= lb; j++)
		prev[j] = j;
	for (i = 1; i <= la; i++) {
		cur[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];

			d = min3(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < d)
				d = prev2[j - 2] + 1;
			cur[j] = d;
		}
		t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	return prev[lb];
}

const char *
suggest_closest(const char *given, const char *const *candidates, size_t n)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1, i, glen = strlen(given);

	for (i = 0; i < n; i++) {
		size_t clen, limit, d;

		if (candidates[i] == NULL || strcmp(candidates[i], given) == 0)
			continue;
		clen = strlen(candidates[i]);
		limit = (glen > clen ? glen : clen) / 3;
		if (limit < 1)
			limit = 1;
		if ((glen > clen ? glen - clen : clen - glen) > limit)
			continue;
		d = suggest_distance(given, candidates[i]);
		if (d <= limit && d < best_d) {
			best = candidates[i];
			best_d = d;
		}
	}
	return best;
}
