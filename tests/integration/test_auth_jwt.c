/*
 * test_auth_jwt.c - JWT bearer credentials against a real asterd (SPEC
 * 7.4): HS256, RS256, ES256 and EdDSA tokens verified against a JWKS
 * file, the claims (iss, aud, exp, nbf with leeway, role and spaces),
 * every way a token is refused, and the JWKS re-read on reload.
 *
 * The test makes its own keys with OpenSSL (an HMAC secret, RSA 2048,
 * EC P-256, Ed25519), writes the JWKS (RFC 7517; base64url members as
 * RFC 7518 and RFC 8037 have them) and signs its tokens with a small
 * JWS encoder of its own (EVP; ES256 signatures as raw r||s).
 *
 * The product, in a temp dir: a public+user+admin listener and an
 * internal one, module `database` (SQLite), module `auth` whose
 * verifier has `config: {jwt: {jwks, issuer, audience, leeway_s,
 * role_claim, spaces_claim}}` (the claims named aster_role and
 * aster_spaces, so that the names are seen to be honoured) and a
 * failed_credentials limit no test here reaches, whoami and
 * the admin key endpoints, and `respond` routes at scopes user and
 * admin. asterctl is the binary beside $ASTERD.
 */
#include "integ.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#define ISSUER "https://issuer.test/"
#define AUDIENCE "aster-test"
#define TOKEN_MAX 8192

/* --- base64url (RFC 4648 section 5, no padding) -------------------------- */

static char *
b64url(const unsigned char *in, size_t len)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char *out = malloc(len * 4 / 3 + 4), *o = out;
	size_t i;

	ck_assert(out != NULL);
	for (i = 0; i + 2 < len; i += 3) {
		*o++ = abc[in[i] >> 2];
		*o++ = abc[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		*o++ = abc[((in[i + 1] & 15) << 2) | (in[i + 2] >> 6)];
		*o++ = abc[in[i + 2] & 63];
	}
	if (len - i == 1) {
		*o++ = abc[in[i] >> 2];
		*o++ = abc[(in[i] & 3) << 4];
	} else if (len - i == 2) {
		*o++ = abc[in[i] >> 2];
		*o++ = abc[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		*o++ = abc[(in[i + 1] & 15) << 2];
	}
	*o = '\0';
	return out;
}

static char *
b64url_str(const char *s)
{
	return b64url((const unsigned char *)s, strlen(s));
}

/* A BIGNUM as base64url of its big-endian bytes, padded to pad bytes
 * (0: as short as it is, RFC 7518 6.3.1). */
static char *
b64url_bn(const BIGNUM *bn, int pad)
{
	unsigned char buf[1024];
	int n = pad > 0 ? BN_bn2binpad(bn, buf, pad) : BN_bn2bin(bn, buf);

	ck_assert(n > 0);
	return b64url(buf, (size_t)n);
}

/* --- keys ------------------------------------------------------------------- */

struct keys {
	unsigned char hs[32];       /* kid "hs" */
	EVP_PKEY *rsa;              /* kid "rs" */
	EVP_PKEY *ec;               /* kid "es" */
	EVP_PKEY *ed;               /* kid "ed" */
	EVP_PKEY *rsa2;             /* kid "rs2": added by a reload */
	EVP_PKEY *ghost;            /* in no JWKS */
};

static void
keys_make(struct keys *k)
{
	memset(k, 0, sizeof(*k));
	ck_assert(RAND_bytes(k->hs, sizeof(k->hs)) == 1);
	k->rsa = EVP_RSA_gen(2048);
	k->ec = EVP_EC_gen("P-256");
	k->ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	k->rsa2 = EVP_RSA_gen(2048);
	k->ghost = EVP_RSA_gen(2048);
	ck_assert_msg(k->rsa != NULL && k->ec != NULL && k->ed != NULL &&
	              k->rsa2 != NULL && k->ghost != NULL,
	              "OpenSSL could not make the keys");
}

static void
keys_free(struct keys *k)
{
	EVP_PKEY_free(k->rsa);
	EVP_PKEY_free(k->ec);
	EVP_PKEY_free(k->ed);
	EVP_PKEY_free(k->rsa2);
	EVP_PKEY_free(k->ghost);
}

/* One JWK (public members only) of pkey, or of the HMAC secret when
 * pkey is NULL, appended to buf. */
static void
jwk_append(char *buf, size_t len, const char *kid, EVP_PKEY *pkey,
           const unsigned char *secret, size_t slen)
{
	char *a = NULL, *b = NULL;
	size_t at = strlen(buf);

	if (pkey == NULL) {
		a = b64url(secret, slen);
		snprintf(buf + at, len - at, "%s{\"kty\":\"oct\",\"kid\":\"%s\","
		         "\"alg\":\"HS256\",\"use\":\"sig\",\"k\":\"%s\"}",
		         at > 9 ? "," : "", kid, a);
	} else if (EVP_PKEY_is_a(pkey, "RSA")) {
		BIGNUM *n = NULL, *e = NULL;

		ck_assert(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N,
		                                &n) == 1);
		ck_assert(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E,
		                                &e) == 1);
		a = b64url_bn(n, 0);
		b = b64url_bn(e, 0);
		snprintf(buf + at, len - at, "%s{\"kty\":\"RSA\",\"kid\":\"%s\","
		         "\"alg\":\"RS256\",\"n\":\"%s\",\"e\":\"%s\"}",
		         at > 9 ? "," : "", kid, a, b);
		BN_free(n);
		BN_free(e);
	} else if (EVP_PKEY_is_a(pkey, "EC")) {
		BIGNUM *x = NULL, *y = NULL;

		ck_assert(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X,
		                                &x) == 1);
		ck_assert(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y,
		                                &y) == 1);
		a = b64url_bn(x, 32);
		b = b64url_bn(y, 32);
		snprintf(buf + at, len - at, "%s{\"kty\":\"EC\",\"kid\":\"%s\","
		         "\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}",
		         at > 9 ? "," : "", kid, a, b);
		BN_free(x);
		BN_free(y);
	} else {
		unsigned char raw[64];
		size_t rlen = sizeof(raw);

		ck_assert(EVP_PKEY_get_raw_public_key(pkey, raw, &rlen) == 1);
		a = b64url(raw, rlen);
		snprintf(buf + at, len - at, "%s{\"kty\":\"OKP\",\"kid\":\"%s\","
		         "\"crv\":\"Ed25519\",\"alg\":\"EdDSA\",\"x\":\"%s\"}",
		         at > 9 ? "," : "", kid, a);
	}
	free(a);
	free(b);
	ck_assert(strlen(buf) < len - 4);
}

