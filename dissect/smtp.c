#include "smtp.h"

#include <stdlib.h>
#include <string.h>

#include "../common/text.h"
#include "smtp_int.h"
#include "tls.h"

struct smtp *smtp_new(int midstream)
{
	struct smtp *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->midstream = midstream;
	s->f.server_name = s->f.ehlo_name = s->f.keywords = "";
	s->f.greeting_code = -1;
	s->f.starttls_offered = -1;
	s->f.starttls_reply = -1;
	return s;
}

/* ---- the facts' texts ----------------------------------------------------- */

static const char **name_field(struct smtp *s, enum smtp_name which)
{
	return which == SMTP_NAME_SERVER ? &s->f.server_name
	       : which == SMTP_NAME_EHLO ? &s->f.ehlo_name : &s->f.keywords;
}

int smtp_name_reserve(struct smtp *s, enum smtp_name which, size_t need)
{
	/* keywords grow a line at a time: room for most lists at once */
	size_t cap = s->name_cap[which] ? s->name_cap[which]
		     : which == SMTP_NAME_KEYWORDS ? 128 : 16;
	if (need <= s->name_cap[which])
		return 0;
	if (need > REC_NAME_MAX)
		return -1;
	while (cap < need)
		cap *= 2;
	cap = cap < REC_NAME_MAX ? cap : REC_NAME_MAX;
	char *p = realloc(s->name[which], cap);
	if (!p)
		return -1;
	s->name[which] = p;
	s->name_cap[which] = (uint16_t)cap; /* <= REC_NAME_MAX */
	*name_field(s, which) = p;
	return 0;
}

void smtp_name_set(struct smtp *s, enum smtp_name which, const uint8_t *w, size_t wl)
{
	char text[REC_NAME_MAX];
	size_t n = wl ? text_sanitize(text, sizeof text, w, wl) : 0;
	if (n == 0 || smtp_name_reserve(s, which, n + 1) < 0) {
		*name_field(s, which) = "";
		return;
	}
	memcpy(s->name[which], text, n + 1);
	*name_field(s, which) = s->name[which];
}

void smtp_name_fit(struct smtp *s, enum smtp_name which, size_t len)
{
	char *p = s->name[which] && len + 1 < s->name_cap[which]
		  ? realloc(s->name[which], len + 1) : NULL;
	if (!p)
		return; /* nothing to give back, or kept as it was */
	s->name[which] = p;
	s->name_cap[which] = (uint16_t)(len + 1);
	*name_field(s, which) = p;
}

void smtp_name_clear(struct smtp *s, enum smtp_name which)
{
	free(s->name[which]);
	s->name[which] = NULL;
	s->name_cap[which] = 0;
	*name_field(s, which) = "";
}

void smtp_free(struct smtp *s)
{
	if (!s)
		return;
	free(s->lb[0].buf);
	free(s->lb[1].buf);
	for (int i = 0; i < SMTP_NAMES; i++)
		free(s->name[i]);
	free(s);
}

const struct smtp_facts *smtp_facts(const struct smtp *s)
{
	return &s->f;
}

static void queue_push(struct smtp *s, enum smtp_cmd c)
{
	if (s->q_len == SMTP_PIPELINE_MAX) {
		s->f.anomalies |= ANOM_PIPELINE_OVERFLOW;
		return;
	}
	queue_set(s, s->q_len++, c);
}

static int parse_u64(const uint8_t *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0 || n > 19)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*out = v;
	return 0;
}

/* ---- client commands -------------------------------------------------- */

static void on_helo(struct smtp *s, const uint8_t *arg, size_t n, int cut)
{
	const uint8_t *w;
	size_t wl = whole_word(arg, n, cut, &w);
	s->f.helo_sent = 1;
	if (s->f.ehlo_name[0] == '\0' && wl > 0)
		smtp_name_set(s, SMTP_NAME_EHLO, w, wl);
}

static void on_mail(struct smtp *s, const uint8_t *arg, size_t n, int cut)
{
	(void)arg, (void)n, (void)cut;
	s->f.mail_cmds++;
}

static void on_rcpt(struct smtp *s, const uint8_t *arg, size_t n, int cut)
{
	(void)arg, (void)n, (void)cut;
	s->f.rcpt_cmds++;
}

