/* The floor: an empty pcap_loop over a capture file, the least any
 * libpcap-based reader must spend. Prints the packet count. */
#include <pcap/pcap.h>
#include <stdio.h>

static void nothing(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
	(void)h, (void)data;
	(*(unsigned long long *)(void *)user)++;
}

int main(int argc, char **argv)
{
	char eb[PCAP_ERRBUF_SIZE];
	unsigned long long n = 0;
	if (argc != 2) {
		fprintf(stderr, "usage: floor FILE\n");
		return 2;
	}
	pcap_t *p = pcap_open_offline(argv[1], eb);
	if (!p) {
		fprintf(stderr, "floor: %s\n", eb);
		return 1;
	}
	if (pcap_loop(p, -1, nothing, (u_char *)&n) < 0) {
		fprintf(stderr, "floor: %s\n", pcap_geterr(p));
		return 1;
	}
	pcap_close(p);
	printf("%llu packets\n", n);
	return 0;
}
