//! The flash desk: on this node, the requests for one offer are combined into batches, each
//! decided in one transaction ([`bazaar_store::Store::place_flash_batch`]). One task per
//! offer takes what has arrived while the previous batch committed (at most [`MAX_BATCH`]),
//! sends it to the store, and answers each request with its own outcome once the batch has
//! committed. A task with nothing to do for a minute ends; the next request starts another.

use bazaar_store::live::flash::FlashRequest;
use bazaar_store::orders::Placed;
use bazaar_store::{Store, StoreError};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// The most requests decided in one transaction.
pub const MAX_BATCH: usize = 512;
/// How many requests may wait for one offer on this node before callers wait to queue.
const QUEUE: usize = 8192;
/// How long an offer's task waits for a request before it ends.
const IDLE: Duration = Duration::from_secs(60);

/// One request and where its answer goes.
struct Job {
    req: FlashRequest,
    reply: oneshot::Sender<Result<Placed, StoreError>>,
}

/// The node's flash desk (see the module).
#[derive(Default)]
pub struct FlashDesk {
    queues: Mutex<HashMap<i64, mpsc::Sender<Job>>>,
    /// Batches decided and requests in them, since the start (for the metrics and tests).
    counts: Arc<Counts>,
}

/// How much the desk has combined.
#[derive(Debug, Default)]
pub struct Counts {
    /// Transactions run.
    pub batches: AtomicU64,
    /// Requests decided in them.
    pub requests: AtomicU64,
}

impl FlashDesk {
    /// Batches decided and requests in them so far, on this node.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.counts.batches.load(Ordering::Relaxed),
            self.counts.requests.load(Ordering::Relaxed),
        )
    }

    /// Places `req` on offer `offer` with the other requests arriving meanwhile; answers
    /// once its batch has committed.
    pub async fn order(
        &self,
        store: &Store,
        offer: i64,
        req: FlashRequest,
    ) -> Result<Placed, StoreError> {
        let mut job = Job {
            req,
            reply: oneshot::channel().0,
        };
        // A task starts only for an offer that exists: made-up ids cannot fill the node with
        // idle tasks (a queue already running costs no query).
        if !self.running(offer) {
            store.offer(offer).await?;
        }
        // Twice at most: an idle task may end between taking its queue and sending to it.
        for _ in 0..2 {
            let (tx, rx) = oneshot::channel();
            job.reply = tx;
            let queue = self.queue(store, offer);
            match queue.send(job).await {
                Ok(()) => {
                    return rx.await.unwrap_or_else(|_| {
                        Err(StoreError::Config(
                            "the flash desk stopped before answering".into(),
                        ))
                    });
                }
                Err(mpsc::error::SendError(back)) => {
                    job = back;
                    self.forget(offer, &queue);
                }
            }
        }
        Err(StoreError::Config(
            "the flash desk takes no requests".into(),
        ))
    }

    /// Whether `offer` has a task taking requests on this node.
    fn running(&self, offer: i64) -> bool {
        let q = self.queues.lock().unwrap_or_else(|p| p.into_inner());
        q.get(&offer).is_some_and(|tx| !tx.is_closed())
    }

    /// The queue of `offer`'s task, started when there is none.
    fn queue(&self, store: &Store, offer: i64) -> mpsc::Sender<Job> {
        let mut q = self.queues.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = q.get(&offer)
            && !tx.is_closed()
        {
            return tx.clone();
        }
        let (tx, rx) = mpsc::channel(QUEUE);
        q.insert(offer, tx.clone());
        tokio::spawn(run(store.clone(), offer, rx, self.counts.clone()));
        tx
    }

    /// Forgets `offer`'s queue if it is still `old` (its task has ended).
    fn forget(&self, offer: i64, old: &mpsc::Sender<Job>) {
        let mut q = self.queues.lock().unwrap_or_else(|p| p.into_inner());
        if q.get(&offer).is_some_and(|t| t.same_channel(old)) {
            q.remove(&offer);
        }
    }
}

/// An offer's task: batches until idle.
async fn run(store: Store, offer: i64, mut rx: mpsc::Receiver<Job>, counts: Arc<Counts>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    loop {
        let first = match tokio::time::timeout(IDLE, rx.recv()).await {
            Ok(Some(j)) => j,
            // Idle, or every sender gone: closing makes late senders start a new task.
            _ => {
                rx.close();
                // Whatever slipped in before the close is still answered.
                while let Ok(j) = rx.try_recv() {
                    batch.push(j);
                }
                if batch.is_empty() {
                    return;
                }
                decide(&store, offer, &mut batch, &counts).await;
                return;
            }
        };
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        decide(&store, offer, &mut batch, &counts).await;
    }
}

/// Decides `batch` in one transaction and answers each request.
async fn decide(store: &Store, offer: i64, batch: &mut Vec<Job>, counts: &Counts) {
    let reqs: Vec<FlashRequest> = batch.iter().map(|j| j.req.clone()).collect();
    counts.batches.fetch_add(1, Ordering::Relaxed);
    counts
        .requests
        .fetch_add(reqs.len() as u64, Ordering::Relaxed);
    let answers = store.place_flash_batch(offer, &reqs).await;
    for (job, answer) in batch.drain(..).zip(answers) {
        // A caller that went away (its connection closed) is not waited for.
        let _ = job.reply.send(answer);
    }
}
