//! Integration tests: parsers, checker, solver features, determinism, limits.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use bazaar_vrp::*;

fn params(iters: u64, seed: u64) -> SolveParams {
    SolveParams {
        time_limit: Duration::from_secs(30),
        seed,
        max_iterations: Some(iters),
    }
}

/// Stops on a line / grid with a single depot at the origin.
fn simple(points: &[(f64, f64)], demand: &[i64], cap: i64, vehicles: usize) -> ProblemBuilder {
    let mut b = ProblemBuilder::new(1);
    let mut d = Depot::new("depot");
    d.coords = Some((0.0, 0.0));
    b.add_depot(d);
    for (k, (&p, &q)) in points.iter().zip(demand).enumerate() {
        let mut s = Stop::new(format!("s{k}"), vec![q]);
        s.coords = Some(p);
        b.add_stop(s);
    }
    b.add_vehicle_type(VehicleType::new("van", vehicles, vec![cap]));
    b.euclidean(10, EuclideanRounding::Round);
    b
}

const SOLOMON_MINI: &str = "MINI

VEHICLE
NUMBER     CAPACITY
  3         20

CUSTOMER
CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME

    0      0          0          0          0       1000          0
    1      10         0         10          0       1000         5
    2      10         10        10          0       1000         5
    3      0          10        10          0       1000         5
    4      -10        0         10          0       1000         5
";

const VRPLIB_MINI: &str = "NAME : mini
TYPE : CVRP
DIMENSION : 5
EDGE_WEIGHT_TYPE : EUC_2D
CAPACITY : 20
NODE_COORD_SECTION
1 0 0
2 10 0
3 10 10
4 0 10
5 -10 0
DEMAND_SECTION
1 0
2 10
3 10
4 10
5 10
DEPOT_SECTION
1
-1
EOF
";

#[test]
fn parses_solomon_and_vrplib() {
    let s = parse_instance(SOLOMON_MINI).unwrap();
    assert_eq!(s.format, Format::Solomon);
    assert_eq!(s.problem.stops().len(), 4);
    assert_eq!(s.scale, 10);
    // floor(10 * sqrt(200)) = 141
    assert_eq!(s.problem.distance().get(0, 2), 141);
    assert_eq!(s.ids, vec![1, 2, 3, 4]);
    let v = parse_instance(VRPLIB_MINI).unwrap();
    assert_eq!(v.format, Format::Vrplib);
    assert_eq!(v.problem.distance().get(0, 2), 14); // round(14.14)
    assert_eq!(v.ids, vec![1, 2, 3, 4]);
}

#[test]
fn parses_explicit_vrplib() {
    let txt = "NAME : e\nDIMENSION : 3\nEDGE_WEIGHT_TYPE : EXPLICIT\nEDGE_WEIGHT_FORMAT : LOWER_ROW\nCAPACITY : 10\nEDGE_WEIGHT_SECTION\n5\n7 3\nDEMAND_SECTION\n1 0\n2 4\n3 4\nDEPOT_SECTION\n1\n-1\nEOF\n";
    let v = parse_instance(txt).unwrap();
    assert_eq!(v.problem.distance().get(0, 1), 5);
    assert_eq!(v.problem.distance().get(2, 1), 3);
    let sol = solve(&v.problem, &params(50, 1));
    assert!(sol.feasible);
    assert_eq!(sol.distance, 5 + 3 + 7);
}

