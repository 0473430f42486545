//! Population with feasible and infeasible sub-populations and biased fitness
//! (cost rank + diversity rank by broken-pairs distance), as in HGS
//! (Vidal 2022) and PyVRP's `Population`.

use super::indiv::{CostEval, Indiv};
use crate::rng::Rng;

/// Population parameters (PyVRP defaults).
#[derive(Debug, Clone)]
pub struct PopParams {
    pub min_pop_size: usize,
    pub generation_size: usize,
    pub num_elite: usize,
    pub num_close: usize,
    pub lb_diversity: f64,
    pub ub_diversity: f64,
}

impl Default for PopParams {
    fn default() -> Self {
        Self {
            min_pop_size: 25,
            generation_size: 40,
            num_elite: 4,
            num_close: 5,
            lb_diversity: 0.1,
            ub_diversity: 0.5,
        }
    }
}

struct Item {
    indiv: Indiv,
    fitness: f64,
    /// (distance, id) to the other members, sorted ascending.
    prox: Vec<(f64, u64)>,
    id: u64,
}

#[derive(Default)]
struct SubPop {
    items: Vec<Item>,
}

impl SubPop {
    fn add(&mut self, indiv: Indiv, id: u64, nd: usize) {
        let mut prox = Vec::with_capacity(self.items.len() + 1);
        for it in self.items.iter_mut() {
            let d = indiv.broken_pairs(&it.indiv, nd);
            let p = it.prox.partition_point(|x| x.0 < d);
            it.prox.insert(p, (d, id));
            prox.push((d, it.id));
        }
        prox.sort_by(|a, b| a.0.total_cmp(&b.0));
        self.items.push(Item {
            indiv,
            fitness: 0.0,
            prox,
            id,
        });
    }

    fn remove(&mut self, idx: usize) {
        let it = self.items.swap_remove(idx);
        for o in self.items.iter_mut() {
            if let Some(p) = o.prox.iter().position(|x| x.1 == it.id) {
                o.prox.remove(p);
            }
        }
    }

    fn avg_dist_closest(&self, idx: usize, k: usize) -> f64 {
        let p = &self.items[idx].prox;
        let m = k.min(p.len());
        if m == 0 {
            return 0.0;
        }
        p[..m].iter().map(|x| x.0).sum::<f64>() / m as f64
    }

    fn update_fitness(&mut self, ce: &CostEval, params: &PopParams) {
        let n = self.items.len();
        if n == 0 {
            return;
        }
        let mut by_cost: Vec<usize> = (0..n).collect();
        let costs: Vec<i64> = self.items.iter().map(|i| i.indiv.pen_cost(ce)).collect();
        by_cost.sort_by_key(|&i| (costs[i], i));
        let mut div: Vec<(f64, usize)> = by_cost
            .iter()
            .enumerate()
            .map(|(rank, &i)| (-self.avg_dist_closest(i, params.num_close), rank))
            .collect();
        div.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let nb_elite = params.num_elite.min(n) as f64;
        let div_weight = 1.0 - nb_elite / n as f64;
        for (div_rank, &(_, cost_rank)) in div.iter().enumerate() {
            let idx = by_cost[cost_rank];
            self.items[idx].fitness =
                (cost_rank as f64 + div_weight * div_rank as f64) / (2.0 * n as f64);
        }
    }

    fn purge(&mut self, ce: &CostEval, params: &PopParams) {
        // Duplicates first.
        let mut i = 0;
        while self.items.len() > params.min_pop_size && i < self.items.len() {
            let dup = self.items[i].prox.first().is_some_and(|x| x.0 == 0.0)
                && self
                    .items
                    .iter()
                    .enumerate()
                    .any(|(j, o)| j != i && o.indiv.same_as(&self.items[i].indiv));
            if dup {
                self.remove(i);
            } else {
                i += 1;
            }
        }
        while self.items.len() > params.min_pop_size {
            self.update_fitness(ce, params);
            let worst = self
                .items
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.fitness.total_cmp(&b.1.fitness).then(b.0.cmp(&a.0)))
                .map(|x| x.0)
                .unwrap_or(0);
            self.remove(worst);
        }
    }
}

/// The population.
pub struct Population {
    feas: SubPop,
    infeas: SubPop,
    params: PopParams,
    next_id: u64,
    nd: usize,
}

impl Population {
    pub fn new(params: PopParams, nd: usize) -> Self {
        Self {
            feas: SubPop::default(),
            infeas: SubPop::default(),
            params,
            next_id: 0,
            nd,
        }
    }

    pub fn len(&self) -> usize {
        self.feas.items.len() + self.infeas.items.len()
    }

    pub fn clear(&mut self) {
        self.feas.items.clear();
        self.infeas.items.clear();
    }

    pub fn add(&mut self, indiv: Indiv, ce: &CostEval) {
        let id = self.next_id;
        self.next_id += 1;
        let sub = if indiv.feasible() {
            &mut self.feas
        } else {
            &mut self.infeas
        };
        sub.add(indiv, id, self.nd);
        if sub.items.len() > self.params.min_pop_size + self.params.generation_size {
            sub.purge(ce, &self.params);
        }
    }

    fn tournament(&mut self, rng: &mut Rng) -> &Indiv {
        let n = self.len();
        let pick = |i: usize, s: &Self| -> (f64, bool, usize) {
            if i < s.feas.items.len() {
                (s.feas.items[i].fitness, true, i)
            } else {
                let j = i - s.feas.items.len();
                (s.infeas.items[j].fitness, false, j)
            }
        };
        let a = pick(rng.below(n), self);
        let b = pick(rng.below(n), self);
        let w = if a.0 <= b.0 { a } else { b };
        if w.1 {
            &self.feas.items[w.2].indiv
        } else {
            &self.infeas.items[w.2].indiv
        }
    }

    /// Selects two parents by binary tournament, preferring a pair whose
    /// diversity lies within the configured bounds (PyVRP).
    pub fn select(&mut self, rng: &mut Rng, ce: &CostEval) -> (Indiv, Indiv) {
        self.feas.update_fitness(ce, &self.params);
        self.infeas.update_fitness(ce, &self.params);
        let first = self.tournament(rng).clone();
        let mut second = self.tournament(rng).clone();
        let mut div = first.broken_pairs(&second, self.nd);
        let mut tries = 1;
        while !(self.params.lb_diversity <= div && div <= self.params.ub_diversity) && tries < 10 {
            tries += 1;
            second = self.tournament(rng).clone();
            div = first.broken_pairs(&second, self.nd);
        }
        (first, second)
    }
}
