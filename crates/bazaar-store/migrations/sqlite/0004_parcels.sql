-- Parcels through the four-level network and everything that happened to them: our scans at
-- every handover and the carriers' tracking events, each in one canonical state with the raw
-- code kept. A scan's client-generated id makes a resent scan change nothing; a carrier event
-- is recognised again by its parcel, code and time.

CREATE TABLE parcels (
    id              INTEGER PRIMARY KEY,
    carrier         TEXT NOT NULL,
    waybill         TEXT NOT NULL,
    direction       TEXT NOT NULL CHECK (direction IN ('upstream','downstream','same_city')),
    weight_g        BIGINT NOT NULL DEFAULT 0 CHECK (weight_g >= 0),
    volume_cm3      BIGINT NOT NULL DEFAULT 0 CHECK (volume_cm3 >= 0),
    cold_chain      BOOLEAN NOT NULL DEFAULT FALSE,
    sender_name     TEXT,
    sender_phone    TEXT,
    recipient_name  TEXT NOT NULL,
    recipient_phone TEXT NOT NULL,
    dest_region     TEXT REFERENCES regions(code),
    dest_node       TEXT REFERENCES nodes(code),
    order_id        BIGINT REFERENCES orders(id),
    part_id         BIGINT REFERENCES order_parts(id),
    state           TEXT NOT NULL,
    last_event_at   BIGINT,
    created_by      BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (carrier, waybill)
);
CREATE INDEX parcels_waybill ON parcels(waybill);
CREATE INDEX parcels_watch ON parcels(state, last_event_at);
CREATE INDEX parcels_order ON parcels(order_id);

CREATE TABLE parcel_events (
    id          INTEGER PRIMARY KEY,
    parcel_id   BIGINT NOT NULL REFERENCES parcels(id),
    source      TEXT NOT NULL CHECK (source IN ('scan','carrier')),
    code        TEXT NOT NULL,
    state       TEXT,
    node_code   TEXT,
    place       TEXT,
    note        TEXT,
    actor_id    BIGINT,
    client_id   TEXT,
    at          BIGINT NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE INDEX parcel_events_parcel ON parcel_events(parcel_id, at);
CREATE UNIQUE INDEX parcel_events_client ON parcel_events(client_id) WHERE client_id IS NOT NULL;
CREATE UNIQUE INDEX parcel_events_carrier ON parcel_events(parcel_id, code, at) WHERE source = 'carrier';
