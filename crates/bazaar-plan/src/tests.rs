use super::*;

fn vehicle(id: &str, kg: f64, m3: f64, cold: bool) -> VehicleInput {
    VehicleInput {
        id: id.into(),
        name: None,
        count: 1,
        capacity_kg: kg,
        capacity_m3: m3,
        cold_chain: cold,
        skills: vec![],
        fixed_cost_fen: 10_000,
        cost_per_km_fen: 150,
        shift_start: "07:00".into(),
        shift_end: "19:00".into(),
        start: None,
    }
}

fn stop(id: &str, lat: f64, lng: f64, deliver: f64, pickup: f64) -> StopInput {
    StopInput {
        id: id.into(),
        name: id.into(),
        lat: Some(lat),
        lng: Some(lng),
        deliver_kg: deliver,
        deliver_m3: deliver / 150.0,
        cold_kg: 0.0,
        cold_m3: 0.0,
        pickup_kg: pickup,
        pickup_m3: pickup / 150.0,
        opens: "08:00".into(),
        closes: "19:00".into(),
        service_minutes: 10.0,
    }
}

/// 理塘 county: a centre and sixteen points on a few valleys around it.
fn litang() -> DayInput {
    let mut stops = Vec::new();
    for i in 0..16 {
        let a = i as f64 * 0.39;
        let r = 0.08 + (i % 4) as f64 * 0.07;
        stops.push(stop(
            &format!("VP-{i:02}"),
            29.99 + r * a.cos(),
            100.27 + r * a.sin(),
            20.0 + (i * 7 % 60) as f64,
            (i * 5 % 30) as f64,
        ));
    }
    stops[3].cold_kg = 10.0;
    stops[3].cold_m3 = 0.05;
    stops[5].closes = "11:00".into();
    DayInput {
        depots: vec![DepotInput {
            id: "DC-513334".into(),
            name: "理塘县仓储物流配送中心".into(),
            lat: 29.99,
            lng: 100.27,
            opens: "06:30".into(),
            closes: "21:00".into(),
            vehicles: vec![
                vehicle("川V-冷1", 400.0, 3.0, true),
                vehicle("川V-A2", 500.0, 4.0, false),
                vehicle("川V-A3", 500.0, 4.0, false),
            ],
        }],
        stops,
    }
}

fn quick() -> PlanOptions {
    PlanOptions {
        time_limit: Duration::from_secs(5),
        seed: 7,
        max_iterations: Some(300),
    }
}

fn roads() -> Roads {
    Roads::Estimate(RoadModel::mountains())
}

fn hm(s: &str) -> i64 {
    minutes(s, "t").expect("time")
}

/// Checks a plan against its input, independently of the planner: every stop once (or
/// listed), hours kept, loads within capacity after every stop, cold goods on cold vehicles.
fn check(input: &DayInput, p: &DayPlan) {
    let mut seen = std::collections::BTreeMap::new();
    for r in &p.routes {
        let v = input
            .depots
            .iter()
            .flat_map(|d| d.vehicles.iter())
            .find(|v| r.vehicle == v.id || r.vehicle.starts_with(&format!("{}-", v.id)))
            .expect("vehicle");
        assert!(r.start_load_kg <= v.capacity_kg + 1e-6, "{r:?}");
        for s in &r.stops {
            *seen.entry(s.id.clone()).or_insert(0) += 1;
            let i = input.stops.iter().find(|x| x.id == s.id).expect("stop");
            assert!(
                hm(&s.start) >= hm(&i.opens) && hm(&s.start) <= hm(&i.closes) + 1,
                "{s:?}"
            );
            assert!(s.load_kg <= v.capacity_kg + 1e-6 && s.load_m3 <= v.capacity_m3 + 1e-6);
            if i.cold_kg > 0.0 && s.deliver_kg >= i.cold_kg - 1e-6 {
                // The cold part rode here: only on a refrigerated vehicle.
                assert!(v.cold_chain, "cold goods of {} on {}", s.id, v.id);
            }
        }
        assert!(hm(&r.end) <= hm(&v.shift_end) + 1);
    }
    for s in &input.stops {
        let listed = p.unserved.iter().any(|u| u.id == s.id);
        let n = seen.get(&s.id).copied().unwrap_or(0);
        // A cold stop may be visited twice (cold part, ambient part) by two vehicles.
        assert!(listed || n >= 1, "{} neither served nor listed", s.id);
        if s.cold_kg == 0.0 {
            assert!(n <= 1, "{} served {n} times", s.id);
        }
    }
}

