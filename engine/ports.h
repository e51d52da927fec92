/* The port map: which TCP ports carry SMTP (STARTTLS possible) and which
 * carry implicit TLS. Defaults 25/smtp, 587/smtp, 465/tls. */
#ifndef SMTPTLS_PORTS_H
#define SMTPTLS_PORTS_H

#include <stddef.h>
#include <stdint.h>

enum port_kind { PORT_NONE = 0, PORT_SMTP, PORT_TLS };

struct port_map {
	uint8_t kind[65536];
};

void ports_default(struct port_map *m);

/* Applies a spec: comma-separated PORT[/smtp|/tls] entries add ports
 * (smtp if no kind), -PORT removes one, and a leading '=' starts from an
 * empty map. Returns 0, or -1 with a message in err. */
int ports_parse(struct port_map *m, const char *spec, char *err, size_t errlen);

/* Writes the map as a spec ("25/smtp,465/tls,587/smtp"). */
void ports_format(const struct port_map *m, char *out, size_t cap);

#endif
