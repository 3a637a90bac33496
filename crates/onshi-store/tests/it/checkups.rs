//! Checkup imports: linked to the member whose qualification matches, or left to match; the
//! same document again changes nothing, a corrected one is a new version; an import dropped
//! uncommitted leaves nothing; the import is audited.

use crate::common::*;
use onshi_domain::AuditAction;
use onshi_store::{Added, CheckupJudgement, NewCheckup, NewObservation};
use time::macros::date;

fn checkup(number: &str, birth: time::Date, height: &str) -> NewCheckup {
    let m = member("01130012", number, "2020-04-01", "", "");
    NewCheckup {
        key: m.key,
        birth_date: birth,
        sex: 2,
        name_kana: "ｼｹﾝ ﾊﾅｺ".into(),
        institution: "5521111111".into(),
        exam_date: date!(2024 - 05 - 20),
        report_kind: "10".into(),
        program: "010".into(),
        source_file: format!("DATA/h{number}.xml"),
        observations: vec![NewObservation {
            code: "9N001000000000001".into(),
            value_kind: "PQ",
            value: height.into(),
            unit: Some("cm".into()),
            code_system: None,
            interpretation: None,
            method: None,
        }],
        claim: None,
        judgement: CheckupJudgement {
            rule_set: "tokutei-4.1".into(),
            guidance_level: Some("3".into()),
            metabolic: "3".into(),
            referral: false,
            indicators_known: 0,
            indicators: 0,
        },
    }
}

#[tokio::test]
async fn checkups_link_version_and_roll_back() {
    for db in TestDb::all().await.unwrap() {
        let store = with_insurers(&db).await;
        let ins = actor(&kyokai());
        let m = member("01130012", "1", "2020-04-01", "", "123456789018");
        store
            .create_member(&ins, &m.key, &m.details, T0)
            .await
            .unwrap();
        let born = date!(1990 - 05 - 06);

        // Dropped uncommitted: nothing.
        let mut import = store.begin_checkup_import(&ins, "a.zip", T0).await.unwrap();
        import.add(&checkup("1", born, "160.1")).await.unwrap();
        drop(import);
        assert_eq!(store.checkup_counts().await.unwrap(), (0, 0));

        let mut import = store.begin_checkup_import(&ins, "a.zip", T0).await.unwrap();
        assert_eq!(
            import.add(&checkup("1", born, "160.1")).await.unwrap(),
            Added::Linked
        );
        // Another birth date, or a card nobody holds: left to match.
        assert_eq!(
            import
                .add(&checkup("1", date!(1990 - 05 - 07), "150.0"))
                .await
                .unwrap(),
            Added::Corrected,
            "the same card, institution and date: a version of the same checkup"
        );
        assert_eq!(
            import.add(&checkup("2", born, "150.0")).await.unwrap(),
            Added::Unmatched
        );
        let outcome = import.commit().await.unwrap();
        assert_eq!(
            (outcome.linked, outcome.unmatched, outcome.corrected),
            (1, 1, 1)
        );
        assert_eq!(store.checkup_counts().await.unwrap(), (3, 2));

        // The same archive again changes nothing; a corrected document is one new version.
        let mut import = store.begin_checkup_import(&ins, "a.zip", T1).await.unwrap();
        assert_eq!(
            import.add(&checkup("2", born, "150.0")).await.unwrap(),
            Added::Unchanged
        );
        assert_eq!(
            import.add(&checkup("2", born, "150.5")).await.unwrap(),
            Added::Corrected
        );
        import.commit().await.unwrap();
        assert_eq!(store.checkup_counts().await.unwrap(), (4, 3));

        let audited = store
            .audit_of_action(AuditAction::ImportCheckups)
            .await
            .unwrap();
        assert_eq!(audited.len(), 2);
        assert!(store.verify_audit().await.unwrap().is_ok());
        db.cleanup().await;
    }
}

#[test]
fn fiscal_years_start_in_april() {
    assert_eq!(onshi_store::fiscal_year(date!(2024 - 04 - 01)), 2024);
    assert_eq!(onshi_store::fiscal_year(date!(2025 - 03 - 31)), 2024);
}

