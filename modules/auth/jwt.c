/*
 * jwt.c - JSON Web Tokens (RFC 7519) in JWS compact form (RFC 7515),
 * verified against the JWKS of the config: HS256, RS256, ES256, EdDSA
 * (Ed25519), every answer given inside the call.
 *
 * The order of the checks is the order of trust: the three parts and
 * their base64url first (strict: one spelling per token), then the
 * header (alg, kid, the key's type fitting the alg: an HS256 token never
 * meets an RSA public key used as an HMAC secret), then the signature,
 * and only then the claims of the payload. `crit` is refused: none of
 * its extensions are understood (RFC 7515 §4.1.11).
 *
 * A verified token is cached by the SHA-256 of its text until its exp
 * (plus leeway), so a repeated token costs one hash and one lookup. The
 * cache is dropped when the JWKS is reloaded.
 */
#include "au.h"

#include <json-c/json.h>
#include <math.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define AU_SPACES_MAX 1000

static const char au_oom[] = "out of memory";

enum au_alg { AU_HS256, AU_RS256, AU_ES256, AU_EDDSA };

static const struct {
	const char *name;
	enum au_alg alg;
	enum au_kty kty;
} au_algs[] = {
	{"HS256", AU_HS256, AU_KTY_OCT},
	{"RS256", AU_RS256, AU_KTY_RSA},
	{"ES256", AU_ES256, AU_KTY_EC},
	{"EdDSA", AU_EDDSA, AU_KTY_OKP},
};

static void
au_jwt_destroy(struct au_centry *e)
{
	struct au_jwt *j = (struct au_jwt *)e;

	free(j->sub);
	au_strv_free(j->spaces, j->nspaces);
	free(j);
}

/* Token-supplied text fit to quote in a detail: short printable ASCII
 * without quotes or backslashes; else NULL. */
static const char *
au_quotable(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > 64)
		return NULL;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e ||
		    s[i] == '\'' || s[i] == '"' || s[i] == '\\')
			return NULL;
	return s;
}

/* Parses len bytes of JSON that must be one object (whitespace around
 * it allowed). */
