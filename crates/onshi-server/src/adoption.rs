//! The operator's public figures, without HTTP: the adoption dashboard read from the store,
//! and the weekly publication of public hospitals (an edition frozen once, byte for byte).
//!
//! The dashboard counts the facilities of the master (`onshi facility import`): portal
//! accounts, reader applications, readiness (installed) and operation (a first answered card
//! or smartphone check, counted by the audit writer), now by kind and prefecture, and by week
//! from the dates those steps were reached; the share of checks by channel each month; and the
//! cards of the certificate directory registered for insurance use. Week totals use today's
//! master as their denominator.

use std::collections::BTreeMap;

use time::{Date, Duration, OffsetDateTime, Weekday};

use onshi_api::operator::{
    AdoptionDashboard, AdoptionRow, AdoptionWeek, CardRegistration, MonthlyChannels,
};
use onshi_api::programme::percent;
use onshi_domain::facility::{CheckChannel, FacilityKind};
use onshi_domain::japan::{japan_date, rfc3339_japan};
use onshi_store::{Actor, AdoptionCount, AdoptionStep, Store, StoreError, WeeklyEdition};

/// The name of prefecture `n` (1–47), `?` for another number.
pub fn prefecture_name(n: i32) -> &'static str {
    onshi_domain::Prefecture::from_number(i64::from(n)).map_or("?", onshi_domain::Prefecture::name)
}

#[derive(Default, Clone, Copy)]
struct Sums {
    facilities: i64,
    portal: i64,
    applied: i64,
    ready: i64,
    operating: i64,
}

impl Sums {
    fn add(&mut self, c: &AdoptionCount) {
        self.facilities += c.facilities;
        self.portal += c.portal_accounts;
        self.applied += c.applied;
        self.ready += c.ready;
        self.operating += c.operating;
    }
    fn row(self, key: String, label: String) -> AdoptionRow {
        let rate = |n| percent(n, self.facilities);
        AdoptionRow {
            key,
            label,
            facilities: self.facilities,
            portal_accounts: self.portal,
            portal_rate: rate(self.portal),
            applied: self.applied,
            applied_rate: rate(self.applied),
            ready: self.ready,
            ready_rate: rate(self.ready),
            operating: self.operating,
            operating_rate: rate(self.operating),
        }
    }
}

/// The Sunday that ends the week of `d` (weeks run Monday to Sunday).
pub fn week_ending(d: Date) -> Date {
    let to_sunday = 6 - i64::from(d.weekday().number_days_from_monday());
    d + Duration::days(to_sunday)
}

/// The dashboard as of `now`.
pub async fn dashboard(
    store: &Store,
    now: OffsetDateTime,
) -> Result<AdoptionDashboard, StoreError> {
    let counts = store.adoption_counts().await?;
    let mut total = Sums::default();
    let mut kinds: BTreeMap<FacilityKind, Sums> = BTreeMap::new();
    let mut prefectures: BTreeMap<u8, Sums> = BTreeMap::new();
    for c in &counts {
        total.add(c);
        kinds.entry(c.kind).or_default().add(c);
        prefectures.entry(c.prefecture.number()).or_default().add(c);
    }
    let kind_rows = FacilityKind::ALL
        .iter()
        .map(|k| {
            kinds
                .get(k)
                .copied()
                .unwrap_or_default()
                .row(k.code().to_owned(), k.japanese().to_owned())
        })
        .collect();
    let prefecture_rows = prefectures
        .iter()
        .map(|(p, s)| s.row(format!("{p:02}"), prefecture_name(i32::from(*p)).to_owned()))
        .collect();
    let weeks = weekly(&store.adoption_days(false).await?, japan_date(now));
    let mut months: BTreeMap<String, [i64; 3]> = BTreeMap::new();
    for m in store.monthly_checks().await? {
        let slot = match m.channel {
            CheckChannel::Card => 0,
            CheckChannel::Smartphone => 1,
            CheckChannel::Number => 2,
        };
        months.entry(m.month).or_default()[slot] += m.checks;
    }
    let (cards, registered) = store.card_registration_counts().await?;
    Ok(AdoptionDashboard {
        as_of: rfc3339_japan(now),
        total: total.row("all".into(), "全体".into()),
        kinds: kind_rows,
        prefectures: prefecture_rows,
        weeks,
        months: months
            .into_iter()
            .map(|(month, [card, smartphone, number])| MonthlyChannels {
                month,
                card,
                smartphone,
                number,
                card_use_rate: percent(card + smartphone, card + smartphone + number),
            })
            .collect(),
        cards: CardRegistration {
            cards,
            registered,
            rate: percent(registered, cards),
        },
    })
}