enum { J_HS = 1, J_RS = 2, J_ES = 4, J_ED = 8, J_RS2 = 16 };

/* Writes the JWKS of the keys in mask to dir/name. */
static void
jwks_write(const struct keys *k, const char *dir, const char *name, int mask)
{
	char buf[16384] = "{\"keys\":[";

	if (mask & J_HS)
		jwk_append(buf, sizeof(buf), "hs", NULL, k->hs, sizeof(k->hs));
	if (mask & J_RS)
		jwk_append(buf, sizeof(buf), "rs", k->rsa, NULL, 0);
	if (mask & J_ES)
		jwk_append(buf, sizeof(buf), "es", k->ec, NULL, 0);
	if (mask & J_ED)
		jwk_append(buf, sizeof(buf), "ed", k->ed, NULL, 0);
	if (mask & J_RS2)
		jwk_append(buf, sizeof(buf), "rs2", k->rsa2, NULL, 0);
	strcat(buf, "]}\n");
	ck_assert_int_eq(aster_test_write_file(dir, name, buf, -1), 0);
}

/* --- a JWS encoder ---------------------------------------------------------- */

/* Signs data with pkey (md NULL for EdDSA); the signature, malloc'ed. */
static unsigned char *
evp_sign(EVP_PKEY *pkey, const EVP_MD *md, const char *data, size_t *len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *sig;

	ck_assert(ctx != NULL);
	ck_assert(EVP_DigestSignInit(ctx, NULL, md, NULL, pkey) == 1);
	ck_assert(EVP_DigestSign(ctx, NULL, len, (const unsigned char *)data,
	                         strlen(data)) == 1);
	sig = malloc(*len);
	ck_assert(sig != NULL);
	ck_assert(EVP_DigestSign(ctx, sig, len, (const unsigned char *)data,
	                         strlen(data)) == 1);
	EVP_MD_CTX_free(ctx);
	return sig;
}

/* How the signature is made. */
enum sig_kind {
	S_HMAC,         /* HMAC-SHA256 with secret */
	S_RSA,          /* RSASSA-PKCS1-v1_5 SHA-256 */
	S_ECDSA,        /* ECDSA P-256 SHA-256, raw r||s (RFC 7518 3.4) */
	S_ECDSA_DER,    /* the same, left DER-encoded (wrong) */
	S_EDDSA,        /* Ed25519 */
	S_NONE,         /* empty */
};

/* header.payload.signature, malloc'ed. */
static char *
jws(const char *header, const char *payload, enum sig_kind how,
    EVP_PKEY *pkey, const unsigned char *secret, size_t slen)
{
	char *h = b64url_str(header), *p = b64url_str(payload), *s, *input,
	     *token;
	unsigned char mac[EVP_MAX_MD_SIZE], *sig = NULL, raw[64];
	unsigned int maclen = 0;
	size_t siglen = 0;

	input = malloc(strlen(h) + strlen(p) + 2);
	ck_assert(input != NULL);
	sprintf(input, "%s.%s", h, p);
	switch (how) {
	case S_HMAC:
		ck_assert(HMAC(EVP_sha256(), secret, (int)slen,
		               (const unsigned char *)input, strlen(input), mac,
		               &maclen) != NULL);
		s = b64url(mac, maclen);
		break;
	case S_RSA:
		sig = evp_sign(pkey, EVP_sha256(), input, &siglen);
		s = b64url(sig, siglen);
		break;
	case S_ECDSA:
	case S_ECDSA_DER: {
		const unsigned char *d;
		const BIGNUM *r, *ss;
		ECDSA_SIG *es;

		sig = evp_sign(pkey, EVP_sha256(), input, &siglen);
		if (how == S_ECDSA_DER) {
			s = b64url(sig, siglen);
			break;
		}
		d = sig;
		es = d2i_ECDSA_SIG(NULL, &d, (long)siglen);
		ck_assert(es != NULL);
		ECDSA_SIG_get0(es, &r, &ss);
		ck_assert(BN_bn2binpad(r, raw, 32) == 32);
		ck_assert(BN_bn2binpad(ss, raw + 32, 32) == 32);
		ECDSA_SIG_free(es);
		s = b64url(raw, 64);
		break;
	}
	case S_EDDSA:
		sig = evp_sign(pkey, NULL, input, &siglen);
		s = b64url(sig, siglen);
		break;
	default:
		s = strdup("");
		break;
	}
	token = malloc(strlen(input) + strlen(s) + 2);
	ck_assert(token != NULL && s != NULL);
	sprintf(token, "%s.%s", input, s);
	ck_assert(strlen(token) < TOKEN_MAX);
	free(h);
	free(p);
	free(s);
	free(sig);
	free(input);
	return token;
}

