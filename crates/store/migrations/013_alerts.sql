-- Unusual-access alerts. The alerts themselves are not stored: every device computes them from
-- the (synced) audit trail with the same rules and ids. What is stored is what people said
-- about them: acknowledgements, from alert_acknowledged operations (synced, so a remote admin
-- sees that the clinic looked). Several may name one alert; the latest is shown.
CREATE TABLE alert_acks (
    op          BLOB PRIMARY KEY,
    alert_id    TEXT NOT NULL,
    by_user     TEXT NOT NULL,
    at          INTEGER NOT NULL,
    note        TEXT NOT NULL
);
CREATE INDEX alert_acks_by_alert ON alert_acks (alert_id, at);

-- The clinic's settings that every device of the team shares (today: the alert rules'
-- thresholds and hours, as JSON), from alert_rules_set operations: the latest wins.
CREATE TABLE clinic_settings (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    at          INTEGER NOT NULL,
    op          BLOB NOT NULL
);
