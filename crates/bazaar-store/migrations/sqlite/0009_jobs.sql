-- The job queue (DESIGN.md §11): everything that happens later or on a clock. A job is
-- claimed by one UPDATE that moves it to `running` with a lease (`locked_until`); a worker
-- that dies leaves it to be claimed again when the lease runs out. A scheduled job
-- (`every_ms` set, one row per kind) goes back to `queued` for its next run after each run;
-- a one-off job ends `done`, or `dead` after `max_attempts` failures, where admins see it
-- and may send it again. Failures back off: 1 s, doubling, at most an hour (a scheduled job
-- at most its own interval).

CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL DEFAULT '{}',
    state        TEXT NOT NULL DEFAULT 'queued'
                 CHECK (state IN ('queued', 'running', 'done', 'dead')),
    every_ms     BIGINT,
    run_at       BIGINT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    failures     BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL DEFAULT 8,
    locked_by    TEXT,
    locked_until BIGINT,
    last_error   TEXT,
    last_run_at  BIGINT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs(state, run_at);
CREATE UNIQUE INDEX jobs_scheduled ON jobs(kind) WHERE every_ms IS NOT NULL;
