//! People and their rights: roles, the acting user, and the pure access rules every read and
//! write is checked against.
//!
//! Scope is expressed with region paths: every region has a path of the codes from the root
//! down (`/650000/653100/653122/`), so "region A contains region B" is a prefix test.

use crate::error::{FieldError, Reason};
use serde::Serialize;

/// What a user is. One role per account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Platform administrator: everything, everywhere.
    Admin,
    /// Prefecture or county operator: everything inside its region's subtree.
    Operator,
    /// Village station agent: its service point, the villagers it registers and lists for.
    Agent,
    /// A seller (household, cooperative, enterprise): its own products.
    Seller,
    /// Live-stream host.
    Host,
    /// Delivery driver.
    Driver,
    /// Consumer.
    Buyer,
    /// Institutional buyer (canteen, union).
    Institution,
}

impl Role {
    /// All roles.
    pub const ALL: [Role; 8] = [
        Role::Admin,
        Role::Operator,
        Role::Agent,
        Role::Seller,
        Role::Host,
        Role::Driver,
        Role::Buyer,
        Role::Institution,
    ];

    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Agent => "agent",
            Role::Seller => "seller",
            Role::Host => "host",
            Role::Driver => "driver",
            Role::Buyer => "buyer",
            Role::Institution => "institution",
        }
    }

    /// Parses the snake_case name.
    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim())
            .ok_or_else(|| FieldError::new(field, Reason::UnknownChoice))
    }

    /// Whether this role works in the back office (sees the management pages).
    pub fn is_staff(self) -> bool {
        matches!(
            self,
            Role::Admin | Role::Operator | Role::Agent | Role::Seller
        )
    }

    /// Whether this role runs the network (an admin, or an operator inside its region): it
    /// reviews, plans, imports and oversees what the others do.
    pub fn runs_network(self) -> bool {
        matches!(self, Role::Admin | Role::Operator)
    }

    /// Whether this role scans parcels (at its point, on its route, in its region).
    pub fn handles_parcels(self) -> bool {
        matches!(
            self,
            Role::Admin | Role::Operator | Role::Agent | Role::Driver
        )
    }

    /// Whether this role works a point's shelf: hands parcels over to their recipients.
    pub fn works_shelf(self) -> bool {
        matches!(self, Role::Admin | Role::Operator | Role::Agent)
    }

    /// Whether this role acts for villagers: registers sellers, buys on their behalf (代买).
    pub fn acts_for_villagers(self) -> bool {
        matches!(self, Role::Admin | Role::Operator | Role::Agent)
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Actor {
    /// User id.
    pub user_id: i64,
    /// Login name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// For operators: the path of the region they run. For agents: the path of their node's
    /// region.
    pub region_path: Option<String>,
    /// For agents: their service point.
    pub node_code: Option<String>,
    /// For sellers: the seller they act for.
    pub seller_id: Option<i64>,
}

/// What an access decision needs to know about the record it concerns.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// Path of the region the record belongs to (a seller's or product's village).
    pub region_path: &'a str,
    /// Seller that owns the record, if any.
    pub seller_id: Option<i64>,
    /// Agent that registered or listed it on a villager's behalf, if any.
    pub agent_id: Option<i64>,
}

impl Actor {
    /// The code of the region the actor's scope ends at (an operator's county, an agent's
    /// village): the last segment of its path; `None` without one (an admin, a buyer).
    pub fn region_code(&self) -> Option<&str> {
        self.region_path
            .as_deref()
            .and_then(|p| p.trim_end_matches('/').rsplit('/').next())
            .filter(|c| !c.is_empty())
    }

    /// Whether the actor's region (an operator's, an agent's point's) holds `path`.
    pub fn region_contains(&self, path: &str) -> bool {
        self.region_path
            .as_deref()
            .is_some_and(|scope| path.starts_with(scope))
    }

    /// May read non-public data of the target (drafts, contact details, review history)?
    pub fn can_read(&self, t: Target<'_>) -> bool {
        self.can_edit(t) || (self.role == Role::Agent && self.region_contains(t.region_path))
    }

