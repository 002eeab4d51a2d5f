/* object.c: Asset, Group, Session and Task as userdata (see object.h).
 *
 * Why a block of strings and not one pointer per field: ten thousand pending objects must
 * stay within a few hundred bytes each, and most fields of most objects are absent. The
 * strings and numbers of one object live in one malloc'd block of entries (see ENTRY_HEAD:
 * [slot][length][bytes], a status word or media type as its number in WORDS, a number as
 * its double); reading scans a handful of entries, writing resizes the block in place
 * (fields change rarely: a poll that finds nothing new writes nothing). An asset's ref
 * that is "asset://<id>" is a flag, not bytes.
 *
 * Field lookups go through one Lua table, name -> code (type and slot), shared by the four
 * metatables; a name that is no field is looked up in the object's extras, then in its
 * kind's methods table. Reading never raises (a closed object reads nil), except `_client`
 * of a closed object, so a method used after close says so. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "object.h"

/* string slots (in the block), number slots (doubles), and the other field codes */
enum { S_ID, S_STATUS, S_RAW_STATUS, S_TYPE, S_NAME, S_URL, S_REF, S_GROUP_ID, S_VIDEO_URL,
       S_LAST_FRAME_URL, S_PROMPT, S_MODEL, S_KEY, S_LINK, S_DESCRIPTION };
enum { N_PROGRESS, N_CREATED_AT, N_EXPIRES_AT, N_UPDATED_AT, N_BORN, N_COUNT };
enum { X_RAW, X_CLIENT, X_KIND };
enum { T_STR = 1, T_NUM = 2, T_EXTRA = 3, T_SPECIAL = 4 };
#define CODE(t, s) ((t) * 64 + (s))

/* user values: the client, and the tail: the raw answer (JSON text until first read, then
 * the table) or, once the object has extras, the extras table with the raw answer at [1].
 * A pending object has no extras, and a user value less is 16 bytes less per object. */
enum { UV_CLIENT = 1, UV_TAIL = 2, UV_COUNT = 2 };

#define F_CLOSED 1u
#define F_REF_FROM_ID 2u /* ref is "asset://" .. id, computed on read */
#define F_EXTRAS 4u      /* the tail is the extras table */

/* 16 bytes, so that with its two user values the userdata is 88 (malloc's 96; 24 bytes
 * made it 112): the numbers live in the block too (a pending asset has one or two of
 * five), kind, flags and length share one word, and the poll is known by its handle's
 * slot (sched.c finds the key from it). */
#define BLEN_MAX ((1u << 27) - 1u)
struct sd_object {
    unsigned kind : 2;
    unsigned flags : 3;
    unsigned blen : 27;
    uint32_t poll; /* the scheduler's mark of its poll (object.h), 0 when not polled */
    char *block;
};
typedef char sd_object_fits[sizeof(void *) != 8 || sizeof(struct sd_object) <= 16 ? 1 : -1];

static const char *const KIND_NAME[SD_NKINDS] = {"asset", "group", "session", "task"};
static const char *const KIND_MT[SD_NKINDS] = {"seedance.Asset", "seedance.Group", "seedance.Session",
                                               "seedance.Task"};

static const struct {
    const char *name;
    int code;
} FIELDS[] = {
    {"id", CODE(T_STR, S_ID)},
    {"status", CODE(T_STR, S_STATUS)},
    {"raw_status", CODE(T_STR, S_RAW_STATUS)},
    {"type", CODE(T_STR, S_TYPE)},
    {"name", CODE(T_STR, S_NAME)},
    {"url", CODE(T_STR, S_URL)},
    {"ref", CODE(T_STR, S_REF)},
    {"group_id", CODE(T_STR, S_GROUP_ID)},
    {"video_url", CODE(T_STR, S_VIDEO_URL)},
    {"last_frame_url", CODE(T_STR, S_LAST_FRAME_URL)},
    {"prompt", CODE(T_STR, S_PROMPT)},
    {"model", CODE(T_STR, S_MODEL)},
    {"key", CODE(T_STR, S_KEY)},
    {"link", CODE(T_STR, S_LINK)},
    {"description", CODE(T_STR, S_DESCRIPTION)},
    {"progress", CODE(T_NUM, N_PROGRESS)},
    {"created_at", CODE(T_NUM, N_CREATED_AT)},
    {"expires_at", CODE(T_NUM, N_EXPIRES_AT)},
    {"updated_at", CODE(T_NUM, N_UPDATED_AT)},
    {"_born", CODE(T_NUM, N_BORN)},
    /* public fields that are tables or flags: they live in the extras table */
    {"error", CODE(T_EXTRA, 0)},
    {"usage", CODE(T_EXTRA, 0)},
    {"queue_position", CODE(T_EXTRA, 0)},
    {"deleted", CODE(T_EXTRA, 0)},
    {"resumed", CODE(T_EXTRA, 0)},
    {"raw", CODE(T_SPECIAL, X_RAW)},
    {"_client", CODE(T_SPECIAL, X_CLIENT)},
    {"_kind", CODE(T_SPECIAL, X_KIND)},
};

