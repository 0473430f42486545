-- A product's words in the other languages a buyer may read (the Chinese ones are the
-- product's own): its name, description and producer's name, and each option's specification,
-- entered by whoever may edit the product. A language without them shows the Chinese, marked.
CREATE TABLE product_texts (
    product_id  BIGINT NOT NULL REFERENCES products(id),
    lang        TEXT NOT NULL CHECK (lang IN ('en', 'ug', 'bo')),
    name        TEXT NOT NULL,
    description TEXT,
    producer    TEXT,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (product_id, lang)
);

CREATE TABLE sku_texts (
    sku_id BIGINT NOT NULL REFERENCES skus(id),
    lang   TEXT NOT NULL CHECK (lang IN ('en', 'ug', 'bo')),
    spec   TEXT NOT NULL,
    PRIMARY KEY (sku_id, lang)
);
