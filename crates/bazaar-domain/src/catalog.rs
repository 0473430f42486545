//! The catalog: products (what a producer makes) and their SKUs (what a buyer orders), with
//! the review lifecycle draft → in review → listed → delisted.

use crate::error::{FieldError, Reason, optional_text, required_text, take};
use crate::money::Fen;
use crate::region::RegionCode;
use serde::{Deserialize, Serialize};

/// Product category. The snake_case name is stable; the display name is translated
/// (`category-<name>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Honey (蜂蜜).
    Honey,
    /// Grain and oil (粮油): millet, flour, nang.
    GrainOil,
    /// Fresh produce (生鲜果蔬).
    FreshProduce,
    /// Dried fruit and nuts (干果坚果).
    DriedFruitNuts,
    /// Meat and dairy (肉禽乳品).
    MeatDairy,
    /// Condiments (调味品): chilli, pepper, sauces.
    Condiment,
    /// Tea and drinks (茶饮).
    TeaDrink,
    /// Fungi (菌菇): matsutake, morels.
    Fungi,
    /// Medicinal (滋补药材): cordyceps, saffron.
    Medicinal,
    /// Crafts and instruments (手工艺品).
    Craft,
}

impl Category {
    /// All categories, in display order.
    pub const ALL: [Category; 10] = [
        Category::Honey,
        Category::GrainOil,
        Category::FreshProduce,
        Category::DriedFruitNuts,
        Category::MeatDairy,
        Category::Condiment,
        Category::TeaDrink,
        Category::Fungi,
        Category::Medicinal,
        Category::Craft,
    ];

    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Honey => "honey",
            Category::GrainOil => "grain_oil",
            Category::FreshProduce => "fresh_produce",
            Category::DriedFruitNuts => "dried_fruit_nuts",
            Category::MeatDairy => "meat_dairy",
            Category::Condiment => "condiment",
            Category::TeaDrink => "tea_drink",
            Category::Fungi => "fungi",
            Category::Medicinal => "medicinal",
            Category::Craft => "craft",
        }
    }

    /// Parses the snake_case name.
    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(FieldError::new(field, Reason::Required));
        }
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| FieldError::new(field, Reason::UnknownChoice))
    }
}

/// Where a product stands in review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductStatus {
    /// Being prepared by its seller or agent.
    Draft,
    /// Submitted; waiting for the county operator's quality check (品控).
    InReview,
    /// Public in the storefront.
    Listed,
    /// Taken off the storefront, with a reason.
    Delisted,
}

impl ProductStatus {
    /// All statuses.
    pub const ALL: [ProductStatus; 4] = [
        ProductStatus::Draft,
        ProductStatus::InReview,
        ProductStatus::Listed,
        ProductStatus::Delisted,
    ];
    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ProductStatus::Draft => "draft",
            ProductStatus::InReview => "in_review",
            ProductStatus::Listed => "listed",
            ProductStatus::Delisted => "delisted",
        }
    }
    /// Parses the snake_case name.
    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s.trim())
            .ok_or_else(|| FieldError::new(field, Reason::UnknownChoice))
    }
}

/// Something done to a product's review status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProductAction {
    /// Seller or agent sends it for review.
    Submit,
    /// Operator lists it.
    Approve,
    /// Operator sends it back to draft with a reason.
    Reject,
    /// Operator (with a reason) or owner takes it off the storefront.
    Delist,
}

impl ProductAction {
    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ProductAction::Submit => "submit",
            ProductAction::Approve => "approve",
            ProductAction::Reject => "reject",
            ProductAction::Delist => "delist",
        }
    }

    /// Whether the action needs the reviewer's right (operator or admin) rather than the
    /// owner's.
    pub fn needs_reviewer(self) -> bool {
        matches!(self, ProductAction::Approve | ProductAction::Reject)
    }

    /// Whether a reason must be given.
    pub fn needs_reason(self) -> bool {
        matches!(self, ProductAction::Reject | ProductAction::Delist)
    }
}

/// The product lifecycle as a table: (from, action, to).
pub const PRODUCT_TRANSITIONS: &[(ProductStatus, ProductAction, ProductStatus)] = &[
    (
        ProductStatus::Draft,
        ProductAction::Submit,
        ProductStatus::InReview,
    ),
    (
        ProductStatus::Delisted,
        ProductAction::Submit,
        ProductStatus::InReview,
    ),
    (
        ProductStatus::InReview,
        ProductAction::Approve,
        ProductStatus::Listed,
    ),
    (
        ProductStatus::InReview,
        ProductAction::Reject,
        ProductStatus::Draft,
    ),
    (
        ProductStatus::Listed,
        ProductAction::Delist,
        ProductStatus::Delisted,
    ),
];