#[test]
fn a_county_day_is_planned_within_hours_loads_and_the_cold_chain() {
    let input = litang();
    let p = plan(&input, &roads(), &quick()).expect("plan");
    assert!(p.unserved.is_empty(), "{:?}", p.unserved);
    assert!(p.feasible);
    check(&input, &p);
    // The morning-only point is served by 11:00.
    let s5 = p
        .routes
        .iter()
        .flat_map(|r| r.stops.iter())
        .find(|s| s.id == "VP-05")
        .expect("VP-05 served");
    assert!(hm(&s5.start) <= hm("11:00"));
    // Same seed, same iterations: the same plan.
    let again = plan(&input, &roads(), &quick()).expect("plan");
    assert_eq!(
        serde_json::to_value(&p.routes).expect("json"),
        serde_json::to_value(&again.routes).expect("json")
    );
}

#[test]
fn impossible_stops_are_listed_with_the_reason_and_bad_input_is_named() {
    let mut input = litang();
    input.stops[0].deliver_kg = 5_000.0; // larger than any vehicle
    input.stops[1].opens = "08:00".into();
    input.stops[1].closes = "08:05".into();
    input.stops[1].lat = Some(31.5); // 170 km away, closes five minutes after opening
    input.stops[2].cold_kg = 450.0; // more cold goods than the refrigerated van takes
    input.stops[2].deliver_kg = 450.0;
    let p = plan(&input, &roads(), &quick()).expect("plan");
    let why = |id: &str| p.unserved.iter().find(|u| u.id == id).map(|u| u.reason);
    assert_eq!(why("VP-00"), Some(UnservedWhy::LargerThanAnyVehicle));
    assert_eq!(why("VP-01"), Some(UnservedWhy::HoursCannotBeMet));
    assert_eq!(why("VP-02"), Some(UnservedWhy::LargerThanAnyVehicle));
    check(&input, &p);

    let mut no_coords = litang();
    no_coords.stops[4].lng = None;
    let e = plan(&no_coords, &roads(), &quick()).expect_err("no coordinates");
    assert!(e.to_string().contains("VP-04"), "{e}");
    let mut bad_time = litang();
    bad_time.stops[6].closes = "25:99".into();
    let e = plan(&bad_time, &roads(), &quick()).expect_err("bad time");
    assert!(
        e.to_string().contains("VP-06") && e.to_string().contains("25:99"),
        "{e}"
    );
    let mut empty = litang();
    empty.depots[0].vehicles.clear();
    assert_eq!(
        plan(&empty, &roads(), &quick()).expect_err("empty"),
        PlanError::EmptyFleet
    );
    // More demand than the fleet can carry today: the rest is listed, nothing panics.
    let mut heavy = litang();
    for s in &mut heavy.stops {
        s.deliver_kg = 300.0;
    }
    let p = plan(&heavy, &roads(), &quick()).expect("plan");
    assert!(
        p.unserved
            .iter()
            .any(|u| u.reason == UnservedWhy::NoRoomLeft)
    );
    check(&heavy, &p);
}