/* ---- the string block ------------------------------------------------------------------ */

/* An entry is [slot][32-bit length][bytes], or, for a word every object repeats (status
 * words, media types), [slot | 0x80][index into WORDS]: two bytes instead of a copy; a
 * number is [slot | 0x40][1 when it was an integer (5.3+ reads it back as one)][double]. */
#define ENTRY_HEAD 5
#define ENTRY_WORD 0x80u
#define ENTRY_NUM 0x40u
#define NUM_SIZE (2 + sizeof(double))
#define SLOT_OF(b) ((unsigned char)(b)[0] & ~ENTRY_WORD)

static const char *const WORDS[] = {
    "processing", "active", "failed", "queued", "running", "succeeded", "cancelled", "expired", "pending",
    "image", "video", "audio", "aigc", "real_human", "Processing", "Active", "Failed", "PROCESSING", "ACTIVE",
    "FAILED", "QUEUED", "RUNNING", "SUCCEEDED", "SUCCESS", "FAILURE", "CANCELLED", "EXPIRED", "NOT_START",
    "IN_QUEUE", "IN_PROGRESS", "COMPLETED", "success", "failure", "completed", "in_progress", "not_start",
    "submitted", "canceled", "in_queue", "Image", "Video", "Audio"};
#define N_WORDS (sizeof WORDS / sizeof WORDS[0])

static int word_of(const char *s, size_t n)
{
    size_t i;
    if (n == 0 || n > 11) return -1;
    for (i = 0; i < N_WORDS; i++)
        if (WORDS[i][0] == s[0] && strlen(WORDS[i]) == n && memcmp(WORDS[i], s, n) == 0) return (int)i;
    return -1;
}

static size_t entry_size(const char *b)
{
    uint32_t n;
    if ((unsigned char)b[0] & ENTRY_WORD) return 2;
    if ((unsigned char)b[0] & ENTRY_NUM) return NUM_SIZE;
    memcpy(&n, b + 1, 4);
    return ENTRY_HEAD + (size_t)n;
}

/* The offset of the entry of `slot` (a string slot, or ENTRY_NUM | number slot), or blen
 * when the object has none: the one scan every read and write of the block goes through. */
static size_t find_entry(const sd_object *o, unsigned slot)
{
    size_t at;
    for (at = 0; o->block && at < o->blen; at += entry_size(o->block + at))
        if (SLOT_OF(o->block + at) == slot) return at;
    return o->blen;
}

static const char *block_get(const sd_object *o, int slot, size_t *len)
{
    size_t at = find_entry(o, (unsigned)slot);
    const char *b;
    uint32_t n;
    if (at == o->blen) {
        if (len) *len = 0;
        return NULL;
    }
    b = o->block + at;
    if ((unsigned char)b[0] & ENTRY_WORD) {
        const char *w = WORDS[(unsigned char)b[1]];
        if (len) *len = strlen(w);
        return w;
    }
    memcpy(&n, b + 1, 4);
    if (len) *len = n;
    return b + ENTRY_HEAD;
}

/* Replace the entry of `slot` with `head` (hn bytes) followed by `body` (bn bytes), or with
 * head == NULL remove it, in place: a realloc of the one block, not a new block per field
 * set (ten thousand objects built field by field would leave a trail of freed blocks).
 * -1 when out of memory (nothing changed); removing never fails. */
