#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "../reports/export.h"
#include "commands.h"

static int parse_format(const char *arg, enum export_format *out)
{
	if (!strcmp(arg, "jsonl"))
		*out = EXPORT_JSONL;
	else if (!strcmp(arg, "csv"))
		*out = EXPORT_CSV;
	else {
		usage_error("export: invalid format '%s' (jsonl or csv)", arg);
		return -1;
	}
	return 0;
}

int cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, OPT_DB},
		{"format", required_argument, NULL, OPT_FORMAT},
		{"since", required_argument, NULL, OPT_SINCE},
		{"until", required_argument, NULL, OPT_UNTIL},
		{"port", required_argument, NULL, OPT_PORT},
		{"server", required_argument, NULL, OPT_SERVER},
		{"help", no_argument, NULL, OPT_HELP},
		{NULL, 0, NULL, 0},
	};
	struct report_filter f;
	enum export_format fmt = EXPORT_JSONL;
	const char *db = "smtptls.db";
	char err[1024];
	int opt;
	report_filter_init(&f);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == OPT_DB)
			db = optarg;
		else if (opt == OPT_HELP) {
			print_usage(stdout);
			return EXIT_OK;
		} else if (opt == OPT_FORMAT) {
			if (parse_format(optarg, &fmt) < 0)
				return EXIT_USAGE;
		} else if (filter_option(opt, optarg, &f) != 0)
			return EXIT_USAGE;
	}
	if (optind < argc) {
		usage_error("export: unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if (report_export(db, fmt, &f, stdout, err, sizeof err) < 0) {
		fprintf(stderr, "smtptls: %s\n", err);
		return EXIT_RUNTIME;
	}
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_RUNTIME;
}
