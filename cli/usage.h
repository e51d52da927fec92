/* The command line's one option parser and help printer. Each subcommand
 * describes its options once, as a table of struct cli_option; from that
 * table come getopt_long's arguments, the help text (`smtptls CMD --help`
 * and `-h`) and the names in error messages:
 *
 *   smtptls: capture: unknown option '--x'
 *   Try 'smtptls capture --help' for more information.
 *
 * getopt's own messages are off (opterr = 0). Adding an option is one
 * table entry and one case in the command's handler. */
#ifndef SMTPTLS_CLI_USAGE_H
#define SMTPTLS_CLI_USAGE_H

#include <stdio.h>

#define CLI_OPTIONS_MAX 48 /* per command, --help included */

/* One option. At least one of long_name and short_name is set. */
struct cli_option {
	const char *long_name; /* "db" for --db, or NULL */
	int short_name;        /* 'r' for -r, or 0 */
	const char *arg;       /* the argument's name in the help ("PATH"); NULL: a flag */
	int code;              /* handed to the handler (short_name or an OPT_* code) */
	const char *help;      /* lines separated by '\n'; says the default */
};

/* One subcommand: what its help prints, in this order. */
struct cli_command {
	const char *name;        /* "capture" */
	const char *summary;     /* one line for `smtptls --help` */
	const char *synopsis;    /* lines after "usage: smtptls NAME " ('\n' separated) */
	const char *description; /* paragraph(s) */
	const struct cli_option *options; /* ended by an entry with neither name */
	const char *operands;    /* what the arguments after the options are, or NULL */
	const char *examples;    /* command lines, one a line, or NULL */
};

/* Called for each option in the order given; returns 0, or -1 after
 * printing a usage error (cli_bad_value). */
typedef int (*cli_option_fn)(void *ctx, int code, const char *arg);

enum { CLI_HELP = -2, CLI_USAGE = -1 };

/* Parses argv[1..argc) (argv[0] is the command's name): the index of the
 * first operand; CLI_HELP when -h or --help was given (the help is
 * printed on standard output); CLI_USAGE after a usage error on standard
 * error (unknown or ambiguous option, missing or unwanted argument, or
 * the handler refused a value). */
int cli_parse(const struct cli_command *c, int argc, char **argv, cli_option_fn fn, void *ctx);

/* The command's help. */
void cli_help(const struct cli_command *c, FILE *out);

/* "smtptls: NAME: message" and the hint, on standard error. c NULL: no
 * command ("smtptls: message", "Try 'smtptls --help' ..."). */
__attribute__((format(printf, 2, 3)))
void cli_usage_error(const struct cli_command *c, const char *fmt, ...);

/* "smtptls: NAME: --option: message" and the hint, naming the option of
 * that code as the command's table spells it. */
__attribute__((format(printf, 3, 4)))
void cli_bad_value(const struct cli_command *c, int code, const char *fmt, ...);

/* A number within [min, max] (integer only when integer is set): 0, or -1
 * after "--option: invalid number 'ARG' (MIN-MAX)". */
int cli_number(const struct cli_command *c, int code, const char *arg, double min, double max,
	       int integer, double *out);

/* The option of that code as users type it ("--threads" or "-r"). */
const char *cli_option_name(const struct cli_command *c, int code, char *buf, size_t cap);

#endif
