//! The scoring reports' refresh at national scale, on each backend, beside DuckDB computing
//! the same aggregate over the same rows in the same run (see BENCHMARKS.md, "Reports").
//!
//! The data: 1,400 insurers (47 協会けんぽ branches, 1,000 健康保険組合, 80 共済組合, 273 国民健康保険),
//! 50,000 workplaces of the employee insurers in the 20 JSIC industries, and people examined in
//! fiscal years 2023–2025 (about 80 % of them each year; a tenth under 40, whom the reports
//! leave out) with the 13 report indicators drawn by sex, age and industry (risks rising with
//! age, men heavier and smoking more, builders and drivers more so). The rows are written
//! straight into `checkups` (the import's own speed is measured in "Checkup imports"), and the
//! same rows into a CSV for DuckDB.
//!
//! Measured, per backend:
//! - **full refresh**: `Store::refresh_report_cells(None)`: every person's latest checkup of each
//!   year grouped into the kept cells (what DuckDB's query computes);
//! - **engine**: one year's cells read and every insurer's report and workplace's sheet computed
//!   and masked (`onshi_checkup::scoring::reports`);
//! - **incremental**: an archive of 1,000 checkups for the largest insurer through the real
//!   import (`begin_checkup_import`, `add_batch`, `commit`, which changes the cells of the people
//!   it wrote), then that year regrouped whole, and the cells asserted to be the same.
//!
//! `cargo bench -p onshi-store --bench reports` (1,000,000 checkups, SQLite, and PostgreSQL
//! when `ONSHI_TEST_DATABASE_URL` is set; DuckDB when `python3 -c 'import duckdb'` works), or
//! `cargo bench -p onshi-store --bench reports -- 10000000` (add `duckdb-only` for DuckDB's
//! figure alone). Prints one JSON object per backend.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark fails loudly

use std::io::Write;
use std::time::Instant;

use onshi_checkup::indicators::Indicator;
use onshi_checkup::scoring::{Cell, reports};
use onshi_domain::{InsurerKind, InsurerNumber};
use onshi_store::testing::TestDb;
use onshi_store::{Actor, CheckupJudgement, NewCheckup, Store};
use time::{Date, Duration, Month, OffsetDateTime};

/// SplitMix64: the same numbers on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Industry letters and their weights (near the national mix of employees).
const INDUSTRIES: &str = "ABCDEFGHIJKLMNOPQRST";
const INDUSTRY_WEIGHTS: [u32; 20] = [
    1, 1, 1, 8, 16, 1, 5, 6, 16, 3, 2, 4, 6, 3, 5, 13, 1, 6, 1, 1,
];

struct World {
    insurers: Vec<(String, InsurerKind)>,
    /// Per insurer, its workplaces: (code, industry index).
    workplaces: Vec<Vec<(String, usize)>>,
    /// Cumulative people weights of the insurers.
    weights: Vec<f64>,
}

fn world(rng: &mut Rng) -> World {
    let mut data: Vec<String> = Vec::new();
    for pref in 1..=47 {
        data.push(format!("01{pref:02}001"));
    }
    for i in 0..1000 {
        data.push(format!("06{:02}{:03}", 1 + i % 47, 1 + i / 47));
    }
    for i in 0..80 {
        data.push(format!("{}{:02}{:03}", 31 + i % 4, 1 + i % 47, 1 + i / 47));
    }
    for i in 0..273 {
        data.push(format!("{:02}{:03}", 1 + i % 47, 1 + i / 47));
    }
    let insurers: Vec<(String, InsurerKind)> = data
        .iter()
        .map(|d| {
            let n = InsurerNumber::from_data_digits(d).unwrap();
            (n.as_str().to_owned(), n.kind())
        })
        .collect();
    // People: 協会けんぽ 40 %, societies 30 %, 共済 8 %, 国保 22 %, each kind's share spread
    // unevenly over its insurers (some ten times the size of others).
    let share = |k: InsurerKind| match k {
        InsurerKind::KyokaiKenpo => 0.40 / 47.0,
        InsurerKind::HealthInsuranceSociety => 0.30 / 1000.0,
        InsurerKind::MutualAid => 0.08 / 80.0,
        _ => 0.22 / 273.0,
    };
    let mut acc = 0.0;
    let weights: Vec<f64> = insurers
        .iter()
        .map(|(_, k)| {
            acc += share(*k) * (0.2 + 1.8 * rng.unit());
            acc
        })
        .collect();
    // 50,000 workplaces: 60 % of 協会けんぽ branches, 36 % of societies, 4 % of 共済.
    let mut workplaces: Vec<Vec<(String, usize)>> = vec![Vec::new(); insurers.len()];
    let total_weight: u32 = INDUSTRY_WEIGHTS.iter().sum();
    for w in 0..50_000usize {
        let i = match w % 25 {
            0..=14 => rng.below(47),
            15..=23 => 47 + rng.below(1000),
            _ => 1047 + rng.below(80),
        };
        let mut r = (rng.next() % u64::from(total_weight)) as u32;
        let mut industry = 19;
        for (x, weight) in INDUSTRY_WEIGHTS.iter().enumerate() {
            if r < *weight {
                industry = x;
                break;
            }
            r -= weight;
        }
        let code = format!("{}", 1000 + workplaces[i].len());
        workplaces[i].push((code, industry));
    }
    World {
        insurers,
        workplaces,
        weights,
    }
}

