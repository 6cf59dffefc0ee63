/*
 * resolve.c - host names looked up with evdns on the event loop.
 *
 * getaddrinfo(3) blocks for as long as DNS takes; on the loop that would
 * stall every request. Start-up may block (nothing runs yet, bind.c), a
 * reload may not: the names of the listeners it adds are looked up here.
 *
 * Lifetimes. An evdns lookup always ends with its callback, cancelled or
 * not, and libevent runs a cancelled one's later from the loop, through
 * the evdns base (as does the short wait evdns keeps for the second of
 * the A and AAAA answers). So a batch is freed by the last of its
 * callbacks when its owner has let it go, never before, and the evdns
 * base lives as long as the resolver, which is freed after the loop.
 */
#include "http/resolve.h"

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define DEFAULT_RESOLV_CONF "/etc/resolv.conf"
#define HOSTS_FILE "/etc/hosts"

struct resolver {
	struct event_base *base;
	struct evdns_base *dns;     /* NULL until the first batch */
	unsigned due;               /* callbacks still to come, all batches */
	int closed;                 /* resolver_free() was called */
};

struct resolve_entry {
	struct resolve_batch *b;
	char *name;
	struct evdns_getaddrinfo_request *req;  /* while its lookup runs */
	int answered;
	struct evutil_addrinfo *ai;
	const char *why;            /* why it did not resolve */
};

struct resolve_batch {
	struct resolver *r;
	struct event *timer;        /* gives up on names left unanswered */
	resolve_done_fn done;
	void *arg;
	size_t due;                 /* callbacks still to come */
	int released;               /* resolve_free() was called */
	char timeout_why[64];
	size_t n;
	struct resolve_entry e[];
};

/* evdns's own warnings (a bad resolv.conf line) go to asterd's log, in
 * its format, not to stderr as libevent's raw "[warn] ..." lines. */
static void
on_evdns_log(int is_warning, const char *msg)
{
	if (is_warning)
		log_msg(LOG_WARN, "dns: %s", msg);
}

struct resolver *
resolver_new(struct event_base *base)
{
	struct resolver *r = calloc(1, sizeof(*r));

	if (r != NULL)
		r->base = base;
	/* Process-wide: the postgres provider's lookups log here too. */
	evdns_set_log_fn(on_evdns_log);
	return r;
}

static void
resolver_destroy(struct resolver *r)
{
	if (r->dns != NULL)
		evdns_base_free(r->dns, 0);
	free(r);
}

/* Cancelled lookups report later, through the evdns base: with some
 * still due, the last of them frees r (asterd's final pass of the loop
 * runs them). */
void
resolver_free(struct resolver *r)
{
	if (r == NULL)
		return;
	r->closed = 1;
	if (r->due == 0)
		resolver_destroy(r);
}

/*
 * Reads /etc/hosts and the resolv.conf file afresh (small files read
 * once per reload that needs a lookup, as the configuration itself is).
 * A missing resolv.conf leaves evdns's default, a name server on
 * 127.0.0.1, as for the C library.
 */
static int
resolver_configure(struct resolver *r)
{
	const char *conf = getenv("ASTER_RESOLV_CONF");

	if (conf == NULL || *conf == '\0')
		conf = DEFAULT_RESOLV_CONF;
	if (r->dns == NULL) {
		r->dns = evdns_base_new(r->base, 0);
		if (r->dns == NULL)
			return -1;
	} else {
		evdns_base_clear_nameservers_and_suspend(r->dns);
		evdns_base_search_clear(r->dns);
		evdns_base_clear_host_addresses(r->dns);
	}
	/* The hosts file is read by the parse (DNS_OPTION_HOSTSFILE). */
	evdns_base_resolv_conf_parse(r->dns, DNS_OPTIONS_ALL, conf);
	evdns_base_resume(r->dns);
	return 0;
}

static void
batch_free(struct resolve_batch *b)
{
	size_t i;

	if (b->timer != NULL)
		event_free(b->timer);
	for (i = 0; i < b->n; i++) {
		if (b->e[i].ai != NULL)
			evutil_freeaddrinfo(b->e[i].ai);
		free(b->e[i].name);
	}
	free(b);
}

