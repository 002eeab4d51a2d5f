/* safety.h: the one safety policy. Which outcomes of a request prove that the server did
 * nothing with it (so a create may be sent again, and its journal intent dropped), and
 * which are worth another try at all. The engine's retries (retry.c), the journal's
 * "definite" decision and the errors' `retryable` all read this table (Lua through
 * core.safety), so they cannot disagree. */
#ifndef SEEDANCE_SAFETY_H
#define SEEDANCE_SAFETY_H

/* An answered request (status > 0), or one that failed in transport (status 0) having been
 * sent (`sent`) or not. */
int sd_safety_nothing_done(long status, int sent);
/* A status that another try may get past: the server is busy, limiting, or unwell. */
int sd_safety_worth_retry(long status);

#endif