#[test]
fn malformed_files_report_line_numbers() {
    let bad = SOLOMON_MINI.replace("10         10        10", "10         xx        10");
    match parse_instance(&bad) {
        Err(Error::Parse(e)) => {
            assert_eq!(e.line, 12, "{e}");
            assert!(e.message.contains("xx"));
        }
        other => panic!("expected parse error, got {other:?}"),
    }
    let short = SOLOMON_MINI.replace(
        "    4      -10        0         10          0       1000         5",
        "    4      -10        0",
    );
    match parse_instance(&short) {
        Err(Error::Parse(e)) => assert_eq!(e.line, 14, "{e}"),
        other => panic!("expected parse error, got {other:?}"),
    }
    let bad_tw = SOLOMON_MINI.replace(
        "0       1000         5\n    3",
        "900       100         5\n    3",
    );
    assert!(matches!(parse_instance(&bad_tw), Err(Error::Parse(e)) if e.line == 12));
    let bad_v = VRPLIB_MINI.replace("3 10 10", "3 10");
    match parse_instance(&bad_v) {
        Err(Error::Parse(e)) => assert_eq!(e.line, 9, "{e}"),
        other => panic!("expected parse error, got {other:?}"),
    }
    let bad_id = VRPLIB_MINI.replace("5 -10 0", "9 -10 0");
    assert!(matches!(parse_instance(&bad_id), Err(Error::Parse(e)) if e.line == 11));
    assert!(matches!(
        parse_instance("hello world"),
        Err(Error::Parse(_))
    ));
    // Demand larger than capacity is a problem error naming the stop.
    let big = VRPLIB_MINI.replace("5 10\nDEPOT", "5 99\nDEPOT");
    match parse_instance(&big) {
        Err(Error::Problem(ProblemError::ImpossibleStop { stop, reason })) => {
            assert_eq!(stop, "node 5");
            assert!(reason.contains("capacity"), "{reason}");
        }
        other => panic!("expected problem error, got {other:?}"),
    }
    assert!(matches!(
        read_instance("/nonexistent/file.vrp"),
        Err(Error::Io { .. })
    ));
}

#[test]
fn parses_sol_files() {
    let s = parse_sol("Route #1: 1 2\nRoute #2: 3\nCost 827.3\n").unwrap();
    assert_eq!(s.routes, vec![vec![1, 2], vec![3]]);
    assert_eq!(s.cost, Some(827.3));
    assert_eq!(parse_sol("Route #1: 1 x\n").unwrap_err().line, 1);
    assert_eq!(parse_sol("Route #1: 1\nfoo\n").unwrap_err().line, 2);
}

#[test]
fn solves_small_instance_to_optimum() {
    // Square with depot at the origin; capacity 20 → two routes of two.
    let inst = parse_instance(SOLOMON_MINI).unwrap();
    let sol = solve(&inst.problem, &params(200, 7));
    assert!(sol.feasible);
    // Optimum: 0-(10,0)-(10,10)-0 and 0-(0,10)-(-10,0)-0:
    // 100+100+141 + 100+141+100 = 682 (×10 units)
    assert_eq!(sol.distance, 682);
    let out = write_sol(&inst, &sol);
    assert!(out.ends_with("Cost 68.2\n"), "{out}");
    assert!(check(&inst.problem, &sol).is_feasible());
}

#[test]
fn deterministic_for_seed_and_iterations() {
    let pts: Vec<(f64, f64)> = (0..40)
        .map(|i| (((i * 37) % 100) as f64, ((i * 61) % 100) as f64))
        .collect();
    let dem: Vec<i64> = (0..40).map(|i| 1 + (i % 7)).collect();
    let p = simple(&pts, &dem, 30, 20).build().unwrap();
    let a = solve(&p, &params(300, 42));
    let b = solve(&p, &params(300, 42));
    assert_eq!(a, b);
    assert!(a.feasible);
    assert!(check(&p, &a).is_feasible());
}

#[test]
fn time_limit_respected_on_500_stops() {
    let pts: Vec<(f64, f64)> = (0..500)
        .map(|i| (((i * 7919) % 1000) as f64, ((i * 104_729) % 1000) as f64))
        .collect();
    let dem: Vec<i64> = (0..500).map(|i| 1 + (i % 10)).collect();
    let p = simple(&pts, &dem, 100, 500).build().unwrap();
    let t0 = Instant::now();
    let sol = solve(
        &p,
        &SolveParams {
            time_limit: Duration::from_secs(1),
            seed: 1,
            max_iterations: None,
        },
    );
    let el = t0.elapsed();
    assert!(el < Duration::from_millis(1500), "took {el:?}");
    // Every stop is still routed.
    let served: usize = sol.routes.iter().map(|r| r.visits.len()).sum();
    assert_eq!(served + sol.unserved.len(), 500);
}

