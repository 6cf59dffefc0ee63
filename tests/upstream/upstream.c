/*
 * upstream.c - a test upstream HTTP/1.1 server for the reverse proxy's
 * tests and benchmarks (SPEC 7.7).
 *
 * One process serves every test case: what a request gets is chosen by
 * its path and query (see tests/upstream/README). It speaks HTTP/1.1 with
 * keep-alive and pipelining, plain or TLS (OpenSSL), on TCP or a Unix
 * socket, on one libevent loop that never blocks: request bodies are
 * hashed as they arrive and never held whole; generated response bodies
 * are produced only while the socket's output stays small, so a slow
 * reader slows the generator (back-pressure) and memory stays bounded.
 *
 * Usage: upstream --listen 127.0.0.1:0|unix:PATH [--port-file F]
 *        [--name N] [--idle-close-ms N] [--tls-cert C --tls-key K]
 *        [--log F]
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <json-c/json.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#define MAX_HEAD      (64 * 1024)     /* request line and headers */
#define READ_HIGH_WM  (1024 * 1024)   /* input kept while answering */
#define OUT_HIGH      (256 * 1024)    /* generate only below this */
#define OUT_LOW       (64 * 1024)     /* ...and resume below this */
#define PIECE_MAX     (16 * 1024)
#define MAX_EXTRA_HDR 32

/* --- options and global state ------------------------------------------ */

static struct {
	const char *listen;
	const char *port_file;
	const char *name;
	long idle_close_ms;
	const char *tls_cert;
	const char *tls_key;
	const char *log_path;
} opt = { .name = "upstream" };

static struct event_base *base;
static SSL_CTX *ssl_ctx;
static FILE *log_file;
static bool healthy = true;
static uint64_t next_conn_id = 1;
static struct {
	uint64_t accepted, requests, open;
	uint64_t body_bytes;     /* of generated bodies, as queued to send */
} stats;
/* The traceparent of the latest request other than /stats ("" if none):
 * a proxy's test compares the parent ids of its attempts. */
static char last_traceparent[128];

/* byte i of a generated body is i % 251: pattern + (i % 251) holds at
 * least PIECE_MAX bytes of the sequence. */
static unsigned char pattern[PIECE_MAX + 251];

/* --- connection --------------------------------------------------------- */

enum conn_state {
	ST_HEAD,     /* waiting for a request head */
	ST_BODY,     /* reading (hashing) the request body */
	ST_WAIT,     /* delay_ms before the head */
	ST_SEND,     /* generating a body as the socket drains */
	ST_TUNNEL,   /* after 101: echo raw bytes */
	ST_CLOSING,  /* flushing, then closing */
};

enum body_state { B_NONE, B_LENGTH, B_CHUNK_SIZE, B_CHUNK_DATA,
                  B_CHUNK_CRLF, B_TRAILERS };

struct header { char *name, *value; };

struct request {
	char method[32];
	char *target;
	int minor;               /* HTTP/1.minor */
	struct header *h;
	size_t nh, caph;
	struct header *t;        /* trailers of a chunked body */
	size_t nt, capt;
	bool keepalive;
	enum body_state body;
	uint64_t left;           /* of the body, or of the current chunk */
	uint64_t body_len;
	EVP_MD_CTX *sha;
};

struct params {
	int status;
	long delay_ms, slow_ms, close_after;
	long long bytes;         /* -1: not given */
	long piece;
	int interim;
	bool reset, chunked, drop_head;
	char *extra[MAX_EXTRA_HDR];
	size_t nextra;
};

struct conn {
	struct conn *prev, *next;  /* every open one, freed at exit */
	struct bufferevent *bev;
	uint64_t id;
	unsigned nreq;
	enum conn_state st;
	bool eof;
	bool dead;               /* freed while busy: freed when it returns */
	int busy;                /* inside process() */
	struct request rq;
	struct params p;
	struct event *timer;     /* delay, slow pieces, idle close */
	/* the generated body */
	uint64_t gen_off, gen_left;
	bool gen_chunked, gen_close;   /* close_after: close when done */
	EVP_MD_CTX *gen_sha;
};

static struct conn *conns;

static void process(struct conn *c);
static void conn_free(struct conn *c);

static void
die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("upstream: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p)
		die("out of memory");
	return p;
}

static char *
xstrndup(const char *s, size_t n)
{
	char *d = strndup(s, n);
	if (!d)
		die("out of memory");
	return d;
}

static void
headers_free(struct header *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	free(h);
}

static void
request_reset(struct request *r)
{
	free(r->target);
	headers_free(r->h, r->nh);
	headers_free(r->t, r->nt);
	if (r->sha)
		EVP_MD_CTX_free(r->sha);
	memset(r, 0, sizeof(*r));
}

static void
params_reset(struct params *p)
{
	for (size_t i = 0; i < p->nextra; i++)
		free(p->extra[i]);
	memset(p, 0, sizeof(*p));
}

static void
add_header(struct header **h, size_t *n, size_t *cap, const char *name,
           size_t nlen, const char *value, size_t vlen)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*h = xrealloc(*h, *cap * sizeof(**h));
	}
	(*h)[*n].name = xstrndup(name, nlen);
	(*h)[*n].value = xstrndup(value, vlen);
	(*n)++;
}

