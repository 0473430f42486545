//! The catalogue picker of the back office's order screens (代买 at a station): products
//! found by name with the storefront's search, a quantity field for each option, and the
//! options already picked kept across searches — no SKU code to know.

use crate::AppState;
use crate::app::error::field_message;
use crate::app::i18n::Lang;
use crate::catalog::pages::stock_note;
use bazaar_domain::money::Fen;
use bazaar_domain::orders::{ItemInput, MAX_QUANTITY};
use bazaar_domain::{FieldError, Reason};
use bazaar_store::StoreError;
use std::collections::HashMap;

/// The most options one order picks.
pub const MAX_PICKED: usize = 30;

/// How many products a search shows.
const FOUND: usize = 12;

/// One option as the picker shows it, with its quantity field.
pub struct PickLine {
    /// The SKU: its field is `qty-<sku_id>`.
    pub sku_id: i64,
    /// Product name and option.
    pub name: String,
    /// Unit price.
    pub price: String,
    /// "仅剩 3 件" or "已售完".
    pub stock: Option<String>,
    /// Nothing left: no quantity field.
    pub sold_out: bool,
    /// The quantity as typed ("" for none).
    pub quantity: String,
    /// Why the quantity was refused.
    pub error: Option<String>,
}

/// The picker as shown: the search, the options picked, and those found.
pub struct Picker {
    /// The search as typed.
    pub q: String,
    /// The options with a quantity.
    pub picked: Vec<PickLine>,
    /// The options of the products the search found, not yet picked.
    pub found: Vec<PickLine>,
    /// Whether a search was made (to say that nothing was found).
    pub searched: bool,
    /// When nothing matched: names to search instead.
    pub suggestions: Vec<String>,
}

/// The options picked in a submitted form (`qty-<sku>` fields above zero), in SKU order, and
/// the refusals (`quantity[<sku>]`) of quantities that are not whole numbers from 1 to 9,999.
pub fn picked(form: &HashMap<String, String>) -> (Vec<ItemInput>, Vec<FieldError>) {
    let mut items = Vec::new();
    let mut errs = Vec::new();
    let mut fields: Vec<(i64, &str)> = form
        .iter()
        .filter_map(|(k, v)| {
            let id = k.strip_prefix("qty-")?.parse::<i64>().ok()?;
            Some((id, v.trim()))
        })
        .filter(|(id, v)| *id > 0 && !v.is_empty() && *v != "0")
        .collect();
    fields.sort_by_key(|(id, _)| *id);
    for (id, v) in fields {
        // Refusals are named `quantity[<sku>]`: shown as 数量 by the error catalogue.
        let name = format!("quantity[{id}]");
        match v.parse::<i64>() {
            Ok(q) if (1..=MAX_QUANTITY).contains(&q) => items.push(ItemInput {
                sku_id: id,
                quantity: q,
                expected_price_fen: None,
            }),
            Ok(_) => errs.push(FieldError::new(name, Reason::OutOfRange)),
            Err(_) => errs.push(FieldError::new(name, Reason::InvalidFormat)),
        }
    }
    if items.len() > MAX_PICKED {
        items.truncate(MAX_PICKED);
        errs.push(FieldError::new("items", Reason::OutOfRange));
    }
    (items, errs)
}