static int block_put(sd_object *o, unsigned slot, const char *head, size_t hn, const char *body, size_t bn)
{
    size_t at = find_entry(o, slot), m = at < o->blen ? entry_size(o->block + at) : 0, n, size;
    if (head == NULL) hn = bn = 0;
    if (bn > BLEN_MAX - hn || hn + bn > BLEN_MAX - (o->blen - m)) return -1;
    n = hn + bn;
    size = o->blen - m + n;
    if (size == 0) {
        free(o->block);
        o->block = NULL;
        o->blen = 0;
        return 0;
    }
    if (n > m) {
        char *nb = realloc(o->block, size);
        if (nb == NULL) return -1;
        o->block = nb;
    }
    /* the entries after this one move to make (or give back) room */
    memmove(o->block + at + n, o->block + at + m, o->blen - at - m);
    if (hn) memcpy(o->block + at, head, hn);
    if (bn) memcpy(o->block + at + hn, body, bn);
    if (n < m) {
        char *nb = realloc(o->block, size);
        if (nb) o->block = nb;
    }
    o->blen = (unsigned)size;
    return 0;
}

/* Replace (or with s == NULL remove) one string entry; -1 when out of memory. */
static int block_set(sd_object *o, int slot, const char *s, size_t len)
{
    size_t oldn;
    const char *old = block_get(o, slot, &oldn);
    char head[ENTRY_HEAD];
    uint32_t l = (uint32_t)len;
    int word;
    if (s == NULL) return old ? block_put(o, (unsigned)slot, NULL, 0, NULL, 0) : 0;
    /* a poll that finds the same word writes nothing */
    if (old != NULL && oldn == len && memcmp(old, s, len) == 0) return 0;
    word = word_of(s, len);
    if (word >= 0) {
        head[0] = (char)(slot | ENTRY_WORD);
        head[1] = (char)word;
        return block_put(o, (unsigned)slot, head, 2, NULL, 0);
    }
    if (len > UINT32_MAX - ENTRY_HEAD) return -1;
    head[0] = (char)slot;
    memcpy(head + 1, &l, 4);
    return block_put(o, (unsigned)slot, head, ENTRY_HEAD, s, len);
}

/* Number slot n: 1 and *d (and *isint) when present, else 0. */
static int num_get(const sd_object *o, int n, double *d, int *isint)
{
    size_t at = find_entry(o, ENTRY_NUM | (unsigned)n);
    if (at == o->blen) return 0;
    memcpy(d, o->block + at + 2, sizeof *d);
    if (isint) *isint = o->block[at + 1];
    return 1;
}

static int num_set(sd_object *o, int n, double d, int isint)
{
    char e[NUM_SIZE];
    double old;
    int oldint;
    if (num_get(o, n, &old, &oldint) && old == d && oldint == (isint != 0)) return 0;
    e[0] = (char)(ENTRY_NUM | (unsigned)n);
    e[1] = (char)(isint != 0);
    memcpy(e + 2, &d, sizeof d);
    return block_put(o, ENTRY_NUM | (unsigned)n, e, sizeof e, NULL, 0);
}

static int num_clear(sd_object *o, int n)
{
    return block_put(o, ENTRY_NUM | (unsigned)n, NULL, 0, NULL, 0);
}

/* ---- the C accessors (object.h) --------------------------------------------------------- */

int sd_object_kind(const sd_object *o) { return o->kind; }

const char *sd_object_kind_name(int kind)
{
    return kind >= 0 && kind < SD_NKINDS ? KIND_NAME[kind] : "?";
}

int sd_object_closed(const sd_object *o) { return (o->flags & F_CLOSED) != 0; }

const char *sd_object_id(const sd_object *o, size_t *len) { return block_get(o, S_ID, len); }
const char *sd_object_status(const sd_object *o, size_t *len) { return block_get(o, S_STATUS, len); }
const char *sd_object_raw_status(const sd_object *o, size_t *len) { return block_get(o, S_RAW_STATUS, len); }

int sd_object_progress(const sd_object *o, double *p)
{
    return num_get(o, N_PROGRESS, p, NULL);
}

uint32_t sd_object_poll(const sd_object *o) { return o->poll; }

void sd_object_set_poll(sd_object *o, uint32_t mark) { o->poll = mark; }

int sd_object_set_status(sd_object *o, const char *s, size_t len)
{
    if (o->flags & F_CLOSED) return -1;
    return block_set(o, S_STATUS, s, len);
}

int sd_object_set_raw_status(sd_object *o, const char *s, size_t len)
{
    if (o->flags & F_CLOSED) return -1;
    return block_set(o, S_RAW_STATUS, s, len);
}