static const char *
header_get(const struct request *r, const char *name)
{
	for (size_t i = 0; i < r->nh; i++)
		if (strcasecmp(r->h[i].name, name) == 0)
			return r->h[i].value;
	return NULL;
}

/* Whether the comma-separated list of every header NAME holds TOKEN. */
static bool
header_has_token(const struct request *r, const char *name, const char *token)
{
	size_t tl = strlen(token);
	for (size_t i = 0; i < r->nh; i++) {
		if (strcasecmp(r->h[i].name, name) != 0)
			continue;
		const char *s = r->h[i].value;
		while (*s) {
			s += strspn(s, " \t,");
			size_t l = strcspn(s, ",");
			size_t e = l;
			while (e > 0 && (s[e - 1] == ' ' || s[e - 1] == '\t'))
				e--;
			if (e == tl && strncasecmp(s, token, tl) == 0)
				return true;
			s += l;
		}
	}
	return false;
}

static void
log_line(const struct conn *c, int status, const char *what)
{
	if (!log_file)
		return;
	fprintf(log_file, "conn=%llu req=%u %s %s %d %s\n",
	        (unsigned long long)c->id, c->nreq, c->rq.method,
	        c->rq.target ? c->rq.target : "-", status, what);
}

/* (Re)arms the connection's one timer to call CB after MS. */
static void
timer_set(struct conn *c, event_callback_fn cb, long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	event_del(c->timer);
	event_assign(c->timer, base, -1, 0, cb, c);
	evtimer_add(c->timer, &tv);
}

/* --- closing ------------------------------------------------------------ */

static void
conn_free(struct conn *c)
{
	if (c->busy) {
		c->dead = true;
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
		event_del(c->timer);
		return;
	}
	if (c->timer)
		event_free(c->timer);
	if (c->gen_sha)
		EVP_MD_CTX_free(c->gen_sha);
	request_reset(&c->rq);
	params_reset(&c->p);
	bufferevent_free(c->bev);
	if (c->prev)
		c->prev->next = c->next;
	else
		conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	stats.open--;
	free(c);
}

/* Closes once the output has been written. */
static void
close_after_flush(struct conn *c)
{
	c->st = ST_CLOSING;
	event_del(c->timer);
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		conn_free(c);
}

/* A reset: SO_LINGER 0, so close() sends RST, not FIN. */
static void
conn_reset(struct conn *c)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };
	evutil_socket_t fd = bufferevent_getfd(c->bev);
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	conn_free(c);
}

/* --- simple answers ----------------------------------------------------- */

static const char *
reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
	case 103: return "Early Hints";
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 426: return "Upgrade Required";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Status";
	}
}

static bool
status_has_body(int status)
{
	return status >= 200 && status != 204 && status != 304;
}

/* The status line and the headers every answer carries (no blank line). */
static void
put_head(struct conn *c, struct evbuffer *out, int status)
{
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nX-Upstream: %s\r\n",
	                    status, reason(status), opt.name);
	for (size_t i = 0; i < c->p.nextra; i++)
		evbuffer_add_printf(out, "%s\r\n", c->p.extra[i]);
	if (!c->rq.keepalive)
		evbuffer_add_printf(out, "Connection: close\r\n");
	else if (c->rq.minor == 0)
		evbuffer_add_printf(out, "Connection: keep-alive\r\n");
}

/* A whole answer with BODY (omitted for HEAD and bodiless statuses). */
static void
answer(struct conn *c, int status, const char *type, const char *body,
       size_t len)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	put_head(c, out, status);
	if (status_has_body(status)) {
		evbuffer_add_printf(out, "Content-Type: %s\r\n"
		                    "Content-Length: %zu\r\n", type, len);
	}
	evbuffer_add(out, "\r\n", 2);
	if (status_has_body(status) && strcmp(c->rq.method, "HEAD") != 0)
		evbuffer_add(out, body, len);
	log_line(c, status, "answer");
}

/* An error found while reading a request: answer it and close. */
static void
fail_request(struct conn *c, int status, const char *msg)
{
	c->rq.keepalive = false;
	c->p.nextra = 0;
	answer(c, status, "text/plain", msg, strlen(msg));
	close_after_flush(c);
}

/* --- request head ------------------------------------------------------- */

static bool
is_tchar(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || strchr("!#$%&'*+-.^_`|~", ch);
}

static bool
parse_u64(const char *s, int radix, uint64_t *v)
{
	char *end;
	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return false;
	errno = 0;
	unsigned long long x = strtoull(s, &end, radix);
	if (errno || *end)
		return false;
	*v = x;
	return true;
}

/* Parses the head in HEAD (NUL-terminated, without the blank line).
 * Returns 0, or the status to answer. */
