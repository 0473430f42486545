//! The job worker: claims due jobs from the queue (`bazaar_store::jobs`) and runs them, one
//! at a time, until told to stop; then it finishes the job in hand and returns. `bazaar
//! worker` runs only this; `bazaar serve` runs one in-process unless `--no-worker`.
//!
//! Bazaar's clocks are scheduled jobs ([`SCHEDULE`]): each runs once per interval across all
//! nodes, whatever the number of workers. What each does is guarded by the rows it changes,
//! so a job that runs twice (a lease ran out under a slow run) changes nothing the second
//! time. A per-node concern (this node's search index) is not a job: it stays a timer of the
//! serving process.

pub mod api;

use crate::notify::Notifier;
use bazaar_domain::time::now_ms;
use bazaar_store::Store;
use bazaar_store::jobs::Claimed;
use std::sync::Arc;
use std::time::Duration;

/// The scheduled jobs and their intervals (ms).
pub const SCHEDULE: &[(&str, i64)] = &[
    // Send what the outbox holds (pickup codes, reminders, the watch's word to sellers).
    (NOTIFY_DRAIN, 10_000),
    // Cancel orders unpaid past their deadline and release their stock.
    (ORDERS_EXPIRE_UNPAID, 30_000),
    // Open flash offers whose start came, end those whose end came, settle the ended ones.
    (LIVE_OFFER_CLOCK, 5_000),
    // Complete orders delivered long enough ago (auto-confirmation).
    (ORDERS_COMPLETE_DELIVERED, 30_000),
    // Mark orders delivered whose parcels were all handed over.
    (ORDERS_DELIVER_BY_PARCELS, 300_000),
    // The 48-hour watch: flag parcels that stalled.
    (LOGISTICS_FLAG_STALLED, 300_000),
    // Remind recipients of parcels waiting at a point; send back those never collected.
    (LOGISTICS_PICKUP_DEADLINES, 300_000),
];

/// Kind of the outbox drain.
pub const NOTIFY_DRAIN: &str = "notify.drain";
/// Kind of the payment deadline.
pub const ORDERS_EXPIRE_UNPAID: &str = "orders.expire_unpaid";
/// Kind of the flash offers' clock.
pub const LIVE_OFFER_CLOCK: &str = "live.offer_clock";
/// Kind of the auto-completion of delivered orders.
pub const ORDERS_COMPLETE_DELIVERED: &str = "orders.complete_delivered";
/// Kind of the delivery of orders by their parcels.
pub const ORDERS_DELIVER_BY_PARCELS: &str = "orders.deliver_by_parcels";
/// Kind of the 48-hour watch.
pub const LOGISTICS_FLAG_STALLED: &str = "logistics.flag_stalled";
/// Kind of the pickup reminders and returns.
pub const LOGISTICS_PICKUP_DEADLINES: &str = "logistics.pickup_deadlines";
/// Kind of planning a centre's run for today on an operator's behalf (started from
/// `/manage/runs`, followed on `/manage/planning/{job}`).
pub const DELIVERY_PLAN_RUN: &str = "delivery.plan_run";

/// How long an idle worker waits before it looks for due jobs again.
const IDLE: Duration = Duration::from_secs(1);

/// A worker over `store`, sending notifications through `notifier`.
#[derive(Clone)]
pub struct Worker {
    store: Store,
    notifier: Arc<dyn Notifier>,
    planning: crate::delivery::plans::Planning,
    id: String,
}

impl Worker {
    /// A worker with an id of its own (process and start time), which its claims carry.
    pub fn new(store: Store, notifier: Arc<dyn Notifier>) -> Worker {
        let id = format!("{}-{}", std::process::id(), now_ms());
        Worker {
            store,
            notifier,
            planning: Default::default(),
            id,
        }
    }

    /// The same worker planning runs with `planning` (in `serve`: the server's own, so that
    /// a page's plan and a job's never run at once on one machine).
    pub fn with_planning(mut self, planning: crate::delivery::plans::Planning) -> Worker {
        self.planning = planning;
        self
    }

    /// Makes sure every scheduled job exists (from every node at every start: it is one row
    /// per kind).
    pub async fn schedule(&self) -> Result<(), bazaar_store::StoreError> {
        let now = now_ms();
        for (kind, every) in SCHEDULE {
            self.store.schedule_job(kind, *every, now).await?;
        }
        Ok(())
    }

