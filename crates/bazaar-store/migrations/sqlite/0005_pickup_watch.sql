-- Village pickup, sacks, the 48-hour watch and the notifications outbox.
--
-- A parcel that reaches a village point or locker gets a pickup code, unique among that
-- point's waiting parcels (the partial unique index), and a shelf slot; wrong codes are
-- counted per point so codes cannot be guessed in bulk. A sack or cage carries parcels: one
-- scan of the sack moves all of them. The watch flags an open parcel whose last event is
-- older than its carrier's and direction's limit, once per stall.
-- Notifications are written in the same transaction as what caused them and sent later.

ALTER TABLE parcels ADD COLUMN seller_id BIGINT;
ALTER TABLE parcels ADD COLUMN last_node TEXT;
ALTER TABLE parcels ADD COLUMN last_place TEXT;
ALTER TABLE parcels ADD COLUMN sack TEXT;
ALTER TABLE parcels ADD COLUMN pickup_node TEXT;
ALTER TABLE parcels ADD COLUMN pickup_code TEXT;
ALTER TABLE parcels ADD COLUMN shelf_slot TEXT;
ALTER TABLE parcels ADD COLUMN waiting_since BIGINT;
ALTER TABLE parcels ADD COLUMN reminded_at BIGINT;
ALTER TABLE parcels ADD COLUMN picked_up_at BIGINT;
ALTER TABLE parcels ADD COLUMN signature TEXT;

UPDATE parcels SET last_event_at = created_at WHERE last_event_at IS NULL;

CREATE UNIQUE INDEX parcels_pickup_code ON parcels(pickup_node, pickup_code)
    WHERE pickup_code IS NOT NULL;
CREATE INDEX parcels_sack ON parcels(sack) WHERE sack IS NOT NULL;
CREATE INDEX parcels_seller ON parcels(seller_id) WHERE seller_id IS NOT NULL;
-- Only open parcels are in it, by carrier, direction and the age of their news: the watch
-- reads the slice that became overdue since its last run, so its cost is what it flags, not
-- how many parcels there are.
DROP INDEX parcels_watch;
CREATE INDEX parcels_watch ON parcels(carrier, direction, last_event_at)
    WHERE state NOT IN ('delivered', 'returned', 'cancelled');
-- Open parcels by the age of their news: the operator's list of what is stalled right now.
CREATE INDEX parcels_open ON parcels(last_event_at)
    WHERE state NOT IN ('delivered', 'returned', 'cancelled');

CREATE TABLE sacks (
    code       TEXT PRIMARY KEY,
    node_code  TEXT REFERENCES nodes(code),
    created_by BIGINT,
    created_at BIGINT NOT NULL
);

CREATE TABLE pickup_failures (
    node_code TEXT NOT NULL,
    at        BIGINT NOT NULL
);
CREATE INDEX pickup_failures_node ON pickup_failures(node_code, at);

-- Hours without news after which an open parcel counts as stalled; '*' matches any carrier
-- or direction, the most specific rule wins.
CREATE TABLE watch_rules (
    carrier   TEXT NOT NULL,
    direction TEXT NOT NULL,
    hours     BIGINT NOT NULL CHECK (hours > 0),
    PRIMARY KEY (carrier, direction)
);
INSERT INTO watch_rules (carrier, direction, hours) VALUES ('*', '*', 48);

-- Each stall, once: a parcel whose news stopped at last_event_at was flagged at flagged_at
-- (it may stall again later, with a later last_event_at).
CREATE TABLE stalled_flags (
    parcel_id     BIGINT NOT NULL REFERENCES parcels(id),
    last_event_at BIGINT NOT NULL,
    flagged_at    BIGINT NOT NULL,
    seller_id     BIGINT,
    PRIMARY KEY (parcel_id, last_event_at)
);
CREATE INDEX stalled_flags_at ON stalled_flags(flagged_at);

CREATE TABLE parcel_notes (
    id         INTEGER PRIMARY KEY,
    parcel_id  BIGINT NOT NULL REFERENCES parcels(id),
    author_id  BIGINT NOT NULL,
    body       TEXT NOT NULL,
    at         BIGINT NOT NULL
);
CREATE INDEX parcel_notes_parcel ON parcel_notes(parcel_id, at);

CREATE TABLE notifications (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL,
    user_id    BIGINT,
    phone      TEXT,
    parcel_id  BIGINT,
    body       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    sent_at    BIGINT,
    attempts   BIGINT NOT NULL DEFAULT 0,
    channel    TEXT,
    error      TEXT
);
CREATE INDEX notifications_unsent ON notifications(id) WHERE sent_at IS NULL;
CREATE INDEX notifications_user ON notifications(user_id, created_at);