static void on_data(struct smtp *s, const uint8_t *arg, size_t n, int cut)
{
	(void)arg, (void)n, (void)cut;
	s->f.data_cmds++;
	client_enter(s, CLIENT_BODY); /* a 354 is assumed until a refusal */
}

/* "BDAT" SP chunk-size [SP "LAST"] (RFC 3030): the chunk's size, or -1 for
 * anything else, which the server refuses without reading a chunk. */
static int bdat_size(const uint8_t *arg, size_t n, int cut, uint64_t *size)
{
	const uint8_t *w, *last;
	size_t wl = whole_word(arg, n, cut, &w);
	if (parse_u64(w, wl, size) < 0)
		return -1;
	const uint8_t *rest = w + wl;
	size_t rl = n - (size_t)(rest - arg);
	size_t ll = first_word(rest, rl, &last);
	if (ll == 0 && !cut)
		return 0;
	if (ll != 4 || !word_eq(last, "LAST", 4) || (cut && last + ll == rest + rl))
		return -1;
	return first_word(last + ll, rl - (size_t)(last + ll - rest), &w) == 0 ? 0 : -1;
}

static void on_bdat(struct smtp *s, const uint8_t *arg, size_t n, int cut)
{
	uint64_t size;
	s->f.bdat_cmds++;
	if (bdat_size(arg, n, cut, &size) < 0) {
		s->f.bad_lines[0]++;
		return;
	}
	if (size > 0) {
		s->bdat_left = size;
		client_enter(s, CLIENT_BDAT);
	}
}

static void on_auth(struct smtp *s, const uint8_t *arg, size_t n, int cut)
{
	const uint8_t *w;
	size_t wl = whole_word(arg, n, cut, &w);
	s->f.auth_sent = 1;
	if (s->f.auth_mech[0] == '\0' && wl > 0)
		text_sanitize(s->f.auth_mech, sizeof s->f.auth_mech, w, wl);
	client_enter(s, CLIENT_AUTH);
}

static void on_starttls(struct smtp *s, const uint8_t *arg, size_t n, int cut)
{
	(void)arg, (void)n, (void)cut;
	s->f.starttls_sent = 1;
	if (s->tls != TLS_ACCEPTED)
		s->tls = TLS_ASKED;
}


struct command {
	const char *verb;
	size_t len;
	enum smtp_cmd cmd;
	void (*on_command)(struct smtp *s, const uint8_t *arg, size_t n, int cut);
};

static const struct command commands[] = {
	{KW("EHLO"), CMD_EHLO, on_helo},     {KW("HELO"), CMD_HELO, on_helo},
	{KW("LHLO"), CMD_EHLO, on_helo},     {KW("MAIL"), CMD_MAIL, on_mail},
	{KW("RCPT"), CMD_RCPT, on_rcpt},     {KW("DATA"), CMD_DATA, on_data},
	{KW("BDAT"), CMD_BDAT, on_bdat},     {KW("AUTH"), CMD_AUTH, on_auth},
	{KW("STARTTLS"), CMD_STARTTLS, on_starttls},
	{KW("QUIT"), CMD_QUIT, NULL},        {KW("RSET"), CMD_OTHER, NULL},
	{KW("NOOP"), CMD_OTHER, NULL},       {KW("VRFY"), CMD_OTHER, NULL},
	{KW("EXPN"), CMD_OTHER, NULL},       {KW("HELP"), CMD_OTHER, NULL},
	{KW("ETRN"), CMD_OTHER, NULL},       {KW("ATRN"), CMD_OTHER, NULL},
	{KW("TURN"), CMD_OTHER, NULL},       {KW("XCLIENT"), CMD_OTHER, NULL},
	{KW("XFORWARD"), CMD_OTHER, NULL},   {KW("SEND"), CMD_OTHER, NULL},
	{KW("SOML"), CMD_OTHER, NULL},       {KW("SAML"), CMD_OTHER, NULL},
};

