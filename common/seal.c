/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Sealing token secrets with the site key: AES-256-GCM, 96-bit random
 * nonce, 128-bit tag, key id and user bound in as associated data.
 *
 * Why OpenSSL's EVP rather than libsodium: libcrypto is already a
 * dependency (the audit chain, the push client), so sealing adds no
 * package to install or to keep patched; hospitals often have to run
 * FIPS 140-validated builds, which exist for OpenSSL's provider and
 * not for libsodium; and AES-256-GCM is what their auditors expect to
 * read. Its one sharp edge, a repeated nonce under one key, is kept away
 * by a fresh RAND_bytes nonce per seal: a site seals a few thousand
 * secrets per key, far below the 2^32 random nonces GCM allows.
 */
#include "config.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "safefile.h"
#include "seal.h"
#include "secret.h"

#define NONCE_LEN  12
#define TAG_LEN    16
#define KEYID_HEX  (2 * SEAL_KEYID_LEN)
#define PREFIX_LEN (sizeof(SEAL_PREFIX) - 1)
/* "pgseal1:" + key id + ':' */
#define HEAD_LEN (PREFIX_LEN + KEYID_HEX + 1)
/* nonce || ciphertext || tag of the largest secret */
#define BLOB_MAX   (NONCE_LEN + SEAL_SECRET_MAX + TAG_LEN)
#define B64_LEN(n) (((n) + 2) / 3 * 4)
#define AAD_LABEL  "phiguard-seal-v1"
#define STR(x)     #x
#define XSTR(x)    STR(x)

static const char hexdigits[] = "0123456789abcdef";

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Exactly 2 * n lowercase hex digits at s into out. */
static int hex_decode(const char *s, unsigned char *out, size_t n)
{
	size_t i;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if ((hi = hexval(s[2 * i])) < 0 ||
		    (lo = hexval(s[2 * i + 1])) < 0)
			return PG_ERR_INVAL;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

static void hex_encode(const unsigned char *p, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hexdigits[p[i] >> 4];
		out[2 * i + 1] = hexdigits[p[i] & 0xf];
	}
}

static int b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/*
 * Decode n bytes of padded RFC 4648 base64 into out (outsz bytes), and
 * accept only the canonical text: EVP_DecodeBlock skips blanks and
 * ignores the unused low bits of the last character, so re-encoding must
 * give back the very same text. Then no changed character of a sealed
 * text can leave its bytes, and its tag, unchanged.
 */
static int b64_decode(const char *s, size_t n, unsigned char *out, size_t outsz,
                      size_t *outlen)
{
	unsigned char buf[B64_LEN(BLOB_MAX) / 4 * 3];
	char back[B64_LEN(BLOB_MAX) + 1];
	size_t i, pad = 0, len;
	int rc = PG_ERR_INVAL;

	if (n == 0 || n % 4 != 0 || n > sizeof(back) - 1)
		goto out;
	if (s[n - 1] == '=')
		pad = s[n - 2] == '=' ? 2 : 1;
	for (i = 0; i < n - pad; i++)
		if (!b64_char(s[i]))
			goto out;
	if (EVP_DecodeBlock(buf, (const unsigned char *)s, (int)n) !=
	    (int)(n / 4 * 3))
		goto out;
	len = n / 4 * 3 - pad;
	if (EVP_EncodeBlock((unsigned char *)back, buf, (int)len) != (int)n ||
	    memcmp(back, s, n) != 0)
		goto out;
	rc = PG_ERR_TOOLONG;
	if (len > outsz)
		goto out;
	memcpy(out, buf, len);
	*outlen = len;
	rc = 0;
out:
	secret_wipe(buf, sizeof(buf));
	secret_wipe(back, sizeof(back));
	return rc;
}

/* A parsed sealed text: key id and the decoded nonce || ct || tag. */
struct sealed {
	unsigned char id[SEAL_KEYID_LEN];
	unsigned char blob[BLOB_MAX];
	size_t bloblen;
};

static int sealed_parse(const char *text, size_t len, struct sealed *s)
{
	if (len > SEAL_TEXT_MAX || len <= HEAD_LEN ||
	    !seal_is_sealed(text, len) || text[HEAD_LEN - 1] != ':' ||
	    hex_decode(text + PREFIX_LEN, s->id, SEAL_KEYID_LEN) != 0 ||
	    b64_decode(text + HEAD_LEN, len - HEAD_LEN, s->blob,
	               sizeof(s->blob), &s->bloblen) != 0 ||
	    s->bloblen < NONCE_LEN + 1 + TAG_LEN)
		return PG_ERR_INVAL;
	return 0;
}

int seal_is_sealed(const char *text, size_t len)
{
	return text != NULL && len >= PREFIX_LEN &&
	       memcmp(text, SEAL_PREFIX, PREFIX_LEN) == 0;
}

int seal_text_check(const char *text, size_t len)
{
	struct sealed s;
	int rc;

	rc = sealed_parse(text, len, &s);
	secret_wipe(&s, sizeof(s));
	return rc;
}

