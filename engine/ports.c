#include "ports.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ports_default(struct port_map *m)
{
	memset(m, 0, sizeof *m);
	m->kind[25] = PORT_SMTP;
	m->kind[587] = PORT_SMTP;
	m->kind[465] = PORT_TLS;
}

static int parse_kind(const char *s, size_t n, enum port_kind *k)
{
	if (n == 0 || (n == 4 && memcmp(s, "smtp", 4) == 0))
		*k = PORT_SMTP;
	else if (n == 3 && memcmp(s, "tls", 3) == 0)
		*k = PORT_TLS;
	else
		return -1;
	return 0;
}

/* One entry, s[0..n): "[-]PORT[/KIND]". */
static int parse_entry(struct port_map *m, const char *s, size_t n, char *err, size_t errlen)
{
	int remove = n > 0 && s[0] == '-';
	size_t i = remove ? 1 : 0;
	unsigned long port = 0;
	size_t digits = 0;
	enum port_kind kind = PORT_SMTP;
	while (i < n && s[i] >= '0' && s[i] <= '9' && digits < 6) {
		port = port * 10 + (unsigned long)(s[i++] - '0');
		digits++;
	}
	const char *kind_s = i < n && s[i] == '/' ? s + i + 1 : s + i;
	size_t kind_n = n - (size_t)(kind_s - s);
	if (digits == 0 || port == 0 || port > 65535 ||
	    (i < n && s[i] != '/') || (!remove && parse_kind(kind_s, kind_n, &kind) < 0) ||
	    (remove && i != n)) {
		snprintf(err, errlen, "invalid port entry '%.*s' (expected PORT, PORT/smtp, "
			 "PORT/tls or -PORT)", (int)n, s);
		return -1;
	}
	m->kind[port] = remove ? PORT_NONE : (uint8_t)kind;
	return 0;
}

int ports_parse(struct port_map *m, const char *spec, char *err, size_t errlen)
{
	struct port_map next = *m;
	const char *p = spec;
	if (*p == '=') {
		memset(&next, 0, sizeof next);
		p++;
	}
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (parse_entry(&next, p, n, err, errlen) < 0)
			return -1;
		p += n + (comma ? 1 : 0);
	}
	*m = next;
	return 0;
}

void ports_format(const struct port_map *m, char *out, size_t cap)
{
	size_t used = 0;
	if (cap)
		out[0] = '\0';
	for (unsigned port = 1; port < 65536 && used < cap; port++) {
		if (m->kind[port] == PORT_NONE)
			continue;
		used += (size_t)snprintf(out + used, cap - used, "%s%u/%s", used ? "," : "", port,
					 m->kind[port] == PORT_TLS ? "tls" : "smtp");
	}
}