int sd_object_set_progress(sd_object *o, double p)
{
    if (o->flags & F_CLOSED) return -1;
    return num_set(o, N_PROGRESS, p, p == floor(p) && fabs(p) < 9007199254740992.0);
}

void sd_object_clear_progress(sd_object *o)
{
    num_clear(o, N_PROGRESS);
}

sd_object *sd_object_test(lua_State *L, int idx)
{
    int k;
    for (k = 0; k < SD_NKINDS; k++) {
        sd_object *o = sd_testudata(L, idx, KIND_MT[k]);
        if (o) return o;
    }
    return NULL;
}

sd_object *sd_object_check(lua_State *L, int idx)
{
    sd_object *o = sd_object_test(L, idx);
    if (!o) luaL_argerror(L, idx, "expected an asset, group, session or task");
    return o;
}

/* ---- helpers on the Lua side ------------------------------------------------------------ */

/* The object a metamethod got as its first argument. The metatables are reachable from Lua
 * (getmetatable), so a metamethod can be called with anything: `mt` is the upvalue index of
 * the kind's own metatable (0: any kind), and anything else raises instead of being read. */
static sd_object *self_of(lua_State *L, int mt)
{
    if (mt) {
        void *p = lua_touserdata(L, 1);
        if (p && lua_getmetatable(L, 1)) {
            int same = lua_rawequal(L, -1, lua_upvalueindex(mt));
            lua_pop(L, 1);
            if (same) return p;
        }
        luaL_argerror(L, 1, "expected a seedance object");
    }
    return sd_object_check(L, 1);
}

static void push_ref_from_id(lua_State *L, const sd_object *o)
{
    size_t n;
    const char *id = block_get(o, S_ID, &n);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "asset://");
    luaL_addlstring(&b, id, n);
    luaL_pushresult(&b);
}

/* The extras table of object o (at idx) on the stack top; with create, made when absent
 * (the raw answer moves into it, at [1]). Returns 0 (and pushes nothing) when absent and
 * not created. */
static int push_extras(lua_State *L, sd_object *o, int idx, int create)
{
    if (o->flags & F_EXTRAS) {
        sd_getiuservalue(L, idx, UV_TAIL);
        return 1;
    }
    if (!create) return 0;
    lua_newtable(L);
    sd_getiuservalue(L, idx, UV_TAIL);
    lua_rawseti(L, -2, 1);
    lua_pushvalue(L, -1);
    sd_setiuservalue(L, idx, UV_TAIL);
    o->flags |= F_EXTRAS;
    return 1;
}

/* Push the raw answer as stored (nil when none). */
static void push_stored_raw(lua_State *L, const sd_object *o, int idx)
{
    sd_getiuservalue(L, idx, UV_TAIL);
    if (o->flags & F_EXTRAS) {
        lua_rawgeti(L, -1, 1);
        lua_remove(L, -2);
    }
}

/* Store the value on the stack top (popped) as the raw answer. */
static void store_raw(lua_State *L, const sd_object *o, int idx)
{
    if (o->flags & F_EXTRAS) {
        sd_getiuservalue(L, idx, UV_TAIL);
        lua_insert(L, -2);
        lua_rawseti(L, -2, 1);
        lua_pop(L, 1);
    } else {
        sd_setiuservalue(L, idx, UV_TAIL);
    }
}

