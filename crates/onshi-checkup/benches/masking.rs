//! How long masking takes on a frame the shape of a national refresh, one indicator: `W`
//! workplaces of `I` insurers in 20 industries, each insurer with a never-shown remainder of 20
//! members (a small group, so itself protected), workplace sizes cycling through 12, 30, 45,
//! 80, 150 and 400 people; relations insurer = its workplaces + remainder, industry = its
//! workplaces. Prints one JSON object per size (see BENCHMARKS.md, "Masking").
//!
//! `cargo bench -p onshi-checkup --bench masking` (default sizes), or
//! `cargo bench -p onshi-checkup --bench masking -- 50000:1400`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark fails loudly

use std::time::Instant;

use onshi_checkup::masking::{Count, Frame, Shown, publish, recoverable};

fn frame(workplaces: usize, insurers: usize) -> Frame {
    const INDUSTRIES: usize = 20;
    let mut f = Frame::new();
    let mut by_insurer: Vec<Vec<usize>> = vec![Vec::new(); insurers];
    let mut by_industry: Vec<Vec<usize>> = vec![Vec::new(); INDUSTRIES];
    let mut insurer_totals = vec![Count::default(); insurers];
    let mut industry_totals = vec![Count::default(); INDUSTRIES];
    for w in 0..workplaces {
        let n = [12, 30, 45, 80, 150, 400][(w * 7919) % 6];
        let c = Count { n, k: n / 3 };
        let ix = f.add(c);
        let (i, x) = (w % insurers, (w * 31) % INDUSTRIES);
        by_insurer[i].push(ix);
        by_industry[x].push(ix);
        insurer_totals[i].n += c.n;
        insurer_totals[i].k += c.k;
        industry_totals[x].n += c.n;
        industry_totals[x].k += c.k;
    }
    for (i, parts) in by_insurer.iter_mut().enumerate() {
        parts.push(f.add_unpublished(Count { n: 20, k: 5 }));
        let total = f.add(Count {
            n: insurer_totals[i].n + 20,
            k: insurer_totals[i].k + 5,
        });
        f.relate(total, parts.clone());
    }
    for (x, parts) in by_industry.iter().enumerate() {
        let total = f.add(industry_totals[x]);
        f.relate(total, parts.clone());
    }
    f
}

fn main() {
    let sizes: Vec<(usize, usize)> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .filter_map(|a| {
            let (w, i) = a.split_once(':')?;
            Some((w.parse().ok()?, i.parse().ok()?))
        })
        .collect();
    let sizes = if sizes.is_empty() {
        vec![(3_000, 100), (10_000, 300), (50_000, 1_400)]
    } else {
        sizes
    };
    for (workplaces, insurers) in sizes {
        let f = frame(workplaces, insurers);
        let started = Instant::now();
        let published = publish(&f);
        let seconds = started.elapsed().as_secs_f64();
        let masked = (0..published.len())
            .filter(|i| matches!(published.get(*i), Shown::Masked))
            .count();
        let started = Instant::now();
        let leaks = recoverable(&f, &published).len();
        let check = started.elapsed().as_secs_f64();
        println!(
            "{{\"bench\":\"masking\",\"workplaces\":{workplaces},\"insurers\":{insurers},\"publish_seconds\":{seconds:.3},\"masked\":{masked},\"check_seconds\":{check:.3},\"recoverable\":{leaks}}}"
        );
    }
}
