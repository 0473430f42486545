//! Live selling: a live room's sessions (their products and pins) and their flash offers
//! ([`offers`]), with the flash-order path that grants a whole batch of requests in one
//! transaction ([`flash`]). The rules are in [`bazaar_domain::live`]; DESIGN.md §12 says why.

pub mod flash;
pub mod offers;

use crate::{Store, StoreError, in_tx, on_read};
use bazaar_domain::live::{Platform, SessionAction, SessionStatus, session_transition};
use bazaar_domain::people::{Actor, Role};
use bazaar_domain::time::now_ms;
use bazaar_domain::{FieldError, Reason};
use serde::Serialize;

/// The longest session title, in characters.
pub const MAX_TITLE: usize = 100;
/// The longest stream address, in characters.
pub const MAX_STREAM_URL: usize = 500;

/// A live session as stored.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Session {
    /// Id.
    pub id: i64,
    /// The live room: a network node's code (a village service point, a county centre).
    pub room_node: String,
    /// Title.
    pub title: String,
    /// douyin, kuaishou, channels or other.
    pub platform: String,
    /// The stream's address on its platform.
    pub stream_url: Option<String>,
    /// Planned start (UTC ms).
    pub planned_start: i64,
    /// Planned end (UTC ms).
    pub planned_end: i64,
    /// When it went on air (UTC ms).
    pub started_at: Option<i64>,
    /// When it ended (UTC ms).
    pub ended_at: Option<i64>,
    /// scheduled, live, paused or ended.
    pub status: String,
    /// The product being presented (讲解中).
    pub pinned_product_id: Option<i64>,
    /// Created by.
    pub created_by: i64,
}

/// A new session, as sent.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The live room's node code.
    pub room_node: String,
    /// Title.
    pub title: String,
    /// Where the stream runs.
    pub platform: Platform,
    /// The stream's address.
    pub stream_url: Option<String>,
    /// Planned start (UTC ms).
    pub planned_start: i64,
    /// Planned end (UTC ms).
    pub planned_end: i64,
}

const SESSION_COLS: &str = "id, room_node, title, platform, stream_url, planned_start, \
    planned_end, started_at, ended_at, status, pinned_product_id, created_by";

impl Store {
    /// May `actor` run the live room at `node`: its hosts and agent (their own room), an
    /// operator whose region holds it, an admin.
    pub(crate) async fn may_run_room(&self, actor: &Actor, node: &str) -> Result<bool, StoreError> {
        Ok(match actor.role {
            Role::Admin => true,
            Role::Host | Role::Agent => actor.node_code.as_deref() == Some(node),
            Role::Operator => {
                let n = self.node(node).await?;
                let r = self.region(&n.region_code).await?;
                actor.region_contains(&r.path)
            }
            _ => false,
        })
    }

