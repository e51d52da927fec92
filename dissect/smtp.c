#include "smtp.h"

#include <stdlib.h>
#include <string.h>

#include "../common/text.h"
#include "tls.h"

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

/* The texts of the facts, each in an allocation of its own size. */
enum name { NAME_SERVER = 0, NAME_EHLO, NAME_KEYWORDS, NAMES };

struct line_buf {
	uint8_t *buf;
	size_t len, cap;
	int cut;        /* the line exceeded SMTP_LINE_MAX */
};

/* The reply being collected (multi-line replies end on "NNN "). */
struct reply_acc {
	int code;
	unsigned lines;
	uint32_t caps;
};

struct smtp {
	struct line_buf lb[2];
	enum client_mode mode;
	enum body_state body;
	uint64_t bdat_left;
	uint8_t queue[SMTP_PIPELINE_MAX];
	unsigned q_head, q_len;
	struct reply_acc reply;
	char *name[NAMES];       /* where f's texts are kept, or NULL */
	size_t name_cap[NAMES];
	size_t keywords_len;     /* of f.keywords, filled from the first EHLO reply */
	enum starttls_state tls;
	int midstream;
	struct smtp_facts f;
};

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

void smtp_free(struct smtp *s)
{
	if (!s)
		return;
	free(s->lb[0].buf);
	free(s->lb[1].buf);
	for (int i = 0; i < NAMES; i++)
		free(s->name[i]);
	free(s);
}

/* ---- the kept texts ---------------------------------------------------- */

static const char **name_field(struct smtp *s, enum name which)
{
	return which == NAME_SERVER ? &s->f.server_name
	       : which == NAME_EHLO ? &s->f.ehlo_name : &s->f.keywords;
}

/* Room for need bytes (need <= REC_NAME_MAX); -1 without memory. */
static int name_reserve(struct smtp *s, enum name which, size_t need)
{
	/* keywords grow a line at a time: room for most lists at once */
	size_t cap = s->name_cap[which] ? s->name_cap[which] : which == NAME_KEYWORDS ? 128 : 16;
	if (need <= s->name_cap[which])
		return 0;
	while (cap < need)
		cap *= 2;
	cap = cap < REC_NAME_MAX ? cap : REC_NAME_MAX;
	char *p = realloc(s->name[which], cap);
	if (!p)
		return -1;
	s->name[which] = p;
	s->name_cap[which] = cap;
	*name_field(s, which) = p;
	return 0;
}

/* Sets a text to the sanitised bytes w[0..wl). */
static void name_set(struct smtp *s, enum name which, const uint8_t *w, size_t wl)
{
	char text[REC_NAME_MAX];
	size_t n = text_sanitize(text, sizeof text, w, wl);
	if (n == 0 || name_reserve(s, which, n + 1) < 0) {
		*name_field(s, which) = "";
		return;
	}
	memcpy(s->name[which], text, n + 1);
	*name_field(s, which) = s->name[which];
}

static void name_clear(struct smtp *s, enum name which)
{
	free(s->name[which]);
	s->name[which] = NULL;
	s->name_cap[which] = 0;
	*name_field(s, which) = "";
}

const struct smtp_facts *smtp_facts(const struct smtp *s)
{
	return &s->f;
}

static void client_enter(struct smtp *s, enum client_mode mode)
{
	s->mode = mode;
	if (mode == CLIENT_BODY)
		s->body = BODY_BOL;
}

/* ---- pending command queue -------------------------------------------- */

static void queue_push(struct smtp *s, enum smtp_cmd c)
{
	if (s->q_len == SMTP_PIPELINE_MAX) {
		s->f.anomalies |= ANOM_PIPELINE_OVERFLOW;
		return;
	}
	s->queue[(s->q_head + s->q_len++) % SMTP_PIPELINE_MAX] = (uint8_t)c;
}

static enum smtp_cmd queue_peek(const struct smtp *s)
{
	return s->q_len ? (enum smtp_cmd)s->queue[s->q_head] : CMD_NONE;
}

