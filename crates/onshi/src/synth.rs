//! A synthetic population for demos and benchmarks: a realistic mix of insurers (協会けんぽ,
//! 健康保険組合, 国保, 共済, 後期高齢者), households with dependants sharing a card number under
//! their own 枝番, valid check digits throughout, and people who moved from one insurer to
//! another (the old qualification ended, the new one linked by the same My Number).
//!
//! Generation is deterministic for a seed and streams row by row, so any size fits in memory.
//! Every name is made up from common name parts; no real person is described.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use time::{Date, Duration};

use onshi_domain::{InsurerNumber, MyNumber, Prefecture};

use crate::CliError;
use crate::import::Encoding;

/// The demo insurers: (number without check digit, name). The check digit is computed.
const INSURERS: [(&str, &str, u32); 9] = [
    ("0113001", "全国健康保険協会 東京支部", 30),
    ("0127001", "全国健康保険協会 大阪支部", 15),
    ("0613001", "オンシ商事健康保険組合", 10),
    ("0627002", "なにわ電機健康保険組合", 8),
    ("3113001", "試験省共済組合", 5),
    ("13811", "東京都世田谷区 国民健康保険", 15),
    ("27101", "大阪府大阪市 国民健康保険", 10),
    ("3913001", "東京都後期高齢者医療広域連合", 5),
    ("3927001", "大阪府後期高齢者医療広域連合", 2),
];

/// Industries (JSIC major group letters) with weights near the national mix of employees:
/// manufacturing, trade, health and welfare, construction and transport first.
const INDUSTRY_WEIGHTS: [(char, u32); 20] = [
    ('A', 1),
    ('B', 1),
    ('C', 1),
    ('D', 8),
    ('E', 16),
    ('F', 1),
    ('G', 5),
    ('H', 6),
    ('I', 16),
    ('J', 3),
    ('K', 2),
    ('L', 4),
    ('M', 6),
    ('N', 3),
    ('O', 5),
    ('P', 13),
    ('Q', 1),
    ('R', 6),
    ('S', 1),
    ('T', 1),
];

/// The industry of the synthetic workplace `code` of `insurer`: drawn once from the national
/// mix, the same on every run.
pub fn industry_of(insurer: &str, code: &str) -> char {
    // FNV-1a: stable across platforms and releases.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in insurer.bytes().chain([b'/']).chain(code.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let total: u32 = INDUSTRY_WEIGHTS.iter().map(|(_, w)| w).sum();
    let mut r = (h % u64::from(total)) as u32;
    for (letter, w) in INDUSTRY_WEIGHTS {
        if r < w {
            return letter;
        }
        r -= w;
    }
    'T'
}

/// How large a world `onshi gen` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Scale {
    /// The demo's nine insurers of Tokyo and Osaka.
    #[default]
    Demo,
    /// The national mix: 1,400 insurers of every kind (47 協会けんぽ branches, 953 健康保険組合,
    /// 80 共済組合, 273 国民健康保険, 47 後期高齢者医療広域連合), with 49,234 workplaces of the
    /// employee insurers.
    National,
}

/// A synthetic insurer: its number, name, 都道府県, share of people (a weight among insurers of
/// the same kind) and how many workplaces (記号 1000 on) its employees are spread over.
#[derive(Debug, Clone)]
pub struct SynthInsurer {
    /// 保険者番号 with its check digit.
    pub number: InsurerNumber,
    /// The made-up name.
    pub name: String,
    /// 都道府県 code, 1–47.
    pub prefecture: u8,
    weight: u32,
    workplaces: u32,
}

