-- The day's joint delivery: a county centre's vehicles, and its runs. A run is planned from
-- the parcels waiting at the centre for the points and those waiting at the points to be
-- collected (all carriers together), reviewed as a draft (stops moved between routes), then
-- published to the drivers; a breakdown re-plans the rest of the day. The run keeps the day
-- it was planned from and the plan as JSON, and which parcels each stop drops or collects.

CREATE TABLE vehicles (
    code        TEXT PRIMARY KEY,
    depot_node  TEXT NOT NULL REFERENCES nodes(code),
    name        TEXT NOT NULL,
    capacity_kg BIGINT NOT NULL CHECK (capacity_kg > 0),
    capacity_l  BIGINT NOT NULL CHECK (capacity_l > 0),
    cold_chain  BOOLEAN NOT NULL DEFAULT FALSE,
    driver_id   BIGINT REFERENCES users(id),
    shift_start TEXT NOT NULL DEFAULT '07:30',
    shift_end   TEXT NOT NULL DEFAULT '19:30'
);
CREATE INDEX vehicles_depot ON vehicles(depot_node);
CREATE INDEX vehicles_driver ON vehicles(driver_id);

CREATE TABLE delivery_runs (
    id           INTEGER PRIMARY KEY,
    depot_node   TEXT NOT NULL REFERENCES nodes(code),
    day          TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('draft', 'published', 'superseded')),
    input        TEXT NOT NULL,
    plan         TEXT NOT NULL,
    broken       TEXT NOT NULL DEFAULT '',
    created_by   BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    published_at BIGINT,
    replanned_at BIGINT
);
CREATE INDEX delivery_runs_depot ON delivery_runs(depot_node, day);
CREATE UNIQUE INDEX delivery_runs_published ON delivery_runs(depot_node, day)
    WHERE status = 'published';

CREATE TABLE run_parcels (
    run_id    BIGINT NOT NULL REFERENCES delivery_runs(id),
    parcel_id BIGINT NOT NULL REFERENCES parcels(id),
    node_code TEXT NOT NULL,
    action    TEXT NOT NULL CHECK (action IN ('drop', 'collect')),
    PRIMARY KEY (run_id, parcel_id)
);
CREATE INDEX run_parcels_node ON run_parcels(run_id, node_code);
