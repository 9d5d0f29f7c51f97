-- Unusual-access alerts. The alerts themselves are not stored: every device computes them from
-- the (synced) audit trail with the same rules and ids. What is stored is what people said
-- about them: acknowledgements, from alert_acknowledged operations (synced, so a remote admin
-- sees that the clinic looked). Several may name one alert; the latest is shown.
CREATE TABLE alert_acks (
    op          BLOB PRIMARY KEY,
    alert_id    TEXT NOT NULL,
    by_user     TEXT NOT NULL,
    at          INTEGER NOT NULL,
    note        TEXT NOT NULL,
    -- How many events the alert had when acknowledged: one that grew since is open again.
    events      INTEGER NOT NULL
);
CREATE INDEX alert_acks_by_alert ON alert_acks (alert_id, at);

-- The clinic's settings that every device of the team shares (today: the alert rules'
-- thresholds and hours, as JSON), from alert_rules_set operations: the latest in the log's
-- total order (hybrid clock, then device and sequence) wins, as for demographic fields.
CREATE TABLE clinic_settings (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    hlc_wall    INTEGER NOT NULL,
    hlc_counter INTEGER NOT NULL,
    device      TEXT NOT NULL,
    seq         INTEGER NOT NULL
);