static void queue_pop(struct smtp *s)
{
	if (s->q_len) {
		s->q_head = (s->q_head + 1) % SMTP_PIPELINE_MAX;
		s->q_len--;
	}
}

static void queue_replace_head(struct smtp *s, enum smtp_cmd c)
{
	if (s->q_len)
		s->queue[s->q_head] = (uint8_t)c;
}

/* ---- small text helpers ----------------------------------------------- */

/* The first space-delimited word of p[0..n): sets *w and returns its length. */
static size_t first_word(const uint8_t *p, size_t n, const uint8_t **w)
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

static void on_helo(struct smtp *s, const uint8_t *arg, size_t n)
{
	const uint8_t *w;
	size_t wl = first_word(arg, n, &w);
	if (s->f.ehlo_name[0] == '\0')
		name_set(s, NAME_EHLO, w, wl);
}

static void on_mail(struct smtp *s, const uint8_t *arg, size_t n)
{
	(void)arg, (void)n;
	s->f.mail_cmds++;
}

static void on_rcpt(struct smtp *s, const uint8_t *arg, size_t n)
{
	(void)arg, (void)n;
	s->f.rcpt_cmds++;
}

static void on_data(struct smtp *s, const uint8_t *arg, size_t n)
{
	(void)arg, (void)n;
	s->f.data_cmds++;
	client_enter(s, CLIENT_BODY); /* a 354 is assumed until a refusal */
}

static void on_bdat(struct smtp *s, const uint8_t *arg, size_t n)
{
	const uint8_t *w;
	size_t wl = first_word(arg, n, &w);
	uint64_t size;
	s->f.bdat_cmds++;
	if (parse_u64(w, wl, &size) < 0) {
		s->f.bad_lines[0]++;
		return;
	}
	if (size > 0) {
		s->bdat_left = size;
		client_enter(s, CLIENT_BDAT);
	}
}

static void on_auth(struct smtp *s, const uint8_t *arg, size_t n)
{
	const uint8_t *w;
	size_t wl = first_word(arg, n, &w);
	s->f.auth_sent = 1;
	if (s->f.auth_mech[0] == '\0')
		text_sanitize(s->f.auth_mech, sizeof s->f.auth_mech, w, wl);
	client_enter(s, CLIENT_AUTH);
}

static void on_starttls(struct smtp *s, const uint8_t *arg, size_t n)
{
	(void)arg, (void)n;
	s->f.starttls_sent = 1;
	if (s->tls != TLS_ACCEPTED)
		s->tls = TLS_ASKED;
}

/* A table keyword and its length. */
#define KW(s) s, sizeof s - 1

