#include "tls.h"

#include <stdlib.h>
#include <string.h>

#include "../common/text.h"
#include "ciphers.h"
#include "rd.h"

enum { REC_CCS = 20, REC_ALERT = 21, REC_HANDSHAKE = 22, REC_APPDATA = 23,
       REC_HEARTBEAT = 24, REC_SSL2 = 0x80 };
enum { HS_CLIENT_HELLO = 1, HS_SERVER_HELLO = 2, HS_NEW_SESSION_TICKET = 4,
       HS_SSL2_CLIENT_HELLO = 0x101, HS_SSL2_SERVER_HELLO = 0x104 };
#define TLS_RECORD_MAX (16384 + 2048)

/* Record framing state of one direction. */
enum rec_state { REC_STATE_HEADER, REC_STATE_BODY, REC_STATE_DEAD };

struct tls_dir {
	enum rec_state state;
	uint8_t hdr[5];
	uint8_t hdr_len;
	uint8_t type;          /* current record's content type */
	uint16_t body_left;
	int encrypted;         /* after ChangeCipherSpec / TLS 1.3 ServerHello */
	int appdata;
	int hs_lost;           /* handshake framing lost after a gap */
	/* handshake message reassembly */
	uint8_t hs_hdr[4];
	uint8_t hs_hdr_len;
	int hs_type;
	uint32_t hs_len, hs_have;
	int hs_keep;           /* buffering this message for parsing */
	uint8_t *hs_buf;
	size_t hs_cap;
	uint8_t alert[2];
	uint8_t alert_len;
};

struct tls {
	struct tls_dir d[2];
	struct tls_facts f;
	uint8_t client_sid[32];
	uint8_t client_sid_len;
	int await_after_sh;    /* TLS <= 1.2: full or abbreviated handshake? */
	int hrr_pending;       /* HelloRetryRequest seen, final hello not yet */
};

static const uint8_t hrr_random[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
	0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
	0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};

struct tls *tls_new(void)
{
	struct tls *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->f.client_version = -1;
	t->f.client_version_max = -1;
	t->f.version = -1;
	t->f.cipher = -1;
	t->f.key_share_group = -1;
	t->f.alert = -1;
	return t;
}

void tls_free(struct tls *t)
{
	if (!t)
		return;
	free(t->d[0].hs_buf);
	free(t->d[1].hs_buf);
	free(t);
}

const struct tls_facts *tls_facts(const struct tls *t)
{
	return &t->f;
}

int tls_looks_like_start(const uint8_t *p, size_t len)
{
	if (len == 0)
		return 0;
	return (p[0] >= REC_CCS && p[0] <= REC_HEARTBEAT) || p[0] >= 0x80;
}

/* ---- hello extensions ------------------------------------------------ */

static void note_offered_version(struct tls *t, int v)
{
	if (tls_version_rank(v) > tls_version_rank(t->f.client_version_max))
		t->f.client_version_max = v;
}

static void ch_sni(struct tls *t, struct rd *e)
{
	struct rd list = rd_vec16(e);
	while (rd_left(&list) > 0) {
		uint8_t type = rd_u8(&list);
		struct rd name = rd_vec16(&list);
		if (list.err)
			break;
		if (type == 0 && t->f.sni[0] == '\0') {
			text_sanitize(t->f.sni, sizeof t->f.sni, name.p, name.len);
			return;
		}
	}
}

/* Appends the protocol names of an ALPN list, comma separated. */
static void alpn_join(char *out, size_t cap, struct rd *e, int first_only)
{
	struct rd list = rd_vec16(e);
	size_t used = strlen(out);
	while (rd_left(&list) > 0 && used + 2 < cap) {
		struct rd name = rd_vec8(&list);
		if (list.err)
			break;
		if (used)
			out[used++] = ',';
		used += text_sanitize(out + used, cap - used, name.p, name.len);
		if (first_only)
			break;
	}
}

static void ch_alpn(struct tls *t, struct rd *e)
{
	if (t->f.alpn_offered[0] == '\0')
		alpn_join(t->f.alpn_offered, sizeof t->f.alpn_offered, e, 0);
}

