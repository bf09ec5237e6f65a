/*
 * STAND-IN for ByteDance's BoringSSL (libttboringssl.so / libsscronet.so), for the tls-native test.
 * Built as `libttboringssl.so`, it exports the BoringSSL functions the agent uses, with BoringSSL's
 * signatures: SSL_CTX_set_custom_verify, SSL_get0_peer_certificates, sk_num, sk_value,
 * CRYPTO_BUFFER_data, CRYPTO_BUFFER_len. `standin_set_chain` sets the chain "the server sent" and
 * `standin_handshake` runs the certificate callback the app installed, as BoringSSL would.
 */
#include <stddef.h>
#include <stdint.h>

typedef int (*verify_cb)(void *ssl, uint8_t *out_alert);

typedef struct { const uint8_t *data; size_t len; } buffer_t;
typedef struct { buffer_t items[8]; size_t n; } stack_t_;

static verify_cb installed = 0;
static stack_t_ chain;

void SSL_CTX_set_custom_verify(void *ctx, int mode, verify_cb cb) { (void)ctx; (void)mode; installed = cb; }
void SSL_set_custom_verify(void *ssl, int mode, verify_cb cb) { (void)ssl; (void)mode; installed = cb; }
const void *SSL_get0_peer_certificates(const void *ssl) { (void)ssl; return &chain; }
size_t sk_num(const void *sk) { return ((const stack_t_ *)sk)->n; }
void *sk_value(const void *sk, size_t i) { return (void *)&((const stack_t_ *)sk)->items[i]; }
const uint8_t *CRYPTO_BUFFER_data(const void *buf) { return ((const buffer_t *)buf)->data; }
size_t CRYPTO_BUFFER_len(const void *buf) { return ((const buffer_t *)buf)->len; }

void standin_set_chain(const uint8_t **certs, const size_t *lens, size_t n) {
    chain.n = n < 8 ? n : 8;
    for (size_t i = 0; i < chain.n; i++) { chain.items[i].data = certs[i]; chain.items[i].len = lens[i]; }
}

/* 0 = ssl_verify_ok, 1 = ssl_verify_invalid (BoringSSL's enum ssl_verify_result_t). */
int standin_handshake(void *ssl) {
    uint8_t alert = 0;
    return installed ? installed(ssl, &alert) : 0;
}
