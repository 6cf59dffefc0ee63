/*
 * asterctl.c - talks to a running asterd over its control socket
 * (SPEC §12; the protocol is in control.h, the manual in asterctl(1)).
 *
 * One request, one answer line. By default the answer is shown as tables
 * for people; --json prints it unchanged for scripts. The exit status
 * says who failed: 1 the daemon refused, 64 the command line was wrong,
 * 69 the daemon could not be reached.
 */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "config/manifest.h"
#include "diag.h"

#ifndef ASTER_VERSION
#define ASTER_VERSION "0.0.0"
#endif

#define DEFAULT_SOCKET "/run/asterd/control.sock"

/* sysexits(3) */
#define EXIT_REFUSED 1
#define EXIT_USAGE 64
#define EXIT_UNAVAILABLE 69

/* A reload validates the whole configuration before it answers. */
#define ANSWER_TIMEOUT_SECONDS 120
#define ANSWER_MAX_BYTES (256u << 20)

struct options {
	const char *socket;
	const char *config_dir;
	const char *command;
	int json;
	int dry_run;
	/* keys */
	const char *action;         /* create, list, revoke */
	const char *key_id;         /* revoke */
	const char *name, *role, *spaces, *expires;
	const char *module;         /* restart */
};

static void
usage(FILE *out)
{
	fputs("usage: asterctl [--socket PATH] [-c DIR] [--json] COMMAND\n"
	      "\n"
	      "Commands:\n"
	      "  status              state, generation, uptime, runtimes, "
	      "listeners,\n"
	      "                      last reload\n"
	      "  modules             each module: id, name, version, wave, "
	      "state\n"
	      "  routes              the live route table\n"
	      "  upstreams           each upstream's targets (up, ejected, "
	      "down) and counters\n"
	      "  plan                the start-up waves\n"
	      "  runtimes            each runtime process: module, pid, "
	      "state, restarts,\n"
	      "                      last exit, uptime\n"
	      "  restart MODULE      start the module's runtime again "
	      "(after it failed)\n"
	      "  reload [--dry-run]  re-read the configuration; with "
	      "--dry-run only\n"
	      "                      print what would change\n"
	      "  keys create --role admin|user --name NAME [--spaces A,B] "
	      "[--expires TIME]\n"
	      "                      make an API key and print it (shown "
	      "once)\n"
	      "  keys list           every API key, without secrets\n"
	      "  keys revoke ID      revoke a key on every node\n"
	      "\n"
	      "Options:\n"
	      "  -s, --socket PATH   the control socket (default: "
	      "$ASTER_CONTROL_SOCKET,\n"
	      "                      else server.control of -c DIR, else "
	      DEFAULT_SOCKET ")\n"
	      "  -c, --config DIR    read the socket path from this config "
	      "dir\n"
	      "  -j, --json          print the daemon's JSON answer as is\n"
	      "  -n, --dry-run       with reload: change nothing\n"
	      "  --role, --name, --spaces, --expires\n"
	      "                      with keys create: the key's role, name, "
	      "spaces\n"
	      "                      (comma-separated) and expiry (RFC 3339)\n"
	      "  -V, --version       print the version and exit\n"
	      "  -h, --help          print this help and exit\n"
	      "\n"
	      "Exit status: 0 ok, 1 refused by asterd, 64 usage, "
	      "69 asterd unreachable.\n", out);
}

static int
bad_usage(const char *fmt, const char *arg)
{
	fputs("asterctl: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\nTry 'asterctl --help'.\n", stderr);
	return EXIT_USAGE;
}

static const char *const commands[] = {
	"status", "modules", "routes", "upstreams", "plan", "reload", "keys",
	"runtimes", "restart",
};

/* `keys ACTION [ID]` and the options that go with it. */
static int
check_keys(int argc, char **argv, struct options *o)
{
	int creating;

	if (optind >= argc)
		return bad_usage("%s", "keys needs an action: create, list "
		                 "or revoke");
	o->action = argv[optind++];
	creating = strcmp(o->action, "create") == 0;
	if (!creating && strcmp(o->action, "list") != 0 &&
	    strcmp(o->action, "revoke") != 0)
		return bad_usage("unknown keys action '%s'", o->action);
	if (strcmp(o->action, "revoke") == 0) {
		if (optind >= argc)
			return bad_usage("%s", "keys revoke needs a key id");
		o->key_id = argv[optind++];
	}
	if (creating && (o->role == NULL || o->name == NULL))
		return bad_usage("%s", "keys create needs --role and --name");
	if (!creating && (o->role != NULL || o->name != NULL ||
	                  o->spaces != NULL || o->expires != NULL))
		return bad_usage("%s", "--role, --name, --spaces and "
		                 "--expires go with keys create");
	return 0;
}

