-- Moat foundation schema (PostgreSQL). Timestamps are RFC 3339 UTC text with
-- milliseconds, so they sort as text. Keep in step with ../sqlite/.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE principals (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    role       TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE api_keys (
    id             TEXT PRIMARY KEY,
    principal_id   TEXT NOT NULL REFERENCES principals (id),
    name           TEXT NOT NULL,
    role           TEXT NOT NULL,
    endpoints      TEXT NOT NULL,
    display_prefix TEXT NOT NULL,
    secret_hash    BYTEA NOT NULL,
    created_at     TEXT NOT NULL,
    expires_at     TEXT,
    revoked_at     TEXT,
    rotated_from   TEXT
);

CREATE TABLE teams (
    name       TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);

CREATE TABLE ai_systems (
    name        TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    description TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE model_versions (
    name           TEXT NOT NULL,
    version        TEXT NOT NULL,
    digest         TEXT NOT NULL,
    owner          TEXT NOT NULL,
    tier           TEXT NOT NULL,
    sensitivity    TEXT NOT NULL,
    source         TEXT NOT NULL,
    ai_system      TEXT REFERENCES ai_systems (name),
    registered_by  TEXT NOT NULL,
    registered_at  TEXT NOT NULL,
    last_review_at TEXT,
    review_due     TEXT NOT NULL,
    PRIMARY KEY (name, version)
);

CREATE TABLE artifacts (
    model    TEXT NOT NULL,
    version  TEXT NOT NULL,
    position BIGINT NOT NULL,
    path     TEXT NOT NULL,
    size     BIGINT NOT NULL,
    sha256   TEXT NOT NULL,
    PRIMARY KEY (model, version, position),
    FOREIGN KEY (model, version) REFERENCES model_versions (name, version)
);

CREATE TABLE datasets (
    name           TEXT NOT NULL,
    version        TEXT NOT NULL,
    path           TEXT NOT NULL,
    digest         TEXT NOT NULL,
    size           BIGINT NOT NULL,
    format         TEXT NOT NULL,
    schema         TEXT NOT NULL,
    owner          TEXT NOT NULL,
    sensitivity    TEXT NOT NULL,
    source         TEXT NOT NULL,
    ai_system      TEXT REFERENCES ai_systems (name),
    registered_by  TEXT NOT NULL,
    registered_at  TEXT NOT NULL,
    last_review_at TEXT,
    review_due     TEXT NOT NULL,
    PRIMARY KEY (name, version)
);

CREATE TABLE lineage (
    model           TEXT NOT NULL,
    model_version   TEXT NOT NULL,
    dataset         TEXT NOT NULL,
    dataset_version TEXT NOT NULL,
    how             TEXT NOT NULL,
    recorded_by     TEXT NOT NULL,
    recorded_at     TEXT NOT NULL,
    PRIMARY KEY (model, model_version, dataset, dataset_version),
    FOREIGN KEY (model, model_version) REFERENCES model_versions (name, version),
    FOREIGN KEY (dataset, dataset_version) REFERENCES datasets (name, version)
);

CREATE TABLE aliases (
    model    TEXT NOT NULL,
    alias    TEXT NOT NULL,
    version  TEXT NOT NULL,
    moved_by TEXT NOT NULL,
    moved_at TEXT NOT NULL,
    PRIMARY KEY (model, alias),
    FOREIGN KEY (model, version) REFERENCES model_versions (name, version)
);

CREATE TABLE alias_moves (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model        TEXT NOT NULL,
    alias        TEXT NOT NULL,
    from_version TEXT,
    to_version   TEXT NOT NULL,
    moved_by     TEXT NOT NULL,
    moved_at     TEXT NOT NULL
);

CREATE TABLE endpoints (
    name       TEXT PRIMARY KEY,
    model      TEXT NOT NULL,
    target     TEXT NOT NULL,
    upstream   TEXT NOT NULL,
    owner      TEXT NOT NULL,
    ai_system  TEXT REFERENCES ai_systems (name),
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE vendors (
    name           TEXT PRIMARY KEY,
    source         TEXT NOT NULL,
    licence        TEXT NOT NULL,
    questionnaire  TEXT NOT NULL,
    last_review_at TEXT,
    notes          TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    created_at     TEXT NOT NULL
);

CREATE TABLE reviews (
    id           TEXT PRIMARY KEY,
    subject_kind TEXT NOT NULL,
    name         TEXT NOT NULL,
    version      TEXT NOT NULL,
    reviewer     TEXT NOT NULL,
    notes        TEXT NOT NULL,
    reviewed_at  TEXT NOT NULL,
    next_due     TEXT NOT NULL
);
CREATE INDEX reviews_subject ON reviews (subject_kind, name, version);

CREATE TABLE evidence (
    id            TEXT PRIMARY KEY,
    subject_kind  TEXT NOT NULL,
    name          TEXT NOT NULL,
    version       TEXT NOT NULL,
    kind          TEXT NOT NULL,
    verdict       TEXT NOT NULL,
    summary       TEXT NOT NULL,
    report        TEXT NOT NULL,
    report_digest TEXT NOT NULL,
    recorded_by   TEXT NOT NULL,
    recorded_at   TEXT NOT NULL
);
CREATE INDEX evidence_subject ON evidence (subject_kind, name, version);

-- The audit log. One row in audit_head, locked by every writing transaction, so
-- appends are serialised and each change commits together with its entry.
CREATE TABLE audit_head (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    size       BIGINT NOT NULL,
    checkpoint TEXT
);
INSERT INTO audit_head (id, size, checkpoint) VALUES (1, 0, NULL);

CREATE TABLE audit_entries (
    seq       BIGINT PRIMARY KEY CHECK (seq >= 0),
    time      TEXT NOT NULL,
    leaf      BYTEA NOT NULL,
    leaf_hash BYTEA NOT NULL
);
CREATE INDEX audit_entries_time ON audit_entries (time);

-- Perfect subtrees of the Merkle tree (level, index), for proofs in O(log² n) reads.
CREATE TABLE audit_nodes (
    level BIGINT NOT NULL,
    idx   BIGINT NOT NULL,
    hash  BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);

-- Details kept outside the leaves (personal data, payloads); erasable.
CREATE TABLE audit_details (
    seq  BIGINT PRIMARY KEY,
    salt BYTEA NOT NULL,
    body TEXT NOT NULL
);

CREATE TABLE audit_checkpoints (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    size       BIGINT NOT NULL,
    note       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
