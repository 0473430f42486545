//! The catalog: products with SKUs and photos, the review lifecycle, scoped writes, and the
//! public listing the storefront and the search index read.

use crate::db::page::{Cursor, Page, Param, into_page, page_size};
use crate::{Store, StoreError, bind_params, in_tx, on_read};
use bazaar_domain::catalog::{
    Category, ProductAction, ProductFields, ProductInput, ProductPatch, ProductStatus, SkuFields,
    SkuInput, product_transition,
};
use bazaar_domain::people::{Actor, Role, Target};
use bazaar_domain::time::now_ms;
use bazaar_domain::{FieldError, Reason};
use serde::Serialize;
use std::collections::HashMap;

/// A product row with its seller and places.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ProductRow {
    /// Id.
    pub id: i64,
    /// Stable code.
    pub code: Option<String>,
    /// Seller id.
    pub seller_id: i64,
    /// Seller (producer) name.
    pub seller_name: String,
    /// household, cooperative or enterprise.
    pub seller_kind: String,
    /// The producer's poverty-alleviation status.
    pub seller_poverty_status: String,
    /// Origin village code.
    pub village_code: String,
    /// Origin village name.
    pub village_name: String,
    /// Township name.
    pub township_name: String,
    /// County code.
    pub county_code: String,
    /// County name.
    pub county: String,
    /// Region path of the origin village.
    #[serde(skip)]
    pub region_path: String,
    /// Name.
    pub name: String,
    /// English name.
    pub name_en: Option<String>,
    /// Category code.
    pub category: String,
    /// GI brand.
    pub gi_brand: Option<String>,
    /// Poverty-alleviation product certificate number.
    pub poverty_cert_no: Option<String>,
    /// Green food certificate.
    pub green_cert: bool,
    /// Organic certificate.
    pub organic_cert: bool,
    /// Shelf life in days.
    pub shelf_life_days: Option<i64>,
    /// Needs cold chain.
    pub cold_chain: bool,
    /// Description.
    pub description: Option<String>,
    /// draft, in_review, listed or delisted.
    pub status: String,
    /// Reason of the last review decision.
    pub status_reason: Option<String>,
    /// Agent who listed it for a villager (代卖).
    pub listed_by: Option<i64>,
    /// Last change, UTC ms.
    pub updated_at: i64,
}

/// A SKU.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Sku {
    /// Id.
    pub id: i64,
    /// Code.
    pub code: String,
    /// Product id.
    pub product_id: i64,
    /// Specification.
    pub spec: String,
    /// Price in fen.
    pub price_fen: i64,
    /// Shipping weight in grams.
    pub weight_g: i64,
    /// Shipping volume in cm³.
    pub volume_cm3: i64,
    /// Barcode.
    pub barcode: Option<String>,
}

/// A product photo.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Photo {
    /// Id.
    pub id: i64,
    /// Product id.
    #[serde(skip)]
    pub product_id: i64,
    /// Key in the photo storage.
    #[serde(skip)]
    pub storage_key: String,
    /// Width in pixels.
    pub width: i64,
    /// Height in pixels.
    pub height: i64,
}

/// A product with its SKUs and photos.
#[derive(Debug, Clone, Serialize)]
pub struct Product {
    /// The product.
    pub row: ProductRow,
    /// Its SKUs, by id.
    pub skus: Vec<Sku>,
    /// Its photos, in order.
    pub photos: Vec<Photo>,
}

impl ProductRow {
    /// The access-rule view of this product.
    pub fn target(&self) -> Target<'_> {
        Target {
            region_path: &self.region_path,
            seller_id: Some(self.seller_id),
            agent_id: self.listed_by,
        }
    }

    /// The validated fields, for applying a patch.
    pub fn fields(&self) -> ProductFields {
        ProductFields {
            name: self.name.clone(),
            name_en: self.name_en.clone(),
            category: Category::parse("category", &self.category).unwrap_or(Category::Craft),
            village_code: self.village_code.clone(),
            gi_brand: self.gi_brand.clone(),
            poverty_cert_no: self.poverty_cert_no.clone(),
            green_cert: self.green_cert,
            organic_cert: self.organic_cert,
            shelf_life_days: self.shelf_life_days.map(|d| d as i32),
            cold_chain: self.cold_chain,
            description: self.description.clone(),
        }
    }

    /// Whether the producer is a registered poverty-alleviation household, or the product
    /// carries a poverty-alleviation certificate.
    pub fn is_poverty_alleviation(&self) -> bool {
        self.poverty_cert_no.is_some() || self.seller_poverty_status != "none"
    }
}

