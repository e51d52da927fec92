/* libgcrypt, initialised once for the whole program. libgcrypt wants
 * gcry_check_version called once before any other use and before a second
 * thread uses it: the dissectors (JA3, JA4, certificates, DNS), the
 * anonymiser and the capture file's hash each call crypto_ready() first,
 * and main() calls it before starting threads. */
#ifndef SMTPTLS_CRYPTO_H
#define SMTPTLS_CRYPTO_H

/* 1 once libgcrypt is ready for use from any thread, 0 if it cannot be. */
int crypto_ready(void);

#endif
