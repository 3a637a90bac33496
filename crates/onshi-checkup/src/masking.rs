//! Masking that cannot be undone: the one way a figure reaches a page or a file.
//!
//! A report's figures are shares: `k` of `n` people. A figure built from fewer than
//! [`MIN_GROUP`] people is masked (shown ×); one with nobody, or nothing to count, is not
//! computable (shown –). Masking only the small groups is not enough: when a total and all but
//! one of its parts are published, the missing part is the total minus the others. So every
//! additive relation between figures (a total and its parts: an insurer and its workplaces, a
//! group and its sexes, all insurers and each of them) is given to [`publish`], which masks
//! more figures (secondary suppression) until no relation has exactly one masked part with
//! people in it, the smallest published part first. A figure that is never shown but is not a
//! small group (say, the 60 members of an insurer who belong to no workplace) hides others as
//! an unknown, but need not be protected itself: computing it reveals nothing that could not
//! have been published. A published share reveals its `k` (a rate
//! to a tenth of a percent gives `k` exactly below 1,000 people), so the relations are on `k`.
//!
//! [`Published`] is the only form a figure leaves in: its fields are private and [`publish`]
//! is its only constructor, so an unmasked figure cannot reach a page or an export by mistake.

/// The fewest people a published figure may be built from.
pub const MIN_GROUP: i64 = 50;

/// A figure before masking: `k` of `n` people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Count {
    /// The people it is about (its denominator).
    pub n: i64,
    /// Those of them counted (its numerator).
    pub k: i64,
}

/// Figures and the additive relations between them: each relation says that the figure at
/// `total` is the sum of the figures at `parts` (in both `n` and `k`). A part that is never
/// published (say, the members of no workplace) must still be listed, as a figure of its
/// own marked unpublishable.
#[derive(Debug, Clone, Default)]
pub struct Frame {
    counts: Vec<Count>,
    never: Vec<bool>,
    relations: Vec<(usize, Vec<usize>)>,
}

impl Frame {
    /// An empty frame.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a figure; returns its index.
    pub fn add(&mut self, count: Count) -> usize {
        self.counts.push(count);
        self.never.push(false);
        self.counts.len() - 1
    }

    /// Adds a figure that is never published (it exists only to close a relation).
    pub fn add_unpublished(&mut self, count: Count) -> usize {
        let i = self.add(count);
        self.never[i] = true;
        i
    }

    /// Says that figure `total` is the sum of `parts`.
    pub fn relate(&mut self, total: usize, parts: Vec<usize>) {
        self.relations.push((total, parts));
    }

    /// The figures' count.
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }
}

/// A figure as it may be shown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shown {
    /// The share in percent, to a tenth, and its people.
    Share {
        /// Percent, to a tenth (rounded half up).
        percent: f64,
        /// The people it is built from.
        n: i64,
    },
    /// × : fewer than [`MIN_GROUP`] people, or masked so that another masked figure cannot be
    /// recovered.
    Masked,
    /// – : nobody to count.
    NotComputable,
}

impl Shown {
    /// As printed: `12.3%`, `×` or `–`.
    pub fn text(&self) -> String {
        match self {
            Shown::Share { percent, .. } => format!("{percent:.1}%"),
            Shown::Masked => "×".into(),
            Shown::NotComputable => "–".into(),
        }
    }

    /// The share in percent, when shown.
    pub fn percent(&self) -> Option<f64> {
        match self {
            Shown::Share { percent, .. } => Some(*percent),
            _ => None,
        }
    }
}

/// Figures after masking: the only form in which they leave the engine.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    shown: Vec<Shown>,
}

impl Published {
    /// Figure `i` as it may be shown.
    pub fn get(&self, i: usize) -> Shown {
        self.shown.get(i).copied().unwrap_or(Shown::NotComputable)
    }

    /// How many figures.
    pub fn len(&self) -> usize {
        self.shown.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.shown.is_empty()
    }
}

/// `k` of `n` in percent to a tenth, rounded half up (integer arithmetic).
fn percent(k: i64, n: i64) -> f64 {
    let tenths = (k * 2000 + n) / (2 * n);
    tenths as f64 / 10.0
}

/// Masks `frame`: primary (fewer than [`MIN_GROUP`] people, or never published), then
/// secondary until no relation has exactly one masked figure with people in it, and then, as
/// long as elimination over all the relations still determines a masked figure (relations that
/// cross, such as workplaces summed by insurer and by industry), more.
pub fn publish(frame: &Frame) -> Published {
    let counts = &frame.counts;
    let mut masked: Vec<bool> = counts
        .iter()
        .zip(&frame.never)
        .map(|(c, never)| *never || (c.n > 0 && c.n < MIN_GROUP))
        .collect();
    loop {
        single_relations(frame, &mut masked);
        let published = shown(counts, &masked);
        let Some(found) = recoverable(frame, &published).first().copied() else {
            return published;
        };
        // Mask the smallest published figure with people in a relation of the found one.
        let next = frame
            .relations
            .iter()
            .filter(|(total, parts)| *total == found || parts.contains(&found))
            .flat_map(|(total, parts)| std::iter::once(*total).chain(parts.iter().copied()))
            .filter(|i| !masked[*i] && counts[*i].n > 0)
            .min_by_key(|i| (counts[*i].n, *i));
        match next {
            Some(i) => masked[i] = true,
            // Cannot happen (a determined figure has a published neighbour); stop safely by
            // masking everything with people.
            None => {
                for (m, c) in masked.iter_mut().zip(counts) {
                    *m |= c.n > 0;
                }
            }
        }
    }
}