int
resolve_pending(const struct resolve_batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		if (!b->e[i].answered)
			return 1;
	return 0;
}

/* evdns's answer for one name: the only place a lookup ends. */
static void
on_answer(int err, struct evutil_addrinfo *ai, void *arg)
{
	struct resolve_entry *e = arg;
	struct resolve_batch *b = e->b;
	struct resolver *r = b->r;

	r->due--;
	b->due--;
	e->req = NULL;
	e->answered = 1;
	if (b->released || err != 0 || ai == NULL) {
		if (ai != NULL)
			evutil_freeaddrinfo(ai);
		ai = NULL;
	}
	if (b->released) {
		if (b->due == 0)
			batch_free(b);
		if (r->closed && r->due == 0)
			resolver_destroy(r);
		return;
	}
	e->ai = ai;
	if (e->why != NULL)
		;                   /* the timer cancelled it and said why */
	else if (err != 0)
		e->why = evutil_gai_strerror(err);
	else if (ai == NULL)
		e->why = "no address";
	if (b->done != NULL && !resolve_pending(b)) {
		if (b->timer != NULL)
			event_del(b->timer);
		b->done(b, b->arg);
	}
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct resolve_batch *b = arg;
	size_t i;

	(void)fd;
	(void)what;
	for (i = 0; i < b->n; i++)
		if (b->e[i].req != NULL) {
			b->e[i].why = b->timeout_why;
			evdns_getaddrinfo_cancel(b->e[i].req);
		}
}

static void
lookup_start(struct resolve_batch *b, struct resolve_entry *e)
{
	struct evutil_addrinfo hints;
	struct evdns_getaddrinfo_request *req;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	b->due++;
	b->r->due++;
	req = evdns_getaddrinfo(b->r->dns, e->name, NULL, &hints, on_answer,
	                        e);
	if (!e->answered)           /* else on_answer already ran */
		e->req = req;
}

struct resolve_batch *
resolve_start(struct resolver *r, const char *const *names, size_t n,
              unsigned timeout_ms, resolve_done_fn done, void *arg,
              const char **why)
{
	struct resolve_batch *b;
	struct timeval tv;
	size_t i;

	*why = "out of memory";
	b = calloc(1, sizeof(*b) + n * sizeof(b->e[0]));
	if (b == NULL)
		return NULL;
	b->r = r;
	b->n = n;
	b->timer = evtimer_new(r->base, on_timeout, b);
	snprintf(b->timeout_why, sizeof(b->timeout_why),
	         "no answer within %u ms", timeout_ms);
	for (i = 0; i < n; i++) {
		b->e[i].b = b;
		b->e[i].name = strdup(names[i]);
		if (b->e[i].name == NULL)
			break;
	}
	if (b->timer == NULL || i < n) {
		batch_free(b);
		return NULL;
	}
	if (resolver_configure(r) < 0) {
		*why = "the DNS resolver could not be set up";
		batch_free(b);
		return NULL;
	}
	/* done stays unset while starting: answers given at once are the
	 * caller's to read when this returns. */
	for (i = 0; i < n; i++)
		lookup_start(b, &b->e[i]);
	b->done = done;
	b->arg = arg;
	if (resolve_pending(b)) {
		tv.tv_sec = timeout_ms / 1000;
		tv.tv_usec = (timeout_ms % 1000) * 1000;
		event_add(b->timer, &tv);
	}
	return b;
}

const struct sockaddr *
resolve_address(const struct resolve_batch *b, size_t i, socklen_t *len,
                const char **why)
{
	const struct resolve_entry *e = &b->e[i];

	if (e->ai == NULL) {
		*why = e->why != NULL ? e->why : "no address";
		return NULL;
	}
	*len = (socklen_t)e->ai->ai_addrlen;
	return e->ai->ai_addr;
}

void
resolve_free(struct resolve_batch *b)
{
	size_t i;

	if (b == NULL)
		return;
	b->released = 1;
	event_del(b->timer);
	for (i = 0; i < b->n; i++)
		if (b->e[i].req != NULL)
			evdns_getaddrinfo_cancel(b->e[i].req);
	if (b->due == 0)
		batch_free(b);
}
