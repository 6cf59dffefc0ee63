/*
 * fuzz_jwks.c - libFuzzer target for the JWKS reader of the auth provider
 * (au_jwks_load, modules/auth/jwks.c, built into this program with the
 * rest of modules/auth: see fuzz_jwks_SRCS in the Makefile).
 *
 * The input is the file: it is written to a memfd and read through its
 * /proc/self/fd path, as the provider reads the file its config names, so
 * nothing touches the disk. A set that loads must hold only keys the
 * reader promises (jwks.c): a unique non-empty kid that au_jwks_find gives
 * back, an oct secret of 32 bytes or more, an OpenSSL key for RSA, EC and
 * OKP, an alg that is the one its type allows; a set that does not load
 * gives a one-line message. Either way everything is freed (LeakSanitizer
 * judges).
 *
 * Seeds (tests/fuzz/seeds/jwks/) are JWKS files with the key types of
 * tests/integration/test_auth_jwt.c and the ways the reader refuses one.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "auth/au.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "fuzz_jwks: %s:%d: broken: %s\n", \
		        __FILE__, __LINE__, #cond); \
		abort(); \
	} \
} while (0)

static const char *const kty_alg[] = {
	[AU_KTY_OCT] = "HS256",
	[AU_KTY_RSA] = "RS256",
	[AU_KTY_EC] = "ES256",
	[AU_KTY_OKP] = "EdDSA",
};

static void
check_set(const struct au_jwks *set)
{
	const struct au_jwk *k;
	size_t i;

	check(set->n > 0 && set->keys != NULL);
	for (i = 0; i < set->n; i++) {
		k = &set->keys[i];
		check(k->kid != NULL && k->kid[0] != '\0');
		check(au_jwks_find(set, k->kid, strlen(k->kid)) == k);
		check(k->kty <= AU_KTY_OKP);
		check(strcmp(au_kty_name(k->kty), "?") != 0);
		check(k->alg == NULL || strcmp(k->alg, kty_alg[k->kty]) == 0);
		if (k->kty == AU_KTY_OCT)
			check(k->secret != NULL && k->secret_len >= 32 &&
			      k->pkey == NULL);
		else
			check(k->pkey != NULL && k->secret == NULL);
	}
	check(au_jwks_find(set, "", 0) == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct au_jwks *set;
	char path[64], err[512] = "";
	int fd;

	if ((fd = memfd_create("jwks", MFD_CLOEXEC)) < 0)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	set = au_jwks_load(path, err, sizeof(err));
	close(fd);
	if (set == NULL) {
		check(err[0] != '\0' && strchr(err, '\n') == NULL);
		return 0;
	}
	check_set(set);
	au_jwks_free(set);
	return 0;
}
