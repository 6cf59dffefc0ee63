/*
 * proc_setup.c - what a runtime process is given (SPEC §10): a private
 * directory under the runtime directory, the Unix sockets in it (the
 * runtime socket it serves, the gateway socket asterd serves it, the
 * notify socket it reports on), and its environment.
 *
 * The runtime directory is $RUNTIME_DIRECTORY (systemd's), else the
 * directory of the control socket, else a temporary directory asterd
 * makes and removes at exit. Each process record gets its own
 * "runtime.MODULE.N" inside, so a module restarted by a reload never
 * meets the sockets of the process it replaces.
 */
#include "runtime/proc_int.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "http/server.h"
#include "http/upstream.h"
#include "log.h"

extern char **environ;

/* Idle connections kept to a runtime: as many as a busy listener has
 * requests in flight, so a burst never pays a connect per request. */
#define RUNTIME_KEEPALIVE 256
#define RUNTIME_CONNECT_TIMEOUT_MS 2000

static int
remove_entry(const char *path, const struct stat *st, int type,
             struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	remove(path);
	return 0;
}

/* Removes dir and everything in it, not following links. */
static void
remove_tree(const char *dir)
{
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static char *
dir_of_control(const struct config *cfg)
{
	const struct server *s = cfg->product->server;
	char *copy, *dir;

	if (s == NULL || s->control == NULL ||
	    (copy = strdup(s->control)) == NULL)
		return NULL;
	dir = strdup(dirname(copy));
	free(copy);
	return dir;
}

/* The runtime directory, made on first use. */
static int
ensure_run_dir(struct runtime *rt, const char **err)
{
	const char *env = getenv("RUNTIME_DIRECTORY");
	const char *tmp = getenv("TMPDIR");
	char *dir = NULL;

	if (rt->run_dir != NULL)
		return 0;
	if (env != NULL && env[0] == '/')
		dir = strndup(env, strcspn(env, ":"));
	else
		dir = dir_of_control(rt->current->cfg);
	if (dir != NULL && mkdir(dir, 0755) < 0 && errno != EEXIST) {
		free(dir);
		dir = NULL;
	}
	if (dir == NULL) {
		if (asprintf(&dir, "%s/asterd.XXXXXX", tmp != NULL &&
		             tmp[0] == '/' ? tmp : "/tmp") < 0)
			dir = NULL;
		if (dir == NULL || mkdtemp(dir) == NULL) {
			*err = "cannot make a runtime directory";
			free(dir);
			return -1;
		}
		rt->run_dir_made = 1;
	}
	rt->run_dir = dir;
	return 0;
}

static char *
path_in(const char *dir, const char *name)
{
	char *p;

	return asprintf(&p, "%s/%s", dir, name) < 0 ? NULL : p;
}

/* A listening Unix stream socket at path (non-blocking, close-on-exec),
 * or -1. */
static int
listen_unix(const char *path)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0600) < 0 || listen(fd, 128) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* The gateway socket: asterd's internal scope, served to the runtime
 * with its module as the caller (runtime_on_request()). */
