/* The option parser and help printer of every subcommand (usage.h). */
#include "usage.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define LONG_BASE 1000 /* getopt_long's value for table entry i: LONG_BASE + i */
#define HELP_INDEX (CLI_OPTIONS_MAX - 1)
#define HELP_COLUMN 24
#define HELP_WIDTH 79 /* columns of a help line */

static const struct cli_option help_option = {"help", 'h', NULL, 'h', "print this help"};

static size_t option_count(const struct cli_command *c)
{
	size_t n = 0;
	while (n < HELP_INDEX && (c->options[n].long_name || c->options[n].short_name))
		n++;
	return n;
}

/* The option with getopt's value v (a short letter or LONG_BASE + i). */
static const struct cli_option *option_by_value(const struct cli_command *c, int v)
{
	size_t n = option_count(c);
	if (v == LONG_BASE + HELP_INDEX || v == 'h')
		return &help_option;
	if (v >= LONG_BASE && (size_t)(v - LONG_BASE) < n)
		return &c->options[v - LONG_BASE];
	for (size_t i = 0; i < n; i++)
		if (c->options[i].short_name && c->options[i].short_name == v)
			return &c->options[i];
	return NULL;
}

static const struct cli_option *option_by_code(const struct cli_command *c, int code)
{
	size_t n = option_count(c);
	for (size_t i = 0; i < n; i++)
		if (c->options[i].code == code)
			return &c->options[i];
	return NULL;
}

/* getopt_long's arguments from the table: ":" first, so that a missing
 * argument is told apart from an unknown option. */
static void getopt_tables(const struct cli_command *c, struct option *longs, char *shorts)
{
	size_t n = option_count(c), nl = 0, ns = 0;
	shorts[ns++] = ':';
	shorts[ns++] = 'h';
	for (size_t i = 0; i < n; i++) {
		const struct cli_option *o = &c->options[i];
		if (o->short_name) {
			shorts[ns++] = (char)o->short_name;
			if (o->arg)
				shorts[ns++] = ':';
		}
		if (o->long_name)
			longs[nl++] = (struct option){o->long_name, o->arg ? required_argument
									 : no_argument,
						      NULL, LONG_BASE + (int)i};
	}
	longs[nl++] = (struct option){"help", no_argument, NULL, LONG_BASE + HELP_INDEX};
	longs[nl] = (struct option){NULL, 0, NULL, 0};
	shorts[ns] = '\0';
}

/* ---- messages ------------------------------------------------------------ */

static void vusage(const struct cli_command *c, const char *opt, const char *fmt, va_list ap)
{
	fputs("smtptls: ", stderr);
	if (c)
		fprintf(stderr, "%s: ", c->name);
	if (opt)
		fprintf(stderr, "%s: ", opt);
	vfprintf(stderr, fmt, ap);
	if (c)
		fprintf(stderr, "\nTry 'smtptls %s --help' for more information.\n", c->name);
	else
		fputs("\nTry 'smtptls --help' for more information.\n", stderr);
}

void cli_usage_error(const struct cli_command *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vusage(c, NULL, fmt, ap);
	va_end(ap);
}

const char *cli_option_name(const struct cli_command *c, int code, char *buf, size_t cap)
{
	const struct cli_option *o = option_by_code(c, code);
	if (!o)
		snprintf(buf, cap, "option %d", code);
	else if (o->long_name)
		snprintf(buf, cap, "--%s", o->long_name);
	else
		snprintf(buf, cap, "-%c", o->short_name);
	return buf;
}

void cli_bad_value(const struct cli_command *c, int code, const char *fmt, ...)
{
	char name[64];
	va_list ap;
	va_start(ap, fmt);
	vusage(c, cli_option_name(c, code, name, sizeof name), fmt, ap);
	va_end(ap);
}

