/* safety.c: the one safety policy (see safety.h), as a table.
 * A 4xx is the server refusing the request: nothing was done, except 408, where the server
 * gave up on reading it (what it read may have been acted on). A 5xx or a transport failure
 * after sending says nothing about what happened: a gateway's 502/503/504 can come after
 * the service behind it created the asset. 429 and 455 are the services' "not now": they
 * prove nothing was done and are worth a wait. A dialect adds its own (Sunra's 403 rate
 * limit) through a request's retry_on. */
#include <stddef.h>

#include "safety.h"

static const struct {
    long status;
    unsigned nothing_done : 1, worth_retry : 1;
} TABLE[] = {
    {408, 0, 1}, {429, 1, 1}, {455, 1, 1}, {500, 0, 1}, {502, 0, 1}, {503, 0, 1}, {504, 0, 1},
};

int sd_safety_nothing_done(long status, int sent)
{
    size_t i;
    if (status <= 0) return !sent;
    for (i = 0; i < sizeof TABLE / sizeof TABLE[0]; i++)
        if (TABLE[i].status == status) return TABLE[i].nothing_done;
    return status >= 400 && status < 500;
}

int sd_safety_worth_retry(long status)
{
    size_t i;
    for (i = 0; i < sizeof TABLE / sizeof TABLE[0]; i++)
        if (TABLE[i].status == status) return TABLE[i].worth_retry;
    return 0;
}
