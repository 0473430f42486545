//! Store errors: what the web layer maps to HTTP statuses and error codes.

use bazaar_domain::FieldError;

/// One bad row of an imported CSV file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    /// 1-based line number in the file (the header is line 1).
    pub line: u64,
    /// Column name.
    pub column: String,
    /// Why (a stable reason code, see [`bazaar_domain::Reason`]).
    pub reason: String,
}

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record does not exist, or the caller may not know it exists.
    #[error("not found")]
    NotFound,
    /// The caller may see the record but not do this to it.
    #[error("forbidden")]
    Forbidden,
    /// Input was refused; every bad field is listed.
    #[error("invalid input: {0:?}")]
    Invalid(Vec<FieldError>),
    /// A CSV file was refused as a whole; every bad row is listed.
    #[error("invalid CSV file ({} bad rows)", .0.len())]
    Csv(Vec<RowError>),
    /// A lifecycle change not allowed from the current status.
    #[error("invalid transition from {from} by {action}")]
    InvalidTransition {
        /// Current status.
        from: String,
        /// Attempted action.
        action: String,
    },
    /// A business rule refused the change; the code says which (`seller_not_approved`,
    /// `product_has_no_skus`).
    #[error("rule: {0}")]
    Rule(bazaar_domain::ErrorCode),
    /// Not enough available stock for these SKUs; nothing was reserved.
    #[error("out of stock: {0:?}")]
    OutOfStock(Vec<i64>),
    /// Prices changed since the buyer saw them: (sku id, price seen, price now), in fen.
    /// Nothing was reserved; the buyer confirms and orders again.
    #[error("prices changed: {0:?}")]
    PriceChanged(Vec<(i64, i64, i64)>),
    /// Too many attempts; try again after this many seconds.
    #[error("too many attempts: wait {0} s")]
    Throttled(i64),
    /// Wrong username or password.
    #[error("bad credentials")]
    BadCredentials,
    /// Configuration or connection problem (start-up).
    #[error("{0}")]
    Config(String),
    /// The database failed.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

impl StoreError {
    /// A single-field validation error.
    pub fn field(field: &str, reason: bazaar_domain::Reason) -> Self {
        StoreError::Invalid(vec![FieldError::new(field, reason)])
    }

    /// Whether a database error is a unique-constraint violation.
    pub fn is_unique_violation(e: &sqlx::Error) -> bool {
        matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
    }
}
