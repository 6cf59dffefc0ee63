/*
 * test_static.c - static files stream (issue 9, item 6): no size limit,
 * and the memory of asterd bounded whatever the size and the number of
 * downloads.
 *
 * Each test writes a product into a fresh directory: a plain listener
 * and a TLS one (a self-signed P-256 certificate made here), both public,
 * with a static route /t/files over static/, where the test puts a sparse
 * 1 GiB file with markers at known offsets (big.bin), a 64 MiB file of a
 * known pattern (mid.bin) and a small one. Downloads run on threads (for
 * the concurrent ones) with blocking sockets and socket timeouts; they
 * only record what they saw, and the test asserts after joining them.
 * The TLS ones start from files dropped from the page cache, so that
 * asterd's reader threads read them, not only the loop's cached reads.
 *
 * Memory is asterd's resident set from /proc/PID/status: VmRSS sampled
 * while downloads run, and VmHWM, the peak, after its reset through
 * /proc/PID/clear_refs before them, so that no spike between two samples
 * goes unseen. Under AddressSanitizer or valgrind the daemon's resident
 * set is the tool's more than asterd's (shadow memory, quarantine), so
 * there the absolute 64 MiB bound becomes a bound on growth, and the
 * test says so on stderr; under valgrind, whose translations of code run
 * for the first time grow it too, the slow reader's growth is printed,
 * not checked.
 */
#include "integ.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define GIB             (1024LL * 1024 * 1024)
#define MIB             (1024LL * 1024)
#define BIG_LEN         GIB
#define MID_LEN         (64 * MIB)
#define SMALL_LEN       1000
#define NCONCURRENT     100
/* Every SAMPLE_STEP-th byte of mid.bin is checked (a prime: no chunk
 * size of the server's is a multiple of it). */
#define SAMPLE_STEP     4093

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

/* Markers of big.bin: text at known offsets, zeros elsewhere. */
static const struct {
	long long off;
	const char *text;
} markers[] = {
	{0, "first bytes of the sparse file"},
	{4095, "across a page boundary"},
	{64 * MIB - 7, "across a 64 MiB boundary"},
	{512 * MIB, "in the middle"},
	{BIG_LEN - 13, "last 13 bytes"},
};

struct prod {
	char *dir;
	struct aster_test *t;
	pid_t pid;
	const char *plain;          /* addresses as printed */
	const char *tls;
	SSL_CTX *client;
};

static unsigned char
mid_byte(long long i)
{
	return (unsigned char)(((uint32_t)i * 2654435761u) >> 13);
}

/* --- certificates ------------------------------------------------------ */

static void
write_pem(const char *dir, const char *name, X509 *x, EVP_PKEY *k)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	ck_assert(x != NULL ? PEM_write_X509(f, x) == 1 :
	          PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1);
	fclose(f);
}

static void
make_cert(const char *dir)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name;

	ck_assert(k != NULL && x != NULL);
	ck_assert(X509_set_version(x, 2) == 1);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)time(NULL));
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	ck_assert(X509_set_pubkey(x, k) == 1);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	                           (const unsigned char *)"static", -1, -1, 0);
	ck_assert(X509_set_issuer_name(x, name) == 1);
	ck_assert(X509_sign(x, k, EVP_sha256()) > 0);
	write_pem(dir, "server.crt", x, NULL);
	write_pem(dir, "server.key", NULL, k);
	X509_free(x);
	EVP_PKEY_free(k);
}

/* --- the product --------------------------------------------------------- */

