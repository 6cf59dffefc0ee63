/*
 * jwks.c - the JWKS file (RFC 7517) the JWT verifier trusts: read,
 * checked and turned into OpenSSL keys once, at validate, start and
 * reload (the only file I/O of the provider).
 *
 * Accepted keys, each with a unique non-empty `kid`:
 *   oct  `k`, at least 32 bytes (RFC 7518 §3.2: HS256 wants a key as
 *        long as its hash)                      -> HS256
 *   RSA  `n`, `e`, a modulus of 2048 bits or more -> RS256
 *   EC   `crv` P-256, `x`, `y` on the curve      -> ES256
 *   OKP  `crv` Ed25519, `x`                      -> EdDSA
 * `use`, when present, must be "sig"; `alg`, when present, must be the
 * one alg the key type allows. Private members (`d`, ...) are ignored.
 */
#include "au.h"

#include <errno.h>
#include <json-c/json.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define AU_JWKS_MAX_BYTES (1024 * 1024)

const char *
au_kty_name(enum au_kty t)
{
	switch (t) {
	case AU_KTY_OCT: return "oct";
	case AU_KTY_RSA: return "RSA";
	case AU_KTY_EC: return "EC";
	case AU_KTY_OKP: return "OKP";
	}
	return "?";
}

static const char *
au_kty_alg(enum au_kty t)
{
	switch (t) {
	case AU_KTY_OCT: return "HS256";
	case AU_KTY_RSA: return "RS256";
	case AU_KTY_EC: return "ES256";
	case AU_KTY_OKP: return "EdDSA";
	}
	return "?";
}

void
au_jwks_free(struct au_jwks *k)
{
	size_t i;

	if (k == NULL)
		return;
	for (i = 0; i < k->n; i++) {
		free(k->keys[i].kid);
		free(k->keys[i].alg);
		if (k->keys[i].secret != NULL)
			OPENSSL_clear_free(k->keys[i].secret,
			                   k->keys[i].secret_len);
		EVP_PKEY_free(k->keys[i].pkey);
	}
	free(k->keys);
	free(k);
}

const struct au_jwk *
au_jwks_find(const struct au_jwks *k, const char *kid, size_t len)
{
	size_t i;

	if (k == NULL)
		return NULL;
	for (i = 0; i < k->n; i++)
		if (strlen(k->keys[i].kid) == len &&
		    memcmp(k->keys[i].kid, kid, len) == 0)
			return &k->keys[i];
	return NULL;
}

static void __attribute__((format(printf, 3, 4)))
au_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Reads the whole file (at most AU_JWKS_MAX_BYTES) into a NUL-terminated
 * buffer. */
static char *
au_read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t n;
	struct stat st;

	if (f == NULL) {
		au_err(err, errlen, "cannot read the JWKS file %s: %s", path,
		       strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
		au_err(err, errlen, "the JWKS file %s is not a regular file",
		       path);
		goto fail;
	}
	if (st.st_size > AU_JWKS_MAX_BYTES) {
		au_err(err, errlen, "the JWKS file %s is larger than %d bytes",
		       path, AU_JWKS_MAX_BYTES);
		goto fail;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		au_err(err, errlen, "out of memory");
		goto fail;
	}
	n = fread(buf, 1, (size_t)st.st_size, f);
	if (ferror(f)) {
		au_err(err, errlen, "cannot read the JWKS file %s: %s", path,
		       strerror(errno));
		goto fail;
	}
	buf[n] = '\0';
	*len = n;
	fclose(f);
	return buf;
fail:
	free(buf);
	fclose(f);
	return NULL;
}

/*
 * s, at most max bytes of it, fit to quote in a one-line message: a
 * control byte (a JSON string may hold "\n", and json-c even takes it
 * raw) becomes '?', so a hostile file cannot add lines to a diagnostic
 * or a log. Returns out.
 */
static const char *
au_printable(const char *s, size_t max, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i < max && i + 1 < outlen; i++)
		out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' :
		         s[i];
	out[i] = '\0';
	return out;
}

