/*
 * static.c - handler: {static: {root, index}}: files below a directory.
 * An HTTP matter only (like a proxy), so it lives with the server and the
 * runtime hands it the route's root and the rest of the path.
 *
 * The file is found by walking down from root with openat(), one path
 * component at a time and each with O_NOFOLLOW, so neither a ".." (which
 * the server's normaliser should have removed already) nor a symbolic
 * link anywhere below root leads out of it. root itself is the operator's
 * choice and may be a link.
 *
 * The file is opened and checked here (open and fstat: metadata the
 * kernel caches) and handed to the server, which streams it
 * (http_respond_file()): sendfile() on plain connections, chunks from
 * the page cache or from reader threads for TLS ones, so no file is read
 * into memory whole, none is read by the loop where that could wait for
 * the disk, and there is no limit on its size. Nothing is mapped: deploys rewrite files
 * in place, and a file truncated while mapped would kill the daemon with
 * SIGBUS; one truncated while it is sent cuts that connection short.
 *
 * Validators are the usual ones: a weak ETag from size and modification
 * time, Last-Modified, and If-None-Match / If-Modified-Since answered with
 * 304 (RFC 9110 §13). A single byte range is served as 206; several, as
 * the whole file (RFC 9110 §14.2 lets a server ignore Range).
 */
#include "http/static.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "http/parse.h"
#include "http/problem.h"
#include "http/server.h"

#define STATIC_DEFAULT_INDEX "index.html"

/* What a walk found: an open regular file and the name that types it. */
struct found {
	int fd;
	struct stat st;
	const char *name;           /* its last component, for the type */
};

/* --- finding the file ----------------------------------------------------- */

/* O_NONBLOCK: opening a FIFO someone left below root must not hang the
 * loop; it is refused below as not a regular file anyway. */
#define OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW)

/*
 * Opens the next component below dirfd, which it closes: the raw path
 * segment [s, s + len), percent-decoded once. dir: the component must be
 * a directory. Returns the new fd or -1.
 *
 * A segment that decodes to something holding '/' ("a%2Fb") names no
 * file: it is not split again into "a" and "b", which would reach another
 * file than the one the segments name, but refused as not found, like
 * the NUL byte the server has refused already and "." and ".." that it
 * has resolved.
 */
static int
step(int dirfd, const char *s, size_t len, int dir)
{
	char name[3 * NAME_MAX + 1];
	size_t n;
	int fd, saved;

	n = len < sizeof(name) ? http_segment_decode(name, s, len) : len;
	if (n > NAME_MAX) {
		close(dirfd);
		errno = ENAMETOOLONG;
		return -1;
	}
	if (memchr(name, '/', n) != NULL || memchr(name, '\0', n) != NULL ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		close(dirfd);
		errno = ENOENT;
		return -1;
	}
	fd = openat(dirfd, name, OPEN_FLAGS | (dir ? O_DIRECTORY : 0));
	saved = errno;
	close(dirfd);
	errno = saved;
	return fd;
}