/* The four algorithms, each with its key in the JWKS. */
struct alg {
	const char *name;
	const char *kid;
	enum sig_kind how;
};

static const struct alg algs[] = {
	{"HS256", "hs", S_HMAC},
	{"RS256", "rs", S_RSA},
	{"ES256", "es", S_ECDSA},
	{"EdDSA", "ed", S_EDDSA},
};

static EVP_PKEY *
alg_key(const struct keys *k, const struct alg *a)
{
	switch (a->how) {
	case S_RSA: return k->rsa;
	case S_ECDSA: return k->ec;
	case S_EDDSA: return k->ed;
	default: return NULL;
	}
}

/* A token of alg a with its own key; header {"alg","typ","kid"}. */
static char *
sign_as(const struct keys *k, const struct alg *a, const char *payload)
{
	char header[256];

	snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"typ\":\"JWT\","
	         "\"kid\":\"%s\"}", a->name, a->kid);
	return jws(header, payload, a->how, alg_key(k, a), k->hs,
	           sizeof(k->hs));
}

/* The claims: exp/nbf 0 leave them out; role/spaces NULL too (spaces is
 * a JSON array's text). */
static void
claims(char *buf, size_t len, const char *sub, const char *role,
       const char *spaces, const char *iss, const char *aud, long long exp,
       long long nbf)
{
	size_t at;

	at = (size_t)snprintf(buf, len, "{\"sub\":\"%s\",\"iss\":\"%s\","
	                      "\"aud\":%s%s%s,\"iat\":%lld", sub, iss,
	                      aud[0] == '[' ? "" : "\"", aud,
	                      aud[0] == '[' ? "" : "\"",
	                      (long long)time(NULL));
	if (exp != 0)
		at += (size_t)snprintf(buf + at, len - at, ",\"exp\":%lld", exp);
	if (nbf != 0)
		at += (size_t)snprintf(buf + at, len - at, ",\"nbf\":%lld", nbf);
	if (role != NULL)
		at += (size_t)snprintf(buf + at, len - at,
		                       ",\"aster_role\":\"%s\"", role);
	if (spaces != NULL)
		at += (size_t)snprintf(buf + at, len - at,
		                       ",\"aster_spaces\":%s", spaces);
	ck_assert(at + 2 < len);
	strcat(buf, "}");
}

/* Good claims for sub with role (NULL: none), expiring in an hour. */
static void
good_claims(char *buf, size_t len, const char *sub, const char *role,
            const char *spaces)
{
	claims(buf, len, sub, role, spaces, ISSUER, AUDIENCE,
	       (long long)time(NULL) + 3600, 0);
}

/* --- the product ------------------------------------------------------------ */

struct prod {
	char *dir;
	char conf[PATH_MAX];
	char sock[PATH_MAX];
	char jwks[PATH_MAX];
	struct aster_test *t;
};

/* Writes the product; the JWKS is dir/jwks.json (written by the
 * caller). */
static void
prod_write(struct prod *p, int leeway)
{
	char store[PATH_MAX + 512];
	char auth[PATH_MAX + 4096];

	snprintf(store, sizeof(store),
	         "  - id: store\n"
	         "    provider: sqlite\n"
	         "    config: { path: \"%s/state/aster.db\" }\n", p->dir);
	snprintf(auth, sizeof(auth),
	         "kind: module\n"
	         "id: auth\n"
	         "displayName: Auth\n"
	         "version: 0.1.0\n"
	         "provides: [auth]\n"
	         "needs: [state-store]\n"
	         "services:\n"
	         "  - id: verifier\n"
	         "    provider: auth\n"
	         "    config:\n"
	         "      jwt:\n"
	         "        jwks: \"%s\"\n"
	         "        issuer: \"" ISSUER "\"\n"
	         "        audience: " AUDIENCE "\n"
	         "        leeway_s: %d\n"
	         "        role_claim: aster_role\n"
	         "        spaces_claim: aster_spaces\n"
	         /* Far more refusals than the default limit allows one
	          * address (test_auth_spray.c tests that limit). */
	         "      failed_credentials: { requests: 1000000, per_ms: "
	         "1000, burst: 1000000 }\n"
	         "routes:\n"
	         "  - id: route:auth.whoami\n"
	         "    scope: user\n"
	         "    methods: [GET]\n"
	         "    mountPath: /gateway/v1/whoami\n"
	         "    handler: { service: verifier, operation: whoami }\n"
	         "  - id: route:auth.keys.list\n"
	         "    scope: admin\n"
	         "    methods: [GET]\n"
	         "    mountPath: /gateway/v1/admin/keys\n"
	         "    handler: { service: verifier, operation: keys-list }\n",
	         p->jwks, leeway);
	integ_write_product(p->conf, "jwttest", "JWT test", p->sock);
	integ_write_database(p->conf, store, 0);
	ck_assert_int_eq(aster_test_write_file(p->conf, "modules/auth.yaml",
	                                       auth, -1), 0);
	integ_write_probe(p->conf, 0);
}

/* A product whose JWKS holds the keys of mask; started. */
static void
prod_start(struct prod *p, const struct keys *k, int mask, int leeway)
{
	memset(p, 0, sizeof(*p));
	p->dir = integ_tempdir();
	snprintf(p->conf, sizeof(p->conf), "%s/conf", p->dir);
	snprintf(p->sock, sizeof(p->sock), "%s/control.sock", p->dir);
	snprintf(p->jwks, sizeof(p->jwks), "%s/jwks.json", p->dir);
	jwks_write(k, p->dir, "jwks.json", mask);
	prod_write(p, leeway);
	p->t = integ_spawn_ready(p->conf, 20000);
}