/* The string member name of o, or NULL. */
static const char *
au_member(json_object *o, const char *name)
{
	json_object *v;

	if (!json_object_object_get_ex(o, name, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/*
 * Decodes the base64url member name of key o into a new buffer of
 * *len bytes (padding '=' tolerated here: JWKS files are written by
 * hand and by tools that pad). NULL with the cause in err.
 */
static unsigned char *
au_member_b64(json_object *o, const char *name, size_t *len, const char *who,
              char *err, size_t errlen)
{
	const char *s = au_member(o, name);
	unsigned char *out;
	size_t n;
	long got;

	if (s == NULL) {
		au_err(err, errlen, "%s: '%s' is missing or not a string",
		       who, name);
		return NULL;
	}
	n = strlen(s);
	while (n > 0 && s[n - 1] == '=')
		n--;
	if ((out = malloc(n * 3 / 4 + 1)) == NULL) {
		au_err(err, errlen, "out of memory");
		return NULL;
	}
	if (n == 0 || (got = au_b64url_decode(s, n, out)) < 0) {
		au_err(err, errlen, "%s: '%s' is not base64url", who, name);
		free(out);
		return NULL;
	}
	*len = (size_t)got;
	return out;
}

static EVP_PKEY *
au_pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pkey = NULL;

	if (params == NULL || ctx == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pkey;
}

static int
au_load_rsa(struct au_jwk *k, json_object *o, const char *who, char *err,
            size_t errlen)
{
	unsigned char *n = NULL, *e = NULL;
	size_t nlen = 0, elen = 0;
	BIGNUM *bn = NULL, *be = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	int rc = -1;

	if ((n = au_member_b64(o, "n", &nlen, who, err, errlen)) == NULL ||
	    (e = au_member_b64(o, "e", &elen, who, err, errlen)) == NULL)
		goto done;
	bn = BN_bin2bn(n, (int)nlen, NULL);
	be = BN_bin2bn(e, (int)elen, NULL);
	if (bn == NULL || be == NULL || (bld = OSSL_PARAM_BLD_new()) == NULL) {
		au_err(err, errlen, "out of memory");
		goto done;
	}
	if (BN_num_bits(bn) < 2048) {
		au_err(err, errlen, "%s: the RSA modulus has %d bits; at least "
		       "2048 are required", who, BN_num_bits(bn));
		goto done;
	}
	if (BN_is_odd(be) == 0 || BN_is_one(be)) {
		au_err(err, errlen, "%s: the RSA exponent 'e' is not valid",
		       who);
		goto done;
	}
	if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) != 1 ||
	    (k->pkey = au_pkey_fromdata("RSA", bld)) == NULL) {
		au_err(err, errlen, "%s: OpenSSL refused the RSA key", who);
		goto done;
	}
	rc = 0;
done:
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	free(n);
	free(e);
	return rc;
}

static int
au_load_ec(struct au_jwk *k, json_object *o, const char *who, char *err,
           size_t errlen)
{
	const char *crv = au_member(o, "crv");
	unsigned char *x = NULL, *y = NULL, pt[65];
	size_t xlen = 0, ylen = 0;
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY_CTX *chk = NULL;
	int rc = -1;

	if (crv == NULL || strcmp(crv, "P-256") != 0) {
		au_err(err, errlen, "%s: EC keys must have crv P-256", who);
		return -1;
	}
	if ((x = au_member_b64(o, "x", &xlen, who, err, errlen)) == NULL ||
	    (y = au_member_b64(o, "y", &ylen, who, err, errlen)) == NULL)
		goto done;
	if (xlen != 32 || ylen != 32) {
		au_err(err, errlen, "%s: a P-256 key's 'x' and 'y' must be "
		       "32 bytes each", who);
		goto done;
	}
	pt[0] = 0x04;
	memcpy(pt + 1, x, 32);
	memcpy(pt + 33, y, 32);
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	                                    "prime256v1", 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	                                     pt, sizeof(pt)) != 1 ||
	    (k->pkey = au_pkey_fromdata("EC", bld)) == NULL ||
	    (chk = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL)) == NULL ||
	    EVP_PKEY_public_check(chk) != 1) {
		au_err(err, errlen, "%s: the EC point is not on P-256", who);
		goto done;
	}
	rc = 0;
done:
	EVP_PKEY_CTX_free(chk);
	OSSL_PARAM_BLD_free(bld);
	free(x);
	free(y);
	return rc;
}

static int
au_load_okp(struct au_jwk *k, json_object *o, const char *who, char *err,
            size_t errlen)
{
	const char *crv = au_member(o, "crv");
	unsigned char *x;
	size_t xlen = 0;

	if (crv == NULL || strcmp(crv, "Ed25519") != 0) {
		au_err(err, errlen, "%s: OKP keys must have crv Ed25519", who);
		return -1;
	}
	if ((x = au_member_b64(o, "x", &xlen, who, err, errlen)) == NULL)
		return -1;
	if (xlen != 32) {
		au_err(err, errlen, "%s: an Ed25519 key's 'x' must be 32 "
		       "bytes", who);
		free(x);
		return -1;
	}
	k->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, 32);
	free(x);
	if (k->pkey == NULL) {
		au_err(err, errlen, "%s: OpenSSL refused the Ed25519 key", who);
		return -1;
	}
	return 0;
}