/* The regular file at fd, or the index file if fd is a directory. */
static int
settle(struct found *f, const char *index)
{
	int fd;

	if (fstat(f->fd, &f->st) < 0)
		return -1;
	if (S_ISDIR(f->st.st_mode)) {
		fd = openat(f->fd, index, OPEN_FLAGS);
		close(f->fd);
		f->fd = fd;
		f->name = index;
		if (fd < 0 || fstat(fd, &f->st) < 0)
			return -1;      /* the caller closes f->fd */
	}
	if (!S_ISREG(f->st.st_mode)) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

/*
 * Opens root + rel ("" or "/a/b%20c", the raw rest of the path below the
 * route's mount point), per the file comment. Returns 0 with
 * f filled, or -1 with errno set (f->fd closed).
 */
static int
open_below(const char *root, const char *rel, const char *index,
           struct found *f)
{
	const char *s = rel, *e;

	f->name = root;
	f->fd = open(root, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	while (f->fd >= 0) {
		while (*s == '/')
			s++;
		if (*s == '\0')
			break;
		for (e = s; *e != '\0' && *e != '/'; e++)
			;
		f->name = s;
		f->fd = step(f->fd, s, (size_t)(e - s), *e == '/');
		s = e;
	}
	if (f->fd < 0)
		return -1;
	if (settle(f, index) < 0) {
		int saved = errno;

		if (f->fd >= 0)
			close(f->fd);
		f->fd = -1;
		errno = saved;
		return -1;
	}
	return 0;
}

/* --- content types ------------------------------------------------------ */

static const struct {
	const char *ext;
	const char *type;
} content_types[] = {
	{"html", "text/html; charset=utf-8"},
	{"htm", "text/html; charset=utf-8"},
	{"css", "text/css; charset=utf-8"},
	{"js", "text/javascript; charset=utf-8"},
	{"mjs", "text/javascript; charset=utf-8"},
	{"json", "application/json"},
	{"svg", "image/svg+xml"},
	{"png", "image/png"},
	{"jpg", "image/jpeg"},
	{"jpeg", "image/jpeg"},
	{"gif", "image/gif"},
	{"webp", "image/webp"},
	{"txt", "text/plain; charset=utf-8"},
	{"wasm", "application/wasm"},
	{"ico", "image/x-icon"},
	{"woff2", "font/woff2"},
	{"pdf", "application/pdf"},
	{"xml", "application/xml"},
};

static const char *
content_type(const char *name)
{
	const char *slash = strrchr(name, '/'), *dot;
	size_t i;

	dot = strrchr(slash != NULL ? slash : name, '.');
	if (dot != NULL)
		for (i = 0; i < sizeof(content_types) /
		     sizeof(content_types[0]); i++)
			if (strcasecmp(dot + 1, content_types[i].ext) == 0)
				return content_types[i].type;
	return "application/octet-stream";
}

/* --- validators ----------------------------------------------------------- */

static const char *const day_names[] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const month_names[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
	"Nov", "Dec"};

/* IMF-fixdate, by hand: strftime's names follow the locale. */
static void
http_date(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, len, "%s, %02d %s %04d %02d:%02d:%02d GMT",
	         day_names[tm.tm_wday % 7], tm.tm_mday,
	         month_names[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour,
	         tm.tm_min, tm.tm_sec);
}

static int
month_index(const char *m)
{
	int i;

	for (i = 0; i < 12; i++)
		if (strcmp(m, month_names[i]) == 0)
			return i;
	return -1;
}

/* The three HTTP-date forms (RFC 9110 §5.6.7); -1 when s is none. */
static time_t
parse_http_date(const char *s)
{
	struct tm tm;
	char mon[4];
	int end = 0;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%*3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d GMT%n",
	           &tm.tm_mday, mon, &tm.tm_year, &tm.tm_hour, &tm.tm_min,
	           &tm.tm_sec, &end) == 6 && end > 0) {
		tm.tm_year -= 1900;
	} else if (sscanf(s, "%*[A-Za-z], %2d-%3[A-Za-z]-%2d %2d:%2d:%2d "
	                  "GMT%n", &tm.tm_mday, mon, &tm.tm_year,
	                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &end) == 6 &&
	           end > 0) {
		if (tm.tm_year < 70)
			tm.tm_year += 100;
	} else if (sscanf(s, "%*3[A-Za-z] %3[A-Za-z] %2d %2d:%2d:%2d %4d%n",
	                  mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
	                  &tm.tm_sec, &tm.tm_year, &end) == 6 && end > 0) {
		tm.tm_year -= 1900;
	} else {
		return -1;
	}
	mon[3] = '\0';
	if ((tm.tm_mon = month_index(mon)) < 0)
		return -1;
	return timegm(&tm);
}

/* The opaque part of an entity tag: without W/, quotes included. */
static const char *
opaque_tag(const char *s, size_t *len)
{
	const char *end;

	if (strncmp(s, "W/", 2) == 0)
		s += 2;
	if (*s != '"' || (end = strchr(s + 1, '"')) == NULL)
		return NULL;
	*len = (size_t)(end - s) + 1;
	return s;
}

/* If-None-Match: does the list name our tag (weak comparison) or "*"? */
static int
none_match_hits(const char *list, const char *etag)
{
	size_t mine_len, len;
	const char *mine = opaque_tag(etag, &mine_len);
	const char *s = list, *tag;

	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		if (*s == '\0')
			return 0;
		if (*s == '*')
			return 1;
		tag = opaque_tag(s, &len);
		if (tag == NULL)
			return 0;
		if (len == mine_len && memcmp(tag, mine, len) == 0)
			return 1;
		s = tag + len;
	}
}

static int
not_modified(struct http_exchange *ex, const char *etag,
             const struct stat *st)
{
	const char *inm = http_header(ex, "If-None-Match");
	const char *ims;
	time_t since;

	if (inm != NULL)
		return none_match_hits(inm, etag);
	ims = http_header(ex, "If-Modified-Since");
	if (ims == NULL || (since = parse_http_date(ims)) == (time_t)-1)
		return 0;
	return st->st_mtime <= since;
}

/* --- ranges -------------------------------------------------------------- */

enum range_result {
	RANGE_NONE,                 /* serve the whole file */
	RANGE_PART,
	RANGE_UNSATISFIABLE,
};

