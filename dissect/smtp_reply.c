/* The server's side of the SMTP dialogue: replies (multi-line, cut by
 * gaps, or answering commands that were not captured) matched to the
 * pending commands, the greeting, EHLO keywords and the STARTTLS answer. */
#include <string.h>

#include "../common/text.h"
#include "smtp_int.h"

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
	smtp_name_clear(s, SMTP_NAME_KEYWORDS);
	s->keywords_len = 0;
}

static void on_greeting(struct smtp *s, const struct reply_acc *r)
{
	s->f.greeting_code = r->code; /* server_name was taken from its first line */
	if (s->f.ehlo_replies == 0)
		clear_keywords(s); /* its lines were no EHLO keywords after all */
}

/* Any reply to EHLO says whether STARTTLS was offered: a refusal (500)
 * offers nothing; a 250 cut by a gap without it says nothing. */
static void on_ehlo_reply(struct smtp *s, const struct reply_acc *r)
{
	int offered = r->code == 250 && (r->caps & SMTP_CAP_STARTTLS);
	if (r->code != 250 && s->f.ehlo_replies == 0)
		clear_keywords(s); /* a refusal's lines are not keywords */
	if (r->code == 250) {
		if (++s->f.ehlo_replies == 1) /* the first one's keywords are all there */
			smtp_name_fit(s, SMTP_NAME_KEYWORDS, s->keywords_len);
		s->f.caps |= r->caps;
		if (r->caps & SMTP_CAP_MANGLED)
			s->f.anomalies |= ANOM_CAPABILITY_MANGLED;
	}
	if (s->f.starttls_offered < 1 && (offered || !r->cut || r->code != 250))
		s->f.starttls_offered = offered;
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
 * mid-stream, where only a 220 before any command is taken as one. A 220
 * with an enhanced status code ("220 2.0.0 Ready to start TLS") answers
 * STARTTLS: the greeting comes before EHLO negotiates those codes. */
static int is_greeting(const struct smtp *s, enum smtp_cmd head, const struct reply_acc *r)
{
	if (r->code == 220 && r->esc)
		return 0;
	if (s->midstream)
		return head == CMD_NONE && s->f.commands == 0 && r->code == 220;
	return head == CMD_NONE || r->code == 220 || r->code == 421 || r->code == 554;
}

/* A final reply to command c, taken off the queue. */
static void apply_final_reply(struct smtp *s, enum smtp_cmd c, const struct reply_acc *r)
{
	if (c == CMD_EHLO) {
		on_ehlo_reply(s, r);
	} else if (c == CMD_STARTTLS) {
		on_starttls_reply(s, r);
	} else if (c == CMD_AUTH) {
		client_enter(s, CLIENT_COMMAND); /* AUTH over */
	} else if ((c == CMD_DATA || c == CMD_DATA_END) && s->mode == CLIENT_BODY) {
		/* DATA refused, or the end of data was not seen: if bytes of
		 * the body were lost, commands after it may have been too */
		s->f.client_lost |= s->body_gap;
		client_enter(s, CLIENT_COMMAND);
	}
}

/* The command that alone gets a reply code, or CMD_NONE. */
static enum smtp_cmd only_answer_to(int code)
{
	static const struct { int code; enum smtp_cmd cmd; } table[] = {
		{220, CMD_STARTTLS}, {354, CMD_DATA}, {334, CMD_AUTH}, {235, CMD_AUTH},
	};
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		if (table[i].code == code)
			return table[i].cmd;
	return CMD_NONE;
}

/* After replies were lost in a gap: a reply that answers only one kind of
 * command drops the pending commands before it (their replies were lost). */
static void skip_lost_replies(struct smtp *s, int code)
{
	enum smtp_cmd want = only_answer_to(code);
	unsigned i = 0;
	while (want != CMD_NONE && i < s->q_len &&
	       queue_at(s, i) != want)
		i++;
	if (want == CMD_NONE || i == s->q_len)
		return;
	while (i-- > 0)
		queue_pop(s);
}

/* A reply to a command that was not seen (the client's side was not
 * captured): a 220 after the greeting can only answer STARTTLS, and a
 * multi-line 250 with EHLO keywords only EHLO. */
static enum smtp_cmd infer_command(struct smtp *s, const struct reply_acc *r)
{
	if (r->code == 220) {
		on_starttls_reply(s, r);
		return CMD_STARTTLS;
	}
	if (r->code == 250 && r->lines > 1 && (r->caps & ~(uint32_t)SMTP_CAP_MANGLED)) {
		on_ehlo_reply(s, r);
		return CMD_EHLO;
	}
	return CMD_NONE;
}

/* Applies a complete reply to the command at the head of the queue;
 * returns the command it answered (CMD_NONE: the greeting, or none). */
static enum smtp_cmd dispatch_reply(struct smtp *s, const struct reply_acc *r)
{
	if (s->s2c_lost)
		skip_lost_replies(s, r->code);
	enum smtp_cmd c = queue_peek(s);
	if (s->f.replies == 1 && is_greeting(s, c, r)) {
		on_greeting(s, r);
		return CMD_NONE;
	}
	if (s->f.replies == 1)
		smtp_name_clear(s, SMTP_NAME_SERVER); /* the first reply was no greeting */
	if (s->tls == TLS_ACCEPTED)
		s->f.clear_after_starttls++;
	if (c == CMD_NONE)
		return infer_command(s, r);
	if (c == CMD_AUTH && r->code == 334) {
		s->auth_expect += s->auth_expect < 8; /* a response line comes next */
		return c;
	}
	if (c == CMD_DATA && r->code == 354) {
		queue_replace_head(s, CMD_DATA_END);
		return c;
	}
	queue_pop(s);
	s->s2c_lost &= s->q_len > 0;
	apply_final_reply(s, c, r);
	return c;
}

/* 2.0.0: an enhanced status code (RFC 3463), class.subject.detail. */
static int is_status_code(const uint8_t *w, size_t n)
{
	size_t i = 2, digits;
	if (n < 5 || (w[0] != '2' && w[0] != '4' && w[0] != '5') || w[1] != '.')
		return 0;
	for (int part = 0; part < 2; part++) {
		for (digits = 0; i < n && w[i] >= '0' && w[i] <= '9'; i++)
			digits++;
		if (digits == 0 || digits > 3 || (part == 0 && (i == n || w[i++] != '.')))
			return 0;
	}
	return i == n;
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
	    smtp_name_reserve(s, SMTP_NAME_KEYWORDS, s->keywords_len + need + 1) < 0)
		return;
	char *kw = s->name[SMTP_NAME_KEYWORDS];
	if (s->keywords_len)
		kw[s->keywords_len++] = ',';
	memcpy(kw + s->keywords_len, word, wl + 1);
	s->keywords_len = (uint16_t)(s->keywords_len + wl); /* < REC_NAME_MAX */
}

