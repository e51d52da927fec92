/* Judgements for people: which rows of the report are good news and which
 * are bad, and the thresholds that colour the headline. Only the
 * renderers for people use them (HTML colours); the model, JSON and CSV
 * carry the numbers alone. Judgements that the TLS registry makes (a
 * version's age, a suite's weak / forward-secret / AEAD flags) come from
 * the registry, not from a copy here. */
#ifndef SMTPTLS_RATING_H
#define SMTPTLS_RATING_H

#include "rtable.h"

enum rating {
	RATE_NONE = 0, /* no judgement: neutral */
	RATE_GOOD,     /* modern, encrypted, established */
	RATE_OK,       /* acceptable, not the best (TLS 1.2, forward secret CBC) */
	RATE_WARN,     /* middling: worth a look */
	RATE_BAD,      /* weak, legacy, failed, in clear */
};

/* Headline thresholds, in percent. A share that should be high (encrypted,
 * forward secret) is good from RATING_GOOD_MIN, middling from
 * RATING_WARN_MIN, bad below. A share that should be zero (mail in clear,
 * weak suites) is good at zero, middling below RATING_BAD_FROM, bad from
 * there. */
#define RATING_GOOD_MIN 95.0
#define RATING_WARN_MIN 70.0
#define RATING_BAD_FROM 1.0

/* "good", "ok", "warn", "bad" or "none": the CSS class of a rating. */
const char *rating_name(enum rating r);

/* The judgement of row r of table t: from the table below (table id and
 * row key), the registry (versions, cipher suites) or the row's own cells
 * (servers, key sizes). A row with no sessions gets none: there is
 * nothing to colour. */
enum rating rating_row(const struct rtable *t, size_t r);

/* A share that should be high: pct NULL (no denominator) gives none. */
enum rating rating_high(const struct rcell *pct);
/* A share that should be zero: part is its count, pct the share. */
enum rating rating_zero(const struct rcell *part, const struct rcell *pct);

#endif
