-- The gateway's request log: one record a request, redacted (the path's personal data
-- replaced, the key's id and never its secret), with latency and the detectors'
-- verdicts. Kept for the retention period ([gateway] log.retention_days), then pruned.
CREATE TABLE traffic (
    -- Appends in order (a random text key would scatter every insert over the index).
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL,
    at TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    key_id TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    status BIGINT NOT NULL,
    code TEXT,
    latency_us BIGINT NOT NULL,
    request_bytes BIGINT,
    verdicts TEXT NOT NULL,
    body TEXT
);
CREATE INDEX traffic_at ON traffic (at);
