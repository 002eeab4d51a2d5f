/* sign.h: SHA-256, HMAC-SHA256 and the Volcengine signature V4 that Ark's control plane
 * (its asset library) requires, on OpenSSL's libcrypto.
 *
 * The signing is the AWS SigV4 scheme with Volcengine's names: canonical request
 *   METHOD \n PATH \n SORTED-QUERY \n (name:value \n)* \n SIGNED-HEADERS \n hex(sha256(body))
 * string to sign "HMAC-SHA256\n<X-Date>\n<date>/<region>/<service>/request\n<hex(sha256(CR))>",
 * key chain from the raw secret key over date, region, service and "request". */
#ifndef SEEDANCE_SIGN_H
#define SEEDANCE_SIGN_H

#include <stddef.h>

struct lua_State;

#define SD_SHA256_LEN 32

/* 0 on success, -1 when libcrypto failed. */
int sd_sha256(const void *data, size_t n, unsigned char out[SD_SHA256_LEN]);
int sd_hmac_sha256(const void *key, size_t klen, const void *msg, size_t n,
                   unsigned char out[SD_SHA256_LEN]);

/* Lower-case hex of n bytes into out (2n + 1 bytes with the NUL). */
void sd_hex(const unsigned char *in, size_t n, char *out);

/* Lua faces (registered by core.c):
 *   core.sha256_hex(s) -> hex
 *   core.hmac_sha256(key, msg [, hex]) -> 32 raw bytes, or hex when `hex` is true
 *   core.sign_v4{method=, path=, query=<raw query as sent>, headers={name=value, ...}
 *                (each one is signed; "x-date" dates the request), body=, access_key=,
 *                secret_key=, region=, service=, date=<only without an X-Date header>}
 *     -> {authorization=, signature=, signed_headers=, scope=, canonical_request=,
 *         string_to_sign=, body_hash=}
 * Misuse (a missing field, a malformed X-Date) raises; the secret key never appears in a
 * message. */
int sd_l_sha256_hex(struct lua_State *L);
int sd_l_hmac_sha256(struct lua_State *L);
int sd_l_sign_v4(struct lua_State *L);

#endif
