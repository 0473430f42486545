//! Income attribution: every sold line keeps its producer, village and the producer's
//! poverty-alleviation status, so sales can be traced to the households that produced them.
//!
//! "Sold" means the order was paid and not refunded (paid, fulfilling, shipped, delivered,
//! completed, or with a refund still being decided). Months and years are local (Beijing time).

use crate::{Store, StoreError, on_read};
use bazaar_domain::people::{Actor, Role};
use bazaar_domain::time::Zone;
use serde::Serialize;
use std::collections::BTreeMap;

const SOLD: &str = "('paid','fulfilling','shipped','delivered','completed','refund_requested')";

/// Sales of one producer in one month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MonthSales {
    /// Producer (seller) id.
    pub seller_id: i64,
    /// Producer name.
    pub seller: String,
    /// `YYYY-MM`.
    pub month: String,
    /// Orders with this producer's goods.
    pub orders: i64,
    /// Units sold.
    pub units: i64,
    /// Sales, fen (what buyers paid for the goods, before shipping).
    pub sales_fen: i64,
}

/// One county's sales in a year, and the part that reached poverty-alleviation households.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CountySales {
    /// County code.
    pub county_code: String,
    /// County name.
    pub county: String,
    /// All sales of goods produced in the county, fen.
    pub sales_fen: i64,
    /// Sales by producers registered as poverty-alleviation households (脱贫户/监测户), fen.
    pub poverty_household_fen: i64,
    /// Sales of poverty-alleviation products (certified, or by such households), fen.
    pub poverty_product_fen: i64,
}

/// An institution's purchases in a year (the figure 消费扶贫 buyers report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct InstitutionPurchases {
    /// The year.
    pub year: i32,
    /// Orders paid.
    pub orders: i64,
    /// All goods bought, fen.
    pub total_fen: i64,
    /// Poverty-alleviation products bought, fen.
    pub poverty_fen: i64,
}

#[derive(sqlx::FromRow)]
struct SoldLine {
    order_id: i64,
    paid_at: i64,
    seller_id: i64,
    seller: String,
    quantity: i64,
    line_fen: i64,
}

/// Sums of one producer in one month.
#[derive(Default)]
struct Acc {
    seller: String,
    orders: std::collections::BTreeSet<i64>,
    units: i64,
    sales_fen: i64,
}

fn year_bounds(year: i32) -> Result<(i64, i64), StoreError> {
    let z = Zone::Shanghai;
    match (z.year_start_ms(year), z.year_start_ms(year + 1)) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(StoreError::field("year", bazaar_domain::Reason::OutOfRange)),
    }
}

impl Store {
    /// Sales per producer and month in `year`: a seller's own; a station agent's villagers
    /// (sellers it registered, or in its village); an operator's region; everything for admins.
    pub async fn monthly_sales(
        &self,
        actor: &Actor,
        year: i32,
    ) -> Result<Vec<MonthSales>, StoreError> {
        let (from, to) = year_bounds(year)?;
        let base = format!(
            "SELECT l.order_id, o.paid_at, l.seller_id, s.name AS seller, l.quantity, l.line_fen \
             FROM order_lines l JOIN orders o ON o.id = l.order_id \
             JOIN sellers s ON s.id = l.seller_id JOIN regions v ON v.code = l.village_code \
             WHERE o.status IN {SOLD} AND o.paid_at >= $1 AND o.paid_at < $2"
        );
        let scope = format!(
            "{}%",
            actor.region_path.clone().unwrap_or_else(|| "-".into())
        );
        let sql = match actor.role {
            Role::Admin => base,
            Role::Seller => format!("{base} AND l.seller_id = $3"),
            Role::Agent => format!("{base} AND (s.registered_by = $3 OR v.path LIKE $4)"),
            Role::Operator => format!("{base} AND v.path LIKE $3"),
            _ => return Err(StoreError::Forbidden),
        };
        let rows: Vec<SoldLine> = on_read!(self, |p| {
            let mut q = sqlx::query_as(&sql).bind(from).bind(to);
            match actor.role {
                Role::Seller => q = q.bind(actor.seller_id.unwrap_or(-1)),
                Role::Agent => q = q.bind(actor.user_id).bind(&scope),
                Role::Operator => q = q.bind(&scope),
                _ => {}
            }
            q.fetch_all(p).await?
        });
        let mut by: BTreeMap<(String, i64), Acc> = BTreeMap::new();
        for r in rows {
            let e = by
                .entry((Zone::Shanghai.month_of(r.paid_at), r.seller_id))
                .or_insert_with(|| Acc {
                    seller: r.seller.clone(),
                    ..Acc::default()
                });
            e.orders.insert(r.order_id);
            e.units += r.quantity;
            e.sales_fen += r.line_fen;
        }
        Ok(by
            .into_iter()
            .map(|((month, seller_id), a)| MonthSales {
                seller_id,
                seller: a.seller,
                month,
                orders: a.orders.len() as i64,
                units: a.units,
                sales_fen: a.sales_fen,
            })
            .collect())
    }

