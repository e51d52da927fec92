/* libFuzzer target: the DER certificate reader and the name matching, and
 * the hello parser with the fingerprints formatted from it (the input used
 * as both). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../dissect/fingerprint.h"
#include "../dissect/hello.h"
#include "../dissect/x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct x509_cert c;
	char fp[256];
	uint8_t *copy = malloc(size ? size : 1); /* exact size: ASan sees over-reads */
	memcpy(copy, data, size);
	x509_init(&c);
	if (x509_parse(copy, size, &c) == 0) {
		x509_name_match(&c, "mx.example.com");
		x509_name_match(&c, "a.b.example.com.");
		if (strnlen(c.rec.sans, sizeof c.rec.sans) == sizeof c.rec.sans)
			abort();
	}
	struct tls_hello h;
	char ja3[64], ja4[64];
	int rc3, rc4;
	if (hello_parse(copy, size, HELLO_CLIENT, &h) == 0) {
		fp_client(&h, ja3, sizeof ja3, &rc3, ja4, sizeof ja4, &rc4);
		if (fp_ja3(&h, fp, sizeof fp) != rc3 || strcmp(fp, ja3) != 0 ||
		    fp_ja4(&h, fp, sizeof fp) != rc4 || strcmp(fp, ja4) != 0)
			abort(); /* the remembered pair is always the computed one */
	}
	if (hello_parse(copy, size, HELLO_SERVER, &h) == 0)
		fp_ja3s(&h, fp, sizeof fp);
	free(copy);
	return 0;
}
