#include "crypto.h"

#include <gcrypt.h>
#include <pthread.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int ready;

static void init(void)
{
	if (!gcry_check_version(NULL))
		return;
	/* Nothing here needs secure memory: it hashes packets and files. */
	gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
	gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	ready = 1;
}

int crypto_ready(void)
{
	pthread_once(&once, init);
	return ready;
}