static void ch_versions(struct tls *t, struct rd *e)
{
	struct rd list = rd_vec8(e);
	while (rd_left(&list) >= 2) {
		uint16_t v = rd_u16(&list);
		if (!tls_is_grease(v))
			note_offered_version(t, v);
	}
}

struct ext_handler {
	uint16_t type;
	void (*fn)(struct tls *t, struct rd *body);
};

static const struct ext_handler ch_exts[] = {
	{0, ch_sni},
	{16, ch_alpn},
	{43, ch_versions},
};

/* Server-side extension results, collected before they are applied. */
struct sh_ext {
	int version;   /* supported_versions, -1 */
	int group;     /* key_share, -1 */
	int psk;       /* pre_shared_key accepted */
	char alpn[REC_ALPN_MAX];
};

static void walk_extensions(struct tls *t, struct rd *r, const struct ext_handler *tab,
			    size_t n)
{
	if (rd_left(r) == 0)
		return; /* no extensions block: allowed before TLS 1.2 */
	struct rd exts = rd_vec16(r);
	int bad = 0;
	while (rd_left(&exts) >= 4) {
		uint16_t type = rd_u16(&exts);
		struct rd body = rd_vec16(&exts);
		for (size_t i = 0; i < n && !exts.err; i++)
			if (tab[i].type == type)
				tab[i].fn(t, &body);
		bad |= body.err; /* a vector longer than its extension */
	}
	if (bad || exts.err || r->err)
		t->f.anomalies |= ANOM_TLS_MALFORMED;
}

/* ---- hello messages -------------------------------------------------- */

static void parse_client_hello(struct tls *t, const uint8_t *p, size_t len)
{
	struct rd r = rd_init(p, len);
	uint16_t legacy = rd_u16(&r);
	rd_skip(&r, 32);
	struct rd sid = rd_vec8(&r);
	struct rd suites = rd_vec16(&r);
	rd_vec8(&r); /* compression methods */
	if (r.err || sid.len > 32) {
		t->f.anomalies |= ANOM_TLS_MALFORMED;
		return;
	}
	if (t->f.client_hellos++ > 0)
		return; /* the second hello after an HRR repeats the first's facts */
	t->f.client_version = legacy;
	note_offered_version(t, legacy);
	t->f.suites_offered = (unsigned)(suites.len / 2);
	memcpy(t->client_sid, sid.p, sid.len);
	t->client_sid_len = (uint8_t)sid.len;
	walk_extensions(t, &r, ch_exts, sizeof ch_exts / sizeof ch_exts[0]);
}

/* A 2-byte value, or -1 if the body is too short. */
static int u16_or_none(struct rd *r)
{
	uint16_t v = rd_u16(r);
	return r->err ? -1 : v;
}

static void sh_extensions(struct tls *t, struct rd *r, struct sh_ext *x)
{
	if (rd_left(r) == 0)
		return;
	struct rd exts = rd_vec16(r);
	int bad = 0;
	while (rd_left(&exts) >= 4) {
		uint16_t type = rd_u16(&exts);
		struct rd body = rd_vec16(&exts);
		if (type == 43)
			x->version = u16_or_none(&body);
		else if (type == 51)
			x->group = u16_or_none(&body);
		else if (type == 41)
			x->psk = 1;
		else if (type == 16)
			alpn_join(x->alpn, sizeof x->alpn, &body, 1);
		bad |= body.err;
	}
	if (bad || exts.err)
		t->f.anomalies |= ANOM_TLS_MALFORMED;
}