/* Reads the i-th key of the set into k. */
static int
au_load_key(struct au_jwks *set, struct au_jwk *k, json_object *o, size_t i,
            char *err, size_t errlen)
{
	const char *kty, *kid, *use, *alg;
	char who[160], q[104];

	if (!json_object_is_type(o, json_type_object)) {
		au_err(err, errlen, "key %zu is not a JSON object", i + 1);
		return -1;
	}
	kid = au_member(o, "kid");
	if (kid == NULL || kid[0] == '\0') {
		au_err(err, errlen, "key %zu has no 'kid' (a non-empty "
		       "string)", i + 1);
		return -1;
	}
	snprintf(who, sizeof(who), "key %zu (kid '%s')", i + 1,
	         au_printable(kid, 100, q, sizeof(q)));
	if (au_jwks_find(set, kid, strlen(kid)) != NULL) {
		au_err(err, errlen, "%s: the kid is used twice", who);
		return -1;
	}
	kty = au_member(o, "kty");
	if (kty == NULL) {
		au_err(err, errlen, "%s: 'kty' is missing", who);
		return -1;
	}
	if (strcmp(kty, "oct") == 0)
		k->kty = AU_KTY_OCT;
	else if (strcmp(kty, "RSA") == 0)
		k->kty = AU_KTY_RSA;
	else if (strcmp(kty, "EC") == 0)
		k->kty = AU_KTY_EC;
	else if (strcmp(kty, "OKP") == 0)
		k->kty = AU_KTY_OKP;
	else {
		au_err(err, errlen, "%s: kty '%s' is not supported (oct, "
		       "RSA, EC or OKP)", who,
		       au_printable(kty, 20, q, sizeof(q)));
		return -1;
	}
	use = au_member(o, "use");
	if (use != NULL && strcmp(use, "sig") != 0) {
		au_err(err, errlen, "%s: 'use' is '%s'; only 'sig' keys "
		       "verify tokens", who,
		       au_printable(use, 20, q, sizeof(q)));
		return -1;
	}
	alg = au_member(o, "alg");
	if (alg != NULL && strcmp(alg, au_kty_alg(k->kty)) != 0) {
		au_err(err, errlen, "%s: alg '%s' does not fit a %s key "
		       "(only %s)", who, au_printable(alg, 20, q, sizeof(q)),
		       au_kty_name(k->kty), au_kty_alg(k->kty));
		return -1;
	}
	if ((k->kid = strdup(kid)) == NULL ||
	    (alg != NULL && (k->alg = strdup(alg)) == NULL)) {
		au_err(err, errlen, "out of memory");
		return -1;
	}
	switch (k->kty) {
	case AU_KTY_OCT:
		k->secret = au_member_b64(o, "k", &k->secret_len, who, err,
		                          errlen);
		if (k->secret == NULL)
			return -1;
		if (k->secret_len < 32) {
			au_err(err, errlen, "%s: an HS256 key must be at least "
			       "32 bytes, not %zu", who, k->secret_len);
			return -1;
		}
		return 0;
	case AU_KTY_RSA:
		return au_load_rsa(k, o, who, err, errlen);
	case AU_KTY_EC:
		return au_load_ec(k, o, who, err, errlen);
	case AU_KTY_OKP:
		return au_load_okp(k, o, who, err, errlen);
	}
	return -1;
}

struct au_jwks *
au_jwks_load(const char *path, char *err, size_t errlen)
{
	char *text;
	size_t len = 0, i, n;
	json_tokener *tok = NULL;
	json_object *root = NULL, *keys;
	struct au_jwks *set = NULL;
	char inner[512];

	if ((text = au_read_file(path, &len, err, errlen)) == NULL)
		return NULL;
	if ((tok = json_tokener_new()) == NULL) {
		au_err(err, errlen, "out of memory");
		goto fail;
	}
	root = json_tokener_parse_ex(tok, text, (int)len);
	if (root == NULL || json_tokener_get_parse_end(tok) < len) {
		size_t end = json_tokener_get_parse_end(tok);

		while (root != NULL && end < len &&
		       strchr(" \t\r\n", text[end]) != NULL)
			end++;
		if (root == NULL || end < len) {
			au_err(err, errlen, "the JWKS file %s is not valid "
			       "JSON", path);
			goto fail;
		}
	}
	if (!json_object_is_type(root, json_type_object) ||
	    !json_object_object_get_ex(root, "keys", &keys) ||
	    !json_object_is_type(keys, json_type_array)) {
		au_err(err, errlen, "the JWKS file %s has no \"keys\" array",
		       path);
		goto fail;
	}
	n = json_object_array_length(keys);
	if (n == 0) {
		au_err(err, errlen, "the JWKS file %s has no keys", path);
		goto fail;
	}
	if ((set = calloc(1, sizeof(*set))) == NULL ||
	    (set->keys = calloc(n, sizeof(*set->keys))) == NULL) {
		au_err(err, errlen, "out of memory");
		goto fail;
	}
	for (i = 0; i < n; i++) {
		if (au_load_key(set, &set->keys[i],
		                json_object_array_get_idx(keys, i), i, inner,
		                sizeof(inner)) < 0) {
			set->n = i + 1;     /* frees the partial key too */
			au_err(err, errlen, "the JWKS file %s: %s", path,
			       inner);
			goto fail;
		}
		set->n = i + 1;
	}
	json_object_put(root);
	json_tokener_free(tok);
	OPENSSL_cleanse(text, len);     /* oct keys are secrets */
	free(text);
	return set;
fail:
	au_jwks_free(set);
	json_object_put(root);
	if (tok != NULL)
		json_tokener_free(tok);
	OPENSSL_cleanse(text, len);
	free(text);
	return NULL;
}
