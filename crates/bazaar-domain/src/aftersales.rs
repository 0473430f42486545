//! After-sales: the refund lifecycle, who decides a refund, and where its order goes.

use crate::orders::OrderStatus;
use crate::people::Role;

/// Where a refund request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefundStatus {
    /// Asked for; the seller (or an operator) has not decided.
    Requested,
    /// Approved: the money went back.
    Refunded,
    /// Refused; an operator may still overturn it.
    Rejected,
}

impl RefundStatus {
    /// Every status.
    pub const ALL: [RefundStatus; 3] = [
        RefundStatus::Requested,
        RefundStatus::Refunded,
        RefundStatus::Rejected,
    ];

    /// The stable snake_case name (stored, and in the API).
    pub fn as_str(self) -> &'static str {
        match self {
            RefundStatus::Requested => "requested",
            RefundStatus::Refunded => "refunded",
            RefundStatus::Rejected => "rejected",
        }
    }

    /// The status stored as `s`.
    pub fn from_db(s: &str) -> Option<RefundStatus> {
        RefundStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A decision on a refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefundDecision {
    /// Give the money back.
    Approve,
    /// Refuse.
    Reject,
}

impl RefundDecision {
    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            RefundDecision::Approve => "approve",
            RefundDecision::Reject => "reject",
        }
    }
}

/// The refund lifecycle: (from, decision, to). A rejection can be overturned by arbitration;
/// a refund that was paid back is final.
pub const REFUND_TRANSITIONS: &[(RefundStatus, RefundDecision, RefundStatus)] = {
    use RefundDecision as D;
    use RefundStatus as S;
    &[
        (S::Requested, D::Approve, S::Refunded),
        (S::Requested, D::Reject, S::Rejected),
        (S::Rejected, D::Approve, S::Refunded),
    ]
};

/// The status `decision` leads to from `from`, or `None` when the table does not allow it.
pub fn refund_transition(from: RefundStatus, decision: RefundDecision) -> Option<RefundStatus> {
    REFUND_TRANSITIONS
        .iter()
        .find(|(f, d, _)| *f == from && *d == decision)
        .map(|(_, _, t)| *t)
}

/// Why a caller may not decide a refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MayNotDecide {
    /// The role never decides refunds.
    Forbidden,
    /// The role decides refunds, but not one in this status.
    NotNow,
}

/// Whether `role` may decide a refund in status `from`, and if so whether it is arbitration:
/// a seller decides a fresh request (`Ok(false)`); an operator or an admin arbitrates a fresh
/// request or a seller's rejection (`Ok(true)`). The caller still checks the scope (the
/// seller's own lines, the operator's region).
pub fn refund_decider(role: Role, from: RefundStatus) -> Result<bool, MayNotDecide> {
    match (role, from) {
        (Role::Seller, RefundStatus::Requested) => Ok(false),
        (Role::Operator | Role::Admin, RefundStatus::Requested | RefundStatus::Rejected) => {
            Ok(true)
        }
        (Role::Seller | Role::Operator | Role::Admin, _) => Err(MayNotDecide::NotNow),
        _ => Err(MayNotDecide::Forbidden),
    }
}

/// Where a decision moves the refund's order, (from, to): an approval refunds it (from
/// 退款中, or from where a rejection had put it back); a rejection returns it to `prior`,
/// the status it had before the request.
pub fn refund_order_move(
    from: RefundStatus,
    decision: RefundDecision,
    prior: OrderStatus,
) -> (OrderStatus, OrderStatus) {
    match (decision, from) {
        (RefundDecision::Approve, RefundStatus::Requested) => {
            (OrderStatus::RefundRequested, OrderStatus::Refunded)
        }
        (RefundDecision::Approve, _) => (prior, OrderStatus::Refunded),
        (RefundDecision::Reject, _) => (OrderStatus::RefundRequested, prior),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refund_paid_back_is_final_and_a_rejection_can_be_overturned() {
        use RefundDecision as D;
        use RefundStatus as S;
        for (from, _, _) in REFUND_TRANSITIONS {
            assert_ne!(*from, S::Refunded);
        }
        assert_eq!(
            refund_transition(S::Rejected, D::Approve),
            Some(S::Refunded)
        );
        assert_eq!(refund_transition(S::Rejected, D::Reject), None);
        for s in RefundStatus::ALL {
            assert_eq!(RefundStatus::from_db(s.as_str()), Some(s));
        }
    }

    #[test]
    fn sellers_decide_and_operators_arbitrate() {
        assert_eq!(
            refund_decider(Role::Seller, RefundStatus::Requested),
            Ok(false)
        );
        assert_eq!(
            refund_decider(Role::Seller, RefundStatus::Rejected),
            Err(MayNotDecide::NotNow)
        );
        assert_eq!(
            refund_decider(Role::Operator, RefundStatus::Rejected),
            Ok(true)
        );
        assert_eq!(
            refund_decider(Role::Admin, RefundStatus::Refunded),
            Err(MayNotDecide::NotNow)
        );
        for role in [
            Role::Buyer,
            Role::Agent,
            Role::Driver,
            Role::Host,
            Role::Institution,
        ] {
            for s in RefundStatus::ALL {
                assert_eq!(refund_decider(role, s), Err(MayNotDecide::Forbidden));
            }
        }
        // Whoever may decide, only what the table allows is decided.
        for role in Role::ALL {
            for s in RefundStatus::ALL {
                if refund_decider(role, s).is_ok() {
                    assert!(refund_transition(s, RefundDecision::Approve).is_some());
                }
            }
        }
    }

    #[test]
    fn the_order_follows_the_decision() {
        let prior = OrderStatus::Delivered;
        assert_eq!(
            refund_order_move(RefundStatus::Requested, RefundDecision::Approve, prior),
            (OrderStatus::RefundRequested, OrderStatus::Refunded)
        );
        assert_eq!(
            refund_order_move(RefundStatus::Requested, RefundDecision::Reject, prior),
            (OrderStatus::RefundRequested, prior)
        );
        assert_eq!(
            refund_order_move(RefundStatus::Rejected, RefundDecision::Approve, prior),
            (prior, OrderStatus::Refunded)
        );
    }
}
