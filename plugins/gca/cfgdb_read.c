/* cfgdb_read.c — see cfgdb_read.h. Each type is one SELECT that builds the
 * object's data with jsonb_build_object (the column -> field mapping of
 * docs/cfgdb.md lives here), made canonical on our side (cfgdb_set). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgdb_read.h"

/* The annex of object ID (an SQL expression) of type T: {section: {key: value}}. */
#define ANNEX(T, ID)                                                                                   \
    "'annex', COALESCE((SELECT jsonb_object_agg(s.section, s.props) FROM (SELECT section, "          \
    "jsonb_object_agg(prop_name, prop_value) AS props FROM cfg_flex_prop f WHERE f.object_type = '" T \
    "' AND f.object_dbid = " ID " GROUP BY section) s), '{}'::jsonb)"

/* $1: the tenant's DBID. Each returns (dbid, data). */
static const char *const queries[GCA_TYPE_COUNT] = {
    [GCA_TENANT] = "SELECT t.dbid, jsonb_build_object('dbid', t.dbid, 'name', t.name, 'state', t.state, "
                   ANNEX("CfgTenant", "t.dbid") ") FROM cfg_tenant t WHERE t.dbid = $1",
    [GCA_SWITCH] = "SELECT x.dbid, jsonb_build_object('dbid', x.dbid, 'name', x.name, 'state', x.state, "
                   ANNEX("CfgSwitch", "x.dbid") ") FROM cfg_switch x WHERE x.tenant_dbid = $1",
    [GCA_AGENT_LOGIN] = "SELECT x.dbid, jsonb_build_object('dbid', x.dbid, 'login_code', x.login_code, "
                        "'switch_dbid', x.switch_dbid, 'state', x.state, " ANNEX("CfgAgentLogin", "x.dbid")
                        ") FROM cfg_agent_login x WHERE x.tenant_dbid = $1",
    [GCA_DN] = "SELECT x.dbid, jsonb_build_object('dbid', x.dbid, 'number', x.number, 'switch_dbid', x.switch_dbid, "
               "'type', x.type, 'name', x.name, 'state', x.state, " ANNEX("CfgDN", "x.dbid")
               ") FROM cfg_dn x WHERE x.tenant_dbid = $1",
    [GCA_PLACE] = "SELECT x.dbid, jsonb_build_object('dbid', x.dbid, 'name', x.name, 'state', x.state, "
                  ANNEX("CfgPlace", "x.dbid") ") FROM cfg_place x WHERE x.tenant_dbid = $1",
    [GCA_SKILL] = "SELECT x.dbid, jsonb_build_object('dbid', x.dbid, 'name', x.name, 'state', x.state, "
                  ANNEX("CfgSkill", "x.dbid") ") FROM cfg_skill x WHERE x.tenant_dbid = $1",
    [GCA_ACTION_CODE] = "SELECT x.dbid, jsonb_build_object('dbid', x.dbid, 'name', x.name, 'code', x.code, "
                        "'type', x.type, 'state', x.state, " ANNEX("CfgActionCode", "x.dbid")
                        ") FROM cfg_action_code x WHERE x.tenant_dbid = $1",
    [GCA_PERSON] =
        "SELECT p.dbid, jsonb_build_object('dbid', p.dbid, 'user_name', p.user_name, 'first_name', p.first_name, "
        "'last_name', p.last_name, 'employee_id', p.employee_id, 'is_agent', p.is_agent, 'state', p.state, "
        "'agent_logins', COALESCE((SELECT jsonb_agg(jsonb_build_object('agent_login_dbid', li.agent_login_dbid, "
        "'wrapup_time', li.wrapup_time) ORDER BY li.agent_login_dbid) FROM cfg_login_info li "
        "WHERE li.person_dbid = p.dbid), '[]'::jsonb), "
        "'skills', COALESCE((SELECT jsonb_agg(jsonb_build_object('skill_dbid', sl.skill_dbid, 'level', sl.level) "
        "ORDER BY sl.skill_dbid) FROM cfg_skill_level sl WHERE sl.person_dbid = p.dbid), '[]'::jsonb), "
        ANNEX("CfgPerson", "p.dbid") ") FROM cfg_person p WHERE p.tenant_dbid = $1",
    [GCA_AGENT_GROUP] =
        "SELECT g.dbid, jsonb_build_object('dbid', g.dbid, 'name', g.name, 'state', g.state, "
        "'members', COALESCE((SELECT jsonb_agg(ag.person_dbid ORDER BY ag.person_dbid) FROM cfg_agent_group ag "
        "WHERE ag.group_dbid = g.dbid), '[]'::jsonb), " ANNEX("CfgAgentGroup", "g.dbid")
        ") FROM cfg_group g WHERE g.tenant_dbid = $1 AND g.type = 'Agent'",
};

