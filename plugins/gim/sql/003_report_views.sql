-- 003_report_views.sql — the reporting views: the Info Mart's facts counted
-- per 15-minute interval (UTC), per queue and per agent, for `martflow report`
-- (docs/report.md) and any BI tool.
--
-- Rules shared by every view here:
--   - an interval is the 15-minute one of date_time (date_time_key = its start,
--     epoch seconds; interval_start the same as timestamptz); longer intervals
--     and other time zones are sums of these rows (every real time zone is
--     offset from UTC by a multiple of 15 minutes);
--   - a count or a call's durations go to the interval in which the fact
--     started (start_ts), whole; a state's or a reason's seconds are split
--     across the intervals the period overlaps, so that an interval holds
--     exactly the time spent in it;
--   - a row exists only for an interval with something to count.
-- The SQL behind the report lives here, not in the program: what the report
-- prints is what these views say.

-- ---- queues ---------------------------------------------------------------------

CREATE FUNCTION report_queue_interval(answer_threshold integer) RETURNS TABLE (
    tenant_key integer, tenant_name text, resource_key integer, queue_name text, queue_alias text,
    date_time_key bigint, interval_start timestamptz,
    offered bigint, answered bigint, abandoned_in_queue bigint, abandoned_ringing bigint,
    redirected_no_answer bigint, answered_within_threshold bigint,
    speed_of_answer_sum bigint, speed_of_answer_count bigint)
LANGUAGE sql STABLE AS $$
    SELECT m.tenant_key, t.tenant_name, m.resource_key, r.resource_name, r.resource_alias,
           m.start_date_time_key, to_timestamp(m.start_date_time_key),
           count(*),
           count(*) FILTER (WHERE x.answered),
           count(*) FILTER (WHERE d.technical_result = 'Abandoned' AND d.result_reason = 'AbandonedWhileQueued'),
           count(*) FILTER (WHERE d.technical_result = 'Diverted' AND d.result_reason = 'AbandonedWhileRinging'),
           count(*) FILTER (WHERE d.technical_result = 'Diverted' AND d.result_reason = 'RouteOnNoAnswer'),
           count(*) FILTER (WHERE x.answered AND CASE WHEN answer_threshold IS NULL THEN m.met_threshold_flag = 1
                                                      ELSE m.mediation_duration <= answer_threshold END),
           coalesce(sum(m.mediation_duration) FILTER (WHERE x.answered), 0),
           count(m.mediation_duration) FILTER (WHERE x.answered)
      FROM mediation_segment_fact m
      JOIN resource_ r ON r.resource_key = m.resource_key
      JOIN tenant t ON t.tenant_key = m.tenant_key
      JOIN technical_descriptor d ON d.technical_descriptor_key = m.technical_descriptor_key
      CROSS JOIN LATERAL (SELECT d.technical_result = 'Diverted' AND d.result_reason = 'AnsweredByAgent' AS answered) x
     WHERE r.resource_type = 'Queue'
     GROUP BY m.tenant_key, t.tenant_name, m.resource_key, r.resource_name, r.resource_alias, m.start_date_time_key
$$;
COMMENT ON FUNCTION report_queue_interval(integer) IS
    'The rows of v_queue_interval, with answered_within_threshold counting the answered stays whose mediation_duration is at most answer_threshold seconds (NULL: MET_THRESHOLD_FLAG, the threshold GSP applied). A SQL function that PostgreSQL inlines: filters on its columns reach the tables.';

CREATE VIEW v_queue_interval AS SELECT * FROM report_queue_interval(NULL);
COMMENT ON VIEW v_queue_interval IS
    'One row per tenant, queue and 15-minute interval in which stays began (grain: tenant x queue x interval). A stay is a MEDIATION_SEGMENT_FACT row of a resource of type Queue (routing points are not counted); each stay counts in the interval of its start_ts (when the call entered the queue). A call that returns to the queue (route on no answer) makes a second stay. Service level and average speed of answer are ratios of these columns (docs/report.md).';
