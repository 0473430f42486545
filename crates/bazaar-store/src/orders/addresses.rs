//! Orders: the buyer's addresses and the origin counties' shipping rules.

use super::*;

/// A delivery address.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Address {
    /// Id.
    pub id: i64,
    /// Recipient.
    pub recipient: String,
    /// Phone (masked on pages that do not need it).
    pub phone: String,
    /// Region (down to the village for rural addresses).
    pub region_code: String,
    /// Village service point to deliver to, if any.
    pub node_code: Option<String>,
    /// Street, house number.
    pub detail: Option<String>,
    /// The buyer's default.
    pub is_default: bool,
}

/// A new address, checked.
#[derive(Debug, Clone)]
pub struct NewAddress {
    /// Recipient.
    pub recipient: String,
    /// Phone (digits).
    pub phone: String,
    /// Region code.
    pub region_code: String,
    /// Service point.
    pub node_code: Option<String>,
    /// Detail.
    pub detail: Option<String>,
    /// Make it the default.
    pub is_default: bool,
}

impl Store {
    /// Adds a delivery address for `actor`. The region must exist; a service point must lie
    /// inside it.
    pub async fn add_address(&self, actor: &Actor, a: &NewAddress) -> Result<Address, StoreError> {
        let region = self.region(&a.region_code).await.map_err(|e| match e {
            StoreError::NotFound => StoreError::field("region_code", Reason::UnknownReference),
            e => e,
        })?;
        // Down to the county at least: shipping and delivery are arranged by county. A city
        // without counties (东莞, 中山, 儋州) is its own county.
        let coarse = match region.level.as_str() {
            "province" => true,
            "prefecture" => !self.region_children(Some(&region.code)).await?.is_empty(),
            _ => false,
        };
        if coarse {
            return Err(StoreError::field("region_code", Reason::TooCoarse));
        }
        if let Some(n) = &a.node_code {
            let node = self.node(n).await.map_err(|e| match e {
                StoreError::NotFound => StoreError::field("node_code", Reason::UnknownReference),
                e => e,
            })?;
            let node_region = self.region(&node.region_code).await?;
            if !node_region.path.starts_with(&region.path) {
                return Err(StoreError::field("node_code", Reason::Inconsistent));
            }
        }
        let now = now_ms();
        let user = actor.user_id;
        let id = in_tx!(self, |c| {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM addresses WHERE user_id = $1")
                .bind(user)
                .fetch_one(&mut *c)
                .await?;
            if n >= 50 {
                return Err(StoreError::field("address", Reason::OutOfRange));
            }
            let default = a.is_default || n == 0;
            if default {
                sqlx::query("UPDATE addresses SET is_default = FALSE WHERE user_id = $1")
                    .bind(user)
                    .execute(&mut *c)
                    .await?;
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO addresses (user_id, recipient, phone, region_code, node_code, detail, \
                 is_default, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(user)
            .bind(&a.recipient)
            .bind(&a.phone)
            .bind(&a.region_code)
            .bind(&a.node_code)
            .bind(&a.detail)
            .bind(default)
            .bind(now)
            .fetch_one(&mut *c)
            .await?;
            Ok(id)
        })?;
        self.address(actor, id).await
    }

    /// The caller's addresses, default first.
    pub async fn addresses(&self, actor: &Actor) -> Result<Vec<Address>, StoreError> {
        Ok(on_read!(self, |p| {
            sqlx::query_as(
                "SELECT id, recipient, phone, region_code, node_code, detail, is_default \
                 FROM addresses WHERE user_id = $1 ORDER BY is_default DESC, id",
            )
            .bind(actor.user_id)
            .fetch_all(p)
            .await?
        }))
    }

    /// One of the caller's addresses.
    pub async fn address(&self, actor: &Actor, id: i64) -> Result<Address, StoreError> {
        let r: Option<Address> = on_read!(self, |p| {
            sqlx::query_as(
                "SELECT id, recipient, phone, region_code, node_code, detail, is_default \
                 FROM addresses WHERE id = $1 AND user_id = $2",
            )
            .bind(id)
            .bind(actor.user_id)
            .fetch_optional(p)
            .await?
        });
        r.ok_or(StoreError::NotFound)
    }

    /// Sets a shipping rule of a county (operators of the county, admins). `dest_province` is a
    /// province code or `*`.
    pub async fn set_shipping_rule(
        &self,
        actor: Option<&Actor>,
        origin_county: &str,
        dest_province: &str,
        r: &ShippingRule,
    ) -> Result<(), StoreError> {
        let county = self.region(origin_county).await.map_err(|e| match e {
            StoreError::NotFound => StoreError::field("origin_county", Reason::UnknownReference),
            e => e,
        })?;
        if county.level != "county" {
            return Err(StoreError::field("origin_county", Reason::Inconsistent));
        }
        if let Some(a) = actor
            && !a.can_manage_network(&county.path)
        {
            return Err(StoreError::Forbidden);
        }
        let now = now_ms();
        in_tx!(self, |c| {
            sqlx::query(
                "INSERT INTO shipping_rules (origin_county, dest_province, first_weight_g, \
                 first_fee_fen, extra_unit_g, extra_fee_fen, cold_chain_fee_fen, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (origin_county, dest_province) \
                 DO UPDATE SET first_weight_g = excluded.first_weight_g, \
                 first_fee_fen = excluded.first_fee_fen, extra_unit_g = excluded.extra_unit_g, \
                 extra_fee_fen = excluded.extra_fee_fen, \
                 cold_chain_fee_fen = excluded.cold_chain_fee_fen, updated_at = excluded.updated_at",
            )
            .bind(origin_county)
            .bind(dest_province)
            .bind(r.first_weight_g)
            .bind(r.first_fee_fen)
            .bind(r.extra_unit_g)
            .bind(r.extra_fee_fen)
            .bind(r.cold_chain_fee_fen)
            .bind(now)
            .execute(&mut *c)
            .await?;
            Ok(())
        })
    }

    pub(crate) async fn shipping_rule(
        &self,
        origin_county: &str,
        dest_province: &str,
    ) -> Result<Option<ShippingRule>, StoreError> {
        let r: Option<(i64, i64, i64, i64, i64)> = on_read!(self, |p| {
            sqlx::query_as(
                "SELECT first_weight_g, first_fee_fen, extra_unit_g, extra_fee_fen, cold_chain_fee_fen \
                 FROM shipping_rules WHERE origin_county = $1 AND dest_province IN ($2, '*') \
                 ORDER BY CASE WHEN dest_province = '*' THEN 1 ELSE 0 END LIMIT 1",
            )
            .bind(origin_county)
            .bind(dest_province)
            .fetch_optional(p)
            .await?
        });
        Ok(r.map(|(a, b, c, d, e)| ShippingRule {
            first_weight_g: a,
            first_fee_fen: b,
            extra_unit_g: c,
            extra_fee_fen: d,
            cold_chain_fee_fen: e,
        }))
    }
}