static void
prod_done(struct prod *p)
{
	integ_stop(p->t);
	aster_test_remove_tree(p->dir);
	free(p->dir);
}

/* --- requests ---------------------------------------------------------------- */

static void
get_bearer(struct prod *p, const char *path, const char *token,
           struct aster_test_response *r)
{
	static char h[TOKEN_MAX + 32];
	const char *hs[] = {h, NULL};

	snprintf(h, sizeof(h), "Authorization: Bearer %s", token);
	integ_request(p->t, "public", "GET", path, hs, NULL, r);
}

/* GET path with token: 401 invalid_token whose detail says word, and
 * never quotes the token. */
static void
expect_refused(struct prod *p, const char *path, const char *token,
               const char *word, const char *what)
{
	struct aster_test_response r;
	const char *www;
	json_object *o;
	const char *d;

	get_bearer(p, path, token, &r);
	ck_assert_msg(r.status == 401, "%s: %d, expected 401; body: %s", what,
	              r.status, r.body);
	integ_assert_problem(&r, 401, "unauthorized");
	www = aster_test_header(&r, "WWW-Authenticate");
	ck_assert_msg(www != NULL && strncmp(www, "Bearer", 6) == 0 &&
	              strstr(www, "error=\"invalid_token\"") != NULL,
	              "%s: WWW-Authenticate '%s', expected Bearer "
	              "error=\"invalid_token\"", what, www ? www : "(none)");
	o = integ_json(&r);
	d = integ_json_str(o, "detail");
	ck_assert_msg(d != NULL && integ_has_word(d, word), "%s: the detail '%s' "
	              "does not say '%s'", what, d ? d : "(none)", word);
	ck_assert_msg(strstr(r.body, token) == NULL, "%s: the problem quotes "
	              "the token", what);
	json_object_put(o);
	aster_test_response_free(&r);
}

static void
expect_status(struct prod *p, const char *path, const char *token,
              int status, const char *what)
{
	struct aster_test_response r;

	get_bearer(p, path, token, &r);
	ck_assert_msg(r.status == status, "%s: GET %s: %d, expected %d; body: "
	              "%s", what, path, r.status, status, r.body);
	if (status == 403)
		integ_assert_problem(&r, 403, "forbidden");
	aster_test_response_free(&r);
}

/* whoami with token: kind jwt, id sub, name null, role, spaces (JSON
 * text), expires_at the exp. */
static void
expect_whoami(struct prod *p, const char *token, const char *sub,
              const char *role, const char *spaces, long long exp,
              const char *what)
{
	struct aster_test_response r;
	json_object *o;
	char buf[512], want[64];
	time_t t = (time_t)exp;
	struct tm tm;

	get_bearer(p, "/gateway/v1/whoami", token, &r);
	ck_assert_msg(r.status == 200, "%s: whoami %d; body: %s", what,
	              r.status, r.body);
	o = integ_json(&r);
	ck_assert_msg(strcmp(integ_json_text(o, "kind", buf, sizeof(buf)), "\"jwt\"") ==
	              0, "%s: whoami kind %s", what, buf);
	snprintf(want, sizeof(want), "\"%s\"", sub);
	ck_assert_msg(strcmp(integ_json_text(o, "id", buf, sizeof(buf)), want) == 0,
	              "%s: whoami id %s, expected the sub %s", what, buf, want);
	ck_assert_msg(strcmp(integ_json_text(o, "name", buf, sizeof(buf)), "null") == 0,
	              "%s: whoami name %s, expected null", what, buf);
	snprintf(want, sizeof(want), "\"%s\"", role);
	ck_assert_msg(strcmp(integ_json_text(o, "role", buf, sizeof(buf)), want) == 0,
	              "%s: whoami role %s, expected %s", what, buf, want);
	ck_assert_msg(strcmp(integ_json_text(o, "spaces", buf, sizeof(buf)), spaces) ==
	              0, "%s: whoami spaces %s, expected %s", what, buf,
	              spaces);
	gmtime_r(&t, &tm);
	strftime(want, sizeof(want), "\"%Y-%m-%dT%H:%M:%SZ\"", &tm);
	ck_assert_msg(strcmp(integ_json_text(o, "expires_at", buf, sizeof(buf)), want) ==
	              0, "%s: whoami expires_at %s, expected %s", what, buf,
	              want);
	json_object_put(o);
	aster_test_response_free(&r);
}

/* --- each algorithm ---------------------------------------------------------- */

