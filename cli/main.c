#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "../common/crypto.h"

static const struct {
	const struct cli_command *c;
	int (*run)(int argc, char **argv);
} commands[] = {
	{&capture_command, cmd_capture},
	{&report_command, cmd_report},
	{&export_command, cmd_export},
	{&merge_command, cmd_merge},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void print_help(FILE *out)
{
	fputs("usage: smtptls COMMAND [options] [arguments]\n"
	      "       smtptls help COMMAND\n"
	      "       smtptls --help | --version\n"
	      "\n"
	      "smtptls follows the SMTP sessions of a capture file or a live interface,\n"
	      "works out whether and how each was encrypted, stores one row per session\n"
	      "in SQLite, and reports the encrypted share and everything behind it.\n"
	      "\n"
	      "Commands:\n", out);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-10s%s\n", commands[i].c->name, commands[i].c->summary);
	fputs("  help      print a command's help (smtptls help capture)\n"
	      "\n"
	      "Options:\n"
	      "  -h, --help            print this help\n"
	      "      --version         print the version\n"
	      "\n"
	      "Run 'smtptls COMMAND --help' for a command's options and examples.\n"
	      "Exit status: 0 success, 1 runtime error (a file, interface or database\n"
	      "could not be used), 2 usage error (a bad option or argument).\n", out);
}

static int find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].c->name, name))
			return (int)i;
	return -1;
}

/* smtptls help [COMMAND] */
static int help(int argc, char **argv)
{
	int i;
	if (argc < 3) {
		print_help(stdout);
		return EXIT_OK;
	}
	if ((i = find_command(argv[2])) < 0) {
		cli_usage_error(NULL, "help: unknown command '%s'", argv[2]);
		return EXIT_USAGE;
	}
	cli_help(commands[i].c, stdout);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	int i;
	crypto_ready(); /* before any thread: capture's threads hash, report's do not */
	if (argc < 2) {
		print_help(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help"))
		return help(argc, argv);
	if (!strcmp(argv[1], "--version")) {
		printf("smtptls %s\n", SMTPTLS_VERSION);
		return EXIT_OK;
	}
	if ((i = find_command(argv[1])) >= 0)
		return commands[i].run(argc - 1, argv + 1);
	if (argv[1][0] == '-')
		cli_usage_error(NULL, "unknown option '%s'", argv[1]);
	else
		cli_usage_error(NULL, "unknown command '%s'", argv[1]);
	return EXIT_USAGE;
}
