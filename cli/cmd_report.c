#define _POSIX_C_SOURCE 200809L
#include <unistd.h>
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../reports/report.h"
#include "../reports/tlsrpt.h"
#include "commands.h"

#define FORMAT_TLSRPT 100 /* report --format tlsrpt: RFC 8460 JSON, not the table model */

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

int filter_option(int opt, const char *arg, struct report_filter *f)
{
	switch (opt) {
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
		usage_error("invalid port list '%s' (1-65535, comma-separated, at most 16)", arg);
		return -1;
	case OPT_SERVER:
		if (parse_server(arg, f) == 0)
			return 0;
		usage_error("invalid server '%s'", arg);
		return -1;
	default:
		return 1;
	}
	usage_error("invalid time '%s' (ISO 8601 such as 2026-11-22T21:48:00Z, or epoch"
		    " seconds)", arg);
	return -1;
}

static int parse_format(const char *arg, int *out)
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
	usage_error("report: invalid format '%s' (text, csv, json, html or tlsrpt)", arg);
	return -1;
}

/* TLS-RPT's own options: the policy domain, who reports. */
struct tlsrpt_args {
	int format;
	struct tlsrpt_info info;
	char org[300], contact[300];
};

static void tlsrpt_defaults(struct tlsrpt_args *t)
{
	char host[256] = "localhost";
	if (gethostname(host, sizeof host) < 0 || !host[0])
		snprintf(host, sizeof host, "localhost");
	host[sizeof host - 1] = '\0';
	snprintf(t->org, sizeof t->org, "smtptls passive observer on %s", host);
	snprintf(t->contact, sizeof t->contact, "postmaster@%s", host);
	t->info = (struct tlsrpt_info){t->org, t->contact, NULL};
}

static int parse_top(const char *arg, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < 0 || v > 1000000) {
		usage_error("invalid number '%s'", arg);
		return -1;
	}
	*out = v;
	return 0;
}

/* One option; 0 to go on, or an exit status + 1. */
static int report_option(int opt, struct report_options *o, struct tlsrpt_args *t,
			 const char **db)
{
	switch (opt) {
	case OPT_DB: *db = optarg; return 0;
	case OPT_HELP: print_usage(stdout); return EXIT_OK + 1;
	case OPT_FORMAT: return parse_format(optarg, &t->format) < 0 ? EXIT_USAGE + 1 : 0;
	case OPT_DOMAIN: t->info.domain = optarg; return 0;
	case OPT_ORG: t->info.organization = optarg; return 0;
	case OPT_CONTACT: t->info.contact = optarg; return 0;
	case OPT_TOP: return parse_top(optarg, &o->top) < 0 ? EXIT_USAGE + 1 : 0;
	case OPT_BY:
		if (report_parse_by(optarg, &o->by) == 0)
			return 0;
		usage_error("report: invalid --by '%s' (hour, day or week)", optarg);
		return EXIT_USAGE + 1;
	default: break;
	}
	return filter_option(opt, optarg, &o->filter) == 0 ? 0 : EXIT_USAGE + 1;
}

int cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, OPT_DB},
		{"format", required_argument, NULL, OPT_FORMAT},
		{"since", required_argument, NULL, OPT_SINCE},
		{"until", required_argument, NULL, OPT_UNTIL},
		{"by", required_argument, NULL, OPT_BY},
		{"port", required_argument, NULL, OPT_PORT},
		{"server", required_argument, NULL, OPT_SERVER},
		{"top", required_argument, NULL, OPT_TOP},
		{"domain", required_argument, NULL, OPT_DOMAIN},
		{"org", required_argument, NULL, OPT_ORG},
		{"contact", required_argument, NULL, OPT_CONTACT},
		{"help", no_argument, NULL, OPT_HELP},
		{NULL, 0, NULL, 0},
	};
	struct report_options o;
	struct tlsrpt_args t;
	const char *db = "smtptls.db";
	char err[1024];
	int opt, rc;
	memset(&o, 0, sizeof o);
	o.format = REPORT_TEXT;
	o.by = REPORT_BY_AUTO;
	o.top = -1;
	report_filter_init(&o.filter);
	tlsrpt_defaults(&t);
	t.format = REPORT_TEXT;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == '?' || opt == ':')
			return EXIT_USAGE;
		if ((rc = report_option(opt, &o, &t, &db)) != 0)
			return rc - 1;
	}
	if (optind < argc) {
		usage_error("report: unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if (t.format != FORMAT_TLSRPT && t.info.domain) {
		usage_error("report: %s is for --format tlsrpt", "--domain");
		return EXIT_USAGE;
	}
	o.format = t.format == FORMAT_TLSRPT ? REPORT_JSON : (enum report_format)t.format;
	rc = t.format == FORMAT_TLSRPT ? tlsrpt_run(db, &o.filter, &t.info, stdout, err, sizeof err)
				       : report_run(db, &o, stdout, err, sizeof err);
	if (rc < 0) {
		fprintf(stderr, "smtptls: %s\n", err);
		return EXIT_RUNTIME;
	}
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_RUNTIME;
}
