//! The job queue (DESIGN.md §11): one table of everything that happens later or on a clock,
//! claimed by any number of workers on any number of nodes, each job by one of them at a
//! time.
//!
//! - A **claim** is one statement: the due job with the earliest `run_at` moves to `running`
//!   with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so claimers pass each other; on
//!   SQLite the one writer serialises the claims). A job whose lease ran out (its worker
//!   died) is due again.
//! - A **scheduled** job (`every_ms`) has one row per kind: after a run it is queued again
//!   for `now + every_ms`, so it runs once per interval across all nodes.
//! - A **one-off** job ends `done`, or after `max_attempts` failures `dead`, listed for
//!   admins with its last error and sent again by them ([`Store::retry_job`]).
//! - **Failures back off**: 1 s, doubling, at most an hour, and a scheduled job at most its
//!   own interval. What a job does must be safe to run twice (a lease may run out while it
//!   still runs): every job of Bazaar is guarded by the rows it changes.

use crate::{Store, StoreError, in_tx, on_read};
use bazaar_domain::people::{Actor, Role};
use serde::Serialize;

/// How long a claim holds a job before another worker may take it over.
pub const LEASE_MS: i64 = 5 * 60 * 1000;
/// The longest wait between two attempts of a failing job.
pub const MAX_BACKOFF_MS: i64 = 60 * 60 * 1000;

/// A claimed job, for its worker to run.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    /// Job id.
    pub id: i64,
    /// What to do (`orders.expire_unpaid`, `notify.drain`, …).
    pub kind: String,
    /// Its input, JSON.
    pub payload: String,
    /// Attempts so far, this one included.
    pub attempts: i64,
    /// Scheduled every this many ms (`None`: a one-off job).
    pub every_ms: Option<i64>,
    /// The account that started it from a page, for a job run on someone's behalf.
    pub owner_id: Option<i64>,
}

/// A job as admins see it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct JobRow {
    /// Job id.
    pub id: i64,
    /// What it does.
    pub kind: String,
    /// queued, running, done or dead.
    pub state: String,
    /// Scheduled every this many ms; absent for a one-off job.
    pub every_ms: Option<i64>,
    /// When it runs next (UTC ms).
    pub run_at: i64,
    /// Attempts of the current run (a one-off job: all of them).
    pub attempts: i64,
    /// Failures since it last succeeded.
    pub failures: i64,
    /// The last failure's error, if it has failed since it last succeeded.
    pub last_error: Option<String>,
    /// When it last finished a run (UTC ms).
    pub last_run_at: Option<i64>,
}

/// A job a person started from a page and follows there (planning a run): only its owner
/// and admins see it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct OwnedJob {
    /// Job id.
    pub id: i64,
    /// What it does.
    pub kind: String,
    /// queued, running, done or dead.
    pub state: String,
    /// Its input, JSON.
    pub payload: String,
    /// Attempts so far.
    pub attempts: i64,
    /// The last failure's error (for admins; not shown to its owner as it is).
    pub last_error: Option<String>,
    /// What it came to, JSON, once done.
    pub result: Option<String>,
    /// Queued (UTC ms).
    pub created_at: i64,
    /// Last changed (UTC ms): while running, when it was claimed.
    pub updated_at: i64,
    /// Whose it is.
    pub owner_id: Option<i64>,
}

const JOB_COLS: &str =
    "id, kind, state, every_ms, run_at, attempts, failures, last_error, last_run_at";

/// The wait before the next attempt after `failures` failures in a row: 1 s, doubling, at
/// most an hour, and a scheduled job at most its own interval.
pub fn backoff_ms(failures: i64, every_ms: Option<i64>) -> i64 {
    let exp = failures.clamp(1, 30) - 1;
    let wait = 1000i64.saturating_mul(1i64 << exp).min(MAX_BACKOFF_MS);
    match every_ms {
        Some(every) => wait.min(every.max(1000)),
        None => wait,
    }
}

/// A one-off job to queue.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NewJob<'a> {
    /// What to do.
    pub kind: &'a str,
    /// Its input, JSON text.
    pub payload: &'a str,
    /// When it is due (UTC ms).
    pub run_at: i64,
    /// Now (UTC ms).
    pub at: i64,
}

