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
/// Kind of the auto-completion of delivered orders.
pub const ORDERS_COMPLETE_DELIVERED: &str = "orders.complete_delivered";
/// Kind of the delivery of orders by their parcels.
pub const ORDERS_DELIVER_BY_PARCELS: &str = "orders.deliver_by_parcels";
/// Kind of the 48-hour watch.
pub const LOGISTICS_FLAG_STALLED: &str = "logistics.flag_stalled";
/// Kind of the pickup reminders and returns.
pub const LOGISTICS_PICKUP_DEADLINES: &str = "logistics.pickup_deadlines";

/// How long an idle worker waits before it looks for due jobs again.
const IDLE: Duration = Duration::from_secs(1);

/// A worker over `store`, sending notifications through `notifier`.
#[derive(Clone)]
pub struct Worker {
    store: Store,
    notifier: Arc<dyn Notifier>,
    id: String,
}

impl Worker {
    /// A worker with an id of its own (process and start time), which its claims carry.
    pub fn new(store: Store, notifier: Arc<dyn Notifier>) -> Worker {
        let id = format!("{}-{}", std::process::id(), now_ms());
        Worker {
            store,
            notifier,
            id,
        }
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
        match self.perform(&job).await {
            Ok(done) => {
                if done > 0 {
                    tracing::info!(kind = %job.kind, done, ms = started.elapsed().as_millis() as u64, "job ran");
                }
                self.store.finish_job(&job, &self.id, now_ms()).await?;
            }
            Err(e) => {
                tracing::error!(kind = %job.kind, attempt = job.attempts, error = %e, "job failed");
                self.store.fail_job(&job, &self.id, &e, now_ms()).await?;
            }
        }
        Ok(true)
    }

    /// What a job does; how many things it changed or sent.
    async fn perform(&self, job: &Claimed) -> Result<usize, String> {
        let s = &self.store;
        let now = now_ms();
        let err = |e: bazaar_store::StoreError| e.to_string();
        match job.kind.as_str() {
            NOTIFY_DRAIN => crate::notify::drain(s, &self.notifier).await,
            ORDERS_EXPIRE_UNPAID => s.expire_unpaid(now).await.map_err(err),
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
