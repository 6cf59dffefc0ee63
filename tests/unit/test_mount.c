/*
 * test_mount.c - route mount paths (SPEC §3.2): syntax, shapes, and the
 * admin and internal prefixes.
 *
 * Table-driven: a failing row names its path.
 */
#include "unit.h"

#include <string.h>

#include "graph/mount.h"
#include "util/arena.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static struct arena *arena;

static void
setup(void)
{
	arena = arena_new();
	ck_assert_ptr_nonnull(arena);
}

static void
teardown(void)
{
	arena_free(arena);
	arena = NULL;
}

/* A valid path and the shape it has. */
struct shaped {
	const char *path;
	const char *shape;
};

static const struct shaped valid[] = {
	{"/", "/"},
	{"/a", "/a"},
	{"/gateway/v1/health", "/gateway/v1/health"},
	{"/a/{x}/b", "/a/{}/b"},
	{"/{x}", "/{}"},
	{"/a/{x}", "/a/{}"},
	{"/a/{x}/{y}", "/a/{}/{}"},
	{"/spaces/{spaceId}/installations/{installationId}",
	 "/spaces/{}/installations/{}"},
	{"/gateway/v1/openapi.json", "/gateway/v1/openapi.json"},
	{"/a-b_c~d", "/a-b_c~d"},
	{"/caf%C3%A9", "/caf%C3%A9"},
	/* Shapes spell a literal's decoded bytes one way. */
	{"/%68ealth", "/health"},
	{"/caf%c3%a9", "/caf%C3%A9"},
	{"/a%252Fb", "/a%252Fb"},
	{"/a%2E", "/a."},
	{"/%2E%2E%2E", "/..."},
	{"/a%20b/%7E%3a", "/a%20b/~:"},
	{"/%5B%7B%7D%5D", "/%5B%7B%7D%5D"},
	{"/v1/items:batch", "/v1/items:batch"},
	{"/{_private}", "/{}"},
	{"/{p1}", "/{}"},
	{"/a.b/c..d", "/a.b/c..d"},
};

START_TEST(test_valid_paths)
{
	const struct shaped *row = &valid[_i];
	const char *shape = NULL;
	const char *why = mount_check(arena, row->path, &shape);

	ck_assert_msg(why == NULL, "'%s' should be valid, got: %s",
	              row->path, why);
	ck_assert_ptr_nonnull(shape);
	ck_assert_str_eq(shape, row->shape);
}
END_TEST

/* Every form SPEC §3.2 forbids, and a few it implies. */
static const char *const invalid[] = {
	"",
	"a",
	"gateway/v1/health",
	"/a/",
	"/a/b/",
	"//",
	"/a//b",
	"//a",
	"/a/..",
	"/../a",
	"/a/../b",
	"/..",
	"/a?x=1",
	"/a?",
	"/a#frag",
	"/#",
	"/a/b{x}",
	"/a/{x}b",
	"/a/{x",
	"/a/x}",
	"/a/{}",
	"/a/{x}/{x}",
	"/a/{x/y}",
	"/a b",
	"/a\tb",
	"/%zz",
	"/%4",
	/* Literals a request segment can never equal (SPEC §7.1). */
	"/a%2Fb",
	"/a%2fb",
	"/%2F",
	"/%2e",
	"/a/%2E%2e",
	"/a/.%2e/b",
	"/%00",
	"/a%00b",
	"/%FF",
	"/%C0%AF",
	"/%ED%A0%80",
	"/%C3",
};

START_TEST(test_invalid_paths)
{
	const char *path = invalid[_i];
	const char *shape = "untouched";
	const char *why = mount_check(arena, path, &shape);

	ck_assert_msg(why != NULL, "'%s' should be invalid", path);
	ck_assert_msg(*why != '\0', "'%s': the reason is empty", path);
}
END_TEST

/* Paths that differ only in parameter names share a shape; a literal and
 * a parameter do not. */