static int
parse_head(struct request *r, char *head)
{
	char *line = head, *next = strstr(line, "\r\n");
	if (next)
		*next = '\0';
	char *sp1 = strchr(line, ' ');
	char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp1 || !sp2 || sp1 == line || (size_t)(sp1 - line) >= sizeof(r->method))
		return 400;
	for (char *m = line; m < sp1; m++)
		if (!is_tchar((unsigned char)*m))
			return 400;
	memcpy(r->method, line, sp1 - line);
	r->target = xstrndup(sp1 + 1, sp2 - sp1 - 1);
	if (!*r->target || strchr(r->target, ' '))
		return 400;
	if (strncmp(sp2 + 1, "HTTP/1.", 7) != 0 || !strchr("01", sp2[8]) ||
	    !sp2[8] || sp2[9])
		return 400;
	r->minor = sp2[8] - '0';

	for (line = next ? next + 2 : NULL; line && *line; line = next) {
		next = strstr(line, "\r\n");
		if (next) {
			*next = '\0';
			next += 2;
		}
		char *colon = strchr(line, ':');
		if (!colon || colon == line)
			return 400;
		for (char *n = line; n < colon; n++)
			if (!is_tchar((unsigned char)*n))
				return 400;
		char *v = colon + 1, *e = v + strlen(v);
		while (*v == ' ' || *v == '\t')
			v++;
		while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		add_header(&r->h, &r->nh, &r->caph, line, colon - line, v, e - v);
	}

	if (r->minor == 1)
		r->keepalive = !header_has_token(r, "Connection", "close");
	else
		r->keepalive = header_has_token(r, "Connection", "keep-alive");

	const char *te = header_get(r, "Transfer-Encoding");
	const char *cl = header_get(r, "Content-Length");
	if (te) {
		if (strcasecmp(te, "chunked") != 0)
			return 501;
		r->body = B_CHUNK_SIZE;
	} else if (cl) {
		if (!parse_u64(cl, 10, &r->left))
			return 400;
		r->body = r->left ? B_LENGTH : B_NONE;
	}
	r->sha = EVP_MD_CTX_new();
	if (!r->sha || !EVP_DigestInit_ex(r->sha, EVP_sha256(), NULL))
		die("EVP_DigestInit_ex failed");
	return 0;
}

/* Takes a whole head off the input. Returns 1 when one was read, 0 when
 * more bytes are needed, -1 when the connection was answered and closed. */
static int
read_head(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	/* Blank lines before a request are ignored (RFC 9112 2.2). */
	for (;;) {
		unsigned char *p = evbuffer_pullup(in, 2);
		if (p && p[0] == '\r' && p[1] == '\n')
			evbuffer_drain(in, 2);
		else
			break;
	}
	struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	if (end.pos < 0) {
		if (evbuffer_get_length(in) > MAX_HEAD) {
			fail_request(c, 431, "request head too large\n");
			return -1;
		}
		return 0;
	}
	if ((size_t)end.pos > MAX_HEAD) {
		fail_request(c, 431, "request head too large\n");
		return -1;
	}
	char *head = xrealloc(NULL, end.pos + 3);
	evbuffer_remove(in, head, (size_t)end.pos + 2);
	evbuffer_drain(in, 2);
	head[end.pos + 2] = '\0';
	c->nreq++;
	stats.requests++;
	int st = parse_head(&c->rq, head);
	free(head);
	if (st) {
		fail_request(c, st, "bad request\n");
		return -1;
	}
	return 1;
}

/* --- request body ------------------------------------------------------- */

/* Hashes and drops up to N bytes of input; returns how many. */
static size_t
consume_body(struct conn *c, size_t n)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	unsigned char buf[16384];
	size_t done = 0;
	while (done < n) {
		size_t want = n - done < sizeof(buf) ? n - done : sizeof(buf);
		int got = evbuffer_remove(in, buf, want);
		if (got <= 0)
			break;
		EVP_DigestUpdate(c->rq.sha, buf, got);
		done += got;
	}
	c->rq.body_len += done;
	return done;
}

/* Reads a CRLF-terminated line of the chunked framing; NULL until whole. */
static char *
read_line(struct conn *c, bool *too_long)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t len;
	char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF_STRICT);
	*too_long = !line && evbuffer_get_length(in) > MAX_HEAD;
	return line;
}

/* Advances the body reader. Returns 1 when the body is complete, 0 when
 * more input is needed, -1 when the request was refused and closed. */