START_TEST(test_each_alg_accepted)
{
	struct keys k;
	struct prod p;
	char pl[2048], sub[64], what[128];
	long long exp = (long long)time(NULL) + 3600;
	size_t i;
	char *tok;

	keys_make(&k);
	prod_start(&p, &k, J_HS | J_RS | J_ES | J_ED, 0);
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		/* Role admin, limited to two spaces. */
		snprintf(sub, sizeof(sub), "admin-%s", algs[i].name);
		claims(pl, sizeof(pl), sub, "admin", "[\"alpha\",\"beta\"]",
		       ISSUER, AUDIENCE, exp, 0);
		tok = sign_as(&k, &algs[i], pl);
		snprintf(what, sizeof(what), "%s, role admin", algs[i].name);
		expect_whoami(&p, tok, sub, "admin", "[\"alpha\",\"beta\"]", exp,
		              what);
		expect_status(&p, "/gateway/v1/admin/probe", tok, 200, what);
		expect_status(&p, "/gateway/v1/admin/keys", tok, 200, what);
		expect_status(&p, "/t/user", tok, 200, what);
		/* Again: now from the provider's cache. */
		expect_whoami(&p, tok, sub, "admin", "[\"alpha\",\"beta\"]", exp,
		              what);
		free(tok);

		/* Role user: user routes yes, admin routes 403. */
		snprintf(sub, sizeof(sub), "user-%s", algs[i].name);
		claims(pl, sizeof(pl), sub, "user", NULL, ISSUER, AUDIENCE, exp,
		       0);
		tok = sign_as(&k, &algs[i], pl);
		snprintf(what, sizeof(what), "%s, role user", algs[i].name);
		expect_whoami(&p, tok, sub, "user", "null", exp, what);
		expect_status(&p, "/t/user", tok, 200, what);
		expect_status(&p, "/gateway/v1/admin/probe", tok, 403, what);
		expect_status(&p, "/gateway/v1/admin/keys", tok, 403, what);
		free(tok);
	}

	/* No role claim: a user. The default claim name "role" is not the
	 * one configured (aster_role), so it grants nothing. */
	snprintf(pl, sizeof(pl), "{\"sub\":\"plain\",\"iss\":\"" ISSUER "\","
	         "\"aud\":\"" AUDIENCE "\",\"exp\":%lld,\"role\":\"admin\","
	         "\"spaces\":[\"x\"]}", exp);
	tok = sign_as(&k, &algs[1], pl);
	expect_whoami(&p, tok, "plain", "user", "null", exp,
	              "claims named role and spaces, not the configured ones");
	expect_status(&p, "/gateway/v1/admin/probe", tok, 403,
	              "a 'role' claim that is not the configured one");
	free(tok);

	/* aud as a list holding the audience. */
	claims(pl, sizeof(pl), "listed", "user", NULL, ISSUER,
	       "[\"other\",\"" AUDIENCE "\"]", exp, 0);
	tok = sign_as(&k, &algs[2], pl);
	expect_whoami(&p, tok, "listed", "user", "null", exp,
	              "aud a list with the audience");
	free(tok);
	prod_done(&p);
	keys_free(&k);
}
END_TEST

/* --- refusals ---------------------------------------------------------------- */

/* Replaces the character at token[i] with another base64url character
 * that keeps the unused bits of a final character zero. */
static void
flip(char *token, size_t i)
{
	token[i] = token[i] == 'A' ? 'Q' : 'A';
}

