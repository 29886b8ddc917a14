/*
 * lua_decode.c — martflow.json_decode: JSON text to a lazy proxy (see
 * lua_value.h) whose jansson tree counts against the sandbox's memory cap and
 * whose parsing spends its instruction budget.
 *
 * jansson cannot be given an allocator for one parse (its hooks are
 * process-wide), so the size of the tree is bounded from the text before it
 * is parsed: one pass counts the containers, scalars, strings and keys, and
 * the costs below turn that into bytes. The bound, with the parser's scratch
 * buffers, is held before jansson allocates anything; after the parse the
 * scratch part is released and the tree's part stays held by an lv_holder
 * that every proxy of the tree references (lua_proxy.h), until the last of
 * them is collected.
 */
#include <lauxlib.h>

#include "lua_proxy.h"
#include "lua_sandbox.h"
#include "lua_value.h"

#define DECODING "while decoding JSON"

/* What jansson 2.14 allocates per item, with glibc malloc's chunk overhead
 * (test_lua_caps.c checks that the bound covers the real allocations):
 * an object is its struct and 8 hash buckets (224 bytes); an array its
 * struct and 8 slots (128); a number 32; a string its struct (48) and a
 * buffer one byte longer than its source text with the quotes; a member
 * its pair with the key (80 + key) and up to two 16-byte buckets. Every
 * value may sit in an array slot, 24 bytes while the slots are reallocated
 * (the old and the new table both exist). true, false and null are shared. */
#define COST_OBJECT 256u
#define COST_ARRAY 160u
#define COST_NUMBER 48u
#define COST_STRING 80u
#define COST_MEMBER 112u
#define COST_SLOT 24u
/* Blocks past malloc's mmap threshold are rounded up to whole pages. */
#define BIG_BLOCK (64u * 1024u)
#define PAGE 4096u
/* The lexer's fixed state and first buffers. */
#define COST_SCRATCH 1024u

typedef struct dsize {
    size_t tree;    /* bytes the tree may take */
    size_t scratch; /* bytes the parser may take besides, freed when it returns */
    int64_t nodes;
} dsize;

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool ends_token(char c)
{
    return is_space(c) || c == ',' || c == ':' || c == '[' || c == ']' || c == '{' || c == '}' || c == '"';
}

/* A token's own buffer: its text (escapes only shrink it) and the rounding
 * of a big block. */
static size_t text_cost(size_t raw)
{
    return raw + (raw >= BIG_BLOCK ? PAGE : 0);
}

/* Bound what parsing s takes. Invalid text gets a bound too: the parser
 * allocates no more on its way to the error. Nothing here overflows: every
 * byte of text adds at most COST_OBJECT + COST_SLOT. */
static dsize measure(const char *s, size_t len)
{
    dsize d = {0, 0, 0};
    size_t max_token = 0, max_key = 0;
    size_t i = 0;
    while (i < len) {
        char c = s[i];
        if (is_space(c) || c == ',' || c == ':' || c == ']' || c == '}') {
            i++;
            continue;
        }
        size_t start = i;
        if (c == '{' || c == '[') {
            d.tree += COST_SLOT + (c == '{' ? COST_OBJECT : COST_ARRAY);
            d.nodes++;
            i++;
            continue;
        }
        if (c == '"') {
            for (i++; i < len && s[i] != '"'; i++)
                if (s[i] == '\\')
                    i++;
            i = i < len ? i + 1 : len; /* past the closing quote */
            size_t raw = i - start;
            size_t next = i;
            while (next < len && is_space(s[next]))
                next++;
            if (next < len && s[next] == ':') {
                d.tree += COST_MEMBER + text_cost(raw);
                max_key = raw > max_key ? raw : max_key;
            } else {
                d.tree += COST_SLOT + COST_STRING + text_cost(raw);
                d.nodes++;
            }
        } else {
            while (i < len && !ends_token(s[i]))
                i++;
            d.tree += COST_SLOT + (c == 't' || c == 'f' || c == 'n' ? 0 : COST_NUMBER);
            d.nodes++;
        }
        max_token = i - start > max_token ? i - start : max_token;
    }
    /* The lexer keeps a token's text in a buffer that doubles as it grows
     * (up to twice the longest token, and the old one while it is copied,
     * which the token's own buffer in the tree has not yet taken), and a
     * key's text until its value is parsed. */
    d.scratch = 2 * text_cost(max_token) + text_cost(max_key) + COST_SCRATCH;
    return d;
}

int lvd_json_decode(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    lua_settop(L, 1); /* the text stays anchored while the garbage is collected */
    dsize d = measure(s, len);
    lsb_spend(L, 1 + d.nodes + (int64_t)(len / LV_WORK_BYTES), DECODING);
    lv_holder *h = lvh_new(L, NULL); /* index 2 */
    if (!lsb_hold(L, d.tree + d.scratch))
        lsb_raise_cap(L, DECODING);
    h->held = d.tree + d.scratch;
    json_error_t err;
    json_t *j = json_loadb(s, len, JSON_DECODE_ANY, &err);
    lsb_release(h->sb, d.scratch);
    h->held = d.tree;
    if (!j) {
        lvh_free(h);
        lua_pushnil(L);
        lua_pushfstring(L, "invalid JSON (line %d, column %d): %s", err.line, err.column, err.text);
        return 2;
    }
    h->root = j; /* until a proxy has its own reference; freed with h if pushing raises */
    if (!json_is_object(j) && !json_is_array(j)) {
        lv_push(L, j);
        lvh_free(h); /* a scalar: a Lua value now */
        return 1;
    }
    lvp_push_owned(L, j, 2);
    h->root = NULL;
    json_decref(j); /* the tree lives as long as its proxies; h, as long as any of them */
    return 1;
}
