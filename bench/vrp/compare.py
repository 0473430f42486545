#!/usr/bin/env python3
"""Side-by-side VRP quality benchmark: bazaar-vrp vs PyVRP, OR-Tools, VROOM.

Every solver gets the same instances, the same integer matrices/conventions
and the same wall-clock limit, and runs alone (one at a time, one thread).
Each returned solution is re-checked here, independently of every solver:
each customer exactly once, capacity per route, time windows (Solomon),
fleet size, and the distance recomputed under the instance's convention:

- Solomon (`dimacs_trunc1`): arc = floor(10 * euclid) / 10; travel time = arc;
  objective = total distance; fleet = NUMBER in the file.
- X (`round_int`): arc = round(euclid); objective = distance; vehicles unlimited.

Usage: compare.py [--time-limit S] [--solvers ours,pyvrp,ortools,vroom]
                  [--instances C101,X-n101-k25] [--data DIR] [--seed N]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
DEFAULT_DATA = os.environ.get("VRP_BENCH_DATA", os.path.join(ROOT, "bench", "vrp", "instances"))
SOLOMON = ["C101", "C201", "R101", "R201", "RC101", "RC201"]
XSET = ["X-n101-k25", "X-n200-k36", "X-n303-k21", "X-n502-k39"]
OURS = os.environ.get(
    "VRP_SOLVE_BIN", os.path.join(os.environ.get("CARGO_TARGET_DIR", "/tmp/vrp-target"), "release", "vrp-solve")
)


# ---------------------------------------------------------------- instances


class Inst:
    def __init__(self, name, family, coords, demand, cap, fleet, tw, service):
        self.name, self.family = name, family
        self.coords, self.demand, self.cap, self.fleet = coords, demand, cap, fleet
        self.tw, self.service = tw, service  # scaled like the matrix; None for CVRP
        n = len(coords)
        self.n = n
        self.scale = 10 if family == "solomon" else 1
        self.dist = [[0] * n for _ in range(n)]
        for i in range(n):
            xi, yi = coords[i]
            for j in range(n):
                d = math.hypot(xi - coords[j][0], yi - coords[j][1])
                if family == "solomon":
                    self.dist[i][j] = int(math.floor(10 * d + 1e-9))
                else:
                    self.dist[i][j] = int(math.floor(d + 0.5))

    def path(self, data_dir):
        return os.path.join(data_dir, self.name + (".txt" if self.family == "solomon" else ".vrp"))


def read_solomon(path, name):
    lines = [l.strip() for l in open(path)]
    vi = lines.index("VEHICLE")
    nums = [l for l in lines[vi + 1 :] if l and l[0].isdigit()]
    fleet, cap = map(int, nums[0].split())
    ci = lines.index("CUSTOMER")
    rows = [list(map(float, l.split())) for l in lines[ci + 1 :] if l and l[0].isdigit()]
    coords = [(r[1], r[2]) for r in rows]
    demand = [int(r[3]) for r in rows]
    tw = [(int(round(10 * r[4])), int(round(10 * r[5]))) for r in rows]
    service = [int(round(10 * r[6])) for r in rows]
    return Inst(name, "solomon", coords, demand, cap, fleet, tw, service)


def read_vrplib(path, name):
    lines = [l.strip() for l in open(path)]
    n = cap = None
    coords, demand = {}, {}
    section = None
    for l in lines:
        if not l or l == "EOF":
            continue
        if ":" in l:
            k, v = [x.strip() for x in l.split(":", 1)]
            if k == "DIMENSION":
                n = int(v)
            elif k == "CAPACITY":
                cap = int(v)
            section = None
            continue
        if l.endswith("SECTION"):
            section = l.split()[0]
            continue
        parts = l.split()
        if section == "NODE_COORD_SECTION":
            coords[int(parts[0])] = (float(parts[1]), float(parts[2]))
        elif section == "DEMAND_SECTION":
            demand[int(parts[0])] = int(parts[1])
    ids = sorted(coords)
    return Inst(
        name,
        "x",
        [coords[i] for i in ids],
        [demand[i] for i in ids],
        cap,
        n - 1,
        None,
        None,
    )


def load(name, data_dir):
    if name in SOLOMON or os.path.exists(os.path.join(data_dir, name + ".txt")):
        return read_solomon(os.path.join(data_dir, name + ".txt"), name)
    return read_vrplib(os.path.join(data_dir, name + ".vrp"), name)


# ---------------------------------------------------------------- checker


def check(inst: Inst, routes):
    """Returns (feasible, distance (real units), vehicles, problems)."""
    problems = []
    seen = [0] * inst.n
    total = 0
    for r in routes:
        if not r:
            continue
        load_ = 0
        t = 0
        prev = 0
        for c in r:
            if not (1 <= c < inst.n):
                problems.append(f"bad customer {c}")
                continue
            seen[c] += 1
            load_ += inst.demand[c]
            total += inst.dist[prev][c]
            if inst.tw is not None:
                t += inst.dist[prev][c]
                if t > inst.tw[c][1]:
                    problems.append(f"late at {c}: {t} > {inst.tw[c][1]}")
                t = max(t, inst.tw[c][0]) + inst.service[c]
            prev = c
        total += inst.dist[prev][0]
        if inst.tw is not None:
            t += inst.dist[prev][0]
            if t > inst.tw[0][1]:
                problems.append(f"late return {t} > {inst.tw[0][1]}")
        if load_ > inst.cap:
            problems.append(f"load {load_} > {inst.cap}")
    for c in range(1, inst.n):
        if seen[c] != 1:
            problems.append(f"customer {c} visited {seen[c]} times")
    nveh = sum(1 for r in routes if r)
    if nveh > inst.fleet:
        problems.append(f"{nveh} vehicles > fleet {inst.fleet}")
    return (not problems, total / inst.scale, nveh, problems)


# ---------------------------------------------------------------- solvers


def run_ours(inst, data_dir, tl, seed):
    out = subprocess.run(
        [OURS, inst.path(data_dir), "--time-limit", str(tl), "--seed", str(seed)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    routes = []
    for line in out.splitlines():
        if line.startswith("Route"):
            routes.append([int(x) for x in line.split(":", 1)[1].split()])
    return routes


def run_pyvrp(inst, data_dir, tl, seed):
    # Built from the same integer matrix as every other solver.
    from pyvrp import Model
    from pyvrp.stop import MaxRuntime

    m = Model()
    locs = [m.add_location(x=inst.coords[i][0], y=inst.coords[i][1]) for i in range(inst.n)]
    if inst.tw is not None:
        depot = m.add_depot(locs[0], tw_early=inst.tw[0][0], tw_late=inst.tw[0][1])
        m.add_vehicle_type(num_available=inst.fleet, capacity=inst.cap, tw_early=inst.tw[0][0], tw_late=inst.tw[0][1])
    else:
        depot = m.add_depot(locs[0])
        m.add_vehicle_type(num_available=inst.fleet, capacity=inst.cap)
    del depot
    for c in range(1, inst.n):
        if inst.tw is not None:
            m.add_client(
                locs[c], delivery=inst.demand[c], service_duration=inst.service[c],
                tw_early=inst.tw[c][0], tw_late=inst.tw[c][1], name=str(c),
            )
        else:
            m.add_client(locs[c], delivery=inst.demand[c], name=str(c))
    for i, a in enumerate(locs):
        row = inst.dist[i]
        for j, b in enumerate(locs):
            if i != j:
                m.add_edge(a, b, distance=row[j], duration=row[j])
    res = m.solve(stop=MaxRuntime(tl), seed=seed, display=False)
    # Map visited clients back to customer numbers through their names.
    data = m.data()
    clients = data.clients()
    return [[int(clients[a.idx].name) for a in r.schedule() if a.is_client()] for r in res.best.routes()]


def fleet_bound(inst):
    if inst.family == "solomon":
        return inst.fleet
    lb = math.ceil(sum(inst.demand) / inst.cap)
    return min(inst.n - 1, lb + max(3, lb // 5))


def run_ortools(inst, data_dir, tl, seed):
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    nveh = fleet_bound(inst)
    mgr = pywrapcp.RoutingIndexManager(inst.n, nveh, 0)
    routing = pywrapcp.RoutingModel(mgr)
    dist = inst.dist

    def dcb(i, j):
        return dist[mgr.IndexToNode(i)][mgr.IndexToNode(j)]

    cb = routing.RegisterTransitCallback(dcb)
    routing.SetArcCostEvaluatorOfAllVehicles(cb)
    dem = routing.RegisterUnaryTransitCallback(lambda i: inst.demand[mgr.IndexToNode(i)])
    routing.AddDimensionWithVehicleCapacity(dem, 0, [inst.cap] * nveh, True, "load")
    if inst.tw is not None:
        def tcb(i, j):
            a = mgr.IndexToNode(i)
            return inst.service[a] + dist[a][mgr.IndexToNode(j)]

        tc = routing.RegisterTransitCallback(tcb)
        horizon = inst.tw[0][1]
        routing.AddDimension(tc, horizon, horizon, False, "time")
        td = routing.GetDimensionOrDie("time")
        for c in range(1, inst.n):
            td.CumulVar(mgr.NodeToIndex(c)).SetRange(inst.tw[c][0], inst.tw[c][1])
        for v in range(nveh):
            td.CumulVar(routing.Start(v)).SetRange(inst.tw[0][0], inst.tw[0][1])
            td.CumulVar(routing.End(v)).SetRange(inst.tw[0][0], inst.tw[0][1])
    p = pywrapcp.DefaultRoutingSearchParameters()
    p.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    p.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    p.time_limit.FromMilliseconds(int(tl * 1000))
    sol = routing.SolveWithParameters(p)
    if sol is None:
        return None
    routes = []
    for v in range(nveh):
        i = routing.Start(v)
        r = []
        i = sol.Value(routing.NextVar(i))
        while not routing.IsEnd(i):
            r.append(mgr.IndexToNode(i))
            i = sol.Value(routing.NextVar(i))
        if r:
            routes.append(r)
    return routes


def run_vroom(inst, data_dir, tl, seed):
    import datetime as dt

    import vroom

    nveh = fleet_bound(inst)
    pi = vroom.Input()
    pi.set_durations_matrix(profile="car", matrix_input=inst.dist)
    horizon = inst.tw[0] if inst.tw is not None else None
    for v in range(nveh):
        kw = {}
        if horizon is not None:
            kw["time_window"] = vroom.TimeWindow(*horizon)
        pi.add_vehicle(vroom.Vehicle(v + 1, start=0, end=0, capacity=[inst.cap], **kw))
    for c in range(1, inst.n):
        kw = {}
        if inst.tw is not None:
            kw["time_windows"] = [vroom.TimeWindow(*inst.tw[c])]
            kw["default_service"] = inst.service[c]
        pi.add_job(vroom.Job(c, location=c, delivery=vroom.Amount([inst.demand[c]]), **kw))
    sol = pi.solve(exploration_level=5, nb_threads=1, timeout=dt.timedelta(seconds=tl))
    df = sol.routes
    routes = []
    for _, g in df.groupby("vehicle_id", sort=True):
        r = [int(x) for x, t in zip(g["id"], g["type"]) if t == "job"]
        if r:
            routes.append(r)
    return routes


SOLVERS = {"ours": run_ours, "pyvrp": run_pyvrp, "ortools": run_ortools, "vroom": run_vroom}


# ---------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--time-limit", type=float, default=10.0)
    ap.add_argument("--solvers", default="ours,pyvrp,ortools,vroom")
    ap.add_argument("--instances", default=",".join(SOLOMON + XSET))
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    a = ap.parse_args()
    bks = json.load(open(os.path.join(a.data, "bks.json")))
    solvers = [s for s in a.solvers.split(",") if s]
    names = [s for s in a.instances.split(",") if s]
    results = {}
    for name in names:
        inst = load(name, a.data)
        for s in solvers:
            t0 = time.time()
            try:
                routes = SOLVERS[s](inst, a.data, a.time_limit, a.seed)
                err = None
            except Exception as e:  # a crashed solver counts as infeasible
                routes, err = None, f"{type(e).__name__}: {e}"
            wall = time.time() - t0
            if routes is None:
                feas, dist, nveh, probs = False, float("nan"), 0, [err or "no solution"]
            else:
                feas, dist, nveh, probs = check(inst, routes)
            gap = 100.0 * (dist - bks[name]["dist"]) / bks[name]["dist"] if routes is not None else float("nan")
            results[(name, s)] = dict(feasible=feas, dist=dist, vehicles=nveh, gap=gap, wall=wall, problems=probs[:3])
            print(
                f"{name:12s} {s:8s} veh {nveh:3d} dist {dist:10.1f} feasible {str(feas):5s} gap {gap:6.2f}% wall {wall:5.1f}s"
                + (f"  {probs[:2]}" if probs else ""),
                file=sys.stderr,
                flush=True,
            )
    # Table.
    hdr = f"| instance | BKS |" + "".join(f" {s} veh | {s} dist | {s} feas | {s} gap % |" for s in solvers)
    print(f"\nTime limit {a.time_limit:g} s per instance, seed {a.seed}, one solver at a time, "
          f"{datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}, {os.cpu_count()} cores\n")
    print(hdr)
    print("|---|---|" + "---|---|---|---|" * len(solvers))
    for name in names:
        row = f"| {name} | {bks[name]['dist']:g} |"
        for s in solvers:
            r = results[(name, s)]
            row += f" {r['vehicles']} | {r['dist']:.1f} | {'yes' if r['feasible'] else '**NO**'} | {r['gap']:.2f} |"
        print(row)
    print()
    fams = [("Solomon", [n for n in names if n in SOLOMON]), ("X", [n for n in names if n not in SOLOMON])]
    summary = {}
    for fam, ns in fams:
        if not ns:
            continue
        for s in solvers:
            rs = [results[(n, s)] for n in ns]
            nfeas = sum(r["feasible"] for r in rs)
            gaps = [r["gap"] for r in rs if not math.isnan(r["gap"])]
            avg = sum(gaps) / len(gaps) if gaps else float("nan")
            summary[(fam, s)] = (avg, nfeas, len(ns))
            print(f"{fam:8s} {s:8s} average gap {avg:6.2f} %  feasible {nfeas}/{len(ns)}")
    os.makedirs(a.out, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    with open(os.path.join(a.out, f"compare-{stamp}.json"), "w") as f:
        json.dump(
            {
                "time_limit": a.time_limit,
                "seed": a.seed,
                "results": {f"{n}/{s}": r for (n, s), r in results.items()},
                "summary": {f"{fam}/{s}": v for (fam, s), v in summary.items()},
            },
            f,
            indent=1,
        )


if __name__ == "__main__":
    main()
