//! The synthetic national facility master and its adoption on the seed's date, for `onshi gen
//! facilities` and the demo.
//!
//! The mix is the seed's (第138回医療保険部会 資料3, 2020-12-13): 8,281 hospitals, 89,151
//! medical clinics, 70,984 dental clinics and 59,864 pharmacies, 228,280 in all, spread over
//! the prefectures by population (2020 census, in ten thousands). On that date 44,466 had
//! applied for card readers (2,184 / 11,467 / 11,166 / 19,649 by kind, exactly) and 71,963 had a
//! portal account; none was operating yet. Public hospitals are three times as likely to have
//! applied as others (the acceleration plan published their rates weekly).
//!
//! Dates: the reference gives the counts by kind on 2020-10-11 (965 / 8,051 / 9,638 / 14,525,
//! of a slightly larger master); that many of each kind applied between 2020-05-01 (when
//! applications are taken to open: inferred, the reference does not say) and 2020-10-11, the
//! rest up to 2020-12-13. A portal account opens up to 30 days before the application; the
//! accounts of facilities that did not apply are spread over 2020-03-01..2020-12-13.

use time::{Date, Duration};

use onshi_domain::facility::FacilityKind;
use onshi_domain::ids::luhn_check_digit;

use crate::synth::Rng;

/// The seed's date.
pub const SEED_DATE: Date = time::macros::date!(2020 - 12 - 13);

/// Facilities of each kind in the seed (hospital, medical clinic, dental clinic, pharmacy).
pub const SEED_FACILITIES: [u32; 4] = [8_281, 89_151, 70_984, 59_864];
/// Facilities of each kind that had applied for card readers on the seed's date.
pub const SEED_APPLIED: [u32; 4] = [2_184, 11_467, 11_166, 19_649];
/// Portal accounts on the seed's date, all kinds.
pub const SEED_PORTAL_ACCOUNTS: u32 = 71_963;
/// Applied by 2020-10-11, by kind (the reference's first row).
const APPLIED_BY_OCTOBER: [u32; 4] = [965, 8_051, 9_638, 14_525];
const OCTOBER: Date = time::macros::date!(2020 - 10 - 11);
const APPLICATIONS_OPEN: Date = time::macros::date!(2020 - 05 - 01);
const ACCOUNTS_OPEN: Date = time::macros::date!(2020 - 03 - 01);

/// Population by prefecture (2020 census, ten thousands), JIS order.
const POPULATION: [u32; 47] = [
    522, 124, 121, 230, 96, 107, 183, 287, 193, 194, 734, 628, 1405, 924, 220, 103, 113, 77, 81,
    205, 198, 363, 754, 177, 141, 258, 884, 547, 133, 92, 55, 67, 189, 280, 134, 72, 95, 134, 69,
    514, 81, 131, 174, 113, 107, 159, 147,
];

/// Facilities the demo uses itself: they are part of the master, approved through onboarding
/// and among those that had applied.
pub const DEMO_FACILITIES: [(&str, &str, FacilityKind); 2] = [
    (
        "1311234567",
        "オンシ内科クリニック",
        FacilityKind::MedicalClinic,
    ),
    ("1341234567", "オンシ薬局", FacilityKind::Pharmacy),
];

/// One synthetic facility with its state on the seed's date.
#[derive(Debug, Clone)]
pub struct SynthFacility {
    /// 医療機関コード.
    pub code: String,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: FacilityKind,
    /// Prefecture 1–47.
    pub prefecture: u8,
    /// 公立・公的.
    pub public: bool,
    /// Beds.
    pub beds: u32,
    /// Pharmacy chain group and its prescriptions a month.
    pub chain: Option<(String, u32)>,
    /// When its portal account opened.
    pub portal_account_on: Option<Date>,
    /// Readers applied for, and when.
    pub readers: Option<(u8, Date)>,
}