/// The insurers of `scale`, employee insurers first (協会けんぽ, 健康保険組合, 共済組合), then
/// 国民健康保険 and 後期高齢者医療.
pub fn synth_insurers(scale: Scale) -> Vec<SynthInsurer> {
    let insurer = |data: String, name: String, prefecture: u8, weight: u32, workplaces: u32| {
        InsurerNumber::from_data_digits(&data)
            .ok()
            .map(|number| SynthInsurer {
                number,
                name,
                prefecture,
                weight,
                workplaces,
            })
    };
    match scale {
        Scale::Demo => INSURERS
            .iter()
            .filter_map(|(data, name, weight)| {
                let osaka = name.contains("大阪") || name.contains("なにわ");
                insurer(
                    (*data).to_owned(),
                    (*name).to_owned(),
                    if osaka { 27 } else { 13 },
                    *weight,
                    9000,
                )
            })
            .collect(),
        Scale::National => {
            // People: 協会けんぽ 33 %, 健康保険組合 23 %, 共済 7 %, 国保 23 % (and 後期高齢者 of
            // their own draw), each kind's share spread unevenly over its insurers; 49,234
            // workplaces: 640 per 協会けんぽ branch, 18 per society, 25 per 共済組合.
            let pref = |i: usize| (i % 47) as u8 + 1;
            let pname = |p: u8| Prefecture::from_number(i64::from(p)).map_or("", Prefecture::name);
            let short = |p: u8| {
                let n = pname(p);
                if p == 1 {
                    n
                } else {
                    n.trim_end_matches(['都', '府', '県'])
                }
            };
            let mut out = Vec::with_capacity(1_400);
            for i in 0..47 {
                let p = pref(i);
                out.extend(insurer(
                    format!("01{p:02}001"),
                    format!("全国健康保険協会 {}支部", short(p)),
                    p,
                    851,
                    640,
                ));
            }
            for i in 0..953 {
                let (p, serial) = (pref(i), i / 47 + 1);
                out.extend(insurer(
                    format!("06{p:02}{serial:03}"),
                    format!("{}第{serial}健康保険組合", pname(p)),
                    p,
                    6 + (i as u32 * 7919) % 49,
                    18,
                ));
            }
            for i in 0..80 {
                let (p, serial) = (pref(i), i / 47 + 1);
                out.extend(insurer(
                    format!("{}{p:02}{serial:03}", 31 + i % 4),
                    format!("{}第{serial}共済組合", pname(p)),
                    p,
                    100,
                    25,
                ));
            }
            for i in 0..273 {
                let (p, serial) = (pref(i), i / 47 + 1);
                out.extend(insurer(
                    format!("{p:02}{serial:03}"),
                    format!("{}第{serial}市町村 国民健康保険", pname(p)),
                    p,
                    16 + (i as u32 * 104_729) % 129,
                    0,
                ));
            }
            for i in 0..47 {
                let p = pref(i);
                out.extend(insurer(
                    format!("39{p:02}001"),
                    format!("{}後期高齢者医療広域連合", pname(p)),
                    p,
                    100,
                    0,
                ));
            }
            out
        }
    }
}

/// The demo insurers with their check digits, and names.
pub fn insurers() -> Vec<(InsurerNumber, String)> {
    synth_insurers(Scale::Demo)
        .into_iter()
        .map(|i| (i.number, i.name))
        .collect()
}

/// A workplace of a synthetic world, as `onshi gen employers` writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthWorkplace {
    /// Its insurer.
    pub insurer: InsurerNumber,
    /// 事業所コード: the 記号 its employees' cards carry.
    pub code: String,
    /// The made-up name.
    pub name: String,
    /// 業態 (JSIC major group letter), from [`industry_of`].
    pub industry: char,
    /// 都道府県 code: the insurer's.
    pub prefecture: u8,
}

/// The demo registers the largest `DEMO_WORKPLACES` workplaces of each employee insurer (the
/// population puts about a tenth of an insurer's employees in 記号 1000).
pub const DEMO_WORKPLACES: u32 = 8;

/// The workplaces of `scale` to register: at demo scale the largest [`DEMO_WORKPLACES`] of each
/// employee insurer, nationally every workplace the population can put employees in.
pub fn workplaces(scale: Scale) -> Vec<SynthWorkplace> {
    let mut out = Vec::new();
    for i in synth_insurers(scale) {
        let count = match scale {
            Scale::Demo if i.workplaces > 0 && employee_insurer(&i.number) => DEMO_WORKPLACES,
            Scale::Demo => 0,
            Scale::National => i.workplaces,
        };
        for code in 1000..1000 + count {
            let code = code.to_string();
            out.push(SynthWorkplace {
                industry: industry_of(i.number.as_str(), &code),
                name: match scale {
                    Scale::Demo => format!("デモ事業所{code}（{}）", i.name),
                    Scale::National => format!("事業所{code}（{}）", i.name),
                },
                insurer: i.number.clone(),
                code,
                prefecture: i.prefecture,
            });
        }
    }
    out
}