#[test]
fn pickups_and_deliveries_load_along_route() {
    // Two stops: deliver 8 at A, pick up 8 at B. Capacity 10: feasible only
    // if A comes before B (load 8 → 0 → 8), not B first (8 + 8 = 16).
    let mut b = ProblemBuilder::new(1);
    b.add_depot(Depot::new("d"));
    let mut a = Stop::new("A", vec![8]);
    a.pickup = vec![0];
    b.add_stop(a);
    let mut s = Stop::new("B", vec![0]);
    s.pickup = vec![8];
    b.add_stop(s);
    b.add_vehicle_type(VehicleType::new("v", 1, vec![10]));
    // Make B-first geometrically attractive: d→B cheap, A→d cheap.
    let m = Matrix::new(3, vec![0, 10, 1, 10, 0, 10, 10, 1, 0]).unwrap();
    b.distance_matrix(m);
    let p = b.build().unwrap();
    let sol = solve(&p, &params(100, 1));
    assert!(sol.feasible);
    assert_eq!(sol.routes.len(), 1);
    assert_eq!(sol.routes[0].stops(), vec![0, 1]);
    assert_eq!(sol.routes[0].start_load, vec![8]);
    assert_eq!(sol.routes[0].visits[0].load_after, vec![0]);
    assert_eq!(sol.routes[0].visits[1].load_after, vec![8]);
    assert!(check(&p, &sol).is_feasible());
    // The checker catches the wrong order.
    let mut bad = sol.clone();
    bad.routes[0].visits.reverse();
    bad.routes[0].distance = 1 + 1 + 10;
    let rep = check(&p, &bad);
    assert!(
        rep.violations
            .iter()
            .any(|v| matches!(v, Violation::Capacity { .. })),
        "{rep:?}"
    );
}

#[test]
fn multiple_dimensions() {
    // kg and m³: the second dimension binds.
    let mut b = simple(&[(1.0, 0.0), (2.0, 0.0), (3.0, 0.0)], &[1, 1, 1], 10, 3);
    let mut b2 = ProblemBuilder::new(2);
    let _ = &mut b;
    let mut d = Depot::new("d");
    d.coords = Some((0.0, 0.0));
    b2.add_depot(d);
    for k in 0..3 {
        let mut s = Stop::new(format!("s{k}"), vec![1, 6]);
        s.coords = Some(((k + 1) as f64, 0.0));
        b2.add_stop(s);
    }
    b2.add_vehicle_type(VehicleType::new("v", 3, vec![10, 10]));
    let p = b2.build().unwrap();
    let sol = solve(&p, &params(100, 1));
    assert!(sol.feasible);
    assert_eq!(sol.routes.len(), 3);
    assert!(check(&p, &sol).is_feasible());
}

#[test]
fn skills_respected() {
    let mut b = ProblemBuilder::new(1);
    let mut d = Depot::new("d");
    d.coords = Some((0.0, 0.0));
    b.add_depot(d);
    for k in 0..6 {
        let mut s = Stop::new(format!("s{k}"), vec![1]);
        s.coords = Some(((k + 1) as f64, (k % 2) as f64));
        if k % 2 == 0 {
            s.skills = vec!["cold-chain".into()];
        }
        b.add_stop(s);
    }
    let mut cold = VehicleType::new("reefer", 1, vec![100]);
    cold.skills = vec!["cold-chain".into()];
    cold.fixed_cost = 1;
    b.add_vehicle_type(cold);
    b.add_vehicle_type(VehicleType::new("van", 2, vec![100]));
    b.euclidean(10, EuclideanRounding::Round);
    let p = b.build().unwrap();
    let sol = solve(&p, &params(200, 3));
    assert!(sol.feasible);
    for r in &sol.routes {
        for v in &r.visits {
            if v.stop % 2 == 0 {
                assert_eq!(r.vehicle_type, 0, "cold stop on a plain van");
            }
        }
    }
    let rep = check(&p, &sol);
    assert!(rep.is_feasible(), "{rep:?}");
    // The checker catches a skill violation.
    let mut bad = sol.clone();
    for r in bad.routes.iter_mut() {
        r.vehicle_type = 1;
    }
    assert!(
        check(&p, &bad)
            .violations
            .iter()
            .any(|v| matches!(v, Violation::Skill { .. }))
    );
}