/// `total` shared over the prefectures by population, largest remainders first.
fn by_prefecture(total: u32) -> [u32; 47] {
    let sum: u64 = POPULATION.iter().map(|p| u64::from(*p)).sum();
    let mut out = [0u32; 47];
    let mut rem: Vec<(u64, usize)> = Vec::with_capacity(47);
    for (i, p) in POPULATION.iter().enumerate() {
        let exact = u64::from(total) * u64::from(*p);
        out[i] = u32::try_from(exact / sum).unwrap_or(0);
        rem.push((exact % sum, i));
    }
    let mut left = total - out.iter().sum::<u32>();
    rem.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in rem {
        if left == 0 {
            break;
        }
        out[i] += 1;
        left -= 1;
    }
    out
}

fn kind_index(kind: FacilityKind) -> usize {
    match kind {
        FacilityKind::Hospital => 0,
        FacilityKind::MedicalClinic => 1,
        FacilityKind::DentalClinic => 2,
        FacilityKind::Pharmacy => 3,
    }
}

fn day_between(rng: &mut Rng, from: Date, to: Date) -> Date {
    let days = (to - from).whole_days().max(0);
    from + Duration::days(i64::try_from(rng.next() % (days as u64 + 1)).unwrap_or(0))
}

/// The national master with its state on the seed's date (same seed, same facilities).
pub fn facilities(seed: u64) -> Vec<SynthFacility> {
    let mut rng = Rng(seed ^ 0xFAC1_1175);
    let mut out: Vec<SynthFacility> = Vec::with_capacity(228_280);
    // Serial numbers per (prefecture, fee schedule digit), so codes never collide; the demo's
    // codes are taken out of the serials first.
    let mut serial = [[0u32; 5]; 48];
    let reserved: Vec<&str> = DEMO_FACILITIES.iter().map(|d| d.0).collect();
    let mut next_code = |pref: u8, digit: u8| loop {
        let s = &mut serial[usize::from(pref)][usize::from(digit)];
        *s += 1;
        let six = format!("{:06}", *s);
        let data: Vec<u8> = six.bytes().map(|b| b - b'0').collect();
        let code = format!("{pref:02}{digit}{six}{}", luhn_check_digit(&data));
        if !reserved.contains(&code.as_str()) {
            return code;
        }
    };
    for kind in FacilityKind::ALL {
        let k = kind_index(kind);
        let demo: Vec<&(&str, &str, FacilityKind)> =
            DEMO_FACILITIES.iter().filter(|d| d.2 == kind).collect();
        let shares = by_prefecture(SEED_FACILITIES[k]);
        let mut demo_left = demo.len();
        for (p, n) in shares.iter().enumerate() {
            let pref = u8::try_from(p + 1).unwrap_or(13);
            for i in 0..*n {
                let digit = match kind {
                    FacilityKind::Hospital | FacilityKind::MedicalClinic => 1,
                    FacilityKind::DentalClinic => 3,
                    FacilityKind::Pharmacy => 4,
                };
                // The demo's facilities stand in for the first ones of their kind in Tokyo.
                let (code, name) = if pref == 13 && demo_left > 0 {
                    demo_left -= 1;
                    let d = demo[demo_left];
                    (d.0.to_owned(), d.1.to_owned())
                } else {
                    let code = next_code(pref, digit);
                    let name = format!(
                        "合成{}第{}{}",
                        onshi_domain::Prefecture::from_number(i64::from(pref))
                            .map_or("", onshi_domain::Prefecture::short_name),
                        i + 1,
                        match kind {
                            FacilityKind::Hospital => "病院",
                            FacilityKind::MedicalClinic => "クリニック",
                            FacilityKind::DentalClinic => "歯科医院",
                            FacilityKind::Pharmacy => "薬局",
                        }
                    );
                    (code, name)
                };
                let public = match kind {
                    FacilityKind::Hospital => rng.below(100) < 18,
                    FacilityKind::MedicalClinic => rng.below(100) < 3,
                    _ => false,
                };
                let beds = match kind {
                    FacilityKind::Hospital => {
                        20 + u32::try_from((rng.unit().powi(2) * 780.0) as u64).unwrap_or(0)
                    }
                    FacilityKind::MedicalClinic if rng.below(100) < 6 => {
                        1 + u32::try_from(rng.below(19)).unwrap_or(0)
                    }
                    _ => 0,
                };
                let chain = (kind == FacilityKind::Pharmacy)
                    .then(|| {
                        let r = rng.below(100);
                        if r < 22 {
                            // 30 large groups, each well over 40,000 prescriptions a month.
                            let g = rng.below(30);
                            Some((
                                format!("合成大手薬局グループ{:02}", g + 1),
                                60_000 + g as u32 * 9_000,
                            ))
                        } else if r < 40 {
                            let g = rng.below(400);
                            Some((
                                format!("合成地域薬局グループ{:03}", g + 1),
                                2_000 + g as u32 * 50,
                            ))
                        } else {
                            None
                        }
                    })
                    .flatten();
                out.push(SynthFacility {
                    code,
                    name,
                    kind,
                    prefecture: pref,
                    public,
                    beds,
                    chain,
                    portal_account_on: None,
                    readers: None,
                });
            }
        }
    }
    adopt(&mut out, &mut rng);
    out
}

