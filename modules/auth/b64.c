/*
 * b64.c - strict base64url (RFC 4648 §5, no padding, as JWS and our API
 * keys write it), hex, and the instance's SHA-256.
 *
 * Strict means one spelling per byte string: only the 64 characters of
 * the alphabet, no '=', no whitespace, a length that is not 1 modulo 4,
 * and zero bits in the unused low bits of the last character. A token
 * that differs from its canonical spelling is malformed, so two
 * spellings of one signature never pass as two tokens.
 */
#include "au.h"

#include <string.h>

static const char au_b64_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The 6-bit value of c, or -1. */
static int
au_b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

long
au_b64url_decode(const char *s, size_t len, unsigned char *out)
{
	uint32_t acc = 0;
	int bits = 0, v;
	size_t i, n = 0;

	if (len % 4 == 1)
		return -1;
	for (i = 0; i < len; i++) {
		if ((v = au_b64_val((unsigned char)s[i])) < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0)           /* leftover bits must be zero */
		return -1;
	return (long)n;
}

void
au_b64url_encode(const unsigned char *in, size_t len, char *out)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			*out++ = au_b64_chars[(acc >> bits) & 63];
		}
	}
	if (bits > 0)
		*out++ = au_b64_chars[(acc << (6 - bits)) & 63];
	*out = '\0';
}

void
au_hex(const unsigned char *in, size_t len, char *out)
{
	static const char d[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		*out++ = d[in[i] >> 4];
		*out++ = d[in[i] & 15];
	}
	*out = '\0';
}

static int
au_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes 2*len hex digits from s into len bytes; 0 or -1. */
int
au_unhex(const char *s, size_t len, unsigned char *out)
{
	size_t i;
	int hi, lo;

	for (i = 0; i < len; i++) {
		if ((hi = au_hexval(s[2 * i])) < 0 ||
		    (lo = au_hexval(s[2 * i + 1])) < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* SHA-256 with the instance's fetched digest and reused context (the
 * implicit fetch of EVP_sha256() per call costs more than the hash of a
 * short token). */
void
au_sha256(struct au_auth *a, const void *p, size_t n, unsigned char out[32])
{
	unsigned int len = 32;

	if (a->md == NULL || a->sha256 == NULL ||
	    EVP_DigestInit_ex(a->md, a->sha256, NULL) != 1 ||
	    EVP_DigestUpdate(a->md, p, n) != 1 ||
	    EVP_DigestFinal_ex(a->md, out, &len) != 1)
		EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
}
