//! Synthetic checkups (特定健診 and employer checkups) for the members of a synthetic population
//! (`synth::Population`, same count, seed and day, so the two line up), written as standard
//! archives: one per insurer, fiscal year and chunk, sent by one made-up institution per
//! insurer.
//!
//! Who is examined: members aged 40–74 at the end of the fiscal year, qualified on the exam
//! day, about 60 % of them a year (the national 特定健診 rate is near 58 %), with program 010;
//! employees (本人 of employee insurers) under 40, about 80 %, with program 030 (事業者健診).
//! Each person keeps a constitution across years (seeded by name and birth date, so someone
//! who changed insurer keeps it), drifting a little each year.
//!
//! The values follow the shape of the national open data (NDB オープンデータ, 特定健診): BMI
//! about 24 (men) and 22 (women) with a long upper tail; waist with BMI; blood pressure rising
//! with age; lognormal triglycerides and liver enzymes; HDL higher in women; fasting glucose
//! and HbA1c rising with age; medication and smoking rates by sex and age, shifted by the
//! workplace's industry (`synth::industry_of`). They are plausible
//! populations for demos and benchmarks, not epidemiology. No real person is described.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use time::{Date, Duration, Month};

use onshi_checkup::document::{Document, Observation, Value};
use onshi_checkup::write::{ArchiveWriter, INSTITUTION_OID};
use onshi_domain::{InsurerKind, InsurerNumber};

use crate::CliError;
use crate::synth::{Rng as Draw, Row};

