/* The subcommands of the smtptls binary and what they share. */
#ifndef SMTPTLS_COMMANDS_H
#define SMTPTLS_COMMANDS_H

#include <stdio.h>

#ifndef SMTPTLS_VERSION
#define SMTPTLS_VERSION "0.0.0"
#endif

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

/* Long-option codes shared by the subcommands. */
enum { OPT_DB = 256, OPT_HELP, OPT_PORTS, OPT_CLASSIFY, OPT_MAX_FLOWS, OPT_MAX_BUFFER,
       OPT_IDLE, OPT_SNAPLEN, OPT_BUFSIZE, OPT_THREADS, OPT_ANONYMIZE, OPT_RETAIN,
       OPT_FIRST_FREE };

/* Option codes of report, export and merge (unique within each command). */
enum { OPT_FORMAT = OPT_FIRST_FREE + 64, OPT_SINCE, OPT_UNTIL, OPT_BY, OPT_PORT, OPT_SERVER,
       OPT_TOP, OPT_TOLERANCE };

/* Each takes the arguments after the command name (argv[0] is the name)
 * and returns the exit status. */
int cmd_capture(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_merge(int argc, char **argv);

struct report_filter;
/* The filter options of report and export (--since, --until, --port,
 * --server): 0 when opt was one and arg is valid, -1 after a usage error
 * message, 1 when opt is not a filter option. */
int filter_option(int opt, const char *arg, struct report_filter *f);

/* Prints "smtptls: " + the formatted message + a hint to stderr. */
void usage_error(const char *fmt, const char *arg);
/* The full --help text. */
void print_usage(FILE *out);

#endif