/// Marks exactly the seed's appliers of each kind (public hospitals weighted three times, the
/// demo's facilities always), dates their applications, and opens the seed's number of portal
/// accounts.
fn adopt(all: &mut [SynthFacility], rng: &mut Rng) {
    for kind in FacilityKind::ALL {
        let k = kind_index(kind);
        // Weighted sampling without replacement (Efraimidis–Spirakis): the largest u^(1/w).
        let mut keyed: Vec<(f64, usize)> = all
            .iter()
            .enumerate()
            .filter(|(_, f)| f.kind == kind)
            .map(|(i, f)| {
                let demo = DEMO_FACILITIES.iter().any(|d| d.0 == f.code);
                let w = if f.public { 3.0 } else { 1.0 };
                let key = if demo { 2.0 } else { rng.unit().powf(1.0 / w) };
                (key, i)
            })
            .collect();
        keyed.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let applied = usize::try_from(SEED_APPLIED[k]).unwrap_or(0);
        let early = usize::try_from(APPLIED_BY_OCTOBER[k]).unwrap_or(0);
        for (_, i) in keyed.into_iter().take(applied) {
            let f = &mut all[i];
            let readers = match f.kind {
                FacilityKind::Hospital => 1 + u8::try_from(rng.below(3)).unwrap_or(0),
                _ => 1,
            };
            f.readers = Some((readers, APPLICATIONS_OPEN));
        }
        // Which appliers were early is random, not the sampling order: shuffle, then date.
        let mut appliers: Vec<usize> = all
            .iter()
            .enumerate()
            .filter(|(_, f)| f.kind == kind && f.readers.is_some())
            .map(|(i, _)| i)
            .collect();
        for j in (1..appliers.len()).rev() {
            let r = usize::try_from(rng.below(j as u64 + 1)).unwrap_or(0);
            appliers.swap(j, r);
        }
        for (n, i) in appliers.into_iter().enumerate() {
            let day = if n < early {
                day_between(rng, APPLICATIONS_OPEN, OCTOBER)
            } else {
                day_between(rng, OCTOBER + Duration::days(1), SEED_DATE)
            };
            let f = &mut all[i];
            if let Some((readers, _)) = f.readers {
                f.readers = Some((readers, day));
                let before = day - Duration::days(i64::try_from(rng.below(31)).unwrap_or(0));
                f.portal_account_on = Some(before.max(ACCOUNTS_OPEN));
            }
        }
    }
    // Portal accounts of facilities that did not apply, up to the seed's total.
    let have = all.iter().filter(|f| f.portal_account_on.is_some()).count();
    let want = usize::try_from(SEED_PORTAL_ACCOUNTS).unwrap_or(0);
    let mut others: Vec<usize> = all
        .iter()
        .enumerate()
        .filter(|(_, f)| f.portal_account_on.is_none())
        .map(|(i, _)| i)
        .collect();
    for j in (1..others.len()).rev() {
        let r = usize::try_from(rng.below(j as u64 + 1)).unwrap_or(0);
        others.swap(j, r);
    }
    for i in others.into_iter().take(want.saturating_sub(have)) {
        all[i].portal_account_on = Some(day_between(rng, ACCOUNTS_OPEN, SEED_DATE));
    }
}

