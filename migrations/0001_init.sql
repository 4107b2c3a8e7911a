-- callplane schema, first cut. Migrations are append-only: later changes come as new files.

-- Server-wide settings, e.g. the generated server secret shared by every replica.
CREATE TABLE settings (
    key        text PRIMARY KEY,
    value      text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- SIP extensions (FreeSWITCH directory users). domain '' = the configured default domain.
CREATE TABLE extensions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    extension    text NOT NULL,
    domain       text NOT NULL DEFAULT '',
    password     text,
    display_name text NOT NULL DEFAULT '',
    enabled      boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (extension, domain)
);

-- Lines: carriers' SIP trunks as FreeSWITCH gateways, with the routing attributes.
CREATE TABLE gateways (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name               text NOT NULL UNIQUE,
    realm              text NOT NULL,
    port               integer NOT NULL DEFAULT 5060 CHECK (port BETWEEN 1 AND 65535),
    transport          text NOT NULL DEFAULT 'udp' CHECK (transport IN ('udp', 'tcp', 'tls')),
    register           boolean NOT NULL DEFAULT false,
    username           text,
    password           text,
    from_user          text,
    from_domain        text,
    caller_id          text,
    caller_id_in_from  boolean NOT NULL DEFAULT true,
    prefix             text NOT NULL DEFAULT '',
    max_concurrent     integer NOT NULL DEFAULT 0 CHECK (max_concurrent >= 0),
    callee_daily_limit integer NOT NULL DEFAULT 0 CHECK (callee_daily_limit >= 0),
    blind_areas        text[] NOT NULL DEFAULT '{}',
    priority           integer NOT NULL DEFAULT 100,
    enabled            boolean NOT NULL DEFAULT true,
    expire_seconds     integer NOT NULL DEFAULT 3600,
    retry_seconds      integer NOT NULL DEFAULT 30,
    ping               integer NOT NULL DEFAULT 30,
    params             jsonb NOT NULL DEFAULT '{}',
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

-- Calls placed through the API. The uuid is the A-leg origination_uuid, chosen and stored
-- before the originate is sent.
CREATE TABLE calls (
    uuid             uuid PRIMARY KEY,
    caller           text NOT NULL,
    callee           text NOT NULL,
    requested_gateways text[] NOT NULL DEFAULT '{}',
    gateways         text[] NOT NULL DEFAULT '{}',
    gateway          text,
    ext_data         text,
    idempotency_key  text UNIQUE,
    request_hash     text,
    job_uuid         uuid,
    node             text,
    state            text NOT NULL DEFAULT 'accepted',
    hangup_cause     text,
    routing          jsonb NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    answered_at      timestamptz,
    ended_at         timestamptz
);
CREATE INDEX calls_created_at ON calls (created_at DESC);

-- Every CDR FreeSWITCH posted; the raw document is kept whatever its parse outcome.
CREATE TABLE cdrs (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    core_uuid       text NOT NULL,
    uuid            text NOT NULL,
    call_uuid       uuid REFERENCES calls (uuid),
    other_uuid      text,
    caller          text,
    callee          text,
    gateway         text,
    start_time      timestamptz,
    answer_time     timestamptz,
    end_time        timestamptz,
    duration        integer,
    billsec         integer,
    hangup_cause    text,
    sip_disposition text,
    switch_name     text,
    recording_path  text,
    format          text NOT NULL,
    parsed          boolean NOT NULL DEFAULT false,
    raw             bytea NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (core_uuid, uuid)
);
CREATE INDEX cdrs_call_uuid ON cdrs (call_uuid);

-- Recordings by call uuid (one per call).
CREATE TABLE recordings (
    call_uuid    uuid PRIMARY KEY,
    storage_key  text NOT NULL,
    size         bigint NOT NULL,
    content_type text NOT NULL,
    sha256       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Webhook outbox: rows are inserted in the same transaction as the state change they report.
CREATE TABLE webhook_outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id      text NOT NULL UNIQUE,
    call_uuid       uuid,
    event_type      text NOT NULL,
    payload         jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'pending',
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (status, next_attempt_at);

CREATE TABLE webhook_attempts (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    outbox_id    bigint NOT NULL REFERENCES webhook_outbox (id) ON DELETE CASCADE,
    attempted_at timestamptz NOT NULL DEFAULT now(),
    status_code  integer,
    latency_ms   integer,
    error        text
);
