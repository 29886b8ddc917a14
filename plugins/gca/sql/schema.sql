-- The configuration-database subset GCA reads (docs/cfgdb.md): the tables and
-- columns of the Configuration Server database that the Info Mart uses, in a
-- form of our own (INFOMART-MODEL.md §2). GCA only reads them (SELECT), in one
-- REPEATABLE READ READ ONLY transaction per poll. Installed as
-- share/martflow/cfgdb/schema.sql; load it with `psql -f`, then sample.sql.
--
-- DBIDs are the objects' identities (the gca-cfg key is tenant:type:dbid):
-- never reuse one for another object. Every object table has tenant_dbid.

CREATE TABLE cfg_tenant (
    dbid        integer PRIMARY KEY,
    name        text    NOT NULL UNIQUE,       -- the tenant id of records (TENANT_ID)
    state       integer NOT NULL DEFAULT 1      -- 1 enabled, 2 disabled
);

CREATE TABLE cfg_switch (
    dbid        integer PRIMARY KEY,
    tenant_dbid integer NOT NULL REFERENCES cfg_tenant,
    name        text    NOT NULL,
    state       integer NOT NULL DEFAULT 1
);

CREATE TABLE cfg_person (
    dbid        integer PRIMARY KEY,
    tenant_dbid integer NOT NULL REFERENCES cfg_tenant,
    user_name   text    NOT NULL,
    first_name  text,
    last_name   text,
    employee_id text,
    is_agent    integer NOT NULL DEFAULT 2,     -- 2 agent, 1 not an agent
    state       integer NOT NULL DEFAULT 1      -- 1 enabled, 2 disabled
);

CREATE TABLE cfg_agent_login (
    dbid        integer PRIMARY KEY,
    tenant_dbid integer NOT NULL REFERENCES cfg_tenant,
    switch_dbid integer NOT NULL REFERENCES cfg_switch,
    login_code  text    NOT NULL,               -- the AgentID of voice events
    state       integer NOT NULL DEFAULT 1
);

-- Which person uses which agent logins (a person's CfgAgentLoginInfo).
CREATE TABLE cfg_login_info (
    person_dbid      integer NOT NULL REFERENCES cfg_person ON DELETE CASCADE,
    agent_login_dbid integer NOT NULL REFERENCES cfg_agent_login ON DELETE CASCADE,
    wrapup_time      integer NOT NULL DEFAULT 0, -- seconds of after-call work
    PRIMARY KEY (person_dbid, agent_login_dbid)
);

CREATE TABLE cfg_dn (
    dbid        integer PRIMARY KEY,
    tenant_dbid integer NOT NULL REFERENCES cfg_tenant,
    switch_dbid integer NOT NULL REFERENCES cfg_switch,
    number      text    NOT NULL,
    type        text    NOT NULL,               -- Extension, ACDPosition, ACDQueue, VirtualQueue, RoutingPoint, IVR, External, ...
    name        text,                           -- alias
    state       integer NOT NULL DEFAULT 1
);

CREATE TABLE cfg_place (
    dbid        integer PRIMARY KEY,
    tenant_dbid integer NOT NULL REFERENCES cfg_tenant,
    name        text    NOT NULL,
    state       integer NOT NULL DEFAULT 1
);

-- Groups; GCA publishes those of type Agent as CfgAgentGroup.
CREATE TABLE cfg_group (
    dbid        integer PRIMARY KEY,
    tenant_dbid integer NOT NULL REFERENCES cfg_tenant,
    name        text    NOT NULL,
    type        text    NOT NULL DEFAULT 'Agent', -- Agent (others: Place, DN; not published)
    state       integer NOT NULL DEFAULT 1
);

-- Membership of agent groups.
CREATE TABLE cfg_agent_group (
    group_dbid  integer NOT NULL REFERENCES cfg_group ON DELETE CASCADE,
    person_dbid integer NOT NULL REFERENCES cfg_person ON DELETE CASCADE,
    PRIMARY KEY (group_dbid, person_dbid)
);

CREATE TABLE cfg_skill (
    dbid        integer PRIMARY KEY,
    tenant_dbid integer NOT NULL REFERENCES cfg_tenant,
    name        text    NOT NULL,
    state       integer NOT NULL DEFAULT 1
);

-- A person's skills (CfgSkillLevel).
CREATE TABLE cfg_skill_level (
    person_dbid integer NOT NULL REFERENCES cfg_person ON DELETE CASCADE,
    skill_dbid  integer NOT NULL REFERENCES cfg_skill ON DELETE CASCADE,
    level       integer NOT NULL DEFAULT 1,
    PRIMARY KEY (person_dbid, skill_dbid)
);

-- Reason codes (Not Ready, after-call work, ...).
CREATE TABLE cfg_action_code (
    dbid        integer PRIMARY KEY,
    tenant_dbid integer NOT NULL REFERENCES cfg_tenant,
    name        text    NOT NULL,
    code        text    NOT NULL,               -- Reasons.ReasonCode of agent events
    type        text    NOT NULL,               -- NotReady, AfterCallWork, ...
    state       integer NOT NULL DEFAULT 1
);

-- Annex (flex properties): section/key/value of any object above.
CREATE TABLE cfg_flex_prop (
    dbid        integer PRIMARY KEY,
    object_type text    NOT NULL,               -- CfgPerson, CfgAgentLogin, CfgDN, CfgPlace, CfgAgentGroup,
                                                -- CfgSkill, CfgSwitch, CfgActionCode, CfgTenant
    object_dbid integer NOT NULL,
    section     text    NOT NULL,
    prop_name   text    NOT NULL,
    prop_value  text,
    UNIQUE (object_type, object_dbid, section, prop_name)
);
CREATE INDEX cfg_flex_prop_object ON cfg_flex_prop (object_type, object_dbid);
