/* retry.c: whether and when to try a request again.
 * Policy (reliability.md, the table in safety.c): connection failures always; timeouts and
 * resets only when the request is safe to repeat or provably never sent; the statuses worth
 * another try on safe requests; on a create only those that also prove the server did
 * nothing (or a dialect's retry_on).
 * The server's Retry-After wins over our backoff; one longer than max_retry_after ends
 * the request so the caller can park it instead of us sleeping. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>

#include "clock.h"
#include "engine.h"
#include "safety.h"


/* xorshift64*: per-engine, seedable so tests can replay jitter. */
double sd_rand01(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return (double)((x * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

const char *sd_header_find(const char *h, size_t len, const char *name, size_t *vlen)
{
    size_t nlen = strlen(name), i = 0;
    while (i < len) {
        const char *line = h + i, *eol = memchr(line, '\n', len - i);
        size_t llen = eol ? (size_t)(eol - line) : len - i;
        if (llen > nlen && line[nlen] == ':' && strncasecmp(line, name, nlen) == 0) {
            const char *v = line + nlen + 1, *end = line + llen;
            while (v < end && (*v == ' ' || *v == '\t')) v++;
            while (end > v && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t')) end--;
            *vlen = (size_t)(end - v);
            return v;
        }
        i += llen + 1;
    }
    return NULL;
}

/* Seconds from a numeric value; -1 if it is not a plain non-negative number. */
static double parse_number(const char *v, size_t n)
{
    char tmp[64], *end;
    double d;
    if (n == 0 || n >= sizeof tmp) return -1;
    memcpy(tmp, v, n);
    tmp[n] = '\0';
    if (!isdigit((unsigned char)tmp[0])) return -1;
    d = strtod(tmp, &end);
    if (*end != '\0' || !(d >= 0) || d > 1e12) return -1;
    return d;
}

double sd_retry_after(const char *h, size_t len, double now_wall)
{
    size_t n;
    const char *v = sd_header_find(h, len, "retry-after-ms", &n);
    double d;
    if (v && (d = parse_number(v, n)) >= 0) return d / 1000.0;
    v = sd_header_find(h, len, "retry-after", &n);
    if (v == NULL) return -1;
    if ((d = parse_number(v, n)) >= 0) return d;
    {
        char tmp[128];
        time_t t;
        if (n >= sizeof tmp) return -1;
        memcpy(tmp, v, n);
        tmp[n] = '\0';
        t = curl_getdate(tmp, NULL);
        if (t == (time_t)-1) return -1;
        d = (double)t - now_wall;
        return d > 0 ? d : 0;
    }
}

static int in_list(int status, const int *list, int n)
{
    int i;
    for (i = 0; i < n; i++)
        if (list[i] == status) return 1;
    return 0;
}

static int should_retry_header(const sd_request *r)
{
    size_t n;
    const char *v = sd_header_find(r->resp_headers.p, r->resp_headers.len, "x-should-retry", &n);
    if (v == NULL) return -1;
    if (n == 4 && strncasecmp(v, "true", 4) == 0) return 1;
    if (n == 5 && strncasecmp(v, "false", 5) == 0) return 0;
    return -1;
}

double sd_retry_delay(sd_engine *e, sd_request *r, double now)
{
    int retryable = 0, hint;
    double delay, cap;
    switch (r->err) {
    case SD_ERR_CONNECT: retryable = 1; break;
    case SD_ERR_TIMEOUT:
    case SD_ERR_NETWORK:
    case SD_ERR_TLS: retryable = r->idempotent || sd_safety_nothing_done(0, r->sent); break;
    case SD_ERR_NONE:
        r->retry_after = sd_retry_after(r->resp_headers.p, r->resp_headers.len, sd_walltime());
        hint = should_retry_header(r);
        if (hint == 0) return -1;
        /* a dialect's retry_on names statuses that are both: its own "not now" */
        retryable = in_list((int)r->status, r->retry_on, r->n_retry_on) ||
                    (sd_safety_worth_retry(r->status) && (r->idempotent || sd_safety_nothing_done(r->status, 1)));
        if (hint == 1 && r->status >= 400) retryable = 1;
        break;
    default: return -1;
    }
    if (!retryable || r->attempts > r->max_retries) return -1;
    if (r->retry_after >= 0) {
        if (r->retry_after > e->cfg.max_retry_after) return -1;
        delay = r->retry_after;
    } else {
        /* full jitter: U(0, min(max, base * 2^(n-1))) spreads a thundering herd evenly */
        cap = e->cfg.backoff_base * pow(2.0, (double)(r->attempts - 1));
        if (cap > e->cfg.backoff_max) cap = e->cfg.backoff_max;
        delay = sd_rand01(&e->rng) * cap;
    }
    if (r->deadline > 0 && now + delay >= r->deadline) return -1;
    return delay;
}
