#include <stdio.h>
#include <string.h>

#include "../reports/export.h"
#include "../reports/report.h"
#include "commands.h"

static const struct cli_option export_options[] = {
	CLI_OPTION_DB("database, only read"),
	{"format", 0, "F", OPT_FORMAT,
	 "jsonl (default: one JSON object a line) or csv (RFC 4180, NULL as an empty field)"},
	CLI_OPTIONS_FILTER,
	{NULL, 0, NULL, 0, NULL},
};

const struct cli_command export_command = {
	.name = "export",
	.summary = "write the session rows, as JSON lines or CSV",
	.synopsis = "[--db PATH] [--format jsonl|csv] [--since T] [--until T]\n"
		    " [--port P[,P...]] [--server ADDR] [--sensor NAME]",
	.description =
		"Writes every column of the session rows that pass the filters, oldest first, on "
		"standard output (for a SIEM, a spreadsheet or jq). The database is only read, as "
		"by report.",
	.options = export_options,
	.examples = "smtptls export --db mail.db > sessions.jsonl\n"
		    "smtptls export --db mail.db --format csv --since 2026-11-22 --port 25",
};

struct export_args {
	struct report_filter f;
	enum export_format fmt;
	const char *db;
};

static int export_option(void *ctx, int code, const char *arg)
{
	struct export_args *a = ctx;
	if (code == OPT_DB) {
		a->db = arg;
		return 0;
	}
	if (code != OPT_FORMAT)
		return filter_option(&export_command, code, arg, &a->f);
	if (!strcmp(arg, "jsonl"))
		a->fmt = EXPORT_JSONL;
	else if (!strcmp(arg, "csv"))
		a->fmt = EXPORT_CSV;
	else {
		cli_bad_value(&export_command, code, "invalid format '%s' (jsonl or csv)", arg);
		return -1;
	}
	return 0;
}

int cmd_export(int argc, char **argv)
{
	struct export_args a = {.fmt = EXPORT_JSONL, .db = "smtptls.db"};
	char err[1024];
	report_filter_init(&a.f);
	int first = cli_parse(&export_command, argc, argv, export_option, &a);
	if (first < 0)
		return first == CLI_HELP ? EXIT_OK : EXIT_USAGE;
	if (first < argc) {
		cli_usage_error(&export_command, "unexpected argument '%s'", argv[first]);
		return EXIT_USAGE;
	}
	if (report_export(a.db, a.fmt, &a.f, stdout, err, sizeof err) < 0) {
		fprintf(stderr, "smtptls: %s\n", err);
		return EXIT_RUNTIME;
	}
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_RUNTIME;
}
