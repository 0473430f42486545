//! Validation errors: which field, and why, as a stable reason code.

use serde::Serialize;

/// Why a field was refused. The snake_case name is stable and is the key of the translated
/// message (`reason-<name>` in the Fluent catalogues).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The field is missing or empty.
    Required,
    /// The field may be left out in general but is needed here: for this role, or with what
    /// another field says (a rejection's reason, an operator's region).
    Needed,
    /// The field is longer than allowed.
    TooLong,
    /// The value does not have the expected shape.
    InvalidFormat,
    /// The value is not one of the allowed choices.
    UnknownChoice,
    /// A number is outside the allowed range.
    OutOfRange,
    /// The value refers to something that does not exist.
    UnknownReference,
    /// The value is already taken by another record.
    Duplicate,
    /// The value contradicts another field.
    Inconsistent,
    /// The thing cannot be here (a parcel scanned at a point of another county).
    WrongPlace,
    /// Several entries that are each within bounds add up to more than is allowed (an
    /// order's lines of the same SKU).
    OverTotal,
    /// A waybill number that is not written the way its carrier writes them.
    NotThisCarrier,
    /// A time outside the window around now that is allowed (a scan from the phone's
    /// future, a month-old queue, a carrier event ahead of the clock).
    OutOfWindow,
    /// Outside the caller's region or service point.
    OutOfScope,
    /// A code that does not match (a pickup code, the phone's last digits).
    WrongCode,
    /// A place too coarse for what it is for (an address at a province, not down to its
    /// county).
    TooCoarse,
    /// A code whose check digit does not add up (a mistyped EAN-13 barcode).
    BadCheckDigit,
}

impl Reason {
    /// Every reason.
    pub const ALL: [Reason; 17] = [
        Reason::Required,
        Reason::Needed,
        Reason::TooLong,
        Reason::InvalidFormat,
        Reason::UnknownChoice,
        Reason::OutOfRange,
        Reason::UnknownReference,
        Reason::Duplicate,
        Reason::Inconsistent,
        Reason::WrongPlace,
        Reason::OverTotal,
        Reason::NotThisCarrier,
        Reason::OutOfWindow,
        Reason::OutOfScope,
        Reason::WrongCode,
        Reason::TooCoarse,
        Reason::BadCheckDigit,
    ];

    /// The stable snake_case code of this reason.
    pub fn code(self) -> &'static str {
        match self {
            Reason::Required => "required",
            Reason::Needed => "needed",
            Reason::TooLong => "too_long",
            Reason::InvalidFormat => "invalid_format",
            Reason::UnknownChoice => "unknown_choice",
            Reason::OutOfRange => "out_of_range",
            Reason::UnknownReference => "unknown_reference",
            Reason::Duplicate => "duplicate",
            Reason::Inconsistent => "inconsistent",
            Reason::WrongPlace => "wrong_place",
            Reason::NotThisCarrier => "not_this_carrier",
            Reason::OverTotal => "over_total",
            Reason::OutOfWindow => "out_of_window",
            Reason::WrongCode => "wrong_code",
            Reason::OutOfScope => "out_of_scope",
            Reason::TooCoarse => "too_coarse",
            Reason::BadCheckDigit => "bad_check_digit",
        }
    }
}

/// A refused input: the field it came from and the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{field}: {}", reason.code())]
pub struct FieldError {
    /// Name of the field as the caller sent it (form field, JSON key or CSV column).
    pub field: String,
    /// Why it was refused.
    pub reason: Reason,
}

impl FieldError {
    /// A new error for `field`.
    pub fn new(field: impl Into<String>, reason: Reason) -> Self {
        Self {
            field: field.into(),
            reason,
        }
    }
}

/// Checks a required free-text field: trimmed, non-empty, at most `max` characters.
pub fn required_text(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(FieldError::new(field, Reason::Required));
    }
    optional_text(field, v, max).map(|o| o.unwrap_or_default())
}