    /// Runs due jobs until `stop` turns true; the job in hand is finished first.
    #[tracing::instrument(name = "worker", skip_all, fields(worker = %self.id))]
    pub async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        if let Err(e) = self.schedule().await {
            tracing::error!(error = %e, "scheduling the jobs failed");
        }
        tracing::info!("job worker started");
        while !*stop.borrow() {
            match self.run_one().await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => tracing::error!(error = %e, "the job queue failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(IDLE) => {}
                _ = stop.changed() => {}
            }
        }
        tracing::info!("job worker stopped");
    }

    /// Claims and runs one due job; `false` when none was due.
    pub async fn run_one(&self) -> Result<bool, bazaar_store::StoreError> {
        let Some(job) = self.store.claim_job(&self.id, now_ms()).await? else {
            return Ok(false);
        };
        let started = std::time::Instant::now();
        let outcome = if job.kind == DELIVERY_PLAN_RUN {
            self.plan_run(&job).await.map(|r| (1, Some(r)))
        } else {
            self.perform(&job).await.map(|n| (n, None))
        };
        match outcome {
            Ok((done, result)) => {
                if done > 0 {
                    tracing::info!(kind = %job.kind, done, ms = started.elapsed().as_millis() as u64, "job ran");
                }
                self.store
                    .finish_job_with(&job, &self.id, now_ms(), result.as_deref())
                    .await?;
            }
            Err(e) => {
                tracing::error!(kind = %job.kind, attempt = job.attempts, error = %e, "job failed");
                self.store.fail_job(&job, &self.id, &e, now_ms()).await?;
            }
        }
        Ok(true)
    }

    /// Plans a run on its owner's behalf, with their rights now; what it came to, as the
    /// page that follows it reads it: `{"run_id"}`, or `{"error", "field", "reason"}` for a
    /// refusal (nothing to deliver, no vehicles, rights lost). A failure of the server
    /// itself is an `Err`, tried again.
    async fn plan_run(&self, job: &Claimed) -> Result<String, String> {
        let refused = |e: &crate::app::error::ApiError| {
            serde_json::json!({"error": e.code.code(), "field": e.field, "reason": e.reason})
                .to_string()
        };
        let Some(owner) = job.owner_id else {
            return Err("a planning job without its owner".into());
        };
        let actor = match self.store.actor(owner).await {
            Ok(a) => a,
            Err(bazaar_store::StoreError::NotFound) => {
                return Ok(refused(&crate::app::error::ApiError::of(
                    bazaar_domain::ErrorCode::Forbidden,
                )));
            }
            Err(e) => return Err(e.to_string()),
        };
        let payload: serde_json::Value = serde_json::from_str(&job.payload).unwrap_or_default();
        let depot = payload["depot"].as_str().unwrap_or_default();
        match crate::delivery::runs::plan_run(&self.store, &self.planning, true, &actor, depot)
            .await
        {
            Ok(run) => Ok(serde_json::json!({"run_id": run.id}).to_string()),
            Err(e) if e.status.is_server_error() => Err(e.message()),
            Err(e) => Ok(refused(&e)),
        }
    }

    /// What a job does; how many things it changed or sent.
    async fn perform(&self, job: &Claimed) -> Result<usize, String> {
        let s = &self.store;
        let now = now_ms();
        let err = |e: bazaar_store::StoreError| e.to_string();
        match job.kind.as_str() {
            NOTIFY_DRAIN => crate::notify::drain(s, &self.notifier).await,
            ORDERS_EXPIRE_UNPAID => s.expire_unpaid(now).await.map_err(err),
            LIVE_OFFER_CLOCK => s.tick_offers(now).await.map_err(err),
            ORDERS_COMPLETE_DELIVERED => s.complete_delivered(now).await.map_err(err),
            ORDERS_DELIVER_BY_PARCELS => s.deliver_by_parcels_due().await.map_err(err),
            LOGISTICS_FLAG_STALLED => s
                .flag_stalled(now)
                .await
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
                .map_err(err),
            LOGISTICS_PICKUP_DEADLINES => s
                .pickup_deadlines(now)
                .await
                .map(|(reminded, returned)| reminded + returned)
                .map_err(err),
            other => Err(format!("no such job kind: {other}")),
        }
    }
}