#[tokio::test]
async fn a_batch_stores_what_one_by_one_would() {
    for db in TestDb::all().await.unwrap() {
        let store = with_insurers(&db).await;
        let ins = actor(&kyokai());
        let m = member("01130012", "1", "2020-04-01", "", "123456789018");
        store
            .create_member(&ins, &m.key, &m.details, T0)
            .await
            .unwrap();
        let born = date!(1990 - 05 - 06);
        let other = actor(&society());
        let batch = [
            checkup("1", born, "160.1"),
            checkup("1", born, "150.0"),
            checkup("2", born, "150.0"),
            checkup("2", born, "150.0"),
            checkup("2", born, "150.5"),
        ];
        // Another insurer's members are refused, nothing else happens.
        let mut import = store
            .begin_checkup_import(&other, "x.zip", T0)
            .await
            .unwrap();
        let refused = import.add_batch(&batch[..1]).await.unwrap();
        assert!(matches!(&refused[0], Added::Refused(r) if r.contains("not the sender")));
        drop(import);

        let mut import = store.begin_checkup_import(&ins, "a.zip", T0).await.unwrap();
        let got = import.add_batch(&batch).await.unwrap();
        assert_eq!(
            got,
            [
                Added::Linked,
                Added::Corrected,
                Added::Unmatched,
                Added::Unchanged,
                Added::Corrected
            ],
            "{}",
            db.backend
        );
        import.commit().await.unwrap();
        assert_eq!(store.checkup_counts().await.unwrap(), (4, 2));
        // Again, as a whole and one by one: nothing new.
        let mut import = store.begin_checkup_import(&ins, "a.zip", T1).await.unwrap();
        let again = import.add_batch(&batch[4..]).await.unwrap();
        assert_eq!(again, [Added::Unchanged]);
        assert_eq!(
            import.add(&checkup("1", born, "150.0")).await.unwrap(),
            Added::Unchanged
        );
        import.commit().await.unwrap();
        // What the person reads back: the latest version, with its observation.
        let person = store
            .find_member(&ins, &m.key, T1)
            .await
            .unwrap()
            .unwrap()
            .details
            .person
            .unwrap();
        let read = store
            .checkups_of_person(&ins, &person, date!(2020 - 01 - 01), T1)
            .await
            .unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].version, 2);
        assert_eq!(read[0].observations[0].value.as_deref(), Some("150.0"));
        db.cleanup().await;
    }
}

/// The judgements are stored with each checkup; those missing or made by another rule set than
/// their fiscal year's are found a page at a time and written back.
#[tokio::test]
async fn stale_judgements_are_found_and_written_back() {
    for db in TestDb::all().await.unwrap() {
        let store = with_insurers(&db).await;
        let ins = actor(&kyokai());
        let born = date!(1970 - 05 - 06);
        let periods: &[(i32, &str)] = &[(1990, "tokutei-3.1"), (2024, "tokutei-4.1")];
        let of_year = |number: &str, year: i32, rule_set: &str| {
            let mut c = checkup(number, born, "170.0");
            c.exam_date = time::Date::from_calendar_date(year, time::Month::June, 1).unwrap();
            c.judgement.rule_set = rule_set.into();
            c
        };
        let mut import = store.begin_checkup_import(&ins, "a.zip", T0).await.unwrap();
        for c in [
            of_year("1", 2024, "tokutei-4.1"), // right
            of_year("2", 2023, "tokutei-4.1"), // another period's rules
            of_year("3", 2024, "tokutei-4.1"), // judged, then forgotten below
            of_year("4", 2023, "tokutei-3.1"), // right
        ] {
            import.add(&c).await.unwrap();
        }
        import.commit().await.unwrap();
        db.execute_raw(
            "UPDATE checkups SET rule_set = NULL, guidance_level = NULL, metabolic = NULL \
             WHERE number = '3'",
        )
        .await
        .unwrap();

        let stale = store.checkups_to_judge(periods, "", 10).await.unwrap();
        assert_eq!(stale.len(), 2, "{stale:?}");
        let first = store.checkups_to_judge(periods, "", 1).await.unwrap();
        let second = store
            .checkups_to_judge(periods, &first[0].id, 1)
            .await
            .unwrap();
        assert_eq!(vec![first[0].clone(), second[0].clone()], stale, "paged");
        for c in &stale {
            assert_eq!(c.sex, 2);
            assert_eq!(c.birth_date, born);
            assert_eq!(
                c.items,
                vec![("9N001000000000001".to_owned(), "170.0".to_owned())]
            );
        }
        let judged: Vec<(String, CheckupJudgement)> = stale
            .iter()
            .map(|c| {
                let rule_set = if c.exam_date.year() >= 2024 {
                    "tokutei-4.1"
                } else {
                    "tokutei-3.1"
                };
                (
                    c.id.clone(),
                    CheckupJudgement {
                        rule_set: rule_set.into(),
                        guidance_level: Some("4".into()),
                        metabolic: "4".into(),
                        referral: true,
                        indicators_known: 0,
                        indicators: 0,
                    },
                )
            })
            .collect();
        store.set_judgements(&judged).await.unwrap();
        assert!(
            store
                .checkups_to_judge(periods, "", 10)
                .await
                .unwrap()
                .is_empty()
        );
        // Read back with the checkups.
        let fy2023 = store
            .checkups_of_insurer(&kyokai(), 2023, "", 10)
            .await
            .unwrap();
        let mut levels: Vec<Option<String>> = fy2023
            .iter()
            .map(|c| {
                let j = c.judgement.clone().unwrap();
                assert_eq!(j.rule_set, "tokutei-3.1");
                j.guidance_level
            })
            .collect();
        levels.sort();
        assert_eq!(levels, vec![Some("3".into()), Some("4".into())]);
        db.cleanup().await;
    }
}