/// The status an action leads to, or `None` when not allowed from `from`.
pub fn product_transition(from: ProductStatus, a: ProductAction) -> Option<ProductStatus> {
    PRODUCT_TRANSITIONS
        .iter()
        .find(|(f, aa, _)| *f == from && *aa == a)
        .map(|(_, _, to)| *to)
}

/// A validated product (without its SKUs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProductFields {
    /// Chinese name, as buyers search it.
    pub name: String,
    /// English name.
    pub name_en: Option<String>,
    /// Category.
    pub category: Category,
    /// Origin village (where it was produced).
    pub village_code: String,
    /// Geographic-indication brand (地理标志), e.g. 雅江松茸.
    pub gi_brand: Option<String>,
    /// Poverty-alleviation product certificate number (扶贫产品认定).
    pub poverty_cert_no: Option<String>,
    /// Green food certificate.
    pub green_cert: bool,
    /// Organic certificate.
    pub organic_cert: bool,
    /// Shelf life in days; `None` for goods that do not spoil.
    pub shelf_life_days: Option<i32>,
    /// Needs the cold chain.
    pub cold_chain: bool,
    /// Description.
    pub description: Option<String>,
}

/// Raw product fields (create): strings and plain values as sent by a form, JSON or CSV.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ProductInput {
    /// Chinese name (required).
    #[serde(default)]
    #[schema(
        required = true,
        max_length = 80,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    pub name: String,
    /// English name.
    #[serde(default)]
    #[schema(
        max_length = 120,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    pub name_en: String,
    /// Category code (see `/api/v1/categories`).
    #[serde(default)]
    #[schema(
        required = true,
        pattern = "^\\s*(honey|grain_oil|fresh_produce|dried_fruit_nuts|meat_dairy|condiment|tea_drink|fungi|medicinal|craft)\\s*$"
    )]
    pub category: String,
    /// Origin village code; defaults to the seller's village.
    #[serde(default)]
    #[schema(pattern = "^\\s*([0-9]{12})?\\s*$")]
    pub village_code: String,
    /// Geographic-indication brand.
    #[serde(default)]
    #[schema(
        max_length = 40,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    pub gi_brand: String,
    /// Poverty-alleviation product certificate number.
    #[serde(default)]
    #[schema(
        max_length = 40,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    pub poverty_cert_no: String,
    /// Green food certificate.
    #[serde(default)]
    pub green_cert: bool,
    /// Organic certificate.
    #[serde(default)]
    pub organic_cert: bool,
    /// Shelf life in days.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 3650)]
    pub shelf_life_days: Option<i64>,
    /// Needs cold chain.
    #[serde(default)]
    pub cold_chain: bool,
    /// Description.
    #[serde(default)]
    #[schema(
        max_length = 2000,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    pub description: String,
}

/// Checks a shelf life in days (1 to 3650).
pub fn check_shelf_life(field: &str, d: Option<i64>) -> Result<Option<i32>, FieldError> {
    match d {
        None => Ok(None),
        Some(d) if (1..=3650).contains(&d) => Ok(Some(d as i32)),
        Some(_) => Err(FieldError::new(field, Reason::OutOfRange)),
    }
}

/// Checks a village code (12 digits).
pub fn check_village_code(field: &str, s: &str) -> Result<String, FieldError> {
    let c = RegionCode::parse(field, s)?;
    if c.as_str().len() != 12 {
        return Err(FieldError::new(field, Reason::Inconsistent));
    }
    Ok(c.as_str().to_string())
}

impl ProductInput {
    /// Parses every field; `default_village` is used when no village is given. Returns every
    /// error found.
    pub fn parse(&self, default_village: Option<&str>) -> Result<ProductFields, Vec<FieldError>> {
        let mut errs = Vec::new();
        let name = take(&mut errs, required_text("name", &self.name, 80));
        let name_en = take(&mut errs, optional_text("name_en", &self.name_en, 120));
        let category = take(&mut errs, Category::parse("category", &self.category));
        let village = if self.village_code.trim().is_empty() {
            match default_village {
                Some(v) => Some(v.to_string()),
                None => take(
                    &mut errs,
                    Err(FieldError::new("village_code", Reason::Required)),
                ),
            }
        } else {
            take(
                &mut errs,
                check_village_code("village_code", &self.village_code),
            )
        };
        let gi = take(&mut errs, optional_text("gi_brand", &self.gi_brand, 40));
        let cert = take(
            &mut errs,
            optional_text("poverty_cert_no", &self.poverty_cert_no, 40),
        );
        let shelf = take(
            &mut errs,
            check_shelf_life("shelf_life_days", self.shelf_life_days),
        );
        let description = take(
            &mut errs,
            optional_text("description", &self.description, 2000),
        );
        match (
            name,
            name_en,
            category,
            village,
            gi,
            cert,
            shelf,
            description,
        ) {
            (
                Some(name),
                Some(name_en),
                Some(category),
                Some(village_code),
                Some(gi_brand),
                Some(poverty_cert_no),
                Some(shelf_life_days),
                Some(description),
            ) if errs.is_empty() => Ok(ProductFields {
                name,
                name_en,
                category,
                village_code,
                gi_brand,
                poverty_cert_no,
                green_cert: self.green_cert,
                organic_cert: self.organic_cert,
                shelf_life_days,
                cold_chain: self.cold_chain,
                description,
            }),
            _ => Err(errs),
        }
    }
}

