-- The kill switch: a model version under quarantine gets no traffic through the gateway
-- until it is released. One row per version currently quarantined; the history is in
-- the audit log.
CREATE TABLE quarantines (
    model TEXT NOT NULL,
    version TEXT NOT NULL,
    reason TEXT NOT NULL,
    by_principal TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (model, version),
    FOREIGN KEY (model, version) REFERENCES model_versions (name, version)
);