#[test]
fn multi_depot_and_start_anywhere() {
    // Two clusters far apart, one depot near each; one vehicle per depot.
    // The second depot models a vehicle's current position at time 50.
    let mut b = ProblemBuilder::new(1);
    let mut d0 = Depot::new("west");
    d0.coords = Some((0.0, 0.0));
    b.add_depot(d0);
    let mut d1 = Depot::new("truck-7 now");
    d1.coords = Some((1000.0, 0.0));
    d1.time_window = (50, 10_000_000);
    b.add_depot(d1);
    for k in 0..4 {
        let mut s = Stop::new(format!("w{k}"), vec![1]);
        s.coords = Some((k as f64 * 3.0 + 1.0, 2.0));
        b.add_stop(s);
        let mut s = Stop::new(format!("e{k}"), vec![1]);
        s.coords = Some((1000.0 + k as f64 * 3.0 + 1.0, 2.0));
        b.add_stop(s);
    }
    b.add_vehicle_type(VehicleType::new("west-van", 1, vec![4]));
    let mut vt = VehicleType::new("truck-7", 1, vec![4]);
    vt.start_depot = 1;
    vt.end_depot = 0; // goes home after the re-planned stops
    b.add_vehicle_type(vt);
    b.euclidean(1, EuclideanRounding::Round);
    let p = b.build().unwrap();
    let sol = solve(&p, &params(200, 5));
    assert!(sol.feasible);
    for r in &sol.routes {
        for v in &r.visits {
            let east = p.stops()[v.stop].name.starts_with('e');
            assert_eq!(east, r.vehicle_type == 1);
        }
        if r.vehicle_type == 1 {
            assert!(r.start_time >= 50);
        }
    }
    assert!(check(&p, &sol).is_feasible());
}

#[test]
fn optional_stops_dropped_when_prize_too_small() {
    let mut b = ProblemBuilder::new(1);
    let mut d = Depot::new("d");
    d.coords = Some((0.0, 0.0));
    b.add_depot(d);
    let mut near = Stop::new("near", vec![1]);
    near.coords = Some((10.0, 0.0));
    b.add_stop(near);
    let mut far_cheap = Stop::new("far-cheap", vec![1]);
    far_cheap.coords = Some((10.0, 100.0));
    far_cheap.required = false;
    far_cheap.prize = 50; // detour ≈ 2 × 100 → not worth it
    b.add_stop(far_cheap);
    let mut near_opt = Stop::new("near-optional", vec![1]);
    near_opt.coords = Some((11.0, 0.0));
    near_opt.required = false;
    near_opt.prize = 50; // detour ≈ 2 → worth it
    b.add_stop(near_opt);
    b.add_vehicle_type(VehicleType::new("v", 1, vec![10]));
    let p = b.build().unwrap();
    let sol = solve(&p, &params(100, 1));
    assert!(sol.feasible);
    assert_eq!(
        sol.unserved,
        vec![Unserved {
            stop: 1,
            reason: UnservedReason::NotWorthPrize
        }]
    );
    assert_eq!(sol.cost, 22 + 50);
    let rep = check(&p, &sol);
    assert!(rep.is_feasible());
    assert_eq!(rep.cost, sol.cost);
}