static int
read_body(struct conn *c)
{
	struct request *r = &c->rq;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	bool too_long;
	char *line;

	for (;;) {
		switch (r->body) {
		case B_NONE:
			return 1;
		case B_LENGTH:
			r->left -= consume_body(c, r->left);
			if (r->left)
				return 0;
			r->body = B_NONE;
			break;
		case B_CHUNK_SIZE:
			if (!(line = read_line(c, &too_long)))
				goto need;
			line[strcspn(line, "; \t")] = '\0';
			if (!parse_u64(line, 16, &r->left)) {
				free(line);
				fail_request(c, 400, "bad chunk size\n");
				return -1;
			}
			free(line);
			r->body = r->left ? B_CHUNK_DATA : B_TRAILERS;
			break;
		case B_CHUNK_DATA:
			r->left -= consume_body(c, r->left);
			if (r->left)
				return 0;
			r->body = B_CHUNK_CRLF;
			break;
		case B_CHUNK_CRLF:
			if (evbuffer_get_length(in) < 2)
				return 0;
			{
				unsigned char *p = evbuffer_pullup(in, 2);
				if (p[0] != '\r' || p[1] != '\n') {
					fail_request(c, 400, "bad chunk end\n");
					return -1;
				}
			}
			evbuffer_drain(in, 2);
			r->body = B_CHUNK_SIZE;
			break;
		case B_TRAILERS:
			if (!(line = read_line(c, &too_long)))
				goto need;
			if (!*line) {
				free(line);
				r->body = B_NONE;
				break;
			}
			{
				char *colon = strchr(line, ':');
				char *v = colon ? colon + 1 : line;
				while (*v == ' ' || *v == '\t')
					v++;
				if (colon)
					add_header(&r->t, &r->nt, &r->capt, line,
					           colon - line, v, strlen(v));
			}
			free(line);
			break;
		}
	}
need:
	if (too_long) {
		fail_request(c, 400, "chunk line too long\n");
		return -1;
	}
	return 0;
}

/* --- query parameters --------------------------------------------------- */

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9') return ch - '0';
	if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
	return -1;
}

/* Percent- and plus-decodes S of length N into a new string. */
static char *
url_decode(const char *s, size_t n)
{
	char *d = xrealloc(NULL, n + 1), *o = d;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
		    hexval(s[i + 2]) >= 0) {
			*o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else {
			*o++ = s[i] == '+' ? ' ' : s[i];
		}
	}
	*o = '\0';
	return d;
}

static long
num(const char *v, long max)
{
	char *end;
	long x = strtol(v, &end, 10);
	if (*end || x < 0)
		return 0;
	return x > max ? max : x;
}

static void
parse_query(struct params *p, const char *q)
{
	p->bytes = -1;
	p->piece = 1024;
	while (q && *q) {
		size_t len = strcspn(q, "&");
		const char *eq = memchr(q, '=', len);
		size_t klen = eq ? (size_t)(eq - q) : len;
		char *k = url_decode(q, klen);
		char *v = eq ? url_decode(eq + 1, len - klen - 1) : xstrndup("", 0);
		if (!strcmp(k, "status"))
			p->status = (int)num(v, 999);
		else if (!strcmp(k, "delay_ms"))
			p->delay_ms = num(v, 3600000);
		else if (!strcmp(k, "reset"))
			p->reset = num(v, 1);
		else if (!strcmp(k, "reset_if"))
			p->reset = p->reset || !strcmp(v, opt.name);
		else if (!strcmp(k, "close_after"))
			p->close_after = num(v, LONG_MAX);
		else if (!strcmp(k, "bytes"))
			p->bytes = num(v, LONG_MAX);
		else if (!strcmp(k, "chunked"))
			p->chunked = num(v, 1);
		else if (!strcmp(k, "slow_ms"))
			p->slow_ms = num(v, 3600000);
		else if (!strcmp(k, "piece"))
			p->piece = num(v, PIECE_MAX);
		else if (!strcmp(k, "interim"))
			p->interim = (int)num(v, 199);
		else if (!strcmp(k, "drop_head"))
			p->drop_head = num(v, 1);
		else if (!strcmp(k, "hdr") && strchr(v, ':') &&
		         !strpbrk(v, "\r\n") && p->nextra < MAX_EXTRA_HDR) {
			p->extra[p->nextra++] = v;
			v = NULL;
		}
		free(k);
		free(v);
		q += len;
		if (*q == '&')
			q++;
	}
	if (p->piece < 1)
		p->piece = 1;
}

/* --- generated bodies --------------------------------------------------- */

static void
hex(const unsigned char *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void
finish_response(struct conn *c)
{
	if (c->gen_sha) {
		EVP_MD_CTX_free(c->gen_sha);
		c->gen_sha = NULL;
	}
	if (!c->rq.keepalive || c->eof) {
		close_after_flush(c);
		return;
	}
	request_reset(&c->rq);
	params_reset(&c->p);
	c->st = ST_HEAD;
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	bufferevent_enable(c->bev, EV_READ);
	/* Inside process(), its loop goes on to the next request. */
	if (!c->busy)
		process(c);
}

/* Appends up to N bytes of the body (one chunk when chunked). */
static void
gen_piece(struct conn *c, size_t n)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	if (n > c->gen_left)
		n = c->gen_left;
	if (n > PIECE_MAX)
		n = PIECE_MAX;
	const unsigned char *p = pattern + c->gen_off % 251;
	if (c->gen_chunked)
		evbuffer_add_printf(out, "%zx\r\n", n);
	evbuffer_add(out, p, n);
	if (c->gen_chunked)
		evbuffer_add(out, "\r\n", 2);
	EVP_DigestUpdate(c->gen_sha, p, n);
	stats.body_bytes += n;
	c->gen_off += n;
	c->gen_left -= n;
}

/* The end of a generated body: the last chunk and its trailer, or the
 * close of close_after. */