/// Whether text holds characters that hide or reorder what a reader sees: the bidirectional
/// embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069, which can make
/// `exe.txt` read `txt.exe`) and the invisible zero-width space, word joiner and byte-order
/// mark (U+200B, U+2060, U+FEFF), which make two names look the same. The joiners U+200C,
/// U+200D and the marks U+200E, U+200F stay allowed: Uyghur and Tibetan writing uses them.
pub fn has_hidden_chars(s: &str) -> bool {
    s.chars().any(|c| {
        matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200B}' | '\u{2060}' | '\u{FEFF}')
    })
}

/// Checks an optional free-text field: trimmed; empty becomes `None`; at most `max` characters;
/// no control characters other than newlines and tabs, nothing hidden ([`has_hidden_chars`]).
pub fn optional_text(field: &str, value: &str, max: usize) -> Result<Option<String>, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    if v.chars().count() > max {
        return Err(FieldError::new(field, Reason::TooLong));
    }
    if v.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
        || has_hidden_chars(v)
    {
        return Err(FieldError::new(field, Reason::InvalidFormat));
    }
    Ok(Some(v.to_string()))
}

/// Keeps the value of `r`, or records its error in `errs` (to report every bad field at once).
pub fn take<T>(errs: &mut Vec<FieldError>, r: Result<T, FieldError>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            errs.push(e);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_rules() {
        assert_eq!(required_text("name", "  蜂蜜 ", 10).as_deref(), Ok("蜂蜜"));
        assert_eq!(
            required_text("name", "   ", 10).map_err(|e| e.reason),
            Err(Reason::Required)
        );
        assert_eq!(
            required_text("name", "蜂蜜蜂蜜蜂蜜", 5).map_err(|e| e.reason),
            Err(Reason::TooLong)
        );
        assert_eq!(optional_text("x", "", 5), Ok(None));
        assert_eq!(
            optional_text("x", "a\u{0}b", 5).map_err(|e| e.reason),
            Err(Reason::InvalidFormat)
        );
        // Reordering and invisible characters: "阿西木\u{202E}gpj.exe" reads otherwise.
        for hidden in [
            "阿西木\u{202E}exe",
            "蜂\u{200B}蜜",
            "\u{2066}x\u{2069}",
            "a\u{FEFF}",
        ] {
            assert_eq!(
                required_text("name", hidden, 20).map_err(|e| e.reason),
                Err(Reason::InvalidFormat),
                "{hidden:?}"
            );
        }
        // Uyghur's joiners and direction marks are writing, not tricks.
        assert!(required_text("name", "ئا\u{200C}نا \u{200F}12", 20).is_ok());
    }
}