static void
write_files(const char *dir)
{
	char path[PATH_MAX];
	unsigned char *buf = malloc(MIB);
	long long off;
	size_t i;
	int fd;

	ck_assert(buf != NULL);
	snprintf(path, sizeof(path), "%s/static", dir);
	ck_assert(mkdir(path, 0755) == 0);
	snprintf(path, sizeof(path), "%s/static/big.bin", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	ck_assert(ftruncate(fd, BIG_LEN) == 0);
	for (i = 0; i < sizeof(markers) / sizeof(markers[0]); i++)
		ck_assert(pwrite(fd, markers[i].text, strlen(markers[i].text),
		                 markers[i].off) ==
		          (ssize_t)strlen(markers[i].text));
	close(fd);
	snprintf(path, sizeof(path), "%s/static/mid.bin", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	for (off = 0; off < MID_LEN; off += MIB) {
		for (i = 0; i < MIB; i++)
			buf[i] = mid_byte(off + (long long)i);
		ck_assert(write(fd, buf, MIB) == MIB);
	}
	close(fd);
	for (i = 0; i < SMALL_LEN; i++)
		buf[i] = mid_byte((long long)i);
	ck_assert(aster_test_write_file(dir, "static/small.bin",
	                                (const char *)buf, SMALL_LEN) == 0);
	free(buf);
}

/*
 * Under AddressSanitizer, memory freed is kept in quarantine (256 MiB
 * by default) instead of being reused, so every chunk copied for a TLS
 * connection would show as growth: asterd runs without quarantine here.
 */
static const char *const *
asan_env(void)
{
	static char opt[512];
	static const char *env[2];
	const char *cur = getenv("ASAN_OPTIONS");

	if (!UNDER_ASAN)
		return NULL;
	snprintf(opt, sizeof(opt), "ASAN_OPTIONS=%s%squarantine_size_mb=0",
	         cur != NULL ? cur : "", cur != NULL && *cur != '\0' ? ":" :
	         "");
	env[0] = opt;
	env[1] = NULL;
	return env;
}

static void
prod_start(struct prod *p)
{
	memset(p, 0, sizeof(*p));
	p->dir = integ_tempdir();
	ck_assert(aster_test_write_file(p->dir, "product.yaml",
	          "kind: product\nid: statictest\nname: Static test\n"
	          "version: 0.1.0\n"
	          "server:\n"
	          "  listen:\n"
	          "    - address: 127.0.0.1:0\n"
	          "      scopes: [public]\n"
	          "    - address: 127.0.0.1:0\n"
	          "      scopes: [public]\n"
	          "      tls: { cert: server.crt, key: server.key }\n"
	          "  limits:\n"
	          "    request_timeout_ms: 20000\n"
	          "    max_connections: 1000\n"
	          "  shutdown_timeout_ms: 2000\n", -1) == 0);
	ck_assert(aster_test_write_file(p->dir, "modules/site.yaml",
	          "kind: module\nid: site\ndisplayName: Site\n"
	          "version: 0.1.0\n"
	          "routes:\n"
	          "  - id: route:site.hello\n    scope: public\n"
	          "    methods: [GET]\n    mountPath: /t/hello\n"
	          "    handler:\n      respond: { status: 200, body: "
	          "\"hello\\n\", content_type: text/plain }\n"
	          "  - id: route:site.files\n    scope: public\n"
	          "    methods: [GET]\n    mountPath: /t/files\n"
	          "    match: prefix\n"
	          "    handler: { static: { root: ../static } }\n",
	          -1) == 0);
	write_files(p->dir);
	make_cert(p->dir);
	p->client = SSL_CTX_new(TLS_client_method());
	ck_assert(p->client != NULL);
	SSL_CTX_set_verify(p->client, SSL_VERIFY_NONE, NULL);
	p->t = integ_start_dir(p->dir, asan_env());
	p->pid = aster_test_pid(p->t);
	ck_assert(aster_test_listener_count(p->t) == 2);
	p->plain = aster_test_listener(p->t, 0, NULL);
	p->tls = aster_test_listener(p->t, 1, NULL);
	ck_assert(p->plain != NULL && p->tls != NULL);
}

static void
prod_done(struct prod *p)
{
	integ_stop(p->t);
	SSL_CTX_free(p->client);
	aster_test_remove_tree(p->dir);
	free(p->dir);
}

/* --- asterd's resources ---------------------------------------------------- */

/* A field of /proc/PID/status in KiB ("VmRSS", "VmHWM"), -1 if missing. */
static long
proc_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t n = strlen(field);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, n) == 0 && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* Resets VmHWM to the current resident set. */
static void
reset_peak(pid_t pid)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/clear_refs", (int)pid);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	ck_assert(write(fd, "5", 1) == 1);
	close(fd);
}

