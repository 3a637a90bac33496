//! An insurer's programme counts for a fiscal year (who should be examined, who was, the
//! guidance targets and what guidance happened), at each bound, and the guidance record's
//! refusals, on both backends.

use crate::common::*;
use onshi_domain::AuditAction;
use onshi_store::{CheckupJudgement, GuidanceEvent, NewCheckup, ProgrammeCounts, StoreError};
use time::Date;
use time::macros::date;

fn judged(m: &onshi_domain::ValidMember, exam: Date, level: &str, metabolic: &str) -> NewCheckup {
    NewCheckup {
        key: m.key.clone(),
        birth_date: m.details.birth_date.0,
        sex: 2,
        name_kana: "ｼｹﾝ ﾊﾅｺ".into(),
        institution: "5521111111".into(),
        exam_date: exam,
        report_kind: "10".into(),
        program: "010".into(),
        source_file: format!("DATA/h{}{exam}.xml", m.key.number.as_str()),
        observations: Vec::new(),
        claim: None,
        judgement: CheckupJudgement {
            rule_set: "tokutei-4.1".into(),
            guidance_level: Some(level.into()),
            metabolic: metabolic.into(),
            referral: level == "1",
            indicators_known: 0,
            indicators: 0,
        },
    }
}

#[tokio::test]
async fn programme_counts_follow_the_registry_and_the_guidance_record() {
    for db in TestDb::all().await.unwrap() {
        let store = with_insurers(&db).await;
        let ins = actor(&kyokai());
        // (number, born, member from, member until): FY2024 runs 2024-04-01 to 2025-03-31.
        let people = [
            ("1", date!(1970 - 06 - 01), "2020-04-01", ""), // 54: eligible
            ("2", date!(1985 - 04 - 01), "2020-04-01", ""), // reaches 40 on 2025-03-31
            ("3", date!(1985 - 04 - 02), "2020-04-01", ""), // 39 at the year's end
            ("4", date!(1950 - 04 - 02), "2020-04-01", ""), // 74 until 2025-03-31
            ("5", date!(1950 - 04 - 01), "2020-04-01", ""), // 75 on 2025-03-31
            ("6", date!(1970 - 06 - 01), "2024-04-02", ""), // joined a day late
            ("7", date!(1970 - 06 - 01), "2020-04-01", "2025-03-30"), // left a day early
            ("8", date!(1970 - 06 - 01), "2020-04-01", "2025-03-31"), // stayed the year
        ];
        let mut members = std::collections::HashMap::new();
        for (number, born, from, until) in people {
            let mut m = member("01130012", number, from, until, "");
            m.details.birth_date = onshi_domain::Personal(born);
            store
                .create_member(&ins, &m.key, &m.details, T0)
                .await
                .unwrap();
            members.insert(number, m);
        }
        let mut import = store.begin_checkup_import(&ins, "a.zip", T0).await.unwrap();
        for c in [
            judged(&members["1"], date!(2024 - 06 - 01), "1", "1"),
            // Two checkups: the later one counts.
            judged(&members["2"], date!(2024 - 05 - 01), "1", "1"),
            judged(&members["2"], date!(2024 - 10 - 01), "2", "2"),
            judged(&members["3"], date!(2024 - 06 - 01), "1", "1"), // not eligible
            judged(&members["4"], date!(2024 - 06 - 01), "3", "3"),
            judged(&members["1"], date!(2024 - 03 - 31), "4", "4"), // FY2023
        ] {
            import.add(&c).await.unwrap();
        }
        import.commit().await.unwrap();

        let counts = store.programme_counts(&kyokai(), 2024).await.unwrap();
        assert_eq!(
            counts,
            ProgrammeCounts {
                eligible: 4, // 1, 2, 4, 8
                examined: 3, // 1, 2, 4
                active: 1,
                motivational: 1,
                undeterminable: 0,
                referrals: 1, // 1's; 2's later checkup has none
                metabolic: 1,
                metabolic_reserve: 1,
                started: 0,
                completed: 0,
                dropped_out: 0,
            },
            "{}",
            db.backend
        );

        // Guidance: 1 starts and completes; 2 starts and drops out; 4 (not a target) is
        // recorded as completed but does not count.
        let record = |n: &str, event, on| {
            let store = store.clone();
            let key = members[n].key.clone();
            let ins = ins.clone();
            async move { store.record_guidance(&ins, &key, 2024, event, on, T1).await }
        };
        record("1", GuidanceEvent::FirstInterview, date!(2024 - 08 - 01))
            .await
            .unwrap();
        // Ending before the first interview, refused.
        let early = record("1", GuidanceEvent::Completed, date!(2024 - 07 - 01)).await;
        assert!(
            matches!(&early, Err(StoreError::Conflict(m)) if m.contains("before its first interview")),
            "{early:?}"
        );
        record("1", GuidanceEvent::Completed, date!(2025 - 02 - 01))
            .await
            .unwrap();
        record("2", GuidanceEvent::FirstInterview, date!(2024 - 11 - 01))
            .await
            .unwrap();
        record("2", GuidanceEvent::DroppedOut, date!(2025 - 01 - 10))
            .await
            .unwrap();
        let both = record("2", GuidanceEvent::Completed, date!(2025 - 03 - 01)).await;
        assert!(
            matches!(&both, Err(StoreError::Conflict(m)) if m.contains("already recorded as dropped_out")),
            "{both:?}"
        );
        record("4", GuidanceEvent::Completed, date!(2025 - 03 - 01))
            .await
            .unwrap();
        // Recorded again: the date moves, nothing doubles.
        record("1", GuidanceEvent::FirstInterview, date!(2024 - 08 - 02))
            .await
            .unwrap();
        let nobody = member("01130012", "99", "2020-04-01", "", "");
        let missing = store
            .record_guidance(
                &ins,
                &nobody.key,
                2024,
                GuidanceEvent::Completed,
                date!(2025 - 01 - 01),
                T1,
            )
            .await;
        assert!(matches!(missing, Err(StoreError::NotFound("member"))));

        let counts = store.programme_counts(&kyokai(), 2024).await.unwrap();
        assert_eq!(
            (counts.started, counts.completed, counts.dropped_out),
            (2, 1, 1)
        );
        // Every insurer's rate counts agree with the programme's.
        let rates = store.rate_counts(2024).await.unwrap();
        assert_eq!(
            rates.get("01130012"),
            Some(&onshi_store::RateCounts {
                eligible: 4,
                examined: 3,
                targets: 2,
                completed: 1,
            }),
            "{}",
            db.backend
        );
        assert_eq!(
            rates.len(),
            1,
            "insurers without eligible members are absent"
        );
        // Another year has its own counts.
        let fy2023 = store.programme_counts(&kyokai(), 2023).await.unwrap();
        assert_eq!((fy2023.examined, fy2023.undeterminable), (1, 1));
        assert_eq!(
            store
                .audit_of_action(AuditAction::RecordGuidance)
                .await
                .unwrap()
                .len(),
            6,
            "each recorded event, none of the refused"
        );
        db.cleanup().await;
    }
}