COMMENT ON COLUMN v_queue_interval.tenant_key IS 'The tenant (tenant).';
COMMENT ON COLUMN v_queue_interval.tenant_name IS 'The tenant''s name (tenant.tenant_name).';
COMMENT ON COLUMN v_queue_interval.resource_key IS 'The queue (resource_, resource_type Queue).';
COMMENT ON COLUMN v_queue_interval.queue_name IS 'The queue''s DN number (resource_.resource_name).';
COMMENT ON COLUMN v_queue_interval.queue_alias IS 'The queue''s name in the configuration (resource_.resource_alias), NULL when not configured.';
COMMENT ON COLUMN v_queue_interval.date_time_key IS 'The interval: date_time_key (epoch second of its start, UTC) = the stays'' start_date_time_key.';
COMMENT ON COLUMN v_queue_interval.interval_start IS 'The interval''s start as timestamptz (to_timestamp(date_time_key)).';
COMMENT ON COLUMN v_queue_interval.offered IS 'Stays that began in the interval, whatever their outcome (still active ones too).';
COMMENT ON COLUMN v_queue_interval.answered IS 'Stays that ended with an agent answering: technical result Diverted, result reason AnsweredByAgent.';
COMMENT ON COLUMN v_queue_interval.abandoned_in_queue IS 'Stays the caller abandoned while waiting: technical result Abandoned, result reason AbandonedWhileQueued.';
COMMENT ON COLUMN v_queue_interval.abandoned_ringing IS 'Stays distributed to an agent whose phone was ringing when the caller hung up: technical result Diverted, result reason AbandonedWhileRinging.';
COMMENT ON COLUMN v_queue_interval.redirected_no_answer IS 'Stays distributed to an agent who did not answer, the call returning to a queue (a new stay): Diverted / RouteOnNoAnswer. Offered minus answered, both abandoned columns and this one leaves the stays still active or ended otherwise (cleared, stuck).';
COMMENT ON COLUMN v_queue_interval.answered_within_threshold IS 'Answered stays with MET_THRESHOLD_FLAG 1: distributed within GSP''s answer_threshold (callthread option, 20 s by default).';
COMMENT ON COLUMN v_queue_interval.speed_of_answer_sum IS 'Sum of the answered stays'' mediation_duration (seconds from entering the queue to distribution to the answering agent).';
COMMENT ON COLUMN v_queue_interval.speed_of_answer_count IS 'Number of answered stays summed in speed_of_answer_sum (= answered); average speed of answer = speed_of_answer_sum / speed_of_answer_count.';

-- ---- agents: states and reasons, split across intervals --------------------------

-- The 15-minute pieces of a period [start_ts, stop): one row per interval the
-- period overlaps, with the seconds of the overlap (none for an empty period).
CREATE FUNCTION report_split_interval(start_ts bigint, stop_ts bigint)
RETURNS TABLE (date_time_key bigint, seconds integer)
LANGUAGE sql IMMUTABLE AS $$
    SELECT k, (least(stop_ts, k + 900) - greatest(start_ts, k))::integer
      FROM generate_series(start_ts - start_ts % 900, stop_ts - 1, 900) k
     WHERE stop_ts > start_ts
$$;
COMMENT ON FUNCTION report_split_interval(bigint, bigint) IS
    'The 15-minute intervals a period [start_ts, stop_ts) overlaps (UTC epoch seconds), each with the seconds of the overlap; no row for an empty period. The agent views split states and reasons with it.';

CREATE VIEW v_agent_state_interval AS
    SELECT s.tenant_key, t.tenant_name, s.resource_key, r.resource_name AS agent_name,
           p.date_time_key, to_timestamp(p.date_time_key) AS interval_start,
           rs.state_name_code, sum(p.seconds)::bigint AS seconds
      FROM sm_res_state_fact s
      JOIN resource_ r ON r.resource_key = s.resource_key
      JOIN tenant t ON t.tenant_key = s.tenant_key
      JOIN resource_state rs ON rs.resource_state_key = s.resource_state_key
      CROSS JOIN LATERAL report_split_interval(s.start_ts, coalesce(s.end_ts, s.start_ts + s.total_duration)) p
     GROUP BY s.tenant_key, t.tenant_name, s.resource_key, r.resource_name, p.date_time_key, rs.state_name_code;
COMMENT ON VIEW v_agent_state_interval IS
    'Seconds per tenant, agent, 15-minute interval and summarised state (grain: tenant x agent x interval x state), from SM_RES_STATE_FACT. A state period is split across the intervals it overlaps; a period still active counts up to start_ts + total_duration (the time known so far). The states of a session tile it, so the seconds of an agent in an interval add up to the time logged in during it.';
COMMENT ON COLUMN v_agent_state_interval.tenant_key IS 'The tenant (tenant).';
COMMENT ON COLUMN v_agent_state_interval.tenant_name IS 'The tenant''s name.';
COMMENT ON COLUMN v_agent_state_interval.resource_key IS 'The agent (resource_).';
COMMENT ON COLUMN v_agent_state_interval.agent_name IS 'The agent''s login code (resource_.resource_name).';
COMMENT ON COLUMN v_agent_state_interval.date_time_key IS 'The interval: epoch second of its start, UTC.';
COMMENT ON COLUMN v_agent_state_interval.interval_start IS 'The interval''s start as timestamptz.';
COMMENT ON COLUMN v_agent_state_interval.state_name_code IS 'READY, NOT_READY, BUSY or ACW (resource_state.state_name_code).';
COMMENT ON COLUMN v_agent_state_interval.seconds IS 'Seconds of the state''s periods within the interval.';