    /// Per county, the year's sales and the part that reached poverty-alleviation households
    /// (operators: their region; admins: all).
    pub async fn poverty_sales(
        &self,
        actor: &Actor,
        year: i32,
    ) -> Result<Vec<CountySales>, StoreError> {
        let scope = match actor.role {
            Role::Admin => "/".to_string(),
            Role::Operator => actor.region_path.clone().unwrap_or_else(|| "-".into()),
            _ => return Err(StoreError::Forbidden),
        };
        let (from, to) = year_bounds(year)?;
        let sql = format!(
            "SELECT c.code, c.name, \
             CAST(COALESCE(SUM(l.line_fen), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN l.poverty_status <> 'none' THEN l.line_fen ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN l.poverty_product THEN l.line_fen ELSE 0 END), 0) AS BIGINT) \
             FROM order_lines l JOIN orders o ON o.id = l.order_id \
             JOIN regions v ON v.code = l.village_code JOIN regions t ON t.code = v.parent_code \
             JOIN regions c ON c.code = t.parent_code \
             WHERE o.status IN {SOLD} AND o.paid_at >= $1 AND o.paid_at < $2 AND v.path LIKE $3 \
             GROUP BY c.code, c.name ORDER BY c.code"
        );
        let rows: Vec<(String, String, i64, i64, i64)> = on_read!(self, |p| {
            sqlx::query_as(&sql)
                .bind(from)
                .bind(to)
                .bind(format!("{scope}%"))
                .fetch_all(p)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(
                |(county_code, county, sales_fen, poverty_household_fen, poverty_product_fen)| {
                    CountySales {
                        county_code,
                        county,
                        sales_fen,
                        poverty_household_fen,
                        poverty_product_fen,
                    }
                },
            )
            .collect())
    }

    /// An institution's purchases in a year.
    pub async fn institution_purchases(
        &self,
        actor: &Actor,
        year: i32,
    ) -> Result<InstitutionPurchases, StoreError> {
        if actor.role != Role::Institution {
            return Err(StoreError::Forbidden);
        }
        let (from, to) = year_bounds(year)?;
        let sql = format!(
            "SELECT COUNT(DISTINCT o.id), CAST(COALESCE(SUM(l.line_fen), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN l.poverty_product THEN l.line_fen ELSE 0 END), 0) AS BIGINT) \
             FROM orders o JOIN order_lines l ON l.order_id = o.id \
             WHERE o.placed_by = $1 AND o.status IN {SOLD} AND o.paid_at >= $2 AND o.paid_at < $3"
        );
        let (orders, total_fen, poverty_fen): (i64, i64, i64) = on_read!(self, |p| {
            sqlx::query_as(&sql)
                .bind(actor.user_id)
                .bind(from)
                .bind(to)
                .fetch_one(p)
                .await?
        });
        Ok(InstitutionPurchases {
            year,
            orders,
            total_fen,
            poverty_fen,
        })
    }
}
