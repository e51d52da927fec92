#include "hello.h"

#include <string.h>

/* The first host_name of a ServerNameList. */
static void sni_body(struct tls_hello *h, struct rd *body)
{
	struct rd list = rd_vec16(body);
	h->sni = 1;
	while (h->sni_name.p == NULL && rd_left(&list) > 0) {
		uint8_t type = rd_u8(&list);
		struct rd name = rd_vec16(&list);
		if (list.err)
			break;
		if (type == 0)
			h->sni_name = name;
	}
}

static void alpn_body(struct tls_hello *h, struct rd *body)
{
	h->alpn = rd_vec16(body);
	if (h->alpn_first.p == NULL && !h->alpn_first.err)
		h->alpn_first = h->alpn;
}

/* A 2-byte value, or -1 if the body is too short. */
static int u16_or_none(struct rd *r)
{
	uint16_t v = rd_u16(r);
	return r->err ? -1 : v;
}

/* One extension's body, by type and by which hello carries it; 1 if the
 * body is one whose bounds the session facts rely on. */
static int ext_body(struct tls_hello *h, uint16_t type, struct rd *body)
{
	int client = h->kind == HELLO_CLIENT;
	switch (type) {
	case EXT_SNI:
		sni_body(h, body);
		return client;
	case EXT_ALPN:
		alpn_body(h, body);
		return 1;
	case EXT_GROUPS:
		h->groups = rd_vec16(body);
		return 0;
	case EXT_POINT_FORMATS:
		h->formats = rd_vec8(body);
		return 0;
	case EXT_SIG_ALGS:
		h->sigalgs = rd_vec16(body);
		return 0;
	case EXT_VERSIONS:
		if (client)
			h->versions = rd_vec8(body);
		else
			h->selected_version = u16_or_none(body);
		return 1;
	case EXT_KEY_SHARE:
		h->key_share_group = client ? h->key_share_group : u16_or_none(body);
		return !client;
	case EXT_KEY_SHARE_D22:
		h->key_share_d22 = client ? h->key_share_d22 : u16_or_none(body);
		return !client;
	case EXT_PSK:
		h->psk = !client;
		return 0;
	default:
		return 0;
	}
}

static void note_type(struct tls_hello *h, uint16_t type)
{
	if (h->n_ext < HELLO_EXTS_MAX)
		h->ext_type[h->n_ext++] = type;
	else
		h->exts_capped = 1;
}

/* The extensions block, each extension in order; framing errors stop the
 * walk (what came before stays). */
static void walk_extensions(struct tls_hello *h, struct rd *r)
{
	h->has_exts = rd_left(r) > 0;
	if (!h->has_exts)
		return;
	struct rd exts = rd_vec16(r);
	int bad_body = 0;
	while (rd_left(&exts) >= 4) {
		uint16_t type = rd_u16(&exts);
		struct rd body = rd_vec16(&exts);
		if (exts.err)
			break;
		note_type(h, type);
		if (ext_body(h, type, &body))
			bad_body |= body.err;
	}
	h->exts_ok = !exts.err && rd_left(&exts) == 0;
	h->bodies_ok = !bad_body;
}

int hello_parse(const uint8_t *p, size_t len, enum hello_kind kind, struct tls_hello *h)
{
	struct rd r = rd_init(p, len);
	memset(h, 0, sizeof *h);
	h->kind = kind;
	h->selected_version = -1;
	h->key_share_group = h->key_share_d22 = -1;
	h->exts_ok = h->bodies_ok = 1;
	h->version = rd_u16(&r);
	h->random = rd_bytes(&r, 32);
	int draft = hello_draft(h->version);
	h->draft_layout = kind == HELLO_SERVER && draft >= 0 && draft <= 21;
	h->sid = h->draft_layout ? rd_init(NULL, 0) : rd_vec8(&r);
	if (kind == HELLO_CLIENT) {
		h->suites = rd_vec16(&r);
		rd_vec8(&r); /* compression methods */
	} else {
		h->cipher = rd_u16(&r);
		if (!h->draft_layout)
			rd_u8(&r); /* compression method */
	}
	if (r.err)
		return -1;
	walk_extensions(h, &r);
	h->trailing = rd_left(&r);
	return 0;
}

int hello_draft(int version)
{
	if ((version & 0xff00) == 0x7f00 || (version & 0xff00) == 0xfb00)
		return version & 0xff;
	return -1;
}

int hello_complete(const struct tls_hello *h)
{
	return h->exts_ok && !h->exts_capped;
}
