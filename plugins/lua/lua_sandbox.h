/*
 * lua_sandbox.h — one sandboxed Lua 5.4 state: a memory cap enforced by the
 * allocator, an instruction budget per call enforced by a count hook, and a
 * library whitelist (base without file access, string without dump, table,
 * math, utf8, coroutine; load takes text only; `allow` opens more).
 *
 * The cap covers more than the Lua heap: memory the plugin allocates outside
 * it on the script's behalf (JSON trees and text being encoded, the trees
 * json_decode parsed while a value of them lives, the records a call emitted)
 * is *held* against the same limit (lsb_hold), and C code doing work for the
 * script (encoding, decoding) spends from the same instruction budget
 * (lsb_spend).
 *
 * The sandbox owns the lua_State and the state's extra space (it holds the
 * lsb pointer, so lsb_from(L) works on every coroutine of the state). Other
 * modules reach their own context through lsb->user.
 */
#ifndef MF_LUA_SANDBOX_H
#define MF_LUA_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lua.h>

#include <martflow/plugin.h>

typedef enum lsb_error {
    LSB_OK = 0,
    LSB_ERR_RUNTIME,      /* a Lua error (error(), a bad index, a C function's complaint) */
    LSB_ERR_INSTRUCTIONS, /* the instruction budget of the call ran out */
    LSB_ERR_MEMORY        /* the memory cap (or the system) refused an allocation */
} lsb_error;

typedef struct lsb {
    lua_State *L;
    void *user;               /* the owner's context, for the library functions */

    size_t used;              /* bytes the state holds now */
    size_t held;              /* bytes held outside the Lua heap for the script (lsb_hold) */
    size_t held_call;         /* of which: the call's output, released by lsb_release_call */
    size_t peak;              /* of used + held */
    size_t limit;             /* 0: no cap; bounds used + held */
    bool cap_hit;             /* an allocation or a hold was refused since the last call began */

    int64_t budget;           /* instructions for the current call; 0: no budget */
    int64_t remaining;
    int granularity;          /* the hook runs every this many instructions */
    bool budget_hit;
} lsb;

/* Create the state with the whitelisted libraries and the `allow` list
 * ("os.time", "os" for a whole library, "dofile"). limit: bytes, 0 = none.
 * false with err filled (the state is closed again) on an unknown allow entry
 * or when memory runs out. */
bool lsb_open(lsb *sb, size_t limit, const mf_strlist *allow, void *user, char *err, size_t errlen);
void lsb_close(lsb *sb);

static inline lsb *lsb_from(lua_State *L)
{
    return *(lsb **)lua_getextraspace(L);
}

/* Give the next call `instructions` to run (0: unlimited) and clear the
 * memory flag. */
void lsb_arm(lsb *sb, int64_t instructions);

/* Count n bytes allocated (or about to be) outside the Lua heap on the
 * script's behalf against the cap of L's sandbox, collecting garbage once if
 * they do not fit. false (nothing counted, cap_hit set) if they still do not.
 * L is the running thread; never call this from a finalizer. */
bool lsb_hold(lua_State *L, size_t n);
void lsb_release(lsb *sb, size_t n);
/* Mark n bytes already held as the current call's output: they stay held
 * until lsb_release_call (when the call has returned and its output is handed
 * over or thrown away), and the cap's error message names them. */
void lsb_keep_for_call(lsb *sb, size_t n);
void lsb_release_call(lsb *sb);

/* Raise the cap's Lua error, "<where>memory limit exceeded (max_memory N
 * bytes) <what>", noting the call's held output if any. Does not return. */
int lsb_raise_cap(lua_State *L, const char *what);

/* Spend n instructions of the current call's budget on work done in C. When
 * the budget runs out, raise "instruction budget exceeded (N instructions)
 * <what>" (and from then on every instruction fails, as when the hook
 * stops a script). */
void lsb_spend(lua_State *L, int64_t n, const char *what);

/* lua_pcall with a message handler that turns error objects that are not
 * strings into text with the script location. On an error: the stack is back to its level before
 * the function was pushed (function and arguments popped), the message (with
 * "file:line:" when known) is in err, and the kind is returned. */
lsb_error lsb_pcall(lsb *sb, int nargs, int nresults, char *err, size_t errlen);

/* Load a chunk of Lua source (text only). chunkname as for lua_load ("@path"
 * or "=name"). On success the function is pushed. */
lsb_error lsb_load_file(lsb *sb, const char *path, char *err, size_t errlen);
lsb_error lsb_load_string(lsb *sb, const char *code, const char *chunkname, char *err, size_t errlen);

/* Load the module `name` for require() from the directories of `path`
 * (Lua files only): pushes the loaded function, or raises a Lua error. */
void lsb_register_require(lsb *sb, const mf_strlist *dirs);

#endif
