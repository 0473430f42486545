//! Stock at a glance for the storefront's lists and product pages: how many units of each
//! SKU are free, read in one query for a whole page and kept for [`TTL`], so that a busy
//! home page does not ask the database on every request. What a buyer can really take is
//! decided when it goes in the cart and when the order is placed, from the database; a stock
//! change made on this server forgets what was kept at once, one made elsewhere (another
//! node, an order) shows within [`TTL`].

use bazaar_store::{Store, StoreError};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a reading is shown before it is read again.
pub const TTL: Duration = Duration::from_secs(5);
/// The most SKUs kept (beyond it, everything is forgotten and read again).
const MAX_KEPT: usize = 20_000;

/// Free units per SKU, as last read (see the module).
#[derive(Debug, Default)]
pub struct StockGlance {
    kept: Mutex<HashMap<i64, (i64, Instant)>>,
}

impl StockGlance {
    /// The free units of `skus` (at most 500; a SKU without stock is absent, i.e. none):
    /// those read within [`TTL`] as they were, the others from `store` in one query.
    pub async fn available(
        &self,
        store: &Store,
        skus: &[i64],
    ) -> Result<BTreeMap<i64, i64>, StoreError> {
        let now = Instant::now();
        let mut out = BTreeMap::new();
        let mut missing = Vec::new();
        {
            let kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
            for id in skus.iter().take(500) {
                match kept.get(id) {
                    Some((n, at)) if now.duration_since(*at) < TTL => {
                        out.insert(*id, *n);
                    }
                    _ => missing.push(*id),
                }
            }
        }
        if missing.is_empty() {
            return Ok(out);
        }
        let read = store.available(&missing).await?;
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() + missing.len() > MAX_KEPT {
            kept.clear();
        }
        for id in missing {
            let n = read.get(&id).copied().unwrap_or(0);
            kept.insert(id, (n, now));
            out.insert(id, n);
        }
        Ok(out)
    }

    /// Forgets every reading (after a stock change on this server).
    pub fn forget(&self) {
        self.kept.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}