START_TEST(test_refusals)
{
	struct keys k;
	struct prod p;
	char pl[2048], bad[TOKEN_MAX], hdr[256], *tok, *d1, *d2, *pem, *der64;
	long long now = (long long)time(NULL);
	unsigned char *der = NULL;
	BIO *bio;
	long pemlen;
	int derlen;
	size_t i;

	keys_make(&k);
	prod_start(&p, &k, J_HS | J_RS | J_ES | J_ED, 5);

	/* Claims. */
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		claims(pl, sizeof(pl), "late", "admin", NULL, ISSUER, AUDIENCE,
		       now - 600, 0);
		tok = sign_as(&k, &algs[i], pl);
		expect_refused(&p, "/gateway/v1/whoami", tok, "expired",
		               "an expired token");
		free(tok);
	}
	claims(pl, sizeof(pl), "early", "admin", NULL, ISSUER, AUDIENCE,
	       now + 3600, now + 600);
	tok = sign_as(&k, &algs[1], pl);
	expect_refused(&p, "/gateway/v1/whoami", tok, "not valid before",
	               "a token not yet valid (nbf)");
	free(tok);
	claims(pl, sizeof(pl), "aud", "admin", NULL, ISSUER, "someone-else",
	       now + 3600, 0);
	tok = sign_as(&k, &algs[0], pl);
	expect_refused(&p, "/gateway/v1/whoami", tok, "audience",
	               "a token for another audience");
	free(tok);
	claims(pl, sizeof(pl), "iss", "admin", NULL, "https://evil.test/",
	       AUDIENCE, now + 3600, 0);
	tok = sign_as(&k, &algs[3], pl);
	expect_refused(&p, "/gateway/v1/whoami", tok, "issuer",
	               "a token of another issuer");
	free(tok);
	snprintf(pl, sizeof(pl), "{\"sub\":\"x\",\"iss\":\"" ISSUER "\","
	         "\"aud\":\"" AUDIENCE "\"}");
	tok = sign_as(&k, &algs[1], pl);
	expect_refused(&p, "/gateway/v1/whoami", tok, "exp",
	               "a token without exp");
	free(tok);
	/* Claims at the ends of int64: the leeway arithmetic must not
	 * overflow (found by fuzz_jwt). */
	snprintf(pl, sizeof(pl), "{\"sub\":\"x\",\"iss\":\"" ISSUER "\","
	         "\"aud\":\"" AUDIENCE "\",\"exp\":-9223372036854775808}");
	tok = sign_as(&k, &algs[1], pl);
	expect_refused(&p, "/gateway/v1/whoami", tok, "expired",
	               "a token whose exp is INT64_MIN");
	free(tok);
	snprintf(pl, sizeof(pl), "{\"sub\":\"x\",\"iss\":\"" ISSUER "\","
	         "\"aud\":\"" AUDIENCE "\",\"exp\":%lld,"
	         "\"nbf\":9223372036854775807}", now + 3600);
	tok = sign_as(&k, &algs[1], pl);
	expect_refused(&p, "/gateway/v1/whoami", tok, "not valid before",
	               "a token whose nbf is INT64_MAX");
	free(tok);

	/* Tampering, with every algorithm. */
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		char *other, *od1, what[128];

		good_claims(pl, sizeof(pl), "honest", "user", NULL);
		tok = sign_as(&k, &algs[i], pl);
		expect_status(&p, "/gateway/v1/whoami", tok, 200, "untampered");

		/* The payload of an admin token with the user's signature. */
		good_claims(pl, sizeof(pl), "honest", "admin", NULL);
		other = sign_as(&k, &algs[i], pl);
		d1 = strchr(tok, '.');
		d2 = strchr(d1 + 1, '.');
		od1 = strchr(other, '.');
		snprintf(bad, sizeof(bad), "%.*s.%.*s%s", (int)(d1 - tok), tok,
		         (int)(strchr(od1 + 1, '.') - od1 - 1), od1 + 1, d2);
		snprintf(what, sizeof(what), "%s, tampered payload",
		         algs[i].name);
		expect_refused(&p, "/gateway/v1/whoami", bad, "signature",
		               what);
		expect_refused(&p, "/gateway/v1/admin/probe", bad, "signature",
		               what);

		/* One signature character changed. */
		snprintf(bad, sizeof(bad), "%s", tok);
		flip(bad, (size_t)(d2 - tok) + 3);
		snprintf(what, sizeof(what), "%s, tampered signature",
		         algs[i].name);
		expect_refused(&p, "/gateway/v1/whoami", bad, "signature",
		               what);
		/* No signature at all. */
		snprintf(bad, sizeof(bad), "%.*s.", (int)(d2 - tok), tok);
		snprintf(what, sizeof(what), "%s, signature removed",
		         algs[i].name);
		expect_refused(&p, "/gateway/v1/whoami", bad, "signature",
		               what);
		free(other);
		free(tok);
	}

	/* The right kid, signed by another key. */
	good_claims(pl, sizeof(pl), "forger", "admin", NULL);
	tok = jws("{\"alg\":\"RS256\",\"kid\":\"rs\"}", pl, S_RSA, k.ghost,
	          NULL, 0);
	expect_refused(&p, "/gateway/v1/whoami", tok, "signature",
	               "RS256 signed by a key not in the JWKS");
	free(tok);
	/* ES256 with its DER signature (JWS wants raw r||s). */
	tok = jws("{\"alg\":\"ES256\",\"kid\":\"es\"}", pl, S_ECDSA_DER, k.ec,
	          NULL, 0);
	expect_refused(&p, "/gateway/v1/whoami", tok, "signature",
	               "ES256 with a DER-encoded signature");
	free(tok);

	/* alg none, in any case, with or without a signature. */
	tok = jws("{\"alg\":\"none\",\"kid\":\"hs\"}", pl, S_NONE, NULL, NULL,
	          0);
	expect_refused(&p, "/gateway/v1/whoami", tok, "none", "alg none");
	free(tok);
	tok = jws("{\"alg\":\"NONE\",\"typ\":\"JWT\"}", pl, S_NONE, NULL,
	          NULL, 0);
	expect_refused(&p, "/gateway/v1/whoami", tok, "none", "alg NONE");
	free(tok);
	tok = jws("{\"alg\":\"none\",\"kid\":\"hs\"}", pl, S_HMAC, NULL, k.hs,
	          sizeof(k.hs));
	expect_refused(&p, "/gateway/v1/whoami", tok, "none",
	               "alg none with an HMAC signature");
	free(tok);

	/* Algorithm confusion: HS256 keyed with the RSA public key's bytes
	 * (PEM, then DER), under the RSA key's kid; and RS256 under the
	 * HMAC key's kid. */
	bio = BIO_new(BIO_s_mem());
	ck_assert(bio != NULL && PEM_write_bio_PUBKEY(bio, k.rsa) == 1);
	pemlen = BIO_get_mem_data(bio, &pem);
	ck_assert(pemlen > 0);
	tok = jws("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"rs\"}", pl,
	          S_HMAC, NULL, (const unsigned char *)pem, (size_t)pemlen);
	expect_refused(&p, "/gateway/v1/admin/probe", tok, "confusion",
	               "HS256 keyed with the RSA public key (PEM)");
	free(tok);
	BIO_free(bio);
	derlen = i2d_PUBKEY(k.rsa, &der);
	ck_assert(derlen > 0);
	tok = jws("{\"alg\":\"HS256\",\"kid\":\"rs\"}", pl, S_HMAC, NULL, der,
	          (size_t)derlen);
	expect_refused(&p, "/gateway/v1/admin/probe", tok, "confusion",
	               "HS256 keyed with the RSA public key (DER)");
	free(tok);
	OPENSSL_free(der);
	tok = jws("{\"alg\":\"RS256\",\"kid\":\"hs\"}", pl, S_RSA, k.rsa, NULL,
	          0);
	expect_refused(&p, "/gateway/v1/whoami", tok, "confusion",
	               "RS256 under the HMAC key's kid");
	free(tok);
	tok = jws("{\"alg\":\"EdDSA\",\"kid\":\"es\"}", pl, S_EDDSA, k.ed,
	          NULL, 0);
	expect_refused(&p, "/gateway/v1/whoami", tok, "confusion",
	               "EdDSA under the EC key's kid");
	free(tok);

	/* kid: unknown, missing. */
	tok = jws("{\"alg\":\"RS256\",\"kid\":\"ghost\"}", pl, S_RSA, k.ghost,
	          NULL, 0);
	expect_refused(&p, "/gateway/v1/whoami", tok, "kid", "unknown kid");
	free(tok);
	tok = jws("{\"alg\":\"RS256\"}", pl, S_RSA, k.rsa, NULL, 0);
	expect_refused(&p, "/gateway/v1/whoami", tok, "kid", "no kid");
	free(tok);

	/* Malformed base64url: padding, the standard alphabet, a bad
	 * character, in each part. */
	tok = sign_as(&k, &algs[1], pl);
	d1 = strchr(tok, '.');
	d2 = strchr(d1 + 1, '.');
	snprintf(bad, sizeof(bad), "%.*s=%s", (int)(d1 - tok), tok, d1);
	expect_refused(&p, "/gateway/v1/whoami", bad, "base64",
	               "padding in the header");
	snprintf(bad, sizeof(bad), "%.*s+%s", (int)(d2 - tok), tok, d2);
	expect_refused(&p, "/gateway/v1/whoami", bad, "base64",
	               "'+' in the payload");
	snprintf(bad, sizeof(bad), "%s", tok);
	bad[(d2 - tok) + 5] = '*';
	expect_refused(&p, "/gateway/v1/whoami", bad, "base64",
	               "'*' in the signature");
	snprintf(bad, sizeof(bad), "%s", tok);
	bad[(d1 - tok) + 4] = '/';
	expect_refused(&p, "/gateway/v1/whoami", bad, "base64",
	               "'/' in the payload");
	free(tok);
	/* A header that is not JSON, a token of two parts. */
	der64 = b64url_str("not json");
	snprintf(hdr, sizeof(hdr), "%s.%s.AAAA", der64, der64);
	expect_refused(&p, "/gateway/v1/whoami", hdr, "header",
	               "a header that is not JSON");
	free(der64);
	expect_refused(&p, "/gateway/v1/whoami", "eyJhbGciOiJIUzI1NiJ9.e30",
	               "malformed", "two parts");

	/* Nothing above broke the good ones. */
	good_claims(pl, sizeof(pl), "still", "admin", NULL);
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		tok = sign_as(&k, &algs[i], pl);
		expect_status(&p, "/gateway/v1/admin/probe", tok, 200,
		              "a good token after the refusals");
		free(tok);
	}
	prod_done(&p);
	keys_free(&k);
}
END_TEST