/// The queue's write on a transaction's connection of either backend: a write that causes
/// later work queues the job in its own transaction, so the job exists exactly when the
/// write committed (DESIGN.md §11).
pub(crate) trait JobWrites {
    /// Queues a one-off job; its id.
    async fn enqueue_job(&mut self, job: &NewJob<'_>) -> Result<i64, StoreError>;
}

crate::both_dialects! {
    impl JobWrites {
        async fn enqueue_job(&mut self, job: &NewJob<'_>) -> Result<i64, StoreError> {
            Ok(sqlx::query_scalar(
                "INSERT INTO jobs (kind, payload, run_at, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $4) RETURNING id",
            )
            .bind(job.kind)
            .bind(job.payload)
            .bind(job.run_at)
            .bind(job.at)
            .fetch_one(&mut *self)
            .await?)
        }
    }
}

impl Store {
    /// Makes sure the scheduled job `kind` exists, every `every_ms` (its interval is updated
    /// when it changed); the first run is due at once. Safe to call from every node at
    /// every start.
    pub async fn schedule_job(
        &self,
        kind: &str,
        every_ms: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        in_tx!(self, |c| {
            sqlx::query(
                "INSERT INTO jobs (kind, every_ms, run_at, created_at, updated_at) \
                 VALUES ($1, $2, $3, $3, $3) \
                 ON CONFLICT (kind) WHERE every_ms IS NOT NULL \
                 DO UPDATE SET every_ms = excluded.every_ms",
            )
            .bind(kind)
            .bind(every_ms)
            .bind(now)
            .execute(&mut *c)
            .await?;
            Ok(())
        })
    }

    /// Queues a one-off job to run at `run_at`, in a transaction of its own (a write that
    /// causes a job enqueues it in its own transaction instead, through [`JobWrites`]).
    pub async fn enqueue_job(
        &self,
        kind: &str,
        payload: &serde_json::Value,
        run_at: i64,
        now: i64,
    ) -> Result<i64, StoreError> {
        let payload = payload.to_string();
        let job = NewJob {
            kind,
            payload: &payload,
            run_at,
            at: now,
        };
        in_tx!(self, |c| { c.enqueue_job(&job).await })
    }

    /// Claims the next due job for `worker`, if any: queued and due, or running with its
    /// lease run out.
    pub async fn claim_job(&self, worker: &str, now: i64) -> Result<Option<Claimed>, StoreError> {
        // An idle worker looks once a second: it asks a reader first, so nothing due costs
        // no write transaction (SQLite has one writer, which orders and scans need).
        let due: Option<i64> = on_read!(self, |p| {
            sqlx::query_scalar(
                "SELECT id FROM jobs WHERE (state = 'queued' AND run_at <= $1) \
                 OR (state = 'running' AND locked_until < $1) LIMIT 1",
            )
            .bind(now)
            .fetch_optional(p)
            .await?
        });
        if due.is_none() {
            return Ok(None);
        }
        let pick = "SELECT id FROM jobs WHERE (state = 'queued' AND run_at <= $3) \
                    OR (state = 'running' AND locked_until < $3) ORDER BY run_at, id LIMIT 1";
        let lock = if self.backend() == crate::Backend::Postgres {
            " FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        let sql = format!(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_by = $1, \
             locked_until = $2, updated_at = $3 WHERE id = ({pick}{lock}) \
             RETURNING id, kind, payload, attempts, every_ms, owner_id"
        );
        in_tx!(self, |c| {
            Ok(sqlx::query_as::<_, Claimed>(&sql)
                .bind(worker)
                .bind(now + LEASE_MS)
                .bind(now)
                .fetch_optional(&mut *c)
                .await?)
        })
    }

    /// Queues a one-off job for `actor`, who follows it on a page ([`Store::owned_job`]).
    pub async fn enqueue_owned_job(
        &self,
        actor: &Actor,
        kind: &str,
        payload: &serde_json::Value,
        now: i64,
    ) -> Result<i64, StoreError> {
        let payload = payload.to_string();
        in_tx!(self, |c| {
            Ok(sqlx::query_scalar(
                "INSERT INTO jobs (kind, payload, run_at, created_at, updated_at, owner_id) \
                 VALUES ($1, $2, $3, $3, $3, $4) RETURNING id",
            )
            .bind(kind)
            .bind(&payload)
            .bind(now)
            .bind(actor.user_id)
            .fetch_one(&mut *c)
            .await?)
        })
    }

    /// A job `actor` started (or any owned job, for admins); not found for anyone else.
    pub async fn owned_job(&self, actor: &Actor, id: i64) -> Result<OwnedJob, StoreError> {
        let row: Option<OwnedJob> = on_read!(self, |p| {
            sqlx::query_as(
                "SELECT id, kind, state, payload, attempts, last_error, result, created_at, \
                 updated_at, owner_id FROM jobs WHERE id = $1 AND every_ms IS NULL",
            )
            .bind(id)
            .fetch_optional(p)
            .await?
        });
        match row {
            Some(job)
                if job.owner_id.is_some()
                    && (job.owner_id == Some(actor.user_id) || actor.role == Role::Admin) =>
            {
                Ok(job)
            }
            _ => Err(StoreError::NotFound),
        }
    }

