/*
 * fuzz_jwt.c - libFuzzer target for the JWT reader of the auth provider
 * (au_jwt_verify, modules/auth/jwt.c, built into this program with the
 * rest of modules/auth: see fuzz_jwt_SRCS in the Makefile).
 *
 * The keys are made once, in LLVMFuzzerInitialize, never fetched: an
 * HS256 secret and an Ed25519 key from fixed bytes, an RSA 2048 and an
 * EC P-256 key from OpenSSL's generator. Their public JWKS is written to
 * a memfd and read with au_jwks_load, as the provider reads its file.
 *
 * Byte 0 of an input chooses: low three bits the mode, bit 3 whether the
 * instance checks an issuer and an audience, bits 4-5 the leeway, bit 6
 * whether role and spaces are read from the claims aster_role and
 * aster_spaces (as tests/integration/test_auth_jwt.c configures them).
 *   mode 0 (and 5-7): the rest is a bearer token, verified as it is;
 *   modes 1-4: the rest is a header and a payload (JSON, cut at the first
 *   newline), which the target encodes and signs with the HS256, RS256,
 *   ES256 or EdDSA key (kids hs, rs, es, ed), so that the claims are
 *   reached whatever the fuzzer writes there.
 * The answer must come inside the call, once: OK with a "jwt" credential
 * (non-empty sub, role admin or user, spaces that are non-empty strings),
 * or INVALID with a one-line detail that does not quote the token. The
 * cache is sized 0, so nothing is carried from one input to the next, and
 * time() is this file's fixed clock, so exp and nbf judge alike every
 * day.
 *
 * Seeds (tests/fuzz/seeds/jwt/) are the header and claim sets of
 * tests/integration/test_auth_jwt.c in modes 1-4 and HS256 tokens signed
 * with this file's secret in mode 0.
 */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "auth/au.h"

/* 2026-01-01T00:00:00Z: every input sees the same now. */
#define FUZZ_NOW 1767225600

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "fuzz_jwt: %s:%d: broken: %s\n", __FILE__, \
		        __LINE__, #cond); \
		abort(); \
	} \
} while (0)

/* The HS256 secret (kid hs) and the Ed25519 private key (kid ed). */
static const unsigned char hs_secret[32] = "fuzz-jwt-hs256-secret-32-bytes!";
static const unsigned char ed_seed[32] = "fuzz-jwt-ed25519-seed-32-bytes!";

static EVP_PKEY *rsa, *ec, *ed;
static struct au_jwks *jwks;

time_t
time(time_t *t)
{
	if (t != NULL)
		*t = FUZZ_NOW;
	return FUZZ_NOW;
}

static char *
b64url(const unsigned char *p, size_t n)
{
	char *out = malloc(n * 4 / 3 + 4);

	if (out == NULL)
		abort();
	au_b64url_encode(p, n, out);
	return out;
}

static char *
b64url_bn(const BIGNUM *bn, int pad)
{
	unsigned char buf[512];
	int n = pad > 0 ? BN_bn2binpad(bn, buf, pad) : BN_bn2bin(bn, buf);

	if (n <= 0)
		abort();
	return b64url(buf, (size_t)n);
}

static void
append(char *buf, size_t len, const char *fmt, ...)
{
	size_t at = strlen(buf);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf + at, len - at, fmt, ap);
	va_end(ap);
}

