/*
 * resolve.c - host names looked up on the event loop, before libpq
 * connects.
 *
 * libpq looks a `host` that is a name up with getaddrinfo() inside
 * PQconnectStartParams/PQconnectPoll, which blocks the loop for as long
 * as DNS takes. So when the DSN (or libpq's defaults from the
 * environment, PGHOST...) names a host by name and gives no `hostaddr`
 * for it, every connection attempt first looks each such name up with
 * evdns (which reads /etc/hosts too), then connects with `hostaddr` set
 * to the addresses found and `host` kept, so that TLS verification,
 * .pgpass and libpq's messages still see the name.
 *
 * A host list keeps its order. A name with several addresses becomes as
 * many entries of the list, tried in turn as libpq tries getaddrinfo's
 * answers; a name that does not resolve is left out, as libpq skips it;
 * the attempt fails, naming the hosts, when no entry is left. Nothing is
 * cached: each attempt looks the names up afresh.
 *
 * Lifetimes. An evdns lookup always ends with its callback, cancelled
 * or not, and libevent runs a cancelled one's later from the loop,
 * touching the evdns base. So a lookup record is freed by its callback
 * only (a cancelled one is merely detached from its attempt), and the
 * resolver, which owns the evdns base, outlives the pool until the last
 * callback has run. libevent 2.1 has no synchronous way to end a lookup:
 * when the loop ends right after a stop (asterd exiting) while a DNS
 * server is still silent on some name, those callbacks never run and
 * their memory stays allocated until exit.
 */
#include "pg.h"

#include <arpa/inet.h>
#include <event2/dns.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* The pool's host list and evdns base. */
struct pg_resolver {
	struct evdns_base *dns;     /* NULL: it could not be set up */
	int n;                      /* entries of the host list */
	const char **host;          /* n entries, "" for libpq's default */
	const char **addr;          /* n entries, "" when none is given */
	const char **port;          /* n entries, or NULL: one for all */
	char *lists;                /* the storage the entries point into */
	unsigned due;               /* lookups whose callback is to come */
	int closed;                 /* the pool is gone */
};

/* One evdns_getaddrinfo, freed by its callback. */
struct pg_lookup {
	struct pg_resolver *r;
	struct pg_resolve *job;     /* NULL once its attempt gave it up */
	struct evdns_getaddrinfo_request *req;
	int i;                      /* the entry it looks up */
};

/* One attempt's lookups; c->resolve while some are due. */
struct pg_resolve {
	struct pg_conn *c;
	struct pg_resolver *r;
	int due;                    /* callbacks to come, +1 while starting */
	struct {
		struct pg_lookup *lk;       /* while its lookup runs */
		struct evutil_addrinfo *ai; /* what it resolved to */
		const char *why;            /* why it did not (static) */
	} e[];
};

static const char *
opt_value(const PQconninfoOption *o, const char *key)
{
	for (; o != NULL && o->keyword != NULL; o++)
		if (strcmp(o->keyword, key) == 0)
			return o->val;
	return NULL;
}

/*
 * The value libpq connects with for key: the DSN's, else its default
 * from the environment. A DSN that names a service reads the rest from
 * the service file, which is not consulted here.
 */
static const char *
effective(const PQconninfoOption *dsn, const PQconninfoOption *dflt,
          const char *key)
{
	const char *v = opt_value(dsn, key);

	if (v != NULL || opt_value(dsn, "service") != NULL)
		return v;
	return opt_value(dflt, key);
}

/*
 * 1 when libpq would look h up (a name); 0 for its default (""), a
 * socket directory, an abstract socket (@name) or an address literal
 * (anything with ':' is IPv6, maybe with a zone).
 */
static int
host_is_name(const char *h)
{
	struct in_addr a4;

	if (*h == '\0' || *h == '/' || *h == '@' || strchr(h, ':') != NULL)
		return 0;
	return inet_pton(AF_INET, h, &a4) != 1;
}

static int
entry_needs_lookup(const struct pg_resolver *r, int i)
{
	return r->addr[i][0] == '\0' && host_is_name(r->host[i]);
}