static void extras_set(lua_State *L, sd_object *o, int idx, int key, int val)
{
    if (lua_isnil(L, val) && !push_extras(L, o, idx, 0)) return;
    if (!lua_isnil(L, val)) push_extras(L, o, idx, 1);
    lua_pushvalue(L, key);
    lua_pushvalue(L, val);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

static const char *class_name(const sd_object *o) { return KIND_MT[o->kind]; }

/* Store value `val` in field `code` named by `key` (stack indexes, object at idx). A value
 * of the wrong type for its slot is kept as given, in the extras: what was written reads back. */
static void set_field(lua_State *L, sd_object *o, int idx, int code, int key, int val)
{
    int t = code / 64, slot = code % 64;
    int vt = lua_type(L, val);
    if (t == T_STR) {
        int rc;
        if (vt == LUA_TSTRING) {
            size_t n;
            const char *s = lua_tolstring(L, val, &n);
            if (slot == S_REF && o->kind == SD_ASSET) {
                size_t idn;
                const char *id = block_get(o, S_ID, &idn);
                if (id && n == idn + 8 && memcmp(s, "asset://", 8) == 0 && memcmp(s + 8, id, idn) == 0) {
                    rc = block_set(o, S_REF, NULL, 0);
                    if (rc == 0) o->flags |= F_REF_FROM_ID;
                    goto stored;
                }
            }
            rc = block_set(o, slot, s, n);
        } else {
            rc = block_set(o, slot, NULL, 0);
        }
        if (slot == S_REF && rc == 0) o->flags &= (unsigned char)~F_REF_FROM_ID;
    stored:
        if (rc != 0) luaL_error(L, "%s: out of memory setting '%s'", class_name(o), lua_tostring(L, key));
        if (vt == LUA_TSTRING || vt == LUA_TNIL) lua_pushnil(L);
        else lua_pushvalue(L, val);
        extras_set(L, o, idx, key, lua_gettop(L));
        lua_pop(L, 1);
    } else if (t == T_NUM) {
        if (vt == LUA_TNUMBER) {
            if (num_set(o, slot, lua_tonumber(L, val), sd_isinteger(L, val)) != 0)
                luaL_error(L, "%s: out of memory setting '%s'", class_name(o), lua_tostring(L, key));
        } else {
            num_clear(o, slot);
        }
        if (vt == LUA_TNUMBER || vt == LUA_TNIL) lua_pushnil(L);
        else lua_pushvalue(L, val);
        extras_set(L, o, idx, key, lua_gettop(L));
        lua_pop(L, 1);
    } else if (t == T_EXTRA) {
        extras_set(L, o, idx, key, val);
    } else if (slot == X_RAW) {
        lua_pushvalue(L, val);
        store_raw(L, o, idx);
    } else if (slot == X_CLIENT) {
        lua_pushvalue(L, val);
        sd_setiuservalue(L, idx, UV_CLIENT);
    } else {
        luaL_error(L, "%s: field '%s' cannot be set", class_name(o), lua_tostring(L, key));
    }
}

/* raw as stored: JSON text is decoded on first read with seedance.wire.json (the library's own
 * cjson instance) and the table kept; text that is not JSON reads as the text. */
static void push_raw(lua_State *L, const sd_object *o, int idx)
{
    push_stored_raw(L, o, idx);
    if (lua_type(L, -1) != LUA_TSTRING) return;
    lua_getglobal(L, "require");
    lua_pushliteral(L, "seedance.wire.json");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "decode");
    lua_pushvalue(L, -3);
    lua_call(L, 1, 1);
    if (lua_istable(L, -1)) {
        lua_pushvalue(L, -1);
        store_raw(L, o, idx);
        lua_replace(L, -3);
        lua_pop(L, 1);
    } else {
        lua_pop(L, 2);
    }
}

/* Push field `code` of the object at idx; 0 (nothing pushed) when the field is absent
 * from the struct, so the caller looks in the extras. */
static int push_field(lua_State *L, sd_object *o, int idx, int code)
{
    int t = code / 64, slot = code % 64;
    if (t == T_STR) {
        size_t n;
        const char *s = block_get(o, slot, &n);
        if (s) {
            lua_pushlstring(L, s, n);
            return 1;
        }
        if (slot == S_REF && (o->flags & F_REF_FROM_ID) && block_get(o, S_ID, NULL)) {
            push_ref_from_id(L, o);
            return 1;
        }
        return 0;
    }
    if (t == T_NUM) {
        double d;
        int isint;
        if (!num_get(o, slot, &d, &isint)) return 0;
        if (isint) sd_pushint(L, d);
        else lua_pushnumber(L, d);
        return 1;
    }
    if (t == T_SPECIAL) {
        if (slot == X_KIND) {
            lua_pushstring(L, KIND_NAME[o->kind]);
        } else if (slot == X_CLIENT) {
            if (o->flags & F_CLOSED) luaL_error(L, "%s: object is closed", class_name(o));
            sd_getiuservalue(L, idx, UV_CLIENT);
        } else {
            push_raw(L, o, idx);
        }
        return 1;
    }
    return 0;
}

