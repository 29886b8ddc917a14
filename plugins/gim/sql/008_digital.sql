-- 008_digital.sql — what digital interactions (chat, e-mail, SMS, social,
-- work items: the `digital` transform, docs/digital-rules.md) need of the
-- schema: workbins as resources, and the technical descriptors its rules
-- produce.
--
-- A digital interaction waits in interaction queues (resource type Queue,
-- as voice's) and in workbins, where an e-mail may be parked for days by
-- routing or by an agent; its mediation segments name the workbin as their
-- resource, so resource_type admits 'Workbin'.
--
-- The descriptors: every role of an agent's involvement (Received,
-- ReceivedTransfer, Received / ConferenceJoined) with every result the rules
-- can give it (a conference member never rings: it is not redirected or
-- revoked), a row still open being Unspecified / Unspecified (a stay's too:
-- Received / Unspecified). Most are new (Redirected / Unspecified: the agent
-- rejected the offer; Revoked / Unspecified: routing took it back); those
-- voice's seed has already (the stays' Diverted and Abandoned results among
-- them) are left as they are. The loader would add
-- a missing one on first use anyway: seeded, their keys are stable and
-- reports can name them.

DO $$
DECLARE
    con text;
BEGIN
    SELECT c.conname INTO con
      FROM pg_constraint c
     WHERE c.conrelid = 'resource_'::regclass AND c.contype = 'c'
       AND pg_get_constraintdef(c.oid) LIKE '%resource_type%';
    IF con IS NOT NULL THEN
        EXECUTE format('ALTER TABLE resource_ DROP CONSTRAINT %I', con);
    END IF;
END
$$;
ALTER TABLE resource_ ADD CONSTRAINT resource__resource_type_check
    CHECK (resource_type IN ('Agent', 'Queue', 'RoutingPoint', 'Extension', 'IVR', 'Workbin'));
COMMENT ON COLUMN resource_.resource_type IS
    'Agent, Queue, RoutingPoint, Extension, IVR or Workbin (a digital interaction''s workbin, 008).';

INSERT INTO technical_descriptor (resource_role, role_reason, technical_result, result_reason) VALUES
    ('Received', 'Unspecified', 'Redirected', 'Unspecified'),
    ('Received', 'Unspecified', 'Revoked', 'Unspecified'),
    ('Received', 'Unspecified', 'Unspecified', 'Unspecified'),
    ('ReceivedTransfer', 'Unspecified', 'Completed', 'Unspecified'),
    ('ReceivedTransfer', 'Unspecified', 'Transferred', 'Unspecified'),
    ('ReceivedTransfer', 'Unspecified', 'Redirected', 'Unspecified'),
    ('ReceivedTransfer', 'Unspecified', 'Redirected', 'RouteOnNoAnswer'),
    ('ReceivedTransfer', 'Unspecified', 'Revoked', 'Unspecified'),
    ('ReceivedTransfer', 'Unspecified', 'Unspecified', 'Unspecified'),
    ('Received', 'ConferenceJoined', 'Completed', 'Unspecified'),
    ('Received', 'ConferenceJoined', 'Transferred', 'Unspecified'),
    ('Received', 'ConferenceJoined', 'Unspecified', 'Unspecified')
ON CONFLICT (resource_role, role_reason, technical_result, result_reason) DO NOTHING;

COMMENT ON TABLE technical_descriptor IS
    'One row per combination of how a resource took part and how its part ended (grain: the four values). Seeded with every combination of the call-thread rules and of the digital rules (008); another combination in a record adds a row (upsert on the four values).';
COMMENT ON COLUMN technical_descriptor.technical_result IS
    'How its part ended: Completed, Transferred, Conferenced, Redirected, Revoked (digital: routing took the offer back), Abandoned, Diverted, ..., or Unspecified while the row is open.';
