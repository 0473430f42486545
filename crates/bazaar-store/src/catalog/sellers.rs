//! Sellers: applications, the operator's decision, and scoped reads.

use crate::db::find::{self, Needle};
use crate::db::page::{Cursor, Page, Param, into_page, page_size};
use crate::{Store, StoreError, bind_params, in_tx, on_read};
use bazaar_domain::Reason;
use bazaar_domain::people::{Actor, Role, Target};
use bazaar_domain::seller::{NewSeller, SellerDecision, SellerStatus, seller_transition};
use bazaar_domain::time::now_ms;
use serde::Serialize;

/// A seller as stored, with where it is.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Seller {
    /// Id.
    pub id: i64,
    /// Stable code, when it has one.
    pub code: Option<String>,
    /// Name.
    pub name: String,
    /// household, cooperative or enterprise.
    pub kind: String,
    /// Village code.
    pub village_code: String,
    /// Village name.
    pub village_name: String,
    /// Region path of the village (scope).
    #[serde(skip)]
    pub region_path: String,
    /// none, lifted or monitored.
    pub poverty_status: String,
    /// Registration number.
    pub registration_no: Option<String>,
    /// Contact person.
    pub contact_name: Option<String>,
    /// Contact phone.
    pub contact_phone: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// pending, approved or rejected.
    pub status: String,
    /// Reason of the last decision.
    pub status_reason: Option<String>,
    /// Agent who registered the seller on the villager's behalf.
    pub registered_by: Option<i64>,
}

impl Seller {
    /// The access-rule view of this seller.
    pub fn target(&self) -> Target<'_> {
        Target {
            region_path: &self.region_path,
            seller_id: Some(self.id),
            agent_id: self.registered_by,
        }
    }
}

const SELLER_SELECT: &str = "SELECT s.id, s.code, s.name, s.kind, s.village_code, \
    v.name AS village_name, v.path AS region_path, s.poverty_status, s.registration_no, \
    s.contact_name, s.contact_phone, s.description, s.status, s.status_reason, s.registered_by \
    FROM sellers s JOIN regions v ON v.code = s.village_code";

/// Filters for listing sellers.
#[derive(Debug, Clone, Default)]
pub struct SellerFilter {
    /// Only this status.
    pub status: Option<SellerStatus>,
    /// Digits: the end of its contact phone; words: part of its name or its village's.
    pub q: Option<crate::db::find::Needle>,
    /// Page start.
    pub cursor: Cursor,
    /// Page size.
    pub limit: Option<i64>,
}

impl Store {
    /// One seller, unchecked (for internal use and public facts).
    pub async fn seller(&self, id: i64) -> Result<Seller, StoreError> {
        let sql = format!("{SELLER_SELECT} WHERE s.id = $1");
        let r: Option<Seller> = on_read!(self, |p| {
            sqlx::query_as(&sql).bind(id).fetch_optional(p).await?
        });
        r.ok_or(StoreError::NotFound)
    }

    /// One seller, if the caller may read it (404 otherwise, so existence does not leak).
    pub async fn seller_for(&self, actor: &Actor, id: i64) -> Result<Seller, StoreError> {
        let s = self.seller(id).await?;
        if actor.can_read(s.target()) || actor.can_review(s.target()) {
            Ok(s)
        } else {
            Err(StoreError::NotFound)
        }
    }

    /// The sellers the caller may see, newest last, one page at a time.
    pub async fn sellers(
        &self,
        actor: &Actor,
        f: &SellerFilter,
    ) -> Result<Page<Seller>, StoreError> {
        let limit = page_size(f.limit);
        let mut sql = format!("{SELLER_SELECT} WHERE s.id > $1");
        let mut params = vec![Param::I(f.cursor.0)];
        match actor.role {
            Role::Admin => {}
            Role::Operator | Role::Agent => {
                let path = actor.region_path.clone().unwrap_or_else(|| "-".into());
                params.push(Param::S(format!("{path}%")));
                sql.push_str(&format!(" AND v.path LIKE ${}", params.len()));
            }
            Role::Seller => {
                params.push(Param::I(actor.seller_id.unwrap_or(-1)));
                sql.push_str(&format!(" AND s.id = ${}", params.len()));
            }
            _ => return Err(StoreError::Forbidden),
        }
        if let Some(st) = f.status {
            params.push(Param::S(st.as_str().into()));
            sql.push_str(&format!(" AND s.status = ${}", params.len()));
        }
        match &f.q {
            Some(Needle::Digits(d)) => {
                params.push(Param::S(find::ends_with(d)));
                sql.push_str(&format!(
                    " AND COALESCE(s.contact_phone, '') LIKE ${} ESCAPE '\\'",
                    params.len()
                ));
            }
            Some(Needle::Words(w)) => {
                params.push(Param::S(find::contains(w)));
                let n = params.len();
                sql.push_str(&format!(
                    " AND (s.name LIKE ${n} ESCAPE '\\' OR v.name LIKE ${n} ESCAPE '\\')"
                ));
            }
            None => {}
        }
        params.push(Param::I(limit + 1));
        sql.push_str(&format!(" ORDER BY s.id LIMIT ${}", params.len()));
        let rows: Vec<Seller> = on_read!(self, |p| {
            bind_params!(sqlx::query_as(&sql), params)
                .fetch_all(p)
                .await?
        });
        Ok(into_page(rows, limit, |s| s.id))
    }

