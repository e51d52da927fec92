#include "tlsproof.h"

#include <stdint.h>
#include <string.h>

enum { REC_HANDSHAKE = 22, REC_APPDATA = 23 };

/* A TLS 1.3 alert is sent as an application data record of 19 bytes (2,
 * the content type byte, a 16-byte tag). */
#define TLS13_ALERT_RECORD 19u

void tlsproof_init(struct tlsproof *p)
{
	memset(p, 0, sizeof *p);
}

void tlsproof_hello(struct tlsproof *p, int dir)
{
	if (dir == 0)
		p->ch_seen = 1;
	else
		p->sh_seen = 1;
}

/* The unpadded length of a TLS 1.3 Finished record for a suite, 0 unknown. */
static unsigned finished_record(int cipher)
{
	static const struct { uint16_t suite; uint8_t hash, tag; } suites[] = {
		{0x1301, 32, 16}, {0x1302, 48, 16}, {0x1303, 32, 16},
		{0x1304, 32, 16}, {0x1305, 32, 8},
	};
	for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++)
		if (suites[i].suite == cipher)
			return 4u + suites[i].hash + 1u + suites[i].tag;
	return 0;
}

void tlsproof_server_hello(struct tlsproof *p, int tls13, int cipher, int resumed)
{
	p->sh_seen = 1;
	p->tls13 = tls13;
	p->fin_len = tls13 ? finished_record(cipher) : 0;
	p->resumed = resumed;
	p->d[1].enc_since_sh = 0;
}

void tlsproof_record_begins(struct tlsproof *p, int dir)
{
	if (dir == 1)
		p->d[1].after_client = p->d[0].nonalert;
}

/* A client record of a Finished's length: of the suite chosen, or of any
 * TLS 1.3 suite while the ServerHello is unknown. */
static int client_finished_len(const struct tlsproof *p, unsigned len)
{
	if (p->fin_len)
		return len == p->fin_len;
	return len == 45 || len == 53 || len == 69;
}

static inline void client_appdata(struct tlsproof *p, unsigned len)
{
	struct tlsproof_dir *d = &p->d[0];
	int nonalert = len > TLS13_ALERT_RECORD;
	d->nonalert |= nonalert && (p->sh_seen || !p->ch_seen);
	if (d->fin)
		d->data |= nonalert;
	else if (client_finished_len(p, len))
		d->fin = 1;
}

static inline void server_appdata(struct tlsproof *p, unsigned len)
{
	struct tlsproof_dir *d = &p->d[1];
	int nonalert = len > TLS13_ALERT_RECORD;
	unsigned first = p->resumed ? 1 : 3; /* EncryptedExtensions, Certificate, CertificateVerify */
	p->cross |= nonalert && d->after_client;
	if (d->fin) {
		d->data |= d->fin12 || nonalert;
		return;
	}
	if (!p->tls13 || d->lost || !p->fin_len)
		return;
	if (d->enc_since_sh++ >= first && len == p->fin_len)
		d->fin = 1;
}

int tlsproof_record(struct tlsproof *p, int dir, int type, unsigned len, int encrypted_hs)
{
	struct tlsproof_dir *d = &p->d[dir & 1];
	if (type == REC_HANDSHAKE && encrypted_hs && !d->fin)
		d->fin = d->fin12 = 1;
	else if (type == REC_APPDATA && (dir & 1) == 0)
		client_appdata(p, len);
	else if (type == REC_APPDATA)
		server_appdata(p, len);
	else
		return 0; /* nothing a proof reads */
	return tlsproof_established(p);
}

void tlsproof_lost(struct tlsproof *p, int dir)
{
	p->d[dir & 1].lost = 1;
}

int tlsproof_established(const struct tlsproof *p)
{
	const struct tlsproof_dir *c = &p->d[0], *s = &p->d[1];
	return (c->fin && c->data) || (s->fin && s->data) || p->cross || (c->fin12 && s->fin12);
}
