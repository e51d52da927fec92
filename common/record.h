/* Value types that cross module boundaries: the session record written to
 * the store, its enums and anomaly flags, and the parser feed contract. */
#ifndef SMTPTLS_RECORD_H
#define SMTPTLS_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define REC_ADDR_MAX 46  /* INET6_ADDRSTRLEN */
#define REC_NAME_MAX 256 /* host names, SNI: sanitised and truncated to this */
#define REC_ALPN_MAX 128
#define REC_CERT_NAME_MAX 128 /* certificate CN, issuer CN and O */
#define REC_SANS_MAX 256      /* subjectAltName list, comma separated, capped */
#define REC_FP_MAX 40         /* JA3, JA3S (32 hex digits), JA4 (36 characters) */
#define REC_TLSA_MAX 1200     /* a TLSA RRset as text ("3 1 1 <hex>, ..."), capped */

/* Directions of a connection. */
enum { DIR_C2S = 0, DIR_S2C = 1 };

/* How a session tried to protect itself. */
enum transport {
	TRANSPORT_UNKNOWN = 0, /* neither SMTP nor a TLS hello recognised */
	TRANSPORT_PLAINTEXT,   /* SMTP, no STARTTLS accepted */
	TRANSPORT_STARTTLS,    /* server answered 2xx to STARTTLS */
	TRANSPORT_IMPLICIT_TLS /* TLS from the first byte */
};

/* Why the flow holding a session ended. */
enum end_reason {
	END_FIN = 0,  /* both sides sent FIN */
	END_RST,      /* a reset */
	END_IDLE,     /* no packet for the idle timeout */
	END_EOF,      /* end of capture file or live capture stopped */
	END_EVICTED,  /* flow table full: oldest flow pushed out */
	END_REUSED,   /* a new connection took the same addresses and ports */
};

/* Anomalies: one bit each, stored as an integer bit set; their names are
 * in registry.h. */
enum anomaly {
	ANOM_MIDSTREAM = 1u << 0,        /* no SYN seen: picked up mid-stream */
	ANOM_GAP = 1u << 1,              /* bytes missing in a direction */
	ANOM_SNAPLEN = 1u << 2,          /* packets truncated by the snapshot length */
	ANOM_NO_TLS_AFTER_220 = 1u << 3, /* STARTTLS got 2xx but no TLS followed */
	ANOM_CLIENT_ONLY = 1u << 4,      /* only client-to-server bytes seen */
	ANOM_SERVER_ONLY = 1u << 5,      /* only server-to-client bytes seen */
	ANOM_LONG_LINE = 1u << 6,        /* an SMTP line beyond the line cap */
	ANOM_TLS_MALFORMED = 1u << 7,    /* a TLS record or hello failed to parse */
	ANOM_HANDSHAKE_TOO_BIG = 1u << 8,/* a handshake message beyond its cap */
	ANOM_PIPELINE_OVERFLOW = 1u << 9,/* more pending commands than tracked */
	ANOM_PLAINTEXT_ON_TLS = 1u << 10,/* TLS hello answered with plaintext SMTP */
	ANOM_REASM_OVERFLOW = 1u << 11,  /* reassembly buffer cap hit, data skipped */
	ANOM_OVERLAP_MISMATCH = 1u << 12,/* overlapping TCP segments disagree */
	ANOM_PLAINTEXT_AFTER_STARTTLS = 1u << 13, /* clear data after STARTTLS, before TLS */
	ANOM_NOT_SMTP = 1u << 14,        /* bytes that are not SMTP on an SMTP port */
	ANOM_EVICTED = 1u << 15,         /* flow evicted: the table was full */
	ANOM_CAPABILITY_MANGLED = 1u << 16, /* an EHLO keyword overwritten (XXXXXXXA) */
	ANOM_CERT_MALFORMED = 1u << 17,  /* the leaf certificate failed to parse */
	ANOM_CERT_NAMES_CAPPED = 1u << 18, /* more subjectAltNames than kept */
};
#define ANOM_COUNT 19

/* How the TLS handshake ended; NONE when no TLS was attempted. */
enum tls_outcome {
	OUTCOME_NONE = 0,
	OUTCOME_ESTABLISHED,      /* the handshake completed (both sides, or proven
				   * by the one side seen) */
	OUTCOME_REFUSED,          /* an alert instead of a ServerHello */
	OUTCOME_FAILED,           /* a ServerHello, then an alert, or the connection
				   * ended before the client's Finished */
	OUTCOME_NO_SERVER_HELLO,  /* a ClientHello, then neither ServerHello nor alert
				   * from a server that was seen */
	OUTCOME_INCOMPLETE,       /* TLS attempted, the end of the handshake not in
				   * the capture: unknown */
	OUTCOME_NO_TLS_AFTER_220, /* STARTTLS answered 2xx, no TLS hello followed */
};

/* What the DNS on the link showed about a session's MX host's TLSA
 * records (issue 17): the codes of domain_dane; -1 NULL. */
enum dane_state {
	DANE_NONE = 0,     /* NXDOMAIN or NODATA: no TLSA */
	DANE_UNSIGNED = 1, /* TLSA records without a signature (no DANE policy) */
	DANE_SIGNED = 2,   /* TLSA records with an RRSIG, or the AD bit */
};

/* The leaf certificate of a TLS <= 1.2 handshake (sent in clear). Strings
 * are sanitised like host names; unknown integers are -1. */
