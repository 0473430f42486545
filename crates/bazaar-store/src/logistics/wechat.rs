//! WeChat bindings: which follower of the centre's WeChat service account (their `openid`)
//! is which phone or account. A notification for a bound phone or account goes by WeChat
//! before SMS (see `bazaar_web::notify`). The centre's WeChat integration binds a follower
//! when they confirm their phone in the account's menu (or sign in). A binding decides where
//! pickup codes go, so only admins (the integration's own account) write or read them; one
//! openid per phone and per account, the latest binding winning, a phone and an account bound
//! at different times kept together.

use crate::{Store, StoreError, in_tx, on_read};
use bazaar_domain::people::{Actor, Role};
use bazaar_domain::text::parse_phone;
use bazaar_domain::time::now_ms;
use bazaar_domain::{FieldError, Reason};
use serde::Serialize;

/// A follower bound to a phone, an account, or both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct WechatBinding {
    /// The follower's openid in the centre's service account.
    pub openid: String,
    /// The phone they confirmed (mainland mobile, digits only).
    pub phone: Option<String>,
    /// The Bazaar account they signed in with.
    pub user_id: Option<i64>,
    /// When (ms since the epoch, UTC).
    pub bound_at: i64,
}

/// An openid as WeChat issues them: 6 to 64 letters, digits, `-` and `_` (28 in practice).
pub fn check_openid(openid: &str) -> Result<&str, FieldError> {
    let o = openid.trim();
    if o.is_empty() {
        return Err(FieldError::new("openid", Reason::Required));
    }
    if o.len() > 64 {
        return Err(FieldError::new("openid", Reason::TooLong));
    }
    if o.len() < 6
        || !o
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(FieldError::new("openid", Reason::InvalidFormat));
    }
    Ok(o)
}

fn may_bind(actor: &Actor) -> Result<(), StoreError> {
    if actor.role == Role::Admin {
        Ok(())
    } else {
        Err(StoreError::Forbidden)
    }
}

impl Store {
    /// Binds a follower to a phone and/or an account (at least one), in one transaction: the
    /// phone or account leaves any other follower it was bound to, and what this follower
    /// had and is not given now stays. The binding as it now is.
    pub async fn bind_wechat(
        &self,
        actor: &Actor,
        openid: &str,
        phone: Option<&str>,
        user_id: Option<i64>,
    ) -> Result<WechatBinding, StoreError> {
        may_bind(actor)?;
        let mut errors = Vec::new();
        let openid = match check_openid(openid) {
            Ok(o) => o.to_string(),
            Err(e) => {
                errors.push(e);
                String::new()
            }
        };
        let phone = match phone.map(|p| parse_phone("phone", p)).transpose() {
            Ok(p) => p.flatten(),
            Err(e) => {
                errors.push(e);
                None
            }
        };
        if let Some(p) = &phone
            && !(p.len() == 11 && p.starts_with('1'))
        {
            // WeChat reaches mobiles only.
            errors.push(FieldError::new("phone", Reason::InvalidFormat));
        }
        if errors.is_empty() && phone.is_none() && user_id.is_none() {
            errors.push(FieldError::new("phone", Reason::Needed));
        }
        if !errors.is_empty() {
            return Err(StoreError::Invalid(errors));
        }
        let now = now_ms();
        let res = in_tx!(self, |c| {
            if let Some(u) = user_id {
                let found: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE id = $1")
                    .bind(u)
                    .fetch_optional(&mut *c)
                    .await?;
                if found.is_none() {
                    return Err(StoreError::field("user_id", Reason::UnknownReference));
                }
            }
            // Other followers give up this phone and this account (a row left with neither
            // goes).
            sqlx::query(
                "DELETE FROM wechat_bindings WHERE openid <> $1 AND \
                 (phone = $2 OR phone IS NULL) AND (user_id = $3 OR user_id IS NULL)",
            )
            .bind(&openid)
            .bind(&phone)
            .bind(user_id)
            .execute(&mut *c)
            .await?;
            sqlx::query(
                "UPDATE wechat_bindings SET phone = NULL WHERE openid <> $1 AND phone = $2",
            )
            .bind(&openid)
            .bind(&phone)
            .execute(&mut *c)
            .await?;
            sqlx::query(
                "UPDATE wechat_bindings SET user_id = NULL WHERE openid <> $1 AND user_id = $2",
            )
            .bind(&openid)
            .bind(user_id)
            .execute(&mut *c)
            .await?;
            let b: WechatBinding = sqlx::query_as(
                "INSERT INTO wechat_bindings (openid, phone, user_id, bound_by, bound_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (openid) DO UPDATE SET \
                 phone = COALESCE(excluded.phone, wechat_bindings.phone), \
                 user_id = COALESCE(excluded.user_id, wechat_bindings.user_id), \
                 bound_by = excluded.bound_by, bound_at = excluded.bound_at \
                 RETURNING openid, phone, user_id, bound_at",
            )
            .bind(&openid)
            .bind(&phone)
            .bind(user_id)
            .bind(actor.user_id)
            .bind(now)
            .fetch_one(&mut *c)
            .await?;
            Ok(b)
        });
        match res {
            // Another binding of the same phone or account committed meanwhile (PostgreSQL).
            Err(StoreError::Db(e)) if StoreError::is_unique_violation(&e) => Err(StoreError::Rule(
                bazaar_domain::ErrorCode::BindingChangedConcurrently,
            )),
            r => r,
        }
    }

    /// Removes a follower's binding (they unfollowed or asked to); false when there was none.
    pub async fn unbind_wechat(&self, actor: &Actor, openid: &str) -> Result<bool, StoreError> {
        may_bind(actor)?;
        let openid = check_openid(openid).map_err(|e| StoreError::Invalid(vec![e]))?;
        in_tx!(self, |c| {
            Ok(sqlx::query("DELETE FROM wechat_bindings WHERE openid = $1")
                .bind(openid)
                .execute(&mut *c)
                .await?
                .rows_affected()
                > 0)
        })
    }

    /// A follower's binding, if any.
    pub async fn wechat_binding(
        &self,
        actor: &Actor,
        openid: &str,
    ) -> Result<Option<WechatBinding>, StoreError> {
        may_bind(actor)?;
        let openid = check_openid(openid).map_err(|e| StoreError::Invalid(vec![e]))?;
        Ok(on_read!(self, |p| {
            sqlx::query_as(
                "SELECT openid, phone, user_id, bound_at FROM wechat_bindings WHERE openid = $1",
            )
            .bind(openid)
            .fetch_optional(p)
            .await?
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::check_openid;

    #[test]
    fn openids_are_checked() {
        assert_eq!(
            check_openid(" oUpF8uMuAJO_M2pxb1Q9zNjWeS6o ").ok(),
            Some("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
        );
        assert_eq!(
            check_openid("").map_err(|e| e.reason.code()),
            Err("required")
        );
        assert_eq!(
            check_openid("o p").map_err(|e| e.reason.code()),
            Err("invalid_format")
        );
        assert_eq!(
            check_openid(&"o".repeat(65)).map_err(|e| e.reason.code()),
            Err("too_long")
        );
    }
}
