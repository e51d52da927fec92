#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../reports/report.h"
#include "commands.h"

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
	 "text (default: 80 columns), csv, json or html (one self-contained page)"},
	CLI_OPTIONS_FILTER,
	{"by", 0, "UNIT", OPT_BY,
	 "time-series buckets: hour, day or week, UTC (default: from the time span)"},
	{"top", 0, "N", OPT_TOP,
	 "rows per ranked list, 0 for all (default: 25 in text and html, all in csv and json)"},
	{NULL, 0, NULL, 0, NULL},
};

const struct cli_command report_command = {
	.name = "report",
	.summary = "print the encrypted share and what stands behind it",
	.synopsis = "[--db PATH] [--format text|csv|json|html] [--since T]\n"
		    " [--until T] [--by hour|day|week] [--port P[,P...]]\n"
		    " [--server ADDR] [--top N]",
	.description =
		"Prints the share of the sessions in the database that were encrypted (TLS "
		"completed) and what stands behind it: per port, the reasons for the rest, a time "
		"series, TLS versions, cipher suites and key exchange, handshake outcomes, "
		"certificates, STARTTLS and AUTH in clear, the servers and clients worst first, "
		"downgrade evidence, fingerprints and the capture runs.\n"
		"\n"
		"The database is only read: a user who may read it but not write its folder can "
		"report, while the sensor runs or after it stopped.",
	.options = report_options,
	.examples = "smtptls report --db mail.db\n"
		    "smtptls report --db mail.db --since 2026-11-22 --port 25 --by hour\n"
		    "smtptls report --db mail.db --format html > report.html\n"
		    "smtptls report --db mail.db --format json --server mx.example.org",
};

static int parse_format(int code, const char *arg, enum report_format *out)
{
	static const char *const names[] = {"text", "csv", "json", "html"};
	for (int i = 0; i < 4; i++)
		if (!strcmp(arg, names[i])) {
			*out = (enum report_format)i;
			return 0;
		}
	cli_bad_value(&report_command, code, "invalid format '%s' (text, csv, json or html)", arg);
	return -1;
}

struct report_args {
	struct report_options o;
	const char *db;
};

static int report_option(void *ctx, int code, const char *arg)
{
	struct report_args *a = ctx;
	double top;
	switch (code) {
	case OPT_DB: a->db = arg; return 0;
	case OPT_FORMAT: return parse_format(code, arg, &a->o.format);
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
	report_filter_init(&a.o.filter);
	int first = cli_parse(&report_command, argc, argv, report_option, &a);
	if (first < 0)
		return first == CLI_HELP ? EXIT_OK : EXIT_USAGE;
	if (first < argc) {
		cli_usage_error(&report_command, "unexpected argument '%s'", argv[first]);
		return EXIT_USAGE;
	}
	if (report_run(a.db, &a.o, stdout, err, sizeof err) < 0) {
		fprintf(stderr, "smtptls: %s\n", err);
		return EXIT_RUNTIME;
	}
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_RUNTIME;
}