/// Whether figure `i`, unknown to a reader, must stay so: a figure of people that is masked to
/// protect them. A figure that is only never shown but has [`MIN_GROUP`] people or more
/// reveals nothing if computed, though it still hides others.
fn sensitive(frame: &Frame, masked: &[bool], i: usize) -> bool {
    let n = frame.counts[i].n;
    masked[i] && n > 0 && !(frame.never[i] && n >= MIN_GROUP)
}

/// The secondary rule on each relation alone, to a fixpoint.
fn single_relations(frame: &Frame, masked: &mut [bool]) {
    let counts = &frame.counts;
    // A masked figure "with people" is one whose k could be something to recover.
    let hidden = |masked: &[bool], i: usize| masked[i] && counts[i].n > 0;
    loop {
        let mut changed = false;
        for (total, parts) in &frame.relations {
            let members: Vec<usize> = std::iter::once(*total)
                .chain(parts.iter().copied())
                .collect();
            let hidden: Vec<usize> = members
                .iter()
                .copied()
                .filter(|i| hidden(masked, *i))
                .collect();
            if hidden.len() != 1 || !sensitive(frame, masked, hidden[0]) {
                continue;
            }
            // Mask the smallest published part with people; failing that, the total.
            let next = parts
                .iter()
                .copied()
                .filter(|i| !masked[*i] && counts[*i].n > 0)
                .min_by_key(|i| (counts[*i].n, *i))
                .or_else(|| (!masked[*total] && counts[*total].n > 0).then_some(*total));
            if let Some(i) = next {
                masked[i] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
}

fn shown(counts: &[Count], masked: &[bool]) -> Published {
    Published {
        shown: counts
            .iter()
            .zip(masked)
            .map(|(c, m)| {
                if c.n <= 0 {
                    Shown::NotComputable
                } else if *m {
                    Shown::Masked
                } else {
                    Shown::Share {
                        percent: percent(c.k, c.n),
                        n: c.n,
                    }
                }
            })
            .collect(),
    }
}

/// The masked figures of `frame` that must stay unknown (see [`sensitive`]) but can be computed
/// exactly from what `published` shows
/// through the frame's relations (by elimination over the masked figures' `k`). `publish`
/// never produces such a result; the tests check it does not.
pub fn recoverable(frame: &Frame, published: &Published) -> Vec<usize> {
    let masked: Vec<bool> = (0..frame.len())
        .map(|i| matches!(published.get(i), Shown::Masked))
        .collect();
    let unknown: Vec<usize> = (0..frame.len())
        .filter(|i| masked[*i] && frame.counts[*i].n > 0)
        .collect();
    // Each figure's column among the unknowns, looked up in constant time (a search of the
    // unknowns per relation part took most of a national frame's time).
    let mut columns: Vec<Option<usize>> = vec![None; frame.len()];
    for (c, u) in unknown.iter().enumerate() {
        columns[*u] = Some(c);
    }
    let column = |i: usize| columns.get(i).copied().flatten();
    // Each relation, restricted to the unknowns: +1 for the total, -1 for each part.
    let mut m: Vec<Vec<i128>> = frame
        .relations
        .iter()
        .filter(|(total, parts)| {
            column(*total).is_some() || parts.iter().any(|p| column(*p).is_some())
        })
        .map(|(total, parts)| {
            let mut row = vec![0i128; unknown.len()];
            if let Some(c) = column(*total) {
                row[c] += 1;
            }
            for p in parts {
                if let Some(c) = column(*p) {
                    row[c] -= 1;
                }
            }
            row
        })
        .filter(|r| r.iter().any(|v| *v != 0))
        .collect();
    // Reduced row echelon form over the rationals (fraction-free, i128).
    let width = unknown.len();
    let mut pivot_row = 0;
    let mut pivots = Vec::new();
    for col in 0..width {
        let Some(r) = (pivot_row..m.len()).find(|r| m[*r][col] != 0) else {
            continue;
        };
        m.swap(pivot_row, r);
        let (before, rest) = m.split_at_mut(pivot_row);
        let Some((pivot, after)) = rest.split_first_mut() else {
            break;
        };
        for row in before.iter_mut().chain(after.iter_mut()) {
            if row[col] != 0 {
                let (a, b) = (pivot[col], row[col]);
                for (v, p) in row.iter_mut().zip(pivot.iter()) {
                    *v = *v * a - p * b;
                }
                let g = row.iter().fold(0i128, |g, v| gcd(g, v.abs()));
                if g > 1 {
                    for v in row.iter_mut() {
                        *v /= g;
                    }
                }
            }
        }
        pivots.push((pivot_row, col));
        pivot_row += 1;
    }
    // An unknown is determined when a row of the reduced form has it alone.
    pivots
        .into_iter()
        .filter(|(r, col)| m[*r].iter().enumerate().all(|(c, v)| c == *col || *v == 0))
        .map(|(_, col)| unknown[col])
        .filter(|i| sensitive(frame, &masked, *i))
        .collect()
}

fn gcd(a: i128, b: i128) -> i128 {
    if b == 0 { a } else { gcd(b, a % b) }
}