int cli_number(const struct cli_command *c, int code, const char *arg, double min, double max,
	       int integer, double *out)
{
	char *end;
	double v;
	errno = 0;
	v = integer ? (double)strtoll(arg, &end, 10) : strtod(arg, &end);
	if (errno || end == arg || *end || !(v >= min && v <= max)) {
		cli_bad_value(c, code, "invalid number '%s' (%.15g-%.15g)", arg, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

/* ---- what getopt refused ------------------------------------------------- */

/* The long options that name (cut at '=') is a prefix of, as "--a, --b";
 * how many there are, an exact match counting alone. */
static int long_matches(const struct cli_command *c, const char *name, size_t len, char *list,
			size_t cap, const struct cli_option **one)
{
	size_t n = option_count(c), used = 0;
	int count = 0;
	list[0] = '\0';
	for (size_t i = 0; i <= n; i++) {
		const struct cli_option *o = i < n ? &c->options[i] : &help_option;
		if (!o->long_name || strncmp(o->long_name, name, len) != 0)
			continue;
		if (strlen(o->long_name) == len) {
			*one = o;
			return 1;
		}
		*one = o;
		count++;
		if (used < cap)
			used += (size_t)snprintf(list + used, cap - used, "%s--%s", used ? ", " : "",
						 o->long_name);
	}
	return count;
}

static void long_error(const struct cli_command *c, int opt, const char *word)
{
	const char *name = word + 2, *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	const struct cli_option *o = NULL;
	char list[512];
	int n = long_matches(c, name, len, list, sizeof list, &o);
	if (n == 1 && opt == ':')
		cli_usage_error(c, "option '--%s' needs an argument (%s)", o->long_name, o->arg);
	else if (n == 1 && eq && !o->arg)
		cli_usage_error(c, "option '--%s' takes no argument", o->long_name);
	else if (n > 1)
		cli_usage_error(c, "ambiguous option '--%.*s' (%s)", (int)len, name, list);
	else
		cli_usage_error(c, "unknown option '--%.*s'", (int)len, name);
}

/* Explains what getopt_long refused (it returned '?' or ':'); before is
 * optind before that call: a long option advances it past itself. */
static void getopt_error(const struct cli_command *c, int opt, char **argv, int before)
{
	if (optind > before && strncmp(argv[optind - 1], "--", 2) == 0) {
		long_error(c, opt, argv[optind - 1]);
		return;
	}
	const struct cli_option *o = option_by_value(c, optopt);
	if (opt == ':' && o)
		cli_usage_error(c, "option '-%c' needs an argument (%s)", optopt, o->arg);
	else if (optopt > ' ' && optopt < 127)
		cli_usage_error(c, "unknown option '-%c'", optopt);
	else
		cli_usage_error(c, "unknown option '%s'", argv[optind - 1]);
}

/* ---- parsing ------------------------------------------------------------- */

int cli_parse(const struct cli_command *c, int argc, char **argv, cli_option_fn fn, void *ctx)
{
	struct option longs[CLI_OPTIONS_MAX + 1];
	char shorts[3 * CLI_OPTIONS_MAX + 4];
	int opt, before;
	getopt_tables(c, longs, shorts);
	opterr = 0;
	optind = 0; /* glibc: start afresh, argv[0] is the command's name */
	for (;;) {
		before = optind;
		opt = getopt_long(argc, argv, shorts, longs, NULL);
		if (opt == -1)
			return optind;
		if (opt == '?' || opt == ':') {
			getopt_error(c, opt, argv, before);
			return CLI_USAGE;
		}
		const struct cli_option *o = option_by_value(c, opt);
		if (o == &help_option) {
			cli_help(c, stdout);
			return CLI_HELP;
		}
		if (!o || fn(ctx, o->code, optarg) < 0)
			return CLI_USAGE;
	}
}

/* ---- help ---------------------------------------------------------------- */

/* The length of text's next line: up to '\n', or the last space that keeps
 * it within width columns (width 0: no limit; a longer word stays whole). */
static size_t line_length(const char *text, size_t width)
{
	size_t len = strcspn(text, "\n"), cut = 0;
	if (width == 0 || len <= width)
		return len;
	for (size_t i = 0; i <= width; i++)
		if (text[i] == ' ')
			cut = i;
	if (cut == 0)
		while (cut < len && text[cut] != ' ')
			cut++;
	return cut;
}

/* Prints text's lines, wrapped at width, each after indent (the first
 * after first). */
static void print_lines(FILE *out, const char *first, const char *indent, const char *text,
			size_t width)
{
	const char *lead = first;
	while (*text) {
		size_t len = line_length(text, width);
		fprintf(out, "%s%.*s\n", len ? lead : "", (int)len, text);
		lead = indent;
		text += len;
		if (*text == '\n' || *text == ' ')
			text++;
	}
}

static void print_option(FILE *out, const struct cli_option *o)
{
	char left[96], pad[HELP_COLUMN + 1];
	const char *arg = o->arg ? o->arg : "";
	const char *sp = o->arg ? " " : "";
	if (o->short_name && o->long_name)
		snprintf(left, sizeof left, "  -%c, --%s%s%s", o->short_name, o->long_name, sp, arg);
	else if (o->short_name)
		snprintf(left, sizeof left, "  -%c%s%s", o->short_name, sp, arg);
	else
		snprintf(left, sizeof left, "      --%s%s%s", o->long_name, sp, arg);
	memset(pad, ' ', HELP_COLUMN);
	pad[HELP_COLUMN] = '\0';
	if (strlen(left) + 2 > HELP_COLUMN) {
		fprintf(out, "%s\n", left);
		print_lines(out, pad, pad, o->help, HELP_WIDTH - HELP_COLUMN);
		return;
	}
	fputs(left, out);
	print_lines(out, pad + strlen(left), pad, o->help, HELP_WIDTH - HELP_COLUMN);
}

/* "usage: smtptls NAME" before each form of the synopsis; a line starting
 * with a space goes on the form above it, under its first argument. */
static void print_synopsis(FILE *out, const struct cli_command *c)
{
	const char *p = c->synopsis;
	int first = 1, width = (int)strlen(c->name) + 16;
	while (*p) {
		size_t len = strcspn(p, "\n");
		if (*p == ' ')
			fprintf(out, "%*s%.*s\n", width, "", (int)len - 1, p + 1);
		else
			fprintf(out, "%s smtptls %s %.*s\n", first ? "usage:" : "      ", c->name,
				(int)len, p);
		first = 0;
		p += len + (p[len] == '\n');
	}
}

void cli_help(const struct cli_command *c, FILE *out)
{
	size_t n = option_count(c);
	print_synopsis(out, c);
	fputc('\n', out);
	print_lines(out, "", "", c->description, HELP_WIDTH);
	if (c->operands) {
		fputc('\n', out);
		print_lines(out, "", "", c->operands, HELP_WIDTH);
	}
	fputs("\nOptions:\n", out);
	for (size_t i = 0; i < n; i++)
		print_option(out, &c->options[i]);
	print_option(out, &help_option);
	if (c->examples) {
		fputs("\nExamples:\n", out);
		print_lines(out, "  ", "  ", c->examples, 0);
	}
}
