//! The prefecture-scale parcel generator for benchmarks: history written straight in SQL
//! (one statement per million parcels, as a bulk load would, not through the API), shaped
//! like a prefecture's traffic: 250,000 parcels a day over eight carriers, a third going up
//! from the villages, five carrier events each, nearly all delivered after two days, one in a
//! hundred stuck somewhere (what the 48-hour watch is for), the last three days in transit.

use crate::{Db, Store, StoreError};

const DAY_MS: i64 = 24 * 3600 * 1000;
const HOUR_MS: i64 = 3600 * 1000;
const CHUNK: i64 = 1_000_000;

/// The columns every generated parcel gets, as a SELECT over `i` (its number) and `t` (its
/// creation time); `$now` is spliced in.
fn parcel_select(now: i64) -> String {
    let old = now - 3 * DAY_MS;
    format!(
        "CASE i % 8 WHEN 0 THEN 'yuantong' WHEN 1 THEN 'zhongtong' WHEN 2 THEN 'yunda' \
         WHEN 3 THEN 'shentong' WHEN 4 THEN 'jtexpress' WHEN 5 THEN 'ems' WHEN 6 THEN 'shunfeng' \
         ELSE 'jd' END, 'H' || CAST(i AS TEXT), \
         CASE WHEN i % 3 = 0 THEN 'upstream' ELSE 'downstream' END, 500 + i % 3000, \
         1000 + i % 20000, i % 50 = 0, '村民', '13900000000', \
         CASE WHEN i % 2 = 0 THEN 'DC-652829' ELSE NULL END, \
         CASE WHEN t < {old} THEN (CASE WHEN i % 100 = 7 THEN 'in_transit' ELSE 'delivered' END) \
              ELSE (CASE i % 4 WHEN 0 THEN 'in_transit' WHEN 1 THEN 'arrived_destination_city' \
                    WHEN 2 THEN 'out_for_delivery' ELSE 'in_locker_or_station' END) END, \
         CASE WHEN t < {old} AND i % 100 <> 7 THEN t + 48 * {HOUR_MS} ELSE t + 12 * {HOUR_MS} END, \
         t, t"
    )
}

const PARCEL_COLS: &str = "carrier, waybill, direction, weight_g, volume_cm3, cold_chain, \
    recipient_name, recipient_phone, last_node, state, last_event_at, created_at, updated_at";

impl Store {
    /// Generates `parcels` parcels spread evenly over the `days` before `now`, with five
    /// carrier events each; calls `progress` with the parcels written so far. Returns the
    /// first generated parcel id.
    pub async fn generate_parcel_history(
        &self,
        parcels: i64,
        days: i64,
        now: i64,
        progress: impl Fn(i64),
    ) -> Result<i64, StoreError> {
        let start = now - days * DAY_MS;
        let step = (days * DAY_MS / parcels.max(1)).max(1);
        let first: i64 = match self.db() {
            Db::Sqlite { write, .. } => {
                sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM parcels")
                    .fetch_one(write)
                    .await?
            }
            Db::Pg(p) => {
                sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM parcels")
                    .fetch_one(p)
                    .await?
            }
        };
        let select = parcel_select(now);
        let mut lo = 0;
        while lo < parcels {
            let hi = (lo + CHUNK).min(parcels) - 1;
            match self.db() {
                Db::Sqlite { write, .. } => {
                    let sql = format!(
                        "WITH RECURSIVE n(i) AS (SELECT {lo} UNION ALL SELECT i + 1 FROM n \
                         WHERE i < {hi}), g(i, t) AS (SELECT i, {start} + i * {step} FROM n) \
                         INSERT INTO parcels ({PARCEL_COLS}) SELECT {select} FROM g"
                    );
                    sqlx::query(&sql).execute(write).await?;
                }
                Db::Pg(p) => {
                    let sql = format!(
                        "INSERT INTO parcels ({PARCEL_COLS}) SELECT {select} FROM \
                         (SELECT i, {start} + i * {step} AS t FROM generate_series({lo}::bigint, \
                         {hi}::bigint) AS i) g"
                    );
                    sqlx::query(&sql).execute(p).await?;
                }
            }
            lo = hi + 1;
            progress(lo);
        }
        // Five events per parcel: collected, twice in transit, out for delivery, signed for
        // (the stuck and the recent ones stop earlier).
        let mut lo = first;
        let last = first + parcels;
        while lo < last {
            let hi = (lo + CHUNK).min(last);
            let sql = format!(
                "INSERT INTO parcel_events (parcel_id, source, code, state, place, at, \
                 received_at) SELECT p.id, 'carrier', \
                 CASE k.k WHEN 0 THEN '1' WHEN 1 THEN '0' WHEN 2 THEN '0' WHEN 3 THEN '5' \
                 ELSE '3' END, \
                 CASE k.k WHEN 0 THEN 'picked_up' WHEN 1 THEN 'in_transit' \
                 WHEN 2 THEN 'in_transit' WHEN 3 THEN 'out_for_delivery' ELSE 'delivered' END, \
                 '乌鲁木齐', p.created_at + k.k * 12 * {HOUR_MS}, p.created_at + k.k * 12 * {HOUR_MS} \
                 FROM parcels p CROSS JOIN (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 \
                 UNION ALL SELECT 3 UNION ALL SELECT 4) k \
                 WHERE p.id >= {lo} AND p.id < {hi} AND p.created_at + k.k * 12 * {HOUR_MS} \
                 <= p.last_event_at"
            );
            match self.db() {
                Db::Sqlite { write, .. } => {
                    sqlx::query(&sql).execute(write).await?;
                }
                Db::Pg(p) => {
                    sqlx::query(&sql).execute(p).await?;
                }
            }
            lo = hi;
            progress(parcels + (lo - first));
        }
        match self.db() {
            Db::Sqlite { write, .. } => {
                sqlx::query("ANALYZE").execute(write).await?;
            }
            Db::Pg(p) => {
                sqlx::query("ANALYZE parcels").execute(p).await?;
                sqlx::query("ANALYZE parcel_events").execute(p).await?;
            }
        }
        Ok(first)
    }