static int
list_count(const char *s)
{
	int n = 1;

	for (; *s != '\0'; s++)
		n += *s == ',';
	return n;
}

/* Splits the comma-separated list s (modified) into its n entries. */
static void
list_split(char *s, const char **out, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		out[i] = s;
		s += strcspn(s, ",");
		if (*s == ',')
			*s++ = '\0';
	}
}

static void
resolver_free(struct pg_resolver *r)
{
	if (r->dns != NULL)
		evdns_base_free(r->dns, 0);
	free(r->host);
	free(r->lists);
	free(r);
}

/* Frees r once the pool closed it and no lookup callback is due. */
static void
resolver_release(struct pg_resolver *r)
{
	if (r->closed && r->due == 0)
		resolver_free(r);
}

/*
 * The resolver for these lists (addr and port may be NULL), or *out
 * left NULL when no entry needs a lookup, or when the lists do not
 * match (libpq then reports that itself). -1 when out of memory.
 */
static int
resolver_make(struct event_base *base, const char *host, const char *addr,
              const char *port, struct pg_resolver **out)
{
	int n = list_count(host), np = port != NULL ? list_count(port) : 1;
	size_t lh = strlen(host) + 1, la = addr != NULL ? strlen(addr) + 1 : 0;
	struct pg_resolver *r;
	int i;

	if ((addr != NULL && list_count(addr) != n) || (np != 1 && np != n))
		return 0;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -1;
	r->n = n;
	r->host = calloc((size_t)n * 3, sizeof(*r->host));
	r->lists = malloc(lh + la + (np > 1 ? strlen(port) + 1 : 0));
	if (r->host == NULL || r->lists == NULL) {
		resolver_free(r);
		return -1;
	}
	r->addr = r->host + n;
	list_split(memcpy(r->lists, host, lh), r->host, n);
	for (i = 0; i < n; i++)
		r->addr[i] = "";
	if (addr != NULL)
		list_split(memcpy(r->lists + lh, addr, la), r->addr, n);
	if (np > 1) {
		r->port = r->host + 2 * n;
		list_split(strcpy(r->lists + lh + la, port), r->port, n);
	}
	for (i = 0; i < n && !entry_needs_lookup(r, i); i++)
		;
	if (i == n) {
		resolver_free(r);
		return 0;
	}
	/* NULL leaves every attempt failing with a message that says so. */
	r->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
	                        EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	*out = r;
	return 0;
}

/*
 * Reads which hosts the DSN connects to. *out is the pool's resolver,
 * with its evdns base on base, when some host is a name without a
 * hostaddr; else NULL (libpq resolves nothing: connect directly).
 * -1 when out of memory. pg_resolver_close() frees the resolver.
 */
int
pg_resolver_new(struct event_base *base, const char *dsn,
                struct pg_resolver **out)
{
	PQconninfoOption *o = PQconninfoParse(dsn, NULL);
	PQconninfoOption *d = PQconndefaults();
	const char *host;
	int rc = -1;

	*out = NULL;
	if (o != NULL && d != NULL) {
		host = effective(o, d, "host");
		rc = host == NULL ? 0 :
		     resolver_make(base, host, effective(o, d, "hostaddr"),
		                   effective(o, d, "port"), out);
	}
	PQconninfoFree(o);
	PQconninfoFree(d);
	return rc;
}

/* The pool is done with r: freed now, or by the last lookup callback
 * still due (cancelled lookups report from the loop later). */
void
pg_resolver_close(struct pg_resolver *r)
{
	r->closed = 1;
	resolver_release(r);
}

static void
job_free(struct pg_resolve *job)
{
	int i;

	for (i = 0; i < job->r->n; i++)
		if (job->e[i].ai != NULL)
			evutil_freeaddrinfo(job->e[i].ai);
	free(job);
}