/* upvalue 1: the field table (name -> code); 2: this kind's methods; 3: its metatable */
static int l_index(lua_State *L)
{
    sd_object *o = self_of(L, 3);
    if (lua_type(L, 2) == LUA_TSTRING) {
        lua_pushvalue(L, 2);
        lua_rawget(L, lua_upvalueindex(1));
        if (!lua_isnil(L, -1)) {
            int code = (int)lua_tonumber(L, -1);
            lua_pop(L, 1);
            if (push_field(L, o, 1, code)) return 1;
        } else {
            lua_pop(L, 1);
        }
        if (push_extras(L, o, 1, 0)) {
            lua_pushvalue(L, 2);
            lua_rawget(L, -2);
            if (!lua_isnil(L, -1)) return 1;
            lua_pop(L, 2);
        }
    }
    lua_pushvalue(L, 2);
    lua_rawget(L, lua_upvalueindex(2));
    return 1;
}

/* Assignment from Lua: a known field, or an internal name ("_" first); anything else is
 * a mistake (a typo would otherwise read back as nil forever) and raises naming it. */
static int l_newindex(lua_State *L)
{
    sd_object *o = self_of(L, 2); /* upvalue 1: the field table; 2: the kind's metatable */
    const char *k;
    if (lua_type(L, 2) != LUA_TSTRING) return luaL_error(L, "%s: field names are strings", class_name(o));
    k = lua_tostring(L, 2);
    if (o->flags & F_CLOSED) return luaL_error(L, "%s: cannot set '%s': object is closed", class_name(o), k);
    lua_pushvalue(L, 2);
    lua_rawget(L, lua_upvalueindex(1));
    if (!lua_isnil(L, -1)) {
        int code = (int)lua_tonumber(L, -1);
        lua_pop(L, 1);
        set_field(L, o, 1, code, 2, 3);
        return 0;
    }
    lua_pop(L, 1);
    if (k[0] != '_') return luaL_error(L, "%s: no field named '%s'", class_name(o), k);
    extras_set(L, o, 1, 2, 3);
    return 0;
}

/* obj:_assign(fields): every non-nil field of the table, as a dialect gave it; names that
 * are no field of the struct (a provider's own, like Sunra's ark_asset_id) go to the
 * extras. id goes first so that a ref of "asset://<id>" is recognised. */