#[test]
fn time_windows_and_checker_violations() {
    let inst = parse_instance(SOLOMON_MINI).unwrap();
    let p = &inst.problem;
    let sol = solve(p, &params(100, 1));
    assert!(check(p, &sol).is_feasible());
    // Missing and duplicate stops.
    let mut bad = sol.clone();
    let moved = bad.routes[0].visits[0].clone();
    bad.routes[1].visits.push(moved);
    let rep = check(p, &bad);
    assert!(
        rep.violations
            .iter()
            .any(|v| matches!(v, Violation::Duplicate { .. }))
    );
    assert!(
        rep.violations
            .iter()
            .any(|v| matches!(v, Violation::DistanceMismatch { .. }))
    );
    assert!(
        rep.violations
            .iter()
            .any(|v| matches!(v, Violation::Capacity { .. }))
    );
    let mut bad = sol.clone();
    bad.routes[0].visits.pop();
    assert!(
        check(p, &bad)
            .violations
            .iter()
            .any(|v| matches!(v, Violation::MissingRequired { .. }))
    );
    // Lateness and late return with a tight window.
    let tight = SOLOMON_MINI.replace(
        "    3      0          10        10          0       1000         5",
        "    3      0          10        10          0       15         5",
    );
    let inst2 = parse_instance(&tight).unwrap();
    let sol2 = solve(&inst2.problem, &params(100, 1));
    assert!(sol2.feasible, "{sol2:?}");
    assert!(check(&inst2.problem, &sol2).is_feasible());
    // Stop 2 (index 2 = customer 3) can only be first on its route.
    let mut bad = sol2.clone();
    for r in bad.routes.iter_mut() {
        r.visits.reverse();
    }
    let rep = check(&inst2.problem, &bad);
    assert!(
        rep.violations
            .iter()
            .any(|v| matches!(v, Violation::Late { .. })),
        "{rep:?}"
    );
    let mut bad = sol2.clone();
    bad.routes[0].start_time = 20_000;
    let rep = check(&inst2.problem, &bad);
    assert!(
        rep.violations
            .iter()
            .any(|v| matches!(v, Violation::BadStart { .. }))
    );
    // Fleet exceeded.
    let mut bad = sol2.clone();
    let r = bad.routes[0].clone();
    bad.routes.extend([r.clone(), r]);
    assert!(
        check(&inst2.problem, &bad)
            .violations
            .iter()
            .any(|v| matches!(v, Violation::FleetExceeded { .. }))
    );
}

#[test]
fn max_duration_and_shift_checked() {
    let mut b = simple(&[(10.0, 0.0), (0.0, 10.0)], &[1, 1], 10, 2);
    let mut vt = VehicleType::new("short", 2, vec![10]);
    vt.max_duration = Some(250);
    b.add_vehicle_type(vt);
    let p = {
        // Only the "short" type: rebuild with the first type unavailable.
        let mut b2 = b.clone();
        let _ = &mut b2;
        b.build().unwrap()
    };
    let sol = solve(&p, &params(100, 1));
    assert!(sol.feasible);
    assert!(check(&p, &sol).is_feasible());
    let mut bad = sol.clone();
    // Merge into one route on the short vehicle: 100 + 141 + 100 = 341 > 250.
    let all: Vec<Visit> = bad.routes.iter().flat_map(|r| r.visits.clone()).collect();
    bad.routes = vec![Route {
        vehicle_type: 1,
        visits: all,
        distance: 341,
        duration: 341,
        start_time: 0,
        end_time: 341,
        start_load: vec![2],
        time_warp: 0,
    }];
    let rep = check(&p, &bad);
    assert!(
        rep.violations
            .iter()
            .any(|v| matches!(v, Violation::MaxDuration { .. })),
        "{rep:?}"
    );
}