const PRODUCT_SELECT: &str = "SELECT p.id, p.code, p.seller_id, s.name AS seller_name, \
    s.kind AS seller_kind, s.poverty_status AS seller_poverty_status, p.village_code, \
    v.name AS village_name, t.name AS township_name, c.code AS county_code, c.name AS county, \
    v.path AS region_path, p.name, p.name_en, p.category, p.gi_brand, p.poverty_cert_no, \
    p.green_cert, p.organic_cert, p.shelf_life_days, p.cold_chain, p.description, p.status, \
    p.status_reason, p.listed_by, p.updated_at \
    FROM products p JOIN sellers s ON s.id = p.seller_id \
    JOIN regions v ON v.code = p.village_code \
    JOIN regions t ON t.code = v.parent_code \
    JOIN regions c ON c.code = t.parent_code";

/// Filters of the public listing.
#[derive(Debug, Clone, Default)]
pub struct ProductFilter {
    /// County code.
    pub county: Option<String>,
    /// Category.
    pub category: Option<Category>,
    /// GI brand (exact).
    pub gi_brand: Option<String>,
    /// Only poverty-alleviation products.
    pub poverty: bool,
    /// Only this status (management lists); the public listing is always `listed`.
    pub status: Option<ProductStatus>,
    /// Part of its name (in any language), its code or its producer's name (management
    /// lists' search box).
    pub q: Option<crate::db::find::Needle>,
    /// Page start.
    pub cursor: Cursor,
    /// Page size.
    pub limit: Option<i64>,
}

/// A new SKU with its optional code.
#[derive(Debug, Clone)]
pub struct NewSku {
    /// Code (generated when `None`).
    pub code: Option<String>,
    /// Fields.
    pub fields: SkuFields,
}

/// One product of the public listing, as the search index needs it.
#[derive(Debug, Clone)]
pub struct SearchRow {
    /// The product.
    pub row: ProductRow,
    /// Codes of its SKUs.
    pub sku_codes: Vec<String>,
    /// Its names and producers' names in the other languages (Uyghur, Tibetan, English).
    pub translations: Vec<String>,
}

/// Photos a product may have.
pub const MAX_PHOTOS: usize = 12;

