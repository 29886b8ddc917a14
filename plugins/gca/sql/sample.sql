-- A sample contact centre for demos and tests (docs/cfgdb.md): tenant t1 with
-- one switch, 20 agents and what they need. Load after schema.sql. Its agent
-- logins, extensions, places and queues are those the callgen source
-- generates with its default 20 agents (docs/plugins/callgen.md): agent i
-- (0..19) has login code a10001+i, extension 10001+i and place
-- Place_10001+i; the routing point 5000 and the queues 7001 and 7002; the
-- reason codes are callgen's Not Ready and after-call-work reasons.
BEGIN;

INSERT INTO cfg_tenant (dbid, name) VALUES (1, 't1');
INSERT INTO cfg_switch (dbid, tenant_dbid, name) VALUES (101, 1, 'SIP_Switch');

-- persons 1001..1020 (agents), 1021 a supervisor who is not an agent
INSERT INTO cfg_person (dbid, tenant_dbid, user_name, first_name, last_name, employee_id, is_agent, state)
SELECT 1000 + i, 1, lower(f) || '.' || lower(l), f, l, 'E' || (10000 + i), 2, 1
FROM unnest(ARRAY['Ada', 'Alan', 'Grace', 'Edsger', 'Barbara', 'Donald', 'Margaret', 'Dennis', 'Frances', 'Ken',
                  'Radia', 'Niklaus', 'Hedy', 'John', 'Sophie', 'Tony', 'Katherine', 'Leslie', 'Shafi', 'Butler'],
            ARRAY['Lovelace', 'Turing', 'Hopper', 'Dijkstra', 'Liskov', 'Knuth', 'Hamilton', 'Ritchie', 'Allen',
                  'Thompson', 'Perlman', 'Wirth', 'Lamarr', 'Backus', 'Wilson', 'Hoare', 'Johnson', 'Lamport',
                  'Goldwasser', 'Lampson'])
     WITH ORDINALITY AS n(f, l, i);
INSERT INTO cfg_person (dbid, tenant_dbid, user_name, first_name, last_name, employee_id, is_agent, state)
VALUES (1021, 1, 'sam.supervisor', 'Sam', 'Supervisor', 'E20001', 1, 1);

-- agent logins a10001..a10020, one per agent person
INSERT INTO cfg_agent_login (dbid, tenant_dbid, switch_dbid, login_code)
SELECT 2000 + i, 1, 101, 'a' || (10000 + i) FROM generate_series(1, 20) AS i;
INSERT INTO cfg_login_info (person_dbid, agent_login_dbid, wrapup_time)
SELECT 1000 + i, 2000 + i, CASE WHEN i <= 10 THEN 30 ELSE 60 END FROM generate_series(1, 20) AS i;

-- DNs: extensions 10001..10020, ACD queues 7001..7003, routing points 5000,
-- 8001, 8002, an IVR 9001
INSERT INTO cfg_dn (dbid, tenant_dbid, switch_dbid, number, type, name)
SELECT 3000 + i, 1, 101, (10000 + i)::text, 'Extension', 'Ext ' || (10000 + i) FROM generate_series(1, 20) AS i;
INSERT INTO cfg_dn (dbid, tenant_dbid, switch_dbid, number, type, name) VALUES
    (3101, 1, 101, '7001', 'ACDQueue', 'Sales'),
    (3102, 1, 101, '7002', 'ACDQueue', 'Support'),
    (3103, 1, 101, '7003', 'ACDQueue', 'Billing'),
    (3201, 1, 101, '5000', 'RoutingPoint', 'Main entry'),
    (3202, 1, 101, '8001', 'RoutingPoint', 'Sales entry'),
    (3203, 1, 101, '8002', 'RoutingPoint', 'Support entry'),
    (3301, 1, 101, '9001', 'IVR', 'Main IVR');

-- places Place_10001..Place_10020
INSERT INTO cfg_place (dbid, tenant_dbid, name)
SELECT 4000 + i, 1, 'Place_' || (10000 + i) FROM generate_series(1, 20) AS i;

-- agent groups: Sales (agents 1..10), Support (11..20), Seniors (1, 2, 11, 12)
INSERT INTO cfg_group (dbid, tenant_dbid, name, type) VALUES
    (5001, 1, 'Sales', 'Agent'), (5002, 1, 'Support', 'Agent'), (5003, 1, 'Seniors', 'Agent');
INSERT INTO cfg_agent_group (group_dbid, person_dbid)
SELECT CASE WHEN i <= 10 THEN 5001 ELSE 5002 END, 1000 + i FROM generate_series(1, 20) AS i;
INSERT INTO cfg_agent_group (group_dbid, person_dbid) VALUES (5003, 1001), (5003, 1002), (5003, 1011), (5003, 1012);

-- skills and who has them
INSERT INTO cfg_skill (dbid, tenant_dbid, name) VALUES (6001, 1, 'English'), (6002, 1, 'Spanish'), (6003, 1, 'Billing');
INSERT INTO cfg_skill_level (person_dbid, skill_dbid, level)
SELECT 1000 + i, 6001, 1 + i % 5 FROM generate_series(1, 20) AS i;
INSERT INTO cfg_skill_level (person_dbid, skill_dbid, level)
SELECT 1000 + i, 6002, 3 FROM generate_series(1, 20, 3) AS i;
INSERT INTO cfg_skill_level (person_dbid, skill_dbid, level)
SELECT 1000 + i, 6003, 2 FROM generate_series(11, 20) AS i;

-- reason codes: callgen's Not Ready reasons (and RONA) and after-call-work reasons
INSERT INTO cfg_action_code (dbid, tenant_dbid, name, code, type) VALUES
    (7101, 1, 'Break', 'Break', 'NotReady'),
    (7102, 1, 'Lunch', 'Lunch', 'NotReady'),
    (7103, 1, 'Meeting', 'Meeting', 'NotReady'),
    (7104, 1, 'Training', 'Training', 'NotReady'),
    (7105, 1, 'Ring no answer', 'RONA', 'NotReady'),
    (7111, 1, 'Wrap-up', 'Wrapup', 'AfterCallWork'),
    (7112, 1, 'Callback', 'Callback', 'AfterCallWork'),
    (7113, 1, 'Notes', 'Notes', 'AfterCallWork');

-- annex (flex properties)
INSERT INTO cfg_flex_prop (dbid, object_type, object_dbid, section, prop_name, prop_value) VALUES
    (8001, 'CfgPerson', 1001, 'htcc', 'roles', 'agent,supervisor'),
    (8002, 'CfgPerson', 1001, 'interaction-workspace', 'language', 'en'),
    (8003, 'CfgPerson', 1011, 'interaction-workspace', 'language', 'es'),
    (8004, 'CfgDN', 3101, 'routing', 'service_level_s', '20'),
    (8005, 'CfgTenant', 1, 'gim-etl', 'timezone', 'UTC'),
    (8006, 'CfgAgentGroup', 5003, 'reporting', 'tier', 'senior');

COMMIT;