/* The associated data, fed to ctx in pieces: label, NUL, key id, user. */
static int feed_aad(EVP_CIPHER_CTX *ctx, const unsigned char *id,
                    const char *user)
{
	static const unsigned char label[] = AAD_LABEL; /* with its NUL */
	int outl;

	return EVP_CipherUpdate(ctx, NULL, &outl, label, sizeof(label)) == 1 &&
	               EVP_CipherUpdate(ctx, NULL, &outl, id, SEAL_KEYID_LEN) ==
	                   1 &&
	               EVP_CipherUpdate(ctx, NULL, &outl,
	                                (const unsigned char *)user,
	                                (int)strlen(user)) == 1
	           ? 0
	           : PG_ERR_INTERNAL;
}

/* A GCM context for key k, nonce, direction enc, with the AAD fed. */
static int gcm_start(EVP_CIPHER_CTX *ctx, int enc, const struct seal_key *k,
                     const unsigned char *nonce, const char *user)
{
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) !=
	        1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) !=
	        1 ||
	    EVP_CipherInit_ex(ctx, NULL, NULL, k->key, nonce, enc) != 1)
		return PG_ERR_INTERNAL;
	return feed_aad(ctx, k->id, user);
}

int seal_secret(const struct seal_key *k, const char *user,
                const unsigned char *secret, size_t len, char *out,
                size_t outsz)
{
	unsigned char blob[BLOB_MAX];
	size_t bloblen = NONCE_LEN + len + TAG_LEN;
	EVP_CIPHER_CTX *ctx = NULL;
	int outl = 0, fin = 0, rc = PG_ERR_INVAL;

	if (user == NULL || user[0] == '\0' || secret == NULL || len == 0 ||
	    len > SEAL_SECRET_MAX)
		goto out;
	rc = PG_ERR_TOOLONG;
	if (outsz < HEAD_LEN + B64_LEN(bloblen) + 1)
		goto out;
	rc = PG_ERR_IO;
	if (RAND_bytes(blob, NONCE_LEN) != 1)
		goto out;
	rc = PG_ERR_INTERNAL;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    gcm_start(ctx, 1, k, blob, user) != 0 ||
	    EVP_EncryptUpdate(ctx, blob + NONCE_LEN, &outl, secret, (int)len) !=
	        1 ||
	    EVP_EncryptFinal_ex(ctx, blob + NONCE_LEN + outl, &fin) != 1 ||
	    (size_t)outl + (size_t)fin != len ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN,
	                        blob + NONCE_LEN + len) != 1)
		goto out;
	memcpy(out, SEAL_PREFIX, PREFIX_LEN);
	hex_encode(k->id, SEAL_KEYID_LEN, out + PREFIX_LEN);
	out[HEAD_LEN - 1] = ':';
	if (EVP_EncodeBlock((unsigned char *)out + HEAD_LEN, blob,
	                    (int)bloblen) != (int)B64_LEN(bloblen))
		goto out;
	rc = 0;
out:
	if (rc != 0 && out != NULL && outsz > 0)
		secret_wipe(out, outsz);
	EVP_CIPHER_CTX_free(ctx);
	secret_wipe(blob, sizeof(blob));
	return rc;
}

static const struct seal_key *find_key(const struct seal_keyring *kr,
                                       const unsigned char *id)
{
	size_t i;

	for (i = 0; kr != NULL && i < kr->n && i < SEAL_MAX_KEYS; i++)
		if (memcmp(kr->keys[i].id, id, SEAL_KEYID_LEN) == 0)
			return &kr->keys[i];
	return NULL;
}

int seal_open(const struct seal_keyring *kr, const char *user, const char *text,
              unsigned char *secret, size_t secsz, size_t *len)
{
	unsigned char plain[SEAL_SECRET_MAX];
	const struct seal_key *k;
	EVP_CIPHER_CTX *ctx = NULL;
	struct sealed s;
	size_t ctlen = 0;
	int outl = 0, fin = 0, rc;

	if (text == NULL || user == NULL || user[0] == '\0' ||
	    (rc = sealed_parse(text, strlen(text), &s)) != 0) {
		rc = PG_ERR_INVAL;
		goto out;
	}
	ctlen = s.bloblen - NONCE_LEN - TAG_LEN;
	rc = PG_ERR_NOTFOUND;
	if ((k = find_key(kr, s.id)) == NULL)
		goto out;
	rc = PG_ERR_INTERNAL;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    gcm_start(ctx, 0, k, s.blob, user) != 0 ||
	    EVP_DecryptUpdate(ctx, plain, &outl, s.blob + NONCE_LEN,
	                      (int)ctlen) != 1 ||
	    (size_t)outl != ctlen ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN,
	                        s.blob + NONCE_LEN + ctlen) != 1)
		goto out;
	/* The tag check: wrong key, another user, or a changed byte. */
	rc = PG_ERR_AUTH;
	if (EVP_DecryptFinal_ex(ctx, plain + outl, &fin) != 1 || fin != 0)
		goto out;
	rc = PG_ERR_TOOLONG;
	if (ctlen > secsz)
		goto out;
	memcpy(secret, plain, ctlen);
	*len = ctlen;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	secret_wipe(plain, sizeof(plain));
	secret_wipe(&s, sizeof(s));
	return rc;
}

