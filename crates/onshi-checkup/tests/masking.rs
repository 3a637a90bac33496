//! Masking: small groups are ×, empty ones –, and no masked figure can be computed back from
//! what is published, through any combination of the relations between figures (checked by
//! elimination, on fixed cases and on random insurer × workplace × industry frames).

use onshi_checkup::masking::{Count, Frame, MIN_GROUP, Shown, publish, recoverable};
use proptest::prelude::*;

fn c(n: i64, k: i64) -> Count {
    Count { n, k }
}

#[test]
fn small_groups_are_masked_and_empty_ones_not_computable() {
    let mut f = Frame::new();
    let small = f.add(c(MIN_GROUP - 1, 10));
    let enough = f.add(c(MIN_GROUP, 10));
    let empty = f.add(c(0, 0));
    let third = f.add(c(300, 100));
    let p = publish(&f);
    assert_eq!(p.get(small), Shown::Masked);
    assert_eq!(
        p.get(enough),
        Shown::Share {
            percent: 20.0,
            n: 50
        }
    );
    assert_eq!(p.get(empty), Shown::NotComputable);
    assert_eq!(p.get(third).text(), "33.3%");
    assert_eq!(p.get(small).text(), "×");
    assert_eq!(p.get(empty).text(), "–");
}

#[test]
fn a_lone_masked_part_takes_the_smallest_other_part_with_it() {
    let mut f = Frame::new();
    let total = f.add(c(500, 100));
    let a = f.add(c(30, 10));
    let b = f.add(c(200, 40));
    let d = f.add(c(270, 50));
    f.relate(total, vec![a, b, d]);
    let p = publish(&f);
    assert_eq!(p.get(a), Shown::Masked);
    assert_eq!(p.get(b), Shown::Masked, "else a = total - b - d");
    assert!(p.get(d).percent().is_some() && p.get(total).percent().is_some());
    assert!(recoverable(&f, &p).is_empty());
}

#[test]
fn a_never_published_remainder_with_people_protects_a_lone_part() {
    let mut f = Frame::new();
    let total = f.add(c(510, 100));
    let a = f.add(c(30, 10));
    let b = f.add(c(200, 40));
    let d = f.add(c(270, 48));
    let rest = f.add_unpublished(c(10, 2));
    f.relate(total, vec![a, b, d, rest]);
    let p = publish(&f);
    assert_eq!(p.get(a), Shown::Masked);
    assert_eq!(p.get(rest), Shown::Masked);
    assert!(
        p.get(b).percent().is_some(),
        "a and the remainder are two unknowns"
    );
    assert!(recoverable(&f, &p).is_empty());

    // An empty remainder protects nothing.
    let mut f = Frame::new();
    let total = f.add(c(500, 100));
    let a = f.add(c(30, 10));
    let b = f.add(c(200, 40));
    let d = f.add(c(270, 50));
    let rest = f.add_unpublished(c(0, 0));
    f.relate(total, vec![a, b, d, rest]);
    assert_eq!(publish(&f).get(b), Shown::Masked);
}

#[test]
fn the_check_finds_a_figure_that_a_subtraction_recovers() {
    // Published without its relation, the lone masked part is left alone...
    let mut loose = Frame::new();
    let cells: Vec<usize> = [c(500, 100), c(30, 10), c(470, 90)]
        .into_iter()
        .map(|x| loose.add(x))
        .collect();
    let p = publish(&loose);
    assert_eq!(p.get(cells[1]), Shown::Masked);
    assert!(p.get(cells[2]).percent().is_some());
    // ...and the check, given the relation, finds it: 500 - 470.
    let mut tied = loose.clone();
    tied.relate(cells[0], vec![cells[1], cells[2]]);
    assert_eq!(recoverable(&tied, &p), vec![cells[1]]);
}

#[test]
fn crossing_relations_are_masked_until_elimination_recovers_nothing() {
    // Two insurers, each with two workplaces and no remainder; the workplaces also sum by
    // industry. Each relation alone has two masked figures, yet together they would tell.
    let mut f = Frame::new();
    let e = [c(30, 5), c(400, 80), c(45, 9), c(300, 70)].map(|x| f.add(x));
    let i1 = f.add(c(430, 85));
    let i2 = f.add(c(345, 79));
    f.relate(i1, vec![e[0], e[1]]);
    f.relate(i2, vec![e[2], e[3]]);
    let x = f.add(c(75, 14));
    let y = f.add(c(700, 150));
    f.relate(x, vec![e[0], e[2]]);
    f.relate(y, vec![e[1], e[3]]);
    let all = f.add(c(775, 164));
    f.relate(all, vec![i1, i2]);
    f.relate(all, vec![x, y]);
    let p = publish(&f);
    assert!(recoverable(&f, &p).is_empty(), "{p:?}");
    assert_eq!(p.get(e[0]), Shown::Masked);
    assert_eq!(p.get(e[2]), Shown::Masked);
}

/// A random frame: insurers with workplaces (and a remainder of members with none), the
/// workplaces also summed by industry, everything summed nationally both ways.
fn random_frame(sizes: &[(i64, u8)], remainders: &[i64]) -> (Frame, Vec<i64>) {
    let mut f = Frame::new();
    let mut ns = Vec::new();
    let mut insurer_parts: Vec<Vec<usize>> = vec![Vec::new(); remainders.len()];
    let mut industry_parts: Vec<Vec<usize>> = vec![Vec::new(); 3];
    let mut totals = vec![(0i64, 0i64); remainders.len()];
    let mut by_industry = [(0i64, 0i64); 3];
    for (i, (n, tag)) in sizes.iter().enumerate() {
        let k = n * (i64::from(*tag) % 7) / 10;
        let idx = f.add(c(*n, k));
        ns.push(*n);
        let insurer = i % remainders.len();
        let industry = usize::from(*tag) % 3;
        insurer_parts[insurer].push(idx);
        industry_parts[industry].push(idx);
        totals[insurer].0 += n;
        totals[insurer].1 += k;
        by_industry[industry].0 += n;
        by_industry[industry].1 += k;
    }
    let mut insurer_cells = Vec::new();
    let mut grand = (0, 0);
    for (ins, rest) in remainders.iter().enumerate() {
        let r = f.add_unpublished(c(*rest, rest / 3));
        insurer_parts[ins].push(r);
        let t = (totals[ins].0 + rest, totals[ins].1 + rest / 3);
        let cell = f.add(c(t.0, t.1));
        f.relate(cell, insurer_parts[ins].clone());
        insurer_cells.push(cell);
        grand = (grand.0 + t.0, grand.1 + t.1);
    }
    let mut industry_cells = Vec::new();
    for (ind, parts) in industry_parts.iter().enumerate() {
        let cell = f.add(c(by_industry[ind].0, by_industry[ind].1));
        f.relate(cell, parts.clone());
        industry_cells.push(cell);
    }
    let national = f.add(c(grand.0, grand.1));
    f.relate(national, insurer_cells);
    (f, ns)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn no_masked_figure_is_ever_recoverable(
        sizes in prop::collection::vec((1i64..400, any::<u8>()), 2..24),
        remainders in prop::collection::vec(prop_oneof![Just(0i64), 1i64..40], 1..4),
    ) {
        let (f, ns) = random_frame(&sizes, &remainders);
        let p = publish(&f);
        prop_assert!(recoverable(&f, &p).is_empty());
        for (i, n) in ns.iter().enumerate() {
            if *n < MIN_GROUP {
                prop_assert_eq!(p.get(i), Shown::Masked);
            }
        }
    }
}