/// The report cells count each person's latest judged checkup of the year aged 40–74, by
/// insurer, workplace, sex and age band, with each indicator bit known and present.
#[tokio::test]
async fn report_cells_count_latest_checkups_by_group() {
    for db in TestDb::all().await.unwrap() {
        let store = with_insurers(&db).await;
        let ins = actor(&kyokai());
        let mut import = store.begin_checkup_import(&ins, "a.zip", T0).await.unwrap();
        let add = |number: &str, born: Date, exam: Date, known: i32, present: i32| {
            let mut m = member("01130012", number, "2020-04-01", "", "");
            m.details.birth_date = onshi_domain::Personal(born);
            let mut c = judged(&m, exam, "3", "3");
            c.judgement.indicators_known = known;
            c.judgement.indicators = present;
            c
        };
        for c in [
            // Two people of 50 (band 2): bits 0 and 1 known; bit 0 present in one.
            add(
                "1",
                date!(1974 - 06 - 01),
                date!(2024 - 06 - 01),
                0b11,
                0b01,
            ),
            add(
                "2",
                date!(1974 - 07 - 01),
                date!(2024 - 06 - 01),
                0b11,
                0b00,
            ),
            // One of 72 (band 6) whose later checkup replaces the earlier.
            add(
                "3",
                date!(1952 - 06 - 01),
                date!(2024 - 05 - 01),
                0b01,
                0b01,
            ),
            add(
                "3",
                date!(1952 - 06 - 01),
                date!(2024 - 09 - 01),
                0b11,
                0b10,
            ),
            // Under 40 and another year: not counted.
            add(
                "4",
                date!(1990 - 06 - 01),
                date!(2024 - 06 - 01),
                0b11,
                0b11,
            ),
            add(
                "5",
                date!(1974 - 06 - 01),
                date!(2023 - 06 - 01),
                0b11,
                0b11,
            ),
        ] {
            import.add(&c).await.unwrap();
        }
        import.commit().await.unwrap();
        let cells = store.report_cells(2024, 2).await.unwrap();
        type Row = (u8, u8, i64, Vec<i64>, Vec<i64>);
        let summary: Vec<Row> = cells
            .iter()
            .map(|c| {
                assert_eq!(c.insurer, "01130012");
                (
                    c.sex,
                    c.age_band,
                    c.people,
                    c.known.clone(),
                    c.present.clone(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (2, 2, 2, vec![2, 2], vec![1, 0]),
                (2, 6, 1, vec![1, 1], vec![0, 1]),
            ],
            "{}",
            db.backend
        );
        // The cells are kept: grouping everything again gives the same ones, and a database
        // that lost them (one from before migration 22) is told so and refilled.
        assert!(!store.report_cells_missing().await.unwrap());
        assert_eq!(
            store.refresh_report_cells(None).await.unwrap(),
            3,
            "2024: 2, 2023: 1"
        );
        assert_eq!(store.report_cells(2024, 2).await.unwrap(), cells);
        db.execute_raw("DELETE FROM report_cells").await.unwrap();
        assert!(store.report_cells(2024, 2).await.unwrap().is_empty());
        assert!(store.report_cells_missing().await.unwrap());
        assert_eq!(store.refresh_report_cells(Some(2024)).await.unwrap(), 2);
        assert_eq!(store.report_cells(2024, 2).await.unwrap(), cells);
        assert!(
            store.report_cells(2023, 2).await.unwrap().is_empty(),
            "only 2024 refilled"
        );

        // Another archive refreshes only the groups it touched, in its own transaction, and
        // moves its year's generation (not another year's).
        let (g2024, g2023) = (
            store.report_generation(2024).await.unwrap(),
            store.report_generation(2023).await.unwrap(),
        );
        assert!(g2024 > 0 && g2023 > 0, "{g2024} {g2023}");
        assert_eq!(store.report_generation(2022).await.unwrap(), 0);
        let mut import = store.begin_checkup_import(&ins, "b.zip", T1).await.unwrap();
        import
            .add(&add(
                "6",
                date!(1974 - 08 - 01),
                date!(2024 - 07 - 01),
                0b11,
                0b11,
            ))
            .await
            .unwrap();
        import.commit().await.unwrap();
        let band2 = |cells: &[onshi_store::ReportCell]| {
            cells
                .iter()
                .find(|c| c.age_band == 2 && c.employer.is_none())
                .map(|c| (c.people, c.present.clone()))
        };
        assert_eq!(
            band2(&store.report_cells(2024, 2).await.unwrap()),
            Some((3, vec![2, 1]))
        );
        assert_eq!(store.report_generation(2024).await.unwrap(), g2024 + 1);
        assert_eq!(store.report_generation(2023).await.unwrap(), g2023);

        // Matching a checkup to a member of a workplace moves it into that workplace's cell.
        let mut m = member("01130012", "9", "2020-04-01", "", "");
        m.details.birth_date = onshi_domain::Personal(date!(1974 - 08 - 01));
        m.details.employer = Some(onshi_domain::EmployerCode::parse("1000").unwrap());
        let record = store
            .create_member(&ins, &m.key, &m.details, T1)
            .await
            .unwrap();
        let queue = store.unmatched_checkups(&kyokai(), 100, T1).await.unwrap();
        let six = queue.iter().find(|u| u.number == "6").unwrap();
        store
            .match_checkup(&kyokai(), &six.id, &record.id, T1)
            .await
            .unwrap();
        let cells = store.report_cells(2024, 2).await.unwrap();
        assert_eq!(band2(&cells), Some((2, vec![1, 0])));
        assert!(
            cells
                .iter()
                .any(|c| c.employer.as_deref() == Some("1000") && c.people == 1),
            "{cells:?}"
        );
        db.cleanup().await;
    }
}

/// Eligible members by workplace: 49 at one, 50 at another (an employer report needs 50).
#[tokio::test]
async fn eligible_members_are_counted_by_workplace() {
    for db in TestDb::all().await.unwrap() {
        let store = with_insurers(&db).await;
        let ins = actor(&kyokai());
        for (code, count, born) in [
            ("1001", 49, date!(1970 - 06 - 01)),
            ("1002", 50, date!(1970 - 06 - 01)),
            ("1003", 5, date!(1990 - 06 - 01)), // too young: none eligible
        ] {
            for i in 0..count {
                let mut m = member("01130012", &format!("{code}{i:03}"), "2020-04-01", "", "");
                m.details.birth_date = onshi_domain::Personal(born);
                m.details.employer = Some(onshi_domain::EmployerCode::parse(code).unwrap());
                store
                    .create_member(&ins, &m.key, &m.details, T0)
                    .await
                    .unwrap();
            }
        }
        let eligible = store.eligible_by_employer(2024).await.unwrap();
        let of = |code: &str| {
            eligible
                .get(&("01130012".to_owned(), code.to_owned()))
                .copied()
        };
        assert_eq!(
            (of("1001"), of("1002"), of("1003")),
            (Some(49), Some(50), None)
        );
        db.cleanup().await;
    }
}

/// The kept cells are changed person by person by every import and match; after each of a
/// long random run of them (new people, later checkups, corrections, repeats, people of every
/// age band and outside 40–74, members of two workplaces and none, checkups matched later)
/// they are exactly what grouping every checkup again gives.
#[tokio::test]
async fn cells_changed_person_by_person_equal_a_full_refresh() {
    for db in TestDb::all().await.unwrap() {
        let store = with_insurers(&db).await;
        let ins = actor(&kyokai());
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        // Members 1–20 are registered (10 at workplace 1000, 10 at 2000); 21–40 are not
        // until a match links them.
        let mut records = std::collections::HashMap::new();
        for n in 1..=20u64 {
            let mut m = member("01130012", &n.to_string(), "2020-04-01", "", "");
            m.details.employer = Some(
                onshi_domain::EmployerCode::parse(if n <= 10 { "1000" } else { "2000" }).unwrap(),
            );
            let r = store
                .create_member(&ins, &m.key, &m.details, T0)
                .await
                .unwrap();
            records.insert(n, r.id);
        }
        let snapshot = |store: &onshi_store::Store| {
            let store = store.clone();
            async move {
                let mut all = Vec::new();
                for year in 2022..=2025 {
                    all.push(store.report_cells(year, 16).await.unwrap());
                }
                all
            }
        };
        let exams = [
            date!(2022 - 06 - 01),
            date!(2023 - 05 - 10),
            date!(2023 - 11 - 20),
            date!(2024 - 04 - 01),
            date!(2024 - 09 - 30),
            date!(2025 - 03 - 31),
        ];
        for round in 0..12 {
            let mut import = store
                .begin_checkup_import(&ins, &format!("r{round}.zip"), T1)
                .await
                .unwrap();
            for _ in 0..(1 + next(12)) {
                let n = 1 + next(40);
                let mut m = member("01130012", &n.to_string(), "2020-04-01", "", "");
                // Born 1940–1989: 35 to 85 in these years, every band and both sides of it.
                m.details.birth_date = onshi_domain::Personal(
                    Date::from_calendar_date(1940 + (n as i32 * 7) % 50, time::Month::June, 15)
                        .unwrap(),
                );
                let mut c = judged(&m, exams[next(exams.len() as u64) as usize], "3", "3");
                c.sex = if n % 3 == 0 { 1 } else { 2 };
                c.judgement.indicators_known = next(1 << 16) as i32;
                c.judgement.indicators = next(1 << 16) as i32 & c.judgement.indicators_known;
                import.add(&c).await.unwrap();
            }
            import.commit().await.unwrap();
            if round % 4 == 3 {
                // Link one waiting checkup to a new member of workplace 2000.
                let queue = store.unmatched_checkups(&kyokai(), 100, T1).await.unwrap();
                if let Some(u) = queue.first() {
                    let n: u64 = u.number.parse().unwrap();
                    let mut m = member("01130012", &u.number, "2020-04-01", "", "");
                    m.details.employer = Some(onshi_domain::EmployerCode::parse("2000").unwrap());
                    let id = match records.get(&n) {
                        Some(id) => id.clone(),
                        None => {
                            let r = store
                                .create_member(&ins, &m.key, &m.details, T1)
                                .await
                                .unwrap();
                            records.insert(n, r.id.clone());
                            r.id
                        }
                    };
                    store
                        .match_checkup(&kyokai(), &u.id, &id, T1)
                        .await
                        .unwrap();
                }
            }
            let kept = snapshot(&store).await;
            assert!(kept.iter().any(|y| !y.is_empty()), "round {round}");
            store.refresh_report_cells(None).await.unwrap();
            assert_eq!(
                kept,
                snapshot(&store).await,
                "round {round} on {}",
                db.backend
            );
        }
        db.cleanup().await;
    }
}