/// Whether `n` insures employees (and so has workplaces).
fn employee_insurer(n: &InsurerNumber) -> bool {
    !matches!(
        n.kind(),
        onshi_domain::InsurerKind::NationalHealthInsurance
            | onshi_domain::InsurerKind::LateStageElderly
    )
}

const SURNAMES: [(&str, &str); 20] = [
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"),
    ("山本", "ヤマモト"),
    ("中村", "ナカムラ"),
    ("小林", "コバヤシ"),
    ("加藤", "カトウ"),
    ("吉田", "ヨシダ"),
    ("山田", "ヤマダ"),
    ("佐々木", "ササキ"),
    ("山口", "ヤマグチ"),
    ("松本", "マツモト"),
    ("井上", "イノウエ"),
    ("木村", "キムラ"),
    ("林", "ハヤシ"),
    ("斎藤", "サイトウ"),
    ("清水", "シミズ"),
];
const MALE: [(&str, &str); 10] = [
    ("太郎", "タロウ"),
    ("翔", "ショウ"),
    ("大輔", "ダイスケ"),
    ("健一", "ケンイチ"),
    ("蓮", "レン"),
    ("拓也", "タクヤ"),
    ("誠", "マコト"),
    ("悠真", "ユウマ"),
    ("浩", "ヒロシ"),
    ("湊", "ミナト"),
];
const FEMALE: [(&str, &str); 10] = [
    ("花子", "ハナコ"),
    ("陽菜", "ヒナ"),
    ("美咲", "ミサキ"),
    ("結衣", "ユイ"),
    ("恵子", "ケイコ"),
    ("さくら", "サクラ"),
    ("愛", "アイ"),
    ("葵", "アオイ"),
    ("由美", "ユミ"),
    ("凛", "リン"),
];

