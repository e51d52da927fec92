#define _POSIX_C_SOURCE 200809L
#include <unistd.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../reports/report.h"
#include "../reports/tlsrpt.h"
#include "commands.h"

#define FORMAT_TLSRPT 100 /* --format tlsrpt: RFC 8460 JSON, not the table model */

static int parse_ports(const char *arg, struct report_filter *f)
{
	const char *p = arg;
	while (*p) {
		char *end;
		errno = 0;
		long v = strtol(p, &end, 10);
		if (errno || end == p || v < 1 || v > 65535 || (*end && *end != ',') ||
		    f->nports == REPORT_MAX_PORTS)
			return -1;
		f->ports[f->nports++] = (uint16_t)v;
		p = *end ? end + 1 : end;
	}
	return p == arg ? -1 : 0;
}

/* An address is stored as inet_ntop writes it; anything else is taken as
 * a banner name. */
static int parse_server(const char *arg, struct report_filter *f)
{
	unsigned char addr[16];
	if (!*arg || strlen(arg) >= sizeof f->server)
		return -1;
	if (inet_pton(AF_INET6, arg, addr) == 1)
		return inet_ntop(AF_INET6, addr, f->server, sizeof f->server) ? 0 : -1;
	if (inet_pton(AF_INET, arg, addr) == 1)
		return inet_ntop(AF_INET, addr, f->server, sizeof f->server) ? 0 : -1;
	snprintf(f->server, sizeof f->server, "%s", arg);
	return 0;
}

int filter_option(const struct cli_command *c, int code, const char *arg,
		  struct report_filter *f)
{
	switch (code) {
	case OPT_SINCE:
		if (report_parse_time(arg, &f->since) == 0)
			return 0;
		break;
	case OPT_UNTIL:
		if (report_parse_time(arg, &f->until) == 0)
			return 0;
		break;
	case OPT_PORT:
		if (parse_ports(arg, f) == 0)
			return 0;
		cli_bad_value(c, code, "invalid port list '%s' (1-65535, comma-separated, at most"
			      " %d)", arg, REPORT_MAX_PORTS);
		return -1;
	case OPT_SERVER:
		if (parse_server(arg, f) == 0)
			return 0;
		cli_bad_value(c, code, "invalid server '%s'", arg);
		return -1;
	case OPT_SENSOR:
		if (*arg && strlen(arg) < sizeof f->sensor) {
			snprintf(f->sensor, sizeof f->sensor, "%s", arg);
			return 0;
		}
		cli_bad_value(c, code, "a name of 1 to %zu bytes", sizeof f->sensor - 1);
		return -1;
	default:
		return 1;
	}
	cli_bad_value(c, code, "invalid time '%s' (ISO 8601 such as 2026-11-22T21:48:00Z, or"
		      " epoch seconds)", arg);
	return -1;
}

static const struct cli_option report_options[] = {
	CLI_OPTION_DB("database, only read"),
	{"format", 0, "F", OPT_FORMAT,
	 "text (default: 80 columns), csv, json, html (one self-contained page) or tlsrpt "
	 "(RFC 8460 reports per recipient domain, one JSON document a line)"},
	CLI_OPTIONS_FILTER,
	{"by", 0, "UNIT", OPT_BY,
	 "time-series buckets: hour, day or week, UTC (default: from the time span)"},
	{"top", 0, "N", OPT_TOP,
	 "rows per ranked list, 0 for all (default: 25 in text and html, 100 in csv and json)"},
	{"domain", 0, "D", OPT_DOMAIN, "tlsrpt: the report of policy domain D only (default: all)"},
	{"org", 0, "NAME", OPT_ORG,
	 "tlsrpt: organization-name (default: 'smtptls passive observer on' this host)"},
	{"contact", 0, "ADDR", OPT_CONTACT,
	 "tlsrpt: contact-info, an email address (default: postmaster@ this host)"},
	{NULL, 0, NULL, 0, NULL},
};

