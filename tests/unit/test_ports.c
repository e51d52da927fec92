/* The port map (engine/ports.c): the defaults, --ports specs applied to
 * them (adding, removing, replacing, changing a port's kind) as the map
 * they give, written back; refused specs with the entry they name and the
 * map left as it was; the format cut short to its buffer. */
#include <string.h>

#include "../../engine/ports.h"
#include "check.h"

#define DEFAULTS "25/smtp,465/tls,587/smtp"

struct ports_case {
	const char *spec;
	const char *want; /* the map written back; NULL: refused */
	const char *bad;  /* the entry the refusal names */
};

static const struct ports_case cases[] = {
	{"", DEFAULTS, NULL},
	{"2525", "25/smtp,465/tls,587/smtp,2525/smtp", NULL},
	{"2525/smtp,2465/tls", "25/smtp,465/tls,587/smtp,2465/tls,2525/smtp", NULL},
	{"-587", "25/smtp,465/tls", NULL},
	{"-25,-465,-587", "", NULL},
	{"-2525", DEFAULTS, NULL},                  /* removing what is not there */
	{"587/tls", "25/smtp,465/tls,587/tls", NULL}, /* a kind changed */
	{"465/smtp", "25/smtp,465/smtp,587/smtp", NULL},
	{"=2525/smtp", "2525/smtp", NULL},
	{"=443/tls,25", "25/smtp,443/tls", NULL},
	{"=", "", NULL},                            /* nothing followed */
	{"1,65535/tls", "1/smtp,25/smtp,465/tls,587/smtp,65535/tls", NULL},
	{"2525,", "25/smtp,465/tls,587/smtp,2525/smtp", NULL}, /* a trailing comma */
	{"25,-25", "465/tls,587/smtp", NULL},       /* in order: the last one stands */
	{"70000", NULL, "70000"},
	{"0", NULL, "0"},
	{"25/imap", NULL, "25/imap"},
	{"25/", DEFAULTS, NULL},                     /* no kind: smtp */
	{"smtp", NULL, "smtp"},
	{"2525,25x", NULL, "25x"},                  /* refused whole: 2525 not added */
	{",25", NULL, ""},
	{"-25/tls", NULL, "-25/tls"},
	{"-", NULL, "-"},
	{"0025", "25/smtp,465/tls,587/smtp", NULL},
	{"0000025", NULL, "0000025"},               /* at most five digits and one spare */
	{"==25", NULL, "=25"},
	{" 25", NULL, " 25"},
};

static void check_case(const struct ports_case *c)
{
	struct port_map m;
	char got[512], err[256] = "", bad[64];
	int before = check_failed;
	ports_default(&m);
	int rc = ports_parse(&m, c->spec, err, sizeof err);
	ports_format(&m, got, sizeof got);
	CHECK_INT(rc, c->want ? 0 : -1);
	CHECK_STR(got, c->want ? c->want : DEFAULTS); /* a refused spec changes nothing */
	if (!c->want) {
		snprintf(bad, sizeof bad, "invalid port entry '%s'", c->bad);
		CHECK(strstr(err, bad) != NULL);
	}
	if (check_failed != before)
		fprintf(stderr, "     spec '%s': %s\n", c->spec, err);
}

static void test_defaults(void)
{
	struct port_map m;
	char got[64];
	memset(&m, 0xff, sizeof m);
	ports_default(&m);
	CHECK_INT(m.kind[25], PORT_SMTP);
	CHECK_INT(m.kind[587], PORT_SMTP);
	CHECK_INT(m.kind[465], PORT_TLS);
	CHECK_INT(m.kind[24], PORT_NONE);
	CHECK_INT(m.kind[0], PORT_NONE);
	CHECK_INT(m.kind[65535], PORT_NONE);
	ports_format(&m, got, sizeof got);
	CHECK_STR(got, DEFAULTS);
}

/* A buffer too small for the map: cut, terminated, never overrun. */
static void test_format_cut(void)
{
	struct port_map m;
	char buf[16];
	ports_default(&m);
	memset(buf, 'x', sizeof buf);
	ports_format(&m, buf, 10);
	CHECK(memchr(buf, '\0', 10) != NULL);
	CHECK(strncmp(buf, "25/smtp,4", 9) == 0);
	CHECK(buf[10] == 'x');
	ports_format(&m, buf, 0); /* nothing written */
	CHECK(buf[10] == 'x');
}

int main(void)
{
	test_defaults();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		check_case(&cases[i]);
	test_format_cut();
	return check_done("test_ports");
}