/* Appends entry i, with hostaddr addr, to the lists being built. */
static void
emit(struct pg_resolver *r, int i, const char *addr, FILE **f, int *count)
{
	const char *sep = *count > 0 ? "," : "";

	fprintf(f[0], "%s%s", sep, r->host[i]);
	fprintf(f[1], "%s%s", sep, addr);
	if (r->port != NULL)
		fprintf(f[2], "%s%s", sep, r->port[i]);
	(*count)++;
}

/* Appends what entry i resolved to; a failure to the error line. */
static void
emit_entry(struct pg_resolve *job, int i, FILE **f, int *count)
{
	struct pg_resolver *r = job->r;
	const struct evutil_addrinfo *ai;
	char buf[INET6_ADDRSTRLEN];
	const void *a;

	if (!entry_needs_lookup(r, i)) {
		emit(r, i, r->addr[i], f, count);
		return;
	}
	if (job->e[i].why != NULL) {
		fprintf(f[3], "%scannot resolve host name \"%s\": %s",
		        ftell(f[3]) > 0 ? "; " : "", r->host[i], job->e[i].why);
		return;
	}
	for (ai = job->e[i].ai; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET)
			a = &((const struct sockaddr_in *)ai->ai_addr)->sin_addr;
		else if (ai->ai_family == AF_INET6)
			a = &((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
		else
			continue;
		if (evutil_inet_ntop(ai->ai_family, a, buf, sizeof(buf)) != NULL)
			emit(r, i, buf, f, count);
	}
}

/*
 * Every lookup of the attempt answered: hands c the lists to connect
 * with (or the error), after the job is freed and c->resolve cleared,
 * so that c may start its next attempt from pg_conn_resolved().
 */
static void
job_finish(struct pg_resolve *job)
{
	struct pg_conn *c = job->c;
	char *s[4] = {NULL, NULL, NULL, NULL};
	size_t len[4];
	FILE *f[4];
	int i, count = 0, ok = 1;

	for (i = 0; i < 4; i++) {
		f[i] = open_memstream(&s[i], &len[i]);
		ok &= f[i] != NULL;
	}
	for (i = 0; ok && i < job->r->n; i++)
		emit_entry(job, i, f, &count);
	for (i = 0; i < 4; i++)
		ok &= f[i] != NULL && fclose(f[i]) == 0;
	c->resolve = NULL;
	if (!ok)
		pg_conn_resolved(c, NULL, NULL, NULL, "out of memory");
	else if (count == 0)
		pg_conn_resolved(c, NULL, NULL, NULL, s[3][0] != '\0' ? s[3] :
		                 "no address for the host names");
	else
		pg_conn_resolved(c, s[0], s[1], job->r->port != NULL ? s[2] :
		                 NULL, NULL);
	job_free(job);
	for (i = 0; i < 4; i++)
		free(s[i]);
}

/* evdns's answer for one lookup; the only place a lookup is freed. */
static void
lookup_done(int err, struct evutil_addrinfo *ai, void *arg)
{
	struct pg_lookup *lk = arg;
	struct pg_resolve *job = lk->job;
	struct pg_resolver *r = lk->r;
	int i = lk->i;

	free(lk);
	r->due--;
	if (job == NULL || err != 0) {
		if (ai != NULL)
			evutil_freeaddrinfo(ai);
		ai = NULL;
	}
	if (job == NULL) {          /* cancelled (EVUTIL_EAI_CANCEL) */
		resolver_release(r);
		return;
	}
	job->e[i].lk = NULL;
	job->e[i].ai = ai;
	if (err != 0)
		job->e[i].why = evutil_gai_strerror(err);
	else if (ai == NULL)
		job->e[i].why = "no address";
	if (--job->due == 0)
		job_finish(job);
}

/* Starts looking entry i up; its callback may run before this returns
 * (/etc/hosts, or an immediate failure). */
static void
lookup_start(struct pg_resolve *job, int i)
{
	struct pg_resolver *r = job->r;
	struct evutil_addrinfo hints;
	struct evdns_getaddrinfo_request *req;
	struct pg_lookup *lk;

	if (r->dns == NULL) {
		job->e[i].why = "the DNS resolver could not be set up";
		return;
	}
	lk = calloc(1, sizeof(*lk));
	if (lk == NULL) {
		job->e[i].why = "out of memory";
		return;
	}
	lk->r = r;
	lk->job = job;
	lk->i = i;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	job->e[i].lk = lk;
	job->due++;
	r->due++;
	req = evdns_getaddrinfo(r->dns, r->host[i], NULL, &hints, lookup_done,
	                        lk);
	if (req != NULL)            /* else lookup_done ran and freed lk */
		lk->req = req;
}

/*
 * Starts the lookups of c's next attempt, as c->resolve; the outcome
 * arrives through pg_conn_resolved(), possibly before this returns
 * (then c->resolve is NULL again). -1 when out of memory (nothing was
 * started).
 */
int
pg_resolve_start(struct pg_conn *c)
{
	struct pg_resolver *r = c->pool->resolver;
	struct pg_resolve *job;
	int i;

	job = calloc(1, sizeof(*job) + (size_t)r->n * sizeof(job->e[0]));
	if (job == NULL)
		return -1;
	job->c = c;
	job->r = r;
	job->due = 1;
	c->resolve = job;
	for (i = 0; i < r->n; i++)
		if (entry_needs_lookup(r, i))
			lookup_start(job, i);
	if (--job->due == 0)
		job_finish(job);
	return 0;
}

/* Gives the attempt up: its lookups are cancelled (their callbacks,
 * still to come, free them) and job is freed. Never calls back. */
void
pg_resolve_cancel(struct pg_resolve *job)
{
	struct pg_lookup *lk;
	int i;

	for (i = 0; i < job->r->n; i++) {
		lk = job->e[i].lk;
		if (lk == NULL)
			continue;
		lk->job = NULL;
		evdns_getaddrinfo_cancel(lk->req);
	}
	job_free(job);
}

/* The entry of list host at the index where list addr holds a (alen
 * bytes); NULL when none does. *nlen is the entry's length. */
static const char *
list_match(const char *host, const char *addr, const char *a, size_t alen,
           size_t *nlen)
{
	size_t hl, al;

	while (host != NULL && addr != NULL) {
		hl = strcspn(host, ",");
		al = strcspn(addr, ",");
		if (al == alen && strncmp(addr, a, alen) == 0) {
			*nlen = hl;
			return host;
		}
		if (host[hl] == '\0' || addr[al] == '\0')
			break;
		host += hl + 1;
		addr += al + 1;
	}
	return NULL;
}

/*
 * libpq names the server of a failed attempt by its hostaddr when one
 * is set ("connection to server at "127.0.0.1", port 5432 failed: ..."),
 * and by both when it looked the name up itself. For pg's attempt, a
 * malloc'd copy of msg in the latter form ("localhost" (127.0.0.1));
 * NULL when msg is not of that form or the address is not pg's.
 */
char *
pg_resolve_describe(PGconn *pg, const char *msg)
{
	static const char pre[] = "connection to server at \"";
	PQconninfoOption *o;
	const char *a, *end, *name;
	size_t alen, nlen;
	char *out = NULL;

	if (strncmp(msg, pre, sizeof(pre) - 1) != 0)
		return NULL;
	a = msg + sizeof(pre) - 1;
	end = strchr(a, '"');
	if (end == NULL || strncmp(end, "\", port ", 8) != 0)
		return NULL;
	alen = (size_t)(end - a);
	o = PQconninfo(pg);
	name = list_match(opt_value(o, "host"), opt_value(o, "hostaddr"), a,
	                  alen, &nlen);
	if (name != NULL && (nlen != alen || strncmp(name, a, alen) != 0) &&
	    asprintf(&out, "%s%.*s\" (%.*s)%s", pre, (int)nlen, name,
	             (int)alen, a, end + 1) < 0)
		out = NULL;
	PQconninfoFree(o);
	return out;
}

/* A host name job still waits for (for messages). */
const char *
pg_resolve_waiting(const struct pg_resolve *job)
{
	int i;

	for (i = 0; i < job->r->n; i++)
		if (job->e[i].lk != NULL)
			return job->r->host[i];
	return "?";
}