    /// May change the target: its seller, the agent who listed it, operators whose region
    /// contains it, and admins.
    pub fn can_edit(&self, t: Target<'_>) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Operator => self.region_contains(t.region_path),
            Role::Seller => self.seller_id.is_some() && self.seller_id == t.seller_id,
            Role::Agent => t.agent_id == Some(self.user_id),
            _ => false,
        }
    }

    /// May decide on the target (approve/reject a seller or product, delist with a reason)?
    pub fn can_review(&self, t: Target<'_>) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Operator => self.region_contains(t.region_path),
            _ => false,
        }
    }

    /// May register a seller or list a product in the village with this path?
    pub fn can_register_in(&self, region_path: &str) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Operator | Role::Agent => self.region_contains(region_path),
            _ => false,
        }
    }

    /// May create an account of `role` attached to a place with this region path (an
    /// operator's region, an agent's service point, a seller's village; `None` for roles
    /// without a place)? Admins create any account; operators create agents, sellers, hosts
    /// and drivers inside their region, never operators or admins.
    pub fn can_create_user(&self, role: Role, place_path: Option<&str>) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Operator => {
                matches!(role, Role::Agent | Role::Seller | Role::Host | Role::Driver)
                    && place_path.is_some_and(|p| self.region_contains(p))
            }
            _ => false,
        }
    }

    /// May scan parcels or hand them over at this node (code and region path)? Agents at
    /// their own service point, drivers and operators inside their region (without one,
    /// nowhere: a trunk driver gets the prefecture's), admins anywhere.
    pub fn can_handle_at(&self, node_code: &str, node_region_path: &str) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Operator => self.region_contains(node_region_path),
            Role::Agent => self.node_code.as_deref() == Some(node_code),
            Role::Driver => self.region_contains(node_region_path),
            _ => false,
        }
    }

    /// May change the service network (regions and nodes) inside this region path?
    pub fn can_manage_network(&self, region_path: &str) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Operator => self.region_contains(region_path),
            _ => false,
        }
    }
}

/// An account to create, as sent by an admin or operator.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct UserInput {
    /// Login name: 3–32 of a–z, 0–9, `-`, `_`, `.`.
    #[serde(default)]
    #[schema(required = true, pattern = "^\\s*[a-z0-9._-]{3,32}\\s*$")]
    pub username: String,
    /// Shown name (defaults to the username).
    #[serde(default)]
    #[schema(
        max_length = 60,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    pub display_name: String,
    /// Initial password, 10 to 128 characters.
    #[serde(default)]
    #[schema(required = true, min_length = 10, max_length = 128)]
    pub password: String,
    /// admin, operator, agent, seller, host, driver, buyer or institution (operators need
    /// `region_code`, agents `node_code`, sellers `seller_id`; others none of them).
    #[serde(default)]
    #[schema(
        required = true,
        pattern = "^\\s*(admin|operator|agent|seller|host|driver|buyer|institution)\\s*$"
    )]
    pub role: String,
    /// Operators: the prefecture or county they run.
    #[serde(default)]
    pub region_code: Option<String>,
    /// Agents: their service point.
    #[serde(default)]
    pub node_code: Option<String>,
    /// Sellers: the seller they act for.
    #[serde(default)]
    pub seller_id: Option<i64>,
}

/// A checked [`UserInput`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedUser {
    /// Login name.
    pub username: String,
    /// Shown name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Operator's region.
    pub region_code: Option<String>,
    /// Agent's node.
    pub node_code: Option<String>,
    /// Seller's seller.
    pub seller_id: Option<i64>,
}