/// A change to a product: absent fields stay as they are. For optional text, an empty string
/// clears the value.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ProductPatch {
    /// New name.
    #[schema(
        max_length = 80,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    pub name: Option<String>,
    /// New English name ("" clears).
    #[schema(
        max_length = 120,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    pub name_en: Option<String>,
    /// New category code.
    #[schema(
        pattern = "^\\s*(honey|grain_oil|fresh_produce|dried_fruit_nuts|meat_dairy|condiment|tea_drink|fungi|medicinal|craft)\\s*$"
    )]
    pub category: Option<String>,
    /// New origin village.
    #[schema(pattern = "^\\s*[0-9]{12}\\s*$")]
    pub village_code: Option<String>,
    /// New GI brand ("" clears).
    #[schema(
        max_length = 40,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    pub gi_brand: Option<String>,
    /// New certificate number ("" clears).
    #[schema(
        max_length = 40,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    pub poverty_cert_no: Option<String>,
    /// Green certificate.
    pub green_cert: Option<bool>,
    /// Organic certificate.
    pub organic_cert: Option<bool>,
    /// Shelf life in days (0 clears).
    #[schema(minimum = 0, maximum = 3650)]
    pub shelf_life_days: Option<i64>,
    /// Cold chain.
    pub cold_chain: Option<bool>,
    /// New description ("" clears).
    #[schema(
        max_length = 2000,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    pub description: Option<String>,
}

impl ProductPatch {
    /// Applies the patch to `p`, checking every given field; all errors are returned.
    pub fn apply(&self, p: &ProductFields) -> Result<ProductFields, Vec<FieldError>> {
        let mut out = p.clone();
        let mut errs = Vec::new();
        if let Some(v) = &self.name {
            match required_text("name", v, 80) {
                Ok(v) => out.name = v,
                Err(e) => errs.push(e),
            }
        }
        let mut opt = |field: &str, v: &Option<String>, max: usize, slot: &mut Option<String>| {
            if let Some(v) = v {
                match optional_text(field, v, max) {
                    Ok(v) => *slot = v,
                    Err(e) => errs.push(e),
                }
            }
        };
        opt("name_en", &self.name_en, 120, &mut out.name_en);
        opt("gi_brand", &self.gi_brand, 40, &mut out.gi_brand);
        opt(
            "poverty_cert_no",
            &self.poverty_cert_no,
            40,
            &mut out.poverty_cert_no,
        );
        opt("description", &self.description, 2000, &mut out.description);
        if let Some(v) = &self.category {
            match Category::parse("category", v) {
                Ok(c) => out.category = c,
                Err(e) => errs.push(e),
            }
        }
        if let Some(v) = &self.village_code {
            match check_village_code("village_code", v) {
                Ok(c) => out.village_code = c,
                Err(e) => errs.push(e),
            }
        }
        if let Some(d) = self.shelf_life_days {
            match check_shelf_life("shelf_life_days", (d != 0).then_some(d)) {
                Ok(d) => out.shelf_life_days = d,
                Err(e) => errs.push(e),
            }
        }
        if let Some(b) = self.green_cert {
            out.green_cert = b;
        }
        if let Some(b) = self.organic_cert {
            out.organic_cert = b;
        }
        if let Some(b) = self.cold_chain {
            out.cold_chain = b;
        }
        if errs.is_empty() { Ok(out) } else { Err(errs) }
    }
}

/// A validated SKU.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkuFields {
    /// Specification shown to buyers, e.g. `500g 瓶装`.
    pub spec: String,
    /// Price.
    pub price: Fen,
    /// Shipping weight in grams (with packaging).
    pub weight_g: i64,
    /// Shipping volume in cubic centimetres.
    pub volume_cm3: i64,
    /// Barcode (EAN-13 with a correct check digit, or another 8–14 digit code).
    pub barcode: Option<String>,
}

