/*
 * suggest.h - "did you mean" by edit distance.
 */
#ifndef ASTER_SUGGEST_H
#define ASTER_SUGGEST_H

#include <stddef.h>

/*
 * Returns the candidate closest to given by optimal string alignment
 * distance (an adjacent swap costs one), or NULL when none is close enough:
 * at most one edit for names of up to four bytes, else a third of the
 * longer name. Ties go to the earlier candidate. given itself is never
 * suggested.
 */
const char *suggest_closest(const char *given, const char *const *candidates,
                            size_t n);

/* Optimal string alignment distance between a and b. */
size_t suggest_distance(const char *a, const char *b);

#endif