CREATE VIEW v_agent_reason_interval AS
    SELECT f.tenant_key, t.tenant_name, f.resource_key, r.resource_name AS agent_name,
           p.date_time_key, to_timestamp(p.date_time_key) AS interval_start,
           rs.state_name_code, sr.reason_type, sr.software_reason_key AS reason_key,
           sr.software_reason_value AS reason_value, sr.workmode, sum(p.seconds)::bigint AS seconds
      FROM sm_res_state_reason_fact f
      JOIN resource_ r ON r.resource_key = f.resource_key
      JOIN tenant t ON t.tenant_key = f.tenant_key
      JOIN resource_state rs ON rs.resource_state_key = f.resource_state_key
      JOIN resource_state_reason sr ON sr.resource_state_reason_key = f.resource_state_reason_key
      CROSS JOIN LATERAL report_split_interval(f.start_ts, coalesce(f.end_ts, f.start_ts + f.total_duration)) p
     GROUP BY f.tenant_key, t.tenant_name, f.resource_key, r.resource_name, p.date_time_key, rs.state_name_code,
              sr.reason_type, sr.software_reason_key, sr.software_reason_value, sr.workmode;
COMMENT ON VIEW v_agent_reason_interval IS
    'Seconds per tenant, agent, 15-minute interval, state (NOT_READY or ACW) and reason (grain: tenant x agent x interval x state x reason), from SM_RES_STATE_REASON_FACT, split across intervals as v_agent_state_interval. A reason is recorded while its state is the agent''s summarised state or not (a reason of NOT_READY during a call still counts here), so reason seconds can exceed the state''s; the NOT_READY after login has no reason row (docs/agent-state-rules.md), so they can also fall short of it.';
