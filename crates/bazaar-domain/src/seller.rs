//! Sellers: households (possibly registered poverty-alleviation households), cooperatives and
//! enterprises, each belonging to a village, approved by the county operator.

use crate::error::{FieldError, Reason, optional_text, required_text, take};
use crate::text::parse_phone;
use serde::Serialize;

/// What kind of producer sells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SellerKind {
    /// 农户
    Household,
    /// 合作社
    Cooperative,
    /// 企业
    Enterprise,
}

impl SellerKind {
    /// All kinds.
    pub const ALL: [SellerKind; 3] = [
        SellerKind::Household,
        SellerKind::Cooperative,
        SellerKind::Enterprise,
    ];
    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            SellerKind::Household => "household",
            SellerKind::Cooperative => "cooperative",
            SellerKind::Enterprise => "enterprise",
        }
    }
    /// Parses the snake_case name.
    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| FieldError::new(field, Reason::UnknownChoice))
    }
}

/// Poverty-alleviation status of a household.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PovertyStatus {
    /// Not registered.
    None,
    /// 脱贫户: lifted out of poverty, still registered.
    Lifted,
    /// 监测户: under monitoring against falling back.
    Monitored,
}

impl PovertyStatus {
    /// All statuses.
    pub const ALL: [PovertyStatus; 3] = [
        PovertyStatus::None,
        PovertyStatus::Lifted,
        PovertyStatus::Monitored,
    ];
    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            PovertyStatus::None => "none",
            PovertyStatus::Lifted => "lifted",
            PovertyStatus::Monitored => "monitored",
        }
    }
    /// Parses the snake_case name; empty means `none`.
    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        if s.trim().is_empty() {
            return Ok(PovertyStatus::None);
        }
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| FieldError::new(field, Reason::UnknownChoice))
    }
}

/// Where a seller stands with the county.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SellerStatus {
    /// Applied, waiting for the operator.
    Pending,
    /// May sell.
    Approved,
    /// Refused, with a reason; may apply again.
    Rejected,
}

impl SellerStatus {
    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            SellerStatus::Pending => "pending",
            SellerStatus::Approved => "approved",
            SellerStatus::Rejected => "rejected",
        }
    }
    /// Parses the stored name.
    pub fn from_db(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(SellerStatus::Pending),
            "approved" => Some(SellerStatus::Approved),
            "rejected" => Some(SellerStatus::Rejected),
            _ => None,
        }
    }
}

/// An operator's decision on an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SellerDecision {
    /// Approve.
    Approve,
    /// Reject (a reason is required).
    Reject,
    /// Re-open a rejected application.
    Reapply,
}

/// The seller lifecycle as a table: (from, decision, to).
pub const SELLER_TRANSITIONS: &[(SellerStatus, SellerDecision, SellerStatus)] = &[
    (
        SellerStatus::Pending,
        SellerDecision::Approve,
        SellerStatus::Approved,
    ),
    (
        SellerStatus::Pending,
        SellerDecision::Reject,
        SellerStatus::Rejected,
    ),
    (
        SellerStatus::Rejected,
        SellerDecision::Reapply,
        SellerStatus::Pending,
    ),
    (
        SellerStatus::Approved,
        SellerDecision::Reject,
        SellerStatus::Rejected,
    ),
];

/// The status a decision leads to, or `None` when it is not allowed from `from`.
pub fn seller_transition(from: SellerStatus, d: SellerDecision) -> Option<SellerStatus> {
    SELLER_TRANSITIONS
        .iter()
        .find(|(f, dd, _)| *f == from && *dd == d)
        .map(|(_, _, to)| *to)
}

/// A validated seller application.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewSeller {
    /// Optional stable code (from imports and demo data).
    pub code: Option<String>,
    /// Display name (household head, cooperative or company name).
    pub name: String,
    /// Kind.
    pub kind: SellerKind,
    /// Village the seller belongs to.
    pub village_code: String,
    /// Poverty-alleviation status (households only).
    pub poverty_status: PovertyStatus,
    /// Poverty registration number or unified social credit code.
    pub registration_no: Option<String>,
    /// Contact person.
    pub contact_name: Option<String>,
    /// Contact phone (never shown whole on public pages).
    pub contact_phone: Option<String>,
    /// Short description.
    pub description: Option<String>,
}

