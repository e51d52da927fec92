#include <stdio.h>
#include <string.h>

#include "commands.h"

static const char usage_text[] =
	"usage: smtptls capture (-r FILE | -i IFACE) [--db PATH] [--ports SPEC] [options]\n"
	"                       [BPF EXPRESSION...]\n"
	"       smtptls report [--db PATH] [--format text|csv|json|html] [--since T]\n"
	"                      [--until T] [--by hour|day|week] [--port P]\n"
	"                      [--server ADDR] [--top N]\n"
	"       smtptls export [--db PATH] [--format jsonl|csv] [--since T] [--until T]\n"
	"                      [--port P] [--server ADDR]\n"
	"       smtptls merge [--tolerance SEC] OUT.db IN.db...\n"
	"       smtptls --help | --version\n"
	"\n"
	"capture  follows SMTP sessions in a capture file (pcap or pcapng) or on a live\n"
	"         interface (until SIGINT/SIGTERM) and appends one row per session to the\n"
	"         database.\n"
	"  -r FILE              read packets from FILE ('-' for standard input)\n"
	"  -i IFACE             capture live on IFACE\n"
	"  --db PATH            database (default smtptls.db)\n"
	"  --ports SPEC         ports to follow: '2525/smtp,2465/tls' adds, '-25' removes,\n"
	"                       a leading '=' replaces the defaults (25/smtp,465/tls,587/smtp)\n"
	"  --classify           also follow SMTP on other ports, found by nDPI\n"
	"  --max-flows N        connections tracked at once (default 1000000)\n"
	"  --max-buffer MIB     bytes held for TCP reassembly, all flows (default 256)\n"
	"  --idle-timeout SEC   end a connection after SEC seconds without packets (300)\n"
	"  --snaplen N          live: bytes kept per packet (default 262144)\n"
	"  --buffer-size MIB    live: kernel capture buffer (default 64)\n"
	"  --threads N          N worker threads, each owning a share of the connections\n"
	"  --anonymize KEYFILE  store addresses mapped by a keyed prefix-preserving\n"
	"                       scheme (Crypto-PAn); KEYFILE holds 32 bytes or 64 hex\n"
	"                       digits: head -c 32 /dev/urandom > KEYFILE\n"
	"  --retain DAYS        delete session rows that started more than DAYS days\n"
	"                       before the newest packet (file) or now (live), in\n"
	"                       batches as rows are written; reports keep counting them\n"
	"  -Z USER              drop privileges to USER once the interface and the\n"
	"                       database are open\n"
	"  -q, --quiet          no progress bar, no summary line on standard error\n"
	"\n"
	"report   prints the encrypted share of the sessions in the database and what\n"
	"         stands behind it: per port, TLS versions and ciphers, STARTTLS, the\n"
	"         servers worst first, downgrade evidence, and a time series.\n"
	"  --db PATH            database, opened read-only (default smtptls.db)\n"
	"  --format F           text (default), csv, json or html (a self-contained page)\n"
	"  --since T, --until T sessions that started from T, and before T: ISO 8601\n"
	"                       (2026-11-22, 2026-11-22T21:48:00Z, ...+02:00; UTC when no\n"
	"                       offset is given) or epoch seconds\n"
	"  --by hour|day|week   time-series buckets, UTC (default: from the time span)\n"
	"  --port P[,P...]      sessions to these server ports (repeatable)\n"
	"  --server ADDR        sessions to this server address or banner name\n"
	"  --top N              rows per ranked list (text and html: 25; csv and json:\n"
	"                       100); 0 lists all\n"
	"\n"
	"export   writes the session rows that pass the same filters, oldest first:\n"
	"         --format jsonl (default; one JSON object per line) or csv.\n"
	"\n"
	"merge    adds the sessions and runs of each IN.db to OUT.db (created if absent).\n"
	"         A session seen by several sensors is kept once: same client and server\n"
	"         address and port, starts at most SEC seconds apart (--tolerance,\n"
	"         default 1). Where runs came from is kept in the table run_origins.\n";

void print_usage(FILE *out)
{
	fputs(usage_text, out);
}

void usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "smtptls: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'smtptls --help'.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		print_usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		print_usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("smtptls %s\n", SMTPTLS_VERSION);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "capture"))
		return cmd_capture(argc - 1, argv + 1);
	if (!strcmp(argv[1], "report"))
		return cmd_report(argc - 1, argv + 1);
	if (!strcmp(argv[1], "export"))
		return cmd_export(argc - 1, argv + 1);
	if (!strcmp(argv[1], "merge"))
		return cmd_merge(argc - 1, argv + 1);
	usage_error("unknown command '%s'", argv[1]);
	return EXIT_USAGE;
}