#[test]
fn after_a_breakdown_the_rest_of_the_day_is_replanned_from_where_vehicles_are() {
    let input = litang();
    let first = plan(&input, &roads(), &quick()).expect("plan");
    let broken = &first.routes[0];
    let other = &first.routes[1];
    // At 10:00: each vehicle has done its first stop.
    let done: Vec<String> = first
        .routes
        .iter()
        .filter_map(|r| r.stops.first().map(|s| s.id.clone()))
        .collect();
    let position = |r: &PlannedRoute| {
        let s = input
            .stops
            .iter()
            .find(|s| s.id == r.stops[0].id)
            .expect("stop");
        VehiclePosition {
            vehicle: r.vehicle.clone(),
            lat: s.lat.unwrap_or(0.0),
            lng: s.lng.unwrap_or(0.0),
            load_kg: r.stops[0].load_kg,
            load_m3: r.stops[0].load_m3,
            remaining: r.stops[1..].iter().map(|s| s.id.clone()).collect(),
        }
    };
    let state = DayState {
        now: "10:00".into(),
        finished: done.clone(),
        broken: vec![broken.vehicle.clone()],
        positions: first.routes.iter().map(position).collect(),
    };
    let started = std::time::Instant::now();
    let again = replan(&input, &state, &roads(), &quick()).expect("replan");
    assert!(started.elapsed() < Duration::from_secs(5));
    // Finished stops are not planned again; the broken vehicle has no route.
    for r in &again.routes {
        assert_ne!(r.vehicle, broken.vehicle);
        assert!(hm(&r.start) >= hm("10:00"), "{r:?}");
        for s in &r.stops {
            assert!(!done.contains(&s.id), "{} was finished", s.id);
        }
    }
    // The other vehicle's parcels are on board: its stops stay with it (or are listed).
    for s in &other.stops[1..] {
        let on = again
            .routes
            .iter()
            .find(|r| r.stops.iter().any(|x| x.id == s.id));
        if let Some(r) = on
            && input
                .stops
                .iter()
                .any(|x| x.id == s.id && x.deliver_kg > 0.0)
        {
            assert_eq!(
                r.vehicle, other.vehicle,
                "{} moved off the vehicle carrying it",
                s.id
            );
        }
    }
    // The broken vehicle's deliveries need a vehicle from the depot (their parcels go back
    // there): only a vehicle that has not left it may take them, or they are listed.
    for s in &broken.stops[1..] {
        for r in &again.routes {
            if r.stops.iter().any(|x| x.id == s.id && x.deliver_kg > 0.0) {
                assert_eq!(
                    r.depot, "DC-513334",
                    "{} given to {} on the road",
                    s.id, r.vehicle
                );
                assert!(
                    first.routes.iter().all(|f| f.vehicle != r.vehicle),
                    "{} had left the depot",
                    r.vehicle
                );
            }
        }
        let listed = again.unserved.iter().any(|u| u.id == s.id);
        let served = again
            .routes
            .iter()
            .any(|r| r.stops.iter().any(|x| x.id == s.id));
        assert!(listed || served, "{} lost", s.id);
    }
}

/// An OSRM `table` service in memory: distances 2,000 m and durations 90 s per great-circle
/// km between the places of each request's path, counting the requests.
#[derive(Debug, Default)]
struct FakeTable {
    served: std::sync::atomic::AtomicUsize,
    down: bool,
}

impl TableService for FakeTable {
    fn get(&self, path: &str) -> Result<String, String> {
        if self.down {
            return Err("127.0.0.1:9: connection refused".into());
        }
        self.served
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        // /table/v1/driving/<lng,lat;…>?sources=…&destinations=…&annotations=…
        let (coords, query) = path
            .trim_start_matches("/table/v1/driving/")
            .split_once('?')
            .unwrap_or(("", ""));
        let pts: Vec<(f64, f64)> = coords
            .split(';')
            .filter_map(|c| c.split_once(','))
            .map(|(lng, lat)| (lat.parse().unwrap_or(0.0), lng.parse().unwrap_or(0.0)))
            .collect();
        let idx = |k: &str| -> Vec<usize> {
            query
                .split('&')
                .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
                .unwrap_or("")
                .split(';')
                .filter_map(|x| x.parse().ok())
                .collect()
        };
        let (src, dst) = (idx("sources"), idx("destinations"));
        let m = |f: f64| -> Vec<Vec<f64>> {
            src.iter()
                .map(|i| {
                    dst.iter()
                        .map(|j| (roads::great_circle_km(pts[*i], pts[*j]) * f).round())
                        .collect()
                })
                .collect()
        };
        Ok(
            serde_json::json!({"code": "Ok", "distances": m(2000.0), "durations": m(90.0)})
                .to_string(),
        )
    }
}

