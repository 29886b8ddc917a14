/*
 * lua_env.h — what the library functions of one plugin instance share: the
 * sandbox, the engine (node, host), the outbox, and the call in progress
 * (which input(s) new records derive from, for acknowledgement).
 */
#ifndef MF_LUA_ENV_H
#define MF_LUA_ENV_H

#include <stdbool.h>
#include <stddef.h>

#include <martflow/martflow.h>

#include "lua_outbox.h"
#include "lua_sandbox.h"

typedef enum lp_call {
    LP_CALL_NONE = 0, /* init, snapshot...: emit is not available */
    LP_CALL_RECORD,   /* process(record): new records join the input's ack */
    LP_CALL_BATCH,    /* process_batch(records): new records join a group of the inputs */
    LP_CALL_GROUP     /* timer, shutdown: new records join a fresh group */
} lp_call;

typedef struct lp_env {
    lsb sb;
    mf_node *node;
    const mf_host *host;
    lp_outbox out;

    lp_call call;
    mf_record *input;      /* LP_CALL_RECORD */
    mf_record *inputs;     /* LP_CALL_BATCH */
    size_t n_inputs;
    mf_ack *group;         /* LP_CALL_BATCH / LP_CALL_GROUP, created on first use */
    uint64_t generation;   /* bumped when a call returns: older record objects are expired */
} lp_env;

static inline lp_env *lp_env_of(lua_State *L)
{
    return lsb_from(L)->user;
}

/* The ack a new record (not derived from one input record) joins in this call;
 * raises a Lua error outside a call that may emit. */
mf_ack *lp_env_new_record_ack(lua_State *L, lp_env *env);

/* lua_record.c: record userdata and the emit function. */
typedef struct lr_record lr_record;
void lr_register(lua_State *L, int lib);
/* Push a record object for the input rec, valid until env->generation
 * changes (the end of the current call). */
void lr_push(lua_State *L, lp_env *env, mf_record *rec);
/* Push the emit function of this state. */
void lr_push_emit(lua_State *L);

/* lua_lib.c: the martflow table and print(). */
void lp_lib_open(lua_State *L, lp_env *env);

#endif