impl UserInput {
    /// Checks every field and that the place fits the role (an operator needs a region, an
    /// agent a service point, a seller account a seller; other roles none); every bad field
    /// is reported.
    pub fn parse(&self) -> Result<CheckedUser, Vec<FieldError>> {
        let mut errs = vec![];
        let username = crate::error::take(&mut errs, parse_username("username", &self.username));
        let _ = crate::error::take(&mut errs, check_new_password("password", &self.password));
        let display_name = crate::error::take(
            &mut errs,
            crate::error::optional_text("display_name", &self.display_name, 60),
        );
        let role = crate::error::take(&mut errs, Role::parse("role", &self.role));
        let opt = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
        };
        let region_code = opt(&self.region_code);
        let node_code = opt(&self.node_code);
        if let Some(role) = role {
            let need = |errs: &mut Vec<FieldError>, field: &str, has: bool, wanted: bool| {
                if wanted && !has {
                    errs.push(FieldError::new(field, Reason::Needed));
                } else if !wanted && has {
                    errs.push(FieldError::new(field, Reason::Inconsistent));
                }
            };
            need(
                &mut errs,
                "region_code",
                region_code.is_some(),
                // A driver scans inside the region they drive in (a county, or the
                // prefecture for a trunk driver).
                matches!(role, Role::Operator | Role::Driver),
            );
            need(
                &mut errs,
                "node_code",
                node_code.is_some(),
                role == Role::Agent,
            );
            need(
                &mut errs,
                "seller_id",
                self.seller_id.is_some(),
                role == Role::Seller,
            );
        }
        match (username, role) {
            (Some(username), Some(role)) if errs.is_empty() => Ok(CheckedUser {
                display_name: display_name.flatten().unwrap_or_else(|| username.clone()),
                username,
                role,
                region_code,
                node_code,
                seller_id: self.seller_id,
            }),
            _ => Err(errs),
        }
    }
}

/// Checks a username: 3–32 characters of lowercase ASCII letters, digits, `-`, `_` and `.`.
pub fn parse_username(field: &str, s: &str) -> Result<String, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(FieldError::new(field, Reason::Required));
    }
    if s.len() > 32 {
        return Err(FieldError::new(field, Reason::TooLong));
    }
    if s.len() < 3
        || !s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
        })
    {
        return Err(FieldError::new(field, Reason::InvalidFormat));
    }
    Ok(s.to_string())
}