static void
gen_done(struct conn *c)
{
	if (c->gen_close) {
		close_after_flush(c);
		return;
	}
	if (c->gen_chunked) {
		unsigned char d[32];
		char hx[65];
		EVP_DigestFinal_ex(c->gen_sha, d, NULL);
		hex(d, 32, hx);
		evbuffer_add_printf(bufferevent_get_output(c->bev),
		                    "0\r\nX-Sum: %s\r\n\r\n", hx);
	}
	finish_response(c);
}

/* Tops the output up while it is small: the socket drains it, and the
 * write callback brings us back here. */
static void
gen_fill(struct conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	while (c->gen_left && evbuffer_get_length(out) < OUT_HIGH)
		gen_piece(c, PIECE_MAX);
	if (!c->gen_left)
		gen_done(c);
}

static void
slow_tick(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	(void)fd;
	(void)what;
	/* A reader slower than the pieces: wait for it. */
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) < OUT_HIGH)
		gen_piece(c, (size_t)c->p.piece);
	if (!c->gen_left) {
		gen_done(c);
		return;
	}
	timer_set(c, slow_tick, c->p.slow_ms);
}

/* Starts a body of N bytes after the head; CLOSE_AFTER >= 0 cuts it. */
static void
gen_start(struct conn *c, uint64_t n)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	bool head_only = strcmp(c->rq.method, "HEAD") == 0 ||
	                 !status_has_body(c->p.status);
	uint64_t declared = n;
	c->gen_chunked = false;
	c->gen_close = false;
	c->gen_off = 0;
	c->gen_left = n;
	if (c->p.close_after > 0) {
		c->gen_close = true;
		if ((uint64_t)c->p.close_after >= declared)
			declared = (uint64_t)c->p.close_after + 1000;
		c->gen_left = (uint64_t)c->p.close_after;
	}
	put_head(c, out, c->p.status);
	if (status_has_body(c->p.status)) {
		evbuffer_add_printf(out, "Content-Type: application/octet-stream\r\n");
		if (c->p.chunked && !c->gen_close) {
			c->gen_chunked = true;
			evbuffer_add_printf(out, "Transfer-Encoding: chunked\r\n"
			                    "Trailer: X-Sum\r\n");
		} else {
			evbuffer_add_printf(out, "Content-Length: %llu\r\n",
			                    (unsigned long long)declared);
		}
	}
	evbuffer_add(out, "\r\n", 2);
	log_line(c, c->p.status, "bytes");
	if (head_only) {
		c->gen_left = 0;
		c->gen_chunked = false;
		if (!c->gen_close) {
			finish_response(c);
			return;
		}
	}
	c->gen_sha = EVP_MD_CTX_new();
	if (!c->gen_sha || !EVP_DigestInit_ex(c->gen_sha, EVP_sha256(), NULL))
		die("EVP_DigestInit_ex failed");
	c->st = ST_SEND;
	if (c->p.slow_ms > 0) {
		slow_tick(-1, 0, c);
		return;
	}
	bufferevent_setwatermark(c->bev, EV_WRITE, OUT_LOW, 0);
	gen_fill(c);
}

/* --- the answers -------------------------------------------------------- */

static json_object *
header_list(const struct header *h, size_t n)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		json_object *pair = json_object_new_array();
		json_object_array_add(pair, json_object_new_string(h[i].name));
		json_object_array_add(pair, json_object_new_string(h[i].value));
		json_object_array_add(a, pair);
	}
	return a;
}

static void
answer_json(struct conn *c, int status, json_object *o)
{
	size_t len;
	const char *s = json_object_to_json_string_length(
	        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	char *body = xrealloc(NULL, len + 2);
	memcpy(body, s, len);
	body[len] = '\n';
	answer(c, status, "application/json", body, len + 1);
	free(body);
	json_object_put(o);
}

static void
answer_echo(struct conn *c)
{
	struct request *r = &c->rq;
	unsigned char d[32];
	char hx[65];
	EVP_DigestFinal_ex(r->sha, d, NULL);
	hex(d, 32, hx);
	const char *q = strchr(r->target, '?');
	size_t plen = q ? (size_t)(q - r->target) : strlen(r->target);

	json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(opt.name));
	json_object_object_add(o, "method", json_object_new_string(r->method));
	json_object_object_add(o, "target", json_object_new_string(r->target));
	json_object_object_add(o, "path",
	                       json_object_new_string_len(r->target, (int)plen));
	json_object_object_add(o, "query", json_object_new_string(q ? q + 1 : ""));
	json_object_object_add(o, "version",
	                       json_object_new_string(r->minor ? "HTTP/1.1" : "HTTP/1.0"));
	json_object_object_add(o, "headers", header_list(r->h, r->nh));
	json_object_object_add(o, "trailers", header_list(r->t, r->nt));
	json_object_object_add(o, "body_length", json_object_new_int64((int64_t)r->body_len));
	json_object_object_add(o, "body_sha256", json_object_new_string(hx));
	json_object_object_add(o, "connection", json_object_new_int64((int64_t)c->id));
	json_object_object_add(o, "request_on_connection", json_object_new_int64(c->nreq));
	answer_json(c, c->p.status, o);
}