static int
fd_count(pid_t pid)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Waits up to ms (scaled) for asterd's fd count to be want; the count. */
static int
fds_settle(pid_t pid, int want, int ms)
{
	long end = 0, waited = 0;
	int n;

	end = aster_test_timeout(ms);
	while ((n = fd_count(pid)) != want && waited < end) {
		usleep(20000);
		waited += 20;
	}
	return n;
}

/*
 * Drops static/NAME from the page cache (written back first), so that
 * asterd must read it from the disk: over TLS, by its reader threads.
 */
static void
uncache(const struct prod *p, const char *name)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/static/%s", p->dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	ck_assert(fdatasync(fd) == 0);
	ck_assert(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0);
	close(fd);
}

/* --- a client over plain TCP or TLS ------------------------------------------ */

struct stream {
	int fd;
	SSL *ssl;
	unsigned char head[8192];   /* the response head, then body bytes */
	size_t hlen;
	size_t body_at;             /* unread bytes begin here */
	int status;
	long long length;           /* Content-Length, -1 if none */
	long long body_off;         /* body bytes consumed so far */
	char err[160];
};

/* Connects to "host:port" (thread-safe: no assertions); -1 on failure. */
static int
stream_open(struct stream *s, const char *address, SSL_CTX *tls)
{
	char host[64];
	const char *colon = strrchr(address, ':');
	struct sockaddr_in sin;
	struct timeval tv = {aster_test_timeout(30000) / 1000, 0};

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	if (colon == NULL || (size_t)(colon - address) >= sizeof(host))
		return -1;
	memcpy(host, address, (size_t)(colon - address));
	host[colon - address] = '\0';
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1 ||
	    (s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(s->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(s->fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		snprintf(s->err, sizeof(s->err), "connect: %s",
		         strerror(errno));
		return -1;
	}
	if (tls == NULL)
		return 0;
	if ((s->ssl = SSL_new(tls)) == NULL ||
	    SSL_set_fd(s->ssl, s->fd) != 1 || SSL_connect(s->ssl) != 1) {
		snprintf(s->err, sizeof(s->err), "TLS handshake failed");
		ERR_clear_error();
		return -1;
	}
	return 0;
}

static void
stream_close(struct stream *s)
{
	if (s->ssl != NULL) {
		SSL_free(s->ssl);
		ERR_clear_error();
	}
	if (s->fd >= 0)
		close(s->fd);
	s->ssl = NULL;
	s->fd = -1;
}

static long
stream_read(struct stream *s, void *buf, size_t len)
{
	int n;

	if (s->ssl == NULL)
		return (long)recv(s->fd, buf, len, 0);
	n = SSL_read(s->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
	if (n <= 0)
		ERR_clear_error();
	return n;
}

static int
stream_send(struct stream *s, const char *text)
{
	size_t len = strlen(text);

	if (s->ssl != NULL)
		return SSL_write(s->ssl, text, (int)len) == (int)len ? 0 : -1;
	return send(s->fd, text, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

/*
 * Reads a response head; body bytes that came with it stay in s->head
 * from s->body_at. 0, or -1 with s->err set.
 */
static int
stream_head(struct stream *s)
{
	unsigned char *end;
	const char *cl;
	long n;

	/* What is left after the last body may begin this head. */
	memmove(s->head, s->head + s->body_at, s->hlen - s->body_at);
	s->hlen -= s->body_at;
	s->body_at = 0;
	while ((end = memmem(s->head, s->hlen, "\r\n\r\n", 4)) == NULL) {
		if (s->hlen == sizeof(s->head) - 1 ||
		    (n = stream_read(s, s->head + s->hlen,
		                     sizeof(s->head) - 1 - s->hlen)) <= 0) {
			snprintf(s->err, sizeof(s->err), "no response head "
			         "(%zu bytes)", s->hlen);
			return -1;
		}
		s->hlen += (size_t)n;
	}
	s->head[s->hlen] = '\0';
	*end = '\0';                /* the head is a string from here */
	s->body_at = (size_t)(end - s->head) + 4;
	s->body_off = 0;
	if (sscanf((char *)s->head, "HTTP/1.1 %d ", &s->status) != 1) {
		snprintf(s->err, sizeof(s->err), "no status line");
		return -1;
	}
	cl = strcasestr((char *)s->head, "\r\nContent-Length: ");
	s->length = cl != NULL ? strtoll(cl + 18, NULL, 10) : -1;
	return 0;
}

/* A header of the last head, or NULL (up to the end of its line). */
static const char *
stream_header(const struct stream *s, const char *name)
{
	char key[64];
	const char *h;

	snprintf(key, sizeof(key), "\r\n%s: ", name);
	h = strcasestr((const char *)s->head, key);
	return h != NULL ? h + strlen(key) : NULL;
}

/* What a body is checked against, piece by piece: off is the piece's
 * offset in the body; nonzero: wrong bytes. */
typedef int (*body_fn)(void *arg, long long off, const unsigned char *p,
                       size_t n);

/*
 * Reads up to max more bytes of the body (-1: to its end), each read at
 * most step bytes (0: 256 KiB) followed by a pause of pause_us, giving
 * each piece to eat (NULL: none). Returns the bytes read, or -1 with
 * s->err on a short or wrong body.
 */
static long long
stream_body(struct stream *s, body_fn eat, void *arg, size_t step,
            long pause_us, long long max)
{
	static __thread unsigned char buf[256 * 1024];
	long long want = s->length - s->body_off, got = 0;
	const unsigned char *p;
	size_t n, have;
	long r;

	if (max >= 0 && max < want)
		want = max;
	if (step == 0 || step > sizeof(buf))
		step = sizeof(buf);
	while (got < want) {
		have = s->hlen - s->body_at;
		n = want - got < (long long)step ? (size_t)(want - got) : step;
		if (have > 0) {
			if (n > have)
				n = have;
			p = s->head + s->body_at;
			s->body_at += n;
		} else {
			if ((r = stream_read(s, buf, n)) <= 0) {
				snprintf(s->err, sizeof(s->err), "body cut "
				         "short at %lld of %lld bytes",
				         s->body_off, s->length);
				return -1;
			}
			n = (size_t)r;
			p = buf;
		}
		if (eat != NULL && eat(arg, s->body_off, p, n) != 0) {
			snprintf(s->err, sizeof(s->err), "wrong bytes near "
			         "offset %lld", s->body_off);
			return -1;
		}
		s->body_off += (long long)n;
		got += (long long)n;
		if (pause_us > 0)
			usleep((useconds_t)pause_us);
	}
	return got;
}

/* mid.bin from byte *(long long *)arg: every SAMPLE_STEP-th byte. */
static int
eat_mid(void *arg, long long off, const unsigned char *p, size_t n)
{
	long long k;

	off += *(long long *)arg;
	k = (off + SAMPLE_STEP - 1) / SAMPLE_STEP * SAMPLE_STEP;
	for (; k < off + (long long)n; k += SAMPLE_STEP)
		if (p[k - off] != mid_byte(k))
			return -1;
	return 0;
}

/* The text at arg, exactly. */
static int
eat_text(void *arg, long long off, const unsigned char *p, size_t n)
{
	const char *text = arg;

	return off + (long long)n > (long long)strlen(text) ||
	    memcmp(text + off, p, n) != 0;
}

/* big.bin: the markers where they lie, and a byte sum (zeros elsewhere:
 * the sum of the markers' bytes). */
struct big_check {
	uint64_t sum;
	size_t markers_seen;
};

static int
eat_big(void *arg, long long off, const unsigned char *p, size_t n)
{
	struct big_check *b = arg;
	long long end = off + (long long)n, m0, m1, i;
	size_t k;

	for (k = 0; k < sizeof(markers) / sizeof(markers[0]); k++) {
		m0 = markers[k].off;
		m1 = m0 + (long long)strlen(markers[k].text);
		for (i = m0 > off ? m0 : off; i < m1 && i < end; i++)
			if (p[i - off] !=
			    (unsigned char)markers[k].text[i - m0])
				return -1;
		if (m1 > off && m1 <= end)
			b->markers_seen++;
	}
	for (k = 0; k < n; k++)
		b->sum += p[k];
	return 0;
}

/* One request on a new connection, whose head is read. */
static void
open_get(struct stream *s, const char *address, SSL_CTX *tls,
         const char *method, const char *path, const char *extra)
{
	char req[512];

	snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: x\r\n%s\r\n",
	         method, path, extra != NULL ? extra : "");
	ck_assert_msg(stream_open(s, address, tls) == 0, "connect to %s: %s",
	              address, s->err);
	ck_assert_msg(stream_send(s, req) == 0, "send %s %s", method, path);
	ck_assert_msg(stream_head(s) == 0, "%s %s: %s", method, path, s->err);
}

/* --- downloads on threads ------------------------------------------------- */

struct download {
	pthread_t thread;
	const char *address;
	SSL_CTX *tls;
	long long want;             /* MID_LEN, or a first range of it */
	long long got;
	int status;
	char err[160];
};

static int downloads_done;
static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;

/* GET mid.bin whole, its bytes sampled; records what it saw. */
static void *
download_main(void *arg)
{
	struct download *d = arg;
	struct stream s;
	long long first = 0;

	char req[256];

	d->got = -1;
	snprintf(req, sizeof(req), "GET /t/files/mid.bin HTTP/1.1\r\n"
	         "Host: x\r\n%s%lld\r\nConnection: close\r\n\r\n",
	         "Range: bytes=0-", d->want - 1);
	if (stream_open(&s, d->address, d->tls) == 0 &&
	    stream_send(&s, req) == 0 && stream_head(&s) == 0) {
		d->status = s.status;
		if (s.length == d->want)
			d->got = stream_body(&s, eat_mid, &first, 0, 0, -1);
		else
			snprintf(s.err, sizeof(s.err), "Content-Length %lld",
			         s.length);
	}
	snprintf(d->err, sizeof(d->err), "%s", s.err);
	stream_close(&s);
	pthread_mutex_lock(&done_lock);
	downloads_done++;
	pthread_mutex_unlock(&done_lock);
	return NULL;
}

static int
done_count(void)
{
	int n;

	pthread_mutex_lock(&done_lock);
	n = downloads_done;
	pthread_mutex_unlock(&done_lock);
	return n;
}

static int
under_valgrind(void)
{
	const char *v = getenv("INTEG_VALGRIND");

	return v != NULL && strcmp(v, "1") == 0;
}

/* 1 when asterd runs under a tool whose memory its resident set shows. */
static int
under_tool(void)
{
	return UNDER_ASAN || under_valgrind();
}

/*
 * NCONCURRENT downloads of mid.bin at once: every one whole and right,
 * and asterd's resident set under 64 MiB all along (sampled every 10 ms,
 * and its peak).
 */
static void
concurrent(struct prod *p, const char *address, SSL_CTX *tls,
           const char *name, long long want)
{
	struct download *d = calloc(NCONCURRENT, sizeof(*d));
	long before, rss, sampled = 0, peak;
	int i, samples = 0;

	ck_assert(d != NULL);
	/* From the disk at first: over TLS, the reader threads' work. */
	uncache(p, "mid.bin");
	downloads_done = 0;
	before = proc_kib(p->pid, "VmRSS");
	reset_peak(p->pid);
	for (i = 0; i < NCONCURRENT; i++) {
		d[i].address = address;
		d[i].tls = tls;
		d[i].want = want;
		ck_assert(pthread_create(&d[i].thread, NULL, download_main,
		                         &d[i]) == 0);
	}
	while (done_count() < NCONCURRENT) {
		if ((rss = proc_kib(p->pid, "VmRSS")) > sampled)
			sampled = rss;
		samples++;
		usleep(10000);
	}
	peak = proc_kib(p->pid, "VmHWM");
	for (i = 0; i < NCONCURRENT; i++)
		pthread_join(d[i].thread, NULL);
	for (i = 0; i < NCONCURRENT; i++)
		if (d[i].status != 200 || d[i].got != MID_LEN)
			fprintf(stderr, "%s download %d: status %d, %lld "
			        "bytes: %s\n", name, i, d[i].status, d[i].got,
			        d[i].err);
	for (i = 0; i < NCONCURRENT; i++)
		ck_assert_msg(d[i].status == 206 && d[i].got == want,
		              "%s download %d: status %d, %lld bytes: %s", name,
		              i, d[i].status, d[i].got, d[i].err);
	fprintf(stderr, "%s: %d x %lld MiB: VmRSS %ld KiB before, at most "
	        "%ld KiB in %d samples, VmHWM %ld KiB\n", name, NCONCURRENT,
	        want / MIB, before, sampled, samples, peak);
	if (under_tool()) {
		fprintf(stderr, "%s: under a memory tool, the 64 MiB bound is "
		        "checked on growth\n", name);
		ck_assert_msg(peak - before < 64 * 1024,
		              "%s: RSS grew by %ld KiB", name, peak - before);
	} else {
		ck_assert_msg(peak < 64 * 1024 && sampled < 64 * 1024,
		              "%s: RSS reached %ld KiB (64 MiB is the bound)",
		              name, peak);
	}
	free(d);
}

/*
 * A client that reads 1 byte every 10 ms for 2 s: the file is not
 * buffered for it, the resident set does not grow. Then it goes away
 * mid-file: asterd's fds are back to what they were.
 */
static void
slow_then_gone(struct prod *p, const char *address, SSL_CTX *tls,
               const char *name)
{
	struct stream s;
	long before, peak;
	long long first = 0;
	int fds, after;

	/* Warm: one download on this listener first, from the disk, so
	 * that TLS starts its reader threads then (the first chunk of a
	 * file not cached is theirs; a file that fits in one record could
	 * be read from the page cache once its first attempt brought it). */
	uncache(p, "mid.bin");
	open_get(&s, address, tls, "GET", "/t/files/mid.bin",
	         "Range: bytes=0-99999\r\nConnection: close\r\n");
	ck_assert(s.status == 206);
	ck_assert(stream_body(&s, eat_mid, &first, 0, 0, -1) == 100000);
	/* asterd has closed its fd when the TCP end comes (TLS: after its
	 * close_notify). */
	ck_assert(stream_read(&s, s.head, sizeof(s.head)) <= 0);
	while (recv(s.fd, s.head, sizeof(s.head), 0) > 0)
		;
	stream_close(&s);
	if (tls != NULL)
		ck_assert_msg(proc_kib(p->pid, "Threads") >= 2, "%s: an "
		              "uncached file read without reader threads", name);
	fds = fd_count(p->pid);
	before = proc_kib(p->pid, "VmRSS");
	reset_peak(p->pid);
	open_get(&s, address, tls, "GET", "/t/files/mid.bin", NULL);
	ck_assert_int_eq(s.length, MID_LEN);
	/* What came with the head, then 1 byte a read off the socket. */
	ck_assert(stream_body(&s, eat_mid, &first, 0, 0,
	                      (long long)(s.hlen - s.body_at)) >= 0);
	ck_assert_msg(stream_body(&s, eat_mid, &first, 1, 10000, 200) == 200,
	              "%s: %s", name, s.err);
	peak = proc_kib(p->pid, "VmHWM");
	fprintf(stderr, "%s: slow reader: VmRSS %ld KiB before, VmHWM %ld "
	        "KiB after 2 s\n", name, before, peak);
	/* valgrind's resident set grows with each code path run for the
	 * first time (its translations): some 8 MiB for TLS here. */
	if (under_valgrind())
		fprintf(stderr, "%s: slow reader: RSS growth not checked under "
		        "valgrind\n", name);
	else
		ck_assert_msg(peak - before < 2048, "%s: RSS grew by %ld KiB "
		              "for a slow reader", name, peak - before);
	/* Some more, then gone with most of the file unsent. */
	ck_assert(stream_body(&s, eat_mid, &first, 0, 0, 8 * MIB) == 8 * MIB);
	stream_close(&s);
	after = fds_settle(p->pid, fds, 5000);
	ck_assert_msg(after == fds, "%s: %d fds after a client left "
	              "mid-file, %d before", name, after, fds);
}

/* --- tests ----------------------------------------------------------------- */

/*
 * 1 GiB, sparse, downloaded whole over plain TCP: the markers at their
 * offsets, zeros elsewhere, and asterd's resident set grows by less than
 * 2 MiB meanwhile (sampled between 64 MiB steps, and its peak). Ranges
 * at the markers bring the markers.
 */
START_TEST(test_gib_file_plain)
{
	struct prod p;
	struct stream s;
	struct big_check b = {0, 0};
	char range[96], want[96];
	long before, peak, rss, sampled = 0;
	uint64_t want_sum = 0;
	long long done = 0, first = 0, n, len;
	const char *c, *cr;
	size_t k;

	prod_start(&p);
	for (k = 0; k < sizeof(markers) / sizeof(markers[0]); k++) {
		len = (long long)strlen(markers[k].text);
		for (c = markers[k].text; *c != '\0'; c++)
			want_sum += (unsigned char)*c;
		snprintf(range, sizeof(range), "Range: bytes=%lld-%lld\r\n",
		         markers[k].off, markers[k].off + len - 1);
		open_get(&s, p.plain, NULL, "GET", "/t/files/big.bin", range);
		snprintf(want, sizeof(want), "bytes %lld-%lld/%lld",
		         markers[k].off, markers[k].off + len - 1, BIG_LEN);
		cr = stream_header(&s, "Content-Range");
		ck_assert_msg(s.status == 206 && s.length == len && cr != NULL &&
		              strncmp(cr, want, strlen(want)) == 0,
		              "%s: %d, length %lld, Content-Range %s", range,
		              s.status, s.length, cr != NULL ? cr : "none");
		ck_assert_msg(stream_body(&s, eat_text,
		              (void *)markers[k].text, 0, 0, -1) == len,
		              "%s: %s", range, s.err);
		stream_close(&s);
	}
	/* Warm: this connection has served a file once. */
	open_get(&s, p.plain, NULL, "GET", "/t/files/small.bin", NULL);
	ck_assert(stream_body(&s, eat_mid, &first, 0, 0, -1) == SMALL_LEN);
	before = proc_kib(p.pid, "VmRSS");
	reset_peak(p.pid);
	ck_assert(stream_send(&s, "GET /t/files/big.bin HTTP/1.1\r\n"
	                      "Host: x\r\n\r\n") == 0);
	ck_assert_msg(stream_head(&s) == 0, "%s", s.err);
	ck_assert_msg(s.status == 200 && s.length == BIG_LEN,
	              "GET big.bin: %d, Content-Length %lld", s.status,
	              s.length);
	while (done < BIG_LEN) {
		n = stream_body(&s, eat_big, &b, 0, 0, 64 * MIB);
		ck_assert_msg(n == 64 * MIB, "%s", s.err);
		done += n;
		if ((rss = proc_kib(p.pid, "VmRSS")) > sampled)
			sampled = rss;
	}
	peak = proc_kib(p.pid, "VmHWM");
	ck_assert_msg(b.markers_seen == sizeof(markers) / sizeof(markers[0]),
	              "%zu markers seen", b.markers_seen);
	ck_assert_msg(b.sum == want_sum, "bytes besides the markers are not "
	              "zero (sum %llu, expected %llu)",
	              (unsigned long long)b.sum, (unsigned long long)want_sum);
	fprintf(stderr, "test_gib_file_plain: VmRSS %ld KiB before, at most "
	        "%ld KiB sampled, VmHWM %ld KiB\n", before, sampled, peak);
	ck_assert_msg(peak - before < 2048 && sampled - before < 2048,
	              "RSS grew by %ld KiB during a 1 GiB download",
	              peak - before);
	/* The connection goes on after it. */
	ck_assert(stream_send(&s, "GET /t/hello HTTP/1.1\r\nHost: x\r\n\r\n")
	          == 0);
	ck_assert(stream_head(&s) == 0 && s.status == 200);
	stream_close(&s);
	prod_done(&p);
}
END_TEST

/* HEAD of the 1 GiB file: its length announced, not a byte of it sent,
 * and the next request on the connection answered. */
static void
head_only(struct prod *p, const char *address, SSL_CTX *tls)
{
	struct stream s;

	open_get(&s, address, tls, "HEAD", "/t/files/big.bin", NULL);
	ck_assert_int_eq(s.status, 200);
	ck_assert_int_eq(s.length, BIG_LEN);
	ck_assert_msg(s.hlen == s.body_at, "%zu bytes after a HEAD's head",
	              s.hlen - s.body_at);
	ck_assert(stream_send(&s, "GET /t/hello HTTP/1.1\r\nHost: x\r\n\r\n")
	          == 0);
	ck_assert_msg(stream_head(&s) == 0, "%s", s.err);
	ck_assert_msg(s.status == 200 && s.length == 6, "GET after HEAD: %d "
	              "(%s)", s.status, (char *)s.head);
	ck_assert(stream_body(&s, eat_text, "hello\n", 0, 0, -1) == 6);
	stream_close(&s);
	(void)p;
}

/* Three requests in one write: a small file, a 4 MiB range of mid.bin,
 * a respond route; the answers come in order and whole. */
static void
pipelined(struct stream *s, const char *address, SSL_CTX *tls)
{
	long long first = 0, mid_first = 1000;

	ck_assert(stream_open(s, address, tls) == 0);
	ck_assert(stream_send(s,
	    "GET /t/files/small.bin HTTP/1.1\r\nHost: x\r\n\r\n"
	    "GET /t/files/mid.bin HTTP/1.1\r\nHost: x\r\n"
	    "Range: bytes=1000-4195303\r\n\r\n"
	    "GET /t/hello HTTP/1.1\r\nHost: x\r\n\r\n") == 0);
	ck_assert(stream_head(s) == 0 && s->status == 200 &&
	          s->length == SMALL_LEN);
	ck_assert(stream_body(s, eat_mid, &first, 0, 0, -1) == SMALL_LEN);
	ck_assert(stream_head(s) == 0 && s->status == 206 &&
	          s->length == 4 * MIB);
	ck_assert_msg(stream_body(s, eat_mid, &mid_first, 0, 0, -1) ==
	              4 * MIB, "%s", s->err);
	ck_assert(stream_head(s) == 0 && s->status == 200);
	ck_assert(stream_body(s, eat_text, "hello\n", 0, 0, -1) == 6);
	stream_close(s);
}

START_TEST(test_head_and_pipelining)
{
	struct prod p;
	struct stream s;

	prod_start(&p);
	head_only(&p, p.plain, NULL);
	head_only(&p, p.tls, p.client);
	pipelined(&s, p.plain, NULL);
	pipelined(&s, p.tls, p.client);
	prod_done(&p);
}
END_TEST

START_TEST(test_concurrent_plain)
{
	struct prod p;

	prod_start(&p);
	concurrent(&p, p.plain, NULL, "plain", MID_LEN);
	prod_done(&p);
}
END_TEST

START_TEST(test_concurrent_tls)
{
	struct prod p;

	prod_start(&p);
	/* 6.4 GiB of AES-GCM under memcheck outlasts the case's 5 minutes
	 * (native: some 15 s); there the downloads take 4 MiB each, for the
	 * memory errors memcheck is run for, and the test says so. */
	if (under_valgrind()) {
		fprintf(stderr, "TLS: under valgrind, %d x 4 MiB instead of "
		        "%d x 64 MiB\n", NCONCURRENT, NCONCURRENT);
		concurrent(&p, p.tls, p.client, "TLS", 4 * MIB);
	} else {
		concurrent(&p, p.tls, p.client, "TLS", MID_LEN);
	}
	prod_done(&p);
}
END_TEST

START_TEST(test_slow_and_gone_plain)
{
	struct prod p;

	prod_start(&p);
	slow_then_gone(&p, p.plain, NULL, "plain");
	prod_done(&p);
}
END_TEST

START_TEST(test_slow_and_gone_tls)
{
	struct prod p;

	prod_start(&p);
	slow_then_gone(&p, p.tls, p.client, "TLS");
	prod_done(&p);
}
END_TEST

static Suite *
static_suite(void)
{
	const struct {
		const char *name;
		const TTest *test;
	} cases[] = {
		{"head_and_pipelining", test_head_and_pipelining},
		{"gib_file_plain", test_gib_file_plain},
		{"slow_and_gone_plain", test_slow_and_gone_plain},
		{"slow_and_gone_tls", test_slow_and_gone_tls},
		{"concurrent_plain", test_concurrent_plain},
		{"concurrent_tls", test_concurrent_tls},
	};
	Suite *s = suite_create("static");
	size_t i;

	/* One case each, so that CK_RUN_CASE picks one; gigabytes cross
	 * the loopback, so more time than the usual case. */
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		TCase *tc = tcase_create(cases[i].name);

		tcase_set_timeout(tc, INTEG_TCASE_TIMEOUT * 5);
		tcase_add_test(tc, cases[i].test);
		suite_add_tcase(s, tc);
	}
	return s;
}

UNIT_MAIN(static_suite)
