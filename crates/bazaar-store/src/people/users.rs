//! Accounts as administered: an admin (or an operator, for field staff of its region) creates
//! them and lists them.

use crate::db::page::{Cursor, Page, Param, into_page, page_size};
use crate::people::auth::NewUser;
use crate::{Store, StoreError, bind_params, on_read};
use bazaar_domain::Reason;
use bazaar_domain::people::{Actor, CheckedUser, Role, UserInput};
use serde::Serialize;

/// An account as shown to administrators (never its password hash).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct UserView {
    /// Id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Shown name.
    pub display_name: String,
    /// Role.
    pub role: String,
    /// Operator's region.
    pub region_code: Option<String>,
    /// Agent's service point.
    pub node_code: Option<String>,
    /// Seller's seller.
    pub seller_id: Option<i64>,
    /// Whether the account is disabled.
    pub disabled: bool,
}

const USER_SELECT: &str = "SELECT u.id, u.username, u.display_name, u.role, u.region_code, \
    u.node_code, u.seller_id, u.disabled FROM users u \
    LEFT JOIN regions r ON r.code = u.region_code \
    LEFT JOIN nodes n ON n.code = u.node_code \
    LEFT JOIN regions nr ON nr.code = n.region_code \
    LEFT JOIN sellers s ON s.id = u.seller_id \
    LEFT JOIN regions sv ON sv.code = s.village_code";

impl Store {
    /// The region path of the place an account is attached to, checking the place exists
    /// (an operator's region must be a prefecture or county).
    async fn user_place(&self, u: &CheckedUser) -> Result<Option<String>, StoreError> {
        let unknown = |f: &str| StoreError::field(f, Reason::UnknownReference);
        if let Some(code) = &u.region_code {
            let r = self.region(code).await.map_err(|e| match e {
                StoreError::NotFound => unknown("region_code"),
                e => e,
            })?;
            if !matches!(r.level.as_str(), "prefecture" | "county") {
                return Err(StoreError::field("region_code", Reason::Inconsistent));
            }
            return Ok(Some(r.path));
        }
        if let Some(code) = &u.node_code {
            let n = self.node(code).await.map_err(|e| match e {
                StoreError::NotFound => unknown("node_code"),
                e => e,
            })?;
            let r = self.region(&n.region_code).await?;
            return Ok(Some(r.path));
        }
        if let Some(id) = u.seller_id {
            let s = self.seller(id).await.map_err(|e| match e {
                StoreError::NotFound => unknown("seller_id"),
                e => e,
            })?;
            return Ok(Some(s.region_path));
        }
        Ok(None)
    }

    /// Creates an account for `actor`: admins any, operators field staff (agents, sellers,
    /// hosts, drivers) of their region. The place must exist; the username must be free.
    pub async fn register_user(
        &self,
        actor: &Actor,
        u: &CheckedUser,
        password: &str,
    ) -> Result<UserView, StoreError> {
        if !actor.role.runs_network() {
            return Err(StoreError::Forbidden);
        }
        let place = self.user_place(u).await?;
        if !actor.can_create_user(u.role, place.as_deref()) {
            return Err(StoreError::Forbidden);
        }
        let id = self
            .create_user(&NewUser {
                username: u.username.clone(),
                display_name: u.display_name.clone(),
                password: password.to_string(),
                role: u.role,
                region_code: u.region_code.clone(),
                node_code: u.node_code.clone(),
                seller_id: u.seller_id,
            })
            .await?;
        tracing::info!(
            by = actor.username,
            user = u.username,
            role = u.role.as_str(),
            "account created"
        );
        let sql = format!("{USER_SELECT} WHERE u.id = $1");
        let r: Option<UserView> = on_read!(self, |p| {
            sqlx::query_as(&sql).bind(id).fetch_optional(p).await?
        });
        r.ok_or(StoreError::NotFound)
    }

    /// Checks an account form and creates it (see [`Store::register_user`]); every bad field
    /// is reported at once.
    pub async fn create_user_checked(
        &self,
        actor: &Actor,
        input: &UserInput,
    ) -> Result<UserView, StoreError> {
        if !actor.role.runs_network() {
            return Err(StoreError::Forbidden);
        }
        let u = input.parse().map_err(StoreError::Invalid)?;
        self.register_user(actor, &u, &input.password).await
    }

    /// The accounts `actor` administers: all for admins; for operators, the accounts attached
    /// to a place inside their region. Paged by id.
    pub async fn users(
        &self,
        actor: &Actor,
        cursor: Cursor,
        limit: Option<i64>,
    ) -> Result<Page<UserView>, StoreError> {
        let limit = page_size(limit);
        let mut sql = format!("{USER_SELECT} WHERE u.id > $1");
        let mut params = vec![Param::I(cursor.0)];
        match actor.role {
            Role::Admin => {}
            Role::Operator => {
                let path = actor.region_path.clone().unwrap_or_else(|| "-".into());
                params.push(Param::S(format!("{path}%")));
                sql.push_str(&format!(
                    " AND COALESCE(r.path, nr.path, sv.path) LIKE ${}",
                    params.len()
                ));
            }
            _ => return Err(StoreError::Forbidden),
        }
        params.push(Param::I(limit + 1));
        sql.push_str(&format!(" ORDER BY u.id LIMIT ${}", params.len()));
        let rows: Vec<UserView> = on_read!(self, |p| {
            bind_params!(sqlx::query_as(&sql), params)
                .fetch_all(p)
                .await?
        });
        Ok(into_page(rows, limit, |u| u.id))
    }
}