/// Raw seller fields as they arrive from a form, JSON body or CSV row.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct SellerInput {
    /// Optional stable code.
    #[serde(default)]
    #[schema(
        max_length = 40,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    pub code: String,
    /// Display name.
    #[serde(default)]
    #[schema(
        required = true,
        max_length = 80,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    pub name: String,
    /// household, cooperative or enterprise.
    #[serde(default)]
    #[schema(
        required = true,
        pattern = "^\\s*(household|cooperative|enterprise)\\s*$"
    )]
    pub kind: String,
    /// Village code (12 digits).
    #[serde(default)]
    #[schema(required = true, pattern = "^\\s*[0-9]{12}\\s*$")]
    pub village_code: String,
    /// none, lifted or monitored (households only; lifted and monitored need `registration_no`).
    #[serde(default)]
    #[schema(pattern = "^\\s*(|none|lifted|monitored)\\s*$")]
    pub poverty_status: String,
    /// Registration number.
    #[serde(default)]
    #[schema(
        max_length = 40,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    pub registration_no: String,
    /// Contact person.
    #[serde(default)]
    #[schema(
        max_length = 40,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    pub contact_name: String,
    /// Contact phone: empty, or 7 to 12 digits (11 digits start with 1 or 0).
    #[serde(default)]
    #[schema(pattern = "^(?:|[0-9]{7,10}|[01][0-9]{10}|[0-9]{12})$")]
    pub contact_phone: String,
    /// Description.
    #[serde(default)]
    #[schema(
        max_length = 500,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    pub description: String,
}

impl SellerInput {
    /// Parses every field; returns all the errors found, not only the first.
    pub fn parse(&self) -> Result<NewSeller, Vec<FieldError>> {
        let mut errs = Vec::new();
        let code = take(&mut errs, optional_text("code", &self.code, 40));
        let name = take(&mut errs, required_text("name", &self.name, 80));
        let kind = take(&mut errs, SellerKind::parse("kind", &self.kind));
        let village = take(
            &mut errs,
            crate::region::RegionCode::parse("village_code", &self.village_code).and_then(|c| {
                if c.as_str().len() == 12 {
                    Ok(c)
                } else {
                    Err(FieldError::new("village_code", Reason::Inconsistent))
                }
            }),
        );
        let poverty = take(
            &mut errs,
            PovertyStatus::parse("poverty_status", &self.poverty_status),
        );
        let reg = take(
            &mut errs,
            optional_text("registration_no", &self.registration_no, 40),
        );
        let contact_name = take(
            &mut errs,
            optional_text("contact_name", &self.contact_name, 40),
        );
        let phone = take(&mut errs, parse_phone("contact_phone", &self.contact_phone));
        let description = take(
            &mut errs,
            optional_text("description", &self.description, 500),
        );
        if let (Some(k), Some(p)) = (kind, poverty)
            && k != SellerKind::Household
            && p != PovertyStatus::None
        {
            errs.push(FieldError::new("poverty_status", Reason::Inconsistent));
        }
        if let (Some(p), Some(r)) = (poverty, &reg)
            && p != PovertyStatus::None
            && r.is_none()
        {
            errs.push(FieldError::new("registration_no", Reason::Needed));
        }
        match (
            errs.is_empty(),
            code,
            name,
            kind,
            village,
            poverty,
            reg,
            contact_name,
            phone,
            description,
        ) {
            (
                true,
                Some(code),
                Some(name),
                Some(kind),
                Some(village),
                Some(poverty_status),
                Some(registration_no),
                Some(contact_name),
                Some(contact_phone),
                Some(description),
            ) => Ok(NewSeller {
                code,
                name,
                kind,
                village_code: village.as_str().to_string(),
                poverty_status,
                registration_no,
                contact_name,
                contact_phone,
                description,
            }),
            _ => Err(errs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions() {
        assert_eq!(
            seller_transition(SellerStatus::Pending, SellerDecision::Approve),
            Some(SellerStatus::Approved)
        );
        assert_eq!(
            seller_transition(SellerStatus::Approved, SellerDecision::Approve),
            None
        );
    }

    #[test]
    fn parse_collects_all_errors() {
        let e = SellerInput {
            kind: "farm".into(),
            village_code: "652829".into(),
            ..Default::default()
        }
        .parse()
        .expect_err("invalid");
        let fields: Vec<_> = e.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "kind", "village_code"]);
        let ok = SellerInput {
            name: "马木提·阿西木".into(),
            kind: "household".into(),
            village_code: "653122205201".into(),
            poverty_status: "lifted".into(),
            registration_no: "PA-1".into(),
            ..Default::default()
        }
        .parse()
        .expect("valid");
        assert_eq!(ok.poverty_status, PovertyStatus::Lifted);
        let coop_poor = SellerInput {
            name: "合作社".into(),
            kind: "cooperative".into(),
            village_code: "653122205201".into(),
            poverty_status: "lifted".into(),
            registration_no: "x".into(),
            ..Default::default()
        }
        .parse()
        .expect_err("inconsistent");
        assert_eq!(coop_poor[0].field, "poverty_status");
    }
}