pub(crate) fn seed_of(parts: &[&str], seed: u64) -> u64 {
    // FNV-1a: stable across platforms and releases (std's hasher is not).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0x1f)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// A person's constitution: deviations that persist across years.
struct Constitution {
    bmi: f64,
    pressure: f64,
    lipids: f64,
    glucose: f64,
    liver: f64,
    smoker: bool,
    drinker: u8,
}

impl Constitution {
    fn of(d: &mut Draw, male: bool) -> Self {
        Self {
            bmi: d.normal(),
            pressure: d.normal(),
            lipids: d.normal(),
            glucose: d.normal(),
            liver: d.normal(),
            smoker: d.with_probability(if male { 0.27 } else { 0.08 }),
            drinker: (d.unit() * 3.0) as u8,
        }
    }
}

impl Constitution {
    /// Work shapes health a little: drivers and builders sit or eat on the road and smoke
    /// more; office industries smoke less.
    fn shift_for(&mut self, industry: char, d: &mut Draw) {
        let (bmi, pressure, extra_smokers) = match industry {
            'H' => (0.35, 0.25, 0.12),
            'D' => (0.25, 0.2, 0.1),
            'M' => (0.1, 0.05, 0.08),
            'E' => (0.1, 0.1, 0.04),
            'G' | 'J' | 'L' => (-0.15, -0.1, -0.08),
            'P' | 'O' => (-0.1, -0.05, -0.05),
            _ => (0.0, 0.0, 0.0),
        };
        self.bmi += bmi;
        self.pressure += pressure;
        let draw = d.unit();
        if extra_smokers > 0.0 && !self.smoker && draw < extra_smokers {
            self.smoker = true;
        } else if extra_smokers < 0.0 && self.smoker && draw < -extra_smokers * 3.0 {
            self.smoker = false;
        }
    }
}

/// What `gen checkups` wrote.
#[derive(Debug, Default)]
pub struct Written {
    /// Archives written, by file name.
    pub archives: Vec<PathBuf>,
    /// Checkups in them.
    pub checkups: u64,
    /// Of them, employer checkups (program 030) of employees under 40.
    pub employer_checkups: u64,
}

struct Open {
    writer: ArchiveWriter<BufWriter<File>>,
    path: PathBuf,
    chunk: u32,
}

/// The institution that examines an insurer's members: one per insurer, in Tokyo.
pub fn institution_for(insurer: &InsurerNumber) -> String {
    let digits: u64 = insurer.as_str().parse().unwrap_or(0);
    format!("131{:07}", digits % 10_000_000)
}

const FY_START: (Month, u8) = (Month::June, 1);

/// Writes archives of checkups of `rows` for the `years` fiscal years up to and including
/// the one of `today` into `out`, at most `per_archive` checkups per archive.
pub fn write_archives(
    rows: impl Iterator<Item = Row>,
    out: &Path,
    seed: u64,
    today: Date,
    years: u32,
    per_archive: u32,
    mut progress: impl FnMut(u64),
) -> Result<Written, CliError> {
    let io = |p: &Path| {
        let p = p.display().to_string();
        move |e: std::io::Error| CliError::Io(p.clone(), e)
    };
    std::fs::create_dir_all(out).map_err(io(out))?;
    let this_year = onshi_store::fiscal_year(today);
    let first = this_year - i32::try_from(years.max(1)).unwrap_or(1) + 1;
    let mut open: HashMap<(String, i32), Open> = HashMap::new();
    let mut written = Written::default();
    let per_archive = per_archive.max(1);
    for row in rows {
        let v = &row.values;
        let Ok(insurer) = InsurerNumber::parse(&v[0]) else {
            continue;
        };
        if insurer.kind() == InsurerKind::LateStageElderly {
            continue; // 後期高齢者 are not under 特定健診
        }
        let (Ok(birth), Ok(from)) = (
            onshi_domain::parse_date(&v[6]),
            onshi_domain::parse_date(&v[9]),
        ) else {
            continue;
        };
        let until = onshi_domain::parse_date(&v[10]).ok();
        let male = v[7] == "1";
        let employee = v[8] == "1" && !v[20].is_empty();
        let mut person = Draw(seed_of(&[&v[4], &v[6]], seed));
        let mut body = Constitution::of(&mut person, male);
        if employee {
            body.shift_for(crate::synth::industry_of(&v[0], &v[20]), &mut person);
        }
        for fy in first..=this_year {
            let mut d = Draw(seed_of(&[&v[0], &v[2], &v[3], &fy.to_string()], seed));
            let Ok(start) = Date::from_calendar_date(fy, FY_START.0, FY_START.1) else {
                continue;
            };
            let exam = start + Duration::days((d.unit() * 200.0) as i64);
            if exam > today || exam < from || until.is_some_and(|u| exam > u) {
                continue;
            }
            let Ok(fy_end) = Date::from_calendar_date(fy + 1, Month::March, 31) else {
                continue;
            };
            let age = onshi_domain::age_on(birth, fy_end);
            let program = if (40..=74).contains(&age) {
                if !d.with_probability(0.6) {
                    continue;
                }
                "010"
            } else if employee && (18..40).contains(&age) {
                if !d.with_probability(0.8) {
                    continue;
                }
                "030"
            } else {
                continue;
            };
            let doc = document(
                v,
                &insurer,
                exam,
                age,
                male,
                &body,
                &mut d,
                program,
                fy - first,
            );
            let key = (insurer.as_str().to_owned(), fy);
            if !open.contains_key(&key) {
                let o = start_archive(out, &insurer, start, 0)?;
                open.insert(key.clone(), o);
            }
            let Some(o) = open.get_mut(&key) else {
                continue;
            };
            if o.writer.documents() >= per_archive {
                let next = start_archive(out, &insurer, start, o.chunk + 1)?;
                let full = std::mem::replace(o, next);
                finish(full, &mut written)?;
            }
            let Some(o) = open.get_mut(&key) else {
                continue;
            };
            o.writer
                .add(&doc, "オンシ健診センター")
                .map_err(|e| CliError::Config(e.to_string()))?;
            written.checkups += 1;
            if program == "030" {
                written.employer_checkups += 1;
            }
            if written.checkups.is_multiple_of(10_000) {
                progress(written.checkups);
            }
        }
    }
    let mut rest: Vec<Open> = open.into_values().collect();
    rest.sort_by(|a, b| a.path.cmp(&b.path));
    for o in rest {
        finish(o, &mut written)?;
    }
    written.archives.sort();
    Ok(written)
}

fn start_archive(
    out: &Path,
    insurer: &InsurerNumber,
    fy_start: Date,
    chunk: u32,
) -> Result<Open, CliError> {
    // Ten splits a day (the name's one digit), then the next day.
    let created = fy_start + Duration::days(i64::from(chunk / 10) + 200);
    let sender = institution_for(insurer);
    let padded = format!("{:0>8}", insurer.as_str());
    let name = format!(
        "{sender}_{padded}_{:04}{:02}{:02}{}_1.zip",
        created.year(),
        u8::from(created.month()),
        created.day(),
        chunk % 10
    );
    let path = out.join(&name);
    let file = File::create(&path).map_err(|e| CliError::Io(path.display().to_string(), e))?;
    let writer = ArchiveWriter::new(
        BufWriter::with_capacity(1 << 20, file),
        (&sender, INSTITUTION_OID),
        &padded,
        created,
        u8::try_from(chunk % 10).unwrap_or(0),
        6,
        false,
    )
    .map_err(|e| CliError::Config(e.to_string()))?;
    debug_assert_eq!(writer.file_name(), name);
    Ok(Open {
        writer,
        path,
        chunk,
    })
}

fn finish(o: Open, written: &mut Written) -> Result<(), CliError> {
    use std::io::Write as _;
    let mut w = o
        .writer
        .finish()
        .map_err(|e| CliError::Config(e.to_string()))?;
    w.flush()
        .map_err(|e| CliError::Io(o.path.display().to_string(), e))?;
    written.archives.push(o.path);
    Ok(())
}

fn pq(code: &str, value: String, unit: &str) -> Observation {
    obs(
        code,
        Value::Quantity {
            value,
            unit: unit.to_owned(),
        },
    )
}

fn cd(code: &str, value: &str, system: &str) -> Observation {
    obs(
        code,
        Value::Coded {
            code: value.to_owned(),
            system: format!("1.2.392.200119.6.{system}"),
        },
    )
}

fn obs(code: &str, value: Value) -> Observation {
    Observation {
        section: "01010".into(),
        code: code.into(),
        value,
        interpretation: None,
        method: None,
        line: 0,
    }
}

fn yes(b: bool) -> &'static str {
    if b { "1" } else { "2" }
}