/* Decimal digits at *s, saturating; -1 when there are none. */
static long long
digits(const char **s)
{
	long long v = 0;
	const char *p = *s;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++)
		v = v > (LLONG_MAX - 9) / 10 ? LLONG_MAX : v * 10 + (*p - '0');
	*s = p;
	return v;
}

/* Range: bytes=a-b | a- | -n, one range only (RFC 9110 §14.1.2). */
static enum range_result
parse_range(const char *h, long long size, long long *first,
            long long *last)
{
	const char *s = h;
	long long a, b;

	if (strncasecmp(s, "bytes=", 6) != 0 || strchr(s, ',') != NULL)
		return RANGE_NONE;
	s += 6;
	while (*s == ' ')
		s++;
	if (*s == '-') {
		s++;
		if ((b = digits(&s)) < 0 || *s != '\0')
			return RANGE_NONE;
		if (b == 0 || size == 0)
			return RANGE_UNSATISFIABLE;
		*first = b >= size ? 0 : size - b;
		*last = size - 1;
		return RANGE_PART;
	}
	if ((a = digits(&s)) < 0 || *s++ != '-')
		return RANGE_NONE;
	b = *s == '\0' ? LLONG_MAX : digits(&s);
	if (b < a || *s != '\0')
		return RANGE_NONE;
	if (a >= size)
		return RANGE_UNSATISFIABLE;
	*first = a;
	*last = b >= size ? size - 1 : b;
	return RANGE_PART;
}

/*
 * If-Range: ranges only while the representation is the one the client
 * holds. Entity tags need the strong comparison and ours are weak, so
 * only a date equal to Last-Modified keeps the range.
 */
static int
if_range_holds(struct http_exchange *ex, const struct stat *st)
{
	const char *h = http_header(ex, "If-Range");

	return h == NULL || parse_http_date(h) == st->st_mtime;
}

/* --- answering ------------------------------------------------------------- */

/* Answers with f, whose fd it takes. */
static void
serve(struct http_exchange *ex, const char *request_id, struct found *f)
{
	long long size = (long long)f->st.st_size, first = 0, last = size - 1;
	const char *range = http_header(ex, "Range");
	char etag[64], date[40], crange[80];
	enum range_result rr = RANGE_NONE;

	snprintf(etag, sizeof(etag), "W/\"%llx-%llx.%lx\"",
	         (unsigned long long)size,
	         (unsigned long long)f->st.st_mtim.tv_sec,
	         (unsigned long)f->st.st_mtim.tv_nsec);
	http_date(f->st.st_mtime, date, sizeof(date));
	http_add_header(ex, "ETag", etag);
	http_add_header(ex, "Last-Modified", date);
	if (not_modified(ex, etag, &f->st)) {
		close(f->fd);
		http_respond(ex, 304, NULL, 0);
		return;
	}
	http_add_header(ex, "Accept-Ranges", "bytes");
	/* Range means nothing to HEAD (RFC 9110 §14.2). */
	if (range != NULL && strcmp(http_method(ex), "GET") == 0 &&
	    if_range_holds(ex, &f->st))
		rr = parse_range(range, size, &first, &last);
	if (rr == RANGE_UNSATISFIABLE) {
		snprintf(crange, sizeof(crange), "bytes */%lld", size);
		http_add_header(ex, "Content-Range", crange);
		close(f->fd);
		problem_send(ex, 416, "bad-request", "the range lies beyond "
		             "the end of the file", request_id);
		return;
	}
	http_add_header(ex, "Content-Type", content_type(f->name));
	http_add_header(ex, "X-Content-Type-Options", "nosniff");
	if (rr == RANGE_PART) {
		snprintf(crange, sizeof(crange), "bytes %lld-%lld/%lld", first,
		         last, size);
		http_add_header(ex, "Content-Range", crange);
	}
	/* HEAD: the server announces the length and sends no body. */
	http_respond_file(ex, rr == RANGE_PART ? 206 : 200, f->fd,
	                  (uint64_t)first, (uint64_t)(last - first + 1));
}

/* See static.h. */
void
http_serve_static(struct http_exchange *ex, const char *root,
                  const char *index, const char *rel, const char *request_id)
{
	const char *method = http_method(ex);
	struct found f;

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		http_add_header(ex, "Allow", "GET, HEAD, OPTIONS");
		problem_send(ex, 405, "method-not-allowed", "static files "
		             "answer GET and HEAD only", request_id);
		return;
	}
	if (open_below(root, rel != NULL ? rel : "", index != NULL ? index :
	               STATIC_DEFAULT_INDEX, &f) < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOMEM ||
		    errno == EIO)
			problem_send(ex, 500, "internal", "the file could not "
			             "be opened", request_id);
		else
			problem_send(ex, 404, "not-found", "no such file",
			             request_id);
		return;
	}
	serve(ex, request_id, &f);
}