COMMENT ON COLUMN v_agent_reason_interval.tenant_key IS 'The tenant (tenant).';
COMMENT ON COLUMN v_agent_reason_interval.tenant_name IS 'The tenant''s name.';
COMMENT ON COLUMN v_agent_reason_interval.resource_key IS 'The agent (resource_).';
COMMENT ON COLUMN v_agent_reason_interval.agent_name IS 'The agent''s login code.';
COMMENT ON COLUMN v_agent_reason_interval.date_time_key IS 'The interval: epoch second of its start, UTC.';
COMMENT ON COLUMN v_agent_reason_interval.interval_start IS 'The interval''s start as timestamptz.';
COMMENT ON COLUMN v_agent_reason_interval.state_name_code IS 'NOT_READY or ACW.';
COMMENT ON COLUMN v_agent_reason_interval.reason_type IS 'Software or Hardware (resource_state_reason.reason_type).';
COMMENT ON COLUMN v_agent_reason_interval.reason_key IS 'The reason''s key, e.g. ReasonCode; '''' when none.';
COMMENT ON COLUMN v_agent_reason_interval.reason_value IS 'The reason, e.g. Lunch; '''' when none.';
COMMENT ON COLUMN v_agent_reason_interval.workmode IS 'The AgentWorkMode: AuxWork, AfterCallWork, ...; '''' when absent.';
COMMENT ON COLUMN v_agent_reason_interval.seconds IS 'Seconds of the reason''s periods within the interval.';

CREATE VIEW v_agent_interval AS
    WITH calls AS (
        SELECT f.tenant_key, f.resource_key, f.start_date_time_key AS date_time_key,
               count(*) AS handled, sum(f.talk_duration)::bigint AS talk_seconds,
               sum(f.hold_duration)::bigint AS hold_seconds, sum(f.after_call_work_duration)::bigint AS acw_seconds
          FROM interaction_resource_fact f
          JOIN resource_ r ON r.resource_key = f.resource_key
          JOIN interaction_type it ON it.interaction_type_key = f.interaction_type_key
         WHERE r.resource_type = 'Agent' AND f.talk_count > 0 AND it.interaction_type IN ('Inbound', 'Outbound')
         GROUP BY f.tenant_key, f.resource_key, f.start_date_time_key),
    states AS (
        SELECT tenant_key, resource_key, date_time_key,
               coalesce(sum(seconds) FILTER (WHERE state_name_code = 'READY'), 0)::bigint AS ready_seconds,
               coalesce(sum(seconds) FILTER (WHERE state_name_code = 'NOT_READY'), 0)::bigint AS not_ready_seconds,
               coalesce(sum(seconds) FILTER (WHERE state_name_code = 'BUSY'), 0)::bigint AS busy_seconds,
               coalesce(sum(seconds) FILTER (WHERE state_name_code = 'ACW'), 0)::bigint AS state_acw_seconds
          FROM v_agent_state_interval
         GROUP BY tenant_key, resource_key, date_time_key),
    reasons AS (
        SELECT tenant_key, resource_key, date_time_key, jsonb_object_agg(reason_value, seconds) AS not_ready_reason_seconds
          FROM (SELECT tenant_key, resource_key, date_time_key, reason_value, sum(seconds) AS seconds
                  FROM v_agent_reason_interval WHERE state_name_code = 'NOT_READY'
                 GROUP BY tenant_key, resource_key, date_time_key, reason_value) x
         GROUP BY tenant_key, resource_key, date_time_key)
    SELECT k.tenant_key, t.tenant_name, k.resource_key, r.resource_name AS agent_name,
           nullif(trim(coalesce(r.agent_first_name, '') || ' ' || coalesce(r.agent_last_name, '')), '') AS agent_full_name,
           k.date_time_key, to_timestamp(k.date_time_key) AS interval_start,
           coalesce(c.handled, 0) AS handled, coalesce(c.talk_seconds, 0) AS talk_seconds,
           coalesce(c.hold_seconds, 0) AS hold_seconds, coalesce(c.acw_seconds, 0) AS acw_seconds,
           coalesce(s.ready_seconds, 0) AS ready_seconds, coalesce(s.not_ready_seconds, 0) AS not_ready_seconds,
           coalesce(s.busy_seconds, 0) AS busy_seconds, coalesce(s.state_acw_seconds, 0) AS state_acw_seconds,
           coalesce(n.not_ready_reason_seconds, '{}'::jsonb) AS not_ready_reason_seconds
      FROM (SELECT tenant_key, resource_key, date_time_key FROM calls
            UNION SELECT tenant_key, resource_key, date_time_key FROM states) k
      LEFT JOIN calls c USING (tenant_key, resource_key, date_time_key)
      LEFT JOIN states s USING (tenant_key, resource_key, date_time_key)
      LEFT JOIN reasons n USING (tenant_key, resource_key, date_time_key)
      JOIN resource_ r ON r.resource_key = k.resource_key
      JOIN tenant t ON t.tenant_key = k.tenant_key;
COMMENT ON VIEW v_agent_interval IS
    'One row per tenant, agent and 15-minute interval with calls handled or time logged in (grain: tenant x agent x interval). Call columns come from INTERACTION_RESOURCE_FACT rows of the agent, each whole in the interval of its start_ts; state columns from v_agent_state_interval (split across intervals). Average handle time = (talk_seconds + hold_seconds + acw_seconds) / handled.';
COMMENT ON COLUMN v_agent_interval.tenant_key IS 'The tenant (tenant).';
COMMENT ON COLUMN v_agent_interval.tenant_name IS 'The tenant''s name.';
COMMENT ON COLUMN v_agent_interval.resource_key IS 'The agent (resource_, resource_type Agent).';
COMMENT ON COLUMN v_agent_interval.agent_name IS 'The agent''s login code (resource_.resource_name).';
COMMENT ON COLUMN v_agent_interval.agent_full_name IS 'First and last name of the agent''s person (personal data), NULL when the configuration gives none.';
COMMENT ON COLUMN v_agent_interval.date_time_key IS 'The interval: epoch second of its start, UTC.';
COMMENT ON COLUMN v_agent_interval.interval_start IS 'The interval''s start as timestamptz.';
COMMENT ON COLUMN v_agent_interval.handled IS 'Customer calls the agent handled: its IRFs of Inbound or Outbound interactions with talk_count > 0 (it answered, or its outbound call connected), by the IRF''s start. A transferred call counts for both agents; a consultation alone, an unanswered ringing (RONA, abandoned) and internal calls do not.';
COMMENT ON COLUMN v_agent_interval.talk_seconds IS 'Sum of talk_duration of the handled calls (talk, hold excluded).';
COMMENT ON COLUMN v_agent_interval.hold_seconds IS 'Sum of hold_duration of the handled calls.';
COMMENT ON COLUMN v_agent_interval.acw_seconds IS 'Sum of after_call_work_duration of the handled calls (the ACW attributed to each call, docs/agent-state-rules.md).';
COMMENT ON COLUMN v_agent_interval.ready_seconds IS 'Seconds in the summarised state READY within the interval.';
COMMENT ON COLUMN v_agent_interval.not_ready_seconds IS 'Seconds in the summarised state NOT_READY within the interval.';
COMMENT ON COLUMN v_agent_interval.busy_seconds IS 'Seconds in the summarised state BUSY (on a call, ringing and dialing included) within the interval.';
COMMENT ON COLUMN v_agent_interval.state_acw_seconds IS 'Seconds in the summarised state ACW within the interval (whether or not attributed to a call).';
COMMENT ON COLUMN v_agent_interval.not_ready_reason_seconds IS 'NOT_READY reason seconds within the interval as a JSON object {reason_value: seconds} (v_agent_reason_interval; "" for no reason).';