/* One EHLO keyword line's word (w, wl: none if cut) into bits and keywords. */
static inline uint32_t keyword_line(struct smtp *s, const uint8_t *w, size_t wl,
				   int first_reply)
{
	uint32_t bit = wl ? capability_bit(w, wl) : 0;
	if (first_reply)
		add_keyword(s, w, wl);
	return bit;
}

/* The first line of a reply: its code, and the greeting's host name. */
static void reply_begins(struct smtp *s, struct reply_acc *r, int code, const uint8_t *text,
			 size_t text_len, int cut)
{
	const uint8_t *w;
	size_t wl;
	r->code = code;
	r->caps = 0;
	r->cut = 0;
	r->esc = 0;
	if (code == 220) {
		wl = first_word(text, text_len, &w);
		r->esc = is_status_code(w, wl);
	}
	if (s->f.replies == 0) { /* a greeting's host name, if it is one */
		wl = whole_word(text, text_len, cut, &w);
		smtp_name_set(s, SMTP_NAME_SERVER, w, wl);
	}
	if (s->f.ehlo_replies == 0)
		clear_keywords(s);
}

/* A line after a reply taken as complete at a gap, with its code and the
 * client silent since: the rest of that reply (an EHLO reply's keywords). */
static void amend_line(struct smtp *s, const uint8_t *text, size_t text_len, int cut, int last)
{
	const uint8_t *w;
	size_t wl = whole_word(text, text_len, cut, &w);
	if (s->amend.cmd == CMD_EHLO) {
		uint32_t bit = keyword_line(s, w, wl, s->f.ehlo_replies == 1);
		s->f.caps |= bit;
		if (bit & SMTP_CAP_STARTTLS)
			s->f.starttls_offered = 1;
		if (bit & SMTP_CAP_MANGLED)
			s->f.anomalies |= ANOM_CAPABILITY_MANGLED;
	}
	s->amend.open = !last;
}

/* A reply line; cut: it was cut by a gap (its last word may go on). */
void smtp_server_line(struct smtp *s, const uint8_t *line, size_t n, int cut)
{
	struct reply_acc *r = &s->reply;
	int code = reply_code(line, n);
	const uint8_t *w, *text = line + (n > 3 ? 4 : 3);
	size_t text_len = n > 3 ? n - 4 : 0;
	int more = n > 3 ? line[3] == '-' : cut; /* more lines follow, or may */
	if (code < 0) {
		s->f.bad_lines[1]++;
		return;
	}
	if (r->lines == 0 && s->amend.open && code == s->amend.code) {
		amend_line(s, text, text_len, cut, !more);
		return;
	}
	s->amend.open = 0;
	enum smtp_cmd head = queue_peek(s);
	if (r->lines == 0) {
		reply_begins(s, r, code, text, text_len, cut);
	} else if (head == CMD_EHLO || (head == CMD_NONE && s->f.replies > 0)) {
		size_t wl = whole_word(text, text_len, cut, &w);
		r->caps |= keyword_line(s, w, wl, s->f.ehlo_replies == 0);
	}
	r->cut |= cut;
	r->lines++;
	if (more)
		return;
	s->f.replies++;
	dispatch_reply(s, r);
	r->lines = 0;
}

/* A reply whose end was lost in a gap is taken as complete; lines of its
 * code may still follow (amend_line). */
void smtp_close_cut_reply(struct smtp *s)
{
	struct reply_acc *r = &s->reply;
	r->cut = 1;
	s->f.replies++;
	s->amend.cmd = dispatch_reply(s, r);
	s->amend.code = r->code;
	s->amend.open = 1;
	r->lines = 0;
}