static void
answer_stats(struct conn *c)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(opt.name));
	json_object_object_add(o, "connections_accepted",
	                       json_object_new_int64((int64_t)stats.accepted));
	json_object_object_add(o, "requests", json_object_new_int64((int64_t)stats.requests));
	json_object_object_add(o, "open_connections", json_object_new_int64((int64_t)stats.open));
	json_object_object_add(o, "body_bytes_sent",
	                       json_object_new_int64((int64_t)stats.body_bytes));
	json_object_object_add(o, "last_traceparent",
	                       json_object_new_string(last_traceparent));
	answer_json(c, 200, o);
}

/* Sec-WebSocket-Accept (RFC 6455 4.2.2), so real clients accept the 101. */
static void
ws_accept(const char *key, char out[64])
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dl = 0;
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_DigestInit_ex(m, EVP_sha1(), NULL);
	EVP_DigestUpdate(m, key, strlen(key));
	EVP_DigestUpdate(m, guid, sizeof(guid) - 1);
	EVP_DigestFinal_ex(m, d, &dl);
	EVP_MD_CTX_free(m);
	EVP_EncodeBlock((unsigned char *)out, d, (int)dl);
}

static void
answer_ws(struct conn *c)
{
	if (!header_has_token(&c->rq, "Upgrade", "websocket")) {
		answer(c, 426, "text/plain", "Upgrade: websocket expected\n", 28);
		finish_response(c);
		return;
	}
	struct evbuffer *out = bufferevent_get_output(c->bev);
	evbuffer_add_printf(out, "HTTP/1.1 101 Switching Protocols\r\n"
	                    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	                    "X-Upstream: %s\r\n", opt.name);
	const char *key = header_get(&c->rq, "Sec-WebSocket-Key");
	if (key) {
		char acc[64];
		ws_accept(key, acc);
		evbuffer_add_printf(out, "Sec-WebSocket-Accept: %s\r\n", acc);
	}
	evbuffer_add(out, "\r\n", 2);
	log_line(c, 101, "tunnel");
	c->st = ST_TUNNEL;
	/* Bytes that came with the head are the tunnel's first. */
	evbuffer_add_buffer(out, bufferevent_get_input(c->bev));
}

static bool
path_is(const struct request *r, const char *path)
{
	size_t n = strlen(path);
	return strncmp(r->target, path, n) == 0 &&
	       (r->target[n] == '\0' || r->target[n] == '?');
}

/* The head and body of the final answer, once any delay has passed. */
static void
respond(struct conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct request *r = &c->rq;
	if (c->p.interim >= 100 && c->p.interim != 101) {
		evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n", c->p.interim,
		                    reason(c->p.interim));
		if (c->p.interim == 103)
			evbuffer_add_printf(out, "Link: </style.css>; rel=preload; as=style\r\n");
		evbuffer_add(out, "\r\n", 2);
	}
	if (c->p.drop_head) {
		evbuffer_add_printf(out, "HTPT/1.1 2OO garbage\r\n\x01\x02\r\n\r\n");
		log_line(c, 0, "drop_head");
		close_after_flush(c);
		return;
	}
	if (path_is(r, "/ws")) {
		answer_ws(c);
		return;
	}
	if (path_is(r, "/stats")) {
		answer_stats(c);
	} else if (path_is(r, "/healthz")) {
		if (healthy)
			answer(c, 200, "text/plain", "ok\n", 3);
		else
			answer(c, 503, "text/plain", "failing\n", 8);
	} else if (path_is(r, "/health/fail") || path_is(r, "/health/ok")) {
		healthy = path_is(r, "/health/ok");
		answer(c, 200, "text/plain", healthy ? "ok\n" : "failing\n",
		       healthy ? 3 : 8);
	} else if (c->p.bytes >= 0 || c->p.close_after > 0 || c->p.slow_ms > 0) {
		gen_start(c, c->p.bytes >= 0 ? (uint64_t)c->p.bytes
		                             : (uint64_t)c->p.piece * 10);
		return;
	} else {
		answer_echo(c);
	}
	finish_response(c);
}

static void
delay_done(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	respond(arg);
}

static void
remember_traceparent(const struct request *r)
{
	last_traceparent[0] = '\0';
	for (size_t i = 0; i < r->nh; i++)
		if (!strcasecmp(r->h[i].name, "traceparent"))
			snprintf(last_traceparent, sizeof(last_traceparent),
			         "%s", r->h[i].value);
}

/* A whole request has been read: decide what it gets. */
static void
dispatch(struct conn *c)
{
	const char *q = strchr(c->rq.target, '?');
	if (!path_is(&c->rq, "/stats"))
		remember_traceparent(&c->rq);
	parse_query(&c->p, q ? q + 1 : NULL);
	if (c->p.status < 200)
		c->p.status = 200;
	if (c->p.reset) {
		log_line(c, 0, "reset");
		conn_reset(c);
		return;
	}
	if (c->p.delay_ms > 0) {
		c->st = ST_WAIT;
		timer_set(c, delay_done, c->p.delay_ms);
		return;
	}
	respond(c);
}

/* --- the connection's events -------------------------------------------- */

static void
idle_close(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	(void)fd;
	(void)what;
	if (log_file)
		fprintf(log_file, "conn=%llu idle close\n", (unsigned long long)c->id);
	conn_free(c);
}

