-- Throttles of guessable secrets (passwords, pickup codes): one row per key (an account from a
-- client, a client, an account; an actor at a point). An attempt is counted by one UPDATE
-- that also checks the wait, so parallel attempts cannot slip past the count; after the free
-- attempts each one makes the next wait longer (1 s, 2 s, 4 s … 15 minutes), and an hour
-- without attempts forgets them. The old per-failure tables are no longer read.

CREATE TABLE throttles (
    key           TEXT PRIMARY KEY,
    attempts      BIGINT NOT NULL,
    last_at       BIGINT NOT NULL,
    blocked_until BIGINT NOT NULL
);
CREATE INDEX throttles_last ON throttles(last_at);

DROP TABLE login_failures;
DROP TABLE pickup_failures;
