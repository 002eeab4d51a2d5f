/* luaapp.h: the emulator's Lua side. A private lua_State runs the app module
 * (`require(app).new(config)`); every call into it is serialized by one
 * mutex, because the HTTP thread and the user's control() calls share it. */
#ifndef SEEDANCE_EMU_LUAAPP_H
#define SEEDANCE_EMU_LUAAPP_H

#include <stddef.h>

#include "exchange.h"

struct emu_app;

struct emu_app_options {
    const char *app;           /* module name, e.g. "seedance.emulator.app" */
    const char *config;        /* handed to app.new as a string */
    size_t config_len;
    const char *path;          /* package.path of the new state; NULL keeps the default */
    const char *cpath;         /* package.cpath likewise */
    int quiet;                 /* do not print the app's errors on stderr */
};

/* Returns NULL with a message in err when the state or the app cannot be made. */
struct emu_app *emu_app_new(const struct emu_app_options *o, char *err, size_t errlen);
/* Runs server:handle(req). Never fails: a Lua error becomes a 500 answer. */
void emu_app_handle(struct emu_app *a, const struct emu_request *req, struct emu_response *resp);
/* Runs server:control(in). Returns a malloc'd string in *out, or -1 with err. */
int emu_app_control(struct emu_app *a, const char *in, size_t inlen,
                    char **out, size_t *outlen, char *err, size_t errlen);
/* Runs server:tick() when the app has one (the app's own timed work: a twin's callbacks).
 * Returns the seconds until it wants the next tick, or a negative number for none. A Lua
 * error is printed (unless quiet) and the tick is tried again a second later. */
double emu_app_tick(struct emu_app *a);
void emu_app_free(struct emu_app *a);

#endif