/* Verbs of up to 11 bytes are looked up (the longest is 8). */
static const struct command *command_find(const uint8_t *verb, size_t n)
{
	if (n == 0 || n >= 12)
		return NULL;
	n = word_len(verb, n);
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (commands[i].len == n && word_eq(verb, commands[i].verb, n))
			return &commands[i];
	return NULL;
}

/* In AUTH: whether a line is a SASL response (credentials, never kept). It
 * is while a 334 awaits its answer; with no 334 seen (the server's side was
 * not captured, or AUTH had an initial response) a known command ends the
 * exchange and anything else is taken as a response. */
static int auth_response(struct smtp *s, const struct command *c)
{
	if (s->auth_expect > 0) {
		s->auth_expect--;
		return 1;
	}
	if (!c)
		return 1;
	client_enter(s, CLIENT_COMMAND);
	return 0;
}

/* A command line; cut: it was cut by a gap, and its verb counts only when
 * the captured part shows where the verb ends. */
static void client_line(struct smtp *s, const uint8_t *line, size_t n, int cut)
{
	size_t vl = 0;
	while (vl < n && line[vl] != ' ')
		vl++;
	const struct command *c = cut && vl == n ? NULL : command_find(line, vl);
	if (s->mode == CLIENT_AUTH && auth_response(s, c))
		return;
	if (!c) {
		s->f.bad_lines[0] += !(cut && vl == n); /* a verb cut short is no error */
		return;
	}
	if (s->tls == TLS_ACCEPTED || (s->tls == TLS_ASKED && c->cmd != CMD_STARTTLS))
		s->f.clear_after_starttls++;
	s->f.commands++;
	s->amend.open = 0; /* the client spoke: the reply before was complete */
	queue_push(s, c->cmd);
	if (c->on_command)
		c->on_command(s, line + vl, n - vl, cut);
}

/* ---- framing ---------------------------------------------------------- */

/* gap_cut: the line's end was lost in a gap (unless only its LF was). */
static void process_line(struct smtp *s, int dir, const uint8_t *line, size_t n, int gap_cut)
{
	if (n > 0 && line[n - 1] == '\r') {
		n--;
		gap_cut = 0;
	}
	if (dir == 0)
		client_line(s, line, n, gap_cut);
	else
		smtp_server_line(s, line, n, gap_cut);
}

static int line_append(struct line_buf *b, const uint8_t *p, size_t n)
{
	if (b->len + n > SMTP_LINE_MAX) {
		n = SMTP_LINE_MAX - b->len;
		b->cut = 1;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		while (cap < b->len + n)
			cap *= 2;
		if (cap > SMTP_LINE_MAX)
			cap = SMTP_LINE_MAX;
		uint8_t *nb = realloc(b->buf, cap);
		if (!nb)
			return -1;
		b->buf = nb;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, p, n);
	b->len += n;
	return 0;
}

/* Consumes one line (or the start of one) from p[0..n); returns bytes used. */
static size_t line_step(struct smtp *s, int dir, const uint8_t *p, size_t n)
{
	struct line_buf *b = &s->lb[dir];
	const uint8_t *lf = memchr(p, '\n', n);
	size_t take = lf ? (size_t)(lf - p) + 1 : n;
	if (lf && b->len == 0) { /* whole line in place, cut as if buffered */
		size_t n_line = take - 1 > SMTP_LINE_MAX ? SMTP_LINE_MAX : take - 1;
		if (n_line < take - 1)
			s->f.anomalies |= ANOM_LONG_LINE;
		process_line(s, dir, p, n_line, 0);
		return take;
	}
	if (line_append(b, p, lf ? take - 1 : take) < 0)
		b->cut = 1;
	if (b->cut) /* flagged at once: the line may never end */
		s->f.anomalies |= ANOM_LONG_LINE;
	if (lf) {
		process_line(s, dir, b->buf, b->len, 0);
		b->len = 0;
		b->cut = 0;
	}
	return take;
}