/// The weekly series by prefecture (keys `01`–`47`), for the weekly CSV.
pub async fn weekly_by_prefecture(
    store: &Store,
    now: OffsetDateTime,
) -> Result<Vec<AdoptionWeek>, StoreError> {
    Ok(weekly(&store.adoption_days(true).await?, japan_date(now)))
}

/// Cumulative counts at the end of every week from the first step ever reached to the week of
/// `today`: for all facilities (`all`) and each kind, or, when the days are by prefecture, for
/// each prefecture that has any.
fn weekly(days: &[onshi_store::AdoptionDay], today: Date) -> Vec<AdoptionWeek> {
    let Some(first) = days.iter().map(|d| d.day).min() else {
        return Vec::new();
    };
    let last = week_ending(today.max(first));
    // Per key, per week: new facilities at each step.
    let mut per_week: BTreeMap<(Date, String), [i64; 4]> = BTreeMap::new();
    for d in days {
        let slot = match d.step {
            AdoptionStep::PortalAccount => 0,
            AdoptionStep::Applied => 1,
            AdoptionStep::Ready => 2,
            AdoptionStep::Operating => 3,
        };
        let week = week_ending(d.day);
        let keys = match d.prefecture {
            Some(p) => vec![format!("{:02}", p.number())],
            None => vec!["all".to_owned(), d.kind.code().to_owned()],
        };
        for key in keys {
            per_week.entry((week, key)).or_default()[slot] += d.facilities;
        }
    }
    let by_prefecture = days.iter().any(|d| d.prefecture.is_some());
    let keys: Vec<String> = if by_prefecture {
        let mut seen: Vec<u8> = days
            .iter()
            .filter_map(|d| d.prefecture.map(onshi_domain::Prefecture::number))
            .collect();
        seen.sort_unstable();
        seen.dedup();
        seen.iter().map(|p| format!("{p:02}")).collect()
    } else {
        std::iter::once("all")
            .chain(FacilityKind::ALL.iter().map(|k| k.code()))
            .map(str::to_owned)
            .collect()
    };
    let mut running: BTreeMap<&str, [i64; 4]> = keys.iter().map(|k| (k.as_str(), [0; 4])).collect();
    let mut out = Vec::new();
    let mut week = week_ending(first);
    while week <= last {
        for key in &keys {
            let sums = running.entry(key).or_default();
            if let Some(new) = per_week.get(&(week, key.clone())) {
                for (s, n) in sums.iter_mut().zip(new) {
                    *s += n;
                }
            }
            out.push(AdoptionWeek {
                week_ending: week.to_string(),
                key: key.clone(),
                portal_accounts: sums[0],
                applied: sums[1],
                ready: sums[2],
                operating: sums[3],
            });
        }
        week += Duration::weeks(1);
    }
    out
}

/// The dashboard's tables as CSV (all, each kind, each prefecture), for download.
pub fn dashboard_csv(d: &AdoptionDashboard) -> String {
    let mut out = String::from(
        "group,key,label,facilities,portal_accounts,portal_rate,applied,applied_rate,ready,ready_rate,operating,operating_rate\n",
    );
    let rate = |r: Option<f64>| r.map_or(String::new(), |r| format!("{r:.1}"));
    let rows = std::iter::once(("all", &d.total))
        .chain(d.kinds.iter().map(|r| ("kind", r)))
        .chain(d.prefectures.iter().map(|r| ("prefecture", r)));
    for (group, r) in rows {
        out += &format!(
            "{group},{},{},{},{},{},{},{},{},{},{},{}\n",
            r.key,
            csv_field(&r.label),
            r.facilities,
            r.portal_accounts,
            rate(r.portal_rate),
            r.applied,
            rate(r.applied_rate),
            r.ready,
            rate(r.ready_rate),
            r.operating,
            rate(r.operating_rate)
        );
    }
    out
}