/// SplitMix64: small, fast, and the same on every platform.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Standard normal (Box–Muller).
    pub(crate) fn normal(&mut self) -> f64 {
        let u = self.unit().max(1e-12);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
    /// True with probability `p` (0–1).
    pub(crate) fn with_probability(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

/// One generated member row, in the column order of the member file.
#[derive(Debug, Clone)]
pub struct Row {
    /// One value per column of [`HEADER`].
    pub values: [String; HEADER.len()],
}

/// The header of generated files: the member file's first twenty columns (through the 限度額
/// certificate) and `employer`. The card columns are left out, so generated files stay near the
/// size the import benchmarks were measured with; results show the card's defaults (class 01,
/// valid from the qualification's start). An employee's employer code is the card's 記号, as
/// most employee insurers number their 事業所; members of 国保 and 後期高齢者 have none.
pub const HEADER: [&str; 21] = {
    let mut header = [""; 21];
    let mut i = 0;
    while i < 20 {
        header[i] = onshi_domain::import::COLUMNS[i];
        i += 1;
    }
    header[20] = "employer";
    header
};

/// Streams a population of `count` member rows.
pub struct Population {
    rng: Rng,
    /// Draws for 限度額 certificates, apart from `rng` so that adding them did not change the
    /// rest of a seed's population.
    limit_rng: Rng,
    today: Date,
    insurers: Vec<(InsurerNumber, u32)>,
    /// Per insurer, how many workplaces its employees are spread over.
    workplaces: Vec<u32>,
    /// The employee insurers, which come first.
    employee_insurers: usize,
    weight_total: u32,
    next_number: Vec<u64>,
    person: u64,
    pending: std::collections::VecDeque<Row>,
    remaining: u64,
}

impl Population {
    /// A population of `count` rows as of `today`, from `seed`, of the demo's insurers.
    pub fn new(count: u64, seed: u64, today: Date) -> Self {
        Self::of_scale(count, seed, today, Scale::Demo)
    }

    /// A population of `count` rows as of `today`, from `seed`, of the insurers of `scale`.
    pub fn of_scale(count: u64, seed: u64, today: Date, scale: Scale) -> Self {
        let synth = synth_insurers(scale);
        let insurers: Vec<(InsurerNumber, u32)> =
            synth.iter().map(|i| (i.number.clone(), i.weight)).collect();
        let workplaces = synth.iter().map(|i| i.workplaces.max(1)).collect();
        let employee_insurers = synth
            .iter()
            .filter(|i| employee_insurer(&i.number))
            .count()
            .max(1);
        let weight_total = insurers.iter().map(|(_, w)| w).sum();
        let next_number = vec![1; insurers.len()];
        Self {
            rng: Rng(seed),
            limit_rng: Rng(seed ^ 0x6c69_6d69_7400_0001),
            today,
            insurers,
            workplaces,
            employee_insurers,
            weight_total,
            next_number,
            person: 0,
            pending: Default::default(),
            remaining: count,
        }
    }

    fn my_number(&mut self) -> String {
        // Distinct for every person: the person counter spread over 11 digits, plus check digit.
        self.person += 1;
        let mut first = [0u8; 11];
        let mut n = self.person.wrapping_mul(2_654_435_761) % 100_000_000_000;
        for d in first.iter_mut().rev() {
            *d = (n % 10) as u8;
            n /= 10;
        }
        if first[0] == 0 {
            first[0] = 1 + (self.person % 9) as u8;
        }
        let check = MyNumber::check_digit(&first);
        first
            .iter()
            .map(|d| char::from(b'0' + d))
            .chain(std::iter::once(char::from(b'0' + check)))
            .collect()
    }

    fn pick_insurer(&mut self, kind: fn(&InsurerNumber) -> bool) -> usize {
        loop {
            let mut r = self.rng.below(u64::from(self.weight_total)) as u32;
            for (i, (n, w)) in self.insurers.iter().enumerate() {
                if r < *w {
                    if kind(n) {
                        return i;
                    }
                    break;
                }
                r -= w;
            }
        }
    }

    fn birth(&mut self, age_from: i64, age_to: i64) -> Date {
        let days =
            (age_from * 365) + self.rng.below(((age_to - age_from).max(1) * 365) as u64) as i64;
        self.today - Duration::days(days)
    }

    fn household(&mut self) {
        use onshi_domain::InsurerKind::*;
        let elderly = self.rng.chance(12);
        let (surname, surname_kana) = SURNAMES[self.rng.below(20) as usize];
        let head_male = self.rng.chance(70);
        if elderly {
            // 後期高齢者: one card per person, no 記号 and no 枝番.
            let i = self.pick_insurer(|n| n.kind() == LateStageElderly);
            let birth = self.birth(75, 95);
            let from = birth + Duration::days(75 * 365 + 19);
            let copay = if self.rng.chance(80) {
                "10"
            } else if self.rng.chance(50) {
                "20"
            } else {
                "30"
            };
            // One card per person: no 記号, no 枝番, a number of its own.
            self.push_family(
                i,
                "",
                None,
                "",
                surname,
                surname_kana,
                head_male,
                birth,
                "1",
                from.max(date_floor()),
                copay,
            );
            return;
        }
        let employee = self.rng.chance(75);
        let i = if employee {
            self.pick_insurer(|n| {
                n.kind() != NationalHealthInsurance && n.kind() != LateStageElderly
            })
        } else {
            self.pick_insurer(|n| n.kind() == NationalHealthInsurance)
        };
        let symbol = if employee {
            // Workplaces of very different sizes: 記号 1000 holds about a tenth of an insurer's
            // employees, the next few hundreds each, most a handful (u⁴ of one draw).
            let u = self.rng.unit();
            format!(
                "{}",
                1000 + (f64::from(self.workplaces[i]) * u.powi(4)) as u64
            )
        } else {
            format!("{:02}", self.rng.below(99) + 1)
        };
        let head_birth = self.birth(22, 70);
        let hired = (head_birth + Duration::days(22 * 365 + self.rng.below(365 * 15) as i64))
            .max(date_floor());
        let moved = employee && self.rng.chance(5);
        let from = if moved {
            // Changed jobs (and insurer) within the last three years.
            let change = self.today - Duration::days(1 + self.rng.below(3 * 365) as i64);
            let old = self.pick_insurer(|n| {
                n.kind() != NationalHealthInsurance && n.kind() != LateStageElderly
            });
            let old = if old == i {
                (i + 1) % self.employee_insurers
            } else {
                old
            };
            let my_number = self.my_number();
            let until = change - Duration::days(1);
            let old_symbol = format!("{}", 1000 + self.rng.below(u64::from(self.workplaces[old])));
            self.push_row(
                old,
                None,
                &old_symbol,
                "00",
                surname,
                surname_kana,
                head_male,
                head_birth,
                "1",
                hired.min(until - Duration::days(730)),
                &until.to_string(),
                "30",
                &my_number,
                "03",
            );
            self.push_row(
                i,
                None,
                &symbol,
                "00",
                surname,
                surname_kana,
                head_male,
                head_birth,
                "1",
                change,
                "",
                "30",
                &my_number,
                "",
            );
            return;
        } else {
            hired
        };
        let age = |b: Date, today: Date| (today - b).whole_days() / 365;
        let head_copay = if age(head_birth, self.today) >= 70 {
            "20"
        } else {
            "30"
        };
        let number = self.take_number(i);
        self.push_family(
            i,
            &symbol,
            Some(&number),
            "00",
            surname,
            surname_kana,
            head_male,
            head_birth,
            "1",
            from,
            head_copay,
        );
        let mut branch = 1;
        if self.rng.chance(55) {
            let spouse_birth = (head_birth + Duration::days(self.rng.below(3000) as i64 - 1500))
                .min(self.today - Duration::days(18 * 365));
            self.push_family(
                i,
                &symbol,
                Some(&number),
                &format!("{branch:02}"),
                surname,
                surname_kana,
                !head_male,
                spouse_birth,
                "2",
                from,
                "30",
            );
            branch += 1;
        }
        let children = self.rng.below(3);
        for _ in 0..children {
            let child_birth = self.birth(0, 20);
            let child_from = from.max(child_birth);
            let preschool = age(child_birth, self.today) < 6;
            let male = self.rng.chance(50);
            self.push_family(
                i,
                &symbol,
                Some(&number),
                &format!("{branch:02}"),
                surname,
                surname_kana,
                male,
                child_birth,
                "2",
                child_from,
                if preschool { "20" } else { "30" },
            );
            branch += 1;
        }
    }

    fn take_number(&mut self, insurer: usize) -> String {
        let n = self.next_number[insurer];
        self.next_number[insurer] += 1;
        format!("{n}")
    }

    #[allow(clippy::too_many_arguments)]
    fn push_family(
        &mut self,
        i: usize,
        symbol: &str,
        number: Option<&str>,
        branch: &str,
        surname: &str,
        kana: &str,
        male: bool,
        birth: Date,
        rel: &str,
        from: Date,
        copay: &str,
    ) {
        let my_number = if self.rng.chance(95) {
            self.my_number()
        } else {
            String::new()
        };
        self.push_row(
            i,
            number.map(str::to_owned),
            symbol,
            branch,
            surname,
            kana,
            male,
            birth,
            rel,
            from,
            "",
            copay,
            &my_number,
            "",
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn push_row(
        &mut self,
        i: usize,
        number: Option<String>,
        symbol: &str,
        branch: &str,
        surname: &str,
        kana: &str,
        male: bool,
        birth: Date,
        rel: &str,
        from: Date,
        until: &str,
        copay: &str,
        my_number: &str,
        loss: &str,
    ) {
        let number = match number {
            Some(n) => n,
            None if self.insurers[i].0.kind() == onshi_domain::InsurerKind::LateStageElderly => {
                format!("{:08}", self.take_number(i).parse::<u64>().unwrap_or(0))
            }
            None => self.take_number(i),
        };
        // The given name follows from the person (surname, birth date, sex), so the two rows of
        // someone who changed insurer carry the same name.
        let pick = (birth.to_julian_day().unsigned_abs() as usize + surname.len()) % 10;
        let (given, given_kana) = if male { MALE[pick] } else { FEMALE[pick] };
        let limit = if until.is_empty() {
            self.limit_certificate(birth, from.max(birth))
        } else {
            Default::default()
        };
        let [l0, l1, l2, l3, l4, l5] = limit;
        let employer = if matches!(
            self.insurers[i].0.kind(),
            onshi_domain::InsurerKind::NationalHealthInsurance
                | onshi_domain::InsurerKind::LateStageElderly
        ) {
            String::new()
        } else {
            symbol.to_owned()
        };
        self.pending.push_back(Row {
            values: [
                self.insurers[i].0.to_string(),
                symbol.to_owned(),
                number,
                branch.to_owned(),
                format!("{surname} {given}"),
                format!("{kana} {given_kana}"),
                birth.to_string(),
                if male { "1" } else { "2" }.to_owned(),
                rel.to_owned(),
                from.max(birth).to_string(),
                until.to_owned(),
                copay.to_owned(),
                my_number.to_owned(),
                loss.to_owned(),
                l0,
                l1,
                l2,
                l3,
                l4,
                l5,
                employer,
            ],
        });
    }

    /// About 3 % of current members hold a 限度額適用認定証, valid for a year from a recent start;
    /// the bracket follows the age (ア–オ under 70, 現役並み–低所得 from 70), and low-income
    /// brackets get the 限度額適用・標準負担額減額 kind.
    fn limit_certificate(&mut self, birth: Date, qualified_from: Date) -> [String; 6] {
        if !self.limit_rng.chance(3) {
            return Default::default();
        }
        let age = (self.today - birth).whole_days() / 365;
        let bracket = if age >= 70 {
            ["B01", "B02", "B03", "B04", "B05", "B06", "B09", "B10"]
                [self.limit_rng.below(8) as usize]
        } else {
            ["A01", "A02", "A03", "A04", "A05"][self.limit_rng.below(5) as usize]
        };
        let class = if matches!(bracket, "A05" | "B05" | "B06") {
            "02"
        } else {
            "01"
        };
        let from =
            (self.today - Duration::days(self.limit_rng.below(300) as i64)).max(qualified_from);
        let long_term = if class == "02" && self.limit_rng.chance(10) {
            (from + Duration::days(91)).to_string()
        } else {
            String::new()
        };
        [
            class.to_owned(),
            bracket.to_owned(),
            from.to_string(),
            from.to_string(),
            (from + Duration::days(364)).to_string(),
            long_term,
        ]
    }
}

fn date_floor() -> Date {
    // Qualifications in the demo start no earlier than this (the registry's own history).
    Date::from_ordinal_date(2000, 1).unwrap_or(Date::MIN)
}

impl Iterator for Population {
    type Item = Row;
    fn next(&mut self) -> Option<Row> {
        if self.remaining == 0 {
            return None;
        }
        while self.pending.is_empty() {
            self.household();
        }
        self.remaining -= 1;
        self.pending.pop_front()
    }
}

/// Writes rows as a member file in `encoding`, with the header. Returns the number of rows.
pub fn write_csv(
    rows: impl Iterator<Item = Row>,
    path: &Path,
    encoding: Encoding,
) -> Result<u64, CliError> {
    let io_err = |e: std::io::Error| CliError::Io(path.display().to_string(), e);
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(io_err)?;
    }
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path).map_err(io_err)?);
    let mut line = String::with_capacity(256);
    let mut write_line = |fields: &mut dyn Iterator<Item = &str>,
                          out: &mut BufWriter<File>|
     -> std::io::Result<()> {
        line.clear();
        for (i, f) in fields.enumerate() {
            if i > 0 {
                line.push(',');
            }
            line.push_str(f); // generated values never hold commas, quotes or newlines
        }
        line.push_str("\r\n");
        match encoding {
            Encoding::Utf8 => out.write_all(line.as_bytes()),
            Encoding::Cp932 => out.write_all(&encoding_rs::SHIFT_JIS.encode(&line).0),
        }
    };
    write_line(&mut HEADER.iter().copied(), &mut out).map_err(io_err)?;
    let mut n = 0;
    for row in rows {
        write_line(&mut row.values.iter().map(String::as_str), &mut out).map_err(io_err)?;
        n += 1;
    }
    out.flush().map_err(io_err)?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use onshi_domain::MemberInput;
    use time::macros::date;

    /// The national scale: 1,400 insurers of the five kinds with distinct valid numbers, about 50,000 workplaces in every industry, and a
    /// population spread over them (every row's insurer one of them, its workplace one of its
    /// insurer's), while the demo scale is the nine insurers it always was.
    #[test]
    fn the_national_scale_has_every_kind_of_insurer_and_fifty_thousand_workplaces() {
        use onshi_domain::InsurerKind::*;
        let national = synth_insurers(Scale::National);
        let kinds = |k| national.iter().filter(|i| i.number.kind() == k).count();
        assert_eq!(
            (
                kinds(KyokaiKenpo),
                kinds(HealthInsuranceSociety),
                kinds(MutualAid),
                kinds(NationalHealthInsurance),
                kinds(LateStageElderly),
            ),
            (47, 953, 80, 273, 47)
        );
        let numbers: std::collections::HashSet<String> =
            national.iter().map(|i| i.number.to_string()).collect();
        assert_eq!(numbers.len(), 1_400, "numbers are distinct");
        assert!(
            national
                .iter()
                .any(|i| i.name == "全国健康保険協会 東京支部")
        );
        assert!(
            national
                .iter()
                .any(|i| i.name == "全国健康保険協会 北海道支部")
        );

        let places = workplaces(Scale::National);
        assert_eq!(places.len(), 49_234);
        let industries: std::collections::HashSet<char> =
            places.iter().map(|w| w.industry).collect();
        assert_eq!(industries.len(), 20, "every industry");
        let place_keys: std::collections::HashSet<(String, String)> = places
            .iter()
            .map(|w| (w.insurer.to_string(), w.code.clone()))
            .collect();

        let rows: Vec<Row> =
            Population::of_scale(30_000, 3, date!(2026 - 11 - 01), Scale::National).collect();
        let mut used = std::collections::HashSet::new();
        let mut at_workplace = 0;
        for row in &rows {
            let v = &row.values;
            assert!(numbers.contains(&v[0]), "{}", v[0]);
            used.insert(v[0].clone());
            if !v[20].is_empty() {
                assert!(
                    place_keys.contains(&(v[0].clone(), v[20].clone())),
                    "{} {}",
                    v[0],
                    v[20]
                );
                at_workplace += 1;
            }
        }
        assert!(used.len() > 1_000, "{} insurers have members", used.len());
        assert!(at_workplace > 10_000, "{at_workplace}");

        assert_eq!(insurers().len(), 9);
        assert_eq!(workplaces(Scale::Demo).len(), 40);
    }

    #[test]
    fn every_generated_row_is_valid_and_card_keys_are_unique() {
        let mut keys = std::collections::HashSet::new();
        let mut linked_people = std::collections::HashMap::<String, u32>::new();
        let mut names = std::collections::HashMap::<String, String>::new();
        let rows: Vec<Row> = Population::new(20_000, 7, date!(2026 - 11 - 01)).collect();
        assert_eq!(rows.len(), 20_000);
        for row in &rows {
            let v = &row.values;
            let input = MemberInput {
                insurer_number: &v[0],
                symbol: &v[1],
                number: &v[2],
                branch: &v[3],
                name: &v[4],
                name_kana: &v[5],
                birth_date: &v[6],
                sex: &v[7],
                relationship: &v[8],
                qualified_from: &v[9],
                qualified_until: &v[10],
                copay_ratio: &v[11],
                my_number: &v[12],
                loss_reason: &v[13],
                limit: onshi_domain::LimitInput::from_columns([
                    &v[14], &v[15], &v[16], &v[17], &v[18], &v[19],
                ]),
                card: Default::default(),
                employer: &v[20],
            };
            let m = input
                .validate()
                .unwrap_or_else(|e| panic!("{e:?} in {v:?}"));
            assert!(keys.insert(m.key.clone()), "duplicate key {v:?}");
            if !v[12].is_empty() {
                *linked_people.entry(v[12].clone()).or_default() += 1;
                let first = names.entry(v[12].clone()).or_insert_with(|| v[4].clone());
                assert_eq!(*first, v[4], "one person, one name across insurers");
            }
        }
        let with_limit = rows.iter().filter(|r| !r.values[14].is_empty()).count();
        assert!(
            (300..900).contains(&with_limit),
            "about 3 % hold a 限度額 certificate ({with_limit})"
        );
        let movers = linked_people.values().filter(|&&n| n == 2).count();
        assert!(movers > 50, "some people changed insurer ({movers})");
        assert!(linked_people.values().all(|&n| n <= 2));
        let same: Vec<String> = Population::new(100, 7, date!(2026 - 11 - 01))
            .map(|r| r.values.join(","))
            .collect();
        let again: Vec<String> = Population::new(100, 7, date!(2026 - 11 - 01))
            .map(|r| r.values.join(","))
            .collect();
        assert_eq!(same, again, "deterministic for a seed");
    }
}
