/* Private to the SMTP parser: its state, shared by smtp.c (framing, gaps,
 * client commands) and smtp_reply.c (server replies). Not for other
 * modules: they use smtp.h. */
#ifndef SMTPTLS_SMTP_INT_H
#define SMTPTLS_SMTP_INT_H

#include <stddef.h>
#include <stdint.h>

#include "smtp.h"

/* A table keyword and its length. */
#define KW(s) s, sizeof s - 1

enum smtp_cmd {
	CMD_NONE = 0, CMD_OTHER, CMD_HELO, CMD_EHLO, CMD_MAIL, CMD_RCPT,
	CMD_DATA, CMD_DATA_END, CMD_BDAT, CMD_AUTH, CMD_STARTTLS, CMD_QUIT,
};

/* How the client's next bytes are framed. One transition function,
 * client_enter(), changes it. */
enum client_mode {
	CLIENT_COMMAND = 0, /* command lines */
	CLIENT_AUTH,        /* SASL continuation lines until AUTH's final reply */
	CLIENT_BODY,        /* DATA content up to CRLF.CRLF */
	CLIENT_BDAT,        /* a BDAT chunk of known size */
};

/* Where the DATA end-of-body scanner stands. */
enum body_state { BODY_BOL = 0, BODY_MID, BODY_DOT, BODY_DOT_CR };

enum starttls_state { TLS_NOT_ASKED = 0, TLS_ASKED, TLS_ACCEPTED, TLS_REFUSED };

struct line_buf {
	uint8_t *buf;
	uint32_t len, cap; /* at most SMTP_LINE_MAX */
	int cut;        /* the line exceeded SMTP_LINE_MAX */
};

/* The reply being collected (multi-line replies end on "NNN "). */
struct reply_acc {
	int code;
	unsigned lines;
	uint32_t caps;
	int cut;        /* bytes of it were lost in a gap */
	int esc;        /* its text starts with an enhanced status code (2.0.0) */
};

/* A reply taken as complete at a gap: lines of its code that follow, before
 * the client speaks again, are the rest of it. */
struct amend {
	int open;
	int code;
	enum smtp_cmd cmd; /* what it answered (CMD_NONE: the greeting) */
};

/* The texts of the facts, each in an allocation of its own size. */
enum smtp_name { SMTP_NAME_SERVER = 0, SMTP_NAME_EHLO, SMTP_NAME_KEYWORDS, SMTP_NAMES };

/* One per open SMTP session: the pending commands two to a byte, small
 * numbers, flags and states in bytes (the enums' values fit), so that it
 * fits jemalloc's 320-byte size class (448 when it was 408 bytes). */
struct smtp {
	struct line_buf lb[2];
	uint64_t bdat_left;
	uint8_t queue[SMTP_PIPELINE_MAX / 2]; /* enum smtp_cmd, 4 bits each */
	uint8_t q_head, q_len;   /* at most SMTP_PIPELINE_MAX */
	uint8_t mode;            /* enum client_mode */
	uint8_t body;            /* enum body_state */
	uint8_t tls;             /* enum starttls_state */
	uint8_t midstream;
	uint8_t auth_expect;     /* 334 challenges the client has not answered (<= 8) */
	uint8_t s2c_lost;        /* whole replies may have been lost: match by code */
	uint8_t body_gap;        /* bytes of the current DATA body were lost */
	struct reply_acc reply;
	struct amend amend;
	char *name[SMTP_NAMES];  /* where f's texts are kept, or NULL */
	uint16_t name_cap[SMTP_NAMES]; /* at most REC_NAME_MAX */
	uint16_t keywords_len;   /* of f.keywords, filled from the first EHLO reply */
	struct smtp_facts f;
};
_Static_assert(sizeof(struct smtp) <= 320 || sizeof(void *) > 8, "struct smtp fits 320 bytes");
_Static_assert(CMD_QUIT < 16 && SMTP_PIPELINE_MAX % 2 == 0 && SMTP_PIPELINE_MAX < 256,
	       "pending commands in 4 bits, their count in a byte");