static void apply_server_hello(struct tls *t, int legacy, int cipher,
			       struct rd *sid, const struct sh_ext *x)
{
	int version = x->version >= 0 ? x->version : legacy;
	t->f.server_hello = 1;
	t->f.version = version;
	t->f.cipher = cipher;
	t->f.key_share_group = x->group;
	memcpy(t->f.alpn, x->alpn, sizeof t->f.alpn);
	t->hrr_pending = 0;
	if (tls_version_rank(version) >= tls_version_rank(0x0304)) {
		t->f.resumed = x->psk;
		t->d[1].encrypted = 1; /* everything after is encrypted */
		return;
	}
	if (sid->len > 0 && sid->len == t->client_sid_len &&
	    memcmp(sid->p, t->client_sid, sid->len) == 0)
		t->f.resumed = 1;
	t->await_after_sh = 1;
}

static void parse_server_hello(struct tls *t, const uint8_t *p, size_t len)
{
	struct rd r = rd_init(p, len);
	int legacy = rd_u16(&r);
	const uint8_t *random = rd_bytes(&r, 32);
	struct rd sid = rd_vec8(&r);
	int cipher = rd_u16(&r);
	rd_u8(&r); /* compression method */
	struct sh_ext x = {-1, -1, 0, ""};
	if (r.err || sid.len > 32) {
		t->f.anomalies |= ANOM_TLS_MALFORMED;
		return;
	}
	sh_extensions(t, &r, &x);
	if (memcmp(random, hrr_random, 32) == 0) {
		t->f.hello_retry = 1;
		t->hrr_pending = 1;
		t->f.key_share_group = x.group;
		return;
	}
	apply_server_hello(t, legacy, cipher, &sid, &x);
}

/* SSLv2 CLIENT-HELLO (message type 1): version at offset 1. */
static void parse_ssl2_client_hello(struct tls *t, const uint8_t *p, size_t len)
{
	struct rd r = rd_init(p, len);
	rd_u8(&r);
	uint16_t version = rd_u16(&r);
	uint16_t specs = rd_u16(&r);
	if (r.err) {
		t->f.anomalies |= ANOM_TLS_MALFORMED;
		return;
	}
	t->f.client_hellos++;
	t->f.sslv2_hello = 1;
	t->f.client_version = version;
	t->f.suites_offered = specs / 3;
	note_offered_version(t, version);
}

/* SSLv2 SERVER-HELLO (message type 4): version at offset 3. */
static void parse_ssl2_server_hello(struct tls *t, const uint8_t *p, size_t len)
{
	struct rd r = rd_init(p, len);
	rd_skip(&r, 3);
	uint16_t version = rd_u16(&r);
	if (r.err) {
		t->f.anomalies |= ANOM_TLS_MALFORMED;
		return;
	}
	t->f.server_hello = 1;
	t->f.version = version;
}

struct msg_handler {
	int dir;
	int type;
	void (*fn)(struct tls *t, const uint8_t *p, size_t len);
};

static const struct msg_handler msg_handlers[] = {
	{0, HS_CLIENT_HELLO, parse_client_hello},
	{1, HS_SERVER_HELLO, parse_server_hello},
	{0, HS_SSL2_CLIENT_HELLO, parse_ssl2_client_hello},
	{1, HS_SSL2_SERVER_HELLO, parse_ssl2_server_hello},
};

static const struct msg_handler *msg_handler_find(int dir, int type)
{
	for (size_t i = 0; i < sizeof msg_handlers / sizeof msg_handlers[0]; i++)
		if (msg_handlers[i].dir == dir && msg_handlers[i].type == type)
			return &msg_handlers[i];
	return NULL;
}

/* ---- handshake message reassembly ------------------------------------ */

static void hs_message_done(struct tls *t, int dir)
{
	struct tls_dir *d = &t->d[dir];
	const struct msg_handler *h = msg_handler_find(dir, d->hs_type);
	if (dir == 1 && t->await_after_sh && d->hs_type != HS_SERVER_HELLO &&
	    d->hs_type != HS_NEW_SESSION_TICKET) /* RFC 5077 3.1: may precede the CCS */
		t->await_after_sh = 0; /* Certificate etc.: a full handshake */
	if (h && d->hs_keep)
		h->fn(t, d->hs_buf, d->hs_len);
	d->hs_hdr_len = 0;
	d->hs_keep = 0;
}