static void
arm_idle(struct conn *c)
{
	if (opt.idle_close_ms > 0)
		timer_set(c, idle_close, opt.idle_close_ms);
}

/* Reads requests off the input as long as whole ones are there and
 * answers them in order (pipelining); returns when waiting for the
 * network or a timer. C may be gone when it returns. */
static void
process(struct conn *c)
{
	c->busy++;
	while (!c->dead) {
		if (c->st == ST_HEAD) {
			event_del(c->timer);
			if (evbuffer_get_length(bufferevent_get_input(c->bev)) == 0) {
				if (c->eof)
					conn_free(c);
				else
					arm_idle(c);
				break;
			}
			int h = read_head(c);
			if (h == 0 && c->eof)
				conn_free(c);
			if (h <= 0)
				break;
			c->st = ST_BODY;
			if (c->rq.body != B_NONE &&
			    header_has_token(&c->rq, "Expect", "100-continue"))
				evbuffer_add_printf(bufferevent_get_output(c->bev),
				                    "HTTP/1.1 100 Continue\r\n\r\n");
		}
		if (c->st != ST_BODY)
			break;
		int b = read_body(c);
		if (b == 0 && c->eof)
			conn_free(c);
		if (b <= 0)
			break;
		/* Answered at once: back in ST_HEAD for the next request;
		 * else it waits for a timer or the socket, or is closing. */
		c->st = ST_WAIT;
		dispatch(c);
	}
	if (--c->busy == 0 && c->dead) {
		c->dead = false;
		conn_free(c);
	}
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	if (c->st == ST_TUNNEL) {
		struct evbuffer *out = bufferevent_get_output(bev);
		evbuffer_add_buffer(out, bufferevent_get_input(bev));
		if (evbuffer_get_length(out) > OUT_HIGH) {
			bufferevent_disable(bev, EV_READ);
			bufferevent_setwatermark(bev, EV_WRITE, OUT_LOW, 0);
		}
		return;
	}
	if (c->st == ST_HEAD || c->st == ST_BODY)
		process(c);
}

static void
on_write(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	size_t left = evbuffer_get_length(bufferevent_get_output(bev));
	switch (c->st) {
	case ST_CLOSING:
		if (left == 0)
			conn_free(c);
		break;
	case ST_SEND:
		if (c->p.slow_ms <= 0)
			gen_fill(c);
		break;
	case ST_TUNNEL:
		if (left <= OUT_LOW) {
			if (c->eof) {
				close_after_flush(c);
				break;
			}
			bufferevent_enable(bev, EV_READ);
		}
		break;
	default:
		break;
	}
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	(void)bev;
	if (what & BEV_EVENT_ERROR) {
		conn_free(c);
		return;
	}
	if (!(what & BEV_EVENT_EOF))
		return;
	c->eof = true;
	switch (c->st) {
	case ST_HEAD:
	case ST_BODY:
		process(c);
		break;
	case ST_TUNNEL:
		close_after_flush(c);
		break;
	default:
		/* Half-closed after the request: answer, then close. */
		break;
	}
}

