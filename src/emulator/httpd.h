/* httpd.h: the HTTP side of the emulator, on libmicrohttpd.
 *
 * One internal epoll thread serves every connection (no thread per
 * connection), hands each complete request to the app, and sends what the
 * app answers. An answer with a delay suspends its connection and parks it on
 * the timer thread, so slow answers never hold up fast ones. */
#ifndef SEEDANCE_EMU_HTTPD_H
#define SEEDANCE_EMU_HTTPD_H

#include <stddef.h>

#include "luaapp.h"

struct emu_httpd;

/* Takes ownership of listen_fd (closed by emu_httpd_stop, or here on failure).
 * The app must outlive the server. */
struct emu_httpd *emu_httpd_start(int listen_fd, struct emu_app *app, char *err, size_t errlen);
/* Answers nothing more, drops parked connections, joins every thread. */
void emu_httpd_stop(struct emu_httpd *h);

#endif
