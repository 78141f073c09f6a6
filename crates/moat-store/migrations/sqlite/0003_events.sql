-- Detections of the gateway: what fired, where, for which key, with evidence that never
-- holds the matched text. Append-only; read newest first.
CREATE TABLE events (
    id TEXT PRIMARY KEY,
    at TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    key_id TEXT NOT NULL,
    detector TEXT NOT NULL,
    severity TEXT NOT NULL,
    atlas TEXT NOT NULL,
    mode TEXT NOT NULL,
    evidence TEXT NOT NULL
);
CREATE INDEX events_at ON events (at);