/// The weekly series as CSV: all facilities and each kind (the dashboard's), then each
/// prefecture (`by_prefecture`).
pub fn weeks_csv(d: &AdoptionDashboard, by_prefecture: &[AdoptionWeek]) -> String {
    let mut out = String::from("week_ending,key,portal_accounts,applied,ready,operating\n");
    for w in d.weeks.iter().chain(by_prefecture) {
        out += &format!(
            "{},{},{},{},{},{}\n",
            w.week_ending, w.key, w.portal_accounts, w.applied, w.ready, w.operating
        );
    }
    out
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// SHA-256 of `bytes`, in hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes).as_ref())
}

/// The header of a weekly edition's CSV.
pub const EDITION_HEADER: &str = "code,name,prefecture,applied,applied_on,ready,ready_on";

/// Publishes the edition of the day `at` falls on in Japan: the public and public-sector
/// hospitals of the master with their reader applications, frozen as CSV with its SHA-256.
/// An edition of that day that exists already is returned as it was (`false`), never changed.
pub async fn publish_weekly(
    store: &Store,
    at: OffsetDateTime,
    actor: &Actor,
) -> Result<(WeeklyEdition, bool), StoreError> {
    let edition = japan_date(at).to_string();
    if let Some(existing) = store.edition(&edition).await? {
        return Ok((existing, false));
    }
    let mut content = String::from(EDITION_HEADER);
    content.push('\n');
    for h in store.public_hospitals().await? {
        content += &format!(
            "{},{},{:02},{},{},{},{}\n",
            h.code,
            csv_field(&h.name),
            h.prefecture,
            u8::from(h.applied_on.is_some()),
            h.applied_on.map(|d| d.to_string()).unwrap_or_default(),
            u8::from(h.installed_on.is_some()),
            h.installed_on.map(|d| d.to_string()).unwrap_or_default(),
        );
    }
    let new = WeeklyEdition {
        edition: edition.clone(),
        published_at: at,
        content_hash: sha256_hex(content.as_bytes()),
        content,
    };
    if store.save_edition(&new, actor).await? {
        Ok((new, true))
    } else {
        // Another server published the same day meanwhile: its edition stands.
        let kept = store
            .edition(&edition)
            .await?
            .ok_or(StoreError::NotFound("edition"))?;
        Ok((kept, false))
    }
}

/// One hospital of an edition, read back from its CSV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditionRow {
    /// 医療機関コード.
    pub code: String,
    /// Name.
    pub name: String,
    /// Prefecture, 1–47.
    pub prefecture: i32,
    /// Applied for readers.
    pub applied: bool,
    /// When.
    pub applied_on: String,
    /// Readers installed.
    pub ready: bool,
}

/// The rows of an edition's CSV (as [`publish_weekly`] writes it).
pub fn edition_rows(content: &str) -> Vec<EditionRow> {
    let mut out = Vec::new();
    for line in content.lines().skip(1) {
        let fields = split_csv_line(line);
        if fields.len() < 7 {
            continue;
        }
        out.push(EditionRow {
            code: fields[0].clone(),
            name: fields[1].clone(),
            prefecture: fields[2].parse().unwrap_or(0),
            applied: fields[3] == "1",
            applied_on: fields[4].clone(),
            ready: fields[5] == "1",
        });
    }
    out
}

fn split_csv_line(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// Whether a server should publish at `now`: it is the publication weekday in Japan and there
/// is no edition of today yet.
pub async fn due(store: &Store, now: OffsetDateTime, weekday: Weekday) -> Result<bool, StoreError> {
    let today = japan_date(now);
    Ok(today.weekday() == weekday && store.edition(&today.to_string()).await?.is_none())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn weeks_end_on_sunday() {
        assert_eq!(week_ending(date!(2020 - 12 - 13)), date!(2020 - 12 - 13));
        assert_eq!(week_ending(date!(2020 - 12 - 14)), date!(2020 - 12 - 20));
        assert_eq!(week_ending(date!(2020 - 12 - 09)), date!(2020 - 12 - 13));
    }

    #[test]
    fn an_edition_reads_back_its_rows_with_quoted_names() {
        let content = format!(
            "{EDITION_HEADER}\n0111111111,{},01,1,2020-12-01,0,\n",
            csv_field("病院, \"本院\"")
        );
        let rows = edition_rows(&content);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].name, "病院, \"本院\"");
        assert!(rows[0].applied && !rows[0].ready);
        assert_eq!(rows[0].applied_on, "2020-12-01");
    }
}