#[test]
fn roads_come_from_an_osrm_table_service_when_configured() {
    let table = std::sync::Arc::new(FakeTable::default());
    let places: Vec<(f64, f64)> = (0..60)
        .map(|i| (29.9 + i as f64 * 0.01, 100.2 + (i % 7) as f64 * 0.02))
        .collect();
    let (d, t) = Roads::Osrm(table.clone())
        .matrices(&places)
        .expect("matrices");
    // 60 places in blocks of 50: four requests, every pair filled in.
    assert_eq!(table.served.load(std::sync::atomic::Ordering::SeqCst), 4);
    for (i, j) in [(0, 59), (59, 0), (10, 55), (55, 10), (3, 4)] {
        let km = roads::great_circle_km(places[i], places[j]);
        assert_eq!(d.get(i, j), (km * 2000.0).round() as i64);
        assert_eq!(t.get(i, j), (km * 90.0).round() as i64);
    }
    // A server that is not there: a clear error, no panic.
    let down = FakeTable {
        down: true,
        ..FakeTable::default()
    };
    let e = Roads::Osrm(std::sync::Arc::new(down))
        .matrices(&places[..3])
        .expect_err("no server");
    assert!(e.to_string().contains("road distances"), "{e}");
}

#[test]
fn the_prefecture_instance_is_reproducible_and_has_ganzi_s_figures() {
    let a = generate_prefecture(1);
    let b = generate_prefecture(1);
    let c = generate_prefecture(2);
    assert_eq!(a.depots.len(), 13);
    assert_eq!(
        a.depots.iter().map(|d| d.vehicles.len()).sum::<usize>(),
        197
    );
    assert_eq!(
        a.stops.iter().filter(|s| s.id.starts_with("TS-")).count(),
        291
    );
    assert_eq!(
        a.stops.iter().filter(|s| s.id.starts_with("VP-")).count(),
        1166
    );
    assert_eq!(
        serde_json::to_string(&a).expect("json"),
        serde_json::to_string(&b).expect("json")
    );
    assert_ne!(
        serde_json::to_string(&a).expect("json"),
        serde_json::to_string(&c).expect("json")
    );
    a.validate().expect("valid");
    let morning = a.stops.iter().filter(|s| s.closes == "12:00").count();
    assert!(
        (60..180).contains(&morning),
        "{morning} morning-only points"
    );
}

#[test]
fn estimated_roads_are_longer_and_slower_in_the_mountains() {
    let a = (29.99, 100.27);
    let b = (30.50, 100.27); // ~57 km north
    let (dp, tp) = RoadModel::plains().estimate(a, b);
    let (dm, tm) = RoadModel::mountains().estimate(a, b);
    let m = (roads::great_circle_km(a, b) * 1000.0).round() as i64;
    assert!((56_000..58_000).contains(&m), "{m}");
    assert!(dm > dp && tm > tp);
    assert_eq!(clock(tm), clock(tm)); // formatting is stable
    assert_eq!(clock(8 * 3600 + 29), "08:00");
    assert_eq!(clock(8 * 3600 + 31), "08:01");
}

#[test]
fn a_day_too_large_for_the_matrices_is_refused_before_any_is_built() {
    let mut input = litang();
    let stop = input.stops[0].clone();
    input.stops = (0..crate::model::MAX_STOPS + 1)
        .map(|i| {
            let mut s = stop.clone();
            s.id = format!("VP-{i}");
            s
        })
        .collect();
    match plan(&input, &roads(), &quick()) {
        Err(crate::PlanError::Field { field, code, .. }) => {
            assert_eq!((field, code), ("stops", "out_of_range"))
        }
        other => panic!("{:?}", other.map(|p| p.served)),
    }
}
