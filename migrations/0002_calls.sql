-- Click-to-call: what a call was asked for, how it was routed, its legs and its life.

ALTER TABLE calls
    ADD COLUMN caller_kind text NOT NULL DEFAULT 'external' CHECK (caller_kind IN ('extension', 'external')),
    ADD COLUMN callee_kind text NOT NULL DEFAULT 'external' CHECK (callee_kind IN ('extension', 'external')),
    ADD COLUMN callee_province text,
    ADD COLUMN caller_gateways text[] NOT NULL DEFAULT '{}',
    ADD COLUMN status text CHECK (status IN ('answered', 'no_answer', 'busy', 'failed', 'canceled')),
    ADD COLUMN job_result text,
    ADD COLUMN caller_answered_at timestamptz,
    ADD COLUMN bridged_at timestamptz,
    ADD COLUMN last_event_at timestamptz;

ALTER TABLE calls ADD CONSTRAINT calls_state_known
    CHECK (state IN ('accepted', 'ringing', 'answered', 'bridged', 'completed', 'failed'));

CREATE INDEX calls_open ON calls (state, created_at) WHERE state NOT IN ('completed', 'failed');
CREATE INDEX calls_job_uuid ON calls (job_uuid);

-- Every channel callplane asked for, with the UUID chosen before the originate was sent.
CREATE TABLE call_legs (
    uuid         uuid PRIMARY KEY,
    call_uuid    uuid NOT NULL REFERENCES calls (uuid) ON DELETE CASCADE,
    role         text NOT NULL CHECK (role IN ('caller', 'callee')),
    position     integer NOT NULL,
    gateway      text,
    node         text,
    created_at   timestamptz,
    answered_at  timestamptz,
    ended_at     timestamptz,
    hangup_cause text
);
CREATE INDEX call_legs_call ON call_legs (call_uuid);

-- What happened to a call, in arrival order, for the detail view and troubleshooting.
CREATE TABLE call_events (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    call_uuid uuid NOT NULL REFERENCES calls (uuid) ON DELETE CASCADE,
    at        timestamptz NOT NULL DEFAULT now(),
    name      text NOT NULL,
    leg_uuid  uuid,
    detail    text
);
CREATE INDEX call_events_call ON call_events (call_uuid, id);

-- Calls per callee per line per calendar day (限制), shared by every replica. A row is
-- reserved with an atomic conditional upsert, so concurrent requests cannot both take the last
-- slot.
CREATE TABLE callee_daily_counts (
    gateway text NOT NULL,
    callee  text NOT NULL,
    day     date NOT NULL,
    count   integer NOT NULL,
    PRIMARY KEY (gateway, callee, day)
);

-- Calls only move forward; events that arrive late or twice cannot move them back.
CREATE FUNCTION call_state_rank(state text) RETURNS integer
    LANGUAGE sql IMMUTABLE STRICT
    AS $$ SELECT CASE state WHEN 'accepted' THEN 0 WHEN 'ringing' THEN 1 WHEN 'answered' THEN 2
                             WHEN 'bridged' THEN 3 ELSE 4 END $$;
