/* The tables of a ClickHouse database URL (internal to store/): the
 * database and the tables of chschema.h, created where missing. On a
 * cluster (cluster=NAME) the shards come from the entry server's
 * system.clusters; each gets the local tables and the Distributed ones,
 * created on its host directly (ON CLUSTER needs ZooKeeper). A shard's
 * HTTP endpoint is the entry server for the local one, else the next of
 * the URL's shards=, else its address with the URL's port. */
#ifndef SMTPTLS_CHDDL_H
#define SMTPTLS_CHDDL_H

#include <stddef.h>

#include "chttp.h"
#include "churl.h"

/* CH_OK, or a failure kind (chttp.h) with a message naming the URL. */
int chddl_setup(struct chttp *http, const struct ch_url *url, char *err, size_t errlen);

#endif
