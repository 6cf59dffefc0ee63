/*
 * response.c - the response: the handler's header fields, the status line
 * and header section, and respond() with a body in memory, in an
 * evbuffer or in a file (body_file.c); the response accessors of
 * server.h.
 */
#include "http/server_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Body chains of an evbuffer sent straight away; more are queued. */
#define MAX_BODY_IOV        8

/* --- the response ------------------------------------------------------ */

int
field_name_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s >= 0x7f || *s == ':')
			return 0;
	return 1;
}

int
field_value_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < ' ' && *s != '\t')
			return 0;
	return 1;
}

/*
 * See server.h. The server owns the framing: Content-Length,
 * Transfer-Encoding and Date are ignored, and "Connection: close" only
 * makes the connection close after the response. A name or value that
 * would break the header section (CR, LF, controls) is dropped, so a
 * handler echoing input cannot split a response.
 */
void
http_add_header(struct http_exchange *ex, const char *name,
                const char *value)
{
	size_t nlen;

	if (ex->responded || !field_name_ok(name) || !field_value_ok(value))
		return;
	nlen = strlen(name);
	if ((nlen == 14 && strcasecmp(name, "Content-Length") == 0) ||
	    (nlen == 17 && strcasecmp(name, "Transfer-Encoding") == 0) ||
	    (nlen == 4 && strcasecmp(name, "Date") == 0))
		return;
	if (nlen == 10 && strcasecmp(name, "Connection") == 0) {
		if (strcasestr(value, "close") != NULL)
			ex->close = 1;
		return;
	}
	field_line_add(&ex->rhdr, &ex->rhdr_len, &ex->rhdr_cap, name, nlen,
	               value);
}

/* See server_int.h. */
int
field_line_add(char **lines, size_t *len, size_t *cap, const char *name,
               size_t nlen, const char *value)
{
	size_t vlen = strlen(value), need = *len + nlen + vlen + 4;
	char *p;

	if (need > *cap) {
		size_t c = *cap < 128 ? 128 : *cap;

		while (c < need)
			c *= 2;
		if ((p = realloc(*lines, c)) == NULL)
			return -1;
		*lines = p;
		*cap = c;
	}
	p = *lines + *len;
	p = put_str(p, name, nlen);
	p = PUT_LIT(p, ": ");
	p = put_str(p, value, vlen);
	p = PUT_LIT(p, "\r\n");
	*len = need;
	return 0;
}

/*
 * Builds the status line and header section as up to three pieces: the
 * fixed start (in pre), the handler's fields (in place), the framing (in
 * post). Returns the number of iovecs filled. A 101 names the upgrade
 * in Connection (the handler's Connection field is never sent).
 */
size_t
response_head(struct http_exchange *ex, char *pre, char *post,
              struct iovec *iov, enum head_framing framing, uint64_t len)
{
	struct http_server *s = ex->conn->server;
	const char *reason = http_reason(ex->status), *date;
	size_t n = 0, ndate;
	char *p;

	p = PUT_LIT(pre, "HTTP/1.1 ");
	p = put_uint(p, (uint64_t)ex->status);
	*p++ = ' ';
	p = put_str(p, reason, strlen(reason));
	p = PUT_LIT(p, "\r\n");
	date = server_date(s, &ndate);
	p = put_str(p, date, ndate);
	iov[n].iov_base = pre;
	iov[n++].iov_len = (size_t)(p - pre);
	if (ex->rhdr_len > 0) {
		iov[n].iov_base = ex->rhdr;
		iov[n++].iov_len = ex->rhdr_len;
	}
	p = post;
	if (framing == FRAME_LENGTH) {
		p = PUT_LIT(p, "Content-Length: ");
		p = put_uint(p, len);
		p = PUT_LIT(p, "\r\n");
	} else if (framing == FRAME_CHUNKED) {
		p = PUT_LIT(p, "Transfer-Encoding: chunked\r\n");
	}
	if (ex->status == 101)
		p = PUT_LIT(p, "Connection: Upgrade\r\n");
	else if (ex->close)
		p = PUT_LIT(p, "Connection: close\r\n");
	else if (ex->req.minor == 0)
		p = PUT_LIT(p, "Connection: keep-alive\r\n");
	p = PUT_LIT(p, "\r\n");
	iov[n].iov_base = post;
	iov[n++].iov_len = (size_t)(p - post);
	return n;
}

/*
 * Sends head and body: a body in an evbuffer goes out from its chains
 * when there are few, else it is moved behind the head into the output.
 */
static int
send_response(struct http_conn *c, struct iovec *iov, size_t n,
              const void *body, size_t len, struct evbuffer *bodybuf)
{
	struct evbuffer_iovec vec[MAX_BODY_IOV];
	size_t peeked = 0;
	int chains, i, sent;

	if (len == 0)
		return conn_send(c, iov, n);
	if (bodybuf == NULL) {
		iov[n].iov_base = (void *)body;
		iov[n++].iov_len = len;
		return conn_send(c, iov, n);
	}
	/* With len -1, evbuffer_peek() stops counting at MAX_BODY_IOV:
	 * the bytes tell whether the chains it filled are all of them. */
	chains = evbuffer_peek(bodybuf, -1, NULL, vec, MAX_BODY_IOV);
	for (i = 0; i < chains && i < MAX_BODY_IOV; i++)
		peeked += vec[i].iov_len;
	if (peeked == len) {
		for (i = 0; i < chains; i++) {
			iov[n].iov_base = vec[i].iov_base;
			iov[n++].iov_len = vec[i].iov_len;
		}
		sent = conn_send(c, iov, n);
		evbuffer_drain(bodybuf, len);
		return sent;
	}
	if ((conn_send(c, iov, n) == 0 && c->broken) || conn_out(c) == NULL ||
	    evbuffer_add_buffer(c->out, bodybuf) == -1) {
		evbuffer_drain(bodybuf, len);
		c->broken = 1;
		conn_soon(c);
		return 0;
	}
	conn_want_write(c);
	return 0;
}