/* Scans DATA content for the terminating CRLF "." CRLF; returns bytes used. */
static size_t body_scan(struct smtp *s, const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t c = p[i++];
		if (s->body == BODY_MID) {
			const uint8_t *lf = memchr(p + i - 1, '\n', n - (i - 1));
			if (!lf)
				return n;
			i = (size_t)(lf - p) + 1;
			s->body = BODY_BOL;
		} else if (s->body == BODY_BOL) {
			s->body = c == '.' ? BODY_DOT : c == '\n' ? BODY_BOL : BODY_MID;
		} else if (s->body == BODY_DOT && c == '\r') {
			s->body = BODY_DOT_CR;
		} else if (c == '\n') { /* ".\n" or ".\r\n": end of data */
			client_enter(s, CLIENT_COMMAND);
			return i;
		} else {
			s->body = BODY_MID;
		}
	}
	return n;
}

static size_t bdat_skip(struct smtp *s, size_t n)
{
	size_t take = s->bdat_left < n ? (size_t)s->bdat_left : n;
	s->bdat_left -= take;
	if (s->bdat_left == 0)
		client_enter(s, CLIENT_COMMAND);
	return take;
}

static int tls_may_start(const struct smtp *s, int dir, const uint8_t *p, size_t n)
{
	if (s->lb[dir].len > 0)
		return 0; /* not at a line start */
	if (dir == 0 && s->mode != CLIENT_COMMAND && s->mode != CLIENT_AUTH)
		return 0;
	return tls_looks_like_start(p, n);
}

/* A 220 taken as the greeting of a connection picked up mid-stream, and
 * straight after it the server's TLS: it was the answer to STARTTLS. */
static void greeting_was_starttls_reply(struct smtp *s)
{
	s->f.greeting_code = -1;
	smtp_name_clear(s, SMTP_NAME_SERVER);
	s->f.starttls_reply = 220;
	s->tls = TLS_ACCEPTED;
}

static void on_handoff(struct smtp *s, int dir)
{
	s->amend.open = 0;
	if (dir == 1 && s->midstream && s->f.greeting_code == 220 && s->f.replies == 1)
		greeting_was_starttls_reply(s);
}

struct feed_result smtp_feed(struct smtp *s, int dir, const uint8_t *p, size_t len)
{
	struct feed_result res = {FEED_MORE, 0};
	dir &= 1;
	while (res.consumed < len) {
		const uint8_t *q = p + res.consumed;
		size_t n = len - res.consumed;
		if (dir == 0 && s->mode == CLIENT_BODY) {
			res.consumed += body_scan(s, q, n);
		} else if (dir == 0 && s->mode == CLIENT_BDAT) {
			res.consumed += bdat_skip(s, n);
		} else if (tls_may_start(s, dir, q, n)) {
			on_handoff(s, dir);
			res.status = FEED_HANDOFF;
			return res;
		} else {
			res.consumed += line_step(s, dir, q, n);
		}
	}
	return res;
}

/* Client bytes lost: a body or chunk goes on; a line cut short counts for
 * what was captured of it; commands may have been lost with them. */
static void client_gap(struct smtp *s, uint64_t len)
{
	struct line_buf *b = &s->lb[0];
	if (s->mode == CLIENT_BODY) {
		s->body = BODY_MID;
		s->body_gap = 1;
		return;
	}
	if (s->mode == CLIENT_BDAT && len <= s->bdat_left) {
		s->bdat_left -= len;
		if (s->bdat_left == 0)
			client_enter(s, CLIENT_COMMAND);
		return;
	}
	if (s->mode == CLIENT_BDAT)
		client_enter(s, CLIENT_COMMAND);
	else if (b->len > 0)
		process_line(s, 0, b->buf, b->len, 1);
	s->f.client_lost = 1;
}

/* Server bytes lost: a line cut short counts when its code was captured,
 * and a reply cut short is taken as complete; whole replies may be lost. */
static void server_gap(struct smtp *s)
{
	struct line_buf *b = &s->lb[1];
	if (b->len >= 3)
		process_line(s, 1, b->buf, b->len, 1);
	b->len = 0;
	if (s->reply.lines > 0)
		smtp_close_cut_reply(s);
	s->s2c_lost = 1;
}

void smtp_gap(struct smtp *s, int dir, uint64_t len)
{
	struct line_buf *b = &s->lb[dir & 1];
	if ((dir & 1) == 0)
		client_gap(s, len);
	else
		server_gap(s);
	b->len = 0; /* segments carry whole lines as a rule: start afresh */
	b->cut = 0;
}
