#include <stdio.h>

#include "../store/merge.h"
#include "commands.h"

static const struct cli_option merge_options[] = {
	{"tolerance", 0, "SEC", OPT_TOLERANCE,
	 "sessions of two sensors that start at most SEC seconds apart are one (0-3600, "
	 "default: 1)"},
	{NULL, 0, NULL, 0, NULL},
};

const struct cli_command merge_command = {
	.name = "merge",
	.summary = "merge the databases of several sensors into one",
	.synopsis = "[--tolerance SEC] OUT.db IN.db...",
	.description =
		"Adds the sessions and runs of each IN.db to OUT.db (created if absent). A session "
		"seen by several sensors is kept once: the same client and server address and "
		"port, starting at most SEC seconds apart; the more complete row stays. Where each "
		"run came from is kept in the table run_origins.\n"
		"\n"
		"The merge is written to a temporary file beside OUT.db, which replaces OUT.db only "
		"when everything succeeded: a failed merge leaves OUT.db as it was, or absent. The "
		"inputs are only read.",
	.options = merge_options,
	.examples = "smtptls merge all.db sensor-a.db sensor-b.db\n"
		    "smtptls merge --tolerance 2 all.db sensor-*.db",
};

static int merge_option(void *ctx, int code, const char *arg)
{
	return cli_number(&merge_command, code, arg, 0, 3600, 0, ctx);
}

int cmd_merge(int argc, char **argv)
{
	double tolerance = MERGE_TOLERANCE_DEFAULT;
	struct merge_stats st;
	char err[1024];
	int first = cli_parse(&merge_command, argc, argv, merge_option, &tolerance);
	if (first < 0)
		return first == CLI_HELP ? EXIT_OK : EXIT_USAGE;
	if (argc - first < 2) {
		cli_usage_error(&merge_command, "%s", argc == first ? "needs OUT.db and IN.db"
								   : "needs at least one IN.db");
		return EXIT_USAGE;
	}
	if (store_merge(argv[first], (const char *const *)argv + first + 1,
			 (size_t)(argc - first - 1), tolerance, &st, err, sizeof err) < 0) {
		fprintf(stderr, "smtptls: %s\n", err);
		return EXIT_RUNTIME;
	}
	fprintf(stderr, "smtptls: merged %d databases into %s: %lld sessions added, %lld already"
		" there, %lld replaced by a more complete row; %lld runs added, %lld already"
		" there\n", argc - first - 1, argv[first], (long long)st.sessions_copied,
		(long long)st.sessions_duplicate, (long long)st.sessions_replaced,
		(long long)st.runs_added, (long long)st.runs_present);
	return EXIT_OK;
}
