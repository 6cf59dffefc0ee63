/*
 * etag.h - the entity-tag lists of conditional requests (RFC 9110 8.8.3,
 * 13.1.1, 13.1.2), for resources whose version is a number sent as the
 * strong tag "N".
 */
#ifndef ASTER_ETAG_H
#define ASTER_ETAG_H

#include <stddef.h>
#include <stdint.h>

#define ETAG_LIST_MAX 16

struct etag_list {
	int any;                    /* the header was "*" */
	size_t n;
	uint64_t versions[ETAG_LIST_MAX];
};

/*
 * Parses an If-Match or If-None-Match value h into out: "*" sets any;
 * each "N" tag adds N, and so does W/"N" when weak_ok (If-None-Match
 * compares weakly, If-Match strongly); other tags can match no version
 * and are dropped, as are tags past ETAG_LIST_MAX. Returns 0, or -1 when
 * h is not a list of entity tags.
 */
int etag_list_parse(const char *h, int weak_ok, struct etag_list *out);

/* 1 when l matches version: "*", or version listed. */
int etag_list_matches(const struct etag_list *l, uint64_t version);

#endif