START_TEST(test_shapes_compare)
{
	const char *s1, *s2, *s3, *s4;

	ck_assert_ptr_null(mount_check(arena, "/items/{a}", &s1));
	ck_assert_ptr_null(mount_check(arena, "/items/{itemId}", &s2));
	ck_assert_ptr_null(mount_check(arena, "/items/latest", &s3));
	ck_assert_ptr_null(mount_check(arena, "/items/{a}/parts", &s4));
	ck_assert_str_eq(s1, s2);
	ck_assert_str_ne(s1, s3);
	ck_assert_str_ne(s1, s4);
	/* The router decodes literals: so do shapes. */
	ck_assert_ptr_null(mount_check(arena, "/items/%6Catest", &s4));
	ck_assert_str_eq(s3, s4);
	ck_assert_ptr_null(mount_check(arena, "/items/late%53t", &s4));
	ck_assert_str_ne(s3, s4);
}
END_TEST

/* The reason names what is wrong, for the operator. */
START_TEST(test_reasons_are_specific)
{
	const char *shape;

	ck_assert_ptr_nonnull(strstr(mount_check(arena, "a", &shape), "/"));
	ck_assert_ptr_nonnull(strstr(mount_check(arena, "/a//b", &shape),
	                             "//"));
	ck_assert_ptr_nonnull(strstr(mount_check(arena, "/a/../b", &shape),
	                             ".."));
	ck_assert_ptr_nonnull(strstr(mount_check(arena, "/a?b", &shape),
	                             "?"));
}
END_TEST

struct under {
	const char *path;
	const char *prefix;
	int want;
};

static const struct under unders[] = {
	{"/gateway/v1/admin", MOUNT_ADMIN_PREFIX, 1},
	{"/gateway/v1/admin/keys", MOUNT_ADMIN_PREFIX, 1},
	{"/gateway/v1/admin/keys/{keyId}", MOUNT_ADMIN_PREFIX, 1},
	{"/gateway/v1/administrator", MOUNT_ADMIN_PREFIX, 0},
	{"/gateway/v1/admins/x", MOUNT_ADMIN_PREFIX, 0},
	{"/gateway/v1", MOUNT_ADMIN_PREFIX, 0},
	{"/gateway/v1/", MOUNT_ADMIN_PREFIX, 0},
	{"/", MOUNT_ADMIN_PREFIX, 0},
	{"/admin", MOUNT_ADMIN_PREFIX, 0},
	{"/x/gateway/v1/admin", MOUNT_ADMIN_PREFIX, 0},
	{"/gateway/v1/internal", MOUNT_INTERNAL_PREFIX, 1},
	{"/gateway/v1/internal/state/{namespace}/{key}",
	 MOUNT_INTERNAL_PREFIX, 1},
	{"/gateway/v1/internals", MOUNT_INTERNAL_PREFIX, 0},
	{"/gateway/v1/internal-metrics", MOUNT_INTERNAL_PREFIX, 0},
	{"/gateway/v1/admin", MOUNT_INTERNAL_PREFIX, 0},
	{"/gateway/v1/internal/admin", MOUNT_ADMIN_PREFIX, 0},
};

START_TEST(test_under_prefix)
{
	const struct under *row = &unders[_i];

	ck_assert_msg(mount_under(row->path, row->prefix) == row->want,
	              "mount_under('%s', '%s') should be %d", row->path,
	              row->prefix, row->want);
}
END_TEST

START_TEST(test_prefix_constants)
{
	ck_assert_str_eq(MOUNT_ADMIN_PREFIX, "/gateway/v1/admin");
	ck_assert_str_eq(MOUNT_INTERNAL_PREFIX, "/gateway/v1/internal");
}
END_TEST

static Suite *
mount_suite(void)
{
	Suite *s = suite_create("mount");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_valid_paths, 0, (int)NELEM(valid));
	tcase_add_loop_test(tc, test_invalid_paths, 0, (int)NELEM(invalid));
	tcase_add_test(tc, test_shapes_compare);
	tcase_add_test(tc, test_reasons_are_specific);
	tcase_add_loop_test(tc, test_under_prefix, 0, (int)NELEM(unders));
	tcase_add_test(tc, test_prefix_constants);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(mount_suite)
