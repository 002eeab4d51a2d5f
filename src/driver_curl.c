/* driver_curl.c: the default driver, one curl_multi per engine.
 * Easy handles are pooled and reset between attempts; the multi keeps the connection
 * cache, so keep-alive and HTTP/2 multiplexing come from reusing it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <curl/curl.h>

#include "engine.h"

typedef struct curl_state {
    CURLM *multi;
    CURL **pool;
    int npool, cappool;
} curl_state;

/* which limit an answer broke (a write callback can only stop the transfer; this says why) */
enum { OVER_NONE, OVER_BODY, OVER_HEADERS, OVER_FILE };

/* The most response header bytes kept per attempt, and the most of an error page kept
 * in memory for a download (the page is not the video; max_body is the file's cap there). */
#define MAX_HEADERS (256u * 1024u)
#define MAX_ERROR_PAGE (1024u * 1024u)

typedef struct curl_xfer {
    CURL *easy;
    struct curl_slist *headers;
    FILE *out;
    char errbuf[CURL_ERROR_SIZE];
    int checked;
    int over;
} curl_xfer;

int sd_curl_init(sd_engine *e, char *err, size_t errlen);

int sd_curl_init(sd_engine *e, char *err, size_t errlen)
{
    static int global_done = 0;
    curl_state *cs;
    if (!global_done) {
        /* not thread-safe before 7.84; the module does it once at load time */
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            snprintf(err, errlen, "curl_global_init failed");
            return -1;
        }
        global_done = 1;
    }
    cs = calloc(1, sizeof *cs);
    if (cs == NULL || (cs->multi = curl_multi_init()) == NULL) {
        free(cs);
        snprintf(err, errlen, "curl_multi_init failed");
        return -1;
    }
    curl_multi_setopt(cs->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    curl_multi_setopt(cs->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)e->cfg.max_per_host);
    curl_multi_setopt(cs->multi, CURLMOPT_MAXCONNECTS, (long)(e->cfg.max_per_host * 4));
    e->drv_state = cs;
    return 0;
}

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    sd_request *r = ud;
    curl_xfer *x = r->driver_data;
    size_t len = size * n, limit;
    if (x->out && !x->checked) {
        long code = 0;
        x->checked = 1;
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
        if (code >= 300) {
            /* an error page is not the video: keep it as the body, leave the file alone */
            fclose(x->out);
            x->out = NULL;
        } else if (code == 200 && r->resume_from > 0) {
            /* the server ignored our Range: start the file over */
            /* append mode: once truncated, writes land at offset 0 again */
            if (fflush(x->out) != 0 || ftruncate(fileno(x->out), 0) != 0) return 0;
            if (r->expected >= 0) r->expected -= r->resume_from;
            r->resume_from = 0;
        }
    }
    if (x->out) {
        if (r->max_body > 0 && (unsigned long long)(r->resume_from + r->file_bytes) + len > r->max_body) {
            x->over = OVER_FILE;
            return 0;
        }
        if (fwrite(data, 1, len, x->out) != len) return 0;
        r->file_bytes += (long long)len;
        return len;
    }
    limit = r->file && r->max_body > MAX_ERROR_PAGE ? MAX_ERROR_PAGE : r->max_body;
    if (r->resp_body.cap == 0) {
        /* the announced size in one allocation: doubling would hold a 40 KB list page in
         * 64 KB, for every page a round has in flight */
        curl_off_t announced = -1;
        if (curl_easy_getinfo(x->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &announced) == CURLE_OK &&
            announced > 0 && (unsigned long long)announced < (size_t)-1)
            sd_buf_reserve(&r->resp_body, (size_t)announced, limit);
    }
    if (sd_buf_append(&r->resp_body, data, len, limit) != 0) {
        x->over = OVER_BODY;
        return 0;
    }
    return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
    sd_request *r = ud;
    curl_xfer *x = r->driver_data;
    size_t len = size * n;
    /* a new status line starts a new header block (redirects, 100 Continue) */
    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        sd_buf_reset(&r->resp_headers);
        r->expected = -1;
    }
    if (r->file) {
        long long a, b, total;
        if (len > 15 && strncasecmp(data, "content-range:", 14) == 0 &&
            sscanf(data + 14, " bytes %lld-%lld/%lld", &a, &b, &total) == 3)
            r->expected = total;
        else if (len > 15 && strncasecmp(data, "content-length:", 15) == 0 && r->expected < 0 &&
                 sscanf(data + 15, " %lld", &total) == 1)
            r->expected = r->resume_from + total;
    }
    if (sd_buf_append(&r->resp_headers, data, len, MAX_HEADERS) != 0) {
        x->over = OVER_HEADERS;
        return 0;
    }
    return len;
}