struct command {
	const char *verb;
	size_t len;
	enum smtp_cmd cmd;
	void (*on_command)(struct smtp *s, const uint8_t *arg, size_t n);
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

static uint8_t ascii_upper(uint8_t c)
{
	return c >= 'a' && c <= 'z' ? (uint8_t)(c - 32) : c;
}

/* Words are compared with the upper-case keywords in place rather than
 * upper-cased into a C string and strcmp'd, with the same answer: such a
 * string ended at a NUL byte of the word, so this is the length that
 * counts. */
static size_t word_len(const uint8_t *w, size_t n)
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

static void client_line(struct smtp *s, const uint8_t *line, size_t n)
{
	if (s->mode == CLIENT_AUTH)
		return; /* a SASL response: credentials, never kept */
	size_t vl = 0;
	while (vl < n && line[vl] != ' ')
		vl++;
	const struct command *c = command_find(line, vl);
	if (!c) {
		s->f.bad_lines[0]++;
		return;
	}
	if (s->tls == TLS_ACCEPTED || (s->tls == TLS_ASKED && c->cmd != CMD_STARTTLS))
		s->f.clear_after_starttls++;
	s->f.commands++;
	queue_push(s, c->cmd);
	if (c->on_command)
		c->on_command(s, line + vl, n - vl);
}

/* ---- server replies ----------------------------------------------------- */

struct capability {
	const char *keyword;
	size_t len;
	uint32_t bit;
};

static const struct capability capabilities[] = {
	{KW("STARTTLS"), SMTP_CAP_STARTTLS},     {KW("PIPELINING"), SMTP_CAP_PIPELINING},
	{KW("CHUNKING"), SMTP_CAP_CHUNKING},     {KW("AUTH"), SMTP_CAP_AUTH},
	{KW("SIZE"), SMTP_CAP_SIZE},             {KW("8BITMIME"), SMTP_CAP_8BITMIME},
	{KW("SMTPUTF8"), SMTP_CAP_SMTPUTF8},     {KW("REQUIRETLS"), SMTP_CAP_REQUIRETLS},
};

static uint32_t capability_bit(const uint8_t *w, size_t n)
{
	size_t x = 0, m;
	if (n > 0 && n < 16) { /* keywords of up to 15 bytes are looked up */
		m = word_len(w, n);
		for (size_t i = 0; i < sizeof capabilities / sizeof capabilities[0]; i++)
			if (capabilities[i].len == m && word_eq(w, capabilities[i].keyword, m))
				return capabilities[i].bit;
	}
	if (n > 1 && n <= 16) { /* "XXXXXXXA": a middlebox overwrote it */
		while (x < n && (w[x] == 'X' || w[x] == 'x'))
			x++;
		if (x + 1 >= n)
			return SMTP_CAP_MANGLED;
	}
	return 0;
}

static void clear_keywords(struct smtp *s)
{
	name_clear(s, NAME_KEYWORDS);
	s->keywords_len = 0;
}

static void on_greeting(struct smtp *s, const struct reply_acc *r)
{
	s->f.greeting_code = r->code; /* server_name was taken from its first line */
	if (s->f.ehlo_replies == 0)
		clear_keywords(s); /* its lines were no EHLO keywords after all */
}

/* Any reply to EHLO says whether STARTTLS was offered: a refusal (500)
 * offers nothing. */
static void on_ehlo_reply(struct smtp *s, const struct reply_acc *r)
{
	if (r->code != 250 && s->f.ehlo_replies == 0)
		clear_keywords(s); /* a refusal's lines are not keywords */
	if (r->code == 250) {
		s->f.ehlo_replies++;
		s->f.caps |= r->caps;
		if (r->caps & SMTP_CAP_MANGLED)
			s->f.anomalies |= ANOM_CAPABILITY_MANGLED;
	}
	if (s->f.starttls_offered < 1)
		s->f.starttls_offered = r->code == 250 && (r->caps & SMTP_CAP_STARTTLS);
}

static void on_starttls_reply(struct smtp *s, const struct reply_acc *r)
{
	s->f.starttls_reply = r->code;
	if (r->code >= 200 && r->code < 300) {
		s->tls = TLS_ACCEPTED;
	} else {
		s->tls = TLS_REFUSED;
		s->f.clear_after_starttls = 0; /* going on in clear is legitimate */
	}
}

/* The first reply is the greeting, unless the connection was picked up
 * mid-stream, where only a 220 before any command is taken as one. */
static int is_greeting(const struct smtp *s, enum smtp_cmd head, int code)
{
	if (s->midstream)
		return head == CMD_NONE && s->f.commands == 0 && code == 220;
	return head == CMD_NONE || code == 220 || code == 421 || code == 554;
}

/* Applies a complete reply to the command at the head of the queue. */
static void dispatch_reply(struct smtp *s, const struct reply_acc *r)
{
	enum smtp_cmd c = queue_peek(s);
	if (s->f.replies == 1 && is_greeting(s, c, r->code)) {
		on_greeting(s, r);
		return;
	}
	if (s->f.replies == 1)
		name_clear(s, NAME_SERVER); /* the first reply was no greeting */
	if (s->tls == TLS_ACCEPTED)
		s->f.clear_after_starttls++;
	if (c == CMD_AUTH && r->code == 334)
		return; /* the client sends a continuation line next */
	if (c == CMD_DATA && r->code == 354) {
		queue_replace_head(s, CMD_DATA_END);
		return;
	}
	queue_pop(s);
	if (c == CMD_EHLO)
		on_ehlo_reply(s, r);
	else if (c == CMD_STARTTLS)
		on_starttls_reply(s, r);
	else if (c == CMD_AUTH || ((c == CMD_DATA || c == CMD_DATA_END) &&
				   s->mode == CLIENT_BODY))
		client_enter(s, CLIENT_COMMAND); /* AUTH over; DATA refused or resync */
}

static int reply_code(const uint8_t *line, size_t n)
{
	if (n < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' ||
	    line[1] > '9' || line[2] < '0' || line[2] > '9')
		return -1;
	if (n > 3 && line[3] != ' ' && line[3] != '-')
		return -1;
	return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

/* Appends a keyword of the first EHLO reply to the facts while it fits. */
static void add_keyword(struct smtp *s, const uint8_t *w, size_t n)
{
	char word[64];
	size_t wl = text_sanitize(word, sizeof word, w, n);
	size_t need = wl + (s->keywords_len ? 1 : 0);
	if (wl == 0 || s->keywords_len + need + 1 > REC_NAME_MAX ||
	    name_reserve(s, NAME_KEYWORDS, s->keywords_len + need + 1) < 0)
		return;
	char *kw = s->name[NAME_KEYWORDS];
	if (s->keywords_len)
		kw[s->keywords_len++] = ',';
	memcpy(kw + s->keywords_len, word, wl + 1);
	s->keywords_len += wl;
}

static void server_line(struct smtp *s, const uint8_t *line, size_t n)
{
	struct reply_acc *r = &s->reply;
	int code = reply_code(line, n);
	const uint8_t *w, *text = line + (n > 3 ? 4 : 3);
	size_t wl, text_len = n > 3 ? n - 4 : 0;
	if (code < 0) {
		s->f.bad_lines[1]++;
		return;
	}
	/* the first word only where it is kept: most lines need none */
	if (r->lines == 0) {
		r->code = code;
		r->caps = 0;
		if (s->f.replies == 0) { /* a greeting's host name, if it is one */
			wl = first_word(text, text_len, &w);
			name_set(s, NAME_SERVER, w, wl);
		}
		if (s->f.ehlo_replies == 0)
			clear_keywords(s);
	} else if (queue_peek(s) == CMD_EHLO) {
		wl = first_word(text, text_len, &w);
		r->caps |= capability_bit(w, wl);
		if (s->f.ehlo_replies == 0)
			add_keyword(s, w, wl);
	}
	r->lines++;
	if (n > 3 && line[3] == '-')
		return;
	s->f.replies++;
	dispatch_reply(s, r);
	r->lines = 0;
}

/* ---- framing ---------------------------------------------------------- */

static void process_line(struct smtp *s, int dir, const uint8_t *line, size_t n)
{
	if (n > 0 && line[n - 1] == '\r')
		n--;
	if (dir == 0)
		client_line(s, line, n);
	else
		server_line(s, line, n);
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
		process_line(s, dir, p, n_line);
		return take;
	}
	if (line_append(b, p, lf ? take - 1 : take) < 0)
		b->cut = 1;
	if (b->cut) /* flagged at once: the line may never end */
		s->f.anomalies |= ANOM_LONG_LINE;
	if (lf) {
		process_line(s, dir, b->buf, b->len);
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
			res.status = FEED_HANDOFF;
			return res;
		} else {
			res.consumed += line_step(s, dir, q, n);
		}
	}
	return res;
}

void smtp_gap(struct smtp *s, int dir, uint64_t len)
{
	struct line_buf *b = &s->lb[dir & 1];
	if ((dir & 1) == 0 && s->mode == CLIENT_BODY) {
		s->body = BODY_MID;
		return;
	}
	if ((dir & 1) == 0 && s->mode == CLIENT_BDAT && len < s->bdat_left) {
		s->bdat_left -= len;
		return;
	}
	if ((dir & 1) == 0 && s->mode == CLIENT_BDAT)
		client_enter(s, CLIENT_COMMAND);
	b->len = 0; /* segments carry whole lines as a rule: start afresh */
	b->cut = 0;
}
