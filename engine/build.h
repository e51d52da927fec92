/* Record building: a finished connection's flow facts and session
 * dissection become one session record, with the addresses written out
 * (or anonymised, with the address literals the peers wrote). */
#ifndef SMTPTLS_BUILD_H
#define SMTPTLS_BUILD_H

#include "../capture/flow.h"
#include "../common/record.h"
#include "../dissect/session.h"
#include "anon.h"

/* Fills r from the flow and the session; anon NULL keeps addresses. */
void build_record(struct session_record *r, const struct sess *s, const struct flow_info *fi,
		  enum end_reason why, struct anon *anon);

#endif
