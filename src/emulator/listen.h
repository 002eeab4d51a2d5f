/* listen.h: the emulator opens its own listening socket instead of letting
 * libmicrohttpd do it, because MHD_start_daemon only says "failed", while a
 * user who asked for port 8080 deserves "Address already in use". */
#ifndef SEEDANCE_EMU_LISTEN_H
#define SEEDANCE_EMU_LISTEN_H

#include <stddef.h>

/* Binds host:port (port 0 = any free port) and listens. Returns the socket,
 * with the port actually bound in *bound_port, or -1 with a message in err. */
int emu_listen(const char *host, int port, int *bound_port, char *err, size_t errlen);

#endif