static long ms(double s) { return s > 0 ? (long)(s * 1000.0 + 0.5) : 0; }

/* Options every transfer of this engine shares, set once per handle: pooled handles keep
 * them (no curl_easy_reset), and each attempt sets only what is its own. */
static void configure_static(sd_engine *e, CURL *c)
{
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms(e->cfg.connect_timeout));
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, 15L);
    curl_easy_setopt(c, CURLOPT_MAXAGE_CONN, 55L);
    curl_easy_setopt(c, CURLOPT_PIPEWAIT, 1L);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, e->cfg.verify_tls ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, e->cfg.verify_tls ? 2L : 0L);
    if (e->cfg.ca_file) curl_easy_setopt(c, CURLOPT_CAINFO, e->cfg.ca_file);
    if (e->cfg.ca_path) curl_easy_setopt(c, CURLOPT_CAPATH, e->cfg.ca_path);
    if (e->cfg.user_agent) curl_easy_setopt(c, CURLOPT_USERAGENT, e->cfg.user_agent);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_UNRESTRICTED_AUTH, 0L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
}

static CURL *pool_get(sd_engine *e, curl_state *cs)
{
    CURL *c;
    if (cs->npool > 0) return cs->pool[--cs->npool];
    c = curl_easy_init();
    if (c) configure_static(e, c);
    return c;
}

static void pool_put(curl_state *cs, CURL *c)
{
    if (cs->npool == cs->cappool) {
        int cap = cs->cappool ? cs->cappool * 2 : 16;
        CURL **p = realloc(cs->pool, (size_t)cap * sizeof *p);
        if (p == NULL) {
            curl_easy_cleanup(c);
            return;
        }
        cs->pool = p;
        cs->cappool = cap;
    }
    /* the attempt's own buffers are about to be freed: the handle must not point at them */
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(c, CURLOPT_PRIVATE, NULL);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
    cs->pool[cs->npool++] = c;
}

static void xfer_free(curl_state *cs, sd_request *r, int remove)
{
    curl_xfer *x = r->driver_data;
    if (x == NULL) return;
    if (remove) curl_multi_remove_handle(cs->multi, x->easy);
    pool_put(cs, x->easy);
    curl_slist_free_all(x->headers);
    if (x->out) {
        /* the caller renames the file into place next: its bytes must be on disk first */
        fflush(x->out);
        fsync(fileno(x->out));
        fclose(x->out);
    }
    free(x);
    r->driver_data = NULL;
}


static int curl_start(sd_engine *e, sd_request *r)
{
    curl_state *cs = e->drv_state;
    curl_xfer *x = calloc(1, sizeof *x);
    CURL *c;
    int i;
    double now, left;
    if (x == NULL || (c = x->easy = pool_get(e, cs)) == NULL) {
        free(x);
        r->err = SD_ERR_INTERNAL;
        snprintf(r->errmsg, sizeof r->errmsg, "out of memory");
        return -1;
    }
    r->driver_data = x;
    for (i = 0; i < r->n_headers; i++) x->headers = curl_slist_append(x->headers, r->headers[i]);
    /* no "Expect: 100-continue" round trip before a body */
    x->headers = curl_slist_append(x->headers, "Expect:");
    if (r->file) {
        struct stat st;
        r->resume_from = (r->resume && stat(r->file, &st) == 0) ? (long long)st.st_size : 0;
        x->out = fopen(r->file, r->resume_from > 0 ? "ab" : "wb");
        if (x->out == NULL) {
            xfer_free(cs, r, 0);
            r->err = SD_ERR_FILE;
            snprintf(r->errmsg, sizeof r->errmsg, "cannot open the download file for writing");
            return -1;
        }
        curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)r->resume_from);
        /* a download may take long: bound it by stalls, not by total time */
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 30L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 0L);
    } else {
        curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)0);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 0L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 0L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms(r->timeout));
    }
    r->file_bytes = 0;
    now = r->started;
    if (r->deadline > 0) {
        left = r->deadline - now;
        if (left < 0.001) left = 0.001;
        if (r->file || left < r->timeout) curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms(left));
    }
    curl_easy_setopt(c, CURLOPT_URL, r->url);
    curl_easy_setopt(c, CURLOPT_PRIVATE, (void *)r);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->headers);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, (void *)r);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, (void *)r);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->errbuf);
    /* API calls never follow redirects: curl would forward custom auth headers such as
     * X-API-Key to the new host. Downloads carry no credentials, so they may. */
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, r->follow ? 1L : 0L);
    /* libcurl silently resends a request that died on a reused connection; for a create
     * that could pay twice, so creates always get a connection of their own */
    curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, r->idempotent ? 0L : 1L);
    /* back to a plain GET first: a pooled handle may remember the last attempt's method */
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    if (strcmp(r->method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (strcmp(r->method, "GET") != 0) {
        if (strcmp(r->method, "POST") != 0) curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
        if (r->body || strcmp(r->method, "POST") == 0) {
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body ? r->body : "");
        }
    }
    if (curl_multi_add_handle(cs->multi, c) != CURLM_OK) {
        xfer_free(cs, r, 0);
        r->err = SD_ERR_INTERNAL;
        snprintf(r->errmsg, sizeof r->errmsg, "curl_multi_add_handle failed");
        return -1;
    }
    return 0;
}