/* Makes room for a message of len bytes (len <= TLS_HANDSHAKE_MAX). */
static int hs_reserve(struct tls_dir *d, size_t len)
{
	if (len <= d->hs_cap)
		return 0;
	uint8_t *b = realloc(d->hs_buf, len);
	if (!b)
		return -1;
	d->hs_buf = b;
	d->hs_cap = len;
	return 0;
}

static void hs_begin(struct tls *t, int dir, int type, uint32_t len)
{
	struct tls_dir *d = &t->d[dir];
	d->hs_type = type;
	d->hs_len = len;
	d->hs_have = 0;
	d->hs_keep = msg_handler_find(dir, type) != NULL;
	if (d->hs_keep && len > TLS_HANDSHAKE_MAX) {
		t->f.anomalies |= ANOM_HANDSHAKE_TOO_BIG;
		d->hs_keep = 0;
	}
	if (d->hs_keep && hs_reserve(d, len) < 0)
		d->hs_keep = 0;
}

static void hs_feed(struct tls *t, int dir, const uint8_t *p, size_t n)
{
	struct tls_dir *d = &t->d[dir];
	while (n > 0 && !d->hs_lost) {
		if (d->hs_hdr_len < 4) {
			d->hs_hdr[d->hs_hdr_len++] = *p++;
			n--;
			if (d->hs_hdr_len == 4)
				hs_begin(t, dir, d->hs_hdr[0],
					 ((uint32_t)d->hs_hdr[1] << 16) |
						 ((uint32_t)d->hs_hdr[2] << 8) | d->hs_hdr[3]);
		} else {
			size_t take = d->hs_len - d->hs_have;
			if (take > n)
				take = n;
			if (d->hs_keep)
				memcpy(d->hs_buf + d->hs_have, p, take);
			d->hs_have += (uint32_t)take;
			p += take;
			n -= take;
		}
		if (d->hs_hdr_len == 4 && d->hs_have == d->hs_len)
			hs_message_done(t, dir);
	}
}

/* ---- records ---------------------------------------------------------- */

static void set_encrypted(struct tls *t, int dir)
{
	struct tls_dir *d = &t->d[dir];
	d->encrypted = 1;
	free(d->hs_buf);
	d->hs_buf = NULL;
	d->hs_cap = 0;
	d->hs_keep = 0;
}

static void record_body(struct tls *t, int dir, const uint8_t *p, size_t n)
{
	struct tls_dir *d = &t->d[dir];
	if (d->type == REC_HANDSHAKE && !d->encrypted)
		hs_feed(t, dir, p, n);
	else if (d->type == REC_SSL2 && d->hs_keep) {
		memcpy(d->hs_buf + d->hs_have, p, n);
		d->hs_have += (uint32_t)n;
	} else if (d->type == REC_ALERT && !d->encrypted) {
		for (size_t i = 0; i < n && d->alert_len < 2; i++)
			d->alert[d->alert_len++] = p[i];
	}
}

static void record_end(struct tls *t, int dir)
{
	struct tls_dir *d = &t->d[dir];
	if (d->type == REC_SSL2 && d->hs_keep) {
		const struct msg_handler *h = msg_handler_find(dir, d->hs_type);
		if (h)
			h->fn(t, d->hs_buf, d->hs_have);
		d->hs_keep = 0;
	} else if (d->type == REC_ALERT && d->alert_len == 2 && t->f.alert < 0) {
		t->f.alert = d->alert[0] << 8 | d->alert[1];
	} else if (d->type == REC_CCS) {
		if (dir == 1 && t->await_after_sh)
			t->f.resumed = 1; /* CCS straight after the hello */
		t->await_after_sh = dir == 1 ? 0 : t->await_after_sh;
		if (!t->hrr_pending)
			set_encrypted(t, dir);
	} else if (d->type == REC_APPDATA) {
		d->appdata = 1;
		t->f.established = t->d[0].appdata && t->d[1].appdata &&
				   t->f.server_hello;
	}
	d->alert_len = 0;
}