/// One generated checkup row.
struct Row {
    id: String,
    insurer: String,
    number: String,
    exam: Date,
    birth: Date,
    employer: Option<String>,
    sex: u8,
    fiscal_year: i32,
    age: i32,
    known: i32,
    present: i32,
}

/// The indicator bits of one person of `sex`, `age` in industry `industry` (if any).
fn bits(rng: &mut Rng, sex: u8, age: i32, industry: Option<char>) -> (i32, i32) {
    let a = f64::from((age - 40).max(0));
    let male = sex == 1;
    let (heavy, smoky) = match industry {
        Some('D' | 'H') => (0.08, 0.10),
        Some('G' | 'J' | 'L') => (-0.05, -0.06),
        _ => (0.0, 0.0),
    };
    // Per indicator (Indicator::ALL order): the chance a person holds it.
    let p: [f64; 13] = if male {
        [
            0.42 + 0.002 * a + heavy,
            0.30 + 0.012 * a + heavy / 2.0,
            0.33 - 0.002 * a,
            0.38 + 0.001 * a,
            0.28 + 0.010 * a,
            0.18 + 0.004 * a + heavy,
            if age < 65 { 0.26 + heavy } else { 0.12 },
            0.70 - smoky + 0.004 * a,
            0.28 + 0.005 * a,
            0.55,
            0.78,
            0.64,
            0.88 - 0.003 * a,
        ]
    } else {
        [
            0.18 + 0.003 * a + heavy,
            0.15 + 0.013 * a,
            0.10 + 0.001 * a,
            0.22 + 0.006 * a,
            0.18 + 0.011 * a,
            0.05 + 0.002 * a,
            if age < 65 { 0.08 } else { 0.05 },
            0.90 - smoky / 2.0,
            0.22 + 0.006 * a,
            0.62,
            0.92,
            0.62,
            0.90 - 0.003 * a,
        ]
    };
    let (mut known, mut present) = (0, 0);
    for (i, chance) in p.iter().enumerate() {
        if rng.unit() < 0.97 {
            known |= 1 << i;
            if rng.unit() < chance.clamp(0.0, 1.0) {
                present |= 1 << i;
            }
        }
    }
    (known, present)
}

/// About `target` checkups of fiscal years 2023–2025, handed to `sink` row by row.
fn generate(world: &World, rng: &mut Rng, target: u64, mut sink: impl FnMut(Row)) -> u64 {
    let total = *world.weights.last().unwrap();
    let mut written = 0u64;
    let mut person = 0u64;
    while written < target {
        person += 1;
        let pick = rng.unit() * total;
        let i = world.weights.partition_point(|w| *w < pick);
        let (insurer, _) = &world.insurers[i];
        let places = &world.workplaces[i];
        let workplace = (!places.is_empty() && rng.unit() < 0.95).then(|| {
            let j = ((places.len() as f64) * rng.unit().powi(3)) as usize;
            &places[j.min(places.len() - 1)]
        });
        let sex = if rng.unit() < if places.is_empty() { 0.48 } else { 0.6 } {
            1
        } else {
            2
        };
        // Age at the end of FY2024: a tenth in their thirties, the rest 40–74.
        let age24 = if rng.unit() < 0.1 {
            30 + rng.below(10) as i32
        } else {
            40 + (35.0 * rng.unit().powf(1.2)) as i32
        };
        let birth = Date::from_calendar_date(2024 - age24, Month::October, 1).unwrap()
            - Duration::days(rng.below(365) as i64);
        let industry = workplace.map(|(_, x)| INDUSTRIES.as_bytes()[*x] as char);
        for fy in 2023..=2025 {
            if rng.unit() >= 0.8 {
                continue;
            }
            let age = age24 + (fy - 2024);
            let (known, present) = bits(rng, sex, age, industry);
            let exam = Date::from_calendar_date(fy, Month::June, 1).unwrap()
                + Duration::days(rng.below(200) as i64);
            sink(Row {
                id: format!("b{fy}-{person}"),
                insurer: insurer.clone(),
                number: person.to_string(),
                exam,
                birth,
                employer: workplace.map(|(c, _)| c.clone()),
                sex,
                fiscal_year: fy,
                age,
                known,
                present,
            });
            written += 1;
        }
    }
    written
}