    /// Registers a seller. Operators (in scope) and admins create approved sellers; a station
    /// agent registers a villager of its area on the villager's behalf as a pending application
    /// that the county operator decides on.
    pub async fn create_seller(&self, actor: &Actor, s: &NewSeller) -> Result<Seller, StoreError> {
        let village = self
            .region(&s.village_code)
            .await
            .map_err(|_| StoreError::field("village_code", Reason::UnknownReference))?;
        if village.level != "village" {
            return Err(StoreError::field("village_code", Reason::Inconsistent));
        }
        if !actor.can_register_in(&village.path) {
            return Err(StoreError::Forbidden);
        }
        let status = if actor.role == Role::Agent {
            SellerStatus::Pending
        } else {
            SellerStatus::Approved
        };
        let registered_by = (actor.role == Role::Agent).then_some(actor.user_id);
        let id = self
            .insert_seller(s, status, registered_by, Some(actor.user_id))
            .await?;
        self.seller(id).await
    }

    pub(crate) async fn insert_seller(
        &self,
        s: &NewSeller,
        status: SellerStatus,
        registered_by: Option<i64>,
        actor_id: Option<i64>,
    ) -> Result<i64, StoreError> {
        let now = now_ms();
        in_tx!(self, |c| {
            let r = sqlx::query_scalar::<_, i64>(
                "INSERT INTO sellers (code, name, kind, village_code, poverty_status, \
                 registration_no, contact_name, contact_phone, description, status, \
                 registered_by, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
            )
            .bind(&s.code)
            .bind(&s.name)
            .bind(s.kind.as_str())
            .bind(&s.village_code)
            .bind(s.poverty_status.as_str())
            .bind(&s.registration_no)
            .bind(&s.contact_name)
            .bind(&s.contact_phone)
            .bind(&s.description)
            .bind(status.as_str())
            .bind(registered_by)
            .bind(now)
            .fetch_one(&mut *c)
            .await;
            let id = match r {
                Err(e) if StoreError::is_unique_violation(&e) => {
                    return Err(StoreError::field("code", Reason::Duplicate));
                }
                Err(e) => return Err(e.into()),
                Ok(id) => id,
            };
            sqlx::query(
                "INSERT INTO status_history (entity, entity_id, from_status, to_status, actor_id, \
                 reason, at) VALUES ('seller', $1, NULL, $2, $3, NULL, $4)",
            )
            .bind(id)
            .bind(status.as_str())
            .bind(actor_id)
            .bind(now)
            .execute(&mut *c)
            .await?;
            Ok(id)
        })
    }

    /// An operator's decision on a seller: approve, or reject with a reason.
    pub async fn decide_seller(
        &self,
        actor: &Actor,
        id: i64,
        decision: SellerDecision,
        reason: Option<&str>,
    ) -> Result<Seller, StoreError> {
        let s = self.seller_for(actor, id).await?;
        if !actor.can_review(s.target()) {
            return Err(StoreError::Forbidden);
        }
        let reason = bazaar_domain::error::optional_text("reason", reason.unwrap_or(""), 500)
            .map_err(|e| StoreError::Invalid(vec![e]))?;
        if decision == SellerDecision::Reject && reason.is_none() {
            return Err(StoreError::field("reason", Reason::Required));
        }
        let from = SellerStatus::from_db(&s.status).ok_or(StoreError::NotFound)?;
        let to =
            seller_transition(from, decision).ok_or_else(|| StoreError::InvalidTransition {
                from: from.as_str().into(),
                action: format!("{decision:?}").to_lowercase(),
            })?;
        let now = now_ms();
        in_tx!(self, |c| {
            // Conditional on the status read above: a concurrent decision makes this a no-op.
            let n = sqlx::query(
                "UPDATE sellers SET status = $1, status_reason = $2, updated_at = $3 \
                 WHERE id = $4 AND status = $5",
            )
            .bind(to.as_str())
            .bind(&reason)
            .bind(now)
            .bind(id)
            .bind(from.as_str())
            .execute(&mut *c)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(StoreError::InvalidTransition {
                    from: from.as_str().into(),
                    action: format!("{decision:?}").to_lowercase(),
                });
            }
            sqlx::query(
                "INSERT INTO status_history (entity, entity_id, from_status, to_status, actor_id, \
                 reason, at) VALUES ('seller', $1, $2, $3, $4, $5, $6)",
            )
            .bind(id)
            .bind(from.as_str())
            .bind(to.as_str())
            .bind(actor.user_id)
            .bind(&reason)
            .bind(now)
            .execute(&mut *c)
            .await?;
            Ok(())
        })?;
        self.seller(id).await
    }
}
