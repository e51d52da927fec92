/* Record building: a finished connection's flow facts and session
 * dissection become one session record, with the addresses written out
 * (or anonymised, with the address literals the peers wrote). */
#ifndef SMTPTLS_BUILD_H
#define SMTPTLS_BUILD_H

#include "../capture/flow.h"
#include "../common/record.h"
#include "../dissect/pdns.h"
#include "../dissect/session.h"
#include "anon.h"

#define BUILD_MX_PORT 25 /* the DNS columns are about relay sessions: MX delivery */

/* Fills r from the flow and the session; anon NULL keeps addresses. */
void build_record(struct session_record *r, const struct sess *s, const struct flow_info *fi,
		  enum end_reason why, struct anon *anon);

/* 1 when the session's DNS columns come from the table: a session to
 * port 25 (a sender reaches a submission server by its name, not through
 * an MX; on other ports every DNS column stays NULL). */
int build_wants_dns(const struct flow_info *fi);

/* The DNS columns of issue 17 (README.md), from the passive-DNS table as
 * it was at the session's start, and the session's own facts (after
 * build_record): now is the packet time the record is built at. */
void build_dns(struct session_record *r, const struct sess *s, const struct flow_info *fi,
	       struct pdns *t, double now);

#endif