    /// Where a run's generated day parcels may start numbering (`YT9` + 12 digits) so that
    /// they never meet an earlier run's: above every parcel id there is and above the highest
    /// such waybill.
    pub async fn next_generated_number(&self) -> Result<i64, StoreError> {
        let ids = "SELECT COALESCE(MAX(id), 0) FROM parcels";
        let top = "SELECT MAX(waybill) FROM parcels WHERE carrier = 'yuantong' \
                   AND waybill >= 'YT9000000000000' AND waybill <= 'YT9999999999999'";
        let (max, waybill): (i64, Option<String>) = match self.db() {
            Db::Sqlite { write, .. } => (
                sqlx::query_scalar(ids).fetch_one(write).await?,
                sqlx::query_scalar(top).fetch_one(write).await?,
            ),
            Db::Pg(p) => (
                sqlx::query_scalar(ids).fetch_one(p).await?,
                sqlx::query_scalar(top).fetch_one(p).await?,
            ),
        };
        let after = waybill
            .and_then(|w| w.get(2..).and_then(|n| n.parse::<i64>().ok()))
            .unwrap_or(0);
        Ok((9_000_000_000_000 + max).max(after) + 1)
    }

    /// Registers `n` new 圆通 parcels for today (waybills `YT` + 13 digits from `from`),
    /// registered at `now` minus two hours, as a day's feed will find them; returns their
    /// (id, waybill).
    pub async fn generate_day_parcels(
        &self,
        from: i64,
        n: i64,
        now: i64,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let to = from + n - 1;
        let now = now - 2 * HOUR_MS;
        let cols = "carrier, waybill, direction, recipient_name, recipient_phone, state, \
                    last_event_at, created_at, updated_at";
        let sql_sqlite = format!(
            "WITH RECURSIVE n(i) AS (SELECT {from} UNION ALL SELECT i + 1 FROM n WHERE i < {to}) \
             INSERT INTO parcels ({cols}) SELECT 'yuantong', 'YT' || printf('%013d', i), \
             'downstream', '村民', '13900000000', 'ordered', {now}, {now}, {now} FROM n"
        );
        let sql_pg = format!(
            "INSERT INTO parcels ({cols}) SELECT 'yuantong', 'YT' || lpad(i::text, 13, '0'), \
             'downstream', '村民', '13900000000', 'ordered', {now}, {now}, {now} \
             FROM generate_series({from}::bigint, {to}::bigint) AS i"
        );
        let select = "SELECT id, waybill FROM parcels WHERE carrier = 'yuantong' AND waybill >= $1 \
                      AND waybill <= $2 ORDER BY waybill";
        let lo = format!("YT{from:013}");
        let hi = format!("YT{to:013}");
        Ok(match self.db() {
            Db::Sqlite { write, .. } => {
                sqlx::query(&sql_sqlite).execute(write).await?;
                sqlx::query_as(select)
                    .bind(&lo)
                    .bind(&hi)
                    .fetch_all(write)
                    .await?
            }
            Db::Pg(p) => {
                sqlx::query(&sql_pg).execute(p).await?;
                sqlx::query_as(select)
                    .bind(&lo)
                    .bind(&hi)
                    .fetch_all(p)
                    .await?
            }
        })
    }
}