static json_object *
au_json_object(const unsigned char *p, size_t len)
{
	json_tokener *tok;
	json_object *o;
	size_t end;

	if (len == 0 || len > AU_TOKEN_MAX || (tok = json_tokener_new()) == NULL)
		return NULL;
	o = json_tokener_parse_ex(tok, (const char *)p, (int)len);
	end = o != NULL ? json_tokener_get_parse_end(tok) : 0;
	json_tokener_free(tok);
	while (o != NULL && end < len && strchr(" \t\r\n", p[end]) != NULL &&
	       p[end] != '\0')
		end++;
	if (o == NULL || end != len ||
	    !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* A NumericDate claim: 1 with *out set, 0 when absent, -1 when not a
 * finite number. */
static int
au_numeric_date(json_object *claims, const char *name, int64_t *out)
{
	json_object *v;
	double d;

	if (!json_object_object_get_ex(claims, name, &v))
		return 0;
	if (json_object_is_type(v, json_type_int)) {
		*out = json_object_get_int64(v);
		return 1;
	}
	if (json_object_is_type(v, json_type_double)) {
		d = json_object_get_double(v);
		if (!isfinite(d) || d > 9e15 || d < -9e15)
			return -1;
		*out = (int64_t)floor(d);
		return 1;
	}
	return -1;
}

static int
au_json_str_eq(json_object *v, const char *want)
{
	size_t n = strlen(want);

	return json_object_is_type(v, json_type_string) &&
	       (size_t)json_object_get_string_len(v) == n &&
	       memcmp(json_object_get_string(v), want, n) == 0;
}

/* Checks the signature of msg with key k under alg; 1 when it holds. */
static int
au_sig_ok(struct au_auth *a, const struct au_jwk *k, enum au_alg alg,
          const unsigned char *msg, size_t mlen, const unsigned char *sig,
          size_t slen)
{
	unsigned char mac[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned int maclen = 0;
	EVP_MD_CTX *ctx = NULL;
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	const EVP_MD *md = a->sha256 != NULL ? a->sha256 : EVP_sha256();
	int ok = 0, derlen;

	switch (alg) {
	case AU_HS256:
		if (slen != 32 || HMAC(md, k->secret, (int)k->secret_len, msg,
		                       mlen, mac, &maclen) == NULL ||
		    maclen != 32)
			return 0;
		ok = CRYPTO_memcmp(mac, sig, 32) == 0;
		OPENSSL_cleanse(mac, sizeof(mac));
		return ok;
	case AU_RS256:
		if ((ctx = EVP_MD_CTX_new()) == NULL ||
		    slen != (size_t)EVP_PKEY_get_size(k->pkey) ||
		    EVP_DigestVerifyInit(ctx, NULL, md, NULL, k->pkey) != 1)
			break;
		ok = EVP_DigestVerify(ctx, sig, slen, msg, mlen) == 1;
		break;
	case AU_ES256:
		/* JWS writes r || s, 32 bytes each (RFC 7518 §3.4);
		 * OpenSSL wants a DER ECDSA-Sig-Value. */
		if (slen != 64 || (es = ECDSA_SIG_new()) == NULL ||
		    (r = BN_bin2bn(sig, 32, NULL)) == NULL ||
		    (s = BN_bin2bn(sig + 32, 32, NULL)) == NULL ||
		    ECDSA_SIG_set0(es, r, s) != 1)
			break;
		r = s = NULL;
		if ((derlen = i2d_ECDSA_SIG(es, &der)) <= 0 ||
		    (ctx = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestVerifyInit(ctx, NULL, md, NULL, k->pkey) != 1)
			break;
		ok = EVP_DigestVerify(ctx, der, (size_t)derlen, msg,
		                      mlen) == 1;
		break;
	case AU_EDDSA:
		if (slen != 64 || (ctx = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->pkey) != 1)
			break;
		ok = EVP_DigestVerify(ctx, sig, slen, msg, mlen) == 1;
		break;
	}
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	OPENSSL_free(der);
	EVP_MD_CTX_free(ctx);
	return ok;
}

/* Reads the role and spaces claims into j; NULL or what is wrong. */
static const char *
au_jwt_grants(struct au_auth *a, json_object *claims, struct au_jwt *j,
              char *buf, size_t buflen)
{
	const char *rc = a->role_claim != NULL ? a->role_claim : "role";
	const char *sc = a->spaces_claim != NULL ? a->spaces_claim : "spaces";
	json_object *v, *s;
	size_t i, n;
	const char *str;

	j->role = "user";
	if (json_object_object_get_ex(claims, rc, &v)) {
		if (au_json_str_eq(v, "admin"))
			j->role = "admin";
		else if (!au_json_str_eq(v, "user")) {
			snprintf(buf, buflen, "the token's claim '%.64s' must "
			         "be \"admin\" or \"user\"", rc);
			return buf;
		}
	}
	if (!json_object_object_get_ex(claims, sc, &v))
		return NULL;
	if (!json_object_is_type(v, json_type_array) ||
	    (n = json_object_array_length(v)) == 0 || n > AU_SPACES_MAX) {
		snprintf(buf, buflen, "the token's claim '%.64s' must be a "
		         "non-empty array of space ids", sc);
		return buf;
	}
	if ((j->spaces = calloc(n, sizeof(char *))) == NULL)
		return au_oom;
	for (i = 0; i < n; i++) {
		s = json_object_array_get_idx(v, i);
		str = json_object_is_type(s, json_type_string) ?
		      json_object_get_string(s) : NULL;
		if (str == NULL || !au_space_ok(str, (size_t)
		                                json_object_get_string_len(s))) {
			snprintf(buf, buflen, "the token's claim '%.64s' must "
			         "be a non-empty array of space ids", sc);
			return buf;
		}
		if ((j->spaces[i] = strdup(str)) == NULL)
			return au_oom;
		j->nspaces = i + 1;
	}
	return NULL;
}

/* Checks the registered claims and reads the grants; NULL or what is
 * wrong. */
static const char *
au_jwt_claims(struct au_auth *a, json_object *claims, int64_t now,
              struct au_jwt *j, char *buf, size_t buflen)
{
	json_object *v, *e;
	int64_t nbf;
	char when[40];
	size_t i, n;
	int rc, found;

	rc = au_numeric_date(claims, "exp", &j->exp);
	if (rc == 0)
		return "the token has no exp claim";
	if (rc < 0)
		return "the token's exp claim is not a number";
	/* Differences in uint64_t: a claim near INT64_MIN or INT64_MAX
	 * must not overflow the subtraction. */
	if (now > j->exp &&
	    (uint64_t)now - (uint64_t)j->exp > (uint64_t)a->leeway) {
		au_fmt_time(j->exp, when, sizeof(when));
		snprintf(buf, buflen, "the token expired at %s", when);
		return buf;
	}
	rc = au_numeric_date(claims, "nbf", &nbf);
	if (rc < 0)
		return "the token's nbf claim is not a number";
	if (rc > 0 && nbf > now &&
	    (uint64_t)nbf - (uint64_t)now > (uint64_t)a->leeway) {
		au_fmt_time(nbf, when, sizeof(when));
		snprintf(buf, buflen, "the token is not valid before %s",
		         when);
		return buf;
	}
	if (a->issuer != NULL) {
		if (!json_object_object_get_ex(claims, "iss", &v))
			return "the token has no iss claim";
		if (!au_json_str_eq(v, a->issuer))
			return "the token's issuer (iss) is not the one "
			       "configured";
	}
	if (a->audience != NULL) {
		if (!json_object_object_get_ex(claims, "aud", &v))
			return "the token has no aud claim";
		found = au_json_str_eq(v, a->audience);
		if (json_object_is_type(v, json_type_array)) {
			n = json_object_array_length(v);
			for (i = 0; i < n && !found; i++) {
				e = json_object_array_get_idx(v, i);
				found = au_json_str_eq(e, a->audience);
			}
		}
		if (!found)
			return "the token's audience (aud) does not include "
			       "the one configured";
	}
	if (!json_object_object_get_ex(claims, "sub", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    json_object_get_string_len(v) == 0)
		return "the token has no sub claim (a non-empty string)";
	if ((j->sub = strdup(json_object_get_string(v))) == NULL)
		return au_oom;
	return au_jwt_grants(a, claims, j, buf, buflen);
}

static void
au_jwt_answer(const struct au_jwt *j, aster_auth_verify_cb cb, void *arg)
{
	struct aster_credential c;

	c.kind = "jwt";
	c.id = j->sub;
	c.name = NULL;
	c.role = j->role;
	c.spaces = (const char *const *)j->spaces;
	c.nspaces = j->nspaces;
	c.expires_at = j->exp;
	cb(arg, ASTER_AUTH_OK, &c, NULL);
}

/* A token's three parts, base64url-decoded (owned). */
struct au_jwt_parts {
	unsigned char *hdr, *pay, *sig;
	long hlen, plen, slen;
	size_t signed_len;          /* header "." payload, as sent */
};

static void
au_jwt_parts_free(struct au_jwt_parts *p)
{
	free(p->hdr);
	free(p->pay);
	free(p->sig);
}

/* Decodes text (len bytes) into a new *out; NULL or what is wrong. */
static const char *
au_jwt_part(const char *text, size_t len, unsigned char **out, long *olen,
            const char *bad_base64)
{
	if ((*out = malloc(len * 3 / 4 + 1)) == NULL)
		return au_oom;
	if ((*olen = au_b64url_decode(text, len, *out)) < 0)
		return bad_base64;
	return NULL;
}

/* Splits the token at its two dots and decodes each part. */
static const char *
au_jwt_split(const char *token, size_t len, struct au_jwt_parts *p)
{
	const char *d1, *d2, *bad;

	memset(p, 0, sizeof(*p));
	d1 = memchr(token, '.', len);
	d2 = d1 != NULL ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) :
	     NULL;
	if (d2 == NULL || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)))
		return "malformed token: neither an API key nor a JWT "
		       "(three base64url parts separated by dots)";
	p->signed_len = (size_t)(d2 - token);
	if ((bad = au_jwt_part(token, (size_t)(d1 - token), &p->hdr, &p->hlen,
	                       "malformed base64url in the token's header")) ||
	    (bad = au_jwt_part(d1 + 1, (size_t)(d2 - d1 - 1), &p->pay,
	                       &p->plen, "malformed base64url in the "
	                       "token's payload")) ||
	    (bad = au_jwt_part(d2 + 1, len - (size_t)(d2 + 1 - token), &p->sig,
	                       &p->slen, "malformed base64url in the "
	                       "token's signature")))
		return bad;
	return NULL;
}

/* The header's alg: its entry of au_algs in *alg, or what is wrong. */
static const char *
au_jwt_alg(json_object *h, size_t *alg, char *buf, size_t buflen)
{
	const char *name, *q;
	json_object *v;
	size_t i;

	if (!json_object_object_get_ex(h, "alg", &v) ||
	    !json_object_is_type(v, json_type_string))
		return "the token's header has no alg";
	name = json_object_get_string(v);
	if (strcasecmp(name, "none") == 0)
		return "alg 'none' is not accepted";
	for (i = 0; i < sizeof(au_algs) / sizeof(au_algs[0]); i++)
		if (au_json_str_eq(v, au_algs[i].name)) {
			*alg = i;
			return NULL;
		}
	q = au_quotable(name, (size_t)json_object_get_string_len(v));
	snprintf(buf, buflen, "unsupported alg%s%s%s (HS256, RS256, ES256 or "
	         "EdDSA)", q != NULL ? " '" : "", q != NULL ? q : "",
	         q != NULL ? "'" : "");
	return buf;
}

/*
 * The key the header asks for, checked against its alg: in *key with its
 * entry of au_algs in *alg, or what is wrong.
 */
static const char *
au_jwt_key(const struct au_auth *a, json_object *h, const struct au_jwk **key,
           size_t *alg, char *buf, size_t buflen)
{
	const char *bad, *kid, *q;
	const struct au_jwk *k;
	json_object *v;
	size_t kidlen;

	if ((bad = au_jwt_alg(h, alg, buf, buflen)) != NULL)
		return bad;
	if (json_object_object_get_ex(h, "crit", &v))
		return "the token's header names critical extensions (crit); "
		       "none is supported";
	if (!json_object_object_get_ex(h, "kid", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    json_object_get_string_len(v) == 0)
		return "the token's header has no kid";
	kid = json_object_get_string(v);
	kidlen = (size_t)json_object_get_string_len(v);
	if ((k = au_jwks_find(a->jwks, kid, kidlen)) == NULL) {
		if ((q = au_quotable(kid, kidlen)) != NULL)
			snprintf(buf, buflen, "unknown kid '%s'", q);
		else
			snprintf(buf, buflen, "unknown kid");
		return buf;
	}
	if (k->kty != au_algs[*alg].kty) {
		snprintf(buf, buflen, "algorithm confusion: key '%.64s' is "
		         "an %s key, alg %s is not allowed with it", k->kid,
		         au_kty_name(k->kty), au_algs[*alg].name);
		return buf;
	}
	*key = k;
	return NULL;
}

/* A verified token's claims checked and kept in a new *out. */
static const char *
au_jwt_from_claims(struct au_auth *a, const struct au_jwt_parts *p,
                   int64_t now, struct au_jwt **out, char *buf,
                   size_t buflen)
{
	json_object *claims = au_json_object(p->pay, (size_t)p->plen);
	struct au_jwt *j;
	const char *bad;

	if (claims == NULL)
		return "the token's payload is not a JSON object";
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		json_object_put(claims);
		return au_oom;
	}
	j->ce.destroy = au_jwt_destroy;
	j->ce.refs = 1;
	if ((bad = au_jwt_claims(a, claims, now, j, buf, buflen)) != NULL)
		au_jwt_destroy(&j->ce);
	else
		*out = j;
	json_object_put(claims);
	return bad;
}

/*
 * Verifies the token from scratch; NULL with *out (referenced once) or
 * what is wrong with it.
 */
static const char *
au_jwt_check(struct au_auth *a, const char *token, size_t len, int64_t now,
             struct au_jwt **out, char *buf, size_t buflen)
{
	struct au_jwt_parts p;
	const struct au_jwk *k = NULL;
	json_object *h = NULL;
	const char *bad;
	size_t alg = 0;

	*out = NULL;
	if ((bad = au_jwt_split(token, len, &p)) != NULL)
		goto done;
	if ((h = au_json_object(p.hdr, (size_t)p.hlen)) == NULL) {
		bad = "the token's header is not a JSON object";
		goto done;
	}
	if ((bad = au_jwt_key(a, h, &k, &alg, buf, buflen)) != NULL)
		goto done;
	if (!au_sig_ok(a, k, au_algs[alg].alg, (const unsigned char *)token,
	               p.signed_len, p.sig, (size_t)p.slen)) {
		bad = "the token's signature does not verify";
		goto done;
	}
	bad = au_jwt_from_claims(a, &p, now, out, buf, buflen);
done:
	json_object_put(h);
	au_jwt_parts_free(&p);
	return bad;
}

int
au_jwt_verify(struct au_auth *a, const char *token, size_t len,
              aster_auth_verify_cb cb, void *arg)
{
	unsigned char th[32];
	struct au_jwt *j;
	const char *bad;
	char buf[256];
	int64_t now = (int64_t)time(NULL);

	au_sha256(a, token, len, th);
	j = (struct au_jwt *)au_cache_get(&a->jwts, th, sizeof(th));
	if (j != NULL && (now <= j->exp || now - j->exp <= a->leeway)) {
		au_centry_ref(&j->ce);
	} else {
		if (j != NULL)  /* expired: the full check says so */
			au_cache_del(&a->jwts, th, sizeof(th));
		if ((bad = au_jwt_check(a, token, len, now, &j, buf,
		                        sizeof(buf))) != NULL) {
			cb(arg, bad == au_oom ? ASTER_AUTH_UNAVAILABLE :
			   ASTER_AUTH_INVALID, NULL, bad);
			return 0;
		}
		memcpy(j->ce.key, th, sizeof(th));
		j->ce.klen = sizeof(th);
		au_centry_ref(&j->ce);
		(void)au_cache_put(&a->jwts, &j->ce);
		au_centry_unref(&j->ce);        /* au_jwt_check's */
	}
	au_enter(a);
	au_jwt_answer(j, cb, arg);
	au_centry_unref(&j->ce);
	au_leave(a);
	return 0;
}
