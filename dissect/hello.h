/* The TLS hello parser: a ClientHello or ServerHello body (the bytes after
 * the 4-byte handshake header) read once, through rd.h, into where its
 * fields and lists lie. tls.c takes the session facts from it and
 * fingerprint.c formats JA3, JA3S and JA4 from it; nothing else reads a
 * hello's bytes.
 *
 * Extensions are walked once, in order. The lists the fingerprints use
 * (supported_groups, ec_point_formats, signature_algorithms,
 * supported_versions, ALPN) are those of the last extension of each type,
 * as the JA3 reference takes them; server_name and the ALPN offer kept as
 * session facts are the first. A hello may repeat none of them (RFC 8446
 * 4.2), so for a valid one first and last are the same. */
#ifndef SMTPTLS_HELLO_H
#define SMTPTLS_HELLO_H

#include <stddef.h>
#include <stdint.h>

#include "../common/rd.h"

/* Extension types kept in order; a hello with more sends no fingerprint
 * (there are fewer registered types than this, GREASE included). */
#define HELLO_EXTS_MAX 128

enum { EXT_SNI = 0, EXT_GROUPS = 10, EXT_POINT_FORMATS = 11, EXT_SIG_ALGS = 13,
       EXT_ALPN = 16, EXT_KEY_SHARE_D22 = 40, EXT_PSK = 41, EXT_VERSIONS = 43, EXT_KEY_SHARE = 51 };

enum hello_kind { HELLO_SERVER = 0, HELLO_CLIENT = 1 };

struct tls_hello {
	enum hello_kind kind;
	uint16_t version;         /* legacy_version */
	const uint8_t *random;    /* 32 bytes */
	struct rd sid;            /* legacy_session_id */
	struct rd suites;         /* ClientHello: cipher_suites, 2 bytes each */
	uint16_t cipher;          /* ServerHello: the suite chosen */
	int has_exts;             /* an extensions block came */
	uint16_t ext_type[HELLO_EXTS_MAX]; /* in order, GREASE included */
	size_t n_ext;
	int exts_capped;          /* more than HELLO_EXTS_MAX */
	int exts_ok;              /* every extension's framing is intact */
	int bodies_ok;            /* and the bodies below read within it */
	int sni;                  /* a server_name extension came */
	struct rd sni_name;       /* its first host_name (first extension) */
	struct rd alpn_first;     /* ProtocolNameList of the first ALPN */
	struct rd alpn;           /* ... of the last ALPN */
	struct rd groups;         /* NamedGroupList */
	struct rd formats;        /* ECPointFormatList */
	struct rd sigalgs;        /* SignatureSchemeList */
	struct rd versions;       /* ClientHello: ProtocolVersion list */
	int selected_version;     /* ServerHello supported_versions, -1 */
	int key_share_group;      /* ServerHello key_share, -1 */
	int key_share_d22;        /* ServerHello key_share as numbered up to draft 22
				   * (extension 40), -1 */
	int draft_layout;         /* ServerHello of TLS 1.3 draft <= 21 (0x7fNN, Fizz
				   * 0xfbNN): no session id, no compression method */
	size_t trailing;          /* bytes after the extensions block */
	int psk;                  /* ServerHello: pre_shared_key accepted */
};

/* Parses p[0..len). 0 when the fields before the extensions are there (the
 * extensions' state is in exts_ok and bodies_ok), -1 when they are not. */
int hello_parse(const uint8_t *p, size_t len, enum hello_kind kind, struct tls_hello *h);

/* The draft number of a TLS 1.3 draft version (0x7fNN) or of Facebook's
 * Fizz built on it (0xfbNN), else -1. */
int hello_draft(int version);

/* 1 when the fingerprints may be taken: the whole hello is well framed. */
int hello_complete(const struct tls_hello *h);

#endif
