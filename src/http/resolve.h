/*
 * resolve.h - host names looked up on the event loop, without blocking
 * it (evdns), for the listeners and upstream targets a reload adds.
 *
 * A resolver owns one evdns base for the life of the runtime; each batch
 * of names re-reads /etc/hosts and the resolv.conf(5) file
 * ($ASTER_RESOLV_CONF, else /etc/resolv.conf) first, so a reload sees
 * the files as they are now. Only /etc/hosts and DNS are consulted, not
 * nsswitch.conf(5): a name only another NSS source knows does not
 * resolve here.
 */
#ifndef ASTER_HTTP_RESOLVE_H
#define ASTER_HTTP_RESOLVE_H

#include <sys/socket.h>

struct event_base;
struct resolver;
struct resolve_batch;

/* Runs once, from the loop, when every name of b has its answer. */
typedef void (*resolve_done_fn)(struct resolve_batch *b, void *arg);

/* A resolver on base; no I/O until the first batch. NULL when out of
 * memory. */
struct resolver *resolver_new(struct event_base *base);

/*
 * Frees r, after its loop stopped: at once, or, while cancelled lookups
 * have still to report (libevent 2.1 ends a lookup only with a callback
 * from the loop), with the last of them, on a later pass of the loop;
 * without one they stay allocated until exit. NULL is ignored.
 */
void resolver_free(struct resolver *r);

/*
 * Looks names[0..n-1] up (copied; A and AAAA), giving up on those with
 * no answer after timeout_ms. Names answered from /etc/hosts, and
 * failures known at once, are answered before this returns: when
 * resolve_pending() is then 0, done will not run. NULL when out of
 * memory or when the resolver cannot be set up (*why says which).
 */
struct resolve_batch *resolve_start(struct resolver *r,
                                    const char *const *names, size_t n,
                                    unsigned timeout_ms, resolve_done_fn done,
                                    void *arg, const char **why);

/* 1 while some name of b has no answer yet. */
int resolve_pending(const struct resolve_batch *b);

/*
 * The first address name i resolved to (its port 0), valid until
 * resolve_free(b); NULL with *why (static text, or text b holds) when
 * it did not resolve.
 */
const struct sockaddr *resolve_address(const struct resolve_batch *b,
                                       size_t i, socklen_t *len,
                                       const char **why);

/* Ends b: lookups still running are cancelled and done never runs. The
 * memory goes now, or with the last evdns callback. */
void resolve_free(struct resolve_batch *b);

#endif