/// The master file's rows.
pub fn master_rows(all: &[SynthFacility]) -> impl Iterator<Item = [String; 8]> + '_ {
    all.iter().map(|f| {
        let (group, rx) = match &f.chain {
            Some((g, n)) => (g.clone(), n.to_string()),
            None => (String::new(), String::new()),
        };
        [
            f.code.clone(),
            f.name.clone(),
            f.kind.japanese().to_owned(),
            format!("{:02}", f.prefecture),
            if f.public { "1" } else { "0" }.to_owned(),
            f.beds.to_string(),
            group,
            rx,
        ]
    })
}

/// The adoption file's rows (facilities with a portal account or an application).
pub fn adoption_rows(all: &[SynthFacility]) -> impl Iterator<Item = [String; 6]> + '_ {
    all.iter()
        .filter(|f| f.portal_account_on.is_some() || f.readers.is_some())
        .map(|f| {
            let (readers, applied) = match f.readers {
                Some((n, d)) => (n.to_string(), d.to_string()),
                None => (String::new(), String::new()),
            };
            [
                f.code.clone(),
                f.portal_account_on
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
                readers,
                applied,
                String::new(),
                String::new(),
            ]
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_master_has_the_seeds_counts_to_the_facility() {
        let all = facilities(1);
        assert_eq!(all.len(), 228_280);
        for kind in FacilityKind::ALL {
            let k = kind_index(kind);
            let of: Vec<&SynthFacility> = all.iter().filter(|f| f.kind == kind).collect();
            assert_eq!(of.len() as u32, SEED_FACILITIES[k], "{kind:?}");
            let applied: Vec<Date> = of.iter().filter_map(|f| f.readers.map(|r| r.1)).collect();
            assert_eq!(applied.len() as u32, SEED_APPLIED[k], "{kind:?}");
            assert_eq!(
                applied.iter().filter(|d| **d <= OCTOBER).count() as u32,
                APPLIED_BY_OCTOBER[k]
            );
            assert!(
                applied
                    .iter()
                    .all(|d| *d >= APPLICATIONS_OPEN && *d <= SEED_DATE)
            );
        }
        let accounts = all.iter().filter(|f| f.portal_account_on.is_some()).count();
        assert_eq!(accounts as u32, SEED_PORTAL_ACCOUNTS);
        assert!(
            all.iter()
                .all(|f| f.readers.is_none() || f.portal_account_on.is_some())
        );
        let mut codes: Vec<&str> = all.iter().map(|f| f.code.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len(), "codes are distinct");
        for (code, _, _) in DEMO_FACILITIES {
            let f = all.iter().find(|f| f.code == code).unwrap();
            assert!(f.readers.is_some(), "the demo's facilities applied");
        }
        // Every row is a valid master row.
        for row in master_rows(&all).step_by(97) {
            onshi_domain::FacilityInput {
                code: &row[0],
                name: &row[1],
                kind: &row[2],
                prefecture: &row[3],
                public: &row[4],
                beds: &row[5],
                chain_group: &row[6],
                group_prescriptions: &row[7],
            }
            .validate()
            .unwrap();
        }
        // Public hospitals applied more often than the others.
        let rate = |public: bool| {
            let h: Vec<&SynthFacility> = all
                .iter()
                .filter(|f| f.kind == FacilityKind::Hospital && f.public == public)
                .collect();
            h.iter().filter(|f| f.readers.is_some()).count() as f64 / h.len() as f64
        };
        assert!(
            rate(true) > rate(false) * 1.5,
            "{} {}",
            rate(true),
            rate(false)
        );
    }
}