#[test]
fn bad_inputs_give_errors() {
    // Empty fleet.
    let b = simple(&[(1.0, 1.0)], &[1], 10, 0);
    assert_eq!(b.build().unwrap_err(), ProblemError::EmptyFleet);
    // Demand above every capacity.
    let b = simple(&[(1.0, 1.0), (2.0, 2.0)], &[1, 11], 10, 2);
    match b.build().unwrap_err() {
        ProblemError::ImpossibleStop { stop, reason } => {
            assert_eq!(stop, "s1");
            assert!(reason.contains("exceeds capacity"));
        }
        e => panic!("{e}"),
    }
    // Time window start > end.
    let mut b = simple(&[(1.0, 1.0)], &[1], 10, 1);
    let mut s = Stop::new("tw", vec![1]);
    s.coords = Some((0.0, 1.0));
    s.time_window = (10, 5);
    b.add_stop(s);
    assert!(
        matches!(b.build().unwrap_err(), ProblemError::TimeWindow { entity, .. } if entity.contains("tw"))
    );
    // Unreachable time window.
    let mut b = simple(&[(100.0, 0.0)], &[1], 10, 1);
    let mut s = Stop::new("early", vec![1]);
    s.coords = Some((100.0, 0.0));
    s.time_window = (0, 5);
    b.add_stop(s);
    assert!(
        matches!(b.build().unwrap_err(), ProblemError::ImpossibleStop { stop, .. } if stop == "early")
    );
    // Skill nobody has.
    let mut b = simple(&[(1.0, 1.0)], &[1], 10, 1);
    let mut s = Stop::new("frozen", vec![1]);
    s.coords = Some((0.0, 1.0));
    s.skills = vec!["cold-chain".into()];
    b.add_stop(s);
    assert!(
        matches!(b.build().unwrap_err(), ProblemError::UnknownSkill { stop, .. } if stop == "frozen")
    );
    // Missing coordinates and no matrix.
    let mut b = simple(&[(1.0, 1.0)], &[1], 10, 1);
    b.add_stop(Stop::new("nowhere", vec![1]));
    assert!(
        matches!(b.build().unwrap_err(), ProblemError::MissingCoordinates { entity } if entity.contains("nowhere"))
    );
    // Bad matrix size.
    let mut b = simple(&[(1.0, 1.0)], &[1], 10, 1);
    b.distance_matrix(Matrix::from_fn(3, |_, _| 1));
    assert!(matches!(
        b.build().unwrap_err(),
        ProblemError::MatrixSize { .. }
    ));
    assert!(Matrix::new(2, vec![1, 2, 3]).is_err());
    // Wrong number of dimensions.
    let b = simple(&[(1.0, 1.0)], &[1], 10, 1);
    let mut b2 = b.clone();
    b2.add_stop(Stop::new("2d", vec![1, 2]));
    assert!(matches!(
        b2.build().unwrap_err(),
        ProblemError::Dimensions { .. }
    ));
    // Unknown depot.
    let mut b = simple(&[(1.0, 1.0)], &[1], 10, 1);
    let mut vt = VehicleType::new("lost", 1, vec![10]);
    vt.start_depot = 3;
    b.add_vehicle_type(vt);
    assert!(matches!(
        b.build().unwrap_err(),
        ProblemError::UnknownDepot { .. }
    ));
    // No depot.
    let mut b = ProblemBuilder::new(1);
    b.add_vehicle_type(VehicleType::new("v", 1, vec![1]));
    assert_eq!(b.build().unwrap_err(), ProblemError::NoDepot);
}

#[test]
fn infeasible_fleet_reported_not_hanging() {
    // 4 stops of demand 10, one vehicle of capacity 20: cannot serve all.
    let p = simple(
        &[(1.0, 0.0), (2.0, 0.0), (3.0, 0.0), (4.0, 0.0)],
        &[10, 10, 10, 10],
        20,
        1,
    )
    .build()
    .unwrap();
    let sol = solve(&p, &params(50, 1));
    assert!(!sol.feasible);
    assert!(!check(&p, &sol).is_feasible());
}