static sd_errkind classify(CURLcode rc, CURL *c, int *sent)
{
    long reqsize = 0;
    curl_easy_getinfo(c, CURLINFO_REQUEST_SIZE, &reqsize);
    *sent = reqsize > 0;
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        *sent = 0;
        return SD_ERR_CONNECT;
    case CURLE_OPERATION_TIMEDOUT: return *sent ? SD_ERR_TIMEOUT : SD_ERR_CONNECT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM: *sent = 0; return SD_ERR_TLS;
    case CURLE_WRITE_ERROR: return SD_ERR_FILE;
    default: return SD_ERR_NETWORK;
    }
}

static int curl_perform(sd_engine *e)
{
    curl_state *cs = e->drv_state;
    int running = 0, left;
    CURLMsg *m;
    curl_multi_perform(cs->multi, &running);
    while ((m = curl_multi_info_read(cs->multi, &left)) != NULL) {
        sd_request *r = NULL;
        curl_xfer *x;
        if (m->msg != CURLMSG_DONE) continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        if (r == NULL) continue;
        x = r->driver_data;
        if (m->data.result == CURLE_OK) {
            curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &r->status);
            r->sent = 1;
        } else if (x->over != OVER_NONE) {
            r->err = SD_ERR_TOO_LARGE;
            r->sent = 1;
            if (x->over == OVER_HEADERS)
                snprintf(r->errmsg, sizeof r->errmsg, "response headers over the %u KB limit", MAX_HEADERS / 1024u);
            else if (x->over == OVER_FILE)
                snprintf(r->errmsg, sizeof r->errmsg, "download over the size limit of %zu bytes", r->max_body);
            else
                snprintf(r->errmsg, sizeof r->errmsg, "response body over the size limit of %zu bytes",
                         r->file && r->max_body > MAX_ERROR_PAGE ? (size_t)MAX_ERROR_PAGE : r->max_body);
        } else if (m->data.result == CURLE_OUT_OF_MEMORY) {
            /* what libcurl 7.x reports for a response header line past its 100 KB limit (our
             * requests' lines are bounded at submit): an oversized answer, not a memory fault */
            r->err = SD_ERR_TOO_LARGE;
            r->sent = 1;
            snprintf(r->errmsg, sizeof r->errmsg, "a response header line over libcurl's limit (about 100 KB)");
        } else {
            r->err = classify(m->data.result, m->easy_handle, &r->sent);
            snprintf(r->errmsg, sizeof r->errmsg, "%s",
                     x->errbuf[0] ? x->errbuf : curl_easy_strerror(m->data.result));
        }
        if (x->out && fflush(x->out) != 0 && r->err == SD_ERR_NONE) {
            r->err = SD_ERR_FILE;
            snprintf(r->errmsg, sizeof r->errmsg, "cannot write the download file");
        }
        xfer_free(cs, r, 1);
        sd_engine_finished(e, r);
    }
    return running;
}

static void curl_abort(sd_engine *e, sd_request *r) { xfer_free(e->drv_state, r, 1); }

static void curl_wait(sd_engine *e, int timeout_ms)
{
    curl_state *cs = e->drv_state;
    curl_multi_poll(cs->multi, NULL, 0, timeout_ms, NULL);
}

static void curl_close(sd_engine *e)
{
    curl_state *cs = e->drv_state;
    int i;
    if (cs == NULL) return;
    for (i = 0; i < cs->npool; i++) curl_easy_cleanup(cs->pool[i]);
    free(cs->pool);
    curl_multi_cleanup(cs->multi);
    free(cs);
    e->drv_state = NULL;
}

const sd_driver sd_driver_curl = {"curl", curl_start, curl_abort, curl_perform, curl_wait, curl_close};