/* The body is body, or bodybuf, or len bytes of fd from off (fd -1:
 * none), which is closed in every case. */
static void
respond(struct http_exchange *ex, int status, const void *body, size_t len,
        struct evbuffer *bodybuf, int fd, off_t off)
{
	struct http_conn *c = ex->conn;
	struct iovec iov[3 + MAX_BODY_IOV];
	char pre[HEAD_PRE], post[HEAD_POST];
	int with_body;
	size_t n;

	/* The handler's answer after the server's 504: dropped, and the
	 * exchange is the handler's no more. */
	if (ex->timed_out) {
		if (bodybuf != NULL)
			evbuffer_drain(bodybuf, len);
		if (ex->held) {
			ex->held = 0;
			if (c == NULL)
				exchange_orphan_finish(ex);
		}
		return;
	}
	/* Once per exchange, and only while the handler holds it. */
	if (ex->responded || (c != NULL && c->state != CONN_HANDLING)) {
		if (fd != -1)
			close(fd);
		return;
	}
	if (status < 200 || status > 599)
		status = 500;
	ex->responded = 1;
	ex->status = status;
	ex->held = 0;
	/* Answered before the streamed body was all read. */
	if (body_pending(ex))
		body_drop(ex);
	if (c == NULL) {
		if (bodybuf != NULL)
			evbuffer_drain(bodybuf, len);
		if (fd != -1)
			close(fd);
		exchange_orphan_finish(ex);
		return;
	}
	if (c->server->draining)
		ex->close = 1;
	/* The handler deadline is over; writing may set its own. */
	conn_deadline(c, 0);
	/* RFC 9110 §6.4.1: 204 and 304 have no content and 204 has no
	 * Content-Length; neither needs one to be framed. */
	with_body = status != 204 && status != 304;
	if (body == NULL && bodybuf == NULL && fd == -1 && !ex->head)
		len = 0;
	n = response_head(ex, pre, post, iov,
	                  with_body ? FRAME_LENGTH : FRAME_NONE, len);
	c->state = CONN_WRITING;
	if (!with_body || ex->head) {
		if (bodybuf != NULL)
			evbuffer_drain(bodybuf, len);
		if (fd != -1)
			close(fd);
		c->written = conn_send(c, iov, n);
	} else if (fd != -1) {
		ex->bytes_sent = len;
		c->written = file_send_response(c, iov, n, fd, off, len);
	} else {
		ex->bytes_sent = len;
		c->written = send_response(c, iov, n, body, len, bodybuf);
	}
	if (c->written && !c->in_process)
		conn_soon(c);
}

/* See server.h. A status outside 200-599 is sent as 500. For HEAD, body
 * may be NULL with len the length to announce. */
void
http_respond(struct http_exchange *ex, int status, const void *body,
             size_t len)
{
	respond(ex, status, body, len, NULL, -1, 0);
}

/* See server.h. The chains of body are moved, not copied. */
void
http_respond_buffer(struct http_exchange *ex, int status,
                    struct evbuffer *body)
{
	respond(ex, status, NULL, evbuffer_get_length(body), body, -1, 0);
}

/*
 * See server.h. The body goes out as body_file.c describes: sendfile()
 * on plain connections, chunks read by the reader threads on TLS ones.
 */
void
http_respond_file(struct http_exchange *ex, int status, int fd,
                  uint64_t offset, uint64_t length)
{
	if (length > SIZE_MAX || offset > (uint64_t)INT64_MAX - length) {
		close(fd);
		respond(ex, 500, NULL, 0, NULL, -1, 0);
		return;
	}
	respond(ex, status, NULL, (size_t)length, NULL, fd, (off_t)offset);
}

/* See server.h. */
int
http_status(const struct http_exchange *ex)
{
	return ex->status;
}

/* See server.h. */
int
http_timed_out(const struct http_exchange *ex)
{
	return ex->timed_out;
}

/* See server.h: queued body bytes (0 for HEAD, 204, 304). */
size_t
http_bytes_sent(const struct http_exchange *ex)
{
	return ex->bytes_sent;
}

/* See server.h. */
uint64_t
http_started_us(const struct http_exchange *ex)
{
	return ex->started_us;
}

/* See server.h. Also for the server's own error responses. */
void
http_on_complete(struct http_exchange *ex,
                 void (*done)(struct http_exchange *ex, void *arg),
                 void *arg)
{
	ex->done = done;
	ex->done_arg = arg;
}

/* See server.h; "Unknown" for a status without a standard phrase. */
const char *
http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
	case 102: return "Processing";
	case 103: return "Early Hints";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 203: return "Non-Authoritative Information";
	case 204: return "No Content";
	case 205: return "Reset Content";
	case 206: return "Partial Content";
	case 300: return "Multiple Choices";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 407: return "Proxy Authentication Required";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 416: return "Range Not Satisfiable";
	case 417: return "Expectation Failed";
	case 421: return "Misdirected Request";
	case 422: return "Unprocessable Content";
	case 425: return "Too Early";
	case 426: return "Upgrade Required";
	case 428: return "Precondition Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}
