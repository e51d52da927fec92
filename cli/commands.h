/* The subcommands of the smtptls binary and what they share. */
#ifndef SMTPTLS_COMMANDS_H
#define SMTPTLS_COMMANDS_H

#include <stdio.h>

#include "usage.h"

#ifndef SMTPTLS_VERSION
#define SMTPTLS_VERSION "0.0.0"
#endif

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

/* Codes of the options without a short letter (unique within a command). */
enum { OPT_DB = 256, OPT_PORTS, OPT_CLASSIFY, OPT_MAX_FLOWS, OPT_MAX_BUFFER, OPT_IDLE,
       OPT_SNAPLEN, OPT_BUFSIZE, OPT_THREADS, OPT_ANONYMIZE, OPT_FORMAT, OPT_SINCE,
       OPT_UNTIL, OPT_BY, OPT_PORT, OPT_SERVER, OPT_TOP, OPT_TOLERANCE, OPT_NO_DNS,
       OPT_DNS_WINDOW, OPT_DNS_MEMORY, OPT_DOMAIN, OPT_ORG, OPT_CONTACT, OPT_SENSOR, OPT_FIRST_FREE };

/* Each takes the arguments after "smtptls" (argv[0] is the command's
 * name) and returns the exit status. */
int cmd_capture(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_merge(int argc, char **argv);

/* Their descriptions (options, help), for `smtptls help CMD` too. */
extern const struct cli_command capture_command, report_command, export_command,
	merge_command;

/* The database option and the filters report and export share, as table
 * entries (commands.h keeps their help in one place). */
#define CLI_OPTION_DB(what)                                                            \
	{"db", 0, "PATH", OPT_DB, what " (default: smtptls.db)"}
#define CLI_OPTIONS_FILTER                                                             \
	{"since", 0, "T", OPT_SINCE,                                                   \
	 "sessions that started at T or later: ISO 8601 (2026-11-22, "                 \
	 "2026-11-22T21:48:00Z, ...+02:00; UTC without an offset) or epoch seconds "   \
	 "(default: from the first)"},                                                 \
	{"until", 0, "T", OPT_UNTIL, "sessions that started before T (default: all)"},  \
	{"port", 0, "P[,P...]", OPT_PORT,                                              \
	 "sessions to these server ports (repeatable, at most 16; default: all)"},     \
	{"server", 0, "ADDR", OPT_SERVER,                                              \
	 "sessions to this server address or banner name (default: all)"},             \
	{"sensor", 0, "NAME", OPT_SENSOR,                                              \
	 "sessions seen by this sensor (capture --sensor; default: all)"}

struct report_filter;
/* A filter option of report and export (--since, --until, --port,
 * --server, --sensor): 0 when code was one and arg is valid, -1 after a usage error
 * naming the option, 1 when code is not a filter option. */
int filter_option(const struct cli_command *c, int code, const char *arg,
		  struct report_filter *f);

#endif