/// A multi-row INSERT of `rows` (synthetic values only: no quoting is needed beyond digits and
/// the fixed texts).
fn insert_sql(rows: &[Row]) -> String {
    let mut sql = String::from(
        "INSERT INTO checkups (id, insurer_number, symbol, number, branch, exam_date, institution, \
         version, recorded_at, source_archive, source_file, report_kind, program, name_kana, \
         birth_date, sex, fiscal_year, age_at_fiscal_year_end, content_hash, employer, rule_set, \
         guidance_level, metabolic, referral, indicators_known, indicators) VALUES ",
    );
    for (n, r) in rows.iter().enumerate() {
        if n > 0 {
            sql.push(',');
        }
        let employer = r
            .employer
            .as_ref()
            .map_or_else(|| "NULL".to_owned(), |e| format!("'{e}'"));
        sql.push_str(&format!(
            "('{}','{}','1','{}','00','{}','1310000001',1,'2026-04-01T00:00:00Z','bench.zip','DATA/x.xml','1','010','ベンチ','{}',{},{},{},'x',{employer},'tokutei-4.1','3','3',FALSE,{},{})",
            r.id, r.insurer, r.number, r.exam, r.birth, r.sex, r.fiscal_year, r.age, r.known, r.present
        ));
    }
    sql
}

/// The same aggregate in DuckDB, over the CSV: (seconds to load, best of three seconds for the
/// aggregate, cells, people), or why it did not run.
fn duckdb(csv: &std::path::Path) -> Result<(f64, f64, i64, i64), String> {
    let mut sums = String::new();
    for bit in 0..16 {
        let mask = 1 << bit;
        sums.push_str(&format!(
            ", SUM(CASE WHEN (indicators_known & {mask}) <> 0 THEN 1 ELSE 0 END) AS k{bit}, \
             SUM(CASE WHEN (indicators & {mask}) <> 0 THEN 1 ELSE 0 END) AS p{bit}"
        ));
    }
    let query = format!(
        "SELECT fiscal_year, insurer_number, employer, sex, (age - 40) // 5 AS band, COUNT(*) AS people{sums} \
         FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY fiscal_year, insurer_number, symbol, number, branch \
           ORDER BY exam_date DESC, version DESC, id DESC) AS rn FROM c WHERE age BETWEEN 40 AND 74) \
         WHERE rn = 1 GROUP BY fiscal_year, insurer_number, employer, sex, (age - 40) // 5"
    );
    let script = format!(
        "import duckdb, time, sys\n\
         con = duckdb.connect()\n\
         con.execute('SET enable_progress_bar = false')\n\
         t = time.time()\n\
         con.execute(\"CREATE TABLE c AS SELECT * FROM read_csv('{csv}', header=true, \
           types={{'insurer_number': 'VARCHAR', 'employer': 'VARCHAR', 'symbol': 'VARCHAR', 'number': 'VARCHAR', 'branch': 'VARCHAR', 'id': 'VARCHAR'}})\")\n\
         load = time.time() - t\n\
         best = None\n\
         for _ in range(3):\n\
         \x20   t = time.time()\n\
         \x20   con.execute(\"CREATE OR REPLACE TABLE cells AS {query}\")\n\
         \x20   d = time.time() - t\n\
         \x20   best = d if best is None or d < best else best\n\
         n, people = con.execute('SELECT COUNT(*), SUM(people) FROM cells').fetchone()\n\
         print(load, best, n, people)\n",
        csv = csv.display()
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr)
            .lines()
            .last()
            .unwrap_or("")
            .to_owned());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.lines().last().unwrap_or_default();
    let f: Vec<&str> = last.split_whitespace().collect();
    let bad = || format!("unreadable answer from DuckDB: {last}");
    match f.as_slice() {
        [load, best, n, people] => Ok((
            load.parse().map_err(|_| bad())?,
            best.parse().map_err(|_| bad())?,
            n.parse().map_err(|_| bad())?,
            people.parse().map_err(|_| bad())?,
        )),
        _ => Err(bad()),
    }
}