impl Store {
    async fn attach(&self, rows: Vec<ProductRow>) -> Result<Vec<Product>, StoreError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = rows.iter().map(|r| r.id.to_string()).collect();
        // Ids are integers from the database, so they are safe to inline.
        let list = ids.join(",");
        let sku_sql = format!(
            "SELECT id, code, product_id, spec, price_fen, weight_g, volume_cm3, barcode \
             FROM skus WHERE product_id IN ({list}) ORDER BY id"
        );
        let photo_sql = format!(
            "SELECT id, product_id, storage_key, width, height FROM product_photos \
             WHERE product_id IN ({list}) ORDER BY position, id"
        );
        let (skus, photos): (Vec<Sku>, Vec<Photo>) = on_read!(self, |p| {
            (
                sqlx::query_as(&sku_sql).fetch_all(p).await?,
                sqlx::query_as(&photo_sql).fetch_all(p).await?,
            )
        });
        Ok(rows
            .into_iter()
            .map(|row| Product {
                skus: skus
                    .iter()
                    .filter(|s| s.product_id == row.id)
                    .cloned()
                    .collect(),
                photos: photos
                    .iter()
                    .filter(|s| s.product_id == row.id)
                    .cloned()
                    .collect(),
                row,
            })
            .collect())
    }

    /// One product, whatever its status (internal use).
    pub async fn product(&self, id: i64) -> Result<Product, StoreError> {
        let sql = format!("{PRODUCT_SELECT} WHERE p.id = $1");
        let row: Option<ProductRow> = on_read!(self, |p| {
            sqlx::query_as(&sql).bind(id).fetch_optional(p).await?
        });
        let row = row.ok_or(StoreError::NotFound)?;
        self.attach(vec![row])
            .await?
            .pop()
            .ok_or(StoreError::NotFound)
    }

    /// One product as `actor` may see it: listed products are public; others only to those who
    /// may read them, and 404 to everyone else.
    pub async fn product_for(&self, actor: Option<&Actor>, id: i64) -> Result<Product, StoreError> {
        let p = self.product(id).await?;
        if p.row.status == ProductStatus::Listed.as_str()
            || actor.is_some_and(|a| a.can_read(p.row.target()) || a.can_review(p.row.target()))
        {
            Ok(p)
        } else {
            Err(StoreError::NotFound)
        }
    }

    /// Up to `n` listed products to feature on the home page: those with photos first, the
    /// newest first, taking each county in turn so that one county does not fill the row.
    pub async fn featured_products(&self, n: usize) -> Result<Vec<Product>, StoreError> {
        let sql = format!(
            "{PRODUCT_SELECT} WHERE p.status = 'listed' \
             ORDER BY CASE WHEN EXISTS (SELECT 1 FROM product_photos ph \
             WHERE ph.product_id = p.id) THEN 0 ELSE 1 END, p.id DESC LIMIT 200"
        );
        let rows: Vec<ProductRow> =
            on_read!(self, |p| { sqlx::query_as(&sql).fetch_all(p).await? });
        // Round-robin over counties, keeping each county's order.
        let mut by_county: Vec<(String, std::collections::VecDeque<ProductRow>)> = Vec::new();
        for r in rows {
            match by_county.iter_mut().find(|(c, _)| *c == r.county_code) {
                Some((_, q)) => q.push_back(r),
                None => by_county.push((r.county_code.clone(), [r].into())),
            }
        }
        let mut picked = Vec::with_capacity(n);
        while picked.len() < n {
            let before = picked.len();
            for (_, q) in by_county.iter_mut() {
                if picked.len() == n {
                    break;
                }
                if let Some(r) = q.pop_front() {
                    picked.push(r);
                }
            }
            if picked.len() == before {
                break;
            }
        }
        self.attach(picked).await
    }

    /// Products by id, in the order given, keeping only listed ones (search results).
    pub async fn listed_products_by_ids(&self, ids: &[i64]) -> Result<Vec<Product>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = ids
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let sql = format!("{PRODUCT_SELECT} WHERE p.status = 'listed' AND p.id IN ({list})");
        let rows: Vec<ProductRow> =
            on_read!(self, |p| { sqlx::query_as(&sql).fetch_all(p).await? });
        let mut products = self.attach(rows).await?;
        products.sort_by_key(|p| ids.iter().position(|i| *i == p.row.id));
        Ok(products)
    }

    /// Lists products. Without an actor, or with `status` unset, only listed products are
    /// shown (the public catalog). With an actor and a status, the products of that status the
    /// actor may see: everything for admins, the region for operators, its own for a seller,
    /// what it listed for an agent.
    pub async fn products(
        &self,
        actor: Option<&Actor>,
        f: &ProductFilter,
    ) -> Result<Page<Product>, StoreError> {
        let limit = page_size(f.limit);
        let mut sql = format!("{PRODUCT_SELECT} WHERE p.id > $1");
        let mut params = vec![Param::I(f.cursor.0)];
        let mut push = |sql: &mut String, clause: &str, p: Param| {
            params.push(p);
            sql.push_str(&clause.replace("$?", &format!("${}", params.len())));
        };
        match (actor, f.status) {
            (Some(a), Some(status)) => {
                push(
                    &mut sql,
                    " AND p.status = $?",
                    Param::S(status.as_str().into()),
                );
                match a.role {
                    Role::Admin => {}
                    Role::Operator => push(
                        &mut sql,
                        " AND v.path LIKE $?",
                        Param::S(format!("{}%", a.region_path.clone().unwrap_or_default())),
                    ),
                    Role::Seller => push(
                        &mut sql,
                        " AND p.seller_id = $?",
                        Param::I(a.seller_id.unwrap_or(-1)),
                    ),
                    Role::Agent => push(&mut sql, " AND p.listed_by = $?", Param::I(a.user_id)),
                    _ => return Err(StoreError::Forbidden),
                }
            }
            _ => push(&mut sql, " AND p.status = $?", Param::S("listed".into())),
        }
        if let Some(county) = &f.county {
            push(&mut sql, " AND c.code = $?", Param::S(county.clone()));
        }
        if let Some(cat) = f.category {
            push(
                &mut sql,
                " AND p.category = $?",
                Param::S(cat.as_str().into()),
            );
        }
        if let Some(gi) = &f.gi_brand {
            push(&mut sql, " AND p.gi_brand = $?", Param::S(gi.clone()));
        }
        if f.poverty {
            sql.push_str(" AND (p.poverty_cert_no IS NOT NULL OR s.poverty_status <> 'none')");
        }
        if let Some(n) = &f.q {
            let like = crate::db::find::contains(n.as_str());
            push(
                &mut sql,
                " AND (p.name LIKE $? ESCAPE '\\' OR s.name LIKE $? ESCAPE '\\' \
                 OR p.code LIKE $? ESCAPE '\\' OR EXISTS (SELECT 1 FROM product_texts x \
                 WHERE x.product_id = p.id AND (x.name LIKE $? ESCAPE '\\' \
                 OR COALESCE(x.producer, '') LIKE $? ESCAPE '\\')))",
                Param::S(like),
            );
        }
        push(&mut sql, " ORDER BY p.id LIMIT $?", Param::I(limit + 1));
        let rows: Vec<ProductRow> = on_read!(self, |p| {
            bind_params!(sqlx::query_as(&sql), params)
                .fetch_all(p)
                .await?
        });
        let page = into_page(rows, limit, |r| r.id);
        Ok(Page {
            items: self.attach(page.items).await?,
            next: page.next,
        })
    }

    /// Every listed product, for building the search index.
    pub async fn search_rows(&self) -> Result<Vec<SearchRow>, StoreError> {
        let sql = format!("{PRODUCT_SELECT} WHERE p.status = 'listed' ORDER BY p.id");
        let rows: Vec<ProductRow> =
            on_read!(self, |p| { sqlx::query_as(&sql).fetch_all(p).await? });
        let skus: Vec<(i64, String)> = on_read!(self, |p| {
            sqlx::query_as("SELECT product_id, code FROM skus ORDER BY id")
                .fetch_all(p)
                .await?
        });
        let texts: Vec<(i64, String, Option<String>)> = on_read!(self, |p| {
            sqlx::query_as(
                "SELECT product_id, name, producer FROM product_texts ORDER BY product_id",
            )
            .fetch_all(p)
            .await?
        });
        let mut codes: HashMap<i64, Vec<String>> = HashMap::new();
        for (pid, c) in skus {
            codes.entry(pid).or_default().push(c);
        }
        let mut words: HashMap<i64, Vec<String>> = HashMap::new();
        for (pid, name, producer) in texts {
            let w = words.entry(pid).or_default();
            w.push(name);
            w.extend(producer);
        }
        Ok(rows
            .into_iter()
            .map(|row| SearchRow {
                sku_codes: codes.remove(&row.id).unwrap_or_default(),
                translations: words.remove(&row.id).unwrap_or_default(),
                row,
            })
            .collect())
    }

    /// A fingerprint of the catalog (number of products and latest change), so a node can tell
    /// cheaply whether its search index is stale.
    pub async fn catalog_version(&self) -> Result<(i64, i64), StoreError> {
        Ok(on_read!(self, |p| {
            sqlx::query_as::<_, (i64, Option<i64>)>(
                "SELECT COUNT(*), MAX(updated_at) FROM products",
            )
            .fetch_one(p)
            .await
            .map(|(n, m)| (n, m.unwrap_or(0)))?
        }))
    }

    /// Creates a product (as a draft) with its SKUs for `seller_id`.
    ///
    /// Allowed to the seller itself, to a station agent for a villager of its area (代卖: the
    /// agent is recorded as lister, the seller stays the producer), to operators whose region
    /// contains the seller, and to admins.
    pub async fn create_product(
        &self,
        actor: &Actor,
        seller_id: i64,
        fields: &ProductFields,
        skus: &[NewSku],
    ) -> Result<Product, StoreError> {
        let seller = self
            .seller(seller_id)
            .await
            .map_err(|_| StoreError::field("seller_id", Reason::UnknownReference))?;
        let allowed = match actor.role {
            Role::Seller => actor.seller_id == Some(seller_id),
            Role::Agent => actor.can_register_in(&seller.region_path),
            _ => actor.can_review(seller.target()),
        };
        if !allowed {
            return Err(StoreError::Forbidden);
        }
        let village = self
            .region(&fields.village_code)
            .await
            .map_err(|_| StoreError::field("village_code", Reason::UnknownReference))?;
        if village.level != "village" {
            return Err(StoreError::field("village_code", Reason::Inconsistent));
        }
        let listed_by = (actor.role == Role::Agent).then_some(actor.user_id);
        let id = self
            .insert_product(
                None,
                seller_id,
                fields,
                skus,
                ProductStatus::Draft,
                listed_by,
                Some(actor.user_id),
            )
            .await?;
        self.product(id).await
    }

    #[expect(clippy::too_many_arguments, reason = "one row of a wide table")]
    pub(crate) async fn insert_product(
        &self,
        code: Option<&str>,
        seller_id: i64,
        f: &ProductFields,
        skus: &[NewSku],
        status: ProductStatus,
        listed_by: Option<i64>,
        actor_id: Option<i64>,
    ) -> Result<i64, StoreError> {
        let now = now_ms();
        in_tx!(self, |c| {
            let r = sqlx::query_scalar::<_, i64>(
                "INSERT INTO products (code, seller_id, village_code, name, name_en, category, \
                 gi_brand, poverty_cert_no, green_cert, organic_cert, shelf_life_days, cold_chain, \
                 description, status, listed_by, created_at, updated_at) VALUES ($1, $2, $3, $4, \
                 $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16) RETURNING id",
            )
            .bind(code)
            .bind(seller_id)
            .bind(&f.village_code)
            .bind(&f.name)
            .bind(&f.name_en)
            .bind(f.category.as_str())
            .bind(&f.gi_brand)
            .bind(&f.poverty_cert_no)
            .bind(f.green_cert)
            .bind(f.organic_cert)
            .bind(f.shelf_life_days.map(i64::from))
            .bind(f.cold_chain)
            .bind(&f.description)
            .bind(status.as_str())
            .bind(listed_by)
            .bind(now)
            .fetch_one(&mut *c)
            .await;
            let id = match r {
                Err(e) if StoreError::is_unique_violation(&e) => {
                    return Err(StoreError::field("code", Reason::Duplicate));
                }
                r => r?,
            };
            let pcode = match code {
                Some(c) => c.to_string(),
                None => {
                    let c2 = format!("P{id:06}");
                    sqlx::query("UPDATE products SET code = $1 WHERE id = $2")
                        .bind(&c2)
                        .bind(id)
                        .execute(&mut *c)
                        .await?;
                    c2
                }
            };
            for (i, s) in skus.iter().enumerate() {
                let scode = s
                    .code
                    .clone()
                    .unwrap_or_else(|| format!("{pcode}-{}", i + 1));
                let r = sqlx::query(
                    "INSERT INTO skus (code, product_id, spec, price_fen, weight_g, volume_cm3, \
                     barcode, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
                )
                .bind(&scode)
                .bind(id)
                .bind(&s.fields.spec)
                .bind(s.fields.price.0)
                .bind(s.fields.weight_g)
                .bind(s.fields.volume_cm3)
                .bind(&s.fields.barcode)
                .bind(now)
                .execute(&mut *c)
                .await;
                match r {
                    Err(e) if StoreError::is_unique_violation(&e) => {
                        return Err(StoreError::field(
                            &format!("skus[{i}].code"),
                            Reason::Duplicate,
                        ));
                    }
                    r => r?,
                };
            }
            sqlx::query(
                "INSERT INTO status_history (entity, entity_id, from_status, to_status, actor_id, \
                 reason, at) VALUES ('product', $1, NULL, $2, $3, NULL, $4)",
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

    /// Changes a product's fields. Allowed to its seller, the agent who listed it, operators
    /// whose region contains it and admins; anyone else gets 404 (cannot see it) or 403.
    pub async fn patch_product(
        &self,
        actor: &Actor,
        id: i64,
        patch: &ProductPatch,
    ) -> Result<Product, StoreError> {
        let p = self.product_for(Some(actor), id).await?;
        if !actor.can_edit(p.row.target()) {
            return Err(StoreError::Forbidden);
        }
        let f = patch.apply(&p.row.fields()).map_err(StoreError::Invalid)?;
        if f.village_code != p.row.village_code {
            let v = self
                .region(&f.village_code)
                .await
                .map_err(|_| StoreError::field("village_code", Reason::UnknownReference))?;
            if v.level != "village"
                || !actor.can_edit(Target {
                    region_path: &v.path,
                    ..p.row.target()
                })
            {
                return Err(StoreError::field("village_code", Reason::Inconsistent));
            }
        }
        let now = now_ms();
        in_tx!(self, |c| {
            sqlx::query(
                "UPDATE products SET name = $1, name_en = $2, category = $3, village_code = $4, \
                 gi_brand = $5, poverty_cert_no = $6, green_cert = $7, organic_cert = $8, \
                 shelf_life_days = $9, cold_chain = $10, description = $11, updated_at = $12 \
                 WHERE id = $13",
            )
            .bind(&f.name)
            .bind(&f.name_en)
            .bind(f.category.as_str())
            .bind(&f.village_code)
            .bind(&f.gi_brand)
            .bind(&f.poverty_cert_no)
            .bind(f.green_cert)
            .bind(f.organic_cert)
            .bind(f.shelf_life_days.map(i64::from))
            .bind(f.cold_chain)
            .bind(&f.description)
            .bind(now)
            .bind(id)
            .execute(&mut *c)
            .await?;
            Ok(())
        })?;
        self.product(id).await
    }

    /// Moves a product through its review lifecycle (see `PRODUCT_TRANSITIONS`): submit (owner),
    /// approve or reject with a reason (operator), delist (operator with a reason, or owner).
    pub async fn product_action(
        &self,
        actor: &Actor,
        id: i64,
        action: ProductAction,
        reason: Option<&str>,
    ) -> Result<Product, StoreError> {
        let p = self.product_for(Some(actor), id).await?;
        let t = p.row.target();
        let allowed = if action.needs_reviewer() {
            actor.can_review(t)
        } else {
            actor.can_edit(t) || actor.can_review(t)
        };
        if !allowed {
            return Err(StoreError::Forbidden);
        }
        let reason = bazaar_domain::error::optional_text("reason", reason.unwrap_or(""), 500)
            .map_err(|e| StoreError::Invalid(vec![e]))?;
        // Reviewers always say why; an owner taking its own product off sale need not.
        if action.needs_reason() && reason.is_none() && actor.can_review(t) {
            return Err(StoreError::field("reason", Reason::Required));
        }
        let from = ProductStatus::parse("status", &p.row.status)
            .map_err(|e| StoreError::Invalid(vec![e]))?;
        let invalid = || StoreError::InvalidTransition {
            from: from.as_str().into(),
            action: action.as_str().into(),
        };
        let to = product_transition(from, action).ok_or_else(invalid)?;
        if matches!(action, ProductAction::Submit | ProductAction::Approve) {
            if p.skus.is_empty() {
                return Err(StoreError::Rule(bazaar_domain::ErrorCode::ProductHasNoSkus));
            }
            if action == ProductAction::Approve {
                let s = self.seller(p.row.seller_id).await?;
                if s.status != "approved" {
                    return Err(StoreError::Rule(
                        bazaar_domain::ErrorCode::SellerNotApproved,
                    ));
                }
            }
        }
        let now = now_ms();
        in_tx!(self, |c| {
            let n = sqlx::query(
                "UPDATE products SET status = $1, status_reason = $2, updated_at = $3 \
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
                return Err(invalid());
            }
            sqlx::query(
                "INSERT INTO status_history (entity, entity_id, from_status, to_status, actor_id, \
                 reason, at) VALUES ('product', $1, $2, $3, $4, $5, $6)",
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
        self.product(id).await
    }

    /// Adds a SKU to a product the caller may edit.
    pub async fn add_sku(
        &self,
        actor: &Actor,
        product_id: i64,
        sku: &NewSku,
    ) -> Result<Sku, StoreError> {
        let p = self.product_for(Some(actor), product_id).await?;
        if !actor.can_edit(p.row.target()) {
            return Err(StoreError::Forbidden);
        }
        let now = now_ms();
        let pcode = p
            .row
            .code
            .clone()
            .unwrap_or_else(|| format!("P{product_id:06}"));
        let scode = sku
            .code
            .clone()
            .unwrap_or_else(|| format!("{pcode}-{}", p.skus.len() + 1));
        let id = in_tx!(self, |c| {
            let r = sqlx::query_scalar::<_, i64>(
                "INSERT INTO skus (code, product_id, spec, price_fen, weight_g, volume_cm3, \
                 barcode, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
                 RETURNING id",
            )
            .bind(&scode)
            .bind(product_id)
            .bind(&sku.fields.spec)
            .bind(sku.fields.price.0)
            .bind(sku.fields.weight_g)
            .bind(sku.fields.volume_cm3)
            .bind(&sku.fields.barcode)
            .bind(now)
            .fetch_one(&mut *c)
            .await;
            let id = match r {
                Err(e) if StoreError::is_unique_violation(&e) => {
                    return Err(StoreError::field("code", Reason::Duplicate));
                }
                r => r?,
            };
            sqlx::query("UPDATE products SET updated_at = $1 WHERE id = $2")
                .bind(now)
                .bind(product_id)
                .execute(&mut *c)
                .await?;
            Ok(id)
        })?;
        self.sku(id).await
    }

    /// One SKU.
    pub async fn sku(&self, id: i64) -> Result<Sku, StoreError> {
        let r: Option<Sku> = on_read!(self, |p| {
            sqlx::query_as(
                "SELECT id, code, product_id, spec, price_fen, weight_g, volume_cm3, barcode \
                 FROM skus WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(p)
            .await?
        });
        r.ok_or(StoreError::NotFound)
    }

    /// Replaces a SKU's fields (its code stays).
    pub async fn update_sku(
        &self,
        actor: &Actor,
        id: i64,
        f: &SkuFields,
    ) -> Result<Sku, StoreError> {
        let sku = self.sku(id).await?;
        let p = self.product_for(Some(actor), sku.product_id).await?;
        if !actor.can_edit(p.row.target()) {
            return Err(StoreError::Forbidden);
        }
        let now = now_ms();
        in_tx!(self, |c| {
            sqlx::query(
                "UPDATE skus SET spec = $1, price_fen = $2, weight_g = $3, volume_cm3 = $4, \
                 barcode = $5, updated_at = $6 WHERE id = $7",
            )
            .bind(&f.spec)
            .bind(f.price.0)
            .bind(f.weight_g)
            .bind(f.volume_cm3)
            .bind(&f.barcode)
            .bind(now)
            .bind(id)
            .execute(&mut *c)
            .await?;
            sqlx::query("UPDATE products SET updated_at = $1 WHERE id = $2")
                .bind(now)
                .bind(sku.product_id)
                .execute(&mut *c)
                .await?;
            Ok(())
        })?;
        self.sku(id).await
    }

    /// Checks a new product as sent by a form or the API (the product fields, its SKUs) and
    /// creates it as a draft; every bad field is reported at once, SKU fields as
    /// `skus[i].field`.
    pub async fn create_product_input(
        &self,
        actor: &Actor,
        seller_id: i64,
        product: &ProductInput,
        skus: &[SkuInput],
    ) -> Result<Product, StoreError> {
        let seller = self.seller(seller_id).await.map_err(|e| match e {
            StoreError::NotFound => StoreError::field("seller_id", Reason::UnknownReference),
            e => e,
        })?;
        let mut errs = Vec::new();
        let fields = product
            .parse(Some(&seller.village_code))
            .map_err(|x| errs.extend(x))
            .ok();
        let mut new_skus = Vec::new();
        for (i, sku) in skus.iter().enumerate() {
            match sku.parse() {
                Ok(f) => new_skus.push(NewSku {
                    code: Some(sku.code.trim().to_string()).filter(|c| !c.is_empty()),
                    fields: f,
                }),
                Err(x) => errs.extend(x.into_iter().map(|mut fe| {
                    fe.field = format!("skus[{i}].{}", fe.field);
                    fe
                })),
            }
        }
        match fields {
            Some(fields) if errs.is_empty() => {
                self.create_product(actor, seller_id, &fields, &new_skus)
                    .await
            }
            _ => Err(StoreError::Invalid(errs)),
        }
    }

    /// Records a stored photo of a product the caller may edit.
    pub async fn add_photo(
        &self,
        actor: &Actor,
        product_id: i64,
        storage_key: &str,
        width: u32,
        height: u32,
    ) -> Result<Photo, StoreError> {
        let p = self.product_for(Some(actor), product_id).await?;
        if !actor.can_edit(p.row.target()) {
            return Err(StoreError::Forbidden);
        }
        if p.photos.len() >= MAX_PHOTOS {
            return Err(StoreError::Invalid(vec![FieldError::new(
                "photo",
                Reason::OutOfRange,
            )]));
        }
        let now = now_ms();
        let pos = p.photos.len() as i64;
        let id = in_tx!(self, |c| {
            let id = sqlx::query_scalar::<_, i64>(
                "INSERT INTO product_photos (product_id, storage_key, width, height, position, \
                 created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(product_id)
            .bind(storage_key)
            .bind(i64::from(width))
            .bind(i64::from(height))
            .bind(pos)
            .bind(now)
            .fetch_one(&mut *c)
            .await?;
            sqlx::query("UPDATE products SET updated_at = $1 WHERE id = $2")
                .bind(now)
                .bind(product_id)
                .execute(&mut *c)
                .await?;
            Ok(id)
        })?;
        let r: Option<Photo> = on_read!(self, |p| {
            sqlx::query_as(
                "SELECT id, product_id, storage_key, width, height FROM product_photos WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(p)
            .await?
        });
        r.ok_or(StoreError::NotFound)
    }

    /// One photo (for serving it; callers check the product is visible).
    pub async fn photo(&self, id: i64) -> Result<Photo, StoreError> {
        let r: Option<Photo> = on_read!(self, |p| {
            sqlx::query_as(
                "SELECT id, product_id, storage_key, width, height FROM product_photos WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(p)
            .await?
        });
        r.ok_or(StoreError::NotFound)
    }

    /// The lifecycle history of a seller or product: (from, to, actor username, reason, at).
    pub async fn history(
        &self,
        entity: &str,
        id: i64,
    ) -> Result<Vec<(Option<String>, String, Option<String>, Option<String>, i64)>, StoreError>
    {
        Ok(on_read!(self, |p| {
            sqlx::query_as(
                "SELECT h.from_status, h.to_status, u.username, h.reason, h.at FROM status_history h \
                 LEFT JOIN users u ON u.id = h.actor_id WHERE h.entity = $1 AND h.entity_id = $2 \
                 ORDER BY h.id",
            )
            .bind(entity)
            .bind(id)
            .fetch_all(p)
            .await?
        }))
    }
}
