/* libFuzzer target: the DER certificate reader and the name matching, and
 * the fingerprints computed from a hello body (the input used as both). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../dissect/fingerprint.h"
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
	fp_ja3(copy, size, fp, sizeof fp);
	fp_ja3s(copy, size, fp, sizeof fp);
	fp_ja4(copy, size, fp, sizeof fp);
	free(copy);
	return 0;
}