    /// Announces a session in a live room the caller runs.
    pub async fn create_session(
        &self,
        actor: &Actor,
        s: &NewSession,
    ) -> Result<Session, StoreError> {
        use bazaar_domain::error::{optional_text, take};
        let mut errs = vec![];
        let title = take(&mut errs, optional_text("title", &s.title, MAX_TITLE)).flatten();
        if title.is_none() && !errs.iter().any(|e: &FieldError| e.field == "title") {
            errs.push(FieldError::new("title", Reason::Required));
        }
        let url = match &s.stream_url {
            Some(u) => take(&mut errs, optional_text("stream_url", u, MAX_STREAM_URL)).flatten(),
            None => None,
        };
        if let Some(u) = &url
            && !(u.starts_with("https://") || u.starts_with("http://"))
        {
            errs.push(FieldError::new("stream_url", Reason::InvalidFormat));
        }
        if s.planned_end <= s.planned_start {
            errs.push(FieldError::new("planned_end", Reason::Inconsistent));
        }
        if self.node(&s.room_node).await.is_err() {
            errs.push(FieldError::new("room_node", Reason::UnknownReference));
        }
        if !errs.is_empty() {
            return Err(StoreError::Invalid(errs));
        }
        if !self.may_run_room(actor, &s.room_node).await? {
            return Err(StoreError::Forbidden);
        }
        let now = now_ms();
        let title = title.unwrap_or_default();
        let id: i64 = in_tx!(self, |c| {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO live_sessions (room_node, title, platform, stream_url, planned_start, \
                 planned_end, status, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, \
                 $5, $6, 'scheduled', $7, $8, $8) RETURNING id",
            )
            .bind(&s.room_node)
            .bind(&title)
            .bind(s.platform.as_str())
            .bind(&url)
            .bind(s.planned_start)
            .bind(s.planned_end)
            .bind(actor.user_id)
            .bind(now)
            .fetch_one(&mut *c)
            .await?;
            Ok(id)
        })?;
        self.session(id).await
    }

    /// A session (sessions are public: their pages are for every buyer).
    pub async fn session(&self, id: i64) -> Result<Session, StoreError> {
        let sql = format!("SELECT {SESSION_COLS} FROM live_sessions WHERE id = $1");
        let r: Option<Session> = on_read!(self, |p| {
            sqlx::query_as(&sql).bind(id).fetch_optional(p).await?
        });
        r.ok_or(StoreError::NotFound)
    }

    /// A session the caller runs (`NotFound` for one it may not see change, `Forbidden` for
    /// one it sees but does not run).
    pub(crate) async fn session_run_by(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<Session, StoreError> {
        let s = self.session(id).await?;
        if !self.may_run_room(actor, &s.room_node).await? {
            return Err(StoreError::Forbidden);
        }
        Ok(s)
    }

    /// Starts, pauses, resumes or ends a session, or pins a product (`product_id`: listed,
    /// added to the session's list when it is not there yet). Ending a session ends its
    /// offers that are still open.
    pub async fn session_action(
        &self,
        actor: &Actor,
        id: i64,
        action: SessionAction,
        product_id: Option<i64>,
    ) -> Result<Session, StoreError> {
        let s = self.session_run_by(actor, id).await?;
        let from = SessionStatus::from_db(&s.status).ok_or(StoreError::NotFound)?;
        let to = session_transition(from, action).ok_or_else(|| StoreError::InvalidTransition {
            from: from.as_str().into(),
            action: action.as_str().into(),
        })?;
        let pin = match (action, product_id) {
            (SessionAction::Pin, None) => {
                return Err(StoreError::field("product_id", Reason::Needed));
            }
            (SessionAction::Pin, Some(p)) => match self.product_for(None, p).await {
                Ok(prod) if prod.row.status == "listed" => Some(p),
                _ => return Err(StoreError::field("product_id", Reason::UnknownReference)),
            },
            _ => None,
        };
        let now = now_ms();
        in_tx!(self, |c| {
            let hit = sqlx::query(
                "UPDATE live_sessions SET status = $1, updated_at = $2, \
                 started_at = CASE WHEN $3 AND started_at IS NULL THEN $2 ELSE started_at END, \
                 ended_at = CASE WHEN $4 THEN $2 ELSE ended_at END \
                 WHERE id = $5 AND status = $6",
            )
            .bind(to.as_str())
            .bind(now)
            .bind(action == SessionAction::Start)
            .bind(to == SessionStatus::Ended)
            .bind(id)
            .bind(from.as_str())
            .execute(&mut *c)
            .await?
            .rows_affected();
            if hit == 0 {
                return Err(StoreError::InvalidTransition {
                    from: from.as_str().into(),
                    action: action.as_str().into(),
                });
            }
            if pin.is_some() || to == SessionStatus::Ended {
                sqlx::query(
                    "UPDATE live_pins SET unpinned_at = $1 WHERE session_id = $2 \
                     AND unpinned_at IS NULL",
                )
                .bind(now)
                .bind(id)
                .execute(&mut *c)
                .await?;
                sqlx::query("UPDATE live_sessions SET pinned_product_id = $1 WHERE id = $2")
                    .bind(pin)
                    .bind(id)
                    .execute(&mut *c)
                    .await?;
            }
            if let Some(p) = pin {
                sqlx::query(
                    "INSERT INTO live_pins (session_id, product_id, pinned_at) VALUES ($1, $2, $3)",
                )
                .bind(id)
                .bind(p)
                .bind(now)
                .execute(&mut *c)
                .await?;
                sqlx::query(
                    "INSERT INTO live_session_products (session_id, product_id, position, on_shelf) \
                     SELECT $1, $2, COALESCE(MAX(position), 0) + 1, TRUE FROM live_session_products \
                     WHERE session_id = $1 ON CONFLICT (session_id, product_id) DO NOTHING",
                )
                .bind(id)
                .bind(p)
                .execute(&mut *c)
                .await?;
            }
            if to == SessionStatus::Ended {
                sqlx::query(
                    "UPDATE offers SET status = 'ended', updated_at = $1 WHERE session_id = $2 \
                     AND status IN ('scheduled', 'live', 'paused', 'sold_out')",
                )
                .bind(now)
                .bind(id)
                .execute(&mut *c)
                .await?;
            }
            Ok(())
        })?;
        if to == SessionStatus::Ended {
            self.settle_offers_of(id).await?;
        }
        self.session(id).await
    }

    /// The sessions on air now (live or on a break), latest started first, at most `n`.
    pub async fn sessions_on_air(&self, n: i64) -> Result<Vec<Session>, StoreError> {
        let sql = format!(
            "SELECT {SESSION_COLS} FROM live_sessions WHERE status IN ('live', 'paused') \
             ORDER BY started_at DESC LIMIT $1"
        );
        Ok(on_read!(self, |p| {
            sqlx::query_as(&sql)
                .bind(n.clamp(1, 50))
                .fetch_all(p)
                .await?
        }))
    }

    /// A session's products in their order, with whether each is on the shelf.
    pub async fn session_products(&self, id: i64) -> Result<Vec<(i64, bool)>, StoreError> {
        Ok(on_read!(self, |p| {
            sqlx::query_as(
                "SELECT product_id, on_shelf FROM live_session_products WHERE session_id = $1 \
                 ORDER BY position",
            )
            .bind(id)
            .fetch_all(p)
            .await?
        }))
    }

    /// A session's pins, oldest first: product, pinned at, unpinned at (UTC ms).
    pub async fn session_pins(&self, id: i64) -> Result<Vec<(i64, i64, Option<i64>)>, StoreError> {
        Ok(on_read!(self, |p| {
            sqlx::query_as(
                "SELECT product_id, pinned_at, unpinned_at FROM live_pins WHERE session_id = $1 \
                 ORDER BY id",
            )
            .bind(id)
            .fetch_all(p)
            .await?
        }))
    }
}

