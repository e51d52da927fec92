#include <getopt.h>
#include <stdio.h>

#include "../reports/report.h"
#include "commands.h"

int cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, OPT_DB},
		{"help", no_argument, NULL, OPT_HELP},
		{NULL, 0, NULL, 0},
	};
	const char *db = "smtptls.db";
	char err[1024];
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == OPT_DB) {
			db = optarg;
		} else if (opt == OPT_HELP) {
			print_usage(stdout);
			return EXIT_OK;
		} else {
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		usage_error("report: unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if (report_text(db, stdout, err, sizeof err) < 0) {
		fprintf(stderr, "smtptls: %s\n", err);
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