/// The picker for a submitted form: its picked options with names, prices and stock, and
/// when `q` is typed the options of the products the search finds.
pub async fn build(
    s: &AppState,
    lang: Lang,
    form: &HashMap<String, String>,
    errors: &[FieldError],
) -> Result<Picker, StoreError> {
    // A suggestion taken (its button) stands for the search typed.
    let q: String = form
        .get("suggest")
        .filter(|v| !v.trim().is_empty())
        .or_else(|| form.get("q"))
        .map(|v| v.trim().chars().take(100).collect())
        .unwrap_or_default();
    // Every option with a quantity typed, even a refused one, stays in the list.
    let mut typed: Vec<(i64, String)> = form
        .iter()
        .filter_map(|(k, v)| {
            let id = k.strip_prefix("qty-")?.parse::<i64>().ok()?;
            let v = v.trim();
            (id > 0 && !v.is_empty() && v != "0").then(|| (id, v.chars().take(6).collect()))
        })
        .collect();
    typed.sort();
    typed.truncate(MAX_PICKED);
    let mut products: Vec<bazaar_store::catalog::products::Product> = Vec::new();
    let mut picked_ids = Vec::with_capacity(typed.len());
    for (id, _) in &typed {
        let sku = match s.store.sku(*id).await {
            Ok(k) => k,
            Err(StoreError::NotFound) => continue,
            Err(e) => return Err(e),
        };
        picked_ids.push(*id);
        if !products.iter().any(|p| p.row.id == sku.product_id) {
            match s.store.product(sku.product_id).await {
                Ok(p) => products.push(p),
                Err(StoreError::NotFound) => continue,
                Err(e) => return Err(e),
            }
        }
    }
    let mut suggestions = Vec::new();
    let found_products = if q.is_empty() {
        Vec::new()
    } else {
        let hits = s
            .search()
            .search(&q, &bazaar_search::Filters::default(), 0, FOUND)
            .map_err(|e| StoreError::Config(e.to_string()))?;
        if hits.relaxed {
            // Nothing matched all of it: names to try instead, not near misses as results.
            suggestions = hits.suggestions.into_iter().take(5).collect();
            Vec::new()
        } else {
            s.store.listed_products_by_ids(&hits.ids).await?
        }
    };
    let all: Vec<i64> = products
        .iter()
        .chain(&found_products)
        .flat_map(|p| p.skus.iter().map(|k| k.id))
        .collect();
    let left = s.store.available(&all).await?;
    let line = |p: &bazaar_store::catalog::products::Product,
                k: &bazaar_store::catalog::products::Sku| {
        let n = left.get(&k.id).copied().unwrap_or(0).max(0);
        let field = format!("quantity[{}]", k.id);
        PickLine {
            sku_id: k.id,
            name: format!("{} {}", p.row.name, k.spec),
            price: Fen(k.price_fen).to_string(),
            stock: stock_note(lang, n),
            sold_out: n == 0,
            quantity: typed
                .iter()
                .find(|(id, _)| *id == k.id)
                .map(|(_, v)| v.clone())
                .unwrap_or_default(),
            error: errors
                .iter()
                .find(|e| e.field == field)
                .map(|e| field_message(lang, "quantity", e.reason.code())),
        }
    };
    let mut picked = Vec::new();
    for id in &picked_ids {
        if let Some((p, k)) = products
            .iter()
            .find_map(|p| p.skus.iter().find(|k| k.id == *id).map(|k| (p, k)))
        {
            let mut l = line(p, k);
            // A picked option stays editable even when it has just sold out.
            l.sold_out = false;
            picked.push(l);
        }
    }
    let found = found_products
        .iter()
        .flat_map(|p| p.skus.iter().map(move |k| (p, k)))
        .filter(|(_, k)| !picked_ids.contains(&k.id))
        .map(|(p, k)| line(p, k))
        .collect();
    Ok(Picker {
        suggestions,
        searched: !q.is_empty(),
        q,
        picked,
        found,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_read_from_their_fields_and_junk_is_named() {
        let form: HashMap<String, String> = [
            ("qty-7", " 2 "),
            ("qty-3", "1"),
            ("qty-9", ""),
            ("qty-4", "0"),
            ("qty-5", "x"),
            ("qty-6", "10000"),
            ("qty-abc", "1"),
            ("villager_name", "热依汗古丽"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let (items, errs) = picked(&form);
        let got: Vec<(i64, i64)> = items.iter().map(|i| (i.sku_id, i.quantity)).collect();
        assert_eq!(got, [(3, 1), (7, 2)]);
        let mut names: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        names.sort();
        assert_eq!(names, ["quantity[5]", "quantity[6]"]);
    }
}