/// A session's figures as its dashboard shows them (`live-and-stats.md` A3): paid goods
/// (GMV, the offers' prices times the units paid), orders and buyers (those holding or paid),
/// and each offer's units.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Figures {
    /// Goods paid for, fen (shipping not counted).
    pub gmv_fen: i64,
    /// Orders placed on its offers and not released (held or paid).
    pub orders: i64,
    /// Orders paid.
    pub paid_orders: i64,
    /// Distinct buyers of those orders.
    pub buyers: i64,
    /// Each offer: id, status, sold, held, remaining.
    pub offers: Vec<OfferFigures>,
}

/// One offer's units.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OfferFigures {
    /// Offer id.
    pub id: i64,
    /// Its status.
    pub status: String,
    /// Units paid.
    pub sold: i64,
    /// Units held by unpaid orders.
    pub held: i64,
    /// Units left.
    pub remaining: i64,
}

impl Store {
    /// The sessions `actor` runs, newest planned first, at most `limit` (1 to 100): a host's
    /// and agent's room's, an operator's region's, every one for an admin.
    pub async fn sessions_for(
        &self,
        actor: &Actor,
        limit: i64,
    ) -> Result<Vec<Session>, StoreError> {
        let cols = SESSION_COLS
            .split(", ")
            .map(|c| format!("s.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let base = format!(
            "SELECT {cols} FROM live_sessions s JOIN nodes n ON n.code = s.room_node \
             JOIN regions r ON r.code = n.region_code"
        );
        let (sql, bind) = match actor.role {
            Role::Admin => (format!("{base} WHERE $1 = $1"), String::new()),
            Role::Operator => (
                format!("{base} WHERE r.path LIKE $1"),
                crate::logistics::watch::scope_like(actor),
            ),
            Role::Host | Role::Agent => (
                format!("{base} WHERE s.room_node = $1"),
                actor.node_code.clone().unwrap_or_else(|| "-".into()),
            ),
            _ => return Err(StoreError::Forbidden),
        };
        let sql = format!("{sql} ORDER BY s.planned_start DESC, s.id DESC LIMIT $2");
        Ok(on_read!(self, |p| {
            sqlx::query_as(&sql)
                .bind(&bind)
                .bind(limit.clamp(1, 100))
                .fetch_all(p)
                .await?
        }))
    }

    /// The SKUs an offer of the room at `node` can sell from the room's own stock: SKU id,
    /// product name, option, ordinary price (fen) and units free there.
    pub async fn room_skus(
        &self,
        node: &str,
    ) -> Result<Vec<(i64, String, String, i64, i64)>, StoreError> {
        Ok(on_read!(self, |p| {
            sqlx::query_as(
                "SELECT k.id, p.name, k.spec, k.price_fen, st.on_hand - st.reserved \
                 FROM stock st JOIN stock_locations l ON l.id = st.location_id \
                 JOIN skus k ON k.id = st.sku_id JOIN products p ON p.id = k.product_id \
                 WHERE l.node_code = $1 AND p.status = 'listed' AND st.on_hand - st.reserved > 0 \
                 ORDER BY p.name, k.id LIMIT 200",
            )
            .bind(node)
            .fetch_all(p)
            .await?
        }))
    }

    /// A session's figures, for those who run its room.
    pub async fn session_figures(&self, actor: &Actor, id: i64) -> Result<Figures, StoreError> {
        self.session_run_by(actor, id).await?;
        let (gmv, orders, paid, buyers): (i64, i64, i64, i64) = on_read!(self, |p| {
            sqlx::query_as(
                "SELECT CAST(COALESCE(SUM(CASE WHEN x.state = 'paid' THEN o.items_fen ELSE 0 END), 0) \
                 AS BIGINT), CAST(COUNT(*) AS BIGINT), \
                 CAST(COALESCE(SUM(CASE WHEN x.state = 'paid' THEN 1 ELSE 0 END), 0) AS BIGINT), \
                 CAST(COUNT(DISTINCT x.buyer_id) AS BIGINT) \
                 FROM offer_orders x JOIN offers f ON f.id = x.offer_id \
                 JOIN orders o ON o.id = x.order_id \
                 WHERE f.session_id = $1 AND x.state <> 'released'",
            )
            .bind(id)
            .fetch_one(p)
            .await?
        });
        let offers = self
            .session_offers(id)
            .await?
            .into_iter()
            .map(|o| OfferFigures {
                id: o.id,
                remaining: o.remaining(),
                status: o.status,
                sold: o.sold,
                held: o.held,
            })
            .collect();
        Ok(Figures {
            gmv_fen: gmv,
            orders,
            paid_orders: paid,
            buyers,
            offers,
        })
    }
}
