//! A product's words in the other languages (English, Uyghur, Tibetan): its name,
//! description, producer's name and each option's specification, entered by whoever may edit
//! the product (its seller, the agent who listed it, the county's operator). The Chinese words
//! are the product's own; a language without a translation shows them (the pages mark it).

use crate::{Store, StoreError, in_tx, on_read};
use bazaar_domain::people::Actor;
use bazaar_domain::time::now_ms;
use bazaar_domain::{FieldError, Reason};
use std::collections::HashMap;

/// The languages a product may be translated into (BCP 47 tags of the pages).
pub const TEXT_LANGS: [&str; 3] = ["en", "ug", "bo"];

/// The longest name, producer, specification and description (characters).
const MAX_NAME: usize = 120;
const MAX_PRODUCER: usize = 60;
const MAX_SPEC: usize = 60;
const MAX_DESCRIPTION: usize = 2000;

/// A product's words in one language.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProductTexts {
    /// `en`, `ug` or `bo`.
    pub lang: String,
    /// The name; empty with everything else empty: the translation removed.
    pub name: String,
    /// The description.
    pub description: Option<String>,
    /// The producer's name as read in this language.
    pub producer: Option<String>,
    /// The options' specifications: SKU id and text.
    pub specs: Vec<(i64, String)>,
}

impl ProductTexts {
    /// Trimmed, every bad field named (too long, control or hidden characters: the free-text
    /// rule of every field); `None` when it removes the translation.
    fn checked(&self) -> Result<Option<ProductTexts>, Vec<FieldError>> {
        use bazaar_domain::error::{optional_text, take};
        let mut errs = Vec::new();
        if !TEXT_LANGS.contains(&self.lang.trim()) {
            errs.push(FieldError::new("lang", Reason::UnknownChoice));
        }
        let text = |errs: &mut Vec<FieldError>, field: &str, v: &str, max: usize| {
            take(errs, optional_text(field, v, max)).flatten()
        };
        let name = text(&mut errs, "name", &self.name, MAX_NAME);
        let description = text(
            &mut errs,
            "description",
            self.description.as_deref().unwrap_or(""),
            MAX_DESCRIPTION,
        );
        let producer = text(
            &mut errs,
            "producer",
            self.producer.as_deref().unwrap_or(""),
            MAX_PRODUCER,
        );
        let mut specs = Vec::new();
        for (id, spec) in &self.specs {
            if let Some(sp) = text(&mut errs, "spec", spec, MAX_SPEC) {
                specs.push((*id, sp));
            }
        }
        if !errs.is_empty() {
            return Err(errs);
        }
        let Some(name) = name else {
            if description.is_none() && producer.is_none() && specs.is_empty() {
                return Ok(None);
            }
            return Err(vec![FieldError::new("name", Reason::Required)]);
        };
        Ok(Some(ProductTexts {
            lang: self.lang.trim().to_string(),
            name,
            description,
            producer,
            specs,
        }))
    }
}

/// What a list shows of a product in one language: its name, where translated.
pub type Names = HashMap<i64, String>;

impl Store {
    /// Sets (or, all empty, removes) a product's words in one language, checked against the
    /// caller's right to edit the product; the options named must be the product's own.
    pub async fn set_product_texts(
        &self,
        actor: &Actor,
        product_id: i64,
        texts: &ProductTexts,
    ) -> Result<(), StoreError> {
        let p = self.product_for(Some(actor), product_id).await?;
        if !actor.can_edit(p.row.target()) {
            return Err(StoreError::Forbidden);
        }
        let checked = texts.checked().map_err(StoreError::Invalid)?;
        if let Some(t) = &checked
            && t.specs
                .iter()
                .any(|(id, _)| !p.skus.iter().any(|k| k.id == *id))
        {
            return Err(StoreError::field("spec", Reason::UnknownReference));
        }
        let lang = texts.lang.trim().to_string();
        let skus: Vec<i64> = p.skus.iter().map(|k| k.id).collect();
        let now = now_ms();
        in_tx!(self, |c| {
            sqlx::query("DELETE FROM product_texts WHERE product_id = $1 AND lang = $2")
                .bind(product_id)
                .bind(&lang)
                .execute(&mut *c)
                .await?;
            for id in &skus {
                sqlx::query("DELETE FROM sku_texts WHERE sku_id = $1 AND lang = $2")
                    .bind(id)
                    .bind(&lang)
                    .execute(&mut *c)
                    .await?;
            }
            if let Some(t) = &checked {
                sqlx::query(
                    "INSERT INTO product_texts (product_id, lang, name, description, producer, \
                     updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(product_id)
                .bind(&t.lang)
                .bind(&t.name)
                .bind(&t.description)
                .bind(&t.producer)
                .bind(now)
                .execute(&mut *c)
                .await?;
                for (id, spec) in &t.specs {
                    sqlx::query("INSERT INTO sku_texts (sku_id, lang, spec) VALUES ($1, $2, $3)")
                        .bind(id)
                        .bind(&t.lang)
                        .bind(spec)
                        .execute(&mut *c)
                        .await?;
                }
            }
            // Lists and the search index follow the catalogue's version.
            sqlx::query("UPDATE products SET updated_at = $1 WHERE id = $2")
                .bind(now)
                .bind(product_id)
                .execute(&mut *c)
                .await?;
            Ok(())
        })
    }

    /// A product's words in `lang`, if it has any.
    pub async fn product_texts(
        &self,
        product_id: i64,
        lang: &str,
    ) -> Result<Option<ProductTexts>, StoreError> {
        let row: Option<(String, Option<String>, Option<String>)> = on_read!(self, |p| {
            sqlx::query_as(
                "SELECT name, description, producer FROM product_texts \
                 WHERE product_id = $1 AND lang = $2",
            )
            .bind(product_id)
            .bind(lang)
            .fetch_optional(p)
            .await?
        });
        let Some((name, description, producer)) = row else {
            return Ok(None);
        };
        let specs: Vec<(i64, String)> = on_read!(self, |p| {
            sqlx::query_as(
                "SELECT t.sku_id, t.spec FROM sku_texts t JOIN skus k ON k.id = t.sku_id \
                 WHERE k.product_id = $1 AND t.lang = $2 ORDER BY t.sku_id",
            )
            .bind(product_id)
            .bind(lang)
            .fetch_all(p)
            .await?
        });
        Ok(Some(ProductTexts {
            lang: lang.to_string(),
            name,
            description,
            producer,
            specs,
        }))
    }

    /// The names in `lang` of those of `ids` that have one (one query, for a list's cards).
    pub async fn product_names(&self, ids: &[i64], lang: &str) -> Result<Names, StoreError> {
        if ids.is_empty() || !TEXT_LANGS.contains(&lang) {
            return Ok(Names::new());
        }
        let list = ids
            .iter()
            .take(500)
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let sql = format!(
            "SELECT product_id, name FROM product_texts WHERE lang = $1 AND product_id IN ({list})"
        );
        let rows: Vec<(i64, String)> = on_read!(self, |p| {
            sqlx::query_as(&sql).bind(lang).fetch_all(p).await?
        });
        Ok(rows.into_iter().collect())
    }
}