static cfgdb_read_result failed(pgc *db, const char *what, char *why, size_t why_len)
{
    const pgc_error *e = pgc_last_error(db);
    snprintf(why, why_len, "%s: %s%s%s", what, e->message, e->sqlstate[0] ? " (SQLSTATE " : "",
             e->sqlstate[0] ? e->sqlstate : "");
    if (e->sqlstate[0])
        strncat(why, ")", why_len - strlen(why) - 1);
    return e->cls == PGC_FATAL ? CFGDB_READ_FATAL : CFGDB_READ_RETRY;
}

static bool add_rows(cfgdb_set *out, gca_type type, PGresult *res, char *why, size_t why_len)
{
    int rows = PQntuples(res);
    for (int r = 0; r < rows; r++) {
        long long dbid = strtoll(PQgetvalue(res, r, 0), NULL, 10);
        if (!cfgdb_set_add_text(out, type, dbid, 0, PQgetvalue(res, r, 1), (size_t)PQgetlength(res, r, 1), why,
                                why_len))
            return false;
    }
    return true;
}

cfgdb_read_result cfgdb_read(pgc *db, const char *tenant, cfgdb_set *out, char *why, size_t why_len)
{
    cfgdb_read_result rc = CFGDB_READ_RETRY;
    PGresult *res = NULL;
    cfgdb_set_free(out);
    if (pgc_begin(db) != PGC_OK)
        return failed(db, "cannot read the configuration database", why, why_len);
    if (pgc_exec(db, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL, NULL) != PGC_OK) {
        rc = failed(db, "cannot start a repeatable-read transaction", why, why_len);
        goto fail;
    }
    const char *p[1] = {tenant};
    if (pgc_exec(db, "SELECT dbid FROM cfg_tenant WHERE name = $1", 1, p, &res) != PGC_OK) {
        rc = failed(db, "cannot read cfg_tenant", why, why_len);
        goto fail;
    }
    if (PQntuples(res) != 1) {
        snprintf(why, why_len, "the configuration database has no tenant named '%s' (cfg_tenant.name)", tenant);
        rc = CFGDB_READ_RETRY;
        goto fail;
    }
    char tenant_dbid[32];
    snprintf(tenant_dbid, sizeof tenant_dbid, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    res = NULL;
    p[0] = tenant_dbid;
    for (int t = 0; t < GCA_TYPE_COUNT; t++) {
        if (pgc_exec(db, queries[t], 1, p, &res) != PGC_OK) {
            char what[64];
            snprintf(what, sizeof what, "cannot read the %s objects", gca_type_name((gca_type)t));
            rc = failed(db, what, why, why_len);
            goto fail;
        }
        if (!add_rows(out, (gca_type)t, res, why, why_len)) {
            rc = CFGDB_READ_FATAL;
            goto fail;
        }
        PQclear(res);
        res = NULL;
    }
    if (pgc_commit(db) != PGC_OK) {
        rc = failed(db, "cannot end the read transaction", why, why_len);
        goto fail;
    }
    if (!cfgdb_set_sort(out, why, why_len)) {
        rc = CFGDB_READ_FATAL;
        goto fail_done;
    }
    return CFGDB_READ_OK;
fail:
    PQclear(res);
    pgc_rollback(db);
fail_done:
    cfgdb_set_free(out);
    return rc;
}
