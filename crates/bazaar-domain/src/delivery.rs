//! Delivery: the lifecycle of a day's run of a delivery centre.

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunStatus {
    /// Planned, being reviewed; stops may be moved.
    Draft,
    /// Given to the drivers; it changes only by re-planning (a breakdown).
    Published,
    /// Replaced by a later published run of the same centre and day.
    Superseded,
}

impl RunStatus {
    /// Every status.
    pub const ALL: [RunStatus; 3] = [
        RunStatus::Draft,
        RunStatus::Published,
        RunStatus::Superseded,
    ];

    /// The stable snake_case name (stored, and in the API).
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Draft => "draft",
            RunStatus::Published => "published",
            RunStatus::Superseded => "superseded",
        }
    }

    /// The status stored as `s`.
    pub fn from_db(s: &str) -> Option<RunStatus> {
        RunStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// Something done to a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunAction {
    /// A stop moved by hand.
    Change,
    /// Re-planned around a vehicle out of service.
    Replan,
    /// Given to the drivers.
    Publish,
    /// Replaced by a later published run.
    Supersede,
}

impl RunAction {
    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunAction::Change => "change",
            RunAction::Replan => "replan",
            RunAction::Publish => "publish",
            RunAction::Supersede => "supersede",
        }
    }
}

/// The run lifecycle: (from, action, to). A superseded run never changes.
pub const RUN_TRANSITIONS: &[(RunStatus, RunAction, RunStatus)] = {
    use RunAction as A;
    use RunStatus as S;
    &[
        (S::Draft, A::Change, S::Draft),
        (S::Draft, A::Replan, S::Draft),
        (S::Draft, A::Publish, S::Published),
        (S::Published, A::Replan, S::Published),
        (S::Published, A::Supersede, S::Superseded),
    ]
};

/// The status `action` leads to from `from`, or `None` when the table does not allow it.
pub fn run_transition(from: RunStatus, action: RunAction) -> Option<RunStatus> {
    RUN_TRANSITIONS
        .iter()
        .find(|(f, a, _)| *f == from && *a == action)
        .map(|(_, _, t)| *t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_published_run_changes_only_by_replanning_and_a_superseded_one_never() {
        use RunAction as A;
        use RunStatus as S;
        assert_eq!(run_transition(S::Published, A::Change), None);
        assert_eq!(run_transition(S::Published, A::Replan), Some(S::Published));
        assert_eq!(run_transition(S::Draft, A::Publish), Some(S::Published));
        assert_eq!(run_transition(S::Published, A::Publish), None);
        for (from, _, _) in RUN_TRANSITIONS {
            assert_ne!(*from, S::Superseded);
        }
        for s in RunStatus::ALL {
            assert_eq!(RunStatus::from_db(s.as_str()), Some(s));
        }
    }
}