/* The public JWKS of the four keys, read back through au_jwks_load. */
static struct au_jwks *
load_jwks(void)
{
	static char text[8192];
	BIGNUM *n = NULL, *e = NULL, *x = NULL, *y = NULL;
	unsigned char raw[32];
	size_t rawlen = sizeof(raw);
	char *a, *b, *c, *d, *k, *r, path[64], err[512];
	struct au_jwks *set;
	int fd;

	if (EVP_PKEY_get_bn_param(rsa, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
	    EVP_PKEY_get_bn_param(rsa, OSSL_PKEY_PARAM_RSA_E, &e) != 1 ||
	    EVP_PKEY_get_bn_param(ec, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
	    EVP_PKEY_get_bn_param(ec, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1 ||
	    EVP_PKEY_get_raw_public_key(ed, raw, &rawlen) != 1)
		abort();
	k = b64url(hs_secret, sizeof(hs_secret));
	a = b64url_bn(n, 0);
	b = b64url_bn(e, 0);
	c = b64url_bn(x, 32);
	d = b64url_bn(y, 32);
	r = b64url(raw, rawlen);
	append(text, sizeof(text), "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"hs\","
	       "\"alg\":\"HS256\",\"use\":\"sig\",\"k\":\"%s\"},", k);
	append(text, sizeof(text), "{\"kty\":\"RSA\",\"kid\":\"rs\",\"alg\":"
	       "\"RS256\",\"n\":\"%s\",\"e\":\"%s\"},", a, b);
	append(text, sizeof(text), "{\"kty\":\"EC\",\"kid\":\"es\",\"crv\":"
	       "\"P-256\",\"x\":\"%s\",\"y\":\"%s\"},", c, d);
	append(text, sizeof(text), "{\"kty\":\"OKP\",\"kid\":\"ed\",\"crv\":"
	       "\"Ed25519\",\"alg\":\"EdDSA\",\"x\":\"%s\"}]}\n", r);
	free(k); free(a); free(b); free(c); free(d); free(r);
	BN_free(n); BN_free(e); BN_free(x); BN_free(y);
	if ((fd = memfd_create("jwks", MFD_CLOEXEC)) < 0 ||
	    write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	set = au_jwks_load(path, err, sizeof(err));
	close(fd);
	if (set == NULL) {
		fprintf(stderr, "fuzz_jwt: the JWKS is refused: %s\n", err);
		exit(1);
	}
	return set;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	rsa = EVP_RSA_gen(2048);
	ec = EVP_EC_gen("P-256");
	ed = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, ed_seed,
	                                  sizeof(ed_seed));
	if (rsa == NULL || ec == NULL || ed == NULL) {
		fputs("fuzz_jwt: OpenSSL could not make the keys\n", stderr);
		exit(1);
	}
	jwks = load_jwks();
	return 0;
}

/* The JWS signature of msg with the mode's key, base64url; NULL when
 * OpenSSL fails. */
static char *
sign(int mode, const char *msg, size_t mlen)
{
	unsigned char sig[512], rs[64];
	unsigned int hlen = 0;
	size_t slen = sizeof(sig);
	const unsigned char *p = sig;
	EVP_PKEY *key = mode == 2 ? rsa : mode == 3 ? ec : ed;
	EVP_MD_CTX *ctx;
	ECDSA_SIG *es;
	int ok;

	if (mode == 1) {
		if (HMAC(EVP_sha256(), hs_secret, sizeof(hs_secret),
		         (const unsigned char *)msg, mlen, sig, &hlen) == NULL)
			abort();
		return b64url(sig, hlen);
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		abort();
	ok = EVP_DigestSignInit(ctx, NULL, mode == 4 ? NULL : EVP_sha256(),
	                        NULL, key) == 1 &&
	     EVP_DigestSign(ctx, sig, &slen, (const unsigned char *)msg,
	                    mlen) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		abort();
	if (mode != 3)
		return b64url(sig, slen);
	/* ES256 is r || s, not DER (RFC 7518 §3.4). */
	if ((es = d2i_ECDSA_SIG(NULL, &p, (long)slen)) == NULL ||
	    BN_bn2binpad(ECDSA_SIG_get0_r(es), rs, 32) != 32 ||
	    BN_bn2binpad(ECDSA_SIG_get0_s(es), rs + 32, 32) != 32)
		abort();
	ECDSA_SIG_free(es);
	return b64url(rs, sizeof(rs));
}

/* header "." payload "." signature for the JSON texts of the input. */
static char *
make_token(int mode, const uint8_t *p, size_t n, size_t *len)
{
	const uint8_t *nl = memchr(p, '\n', n);
	size_t hl = nl != NULL ? (size_t)(nl - p) : n;
	char *h = b64url(p, hl);
	char *c = b64url(nl != NULL ? nl + 1 : p + n,
	                 nl != NULL ? n - hl - 1 : 0);
	char *msg, *sig, *tok;

	if (asprintf(&msg, "%s.%s", h, c) < 0)
		abort();
	sig = sign(mode, msg, strlen(msg));
	if (asprintf(&tok, "%s.%s", msg, sig) < 0)
		abort();
	free(h);
	free(c);
	free(msg);
	free(sig);
	*len = strlen(tok);
	return tok;
}

struct answer {
	int calls;
	enum aster_auth_status st;
	const char *token;
	size_t len;
};

static void
answered(void *arg, enum aster_auth_status st,
         const struct aster_credential *cred, const char *detail)
{
	struct answer *an = arg;
	size_t i;

	an->calls++;
	an->st = st;
	if (st == ASTER_AUTH_OK) {
		check(cred != NULL && detail == NULL);
		check(strcmp(cred->kind, "jwt") == 0);
		check(cred->id != NULL && cred->id[0] != '\0');
		check(strcmp(cred->role, "admin") == 0 ||
		      strcmp(cred->role, "user") == 0);
		check(cred->nspaces == 0 || cred->spaces != NULL);
		for (i = 0; i < cred->nspaces; i++)
			check(cred->spaces[i] != NULL &&
			      cred->spaces[i][0] != '\0');
		return;
	}
	check(st == ASTER_AUTH_INVALID);
	check(cred == NULL && detail != NULL && detail[0] != '\0');
	for (i = 0; detail[i] != '\0'; i++)
		check((unsigned char)detail[i] >= 0x20 && detail[i] != 0x7f);
	check(an->len < 16 || memmem(detail, strlen(detail), an->token,
	                             an->len) == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t leeways[] = {0, 1, 60, 3600};
	struct au_auth a;
	struct answer an;
	char *made = NULL;
	const char *token;
	size_t len;
	int mode;

	if (size == 0 || size > AU_TOKEN_MAX)
		return 0;
	memset(&a, 0, sizeof(a));
	a.jwt_on = 1;
	a.jwks = jwks;
	a.leeway = leeways[(data[0] >> 4) & 3];
	if (data[0] & 8) {
		a.issuer = "https://issuer.test/";
		a.audience = "aster-test";
	}
	if (data[0] & 0x40) {
		a.role_claim = "aster_role";
		a.spaces_claim = "aster_spaces";
	}
	au_cache_init(&a.jwts, 0);
	mode = data[0] & 7;
	if (mode >= 1 && mode <= 4) {
		token = made = make_token(mode, data + 1, size - 1, &len);
	} else {
		token = (const char *)data + 1;
		len = size - 1;
	}
	memset(&an, 0, sizeof(an));
	an.token = token;
	an.len = len;
	check(au_jwt_verify(&a, token, len, answered, &an) == 0);
	check(an.calls == 1);
	check(a.depth == 0);
	au_cache_free(&a.jwts);
	free(made);
	return 0;
}