/* --- leeway ------------------------------------------------------------------ */

START_TEST(test_leeway)
{
	struct keys k;
	struct prod p;
	char pl[2048], *late, *early;
	long long now = (long long)time(NULL);

	/* The margins (300 s off, leeways of 600 s and 5 s) are far wider
	 * than two daemon starts under valgrind, so neither verdict can turn
	 * while the test runs. */
	keys_make(&k);
	claims(pl, sizeof(pl), "late", "user", NULL, ISSUER, AUDIENCE,
	       now - 300, 0);
	late = sign_as(&k, &algs[1], pl);
	claims(pl, sizeof(pl), "early", "user", NULL, ISSUER, AUDIENCE,
	       now + 3600, now + 300);
	early = sign_as(&k, &algs[0], pl);

	prod_start(&p, &k, J_HS | J_RS, 600);
	expect_whoami(&p, late, "late", "user", "null", now - 300,
	              "expired 300 s ago, leeway 600 s");
	expect_status(&p, "/t/user", early, 200,
	              "valid in 300 s (nbf), leeway 600 s");
	prod_done(&p);

	prod_start(&p, &k, J_HS | J_RS, 5);
	expect_refused(&p, "/gateway/v1/whoami", late, "expired",
	               "expired 300 s ago, leeway 5 s");
	expect_refused(&p, "/t/user", early, "not valid before",
	               "valid in 300 s (nbf), leeway 5 s");
	prod_done(&p);
	free(late);
	free(early);
	keys_free(&k);
}
END_TEST

/* A token cached while valid is refused once its exp has passed. */
START_TEST(test_cached_token_expires)
{
	struct keys k;
	struct prod p;
	char pl[2048], *tok;
	long long exp;

	keys_make(&k);
	prod_start(&p, &k, J_HS | J_RS, 0);
	exp = (long long)time(NULL) + aster_test_timeout(2000) / 1000;
	claims(pl, sizeof(pl), "brief", "user", NULL, ISSUER, AUDIENCE, exp,
	       0);
	tok = sign_as(&k, &algs[0], pl);
	expect_whoami(&p, tok, "brief", "user", "null", exp, "before its exp");
	while ((long long)time(NULL) <= exp)
		integ_sleep_ms(100);
	integ_sleep_ms(1000);
	expect_refused(&p, "/gateway/v1/whoami", tok, "expired",
	               "a cached token past its exp");
	free(tok);
	prod_done(&p);
	keys_free(&k);
}
END_TEST

/* --- the JWKS on reload ------------------------------------------------------ */

/* `asterctl --socket SOCK reload`: its exit status; output in *out. */
static int
asterctl_reload(struct prod *p, char **out)
{
	const char *args[] = {"--socket", p->sock, "reload", NULL};

	return integ_asterctl(args, NULL, out, NULL);
}

/* Polls GET /t/user with token until it answers want (5 s at most). */
static void
await_status(struct prod *p, const char *token, int want, const char *what)
{
	struct aster_test_response r;
	int deadline = aster_test_timeout(5000), waited = 0;

	for (;;) {
		get_bearer(p, "/t/user", token, &r);
		if (r.status == want || waited >= deadline)
			break;
		aster_test_response_free(&r);
		integ_sleep_ms(50);
		waited += 50;
	}
	ck_assert_msg(r.status == want, "%s: %d after %d ms, expected %d; "
	              "body: %s\n--- asterd stderr ---\n%s", what, r.status,
	              waited, want, r.body, aster_test_stderr(p->t));
	aster_test_response_free(&r);
}