/// 1,000 checkups of fiscal year 2025 for `insurer`, new people, as an archive's import adds them.
fn archive(insurer: &str, rng: &mut Rng) -> Vec<NewCheckup> {
    (0..1000)
        .map(|n| {
            let key = onshi_domain::MemberInput {
                insurer_number: insurer,
                symbol: "9",
                number: &format!("{}", 900_000_000 + n),
                branch: "00",
                ..Default::default()
            }
            .card_key()
            .unwrap();
            let sex = 1 + (n % 2) as u8;
            let age = 40 + n % 35;
            let (known, present) = bits(rng, sex, age, None);
            NewCheckup {
                key,
                birth_date: Date::from_calendar_date(2025 - age, Month::October, 1).unwrap(),
                sex,
                name_kana: "ベンチ".into(),
                institution: "1310000001".into(),
                exam_date: Date::from_calendar_date(2025, Month::September, 1).unwrap(),
                report_kind: "1".into(),
                program: "010".into(),
                source_file: format!("DATA/{n}.xml"),
                observations: Vec::new(),
                claim: None,
                judgement: CheckupJudgement {
                    rule_set: "tokutei-4.1".into(),
                    guidance_level: Some("3".into()),
                    metabolic: "3".into(),
                    referral: false,
                    indicators_known: known,
                    indicators: present,
                },
            }
        })
        .collect()
}

fn cells_of(store: &Store, year: i32, rt: &tokio::runtime::Runtime) -> Vec<Cell> {
    let bits = u32::try_from(Indicator::ALL.len()).unwrap();
    rt.block_on(store.report_cells(year, bits)).unwrap()
}