int seal_key_generate(struct seal_key *k)
{
	if (RAND_bytes(k->id, SEAL_KEYID_LEN) != 1 ||
	    RAND_bytes(k->key, SEAL_KEY_LEN) != 1) {
		secret_wipe(k, sizeof(*k));
		return PG_ERR_IO;
	}
	return 0;
}

int seal_key_format_line(const struct seal_key *k, char *out, size_t outsz)
{
	if (outsz < KEYID_HEX + 1 + B64_LEN(SEAL_KEY_LEN) + 2) {
		secret_wipe(out, outsz);
		return PG_ERR_TOOLONG;
	}
	hex_encode(k->id, SEAL_KEYID_LEN, out);
	out[KEYID_HEX] = ' ';
	EVP_EncodeBlock((unsigned char *)out + KEYID_HEX + 1, k->key,
	                SEAL_KEY_LEN);
	memcpy(out + KEYID_HEX + 1 + B64_LEN(SEAL_KEY_LEN), "\n", 2);
	return 0;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* One key line (n bytes, no "\n", leading blanks skipped) into *k. */
static int key_line(const char *p, size_t n, struct seal_key *k,
                    const char **why)
{
	size_t i = KEYID_HEX, klen = 0, b64;

	*why = "want <key id: 16 lowercase hex> <base64 of 32 bytes>";
	if (n <= KEYID_HEX || hex_decode(p, k->id, SEAL_KEYID_LEN) != 0 ||
	    !is_blank(p[i]))
		return PG_ERR_CONFIG;
	while (i < n && is_blank(p[i]))
		i++;
	for (b64 = 0; i + b64 < n && !is_blank(p[i + b64]); b64++)
		;
	if (b64_decode(p + i, b64, k->key, SEAL_KEY_LEN, &klen) != 0 ||
	    klen != SEAL_KEY_LEN) {
		*why = "the key must be the base64 of 32 bytes";
		return PG_ERR_CONFIG;
	}
	for (i += b64; i < n; i++)
		if (!is_blank(p[i]))
			return PG_ERR_CONFIG;
	return 0;
}

/* Parse one key line into the next slot of *kr. */
static int add_key(struct seal_keyring *kr, const char *p, size_t n,
                   const char **why)
{
	struct seal_key k;
	int rc;

	if ((rc = key_line(p, n, &k, why)) != 0)
		goto out;
	rc = PG_ERR_CONFIG;
	if (find_key(kr, k.id) != NULL) {
		*why = "key id given twice";
		goto out;
	}
	if (kr->n == SEAL_MAX_KEYS) {
		*why = "more than " XSTR(SEAL_MAX_KEYS) " keys";
		goto out;
	}
	kr->keys[kr->n++] = k;
	rc = 0;
out:
	secret_wipe(&k, sizeof(k));
	return rc;
}

int seal_keyring_parse(const char *text, size_t len, struct seal_keyring *kr,
                       char *err, size_t errlen)
{
	/* A new key file is empty: NULL text. */
	const char *p = text, *end = text != NULL ? text + len : text, *nl;
	const char *why = NULL;
	unsigned lineno = 0;
	size_t n;
	int rc = 0;

	memset(kr, 0, sizeof(*kr));
	while (rc == 0 && p < end) {
		lineno++;
		nl = memchr(p, '\n', (size_t)(end - p));
		n = (size_t)((nl != NULL ? nl : end) - p);
		while (n > 0 && is_blank(*p)) {
			p++;
			n--;
		}
		if (n > 0 && *p != '#')
			rc = add_key(kr, p, n, &why);
		p = nl != NULL ? nl + 1 : end;
	}
	if (rc != 0) {
		pg_err_set(err, errlen, "line %u: %s", lineno, why);
		seal_keyring_wipe(kr);
	}
	return rc;
}

int seal_keyring_load(const char *path, int check_owner,
                      struct seal_keyring *kr, char *err, size_t errlen)
{
	struct safefile_policy pol = safefile_secret_policy;
	char why[128];
	char *buf = NULL;
	size_t len = 0;
	int rc;

	memset(kr, 0, sizeof(*kr));
	pol.allow_other_owner = !check_owner;
	if ((rc = safefile_read(path, &pol, &buf, &len, err, errlen)) != 0)
		goto out;
	if ((rc = seal_keyring_parse(buf, len, kr, why, sizeof(why))) != 0) {
		pg_err_set(err, errlen, "%s: %s", path, why);
		goto out;
	}
	if (kr->n == 0) {
		rc = PG_ERR_CONFIG;
		pg_err_set(err, errlen, "%s: no key", path);
	}
out:
	if (rc != 0)
		seal_keyring_wipe(kr);
	secret_free(buf, len + 1);
	return rc;
}

void seal_keyring_wipe(struct seal_keyring *kr)
{
	if (kr != NULL)
		secret_wipe(kr, sizeof(*kr));
}
