#include "classify.h"

#include <ndpi_api.h>
#include <stdlib.h>
#include <string.h>

struct classifier {
	struct ndpi_detection_module_struct *ndpi;
};

struct classifier_flow {
	struct ndpi_flow_struct *ndpi;
	ndpi_protocol proto;
	unsigned packets;
	enum classify_verdict verdict;
};

struct classifier *classifier_new(void)
{
	struct classifier *c = calloc(1, sizeof *c);
	NDPI_PROTOCOL_BITMASK all;
	if (!c)
		return NULL;
	c->ndpi = ndpi_init_detection_module(ndpi_no_prefs);
	if (!c->ndpi) {
		free(c);
		return NULL;
	}
	NDPI_BITMASK_SET_ALL(all);
	ndpi_set_protocol_detection_bitmask2(c->ndpi, &all);
	ndpi_finalize_initialization(c->ndpi);
	return c;
}

void classifier_free(struct classifier *c)
{
	if (!c)
		return;
	ndpi_exit_detection_module(c->ndpi);
	free(c);
}

struct classifier_flow *classifier_flow_new(void)
{
	struct classifier_flow *f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	f->ndpi = ndpi_flow_malloc(SIZEOF_FLOW_STRUCT);
	if (!f->ndpi) {
		free(f);
		return NULL;
	}
	memset(f->ndpi, 0, SIZEOF_FLOW_STRUCT);
	return f;
}

static void release_ndpi(struct classifier_flow *f)
{
	if (f->ndpi) {
		ndpi_free_flow(f->ndpi);
		f->ndpi = NULL;
	}
}

void classifier_flow_free(struct classifier_flow *f)
{
	if (!f)
		return;
	release_ndpi(f);
	free(f);
}

static enum classify_verdict verdict_of(ndpi_protocol p)
{
	uint16_t ids[2] = {p.master_protocol, p.app_protocol};
	for (int i = 0; i < 2; i++) {
		if (ids[i] == NDPI_PROTOCOL_MAIL_SMTP)
			return CLASSIFY_SMTP;
		if (ids[i] == NDPI_PROTOCOL_MAIL_SMTPS)
			return CLASSIFY_SMTPS;
	}
	if (p.master_protocol == NDPI_PROTOCOL_UNKNOWN && p.app_protocol == NDPI_PROTOCOL_UNKNOWN)
		return CLASSIFY_PENDING;
	return CLASSIFY_OTHER;
}

/* Settles the verdict and frees nDPI's per-flow state, which is large. */
static void settle(struct classifier_flow *f, enum classify_verdict v)
{
	f->verdict = v == CLASSIFY_PENDING ? CLASSIFY_OTHER : v;
	release_ndpi(f);
}

enum classify_verdict classifier_packet(struct classifier *c, struct classifier_flow *f,
					const uint8_t *l3, size_t len, int has_payload,
					double ts)
{
	if (f->verdict != CLASSIFY_PENDING || !f->ndpi)
		return f->verdict;
	if (len > 0xffff)
		len = 0xffff;
	f->proto = ndpi_detection_process_packet(c->ndpi, f->ndpi, l3, (unsigned short)len,
						 (u_int64_t)(ts * 1000.0));
	enum classify_verdict v = verdict_of(f->proto);
	f->packets += has_payload ? 1 : 0;
	if (v != CLASSIFY_PENDING)
		settle(f, v);
	else if (f->packets >= CLASSIFY_MAX_PACKETS)
		(void)classifier_finish(c, f);
	return f->verdict;
}

enum classify_verdict classifier_finish(struct classifier *c, struct classifier_flow *f)
{
	uint8_t guessed = 0;
	if (f->verdict != CLASSIFY_PENDING || !f->ndpi)
		return f->verdict;
	f->proto = ndpi_detection_giveup(c->ndpi, f->ndpi, 1, &guessed);
	settle(f, verdict_of(f->proto));
	return f->verdict;
}

const char *classifier_name(struct classifier *c, const struct classifier_flow *f)
{
	uint16_t id = f->proto.app_protocol ? f->proto.app_protocol : f->proto.master_protocol;
	return ndpi_get_proto_name(c->ndpi, id);
}

enum classify_verdict classify_decide(enum classify_evidence bytes, enum classify_verdict ndpi)
{
	switch (bytes) {
	case CLASSIFY_BYTES_SMTP:
		return CLASSIFY_SMTP;
	case CLASSIFY_BYTES_OTHER:
		return CLASSIFY_OTHER;
	case CLASSIFY_BYTES_TLS:
		if (ndpi == CLASSIFY_PENDING)
			return CLASSIFY_PENDING;
		return ndpi == CLASSIFY_SMTPS || ndpi == CLASSIFY_SMTP ? CLASSIFY_SMTPS : CLASSIFY_OTHER;
	case CLASSIFY_BYTES_UNDECIDED:
		break;
	}
	return ndpi;
}