/* --- listening ----------------------------------------------------------- */

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
          int salen, void *arg)
{
	(void)l;
	(void)salen;
	(void)arg;
	struct conn *c = calloc(1, sizeof(*c));
	if (!c)
		die("out of memory");
	if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	if (ssl_ctx) {
		SSL *ssl = SSL_new(ssl_ctx);
		if (!ssl)
			die("SSL_new failed");
		c->bev = bufferevent_openssl_socket_new(base, fd, ssl,
		        BUFFEREVENT_SSL_ACCEPTING,
		        BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
		if (c->bev)
			bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	} else {
		c->bev = bufferevent_socket_new(base, fd,
		        BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	}
	c->timer = evtimer_new(base, idle_close, c);
	if (!c->bev || !c->timer)
		die("cannot set up a connection");
	c->next = conns;
	if (conns)
		conns->prev = c;
	conns = c;
	c->id = next_conn_id++;
	stats.accepted++;
	stats.open++;
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, READ_HIGH_WM);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	arm_idle(c);
}

static void
write_port_file(const char *text)
{
	char tmp[PATH_MAX];
	if (!opt.port_file)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", opt.port_file);
	FILE *f = fopen(tmp, "w");
	if (!f || fprintf(f, "%s\n", text) < 0 || fclose(f) != 0 ||
	    rename(tmp, opt.port_file) != 0)
		die("cannot write %s: %s", opt.port_file, strerror(errno));
}

/* An IPv4 HOST:PORT or [IPv6]:PORT literal (port 0 allowed). */
static bool
parse_address(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(text, ':');
	uint64_t port;
	if (!colon || (size_t)(colon - text) >= sizeof(host) ||
	    !parse_u64(colon + 1, 10, &port) || port > 65535)
		return false;
	memcpy(host, text, colon - text);
	host[colon - text] = '\0';
	memset(ss, 0, sizeof(*ss));
	size_t hl = strlen(host);
	if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		host[hl - 1] = '\0';
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
		return inet_pton(AF_INET6, host + 1, &s6->sin6_addr) == 1;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	*len = sizeof(*s4);
	return inet_pton(AF_INET, host, &s4->sin_addr) == 1;
}

/* Binds --listen; prints "listening ADDRESS" and writes the port (or the
 * socket's path) to --port-file. */
static evutil_socket_t
bind_listener(void)
{
	evutil_socket_t fd;
	char shown[PATH_MAX + 8], port_text[PATH_MAX];
	if (strncmp(opt.listen, "unix:", 5) == 0) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		const char *path = opt.listen + 5;
		if (strlen(path) >= sizeof(sun.sun_path))
			die("unix socket path too long: %s", path);
		strcpy(sun.sun_path, path);
		unlink(path);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
			die("cannot bind %s: %s", opt.listen, strerror(errno));
		snprintf(shown, sizeof(shown), "%s", opt.listen);
		snprintf(port_text, sizeof(port_text), "%s", path);
	} else {
		struct sockaddr_storage ss;
		socklen_t len;
		if (!parse_address(opt.listen, &ss, &len))
			die("bad --listen address: %s (HOST:PORT, [V6]:PORT "
			    "or unix:PATH)", opt.listen);
		fd = socket(ss.ss_family, SOCK_STREAM, 0);
		int one = 1;
		if (fd >= 0)
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) != 0)
			die("cannot bind %s: %s", opt.listen, strerror(errno));
		socklen_t sl = sizeof(ss);
		getsockname(fd, (struct sockaddr *)&ss, &sl);
		char host[INET6_ADDRSTRLEN];
		int port;
		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
			port = ntohs(s6->sin6_port);
			snprintf(shown, sizeof(shown), "[%s]:%d", host, port);
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
			port = ntohs(s4->sin_port);
			snprintf(shown, sizeof(shown), "%s:%d", host, port);
		}
		snprintf(port_text, sizeof(port_text), "%d", port);
	}
	if (listen(fd, 1024) != 0)
		die("listen: %s", strerror(errno));
	evutil_make_socket_nonblocking(fd);
	write_port_file(port_text);
	printf("listening %s\n", shown);
	fflush(stdout);
	return fd;
}

static void
setup_tls(void)
{
	if (!opt.tls_cert && !opt.tls_key)
		return;
	if (!opt.tls_cert || !opt.tls_key)
		die("--tls-cert and --tls-key go together");
	ssl_ctx = SSL_CTX_new(TLS_server_method());
	if (!ssl_ctx ||
	    SSL_CTX_use_certificate_chain_file(ssl_ctx, opt.tls_cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ssl_ctx, opt.tls_key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ssl_ctx) != 1) {
		ERR_print_errors_fp(stderr);
		die("cannot load %s and %s", opt.tls_cert, opt.tls_key);
	}
	SSL_CTX_set_mode(ssl_ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
	                          SSL_MODE_ENABLE_PARTIAL_WRITE);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	event_base_loopbreak(base);
}

static void
usage(void)
{
	fprintf(stderr, "usage: upstream --listen HOST:PORT|unix:PATH "
	        "[--port-file F] [--name N] [--idle-close-ms N] "
	        "[--tls-cert C --tls-key K] [--log F]\n");
	exit(64);
}

static void
parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (i + 1 >= argc)
			usage();
		const char *v = argv[++i];
		if (!strcmp(a, "--listen")) opt.listen = v;
		else if (!strcmp(a, "--port-file")) opt.port_file = v;
		else if (!strcmp(a, "--name")) opt.name = v;
		else if (!strcmp(a, "--idle-close-ms")) opt.idle_close_ms = atol(v);
		else if (!strcmp(a, "--tls-cert")) opt.tls_cert = v;
		else if (!strcmp(a, "--tls-key")) opt.tls_key = v;
		else if (!strcmp(a, "--log")) opt.log_path = v;
		else usage();
	}
	if (!opt.listen)
		usage();
}

int
main(int argc, char **argv)
{
	parse_args(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (unsigned char)(i % 251);
	if (opt.log_path) {
		log_file = fopen(opt.log_path, "a");
		if (!log_file)
			die("cannot open %s: %s", opt.log_path, strerror(errno));
		setvbuf(log_file, NULL, _IOLBF, 0);
	}
	setup_tls();
	base = event_base_new();
	if (!base)
		die("event_base_new failed");
	evutil_socket_t fd = bind_listener();
	struct evconnlistener *l = evconnlistener_new(base, on_accept, NULL,
	        LEV_OPT_CLOSE_ON_FREE, -1, fd);
	struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, NULL);
	struct event *sigint = evsignal_new(base, SIGINT, on_signal, NULL);
	if (!l || !sigterm || !sigint)
		die("cannot set up the listener");
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);
	event_base_dispatch(base);
	while (conns)
		conn_free(conns);
	evconnlistener_free(l);
	event_free(sigterm);
	event_free(sigint);
	event_base_free(base);
	if (ssl_ctx)
		SSL_CTX_free(ssl_ctx);
	if (log_file)
		fclose(log_file);
	if (strncmp(opt.listen, "unix:", 5) == 0)
		unlink(opt.listen + 5);
	return 0;
}