static int
parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, 's'},
		{"config", required_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},
		{"dry-run", no_argument, NULL, 'n'},
		{"role", required_argument, NULL, 'R'},
		{"name", required_argument, NULL, 'N'},
		{"spaces", required_argument, NULL, 'S'},
		{"expires", required_argument, NULL, 'E'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	size_t i;
	int c;

	opterr = 0;
	/* Options may follow the command too: `asterctl status --json`. */
	while ((c = getopt_long(argc, argv, ":s:c:jnVh", longopts,
	                        NULL)) != -1) {
		switch (c) {
		case 's':
			o->socket = optarg;
			break;
		case 'c':
			o->config_dir = optarg;
			break;
		case 'j':
			o->json = 1;
			break;
		case 'n':
			o->dry_run = 1;
			break;
		case 'R':
			o->role = optarg;
			break;
		case 'N':
			o->name = optarg;
			break;
		case 'S':
			o->spaces = optarg;
			break;
		case 'E':
			o->expires = optarg;
			break;
		case 'V':
			printf("asterctl %s\n", ASTER_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			return bad_usage("option '%s' needs an argument",
			                 argv[optind - 1]);
		default:
			return bad_usage("unknown option '%s'",
			                 argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return bad_usage("%s", "no command given (status, modules, "
		                 "routes, upstreams, plan, runtimes, restart, "
		                 "reload, keys)");
	o->command = argv[optind++];
	if (strcmp(o->command, "restart") == 0) {
		if (optind >= argc)
			return bad_usage("%s", "restart needs a module id");
		o->module = argv[optind++];
	}
	if (strcmp(o->command, "keys") == 0 &&
	    (c = check_keys(argc, argv, o)) != 0)
		return c;
	if (strcmp(o->command, "keys") != 0 &&
	    (o->role != NULL || o->name != NULL || o->spaces != NULL ||
	     o->expires != NULL))
		return bad_usage("%s", "--role, --name, --spaces and --expires "
		                 "go with keys create");
	if (optind < argc)
		return bad_usage("unexpected argument '%s'", argv[optind]);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(o->command, commands[i]) == 0)
			break;
	if (i == sizeof(commands) / sizeof(commands[0]))
		return bad_usage("unknown command '%s'", o->command);
	if (o->dry_run && strcmp(o->command, "reload") != 0)
		return bad_usage("%s", "--dry-run goes with reload");
	return 0;
}

/* --- finding and talking to the socket --------------------------------- */

/*
 * server.control of the product in dir, into *path (malloc'ed). Only the
 * manifests are decoded: finding a path needs neither the providers nor
 * a valid configuration, and a tool an operator runs should not load
 * provider code. Returns 0, or an exit status after saying why.
 */
static int
socket_from_config(const char *dir, char **path)
{
	struct diag_list dl;
	struct config *cfg;
	int rc = 0;

	if (diag_list_init(&dl) < 0) {
		fputs("asterctl: out of memory\n", stderr);
		return EXIT_UNAVAILABLE;
	}
	cfg = config_load(dir, &dl, 0);
	if (cfg == NULL || cfg->product == NULL) {
		diag_sort(&dl);
		diag_render_text(&dl, stderr);
		fprintf(stderr, "asterctl: no product in %s to read "
		        "server.control from\n", dir);
		rc = EXIT_UNAVAILABLE;
	} else if (cfg->product->server == NULL ||
	           cfg->product->server->control == NULL) {
		fprintf(stderr, "asterctl: product '%s' in %s has no "
		        "server.control: it runs without a control socket\n",
		        cfg->product->id != NULL ? cfg->product->id : "?", dir);
		rc = EXIT_UNAVAILABLE;
	} else if ((*path = strdup(cfg->product->server->control)) == NULL) {
		fputs("asterctl: out of memory\n", stderr);
		rc = EXIT_UNAVAILABLE;
	}
	config_free(cfg);
	diag_list_release(&dl);
	return rc;
}

/* --socket, $ASTER_CONTROL_SOCKET, -c DIR's server.control, the
 * default: the first one given wins. */
static int
find_socket(const struct options *o, char **path)
{
	const char *env = getenv("ASTER_CONTROL_SOCKET");
	const char *p = DEFAULT_SOCKET;

	if (o->socket != NULL)
		p = o->socket;
	else if (env != NULL && *env != '\0')
		p = env;
	else if (o->config_dir != NULL)
		return socket_from_config(o->config_dir, path);
	if ((*path = strdup(p)) == NULL) {
		fputs("asterctl: out of memory\n", stderr);
		return EXIT_UNAVAILABLE;
	}
	return 0;
}

static int
unreachable(const char *path, int e)
{
	const char *hint = "";

	if (e == ENOENT || e == ECONNREFUSED)
		hint = " (is asterd running?)";
	else if (e == EACCES || e == EPERM)
		hint = " (the socket is mode 0600: run as asterd's user or "
		       "root)";
	fprintf(stderr, "asterctl: cannot reach asterd at %s: %s%s\n", path,
	        strerror(e), hint);
	return EXIT_UNAVAILABLE;
}

static int
send_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads up to the first newline; the line is returned without it. */
static char *
read_line(int fd)
{
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap), *nl, *bigger;
	ssize_t n;

	if (buf == NULL)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			if (cap >= ANSWER_MAX_BYTES ||
			    (bigger = realloc(buf, cap * 2)) == NULL) {
				errno = EMSGSIZE;
				break;
			}
			buf = bigger;
			cap *= 2;
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			errno = ETIMEDOUT;
		if (n == 0)
			errno = ECONNRESET;  /* closed before answering */
		if (n <= 0)
			break;
		buf[len + (size_t)n] = '\0';
		nl = memchr(buf + len, '\n', (size_t)n);
		len += (size_t)n;
		if (nl != NULL) {
			*nl = '\0';
			return buf;
		}
	}
	free(buf);
	return NULL;
}

/* Sends request (one line, newline added) to path; *answer receives the
 * answer line. Returns 0, or an exit status after saying why. */
static int
exchange(const char *path, const char *request, char **answer)
{
	struct timeval tv = {ANSWER_TIMEOUT_SECONDS, 0};
	struct sockaddr_un sa;
	size_t len = strlen(path);
	int fd, e;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (len == 0 || len >= sizeof(sa.sun_path))
		return unreachable(path, ENAMETOOLONG);
	memcpy(sa.sun_path, path, len + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return unreachable(path, errno);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		e = errno;
		close(fd);
		return unreachable(path, e);
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send_all(fd, request, strlen(request)) < 0 ||
	    send_all(fd, "\n", 1) < 0 || (*answer = read_line(fd)) == NULL) {
		e = errno;
		close(fd);
		if (e == ETIMEDOUT) {
			fprintf(stderr, "asterctl: no answer from asterd at "
			        "%s within %d seconds\n", path,
			        ANSWER_TIMEOUT_SECONDS);
			return EXIT_UNAVAILABLE;
		}
		return unreachable(path, e);
	}
	close(fd);
	return 0;
}

/* --- reading answers --------------------------------------------------- */

static json_object *
member(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (o == NULL || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

/* The string at key, or def when absent or not a string. */
static const char *
str(json_object *o, const char *key, const char *def)
{
	json_object *v = member(o, key);

	return json_object_is_type(v, json_type_string) ?
	       json_object_get_string(v) : def;
}

/* The value at key as text: strings as they are, numbers and the rest
 * as JSON, absent or null as def. */
static const char *
value(json_object *o, const char *key, const char *def)
{
	json_object *v = member(o, key);

	if (v == NULL)
		return def;
	if (json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

static size_t
array_len(json_object *a)
{
	return json_object_is_type(a, json_type_array) ?
	       json_object_array_length(a) : 0;
}

/* The strings of array a joined with sep, into a malloc'ed string. */
static char *
join(json_object *a, const char *sep)
{
	size_t i, n = array_len(a), len = 1;
	char *s;

	for (i = 0; i < n; i++)
		len += strlen(json_object_get_string(
		    json_object_array_get_idx(a, i))) + strlen(sep);
	if ((s = malloc(len)) == NULL)
		return NULL;
	*s = '\0';
	for (i = 0; i < n; i++) {
		if (i > 0)
			strcat(s, sep);
		strcat(s, json_object_get_string(
		    json_object_array_get_idx(a, i)));
	}
	return s;
}

/* --- tables ------------------------------------------------------------ */

#define TABLE_MAX_COLS 8

struct table {
	size_t ncols;
	size_t nrows, cap;
	char **cells;               /* nrows * ncols, malloc'ed each */
};

static void
table_row(struct table *t, const char *const *cells)
{
	char **bigger;
	size_t i;

	if (t->nrows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		bigger = realloc(t->cells, t->cap * t->ncols * sizeof(char *));
		if (bigger == NULL) {
			fputs("asterctl: out of memory\n", stderr);
			exit(EXIT_UNAVAILABLE);
		}
		t->cells = bigger;
	}
	for (i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] =
		    strdup(cells[i] != NULL ? cells[i] : "");
	t->nrows++;
}

/* Width on a terminal: UTF-8 continuation bytes take no column. */
static size_t
text_width(const char *s)
{
	size_t w = 0;

	for (; s != NULL && *s != '\0'; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

/* Columns two spaces apart; the last one is never padded. */
static void
table_print(struct table *t, FILE *out)
{
	size_t width[TABLE_MAX_COLS] = {0};
	size_t r, c, w;
	const char *cell;

	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncols; c++) {
			w = text_width(t->cells[r * t->ncols + c]);
			if (w > width[c])
				width[c] = w;
		}
	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncols; c++) {
			cell = t->cells[r * t->ncols + c];
			cell = cell != NULL ? cell : "";
			fputs(cell, out);
			if (c + 1 < t->ncols)
				fprintf(out, "%*s", (int)(width[c] -
				        text_width(cell) + 2), "");
		}
		fputc('\n', out);
	}
	for (r = 0; r < t->nrows * t->ncols; r++)
		free(t->cells[r]);
	free(t->cells);
	t->cells = NULL;
	t->nrows = t->cap = 0;
}

/* --- the commands, as text --------------------------------------------- */

/* 90061 -> "1d 1h 1m 1s"; 42 -> "42s". */
static void
format_duration(long long s, char *buf, size_t len)
{
	static const struct {
		long long secs;
		char unit;
	} units[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
	size_t i, used = 0;
	int n;

	buf[0] = '\0';
	if (s <= 0) {
		snprintf(buf, len, "0s");
		return;
	}
	for (i = 0; i < 4; i++) {
		if (s < units[i].secs)
			continue;
		n = snprintf(buf + used, len - used, "%s%lld%c",
		             used ? " " : "", s / units[i].secs, units[i].unit);
		if (n < 0 || (size_t)n >= len - used)
			return;
		used += (size_t)n;
		s %= units[i].secs;
	}
}

/* 3723000 ms -> "1h2m": the two largest units, for a table column;
 * 125000 -> "2m5s", 120000 -> "2m", 3000 -> "3s", below a second "0s". */
static void
format_uptime(long long ms, char *buf, size_t len)
{
	static const struct {
		long long secs;
		char unit;
	} units[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
	long long s = ms > 0 ? ms / 1000 : 0, rest;
	size_t i = 0;

	while (i < 3 && s < units[i].secs)
		i++;
	rest = i < 3 ? s % units[i].secs / units[i + 1].secs : 0;
	if (rest > 0)
		snprintf(buf, len, "%lld%c%lld%c", s / units[i].secs,
		         units[i].unit, rest, units[i + 1].unit);
	else
		snprintf(buf, len, "%lld%c", s / units[i].secs, units[i].unit);
}

/* "3 (2 ready, 1 failed)". */
static void
format_runtime_counts(json_object *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s (%s ready, %s failed)", value(c, "total", "?"),
	         value(c, "ready", "?"), value(c, "failed", "?"));
}

static void
show_status(json_object *a)
{
	struct table t = {2, 0, 0, NULL};
	json_object *prod = member(a, "product");
	json_object *ls = member(a, "listeners");
	json_object *lr = member(a, "lastReload");
	char buf[256], *scopes;
	const char *first = "listeners";
	size_t i;

	table_row(&t, (const char *[]){"state", str(a, "state", "?")});
	if (json_object_is_type(prod, json_type_object)) {
		snprintf(buf, sizeof(buf), "%s %s", str(prod, "id", "?"),
		         str(prod, "version", "?"));
		table_row(&t, (const char *[]){"product", buf});
	}
	table_row(&t, (const char *[]){"generation",
	                               value(a, "generation", "-")});
	format_duration(json_object_get_int64(member(a, "uptime")), buf,
	                sizeof(buf));
	table_row(&t, (const char *[]){"uptime", buf});
	table_row(&t, (const char *[]){"modules", value(a, "modules", "-")});
	table_row(&t, (const char *[]){"routes", value(a, "routes", "-")});
	/* A product without runtime processes is spared the line. */
	if (json_object_get_int64(member(member(a, "runtimes"), "total")) > 0) {
		format_runtime_counts(member(a, "runtimes"), buf, sizeof(buf));
		table_row(&t, (const char *[]){"runtimes", buf});
	}
	for (i = 0; i < array_len(ls); i++) {
		json_object *l = json_object_array_get_idx(ls, i);

		scopes = join(member(l, "scopes"), ", ");
		snprintf(buf, sizeof(buf), "%s (%s)%s", str(l, "address", "?"),
		         scopes != NULL ? scopes : "",
		         json_object_get_boolean(member(l, "tls")) ?
		         " with TLS" : "");
		free(scopes);
		table_row(&t, (const char *[]){first, buf});
		first = "";
	}
	if (array_len(ls) == 0)
		table_row(&t, (const char *[]){"listeners", "none"});
	if (str(lr, "at", NULL) == NULL)
		snprintf(buf, sizeof(buf), "never");
	else if (json_object_get_boolean(member(lr, "ok")))
		snprintf(buf, sizeof(buf), "%s ok%s%s%s", str(lr, "at", ""),
		         str(lr, "message", NULL) ? " (" : "",
		         str(lr, "message", ""),
		         str(lr, "message", NULL) ? ")" : "");
	else
		snprintf(buf, sizeof(buf), "%s failed: %s", str(lr, "at", ""),
		         str(lr, "message", "no reason given"));
	table_row(&t, (const char *[]){"last reload", buf});
	table_print(&t, stdout);
}

static void
show_modules(json_object *a)
{
	struct table t = {5, 0, 0, NULL};
	json_object *mods = member(a, "modules");
	char state[512];
	size_t i;

	table_row(&t, (const char *[]){"ID", "NAME", "VERSION", "WAVE",
	                               "STATE"});
	for (i = 0; i < array_len(mods); i++) {
		json_object *m = json_object_array_get_idx(mods, i);
		const char *cause = str(m, "cause", NULL);

		if (cause != NULL)
			snprintf(state, sizeof(state), "%s: %s",
			         str(m, "state", "?"), cause);
		else
			snprintf(state, sizeof(state), "%s",
			         str(m, "state", "?"));
		table_row(&t, (const char *[]){str(m, "id", "?"),
		          str(m, "displayName", ""), str(m, "version", ""),
		          value(m, "wave", "-"), state});
	}
	table_print(&t, stdout);
}

static void
show_routes(json_object *a)
{
	struct table t = {6, 0, 0, NULL};
	json_object *routes = member(a, "routes");
	size_t i;

	table_row(&t, (const char *[]){"ID", "MODULE", "SCOPE", "METHODS",
	                               "MATCH", "PATH"});
	for (i = 0; i < array_len(routes); i++) {
		json_object *r = json_object_array_get_idx(routes, i);
		char *methods = join(member(r, "methods"), ",");

		table_row(&t, (const char *[]){str(r, "id", "?"),
		          str(r, "module", ""), str(r, "scope", ""),
		          methods != NULL ? methods : "", str(r, "match", ""),
		          str(r, "mountPath", "")});
		free(methods);
	}
	table_print(&t, stdout);
}

/* One row per target: the upstream, its target, state, in flight, idle
 * pooled connections, and the upstream's attempts by outcome. */
static void
show_upstreams(json_object *a)
{
	struct table t = {6, 0, 0, NULL};
	json_object *ups = member(a, "upstreams");
	char att[256], state[64];
	size_t i, k;

	table_row(&t, (const char *[]){"UPSTREAM", "TARGET", "STATE",
	                               "IN FLIGHT", "IDLE", "ATTEMPTS"});
	for (i = 0; i < array_len(ups); i++) {
		json_object *u = json_object_array_get_idx(ups, i);
		json_object *ts = member(u, "targets"), *c = member(u,
		                                                    "attempts");

		snprintf(att, sizeof(att), "ok %s, connect_error %s, timeout "
		         "%s, reset %s, bad_response %s", value(c, "ok", "0"),
		         value(c, "connect_error", "0"),
		         value(c, "timeout", "0"), value(c, "reset", "0"),
		         value(c, "bad_response", "0"));
		for (k = 0; k < array_len(ts); k++) {
			json_object *tg = json_object_array_get_idx(ts, k);

			if (strcmp(str(tg, "state", ""), "ejected") == 0)
				snprintf(state, sizeof(state), "ejected (%lld "
				         "s left)", ((long long)
				         json_object_get_int64(member(tg,
				         "backInMs")) + 999) / 1000);
			else
				snprintf(state, sizeof(state), "%s",
				         str(tg, "state", "?"));
			table_row(&t, (const char *[]){k == 0 ?
			          str(u, "name", "?") : "", str(tg, "url", "?"),
			          state, value(tg, "inFlight", "0"),
			          value(tg, "idle", "0"), k == 0 ? att : ""});
		}
	}
	table_print(&t, stdout);
}

/* "exit 1", "signal 9 (SIGKILL)", or "-" before any exit. */
static void
format_last_exit(json_object *e, char *buf, size_t len)
{
	if (member(e, "signal") != NULL && str(e, "name", NULL) != NULL)
		snprintf(buf, len, "signal %s (%s)", value(e, "signal", "?"),
		         str(e, "name", ""));
	else if (member(e, "signal") != NULL)
		snprintf(buf, len, "signal %s", value(e, "signal", "?"));
	else if (member(e, "code") != NULL)
		snprintf(buf, len, "exit %s", value(e, "code", "?"));
	else
		snprintf(buf, len, "-");
}

/* The state, with the time to the next start in backoff (milliseconds
 * below a second: the first delays are 100, 200, 400 ms) and the cause
 * of a failure. */
static void
format_runtime_state(json_object *r, char *buf, size_t len)
{
	const char *state = str(r, "state", "?");
	long long ms = json_object_get_int64(member(r, "retryInMs"));
	char retry[48];

	if (strcmp(state, "backoff") == 0 && member(r, "retryInMs") != NULL) {
		if (ms < 1000)
			snprintf(retry, sizeof(retry), "%lldms", ms);
		else
			format_uptime(ms + 999, retry, sizeof(retry));
		snprintf(buf, len, "backoff (retry in %s)", retry);
	} else if (strcmp(state, "failed") == 0 &&
	           str(r, "cause", NULL) != NULL) {
		snprintf(buf, len, "failed: %s", str(r, "cause", ""));
	} else {
		snprintf(buf, len, "%s", state);
	}
}

static void
show_runtimes(json_object *a)
{
	struct table t = {6, 0, 0, NULL};
	json_object *rts = member(a, "runtimes");
	char state[512], last[64], up[48];
	size_t i;

	table_row(&t, (const char *[]){"MODULE", "PID", "STATE", "RESTARTS",
	                               "LAST-EXIT", "UPTIME"});
	for (i = 0; i < array_len(rts); i++) {
		json_object *r = json_object_array_get_idx(rts, i);

		format_runtime_state(r, state, sizeof(state));
		format_last_exit(member(r, "lastExit"), last, sizeof(last));
		if (member(r, "pid") != NULL)
			format_uptime(json_object_get_int64(member(r,
			              "uptimeMs")), up, sizeof(up));
		else
			snprintf(up, sizeof(up), "-");
		table_row(&t, (const char *[]){str(r, "module", "?"),
		          value(r, "pid", "-"), state,
		          value(r, "restarts", "0"), last, up});
	}
	table_print(&t, stdout);
}

static void
show_plan(json_object *a)
{
	json_object *waves = member(a, "waves");
	size_t i;

	for (i = 0; i < array_len(waves); i++) {
		char *ids = join(json_object_array_get_idx(waves, i), ", ");

		printf("wave %zu: %s\n", i + 1, ids != NULL ? ids : "");
		free(ids);
	}
}

/*
 * One diagnostic of SPEC §5's JSON form, as --check-config prints it:
 * file:line:col: severity: message [code], then hint and notes.
 */
static void
show_diagnostic(json_object *d, FILE *out)
{
	json_object *notes = member(d, "notes");
	const char *hint = str(d, "hint", NULL);
	size_t i;

	fputs(str(d, "file", "?"), out);
	if (member(d, "line") != NULL)
		fprintf(out, ":%s:%s", value(d, "line", "0"),
		        value(d, "column", "0"));
	fprintf(out, ": %s: %s [%s]\n", str(d, "severity", "error"),
	        str(d, "message", ""), str(d, "code", "?"));
	if (hint != NULL)
		fprintf(out, "  hint: %s\n", hint);
	for (i = 0; i < array_len(notes); i++) {
		json_object *n = json_object_array_get_idx(notes, i);

		fprintf(out, "  note: %s", str(n, "file", "?"));
		if (member(n, "line") != NULL)
			fprintf(out, ":%s:%s", value(n, "line", "0"),
			        value(n, "column", "0"));
		fprintf(out, ": %s\n", str(n, "message", ""));
	}
}

static void
show_diagnostics(json_object *a)
{
	json_object *diags = member(a, "diagnostics");
	size_t i;

	for (i = 0; i < array_len(diags); i++)
		show_diagnostic(json_object_array_get_idx(diags, i), stderr);
}

/* The modules and routes a reload changes (or, dry, would change). */
static void
show_reload(json_object *a)
{
	static const struct {
		const char *key;
		const char *label;
	} lists[] = {
		{"stop", "  stop"},
		{"start", "  start"},
		{"restart", "  restart"},
		{"routesAdded", "  routes added"},
		{"routesRemoved", "  routes removed"},
	};
	struct table t = {2, 0, 0, NULL};
	int dry = json_object_get_boolean(member(a, "dryRun"));
	size_t i, changes = 0;
	char *ids;

	show_diagnostics(a);    /* warnings */
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		if (array_len(member(a, lists[i].key)) == 0)
			continue;
		ids = join(member(a, lists[i].key), ", ");
		table_row(&t, (const char *[]){lists[i].label,
		                               ids != NULL ? ids : ""});
		free(ids);
		changes++;
	}
	if (dry)
		printf("dry run: the configuration is valid; %s\n", changes ?
		       "a reload would make these changes:" :
		       "a reload would change nothing");
	else
		printf("reload ok: generation %s%s\n",
		       value(a, "generation", "?"), changes ? "" :
		       "; no module or route changed");
	table_print(&t, stdout);
}

/* --- keys ------------------------------------------------------------- */

static void
add_keys_request(json_object *req, const struct options *o)
{
	json_object *spaces;
	const char *p, *comma;

	json_object_object_add(req, "action", json_object_new_string(
	                       o->action));
	if (o->key_id != NULL)
		json_object_object_add(req, "id",
		                       json_object_new_string(o->key_id));
	if (o->name != NULL)
		json_object_object_add(req, "name",
		                       json_object_new_string(o->name));
	if (o->role != NULL)
		json_object_object_add(req, "role",
		                       json_object_new_string(o->role));
	if (o->expires != NULL)
		json_object_object_add(req, "expires_at",
		                       json_object_new_string(o->expires));
	if (o->spaces == NULL)
		return;
	spaces = json_object_new_array();
	for (p = o->spaces; *p != '\0'; p = *comma ? comma + 1 : comma) {
		comma = p + strcspn(p, ",");
		if (comma > p)
			json_object_array_add(spaces,
			    json_object_new_string_len(p, (int)(comma - p)));
	}
	json_object_object_add(req, "spaces", spaces);
}

/* The key alone on the first line (the one time it is shown), then its
 * fields. */
static void
show_created_key(json_object *k)
{
	struct table t = {2, 0, 0, NULL};
	char *spaces = join(member(k, "spaces"), ",");

	printf("%s\n", str(k, "key", ""));
	table_row(&t, (const char *[]){"id", str(k, "id", "?")});
	table_row(&t, (const char *[]){"name", str(k, "name", "")});
	table_row(&t, (const char *[]){"role", str(k, "role", "")});
	table_row(&t, (const char *[]){"spaces", spaces != NULL && *spaces ?
	                               spaces : "all"});
	table_row(&t, (const char *[]){"expires", str(k, "expires_at",
	                                              "never")});
	table_print(&t, stdout);
	free(spaces);
}

static void
show_keys(const struct options *o, json_object *a)
{
	struct table t = {7, 0, 0, NULL};
	json_object *keys = member(a, "keys");
	size_t i;

	if (strcmp(o->action, "create") == 0) {
		show_created_key(member(a, "key"));
		return;
	}
	if (strcmp(o->action, "revoke") == 0) {
		printf("revoked %s\n", str(member(a, "key"), "id", "?"));
		return;
	}
	table_row(&t, (const char *[]){"ID", "NAME", "ROLE", "SPACES",
	          "EXPIRES", "LAST USED", "REVOKED"});
	for (i = 0; i < array_len(keys); i++) {
		json_object *k = json_object_array_get_idx(keys, i);
		char *spaces = join(member(k, "spaces"), ",");

		table_row(&t, (const char *[]){str(k, "id", "?"),
		          str(k, "name", ""), str(k, "role", ""),
		          spaces != NULL && *spaces ? spaces : "all",
		          str(k, "expires_at", "never"),
		          str(k, "last_used_at", "never"),
		          str(k, "revoked_at", "-")});
		free(spaces);
	}
	table_print(&t, stdout);
}

/* --- main -------------------------------------------------------------- */

static char *
build_request(const struct options *o)
{
	json_object *req = json_object_new_object();
	char *text;

	json_object_object_add(req, "command",
	                       json_object_new_string(o->command));
	if (strcmp(o->command, "reload") == 0)
		json_object_object_add(req, "dryRun",
		                       json_object_new_boolean(o->dry_run));
	if (strcmp(o->command, "keys") == 0)
		add_keys_request(req, o);
	if (o->module != NULL)
		json_object_object_add(req, "module",
		                       json_object_new_string(o->module));
	text = strdup(json_object_to_json_string_ext(req,
	    JSON_C_TO_STRING_PLAIN));
	json_object_put(req);
	return text;
}

/* Shows an answer; returns the exit status. */
static int
show(const struct options *o, const char *line)
{
	json_object *a = json_tokener_parse(line);
	int ok;

	if (!json_object_is_type(a, json_type_object) ||
	    !json_object_is_type(member(a, "ok"), json_type_boolean)) {
		fputs("asterctl: the answer is not asterd's JSON\n", stderr);
		json_object_put(a);
		return EXIT_UNAVAILABLE;
	}
	ok = json_object_get_boolean(member(a, "ok"));
	if (o->json && ok && strcmp(o->command, "keys") == 0 &&
	    strcmp(o->action, "create") == 0) {
		/* SPEC 12: the key object itself, for scripts to keep. */
		printf("%s\n", json_object_to_json_string_ext(member(a, "key"),
		       JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	} else if (o->json) {
		printf("%s\n", line);
	} else if (!ok) {
		show_diagnostics(a);
		fprintf(stderr, "asterctl: %s%s\n",
		        strcmp(o->command, "reload") == 0 ? "reload refused: " :
		        "", str(a, "error", "refused, no reason given"));
	} else if (strcmp(o->command, "status") == 0) {
		show_status(a);
	} else if (strcmp(o->command, "modules") == 0) {
		show_modules(a);
	} else if (strcmp(o->command, "routes") == 0) {
		show_routes(a);
	} else if (strcmp(o->command, "upstreams") == 0) {
		show_upstreams(a);
	} else if (strcmp(o->command, "plan") == 0) {
		show_plan(a);
	} else if (strcmp(o->command, "runtimes") == 0) {
		show_runtimes(a);
	} else if (strcmp(o->command, "restart") == 0) {
		printf("restarting %s\n", str(a, "module", o->module));
	} else if (strcmp(o->command, "keys") == 0) {
		show_keys(o, a);
	} else {
		show_reload(a);
	}
	json_object_put(a);
	if (fflush(stdout) != 0) {
		perror("asterctl: stdout");
		return EXIT_UNAVAILABLE;
	}
	return ok ? 0 : EXIT_REFUSED;
}

int
main(int argc, char **argv)
{
	struct options o = {0};
	char *path = NULL, *request, *answer = NULL;
	int rc;

	if ((rc = parse_options(argc, argv, &o)) != 0)
		return rc;
	if ((rc = find_socket(&o, &path)) != 0)
		return rc;
	if ((request = build_request(&o)) == NULL) {
		fputs("asterctl: out of memory\n", stderr);
		free(path);
		return EXIT_UNAVAILABLE;
	}
	rc = exchange(path, request, &answer);
	if (rc == 0)
		rc = show(&o, answer);
	free(answer);
	free(request);
	free(path);
	return rc;
}