static int l_assign(lua_State *L)
{
    sd_object *o = sd_object_check(L, 1);
    int fields;
    luaL_checktype(L, 2, LUA_TTABLE);
    if (o->flags & F_CLOSED) return luaL_error(L, "%s: object is closed", class_name(o));
    lua_getfield(L, LUA_REGISTRYINDEX, "seedance.object.fields");
    fields = lua_gettop(L);
    lua_pushliteral(L, "id");
    lua_rawget(L, 2);
    if (!lua_isnil(L, -1)) {
        lua_pushliteral(L, "id");
        set_field(L, o, 1, CODE(T_STR, S_ID), lua_gettop(L), lua_gettop(L) - 1);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lua_pushnil(L);
    while (lua_next(L, 2) != 0) {
        if (lua_type(L, -2) == LUA_TSTRING && !lua_isnil(L, -1)) {
            const char *k = lua_tostring(L, -2);
            if (strcmp(k, "id") != 0) {
                lua_pushvalue(L, -2);
                lua_rawget(L, fields);
                if (!lua_isnil(L, -1)) {
                    int code = (int)lua_tonumber(L, -1);
                    lua_pop(L, 1);
                    set_field(L, o, 1, code, lua_gettop(L) - 1, lua_gettop(L));
                } else {
                    lua_pop(L, 1);
                    extras_set(L, o, 1, lua_gettop(L) - 1, lua_gettop(L));
                }
            }
        }
        lua_pop(L, 1);
    }
    lua_settop(L, 1);
    return 1;
}

/* The one cleanup behind close(), __close and __gc: frees the strings, drops the user
 * values. Idempotent. */
static void cleanup(lua_State *L, sd_object *o, int idx, int drop_values)
{
    int i;
    if (o->flags & F_CLOSED) return;
    o->flags = F_CLOSED | (o->flags & F_EXTRAS); /* the tail keeps its shape */
    free(o->block);
    o->block = NULL;
    o->blen = 0;
    if (drop_values) {
        for (i = 1; i <= UV_COUNT; i++) {
            lua_pushnil(L);
            sd_setiuservalue(L, idx, i);
        }
    }
}

static int l_gc(lua_State *L)
{
    sd_object *o = self_of(L, 0);
    cleanup(L, o, 1, 0);
    return 0;
}

/* close() and __close: first the kind's `_release` hook (the client stops tracking it),
 * then the cleanup. */
static int l_close(lua_State *L)
{
    sd_object *o = sd_object_check(L, 1);
    if (o->flags & F_CLOSED) return 0;
    lua_getfield(L, 1, "_release");
    if (lua_isfunction(L, -1)) {
        lua_pushvalue(L, 1);
        lua_call(L, 1, 0);
    } else {
        lua_pop(L, 1);
    }
    cleanup(L, o, 1, 1);
    return 0;
}

static void push_shown(lua_State *L, int idx, const char *field)
{
    lua_getfield(L, idx, field);
    sd_tolstring(L, -1, NULL);
    lua_remove(L, -2);
}

/* "seedance.<kind>(<provider> <id> <status>)"; a group shows its name instead of a status */
static int l_tostring(lua_State *L)
{
    sd_object *o = self_of(L, 0);
    if (o->flags & F_CLOSED) {
        lua_pushfstring(L, "seedance.%s(closed)", KIND_NAME[o->kind]);
        return 1;
    }
    sd_getiuservalue(L, 1, UV_CLIENT);
    if (lua_isnil(L, -1)) lua_pushnil(L);
    else lua_getfield(L, -1, "provider");
    sd_tolstring(L, -1, NULL);
    push_shown(L, 1, "id");
    push_shown(L, 1, o->kind == SD_GROUP ? "name" : "status");
    lua_pushfstring(L, "seedance.%s(%s %s %s)", KIND_NAME[o->kind], lua_tostring(L, -3), lua_tostring(L, -2),
                    lua_tostring(L, -1));
    return 1;
}

/* __pairs (5.2+): the public fields the object has, as a table's pairs gave them when
 * objects were tables (the library's "_" names and the raw answer left out: raw is
 * decoded only when read). */
static int l_pairs(lua_State *L)
{
    sd_object *o = self_of(L, 0);
    size_t i;
    lua_getglobal(L, "next");
    lua_newtable(L);
    for (i = 0; i < sizeof FIELDS / sizeof FIELDS[0]; i++) {
        int t = FIELDS[i].code / 64;
        if (FIELDS[i].name[0] == '_' || t == T_SPECIAL || t == T_EXTRA) continue;
        if (push_field(L, o, 1, FIELDS[i].code)) lua_setfield(L, -2, FIELDS[i].name);
    }
    if (push_extras(L, o, 1, 0)) {
        lua_pushnil(L);
        while (lua_next(L, -2) != 0) {
            /* [1] is the raw answer, not a field */
            if (lua_type(L, -2) != LUA_TSTRING || lua_tostring(L, -2)[0] == '_') {
                lua_pop(L, 1);
                continue;
            }
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, -5);
        }
        lua_pop(L, 1);
    }
    lua_pushnil(L);
    return 3;
}

static int l_eq(lua_State *L)
{
    lua_pushboolean(L, lua_rawequal(L, 1, 2));
    return 1;
}

static int kind_arg(lua_State *L, int i)
{
    static const char *const names[] = {"asset", "group", "session", "task", NULL};
    return luaL_checkoption(L, i, NULL, names);
}

/* core.object_new(kind, client): a new empty object of `kind` owned by `client` */
static int l_object_new(lua_State *L)
{
    int kind = kind_arg(L, 1);
    sd_object *o;
    luaL_checkany(L, 2);
    o = sd_newuserdatauv(L, sizeof *o, UV_COUNT);
    memset(o, 0, sizeof *o);
    o->kind = (unsigned)kind;
    sd_setmetatable(L, KIND_MT[kind]);
    lua_pushvalue(L, 2);
    sd_setiuservalue(L, -2, UV_CLIENT);
    return 1;
}

/* core.object_methods(kind): the table the Lua module of `kind` fills with its methods */
static int l_object_methods(lua_State *L)
{
    int kind = kind_arg(L, 1);
    luaL_getmetatable(L, KIND_MT[kind]);
    lua_getfield(L, -1, "__methods");
    return 1;
}

/* core.object_kind(v): "asset", "group", "session" or "task" for an object, else nil */
static int l_object_kind(lua_State *L)
{
    sd_object *o = sd_object_test(L, 1);
    if (o) lua_pushstring(L, KIND_NAME[o->kind]);
    else lua_pushnil(L);
    return 1;
}