/* An SSLv2-format first record: 2-byte length with the top bit set, then
 * the message; hdr holds the length and the first 3 message bytes. */
static int start_ssl2_record(struct tls *t, int dir)
{
	struct tls_dir *d = &t->d[dir];
	size_t len = ((size_t)(d->hdr[0] & 0x7f) << 8) | d->hdr[1];
	int type = d->hdr[2] == 1 ? HS_SSL2_CLIENT_HELLO : HS_SSL2_SERVER_HELLO;
	if (len < 3 || (d->hdr[2] != 1 && d->hdr[2] != 4) ||
	    !msg_handler_find(dir, type))
		return -1;
	d->type = REC_SSL2;
	d->hs_type = type;
	d->body_left = (uint16_t)(len - 3);
	d->hs_keep = 0;
	if (hs_reserve(d, len) == 0) {
		memcpy(d->hs_buf, d->hdr + 2, 3);
		d->hs_have = 3;
		d->hs_keep = 1;
	}
	return 0;
}

static int start_record(struct tls *t, int dir)
{
	struct tls_dir *d = &t->d[dir];
	if (t->f.records[dir] == 0 && (d->hdr[0] & 0x80))
		return start_ssl2_record(t, dir);
	uint16_t len = (uint16_t)(d->hdr[3] << 8 | d->hdr[4]);
	if (d->hdr[0] < REC_CCS || d->hdr[0] > REC_HEARTBEAT || d->hdr[1] != 3 ||
	    d->hdr[2] > 4 || len > TLS_RECORD_MAX)
		return -1;
	d->type = d->hdr[0];
	d->body_left = len;
	return 0;
}

static void step_header(struct tls *t, int dir, const uint8_t *p, size_t *off, size_t len)
{
	struct tls_dir *d = &t->d[dir];
	while (*off < len && d->hdr_len < 5)
		d->hdr[d->hdr_len++] = p[(*off)++];
	if (d->hdr_len < 5)
		return;
	d->hdr_len = 0;
	if (start_record(t, dir) < 0) {
		t->f.anomalies |= ANOM_TLS_MALFORMED;
		d->state = REC_STATE_DEAD;
		return;
	}
	t->f.records[dir]++;
	d->state = REC_STATE_BODY;
	if (d->body_left == 0) {
		record_end(t, dir);
		d->state = REC_STATE_HEADER;
	}
}

static void step_body(struct tls *t, int dir, const uint8_t *p, size_t *off, size_t len)
{
	struct tls_dir *d = &t->d[dir];
	size_t take = len - *off;
	if (take > d->body_left)
		take = d->body_left;
	record_body(t, dir, p + *off, take);
	*off += take;
	d->body_left = (uint16_t)(d->body_left - take);
	if (d->body_left == 0) {
		record_end(t, dir);
		d->state = REC_STATE_HEADER;
	}
}

struct feed_result tls_feed(struct tls *t, int dir, const uint8_t *p, size_t len)
{
	struct tls_dir *d = &t->d[dir & 1];
	size_t off = 0;
	dir &= 1;
	while (off < len && d->state != REC_STATE_DEAD && !t->f.established) {
		if (d->state == REC_STATE_HEADER)
			step_header(t, dir, p, &off, len);
		else
			step_body(t, dir, p, &off, len);
	}
	struct feed_result res = {FEED_MORE, off};
	if (d->state == REC_STATE_DEAD || t->f.established)
		res.status = FEED_DONE;
	return res;
}

void tls_gap(struct tls *t, int dir, uint64_t len)
{
	struct tls_dir *d = &t->d[dir & 1];
	if (d->state == REC_STATE_BODY && len < d->body_left) {
		d->body_left = (uint16_t)(d->body_left - len);
		if (d->type == REC_HANDSHAKE || d->type == REC_SSL2) {
			d->hs_lost = 1; /* message framing inside records is lost */
			d->hs_keep = 0;
		}
		return;
	}
	if (d->state != REC_STATE_DEAD && len > 0)
		d->state = REC_STATE_DEAD; /* record framing lost */
}