/// Declares the error codes: one enum per area, each code with its snake_case name and its
/// HTTP status, and [`ErrorCode`], any of them.
macro_rules! error_codes {
    ($( $(#[$adoc:meta])* $area:ident : $enum:ident { $( $(#[$doc:meta])* $name:ident = ($code:literal, $status:literal), )* } )*) => {
        $(
            $(#[$adoc])*
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
            pub enum $enum {
                $( $(#[$doc])* $name, )*
            }
            impl $enum {
                /// Every code of the area.
                pub const ALL: &'static [$enum] = &[$($enum::$name),*];
                /// The stable snake_case name.
                pub fn code(self) -> &'static str {
                    match self { $($enum::$name => $code,)* }
                }
                /// The HTTP status it is answered with.
                pub fn status(self) -> u16 {
                    match self { $($enum::$name => $status,)* }
                }
            }
            impl From<$enum> for ErrorCode {
                fn from(c: $enum) -> ErrorCode {
                    ErrorCode::$area(c)
                }
            }
        )*
        /// Every error code an answer can carry, by area: its snake_case name (the API's
        /// `error.code`, and `error-<code>` in every Fluent catalogue) and its HTTP status.
        /// Each code is also a constant of this type (`ErrorCode::OutOfStock`), so a caller
        /// names the code, not its area. A test fails when a catalogue lacks the message of
        /// one of them.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $( $(#[$adoc])* $area($enum), )*
        }
        #[allow(non_upper_case_globals)]
        impl ErrorCode {
            /// Every code, area by area.
            pub const ALL: &'static [ErrorCode] = &[$($(ErrorCode::$area($enum::$name),)*)*];
            $($(
                $(#[$doc])*
                pub const $name: ErrorCode = ErrorCode::$area($enum::$name);
            )*)*
            /// The stable snake_case name.
            pub fn code(self) -> &'static str {
                match self { $(ErrorCode::$area(c) => c.code(),)* }
            }
            /// The HTTP status it is answered with.
            pub fn status(self) -> u16 {
                match self { $(ErrorCode::$area(c) => c.status(),)* }
            }
            /// The area it belongs to (`request` for the request itself).
            pub fn area(self) -> &'static str {
                match self { $(ErrorCode::$area(_) => const_lower(stringify!($area)),)* }
            }
        }
        impl std::fmt::Display for ErrorCode {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

/// The area names as written in the table, lower-cased (they are single ASCII words).
const fn const_lower(s: &'static str) -> &'static str {
    match s.as_bytes() {
        b"Request" => "request",
        b"People" => "people",
        b"Catalog" => "catalog",
        b"Orders" => "orders",
        b"Stock" => "stock",
        b"Aftersales" => "aftersales",
        b"Logistics" => "logistics",
        b"Delivery" => "delivery",
        b"Live" => "live",
        _ => s,
    }
}

error_codes! {
    /// Error codes of the request area: the request itself, whatever the area.
    Request: RequestError {
        /// A field refused: the answer names it and the reason (400 or 422, see the web crate's
        /// `refusal_status`).
        InvalidInput = ("invalid_input", 400),
        /// A body that is not JSON, or not of the expected shape.
        InvalidJson = ("invalid_json", 400),
        /// A request axum refused before any handler.
        BadRequest = ("bad_request", 400),
        /// A JSON body not sent as `application/json`.
        JsonContentType = ("json_content_type", 415),
        /// A body of a type the route does not take.
        UnsupportedMediaType = ("unsupported_media_type", 415),
        /// A body over the route's limit.
        PayloadTooLarge = ("payload_too_large", 413),
        /// A method the path does not answer.
        MethodNotAllowed = ("method_not_allowed", 405),
        /// The request took too long to arrive or to answer.
        RequestTimeout = ("request_timeout", 408),
        /// A CSV with bad rows, every one listed.
        InvalidCsv = ("invalid_csv", 422),
        /// Nothing there (or nothing the caller may see).
        NotFound = ("not_found", 404),
        /// A change not allowed from the current status.
        InvalidTransition = ("invalid_transition", 409),
        /// Something failed on our side; the details are in the log.
        Internal = ("internal", 500),
        /// The database (or another service Bazaar needs) does not answer.
        Unavailable = ("unavailable", 503),
    }
    /// Error codes of the people area: accounts, roles and sessions.
    People: PeopleError {
        /// Not signed in, or the token is unknown or expired.
        Unauthenticated = ("unauthenticated", 401),
        /// Wrong username or password.
        BadCredentials = ("bad_credentials", 401),
        /// Too many attempts: wait (`Retry-After`).
        TooManyAttempts = ("too_many_attempts", 429),
        /// The caller's role or region does not allow it.
        Forbidden = ("forbidden", 403),
    }
    /// Error codes of the catalog area: sellers and products.
    Catalog: CatalogError {
        /// The seller is not approved yet.
        SellerNotApproved = ("seller_not_approved", 409),
        /// A product without any SKU cannot be submitted.
        ProductHasNoSkus = ("product_has_no_skus", 409),
        /// The product is not on sale.
        ProductNotListed = ("product_not_listed", 409),
    }
    /// Error codes of the orders area: orders and payments.
    Orders: OrdersError {
        /// Not enough stock for these SKUs; nothing was reserved.
        OutOfStock = ("out_of_stock", 409),
        /// Prices changed since the buyer saw them; nothing was reserved.
        PriceChanged = ("price_changed", 409),
        /// No shipping rule to the address's province.
        AddressNotServed = ("address_not_served", 409),
        /// No address given and none is the default.
        NoDefaultAddress = ("no_default_address", 409),
        /// The buyer's unpaid orders already hold this product's share of stock.
        UnpaidLimit = ("unpaid_limit", 409),
        /// A concurrent change to the same rows: the order is tried again on the careful path
        /// (never answered: the store retries itself).
        RetryCarefully = ("retry_carefully", 409),
        /// A payment notification that does not match its payment.
        PaymentMismatch = ("payment_mismatch", 409),
    }
    /// Error codes of the stock area: stock levels and their ledger.
    Stock: StockError {
        /// More arrived than was announced as incoming.
        MoreThanAnnounced = ("more_than_announced", 409),
    }
    /// Error codes of the aftersales area: refunds.
    Aftersales: AftersalesError {
        /// The refund window of the order has closed.
        RefundWindowClosed = ("refund_window_closed", 409),
        /// The refund was decided already.
        RefundDecided = ("refund_decided", 409),
        /// The refund changed while it was being decided.
        RefundChanged = ("refund_changed", 409),
    }
    /// Error codes of the logistics area: parcels, scans, tracking and pickup.
    Logistics: LogisticsError {
        /// Every slot of the point's shelf is taken.
        ShelfFull = ("shelf_full", 409),
        /// Every pickup code of the point is taken by a waiting parcel.
        NoFreePickupCode = ("no_free_pickup_code", 409),
        /// A WeChat binding changed while it was being made.
        BindingChangedConcurrently = ("binding_changed_concurrently", 409),
    }
    /// Error codes of the delivery area: runs and plans.
    Delivery: DeliveryError {
        /// Another plan is running on this server.
        PlannerBusy = ("planner_busy", 429),
        /// The road service (OSRM) failed.
        RoadsUnavailable = ("roads_unavailable", 502),
        /// The solver refused the day.
        PlanRefused = ("plan_refused", 422),
        /// No parcels wait to be delivered today.
        NothingToDeliver = ("nothing_to_deliver", 409),
        /// Moving the stop would break a rule of the run (capacity, cold chain, hours).
        MoveBreaksARule = ("move_breaks_a_rule", 409),
        /// A stored run cannot be read back.
        RunUnreadable = ("run_unreadable", 500),
        /// The centre's day is over (it has closed): nothing can be re-planned for today.
        DayOver = ("day_over", 409),
    }
    /// Error codes of the live area: sessions and flash offers.
    Live: LiveError {
        /// Every unit of the offer is sold or held by unpaid orders.
        SoldOut = ("sold_out", 409),
        /// The buyer would hold more of the offer than its per-buyer limit.
        LimitExceeded = ("limit_exceeded", 409),
        /// The offer takes no orders now (not started, paused).
        OfferNotLive = ("offer_not_live", 409),
        /// The offer is over for good.
        OfferEnded = ("offer_ended", 409),
    }
}

#[cfg(test)]
mod code_tests {
    use super::ErrorCode;

    #[test]
    fn codes_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            let s = c.code();
            assert!(
                !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{s}"
            );
            assert!(seen.insert(s), "{s} twice");
            assert!((400..600).contains(&c.status()), "{s}");
            assert!(!c.area().is_empty() && c.area().bytes().all(|b| b.is_ascii_lowercase()));
        }
        // The constants name the same codes as the areas' enums.
        assert_eq!(
            ErrorCode::OutOfStock,
            ErrorCode::Orders(super::OrdersError::OutOfStock)
        );
        assert_eq!(ErrorCode::ShelfFull.area(), "logistics");
    }
}