struct rec_cert {
	int present;              /* 0/1: a leaf certificate was parsed */
	char subject_cn[REC_CERT_NAME_MAX];
	char sans[REC_SANS_MAX];  /* DNS names and IP addresses, comma separated */
	char issuer_cn[REC_CERT_NAME_MAX];
	char issuer_org[REC_CERT_NAME_MAX];
	int64_t not_before, not_after; /* epoch seconds (UTC) */
	char key_type[32];        /* RSA, RSA-PSS, EC, Ed25519, Ed448, DSA or the OID */
	int key_bits;             /* RSA modulus, EC curve, DSA prime; -1 unknown */
	char sig_alg[48];         /* OpenSSL's name (sha256WithRSAEncryption) or the OID */
	int self_signed;          /* issuer name == subject name; -1 no certificate */
	int expired;              /* not_after before the session's start; -1 unknown */
	int name_match;           /* greeting host name matches (RFC 6125); -1 unknown */
	char sha256[65];          /* SHA-256 of the DER, lowercase hex */
};

/* One session, as codes (names are in registry.h). Integers that may be
 * unknown use -1, which the store writes as NULL. */
struct session_record {
	char client_ip[REC_ADDR_MAX];
	char server_ip[REC_ADDR_MAX];
	uint16_t client_port, server_port;
	double ts_start, ts_end;
	enum transport transport;
	int starttls_offered;     /* -1 no EHLO reply seen, else 0/1 */
	int starttls_sent;        /* -1 client side not seen, else 0/1 */
	int starttls_reply;       /* -1 none, else the reply code */
	int tls_version;          /* -1 none, else negotiated code (0x0303...) */
	int client_version_max;   /* -1 no ClientHello, else highest offered */
	int cipher_suite;         /* -1 none */
	int kx_group;             /* key-exchange group code, -1 unknown */
	char sni[REC_NAME_MAX];
	char alpn[REC_ALPN_MAX];  /* server-selected */
	char alpn_offered[REC_ALPN_MAX];
	int client_hello;         /* -1 unknown (client side or its TLS start not
				   * seen), else 0/1: a ClientHello was seen */
	int hello_retry;          /* -1 the server's TLS start not seen, else 0/1 */
	int resumed;              /* -1 no ServerHello, else 0/1 */
	int tls_established;      /* -1 unknown (tls_outcome incomplete), else 0/1:
				   * the handshake completed */
	int tls_alert;            /* -1 none, else level*256 + description */
	int tls_alert_from;       /* -1 none, DIR_C2S or DIR_S2C: who sent tls_alert */
	enum tls_outcome tls_outcome;
	int kx_dh_bits;           /* -1, else the DHE prime size (TLS <= 1.2) */
	int forward_secrecy;      /* -1 unknown, else 0/1 (negotiated suite) */
	int aead;                 /* -1 unknown, else 0/1 */
	int weak_cipher;          /* -1 unknown, else 0/1 */
	int sslv2_hello;          /* -1 no ClientHello parsed, else 0/1: it was in
				   * SSLv2 format */
	int client_offered_tls13; /* -1 no ClientHello, else 0/1 */
	int client_suites;        /* -1, else suites offered (no GREASE, no SCSV) */
	int client_offered_weak;  /* -1, else 0/1 */
	int server_chose_weak;    /* -1, else 0/1: a weak suite although a strong was offered */
	int server_declined_fs;   /* -1, else 0/1: no forward secrecy although offered */
	char ja3[REC_FP_MAX];
	char ja3s[REC_FP_MAX];
	char ja4[REC_FP_MAX];
	struct rec_cert cert;
	int plaintext_transactions; /* -1 unknown (client bytes in clear not all
				     * seen), else MAIL commands in clear */
	int plaintext_rcpts;        /* -1 unknown, else RCPT commands in clear */
	int cleartext_auth;       /* -1 unknown, else 0/1: AUTH before TLS */
	char auth_mechanism[32];
	char server_name[REC_NAME_MAX];
	char ehlo_name[REC_NAME_MAX];
	char ehlo_keywords[REC_NAME_MAX]; /* the first EHLO reply's keywords */
	uint64_t packets, bytes_c2s, bytes_s2c;
	enum end_reason end_reason;
	uint32_t anomalies;
	/* From the DNS and HTTPS on the link (issue 17; engine/build.c): ""
	 * and -1 are NULL, every one of them without DNS or with --no-dns. */
	char mx_domain[REC_NAME_MAX];   /* recipient domain whose MX led here */
	char mx_host[REC_NAME_MAX];     /* ... through this exchange */
	int domain_mta_sts;             /* 1/0: a v=STSv1 record / none */
	int domain_dane;                /* enum dane_state */
	int domain_tlsrpt;              /* 1/0: a v=TLSRPTv1 record / none */
	int sender_looked_up_mta_sts;   /* 1/0 within the window before the start */
	int sender_looked_up_tlsa;
	int sender_fetched_policy;      /* a ClientHello with SNI mta-sts.DOMAIN */
	int tlsa_match;                 /* 1/0: a TLSA record matches the certificates */
	int policy_plaintext;           /* 1/0: mail in clear to a policy domain */
	char tlsa_records[REC_TLSA_MAX];/* the TLSA set domain_dane is about */
};

/* Sets every field to its "unknown" value. */
void session_record_init(struct session_record *r);

/* The parser feed contract (see dissect/): how much of the buffer was
 * consumed and what the caller should do next. consumed <= len always. */
enum feed_status {
	FEED_MORE = 0, /* all input consumed; give more when it comes */
	FEED_HANDOFF,  /* stopped: the next protocol starts at p[consumed] */
	FEED_DONE,     /* this parser wants no more input on this direction */
};
struct feed_result {
	enum feed_status status;
	size_t consumed;
};

#endif
