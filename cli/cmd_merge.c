#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "../store/merge.h"
#include "commands.h"

static int parse_tolerance(const char *arg, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(arg, &end);
	if (errno || end == arg || *end || !(v >= 0) || v > 3600) {
		usage_error("merge: invalid tolerance '%s' (seconds, 0 to 3600)", arg);
		return -1;
	}
	*out = v;
	return 0;
}

int cmd_merge(int argc, char **argv)
{
	static const struct option opts[] = {
		{"tolerance", required_argument, NULL, OPT_TOLERANCE},
		{"help", no_argument, NULL, OPT_HELP},
		{NULL, 0, NULL, 0},
	};
	double tolerance = MERGE_TOLERANCE_DEFAULT;
	struct merge_stats st;
	char err[1024];
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == OPT_HELP) {
			print_usage(stdout);
			return EXIT_OK;
		}
		if (opt != OPT_TOLERANCE || parse_tolerance(optarg, &tolerance) < 0)
			return EXIT_USAGE;
	}
	if (argc - optind < 2) {
		usage_error("merge: %s", "needs OUT.db and at least one IN.db");
		return EXIT_USAGE;
	}
	if (store_merge(argv[optind], (const char *const *)argv + optind + 1,
			 (size_t)(argc - optind - 1), tolerance, &st, err, sizeof err) < 0) {
		fprintf(stderr, "smtptls: %s\n", err);
		return EXIT_RUNTIME;
	}
	fprintf(stderr, "smtptls: merged %d databases into %s: %lld sessions added, %lld already"
		" there, %lld replaced by a more complete row; %lld runs added, %lld already"
		" there\n", argc - optind - 1, argv[optind], (long long)st.sessions_copied,
		(long long)st.sessions_duplicate, (long long)st.sessions_replaced,
		(long long)st.runs_added, (long long)st.runs_present);
	return EXIT_OK;
}
