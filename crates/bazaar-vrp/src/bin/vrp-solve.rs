//! `vrp-solve INSTANCE --time-limit SECONDS [--seed N] [--max-iterations N]`:
//! solves a Solomon or VRPLIB instance and prints the `.sol` layout.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use bazaar_vrp::{SolveParams, check, read_instance, solve, write_sol};

fn usage() -> ExitCode {
    eprintln!(
        "usage: vrp-solve INSTANCE --time-limit SECONDS [--seed N] [--max-iterations N] [--stats]"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut path = None;
    let mut time_limit = 10.0f64;
    let mut seed = 1u64;
    let mut max_iterations = None;
    let mut stats = false;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        let val = args.get(i + 1);
        match a {
            "--time-limit" | "--seed" | "--max-iterations" => {
                let Some(v) = val else { return usage() };
                let ok = match a {
                    "--time-limit" => v.parse().map(|x| time_limit = x).is_ok(),
                    "--seed" => v.parse().map(|x| seed = x).is_ok(),
                    _ => v.parse().map(|x| max_iterations = Some(x)).is_ok(),
                };
                if !ok {
                    eprintln!("invalid value for {a}: {v}");
                    return usage();
                }
                i += 2;
            }
            "--stats" => {
                stats = true;
                i += 1;
            }
            _ if a.starts_with('-') => return usage(),
            _ => {
                path = Some(a.to_string());
                i += 1;
            }
        }
    }
    let Some(path) = path else { return usage() };
    if !(time_limit.is_finite() && time_limit >= 0.0) {
        eprintln!("--time-limit must be a non-negative number of seconds");
        return usage();
    }
    let inst = match read_instance(&path) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let t0 = Instant::now();
    let sol = solve(
        &inst.problem,
        &SolveParams {
            time_limit: Duration::from_secs_f64(time_limit),
            seed,
            max_iterations,
        },
    );
    print!("{}", write_sol(&inst, &sol));
    if stats {
        let rep = check(&inst.problem, &sol);
        eprintln!(
            "{}: cost {} routes {} feasible {} check_ok {} iterations {} time {:.2}s",
            inst.name,
            inst.format_cost(sol.cost),
            sol.routes.len(),
            sol.feasible,
            rep.is_feasible(),
            sol.iterations,
            t0.elapsed().as_secs_f64()
        );
        for v in rep.violations.iter().take(5) {
            eprintln!("  violation: {v}");
        }
    }
    ExitCode::SUCCESS
}
