/*
 * interp.c - ${NAME} and ${NAME:-default} expansion from the environment.
 *
 * One routine walks the string twice: first to check every reference and
 * measure the result, then to write it. A scalar thus costs one arena
 * allocation of the exact size, and nothing at all when it holds no `$`,
 * which is nearly every scalar of a manifest.
 */
#include "config/interp.h"

#include <stdlib.h>
#include <string.h>

#include "util/arena.h"

#define MALFORMED "malformed ${...} reference"

/* Names up to this long are looked up without an arena copy. */
#define NAME_BUF 128

static int
is_name_start(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static int
is_name_char(char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

/* getenv on a name that is not NUL-terminated in the input. */
static const char *
env_lookup(struct arena *a, const char *name, size_t len)
{
	char buf[NAME_BUF];

	if (len < sizeof(buf)) {
		memcpy(buf, name, len);
		buf[len] = '\0';
		return getenv(buf);
	}
	return getenv(arena_strndup(a, name, len));
}

/*
 * Resolves the reference starting at in[i] == '$', in[i + 1] == '{'.
 * Sets *val and *vallen to its text and *end just past its `}`; returns 0,
 * or -1 with *problem and *unset set.
 *
 * A default containing `${` is refused: nesting is not supported, and
 * reading "${A:-${B}}" as the default "${B" followed by a stray "}"
 * would silently produce nonsense.
 */
static int
resolve(struct arena *a, const char *in, size_t len, size_t i,
        const char **val, size_t *vallen, size_t *end, const char **problem,
        int *unset)
{
	const char *name, *env, *def = NULL;
	size_t namelen, deflen = 0, j = i + 2;

	name = in + j;
	if (j >= len || !is_name_start(in[j]))
		goto malformed;
	while (j < len && is_name_char(in[j]))
		j++;
	namelen = (size_t)(in + j - name);
	if (j + 1 < len && in[j] == ':' && in[j + 1] == '-') {
		j += 2;
		def = in + j;
		while (j < len && in[j] != '}') {
			if (in[j] == '$' && j + 1 < len && in[j + 1] == '{')
				goto malformed;
			j++;
		}
		deflen = (size_t)(in + j - def);
	}
	if (j >= len || in[j] != '}')
		goto malformed;
	*end = j + 1;

	env = env_lookup(a, name, namelen);
	if (def != NULL && (env == NULL || *env == '\0')) {
		*val = def;
		*vallen = deflen;
		return 0;
	}
	if (env == NULL) {
		*problem = arena_printf(a, "environment variable '%.*s' is not set",
		                        (int)namelen, name);
		*unset = 1;
		return -1;
	}
	*val = env;
	*vallen = strlen(env);
	return 0;

malformed:
	*problem = arena_strdup(a, MALFORMED);
	*unset = 0;
	return -1;
}

/* Copies n bytes to dst[o..] without passing cap; dst NULL measures. */
static void
put(char *dst, size_t cap, size_t o, const char *s, size_t n)
{
	if (dst == NULL || o >= cap)
		return;
	memcpy(dst + o, s, n < cap - o ? n : cap - o);
}

/*
 * Expands in into dst (at most cap bytes), or only measures when dst is
 * NULL. Sets *outlen and *changed (whether any `$${` or reference was
 * seen); returns 0, or -1 with *problem and *unset set at the first bad
 * reference.
 */
static int
expand(struct arena *a, const char *in, size_t len, char *dst, size_t cap,
       size_t *outlen, int *changed, const char **problem, int *unset)
{
	size_t i = 0, o = 0, vallen, end;
	const char *val;

	*changed = 0;
	while (i < len) {
		if (in[i] == '$' && i + 2 < len && in[i + 1] == '$' &&
		    in[i + 2] == '{') {
			put(dst, cap, o, "${", 2);
			o += 2;
			i += 3;
			*changed = 1;
		} else if (in[i] == '$' && i + 1 < len && in[i + 1] == '{') {
			if (resolve(a, in, len, i, &val, &vallen, &end, problem,
			    unset) == -1)
				return -1;
			put(dst, cap, o, val, vallen);
			o += vallen;
			i = end;
			*changed = 1;
		} else {
			put(dst, cap, o, in + i, 1);
			o++;
			i++;
		}
	}
	*outlen = o;
	return 0;
}

int
interp_expand(struct arena *a, const char *in, size_t len, const char **out,
              size_t *outlen, const char **problem, int *unset)
{
	size_t n, written;
	int changed;
	char *buf;

	*unset = 0;
	if (len == 0 || memchr(in, '$', len) == NULL) {
		*out = in;
		*outlen = len;
		return 0;
	}
	if (expand(a, in, len, NULL, 0, &n, &changed, problem, unset) == -1)
		return -1;
	if (!changed) {
		*out = in;
		*outlen = len;
		return 0;
	}
	/* Writes are clamped to the measured size: should the environment
	 * change between the passes, the value is cut short, never overrun. */
	buf = arena_alloc(a, n + 1);
	if (expand(a, in, len, buf, n, &written, &changed, problem,
	    unset) == -1)
		return -1;
	if (written > n)
		written = n;
	buf[written] = '\0';
	*out = buf;
	*outlen = written;
	return 0;
}