const struct cli_command report_command = {
	.name = "report",
	.summary = "print the encrypted share and what stands behind it",
	.synopsis = "[--db PATH] [--format text|csv|json|html] [--since T]\n"
		    " [--until T] [--by hour|day|week] [--port P[,P...]]\n"
		    " [--server ADDR] [--sensor NAME] [--top N]\n"
		    "--format tlsrpt [--domain D] [--org NAME]\n"
		    " [--contact ADDR] [--since T] [--until T]\n"
		    " [--port P[,P...]] [--server ADDR] [--sensor NAME]",
	.description =
		"Prints the share of the sessions in the database that were encrypted (TLS "
		"completed) and what stands behind it: per port, the reasons for the rest, a time "
		"series, TLS versions, cipher suites and key exchange, handshake outcomes, "
		"certificates, STARTTLS and AUTH in clear, the servers and clients worst first, "
		"downgrade evidence, recipient domains and their policies (from the DNS on the "
		"link), fingerprints and the capture runs. --format tlsrpt writes SMTP TLS reports "
		"(RFC 8460) per recipient domain instead.\n"
		"\n"
		"The database is only read: a user who may read it but not write its folder can "
		"report, while the sensor runs or after it stopped.",
	.options = report_options,
	.examples = "smtptls report --db mail.db\n"
		    "smtptls report --db mail.db --since 2026-11-22 --port 25 --by hour\n"
		    "smtptls report --db mail.db --format html > report.html\n"
		    "smtptls report --db mail.db --format json --server mx.example.org\n"
		    "smtptls report --db mail.db --format tlsrpt --since 2026-11-22",
};

static int parse_format(int code, const char *arg, int *out)
{
	static const char *const names[] = {"text", "csv", "json", "html"};
	for (int i = 0; i < 4; i++)
		if (!strcmp(arg, names[i])) {
			*out = i;
			return 0;
		}
	if (!strcmp(arg, "tlsrpt")) {
		*out = FORMAT_TLSRPT;
		return 0;
	}
	cli_bad_value(&report_command, code, "invalid format '%s' (text, csv, json, html or tlsrpt)",
		      arg);
	return -1;
}

struct report_args {
	struct report_options o;
	const char *db;
	int format;
	struct tlsrpt_info tlsrpt;
	char org[300], contact[300];
};

/* TLS-RPT's reporter: this host, unless told. */
static void tlsrpt_defaults(struct report_args *a)
{
	char host[256] = "localhost";
	if (gethostname(host, sizeof host) < 0 || !host[0])
		snprintf(host, sizeof host, "localhost");
	host[sizeof host - 1] = '\0';
	snprintf(a->org, sizeof a->org, "smtptls passive observer on %s", host);
	snprintf(a->contact, sizeof a->contact, "postmaster@%s", host);
	a->tlsrpt = (struct tlsrpt_info){a->org, a->contact, NULL};
}

static int report_option(void *ctx, int code, const char *arg)
{
	struct report_args *a = ctx;
	double top;
	switch (code) {
	case OPT_DB: a->db = arg; return 0;
	case OPT_FORMAT: return parse_format(code, arg, &a->format);
	case OPT_DOMAIN: a->tlsrpt.domain = arg; return 0;
	case OPT_ORG: a->tlsrpt.organization = arg; return 0;
	case OPT_CONTACT: a->tlsrpt.contact = arg; return 0;
	case OPT_TOP:
		if (cli_number(&report_command, code, arg, 0, 1000000, 1, &top) < 0)
			return -1;
		a->o.top = (long)top;
		return 0;
	case OPT_BY:
		if (report_parse_by(arg, &a->o.by) == 0)
			return 0;
		cli_bad_value(&report_command, code, "invalid unit '%s' (hour, day or week)", arg);
		return -1;
	default:
		return filter_option(&report_command, code, arg, &a->o.filter);
	}
}

int cmd_report(int argc, char **argv)
{
	struct report_args a;
	char err[1024];
	memset(&a, 0, sizeof a);
	a.db = "smtptls.db";
	a.o.format = REPORT_TEXT;
	a.o.by = REPORT_BY_AUTO;
	a.o.top = -1;
	a.format = REPORT_TEXT;
	tlsrpt_defaults(&a);
	report_filter_init(&a.o.filter);
	int first = cli_parse(&report_command, argc, argv, report_option, &a);
	if (first < 0)
		return first == CLI_HELP ? EXIT_OK : EXIT_USAGE;
	if (first < argc) {
		cli_usage_error(&report_command, "unexpected argument '%s'", argv[first]);
		return EXIT_USAGE;
	}
	if (a.format != FORMAT_TLSRPT && a.tlsrpt.domain) {
		cli_usage_error(&report_command, "%s", "--domain is for --format tlsrpt");
		return EXIT_USAGE;
	}
	a.o.format = a.format == FORMAT_TLSRPT ? REPORT_JSON : (enum report_format)a.format;
	if ((a.format == FORMAT_TLSRPT
		     ? tlsrpt_run(a.db, &a.o.filter, &a.tlsrpt, stdout, err, sizeof err)
		     : report_run(a.db, &a.o, stdout, err, sizeof err)) < 0) {
		fprintf(stderr, "smtptls: %s\n", err);
		return EXIT_RUNTIME;
	}
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_RUNTIME;
}
