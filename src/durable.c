/* durable.c: write to "<path>.tmp", fsync it, rename it over <path>, fsync the directory.
 * rename(2) is atomic, so a reader (or a rerun after SIGKILL or power loss) sees the old
 * file or the new one, never a torn one; a leftover .tmp is just ignored. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "durable.h"

static int fail(lua_State *L, const char *what, const char *path, int err)
{
    lua_pushnil(L);
    lua_pushfstring(L, "%s %s: %s", what, path, strerror(err));
    return 2;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* the directory of path, for fsync after the rename (the rename itself must be durable) */
static int fsync_dir(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    size_t n;
    int fd, rc;
    if (slash == NULL) {
        strcpy(dir, ".");
    } else {
        n = (size_t)(slash - path);
        if (n == 0) n = 1;
        if (n >= sizeof dir) return -1;
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    fd = open(dir, O_RDONLY);
    if (fd < 0) return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

int sd_l_write_durable(lua_State *L)
{
    size_t plen, n;
    const char *path = luaL_checklstring(L, 1, &plen);
    const char *data = luaL_checklstring(L, 2, &n);
    char *tmp;
    int fd, e;
    if (plen == 0 || plen > 4000) return luaL_argerror(L, 1, "bad path");
    tmp = malloc(plen + 5);
    if (tmp == NULL) return luaL_error(L, "out of memory");
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        e = errno;
        free(tmp);
        return fail(L, "cannot create", path, e);
    }
    if (write_all(fd, data, n) != 0 || fsync(fd) != 0) {
        e = errno;
        close(fd);
        unlink(tmp);
        free(tmp);
        return fail(L, "cannot write", path, e);
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        e = errno;
        unlink(tmp);
        free(tmp);
        return fail(L, "cannot replace", path, e);
    }
    free(tmp);
    if (fsync_dir(path) != 0) return fail(L, "cannot sync the directory of", path, errno);
    lua_pushboolean(L, 1);
    return 1;
}
