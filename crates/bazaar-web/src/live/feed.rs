//! A live session's event stream: snapshots of the session (its status, the pinned product)
//! and its offers (status, what is left), pushed to every page and dashboard that follows it.
//!
//! One task per followed session on this node reads the session from the database every
//! [`TICK`] and sends a snapshot to its followers when it changed, so a change made on any
//! node reaches every follower within a tick or two, and a thousand viewers cost two queries a
//! tick, not two thousand. Each event is the whole state: a follower that reconnects (with
//! `Last-Event-ID` or not) gets the current snapshot first and misses nothing. The task ends
//! when nobody follows.

use bazaar_store::Store;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::watch;

/// How often a followed session is read.
pub const TICK: Duration = Duration::from_millis(500);

/// A session's latest snapshot and its number (the event id).
pub type Snapshot = (u64, Value);

/// The node's followed sessions.
#[derive(Default)]
pub struct LiveFeed {
    sessions: Mutex<HashMap<i64, watch::Receiver<Snapshot>>>,
}

impl LiveFeed {
    /// Follows session `id`: a receiver of its snapshots (the current one first), its reading
    /// task started when nobody followed it on this node. `None` when there is no such
    /// session.
    pub async fn follow(&self, store: &Store, id: i64) -> Option<watch::Receiver<Snapshot>> {
        {
            let map = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(rx) = map.get(&id)
                && rx.has_changed().is_ok()
            {
                return Some(rx.clone());
            }
        }
        let first = snapshot(store, id).await?;
        let (tx, rx) = watch::channel((1, first));
        let mut map = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        // Another follower may have started one meanwhile: keep theirs.
        if let Some(existing) = map.get(&id)
            && existing.has_changed().is_ok()
        {
            return Some(existing.clone());
        }
        map.insert(id, rx.clone());
        tokio::spawn(read(store.clone(), id, tx));
        Some(rx)
    }
}

/// Reads session `id` every tick while anyone follows; sends what changed.
async fn read(store: Store, id: i64, tx: watch::Sender<Snapshot>) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if tx.receiver_count() <= 1 {
            // Only the registry's own receiver is left: nobody follows.
            return;
        }
        let Some(now) = snapshot(&store, id).await else {
            continue;
        };
        tx.send_if_modified(|(n, v)| {
            if *v == now {
                false
            } else {
                *n += 1;
                *v = now;
                true
            }
        });
    }
}

/// A session's state as its followers need it; `None` when it cannot be read.
pub async fn snapshot(store: &Store, id: i64) -> Option<Value> {
    let s = store.session(id).await.ok()?;
    let offers = store.session_offers(id).await.ok()?;
    Some(json!({
        "session": s.id,
        "status": s.status,
        "pinned_product_id": s.pinned_product_id,
        "offers": offers.iter().map(|o| json!({
            "id": o.id,
            "status": o.status,
            "sold": o.sold,
            "held": o.held,
            "remaining": o.remaining(),
        })).collect::<Vec<_>>(),
    }))
}