    /// Records a successful run: a scheduled job is queued for its next interval, a one-off
    /// job is done. Only the worker holding the claim records it.
    pub async fn finish_job(
        &self,
        job: &Claimed,
        worker: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        self.finish_job_with(job, worker, now, None).await
    }

    /// [`Store::finish_job`], keeping what the job came to (JSON) for the page its owner
    /// waits on.
    pub async fn finish_job_with(
        &self,
        job: &Claimed,
        worker: &str,
        now: i64,
        result: Option<&str>,
    ) -> Result<(), StoreError> {
        let (state, next) = match job.every_ms {
            Some(every) => ("queued", now + every),
            None => ("done", now),
        };
        in_tx!(self, |c| {
            sqlx::query(
                "UPDATE jobs SET state = $1, run_at = $2, attempts = 0, failures = 0, \
                 last_error = NULL, last_run_at = $3, locked_by = NULL, locked_until = NULL, \
                 updated_at = $3, result = COALESCE($6, result) \
                 WHERE id = $4 AND state = 'running' AND locked_by = $5",
            )
            .bind(state)
            .bind(next)
            .bind(now)
            .bind(job.id)
            .bind(worker)
            .bind(result)
            .execute(&mut *c)
            .await?;
            Ok(())
        })
    }

    /// Records a failed run with its error: tried again after [`backoff_ms`]; a one-off job
    /// that has used its attempts is `dead`. The error is cut to 500 characters.
    pub async fn fail_job(
        &self,
        job: &Claimed,
        worker: &str,
        error: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let error: String = error.chars().take(500).collect();
        in_tx!(self, |c| {
            let row: Option<(i64, i64)> = sqlx::query_as(
                "SELECT failures, max_attempts FROM jobs \
                 WHERE id = $1 AND state = 'running' AND locked_by = $2",
            )
            .bind(job.id)
            .bind(worker)
            .fetch_optional(&mut *c)
            .await?;
            let Some((failures, max)) = row else {
                return Ok(());
            };
            let failures = failures + 1;
            let dead = job.every_ms.is_none() && job.attempts >= max;
            let state = if dead { "dead" } else { "queued" };
            sqlx::query(
                "UPDATE jobs SET state = $1, run_at = $2, failures = $3, last_error = $4, \
                 locked_by = NULL, locked_until = NULL, updated_at = $5 WHERE id = $6",
            )
            .bind(state)
            .bind(now + backoff_ms(failures, job.every_ms))
            .bind(failures)
            .bind(&error)
            .bind(now)
            .bind(job.id)
            .execute(&mut *c)
            .await?;
            Ok(())
        })
    }

    /// The jobs admins look after: every scheduled job, and the one-off jobs that are
    /// failing or dead, newest first (at most `limit`).
    pub async fn jobs(&self, actor: &Actor, limit: i64) -> Result<Vec<JobRow>, StoreError> {
        if actor.role != Role::Admin {
            return Err(StoreError::Forbidden);
        }
        let sql = format!(
            "SELECT {JOB_COLS} FROM jobs WHERE every_ms IS NOT NULL OR state = 'dead' \
             OR failures > 0 ORDER BY every_ms IS NULL, id DESC LIMIT $1"
        );
        Ok(on_read!(self, |p| {
            sqlx::query_as(&sql).bind(limit).fetch_all(p).await?
        }))
    }

    /// Sends a dead job again (admins): queued, due now, its attempts counted afresh.
    pub async fn retry_job(&self, actor: &Actor, id: i64, now: i64) -> Result<JobRow, StoreError> {
        if actor.role != Role::Admin {
            return Err(StoreError::Forbidden);
        }
        let sql = format!(
            "UPDATE jobs SET state = 'queued', run_at = $1, attempts = 0, updated_at = $1 \
             WHERE id = $2 AND state = 'dead' RETURNING {JOB_COLS}"
        );
        let row: Option<JobRow> = in_tx!(self, |c| {
            Ok(sqlx::query_as(&sql)
                .bind(now)
                .bind(id)
                .fetch_optional(&mut *c)
                .await?)
        })?;
        row.ok_or(StoreError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::backoff_ms;

    #[test]
    fn failures_back_off_doubling_up_to_an_hour_or_the_interval() {
        assert_eq!(backoff_ms(1, None), 1000);
        assert_eq!(backoff_ms(2, None), 2000);
        assert_eq!(backoff_ms(5, None), 16_000);
        assert_eq!(backoff_ms(40, None), 60 * 60 * 1000);
        // A scheduled job never waits longer than its own interval.
        assert_eq!(backoff_ms(20, Some(30_000)), 30_000);
        assert_eq!(backoff_ms(1, Some(30_000)), 1000);
    }
}