/* core._object_view(obj [, status, raw_status, progress]): what object.h's accessors see,
 * after its setters ran with the given values (false clears a field). Exposed so specs
 * check the scheduler's view of an object without a scheduler. */
static int l_object_view(lua_State *L)
{
    sd_object *o = sd_object_check(L, 1);
    const char *s;
    size_t n;
    double p;
    int i, rc = 0;
    for (i = 2; i <= 3; i++) {
        if (lua_isstring(L, i)) {
            s = lua_tolstring(L, i, &n);
            rc |= i == 2 ? sd_object_set_status(o, s, n) : sd_object_set_raw_status(o, s, n);
        } else if (lua_isboolean(L, i) && !lua_toboolean(L, i)) {
            rc |= i == 2 ? sd_object_set_status(o, NULL, 0) : sd_object_set_raw_status(o, NULL, 0);
        }
    }
    if (lua_type(L, 4) == LUA_TNUMBER) rc |= sd_object_set_progress(o, lua_tonumber(L, 4));
    else if (lua_isboolean(L, 4) && !lua_toboolean(L, 4)) sd_object_clear_progress(o);
    lua_createtable(L, 0, 7);
    lua_pushstring(L, sd_object_kind_name(sd_object_kind(o)));
    lua_setfield(L, -2, "kind");
    lua_pushboolean(L, sd_object_closed(o));
    lua_setfield(L, -2, "closed");
    lua_pushboolean(L, rc == 0);
    lua_setfield(L, -2, "ok");
    if ((s = sd_object_id(o, &n)) != NULL) {
        lua_pushlstring(L, s, n);
        lua_setfield(L, -2, "id");
    }
    if ((s = sd_object_status(o, &n)) != NULL) {
        lua_pushlstring(L, s, n);
        lua_setfield(L, -2, "status");
    }
    if ((s = sd_object_raw_status(o, &n)) != NULL) {
        lua_pushlstring(L, s, n);
        lua_setfield(L, -2, "raw_status");
    }
    if (sd_object_progress(o, &p)) {
        lua_pushnumber(L, p);
        lua_setfield(L, -2, "progress");
    }
    return 1;
}

const luaL_Reg sd_object_functions[] = {{"object_new", l_object_new},
                                        {"object_methods", l_object_methods},
                                        {"object_kind", l_object_kind},
                                        {"_object_view", l_object_view},
                                        {NULL, NULL}};

void sd_open_objects(lua_State *L)
{
    static const luaL_Reg META[] = {{"__gc", l_gc},         {"__close", l_close}, {"__tostring", l_tostring},
                                    {"__eq", l_eq},         {"__pairs", l_pairs}, {NULL, NULL}};
    size_t i;
    int k;
    lua_getfield(L, LUA_REGISTRYINDEX, "seedance.object.fields");
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_createtable(L, 0, (int)(sizeof FIELDS / sizeof FIELDS[0]));
        for (i = 0; i < sizeof FIELDS / sizeof FIELDS[0]; i++) {
            lua_pushnumber(L, FIELDS[i].code);
            lua_setfield(L, -2, FIELDS[i].name);
        }
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, "seedance.object.fields");
    }
    for (k = 0; k < SD_NKINDS; k++) {
        if (luaL_newmetatable(L, KIND_MT[k])) {
            lua_pushstring(L, KIND_MT[k]);
            lua_setfield(L, -2, "__name");
            /* the methods: C's own first, the Lua module adds the rest */
            lua_newtable(L);
            lua_pushcfunction(L, l_assign);
            lua_setfield(L, -2, "_assign");
            lua_pushcfunction(L, l_close);
            lua_setfield(L, -2, "close");
            lua_pushvalue(L, -1);
            lua_setfield(L, -3, "__methods");
            lua_pushvalue(L, -3); /* fields */
            lua_insert(L, -2);
            lua_pushvalue(L, -3); /* the metatable itself */
            lua_pushcclosure(L, l_index, 3);
            lua_setfield(L, -2, "__index");
            lua_pushvalue(L, -2);
            lua_pushvalue(L, -2);
            lua_pushcclosure(L, l_newindex, 2);
            lua_setfield(L, -2, "__newindex");
            sd_setfuncs(L, META, 0);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}