fn main() {
    let target: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.replace('_', "").parse().ok())
        .unwrap_or(1_000_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut rng = Rng(2026);
    let world = world(&mut rng);
    let industry: std::collections::HashMap<(String, String), String> = world
        .insurers
        .iter()
        .zip(&world.workplaces)
        .flat_map(|((n, _), places)| {
            places.iter().map(move |(code, x)| {
                (
                    (n.clone(), code.clone()),
                    (INDUSTRIES.as_bytes()[*x] as char).to_string(),
                )
            })
        })
        .collect();
    let largest = {
        let mut prev = 0.0;
        let mut best = (0.0, 0);
        for (i, w) in world.weights.iter().enumerate() {
            if w - prev > best.0 {
                best = (w - prev, i);
            }
            prev = *w;
        }
        world.insurers[best.1].0.clone()
    };

    // The CSV DuckDB reads: the same rows.
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("checkups.csv");
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&csv).unwrap());
        writeln!(out, "id,fiscal_year,insurer_number,symbol,number,branch,exam_date,version,employer,sex,age,indicators_known,indicators").unwrap();
        let mut rng = Rng(7);
        generate(&world, &mut rng, target, |r| {
            writeln!(
                out,
                "{},{},{},1,{},00,{},1,{},{},{},{},{}",
                r.id,
                r.fiscal_year,
                r.insurer,
                r.number,
                r.exam,
                r.employer.as_deref().unwrap_or(""),
                r.sex,
                r.age,
                r.known,
                r.present
            )
            .unwrap();
        });
    }
    let duck = duckdb(&csv);

    // `duckdb-only`: DuckDB's figure alone (for a size whose store runs were made before).
    if std::env::args().any(|a| a == "duckdb-only") {
        match &duck {
            Ok((load, agg, n, p)) => println!(
                "{{\"backend\": \"duckdb\", \"checkups\": {target}, \"load_s\": {load:.2}, \"aggregate_s\": {agg:.3}, \"cells\": {n}, \"people\": {p}}}"
            ),
            Err(why) => println!(
                "{{\"backend\": \"duckdb\", \"skipped\": \"{}\"}}",
                why.replace('"', "'")
            ),
        }
        return;
    }
    let mut dbs = vec![TestDb::sqlite().unwrap()];
    if let Some(pg) = rt.block_on(TestDb::postgres()).unwrap() {
        dbs.push(pg);
    }
    for db in dbs {
        let store = rt.block_on(db.open()).unwrap();
        let t = Instant::now();
        let mut rng = Rng(7);
        let mut batch: Vec<Row> = Vec::with_capacity(1000);
        let mut loaded = 0u64;
        let rows = generate(&world, &mut rng, target, |r| {
            batch.push(r);
            if batch.len() == 1000 {
                rt.block_on(db.execute_raw(&insert_sql(&batch))).unwrap();
                loaded += batch.len() as u64;
                batch.clear();
                if loaded.is_multiple_of(100_000) {
                    eprint!("\r{}: {loaded} checkups loaded", db.backend);
                }
            }
        });
        if !batch.is_empty() {
            rt.block_on(db.execute_raw(&insert_sql(&batch))).unwrap();
        }
        if db.backend == "postgres" {
            // What autovacuum does to a table in operation after a bulk load: without it the
            // first scan (the timed refresh) sets the hint bits of every page the load wrote
            // and pays for the load's writes.
            rt.block_on(db.execute_raw("VACUUM ANALYZE checkups"))
                .unwrap();
        }
        let load = t.elapsed().as_secs_f64();
        eprintln!("\r{}: {rows} checkups loaded in {load:.1} s", db.backend);

        let t = Instant::now();
        let cells = rt.block_on(store.refresh_report_cells(None)).unwrap();
        let full = t.elapsed().as_secs_f64();

        let t = Instant::now();
        let year = cells_of(&store, 2025, &rt);
        let read = t.elapsed().as_secs_f64();
        let people: i64 = (2023..=2025)
            .map(|y| {
                cells_of(&store, y, &rt)
                    .iter()
                    .map(|c| c.people)
                    .sum::<i64>()
            })
            .sum();
        let t = Instant::now();
        let published = reports(
            2025,
            &year,
            |n| InsurerNumber::parse(n).map_or(InsurerKind::Other, |i| i.kind()),
            |i, e| industry.get(&(i.to_owned(), e.to_owned())).cloned(),
        );
        let engine = t.elapsed().as_secs_f64();

        let mut rng = Rng(99);
        let docs = archive(&largest, &mut rng);
        let insurer = InsurerNumber::parse(&largest).unwrap();
        let t = Instant::now();
        rt.block_on(async {
            let mut import = store
                .begin_checkup_import(
                    &Actor::Insurer(insurer.clone()),
                    "bench.zip",
                    OffsetDateTime::now_utc(),
                )
                .await
                .unwrap();
            import.add_batch(&docs).await.unwrap();
            import.commit().await.unwrap();
        });
        let incremental = t.elapsed().as_secs_f64();
        // The cells the import changed person by person are those a regrouping gives.
        let kept = cells_of(&store, 2025, &rt);
        let t = Instant::now();
        rt.block_on(store.refresh_report_cells(Some(2025))).unwrap();
        let year_refresh = t.elapsed().as_secs_f64();
        assert!(
            kept == cells_of(&store, 2025, &rt),
            "the import's cells differ from a regrouping on {}",
            db.backend
        );

        let duck_json = match &duck {
            Ok((load, agg, n, p)) => {
                assert_eq!(
                    (*n as u64, *p),
                    (cells, people),
                    "DuckDB and {} computed different cells",
                    db.backend
                );
                format!(
                    "{{\"load_s\": {load:.2}, \"aggregate_s\": {agg:.3}, \"cells\": {n}, \"people\": {p}}}"
                )
            }
            Err(why) => format!("\"skipped: {}\"", why.replace('"', "'")),
        };
        println!(
            "{{\"backend\": \"{}\", \"checkups\": {rows}, \"insurers\": {}, \"workplaces\": 50000, \
             \"load_s\": {load:.1}, \"full_refresh_s\": {full:.3}, \"cells\": {cells}, \"people\": {people}, \
             \"read_year_s\": {read:.3}, \"engine_year_s\": {engine:.2}, \"reports\": {}, \"sheets\": {}, \
             \"import_1000_with_cells_s\": {incremental:.3}, \"refresh_year_s\": {year_refresh:.3}, \
             \"largest_insurer\": \"{largest}\", \"duckdb\": {duck_json}}}",
            db.backend,
            world.insurers.len(),
            published.insurers.len(),
            published.workplaces.len(),
        );
        rt.block_on(store.close());
        rt.block_on(db.cleanup());
    }
}