static int
serve_gateway(struct runtime_proc *p)
{
	struct listener_run *lr = &p->gateway;
	struct http_limits l;
	int fd = listen_unix(p->gateway_socket);

	if (fd < 0)
		return -1;
	runtime_limits_of(p->rt->current->cfg, &l);
	lr->rt = p->rt;
	lr->fd = fd;
	lr->scopes = SCOPE_INTERNAL;
	lr->runtime_module = p->module_id;
	lr->server = http_server_new(p->rt->base, fd, &l, runtime_on_request,
	                             runtime_on_http_error, lr);
	if (lr->server == NULL) {
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

/* The runtime socket as a one-target upstream for the proxy's client. */
static int
make_upstream(struct runtime_proc *p)
{
	struct upstream_target target;
	struct upstream_conf conf;
	void *targets[1] = {&target};
	char name[160];

	memset(&target, 0, sizeof(target));
	memset(&conf, 0, sizeof(conf));
	snprintf(name, sizeof(name), "runtime:%s", p->module_id);
	target.url = p->runtime_socket;
	target.scheme = TARGET_UNIX;
	target.path = p->runtime_socket;
	target.base = "";
	target.authority = "localhost";
	conf.name = name;
	conf.key = name;
	conf.targets.n = 1;
	conf.targets.v = targets;
	conf.balance = "round-robin";
	conf.keepalive = RUNTIME_KEEPALIVE;
	conf.connect_timeout_ms = RUNTIME_CONNECT_TIMEOUT_MS;
	conf.scheme = TARGET_UNIX;
	conf.ok = 1;
	p->upstream = upstream_new(p->rt->base, &conf, NULL);
	return p->upstream != NULL ? 0 : -1;
}

static int
make_dir(struct runtime_proc *p, const char **err)
{
	struct runtime *rt = p->rt;

	if (ensure_run_dir(rt, err) < 0)
		return -1;
	if (asprintf(&p->dir, "%s/runtime.%s.%u", rt->run_dir, p->module_id,
	             ++rt->next_proc) < 0) {
		p->dir = NULL;
		*err = "out of memory";
		return -1;
	}
	/* A directory of that name is a leftover of an asterd that did
	 * not stop cleanly. */
	remove_tree(p->dir);
	if (mkdir(p->dir, 0700) < 0 || chmod(p->dir, 0700) < 0) {
		*err = strerror(errno);
		return -1;
	}
	return 0;
}

int
proc_setup(struct runtime_proc *p, const struct module *m, const char **err)
{
	struct sockaddr_un sa;

	p->gateway.fd = -1;
	if ((p->module_id = strdup(m->id)) == NULL) {
		*err = "out of memory";
		return -1;
	}
	if (make_dir(p, err) < 0)
		return -1;
	p->runtime_socket = path_in(p->dir, "runtime.sock");
	p->gateway_socket = path_in(p->dir, "gateway.sock");
	p->notify_socket = path_in(p->dir, "notify.sock");
	if (p->runtime_socket == NULL || p->gateway_socket == NULL ||
	    p->notify_socket == NULL) {
		*err = "out of memory";
		return -1;
	}
	if (strlen(p->gateway_socket) >= sizeof(sa.sun_path)) {
		*err = "the runtime directory's path is too long for a Unix "
		       "socket (set RUNTIME_DIRECTORY)";
		return -1;
	}
	if (serve_gateway(p) < 0) {
		*err = strerror(errno);
		return -1;
	}
	if (make_upstream(p) < 0) {
		*err = "out of memory";
		return -1;
	}
	return 0;
}

void
proc_teardown(struct runtime_proc *p)
{
	if (p->gateway.server != NULL)
		http_server_free(p->gateway.server);
	p->gateway.server = NULL;
	upstream_unref(p->upstream);
	p->upstream = NULL;
	if (p->dir != NULL)
		remove_tree(p->dir);
	free(p->dir);
	free(p->runtime_socket);
	free(p->gateway_socket);
	free(p->notify_socket);
	free(p->module_id);
	p->dir = p->runtime_socket = p->gateway_socket = NULL;
	p->notify_socket = p->module_id = NULL;
}

/* --- the environment ----------------------------------------------------- */

/* Variables meant for asterd itself, not passed on. */
static int
withheld(const char *entry)
{
	static const char *const prefixes[] = {
		"NOTIFY_SOCKET=", "WATCHDOG_", "LISTEN_", "ASTER_",
	};
	size_t i;

	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(entry, prefixes[i], strlen(prefixes[i])) == 0)
			return 1;
	return 0;
}

/* Appends "name=value" to v at *n, unless a later entry of the same
 * name is to win: entries are written in order, and replaced in place
 * when the name repeats. */
static int
env_put(char **v, size_t *n, const char *name, const char *value)
{
	size_t len = strlen(name), i;
	char *e;

	if (asprintf(&e, "%s=%s", name, value) < 0)
		return -1;
	for (i = 0; i < *n; i++)
		if (strncmp(v[i], name, len) == 0 && v[i][len] == '=') {
			free(v[i]);
			v[i] = e;
			return 0;
		}
	v[(*n)++] = e;
	return 0;
}

static void
env_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* v[0..n) as one allocation: the array, then the strings. */
static const char **
env_pack(char **v, size_t n)
{
	size_t size = (n + 1) * sizeof(char *), i;
	const char **out;
	char *at;

	for (i = 0; i < n; i++)
		size += strlen(v[i]) + 1;
	if ((out = malloc(size)) == NULL)
		return NULL;
	at = (char *)(out + n + 1);
	for (i = 0; i < n; i++) {
		size_t len = strlen(v[i]) + 1;

		memcpy(at, v[i], len);
		out[i] = at;
		at += len;
	}
	out[n] = NULL;
	return out;
}

const char **
proc_environment(const struct runtime_proc *p, const struct module *m,
                 const char *product)
{
	const node_t *env = m->runtime->env;
	size_t cap = 8 + (env != NULL ? env->n : 0), n = 0, i;
	const char **out = NULL;
	char **v;
	int bad = 0;

	for (i = 0; environ[i] != NULL; i++)
		cap++;
	if ((v = calloc(cap, sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; environ[i] != NULL && !bad; i++)
		if (!withheld(environ[i]) &&
		    (v[n++] = strdup(environ[i])) == NULL)
			bad = 1;
	bad = bad || env_put(v, &n, "ASTER_RUNTIME_SOCKET",
	                     p->runtime_socket) < 0 ||
	      env_put(v, &n, "ASTER_GATEWAY_SOCKET", p->gateway_socket) < 0 ||
	      env_put(v, &n, "ASTER_MODULE_ID", m->id) < 0 ||
	      env_put(v, &n, "ASTER_PRODUCT_ID", product) < 0 ||
	      env_put(v, &n, "ASTER_RUNTIME_DIR", p->dir) < 0 ||
	      env_put(v, &n, "NOTIFY_SOCKET", p->notify_socket) < 0;
	for (i = 0; env != NULL && i < env->n && !bad; i++)
		bad = env_put(v, &n, env->pairs[i].key->value,
		              env->pairs[i].value->value) < 0;
	if (!bad)
		out = env_pack(v, n);
	env_free(v, n);
	return out;
}