/// Raw SKU fields.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct SkuInput {
    /// Stable code; generated when empty.
    #[serde(default)]
    pub code: String,
    /// Specification.
    #[serde(default)]
    #[schema(
        required = true,
        max_length = 60,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    pub spec: String,
    /// Price in fen.
    #[serde(default)]
    #[schema(required = true, minimum = 1, maximum = 1_000_000_000)]
    pub price_fen: i64,
    /// Weight in grams.
    #[serde(default)]
    #[schema(required = true, minimum = 1, maximum = 1_000_000)]
    pub weight_g: i64,
    /// Volume in cm³.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 10_000_000)]
    pub volume_cm3: i64,
    /// Barcode.
    #[serde(default)]
    #[schema(pattern = "^\\s*([0-9]{8,14})?\\s*$")]
    pub barcode: String,
}

/// Checks a barcode: 8 to 14 digits; a 13-digit code must carry a correct EAN-13 check digit.
pub fn check_barcode(field: &str, s: &str) -> Result<Option<String>, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if !(8..=14).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::new(field, Reason::InvalidFormat));
    }
    if s.len() == 13 {
        let d: Vec<u32> = s.bytes().map(|b| u32::from(b - b'0')).collect();
        let sum: u32 = d[..12]
            .iter()
            .enumerate()
            .map(|(i, v)| if i % 2 == 0 { *v } else { v * 3 })
            .sum();
        if (10 - sum % 10) % 10 != d[12] {
            return Err(FieldError::new(field, Reason::BadCheckDigit));
        }
    }
    Ok(Some(s.to_string()))
}

impl SkuInput {
    /// Parses every field; all errors are returned.
    pub fn parse(&self) -> Result<SkuFields, Vec<FieldError>> {
        let mut errs = Vec::new();
        let spec = required_text("spec", &self.spec, 60)
            .map_err(|e| errs.push(e))
            .ok();
        let price = Fen::checked("price_fen", self.price_fen)
            .and_then(|f| {
                if f.0 == 0 {
                    Err(FieldError::new("price_fen", Reason::OutOfRange))
                } else {
                    Ok(f)
                }
            })
            .map_err(|e| errs.push(e))
            .ok();
        if !(1..=1_000_000).contains(&self.weight_g) {
            errs.push(FieldError::new("weight_g", Reason::OutOfRange));
        }
        if !(0..=10_000_000).contains(&self.volume_cm3) {
            errs.push(FieldError::new("volume_cm3", Reason::OutOfRange));
        }
        let barcode = check_barcode("barcode", &self.barcode)
            .map_err(|e| errs.push(e))
            .ok();
        match (spec, price, barcode) {
            (Some(spec), Some(price), Some(barcode)) if errs.is_empty() => Ok(SkuFields {
                spec,
                price,
                weight_g: self.weight_g,
                volume_cm3: self.volume_cm3,
                barcode,
            }),
            _ => Err(errs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lifecycle_table() {
        use ProductAction::*;
        use ProductStatus::*;
        assert_eq!(product_transition(Draft, Submit), Some(InReview));
        assert_eq!(product_transition(InReview, Approve), Some(Listed));
        assert_eq!(product_transition(InReview, Reject), Some(Draft));
        assert_eq!(product_transition(Listed, Delist), Some(Delisted));
        assert_eq!(product_transition(Draft, Approve), None);
        assert_eq!(product_transition(Listed, Submit), None);
    }

    #[test]
    fn barcodes() {
        assert!(check_barcode("b", "6901234567892").is_ok());
        assert!(check_barcode("b", "6901234567890").is_err());
        assert!(check_barcode("b", "12ab").is_err());
        assert_eq!(check_barcode("b", "").expect("ok"), None);
    }

    #[test]
    fn product_input() {
        let p = ProductInput {
            name: "阿西木土蜂蜜".into(),
            category: "honey".into(),
            ..Default::default()
        };
        let f = p.parse(Some("653122205201")).expect("valid");
        assert_eq!(f.village_code, "653122205201");
        let errs = ProductInput {
            category: "sweets".into(),
            shelf_life_days: Some(0),
            ..Default::default()
        }
        .parse(None)
        .expect_err("invalid");
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["name", "category", "village_code", "shelf_life_days"]
        );
        let patched = ProductPatch {
            gi_brand: Some("".into()),
            name: Some("新名字".into()),
            ..Default::default()
        }
        .apply(&f)
        .expect("ok");
        assert_eq!(patched.name, "新名字");
        assert_eq!(patched.gi_brand, None);
    }

    #[test]
    fn sku_input() {
        let s = SkuInput {
            spec: "500g".into(),
            price_fen: 6800,
            weight_g: 650,
            volume_cm3: 900,
            barcode: "".into(),
            ..Default::default()
        };
        assert!(s.parse().is_ok());
        let bad = SkuInput::default().parse().expect_err("bad");
        assert_eq!(bad.len(), 3);
    }

    proptest! {
        #[test]
        fn barcode_never_panics(s in "\\PC{0,20}") {
            let _ = check_barcode("b", &s);
        }
    }
}