/// Checks a new password: 10 to 128 characters.
pub fn check_new_password(field: &str, s: &str) -> Result<(), FieldError> {
    let n = s.chars().count();
    if n == 0 {
        return Err(FieldError::new(field, Reason::Required));
    }
    if n > 128 {
        return Err(FieldError::new(field, Reason::TooLong));
    }
    if n < 10 {
        return Err(FieldError::new(field, Reason::OutOfRange));
    }
    Ok(())
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_role_sets_nest_as_the_network_does() {
        for r in Role::ALL {
            // Who runs the network does everything below it; a shelf worker scans.
            if r.runs_network() {
                assert!(
                    r.handles_parcels()
                        && r.works_shelf()
                        && r.acts_for_villagers()
                        && r.is_staff()
                );
            }
            if r.works_shelf() {
                assert!(r.handles_parcels());
            }
            assert_eq!(r.works_shelf(), r.acts_for_villagers(), "{r:?}");
        }
        assert!(!Role::Driver.works_shelf() && Role::Driver.handles_parcels());
        assert!(!Role::Seller.handles_parcels() && Role::Seller.is_staff());
        for r in [Role::Buyer, Role::Host, Role::Institution] {
            assert!(!r.is_staff() && !r.handles_parcels() && !r.runs_network());
        }
    }

    use super::*;

    fn actor(role: Role, region: Option<&str>, seller: Option<i64>) -> Actor {
        Actor {
            user_id: 7,
            username: "u".into(),
            role,
            region_path: region.map(String::from),
            node_code: None,
            seller_id: seller,
        }
    }

    const BOHU_VILLAGE: &str = "/650000/652800/652829/652829200/652829200201/";
    const LITANG_VILLAGE: &str = "/510000/513300/513334/513334100/513334100201/";

    #[test]
    fn operators_are_scoped() {
        let op = actor(Role::Operator, Some("/650000/652800/652829/"), None);
        let t = |p| Target {
            region_path: p,
            seller_id: Some(1),
            agent_id: None,
        };
        assert!(op.can_edit(t(BOHU_VILLAGE)));
        assert!(op.can_review(t(BOHU_VILLAGE)));
        assert!(!op.can_read(t(LITANG_VILLAGE)));
        assert!(!op.can_edit(t(LITANG_VILLAGE)));
        assert!(!op.can_review(t(LITANG_VILLAGE)));
    }

    #[test]
    fn sellers_own_only_theirs() {
        let s = actor(Role::Seller, None, Some(1));
        let mine = Target {
            region_path: BOHU_VILLAGE,
            seller_id: Some(1),
            agent_id: None,
        };
        let theirs = Target {
            seller_id: Some(2),
            ..mine
        };
        assert!(s.can_edit(mine));
        assert!(!s.can_edit(theirs));
        assert!(!s.can_review(mine));
    }

    #[test]
    fn agents_edit_what_they_listed() {
        let a = actor(Role::Agent, Some(BOHU_VILLAGE), None);
        let listed = Target {
            region_path: BOHU_VILLAGE,
            seller_id: Some(3),
            agent_id: Some(7),
        };
        assert!(a.can_edit(listed));
        assert!(!a.can_edit(Target {
            agent_id: Some(8),
            ..listed
        }));
        assert!(a.can_register_in(BOHU_VILLAGE));
        assert!(!a.can_register_in(LITANG_VILLAGE));
        assert!(!actor(Role::Buyer, None, None).can_read(listed));
    }

    #[test]
    fn user_input_fits_place_to_role() {
        let ok = UserInput {
            username: "agent-dawan".into(),
            password: "long-enough-1".into(),
            role: "agent".into(),
            node_code: Some("VP-DAWAN".into()),
            ..Default::default()
        };
        let u = ok.parse().expect("valid");
        assert_eq!(u.display_name, "agent-dawan");
        let no_node = UserInput {
            node_code: None,
            ..ok.clone()
        };
        let e = no_node.parse().expect_err("needs a node");
        assert_eq!(e, vec![FieldError::new("node_code", Reason::Needed)]);
        let buyer_with_region = UserInput {
            role: "buyer".into(),
            region_code: Some("652829".into()),
            node_code: None,
            ..ok.clone()
        };
        let e = buyer_with_region.parse().expect_err("no place");
        assert_eq!(
            e,
            vec![FieldError::new("region_code", Reason::Inconsistent)]
        );
        let all_bad = UserInput {
            username: "A B".into(),
            password: "short".into(),
            role: "king".into(),
            ..Default::default()
        };
        let fields: Vec<String> = all_bad
            .parse()
            .expect_err("bad")
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["username", "password", "role"]);
    }

    #[test]
    fn operators_create_field_staff_in_their_region_only() {
        let op = actor(Role::Operator, Some("/650000/652800/652829/"), None);
        assert!(op.can_create_user(Role::Agent, Some(BOHU_VILLAGE)));
        assert!(!op.can_create_user(Role::Agent, Some(LITANG_VILLAGE)));
        assert!(!op.can_create_user(Role::Operator, Some(BOHU_VILLAGE)));
        assert!(!op.can_create_user(Role::Buyer, None));
        assert!(
            actor(Role::Admin, None, None).can_create_user(Role::Operator, Some(LITANG_VILLAGE))
        );
        assert!(
            !actor(Role::Agent, Some(BOHU_VILLAGE), None)
                .can_create_user(Role::Seller, Some(BOHU_VILLAGE))
        );
    }

    #[test]
    fn usernames_and_passwords() {
        assert!(parse_username("username", "op-bohu").is_ok());
        assert!(parse_username("username", "Op Bohu").is_err());
        assert!(check_new_password("password", "bazaar-demo").is_ok());
        assert!(check_new_password("password", "short").is_err());
    }

    #[test]
    fn scans_only_where_the_role_reaches() {
        let bohu = "/65/6528/652829/";
        let litang = "/51/5133/513334/";
        let driver = actor(Role::Driver, Some("/65/6528/652829/"), None);
        assert!(driver.can_handle_at("DC-652829", bohu));
        assert!(!driver.can_handle_at("DC-513334", litang));
        // A driver without a region scans nowhere (not everywhere).
        assert!(!actor(Role::Driver, None, None).can_handle_at("DC-652829", bohu));
        assert!(!actor(Role::Operator, None, None).can_handle_at("DC-652829", bohu));
        let mut agent = actor(Role::Agent, Some(bohu), None);
        agent.node_code = Some("VP-HARENGEN".into());
        assert!(agent.can_handle_at("VP-HARENGEN", bohu));
        assert!(!agent.can_handle_at("DC-652829", bohu));
        assert!(actor(Role::Admin, None, None).can_handle_at("DC-513334", litang));
        assert!(!actor(Role::Buyer, None, None).can_handle_at("DC-652829", bohu));
    }
}
