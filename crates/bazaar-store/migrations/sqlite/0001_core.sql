-- Platform core: regions, network nodes, users and tokens, sellers, catalog.
-- Times are UTC milliseconds since the Unix epoch (BIGINT); money is integer fen.

CREATE TABLE regions (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    name_en     TEXT,
    level       TEXT NOT NULL CHECK (level IN ('province','prefecture','county','township','village')),
    parent_code TEXT REFERENCES regions(code),
    path        TEXT NOT NULL UNIQUE,
    lat         REAL,
    lng         REAL,
    timezone    TEXT NOT NULL DEFAULT 'Asia/Shanghai',
    created_at  BIGINT NOT NULL
);
CREATE INDEX regions_parent ON regions(parent_code);
CREATE INDEX regions_level ON regions(level, code);

CREATE TABLE nodes (
    code          TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    region_code   TEXT NOT NULL REFERENCES regions(code),
    parent_code   TEXT REFERENCES nodes(code),
    lat           REAL,
    lng           REAL,
    opens         TEXT,
    closes        TEXT,
    contact_name  TEXT,
    contact_phone TEXT,
    address       TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX nodes_region ON nodes(region_code);
CREATE INDEX nodes_parent ON nodes(parent_code);

CREATE TABLE sellers (
    id                  INTEGER PRIMARY KEY,
    code                TEXT UNIQUE,
    name                TEXT NOT NULL,
    kind                TEXT NOT NULL,
    village_code        TEXT NOT NULL REFERENCES regions(code),
    poverty_status      TEXT NOT NULL DEFAULT 'none',
    registration_no     TEXT,
    contact_name        TEXT,
    contact_phone       TEXT,
    description         TEXT,
    status              TEXT NOT NULL,
    status_reason       TEXT,
    registered_by       BIGINT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE INDEX sellers_village ON sellers(village_code);
CREATE INDEX sellers_status ON sellers(status);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    region_code   TEXT REFERENCES regions(code),
    node_code     TEXT REFERENCES nodes(code),
    seller_id     BIGINT REFERENCES sellers(id),
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT NOT NULL
);

-- Session cookies and API bearer tokens; only the SHA-256 of the token is stored.
CREATE TABLE auth_tokens (
    token_hash   TEXT PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users(id),
    kind         TEXT NOT NULL CHECK (kind IN ('session','api')),
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT
);
CREATE INDEX auth_tokens_user ON auth_tokens(user_id);

CREATE TABLE login_failures (
    id         INTEGER PRIMARY KEY,
    key        TEXT NOT NULL,
    at         BIGINT NOT NULL
);
CREATE INDEX login_failures_key ON login_failures(key, at);

CREATE TABLE products (
    id              INTEGER PRIMARY KEY,
    code            TEXT UNIQUE,
    seller_id       BIGINT NOT NULL REFERENCES sellers(id),
    village_code    TEXT NOT NULL REFERENCES regions(code),
    name            TEXT NOT NULL,
    name_en         TEXT,
    category        TEXT NOT NULL,
    gi_brand        TEXT,
    poverty_cert_no TEXT,
    green_cert      BOOLEAN NOT NULL DEFAULT FALSE,
    organic_cert    BOOLEAN NOT NULL DEFAULT FALSE,
    shelf_life_days BIGINT,
    cold_chain      BOOLEAN NOT NULL DEFAULT FALSE,
    description     TEXT,
    status          TEXT NOT NULL,
    status_reason   TEXT,
    listed_by       BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX products_status ON products(status, id);
CREATE INDEX products_seller ON products(seller_id);
CREATE INDEX products_village ON products(village_code);

CREATE TABLE skus (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    product_id  BIGINT NOT NULL REFERENCES products(id),
    spec        TEXT NOT NULL,
    price_fen   BIGINT NOT NULL CHECK (price_fen > 0),
    weight_g    BIGINT NOT NULL,
    volume_cm3  BIGINT NOT NULL,
    barcode     TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX skus_product ON skus(product_id);

CREATE TABLE product_photos (
    id          INTEGER PRIMARY KEY,
    product_id  BIGINT NOT NULL REFERENCES products(id),
    storage_key TEXT NOT NULL,
    width       BIGINT NOT NULL,
    height      BIGINT NOT NULL,
    position    BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX product_photos_product ON product_photos(product_id, position);

-- Every lifecycle change of a seller or product: who, when, why.
CREATE TABLE status_history (
    id          INTEGER PRIMARY KEY,
    entity      TEXT NOT NULL,
    entity_id   BIGINT NOT NULL,
    from_status TEXT,
    to_status   TEXT NOT NULL,
    actor_id    BIGINT,
    reason      TEXT,
    at          BIGINT NOT NULL
);
CREATE INDEX status_history_entity ON status_history(entity, entity_id, id);