struct smtp;
/* Room for need bytes of a text (at most REC_NAME_MAX); 0, or -1 when out
 * of memory (the text is then left as it was). */
int smtp_name_reserve(struct smtp *s, enum smtp_name which, size_t need);
/* The text set to w sanitised ("" for none), or cleared and freed. */
void smtp_name_set(struct smtp *s, enum smtp_name which, const uint8_t *w, size_t wl);
void smtp_name_clear(struct smtp *s, enum smtp_name which);
/* Gives back the room reserved past a text of len characters. */
void smtp_name_fit(struct smtp *s, enum smtp_name which, size_t len);

static inline void client_enter(struct smtp *s, enum client_mode mode)
{
	s->mode = mode;
	if (mode == CLIENT_BODY) {
		s->body = BODY_BOL;
		s->body_gap = 0;
	}
	if (mode == CLIENT_AUTH)
		s->auth_expect = 0;
}

/* ---- pending command queue -------------------------------------------- */

/* The i-th pending command (i < q_len). */
static inline enum smtp_cmd queue_at(const struct smtp *s, unsigned i)
{
	unsigned k = (s->q_head + i) % SMTP_PIPELINE_MAX;
	return (enum smtp_cmd)((s->queue[k / 2] >> (k % 2 * 4)) & 0xf);
}

static inline void queue_set(struct smtp *s, unsigned i, enum smtp_cmd c)
{
	unsigned k = (s->q_head + i) % SMTP_PIPELINE_MAX, shift = k % 2 * 4;
	s->queue[k / 2] = (uint8_t)((s->queue[k / 2] & ~(0xfu << shift)) | (unsigned)c << shift);
}

static inline enum smtp_cmd queue_peek(const struct smtp *s)
{
	return s->q_len ? queue_at(s, 0) : CMD_NONE;
}

static inline void queue_pop(struct smtp *s)
{
	if (s->q_len) {
		s->q_head = (s->q_head + 1) % SMTP_PIPELINE_MAX;
		s->q_len--;
	}
}

static inline void queue_replace_head(struct smtp *s, enum smtp_cmd c)
{
	if (s->q_len)
		queue_set(s, 0, c);
}

/* ---- small text helpers ----------------------------------------------- */

static inline uint8_t ascii_upper(uint8_t c)
{
	return c >= 'a' && c <= 'z' ? (uint8_t)(c - 32) : c;
}

/* Words are compared with the upper-case keywords in place rather than
 * upper-cased into a C string and strcmp'd, with the same answer: such a
 * string ended at a NUL byte of the word, so this is the length that
 * counts. */
static inline size_t word_len(const uint8_t *w, size_t n)
{
	const uint8_t *nul = memchr(w, 0, n);
	return nul ? (size_t)(nul - w) : n;
}

/* Whether w[0..kn) is the upper-case keyword k[0..kn), ASCII case ignored. */
static inline int word_eq(const uint8_t *w, const char *k, size_t kn)
{
	for (size_t i = 0; i < kn; i++)
		if (ascii_upper(w[i]) != (uint8_t)k[i])
			return 0;
	return 1;
}

/* The first space-delimited word of p[0..n): sets *w and returns its length. */
static inline size_t first_word(const uint8_t *p, size_t n, const uint8_t **w)
{
	size_t i = 0, start;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	start = i;
	while (i < n && p[i] != ' ' && p[i] != '\t')
		i++;
	*w = p + start;
	return i - start;
}

/* The first word, or none (0) when the line was cut by a gap and the word
 * runs up to the cut: it may have gone on. */
static inline size_t whole_word(const uint8_t *p, size_t n, int cut, const uint8_t **w)
{
	size_t wl = first_word(p, n, w);
	return cut && *w + wl == p + n ? 0 : wl;
}

/* smtp_reply.c: one reply line (cut: its end was lost in a gap), and the
 * reply in progress taken as complete at a gap. */
void smtp_server_line(struct smtp *s, const uint8_t *line, size_t n, int cut);
void smtp_close_cut_reply(struct smtp *s);

#endif