START_TEST(test_jwks_rotation_on_reload)
{
	struct keys k;
	struct prod p;
	const struct alg next = {"RS256", "rs2", S_RSA};
	char pl[2048], *old, *fresh, *out, header[128];
	int rc;

	keys_make(&k);
	prod_start(&p, &k, J_HS | J_RS, 0);
	good_claims(pl, sizeof(pl), "rotating", "user", NULL);
	old = sign_as(&k, &algs[1], pl);
	snprintf(header, sizeof(header), "{\"alg\":\"RS256\",\"kid\":\"%s\"}",
	         next.kid);
	fresh = jws(header, pl, S_RSA, k.rsa2, NULL, 0);

	/* The new kid is not known yet. */
	expect_status(&p, "/t/user", old, 200, "the old key");
	expect_refused(&p, "/t/user", fresh, "kid", "a kid not yet in the "
	               "JWKS");

	/* The new JWKS, then `asterctl reload` (the manifests unchanged):
	 * the new kid passes at once, the old one still does. */
	jwks_write(&k, p.dir, "jwks.json", J_HS | J_RS | J_RS2);
	rc = asterctl_reload(&p, &out);
	ck_assert_msg(rc == 0, "asterctl reload: exit %d\n%s", rc, out);
	free(out);
	expect_status(&p, "/t/user", fresh, 200, "the new kid after reload");
	expect_status(&p, "/t/user", old, 200, "the old kid after reload");

	/* A JWKS that does not parse: the reload is refused and the keys
	 * loaded before stay in use. */
	ck_assert_int_eq(aster_test_write_file(p.dir, "jwks.json",
	                 "{\"keys\": [", -1), 0);
	rc = asterctl_reload(&p, &out);
	free(out);
	await_status(&p, fresh, 200, "after a reload with a broken JWKS");
	expect_status(&p, "/t/user", old, 200, "the old kid, broken JWKS");
	(void)rc;

	/* The old key retired, by SIGHUP: its (cached) token is refused. */
	jwks_write(&k, p.dir, "jwks.json", J_HS | J_RS2);
	ck_assert_int_eq(aster_test_signal(p.t, SIGHUP), 0);
	await_status(&p, old, 401, "a token of a key removed from the JWKS, "
	             "after SIGHUP");
	expect_refused(&p, "/t/user", old, "kid", "a retired kid");
	expect_status(&p, "/t/user", fresh, 200, "the new kid after SIGHUP");
	free(old);
	free(fresh);
	prod_done(&p);
	keys_free(&k);
}
END_TEST

/*
 * A JWKS member holding line breaks (escaped in JSON, or raw, which
 * json-c takes) cannot add lines to the diagnostic that refuses the
 * file: control bytes are quoted as '?'.
 */
START_TEST(test_jwks_refusal_is_one_line)
{
	struct aster_test_options o = integ_options(NULL);
	struct prod p;
	const char *err;

	memset(&p, 0, sizeof(p));
	p.dir = integ_tempdir();
	snprintf(p.conf, sizeof(p.conf), "%s/conf", p.dir);
	snprintf(p.sock, sizeof(p.sock), "%s/control.sock", p.dir);
	snprintf(p.jwks, sizeof(p.jwks), "%s/jwks.json", p.dir);
	ck_assert_int_eq(aster_test_write_file(p.dir, "jwks.json",
	    "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"a\\nb\",\"alg\":"
	    "\"HS\r\n256\",\"k\":\"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNl\"}"
	    "]}\n", -1), 0);
	prod_write(&p, 0);
	p.t = aster_test_spawn(p.conf, &o);
	ck_assert_ptr_nonnull(p.t);
	ck_assert_int_eq(aster_test_wait_ready(p.t), -1);
	ck_assert_int_ne(aster_test_wait(p.t, aster_test_timeout(10000)), 0);
	err = aster_test_stderr(p.t);
	ck_assert_msg(strstr(err, "key 1 (kid 'a?b'): alg 'HS??256' does "
	                     "not fit a oct key (only HS256)") != NULL,
	              "the refusal, on one line:\n%s", err);
	ck_assert_ptr_null(strstr(err, "'a\nb'"));
	aster_test_free(p.t);
	aster_test_remove_tree(p.dir);
	free(p.dir);
}
END_TEST

static Suite *
auth_jwt_suite(void)
{
	Suite *s = suite_create("auth-jwt");
	TCase *algs_tc = tcase_create("algorithms");
	TCase *refuse = tcase_create("refusals");
	TCase *time_tc = tcase_create("time");
	TCase *reload = tcase_create("reload");

	tcase_set_timeout(algs_tc, INTEG_TCASE_TIMEOUT);
	tcase_set_timeout(refuse, INTEG_TCASE_TIMEOUT);
	tcase_set_timeout(time_tc, INTEG_TCASE_TIMEOUT);
	tcase_set_timeout(reload, INTEG_TCASE_TIMEOUT);
	tcase_add_test(algs_tc, test_each_alg_accepted);
	tcase_add_test(refuse, test_refusals);
	tcase_add_test(time_tc, test_leeway);
	tcase_add_test(time_tc, test_cached_token_expires);
	tcase_add_test(reload, test_jwks_rotation_on_reload);
	tcase_add_test(reload, test_jwks_refusal_is_one_line);
	suite_add_tcase(s, algs_tc);
	suite_add_tcase(s, refuse);
	suite_add_tcase(s, time_tc);
	suite_add_tcase(s, reload);
	return s;
}

UNIT_MAIN(auth_jwt_suite)
