//! A Ganzi-like prefecture day, made reproducibly from a seed: 13 county distribution centres,
//! 197 vehicles, 291 township stations and 1,166 village points (the figures of
//! `DOMAIN.md`). Points lie along valleys running out from each centre, townships every so
//! many kilometres along a valley and villages up side valleys near them, so distances are
//! long and winding (the mountain road model, factor 1.7); about one village point in ten can
//! only be reached in the morning (08:00–12:00: afternoon rockfall closures, a ferry, a pass).

use crate::model::{DayInput, DepotInput, StopInput, VehicleInput};

/// The prefecture's centres: (name, latitude, longitude), spread over Ganzi's 150,000 km².
const CENTRES: [(&str, f64, f64); 13] = [
    ("康定", 30.05, 101.96),
    ("泸定", 29.91, 102.23),
    ("丹巴", 30.88, 101.89),
    ("九龙", 29.00, 101.51),
    ("雅江", 30.03, 101.01),
    ("道孚", 30.98, 101.12),
    ("炉霍", 31.39, 100.68),
    ("甘孜", 31.62, 99.99),
    ("新龙", 30.94, 100.31),
    ("德格", 31.81, 98.58),
    ("理塘", 29.99, 100.27),
    ("巴塘", 30.01, 99.11),
    ("稻城", 29.04, 100.30),
];

/// Township stations and village points in all.
const TOWNSHIPS: usize = 291;
const VILLAGES: usize = 1166;
const VEHICLES: usize = 197;

/// SplitMix64: small, fast, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [a, b).
    fn range(&mut self, a: f64, b: f64) -> f64 {
        a + (b - a) * ((self.next() >> 11) as f64 / (1u64 << 53) as f64)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Moves `km` from `p` along `bearing` (radians, 0 = north).
fn walk(p: (f64, f64), bearing: f64, km: f64) -> (f64, f64) {
    let dlat = km * bearing.cos() / 111.0;
    let dlng = km * bearing.sin() / (111.0 * p.0.to_radians().cos());
    (p.0 + dlat, p.1 + dlng)
}

fn round5(x: f64) -> f64 {
    (x * 100_000.0).round() / 100_000.0
}

/// The prefecture day for `seed`.
pub fn generate_prefecture(seed: u64) -> DayInput {
    let mut r = Rng(seed ^ 0x6761_6e7a_6900_0000);
    let mut depots: Vec<DepotInput> = CENTRES
        .iter()
        .enumerate()
        .map(|(i, (name, lat, lng))| DepotInput {
            id: format!("DC-{:02}", i + 1),
            name: format!("{name}县仓储物流配送中心"),
            lat: *lat,
            lng: *lng,
            opens: "06:30".into(),
            closes: "21:00".into(),
            vehicles: Vec::new(),
        })
        .collect();
    // Vehicles: 197 over 13 centres (15 each, two centres 16), each with one refrigerated van,
    // light trucks and vans.
    for k in 0..VEHICLES {
        let d = k % depots.len();
        let nth = depots[d].vehicles.len();
        let (cap_kg, cap_m3, cold) = match nth {
            0 => (800.0, 4.0, true),
            1..=4 => (3000.0, 15.0, false),
            _ => (1200.0, 7.0, false),
        };
        let id = format!("{}-V{:02}", depots[d].id, nth + 1);
        depots[d].vehicles.push(VehicleInput {
            id,
            name: None,
            count: 1,
            capacity_kg: cap_kg,
            capacity_m3: cap_m3,
            cold_chain: cold,
            skills: Vec::new(),
            fixed_cost_fen: 20_000,
            cost_per_km_fen: if cap_kg > 2000.0 { 250 } else { 150 },
            shift_start: "07:00".into(),
            shift_end: "19:30".into(),
            start: None,
        });
    }
    // Valleys: 3 to 5 per centre; townships along them; villages up side valleys.
    let mut valleys: Vec<((f64, f64), f64, f64)> = Vec::new();
    for c in CENTRES.iter() {
        let n = 3 + r.below(3);
        let turn = r.range(0.0, std::f64::consts::TAU);
        for v in 0..n {
            let bearing = turn + v as f64 * std::f64::consts::TAU / n as f64 + r.range(-0.3, 0.3);
            valleys.push(((c.1, c.2), bearing, r.range(40.0, 140.0)));
        }
    }
    let mut stops = Vec::with_capacity(TOWNSHIPS + VILLAGES);
    let mut townships = Vec::with_capacity(TOWNSHIPS);
    for t in 0..TOWNSHIPS {
        let (origin, bearing, length) = valleys[t % valleys.len()];
        // Valleys wind: the station sits a little off the straight line.
        let along = r.range(8.0, length);
        let p = walk(
            walk(origin, bearing, along),
            bearing + 1.57,
            r.range(-4.0, 4.0),
        );
        townships.push(p);
        let kg = r.range(60.0, 420.0).round();
        stops.push(StopInput {
            id: format!("TS-{:03}", t + 1),
            name: format!("乡镇服务站 {}", t + 1),
            lat: Some(round5(p.0)),
            lng: Some(round5(p.1)),
            deliver_kg: kg,
            deliver_m3: (kg / 160.0 * 10.0).round() / 10.0,
            cold_kg: if r.below(8) == 0 {
                (kg * 0.15).round()
            } else {
                0.0
            },
            cold_m3: 0.0,
            pickup_kg: r.range(10.0, 160.0).round(),
            pickup_m3: 0.0,
            opens: "08:30".into(),
            closes: "18:30".into(),
            service_minutes: 15.0,
        });
    }
    for v in 0..VILLAGES {
        let t = r.below(TOWNSHIPS);
        let base = townships[t];
        let p = walk(
            base,
            r.range(0.0, std::f64::consts::TAU),
            r.range(2.0, 14.0),
        );
        let kg = r.range(4.0, 70.0).round();
        let morning_only = r.below(10) == 0;
        let pickup = if r.below(3) == 0 {
            r.range(5.0, 60.0).round()
        } else {
            0.0
        };
        stops.push(StopInput {
            id: format!("VP-{:04}", v + 1),
            name: format!("村级服务点 {}", v + 1),
            lat: Some(round5(p.0)),
            lng: Some(round5(p.1)),
            deliver_kg: kg,
            deliver_m3: (kg / 150.0 * 100.0).round() / 100.0,
            cold_kg: if r.below(12) == 0 {
                (kg * 0.3).round()
            } else {
                0.0
            },
            cold_m3: 0.0,
            pickup_kg: pickup,
            pickup_m3: (pickup / 180.0 * 100.0).round() / 100.0,
            opens: "08:00".into(),
            closes: if morning_only { "12:00" } else { "19:00" }.into(),
            service_minutes: 8.0,
        });
    }
    // Volumes of the cold parts follow their weights.
    for s in &mut stops {
        if s.cold_kg > 0.0 && s.deliver_kg > 0.0 {
            s.cold_m3 = ((s.deliver_m3 * s.cold_kg / s.deliver_kg) * 100.0).round() / 100.0;
        }
    }
    DayInput { depots, stops }
}
