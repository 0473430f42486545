//! The routing commands as outside tools call them: `bazaar solve` and `bazaar plan`.

use std::process::Command;

fn bazaar(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bazaar"))
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("run bazaar");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn sample(name: &str) -> String {
    format!("{}/bench/vrp/instances/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn solve_prints_a_vrplib_solution_covering_every_customer() {
    let path = sample("C101.txt");
    let (ok, out, err) = bazaar(&["solve", &path, "--time-limit", "2", "--seed", "3"]);
    assert!(ok, "{err}");
    let mut seen = [false; 101];
    for line in out.lines().filter(|l| l.starts_with("Route #")) {
        for c in line.split(':').nth(1).unwrap_or("").split_whitespace() {
            let c: usize = c.parse().expect("customer number");
            assert!(!seen[c], "customer {c} twice");
            seen[c] = true;
        }
    }
    assert!(seen[1..].iter().all(|s| *s), "every customer once");
    let cost: f64 = out
        .lines()
        .find_map(|l| l.strip_prefix("Cost "))
        .and_then(|c| c.trim().parse().ok())
        .expect("Cost line");
    // C101's best known is 827.3 (DIMACS one-decimal convention).
    assert!((827.3..900.0).contains(&cost), "{cost}");
}

#[test]
fn solve_and_plan_name_what_is_wrong_in_bad_input() {
    let dir = std::env::temp_dir().join(format!("bazaar-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let bad = dir.join("bad.vrp");
    std::fs::write(
        &bad,
        "NAME : x\nTYPE : CVRP\nDIMENSION : 3\nEDGE_WEIGHT_TYPE : EUC_2D\nCAPACITY : 10\nNODE_COORD_SECTION\n1 0 0\n2 oops 1\n",
    )
    .expect("write");
    let (ok, _, err) = bazaar(&["solve", bad.to_str().unwrap_or(""), "--time-limit", "1"]);
    assert!(!ok);
    assert!(err.contains("line 8"), "{err}");
    let day = dir.join("day.json");
    std::fs::write(
        &day,
        r#"{"depots": [{"id": "DC-1", "lat": 29.99, "lng": 100.27, "vehicles": [{"id": "V1", "capacity_kg": 500, "capacity_m3": 4}]}],
           "stops": [{"id": "VP-1", "lat": 30.01, "lng": 100.30, "deliver_kg": 20},
                     {"id": "VP-2", "deliver_kg": 10}]}"#,
    )
    .expect("write");
    let (ok, _, err) = bazaar(&["plan", day.to_str().unwrap_or(""), "--time-limit", "1"]);
    assert!(!ok);
    assert!(
        err.contains("VP-2") && err.contains("no coordinates"),
        "{err}"
    );
    std::fs::write(&day, "{\"depots\": [}").expect("write");
    let (ok, _, err) = bazaar(&["plan", day.to_str().unwrap_or(""), "--time-limit", "1"]);
    assert!(!ok);
    assert!(err.contains("line 1"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn plan_makes_routes_for_a_county_day() {
    let dir = std::env::temp_dir().join(format!("bazaar-plan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let day = dir.join("day.json");
    std::fs::write(
        &day,
        r#"{"depots": [{"id": "DC-513334", "name": "理塘县仓储物流配送中心", "lat": 29.99, "lng": 100.27,
             "vehicles": [{"id": "川V-冷1", "capacity_kg": 400, "capacity_m3": 3, "cold_chain": true},
                          {"id": "川V-A2", "capacity_kg": 800, "capacity_m3": 6}]}],
           "stops": [{"id": "VP-1", "name": "禾尼乡", "lat": 30.05, "lng": 100.35, "deliver_kg": 60, "pickup_kg": 30},
                     {"id": "VP-2", "lat": 29.90, "lng": 100.20, "deliver_kg": 40, "cold_kg": 10, "closes": "11:00"},
                     {"id": "VP-3", "lat": 30.10, "lng": 100.10, "deliver_kg": 90}]}"#,
    )
    .expect("write");
    let (ok, out, err) = bazaar(&[
        "plan",
        day.to_str().unwrap_or(""),
        "--time-limit",
        "1",
        "--json",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["served"], 3, "{v}");
    assert_eq!(v["feasible"], true);
    let (ok, out, _) = bazaar(&["plan", day.to_str().unwrap_or(""), "--time-limit", "1"]);
    assert!(ok && out.contains("3 stops served"), "{out}");
    let (ok, out, _) = bazaar(&["plan", "--generate-prefecture", "1"]);
    assert!(ok);
    let g: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(g["stops"].as_array().map(Vec::len), Some(291 + 1166));
    let _ = std::fs::remove_dir_all(&dir);
}
