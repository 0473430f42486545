//! Vehicle-routing solver for Bazaar: a hybrid genetic search (HGS) in the
//! style of HGS-CVRP (Vidal 2022, "Hybrid genetic search for the CVRP:
//! Open-source implementation and SWAP* neighborhood") and PyVRP (Wouda, Lan &
//! Kool 2024). Ideas and parameter values are ported from both projects (MIT
//! licensed); see `docs/adr/0006-vrp-solver.md`.
//!
//! Supported model: several capacity dimensions, deliveries and pickups on the
//! same route, time windows at stops and depots, service times, several
//! depots, a heterogeneous fleet (capacities, start/end depot, fixed and
//! per-distance/per-duration costs, shift window, maximum duration, skills),
//! optional stops with a prize, and vehicles starting anywhere at any time
//! (model the current position as a depot).
//!
//! Entry points: build a [`Problem`] with [`ProblemBuilder`], call [`solve`],
//! re-check with [`check`]; or read benchmark files with [`read_instance`] /
//! [`solve_instance_file`].

#![forbid(unsafe_code)]
// Index loops over parallel arrays read more clearly in the numeric code.
#![allow(clippy::needless_range_loop)]

pub mod check;
pub mod io;
pub mod problem;
pub mod rng;
mod search;
pub mod solution;

pub use check::{CheckReport, Violation, check};
pub use io::{
    Error, Format, Instance, ParseError, SolFile, parse_instance, parse_sol, read_instance,
    solve_instance_file, write_sol,
};
pub use problem::{
    Depot, EuclideanRounding, Matrix, Problem, ProblemBuilder, ProblemError, Stop, VehicleType,
};
pub use solution::{Route, Solution, SolveParams, Unserved, UnservedReason, Visit, solve};