#[allow(clippy::too_many_arguments)]
fn document(
    v: &[String],
    insurer: &InsurerNumber,
    exam: Date,
    age: i32,
    male: bool,
    c: &Constitution,
    d: &mut Draw,
    program: &str,
    year_index: i32,
) -> Document {
    let a = f64::from(age - 40);
    let drift = f64::from(year_index) * 0.05;
    let sex = |m: f64, f: f64| if male { m } else { f };
    let height = sex(171.0, 158.0) - 0.08 * a.max(0.0) + d.normal() * sex(5.8, 5.3);
    let bmi = (sex(23.8, 22.0) + 0.02 * a + (c.bmi + drift) * sex(3.2, 3.6) + d.normal() * 0.4)
        .clamp(15.0, 45.0);
    let weight = bmi * (height / 100.0).powi(2);
    let waist =
        (sex(84.5, 80.0) + (bmi - sex(23.8, 22.0)) * 2.6 + d.normal() * 3.5).clamp(55.0, 140.0);
    let sbp =
        (sex(122.0, 114.0) + 0.55 * a + (bmi - 23.0) * 1.1 + c.pressure * 12.0 + d.normal() * 7.0)
            .clamp(85.0, 210.0);
    let dbp = (sbp * 0.6 + d.normal() * 6.0).clamp(45.0, 130.0);
    let tg = (sex(115.0, 80.0)
        * ((c.lipids + drift) * 0.45 + d.normal() * 0.2 + (bmi - 23.0) * 0.03).exp())
    .clamp(25.0, 1500.0);
    let hdl = (sex(56.0, 68.0) - (bmi - 23.0) * 1.2 - c.lipids * 6.0 + d.normal() * 6.0)
        .clamp(20.0, 130.0);
    let ldl =
        (sex(125.0, 128.0) + 0.3 * a + c.lipids * 22.0 + d.normal() * 12.0).clamp(40.0, 320.0);
    let ast = (21.0 * (c.liver * 0.3 + d.normal() * 0.15).exp()).clamp(8.0, 400.0);
    let alt = (sex(25.0, 16.0) * (c.liver * 0.45 + (bmi - 23.0) * 0.04 + d.normal() * 0.2).exp())
        .clamp(5.0, 500.0);
    let ggt = (sex(38.0, 20.0)
        * (c.liver * 0.4 + f64::from(c.drinker) * 0.25 + d.normal() * 0.25).exp())
    .clamp(5.0, 1500.0);
    let glucose =
        (94.0 + 0.25 * a + (c.glucose + drift) * 9.0 + (bmi - 23.0) * 0.6 + d.normal() * 4.0)
            .clamp(65.0, 400.0);
    let hba1c =
        (5.45 + 0.012 * a + (c.glucose + drift) * 0.32 + d.normal() * 0.08).clamp(4.0, 14.0);
    let on_pressure = d.with_probability((0.05 + 0.012 * a.max(0.0)).min(0.5)) || sbp >= 160.0;
    let on_glucose = d.with_probability((0.02 + 0.004 * a.max(0.0)).min(0.2)) || hba1c >= 7.0;
    let on_lipids = d.with_probability((0.03 + 0.007 * a.max(0.0)).min(0.35));
    let fasting = d.with_probability(0.85);

    let mut o = vec![
        pq("9N001000000000001", format!("{height:.1}"), "cm"),
        pq("9N006000000000001", format!("{weight:.1}"), "kg"),
        pq("9N011000000000001", format!("{bmi:.1}"), "kg/m2"),
        pq("9N016160100000001", format!("{waist:.1}"), "cm"),
        cd("9N056000000000011", "2", "2001"),
        cd("9N061000000000011", "2", "2001"),
        cd("9N066000000000011", "2", "2001"),
        pq("9A751000000000001", format!("{sbp:.0}"), "mm[Hg]"),
        pq("9A761000000000001", format!("{dbp:.0}"), "mm[Hg]"),
        cd("9N141000000000011", if fasting { "2" } else { "3" }, "2202"),
    ];
    if fasting {
        o.push(pq("3F015000002327101", format!("{tg:.0}"), "mg/dL"));
    } else {
        o.push(pq("3F015129902327101", format!("{:.0}", tg * 1.2), "mg/dL"));
    }
    o.push(pq("3F070000002327101", format!("{hdl:.0}"), "mg/dL"));
    o.push(pq("3F077000002327101", format!("{ldl:.0}"), "mg/dL"));
    o.push(pq("3B035000002327201", format!("{ast:.0}"), "U/L"));
    o.push(pq("3B045000002327201", format!("{alt:.0}"), "U/L"));
    o.push(pq("3B090000002327101", format!("{ggt:.0}"), "U/L"));
    let with_hba1c = !fasting || d.with_probability(0.7);
    if fasting && (!with_hba1c || d.with_probability(0.8)) {
        o.push(pq("3D010000001926101", format!("{glucose:.0}"), "mg/dL"));
    }
    if with_hba1c {
        o.push(pq("3D046000001906202", format!("{hba1c:.1}"), "%"));
    }
    o.push(cd(
        "1A020000000191111",
        if glucose >= 170.0 { "3" } else { "1" },
        "2102",
    ));
    o.push(cd(
        "1A010000000191111",
        if d.with_probability(0.05) { "3" } else { "1" },
        "2102",
    ));
    // メタボリックシンドローム判定 and 保健指導レベル as an institution writes them, by the
    // generator's rough reading (issue 19 computes the official ones).
    let risks = u8::from(tg >= 150.0 || hdl < 40.0 || on_lipids)
        + u8::from(sbp >= 130.0 || dbp >= 85.0 || on_pressure)
        + u8::from(glucose >= 110.0 || hba1c >= 6.0 || on_glucose);
    let obese = waist >= sex(85.0, 90.0);
    let metabo = match (obese, risks) {
        (true, 2..) => "1",
        (true, 1) => "2",
        _ => "3",
    };
    o.push(cd("9N501000000000011", metabo, "1008"));
    let level = if on_pressure || on_glucose || on_lipids || !(obese || bmi >= 25.0) {
        "3"
    } else if risks >= 2 && age < 65 {
        "1"
    } else if risks >= 1 {
        "2"
    } else {
        "3"
    };
    o.push(cd("9N506000000000011", level, "3001"));
    o.push(obs("9N511000000000049", Value::Text("特記事項なし".into())));
    o.push(obs("9N516000000000049", Value::Text("特記事項なし".into())));
    o.push(cd("9N701000000000011", yes(on_pressure), "2003"));
    o.push(cd("9N706000000000011", yes(on_glucose), "2003"));
    o.push(cd("9N711000000000011", yes(on_lipids), "2003"));
    for code in [
        "9N716000000000011",
        "9N721000000000011",
        "9N726000000000011",
    ] {
        o.push(cd(
            code,
            yes(d.with_probability(0.01 + 0.001 * a.max(0.0))),
            "2003",
        ));
    }
    o.push(cd(
        "9N731000000000011",
        yes(d.with_probability(sex(0.03, 0.1))),
        "2003",
    ));
    o.push(cd(
        "9N736000000000011",
        if c.smoker { "1" } else { "3" },
        "24060",
    ));
    o.push(cd(
        "9N741000000000011",
        yes(bmi >= 25.0 || d.with_probability(0.2)),
        "2003",
    ));
    o.push(cd(
        "9N746000000000011",
        yes(d.with_probability(0.25 + 0.004 * a.max(0.0))),
        "2003",
    ));
    o.push(cd(
        "9N751000000000011",
        yes(d.with_probability(0.45)),
        "2003",
    ));
    o.push(cd(
        "9N756000000000011",
        yes(d.with_probability(0.5)),
        "2003",
    ));
    o.push(cd(
        "9N872000000000011",
        if d.with_probability(0.85) { "1" } else { "2" },
        "18030",
    ));
    let speed = if d.with_probability(0.3) {
        "1"
    } else if d.with_probability(0.85) {
        "2"
    } else {
        "3"
    };
    o.push(cd("9N766000000000011", speed, "2004"));
    o.push(cd(
        "9N771000000000011",
        yes(d.with_probability(0.3)),
        "2003",
    ));
    o.push(cd(
        "9N782000000000011",
        if d.with_probability(0.2) { "1" } else { "2" },
        "18040",
    ));
    o.push(cd(
        "9N781000000000011",
        yes(d.with_probability(0.12)),
        "2003",
    ));
    o.push(cd(
        "9N786000000000011",
        &(c.drinker + 1).to_string(),
        "24040",
    ));
    o.push(obs(
        "9N791000000000011",
        Value::Coded {
            code: if c.drinker == 0 { "1" } else { "2" }.into(),
            system: "1.2.392.200119.6.24050".into(),
        },
    ));
    o.push(cd(
        "9N796000000000011",
        yes(d.with_probability(0.75)),
        "2003",
    ));
    o.push(cd(
        "9N801000000000011",
        &(1 + (d.unit() * 5.0) as u8).to_string(),
        "2007",
    ));
    o.push(cd(
        "9N808000000000011",
        yes(d.with_probability(0.15)),
        "2003",
    ));
    o.push(obs("9N051000000000049", Value::Text("事務".into())));

    Document {
        report_kind: "10".into(),
        created: exam + Duration::days(7),
        insurer: format!("{:0>8}", insurer.as_str()),
        symbol: v[1].clone(),
        number: v[2].clone(),
        branch: v[3].clone(),
        name_kana: v[5].clone(),
        birth_date: onshi_domain::parse_date(&v[6]).unwrap_or(exam),
        sex: if male { 1 } else { 2 },
        postal_code: None,
        institution: institution_for(insurer),
        program: program.into(),
        exam_date: exam,
        observations: o,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn generated_checkups_pass_validation_and_follow_the_population() {
        let today = date!(2026 - 11 - 01);
        let dir = tempfile::tempdir().unwrap();
        let rows = crate::synth::Population::new(1_200, 7, today);
        let written = write_archives(rows, dir.path(), 7, today, 3, 400, |_| {}).unwrap();
        assert!(written.checkups > 400, "{written:?}");
        assert!(written.employer_checkups > 20, "{written:?}");
        let mut bmi = Vec::new();
        let mut read = 0u64;
        for path in &written.archives {
            let name = path.file_name().unwrap().to_str().unwrap();
            let file = std::fs::File::open(path).unwrap();
            onshi_checkup::import::read_archive(
                std::io::BufReader::new(file),
                name,
                onshi_checkup::archive::Limits::default(),
                onshi_checkup::codes::CodeTable::fy2024(),
                |c| {
                    read += 1;
                    for o in &c.document.observations {
                        if let (true, Value::Quantity { value, .. }) =
                            (o.code == "9N011000000000001", &o.value)
                        {
                            bmi.push(value.parse::<f64>().unwrap());
                        }
                    }
                },
            )
            .unwrap_or_else(|e| panic!("{name}: {:?}", &e[..e.len().min(5)]));
        }
        assert_eq!(read, written.checkups);
        let mean = bmi.iter().sum::<f64>() / bmi.len() as f64;
        assert!((21.5..25.5).contains(&mean), "mean BMI {mean}");
        let obese = bmi.iter().filter(|b| **b >= 25.0).count() as f64 / bmi.len() as f64;
        assert!((0.15..0.45).contains(&obese), "BMI ≥ 25: {obese}");
        // Deterministic for a seed.
        let again = tempfile::tempdir().unwrap();
        let rows = crate::synth::Population::new(1_200, 7, today);
        let second = write_archives(rows, again.path(), 7, today, 3, 400, |_| {}).unwrap();
        assert_eq!(second.checkups, written.checkups);
    }
}
