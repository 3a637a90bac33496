//! The operator's side: the facility master, onboarding, reader applications, the counts of
//! the adoption dashboard (operation from the first answered card check) and weekly editions.

use crate::common::*;
use onshi_domain::FacilityCode;
use onshi_domain::facility::{CheckChannel, FacilityKind, FacilityRecord};
use onshi_store::{AdoptionStep, ReaderApplication, TokenOwner, WeeklyEdition};

fn record(code: &str, kind: &str, public: &str, beds: &str) -> FacilityRecord {
    onshi_store::testing::facility(code, kind, public, beds).unwrap()
}

fn master() -> Vec<FacilityRecord> {
    vec![
        record("1311111111", "病院", "1", "200"),
        record("1312222222", "医科診療所", "0", "0"),
        record("1331111111", "歯科診療所", "0", "0"),
        record("2741111111", "薬局", "0", ""),
    ]
}

/// A store of `db` with [`master`] imported.
async fn with_master(db: &TestDb) -> Store {
    let store = db.open().await.unwrap();
    store
        .import_facilities(&master(), &ops(), T0, &mut |_| {})
        .await
        .unwrap();
    store
}

fn code(s: &str) -> FacilityCode {
    FacilityCode::parse(s).unwrap()
}

fn ops() -> Actor {
    Actor::Operator("ops".into())
}

fn readers(applied_on: time::Date) -> ReaderApplication {
    ReaderApplication {
        readers: 1,
        free_readers: 1,
        applied_on,
        delivered_on: None,
        installed_on: None,
    }
}

#[tokio::test]
async fn the_master_imports_once_and_changes_only_what_changed() {
    for db in TestDb::all().await.unwrap() {
        let store = db.open().await.unwrap();
        let mut seen = Vec::new();
        let counts = store
            .import_facilities(&master(), &ops(), T0, &mut |n| seen.push(n))
            .await
            .unwrap();
        assert_eq!((counts.added, counts.changed, counts.unchanged), (4, 0, 0));
        assert_eq!(seen.last(), Some(&4));
        let again = store
            .import_facilities(&master(), &ops(), T0, &mut |_| {})
            .await
            .unwrap();
        assert_eq!((again.added, again.changed, again.unchanged), (0, 0, 4));
        let mut changed = master();
        changed[0].beds = 400;
        let third = store
            .import_facilities(&changed, &ops(), T0, &mut |_| {})
            .await
            .unwrap();
        assert_eq!((third.added, third.changed, third.unchanged), (0, 1, 3));
        let h = store
            .operator_facility(&code("1311111111"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (h.kind, h.beds, h.public),
            (Some(FacilityKind::Hospital), 400, true)
        );
        assert!(h.approved_at.is_none() && h.portal_account_at.is_none());
        let audited = store
            .audit_of_action(AuditAction::ImportFacilities)
            .await
            .unwrap();
        assert_eq!(audited.len(), 3);
        let counts = store.adoption_counts().await.unwrap();
        let total: i64 = counts.iter().map(|c| c.facilities).sum();
        assert_eq!(total, 4);
        assert!(counts.iter().all(|c| c.applied == 0 && c.operating == 0));
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_facility_applies_then_is_approved_and_only_then_has_credentials() {
    for db in TestDb::all().await.unwrap() {
        let store = with_master(&db).await;
        let clinic = code("1312222222");
        // No approval without an application, no token without approval.
        assert!(matches!(
            store.approve_facility(&clinic, "tok-1", &ops(), T0).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            store
                .rotate_token(
                    TokenOwner::Facility(&clinic),
                    "tok-0",
                    time::Duration::ZERO,
                    T0,
                    &ops()
                )
                .await,
            Err(StoreError::NotFound(_))
        ));
        let applicant = Actor::Facility(clinic.clone());
        assert!(
            store
                .open_portal_account(&clinic, &applicant, T0)
                .await
                .unwrap()
        );
        assert!(
            !store
                .open_portal_account(&clinic, &applicant, T1)
                .await
                .unwrap()
        );
        let (total, waiting) = store.facilities_awaiting_approval(10).await.unwrap();
        assert_eq!((total, waiting.len()), (1, 1));
        assert_eq!(waiting[0].code, clinic);
        assert!(
            store
                .facility_by_token_hash("tok-1", T0)
                .await
                .unwrap()
                .is_none()
        );
        store
            .approve_facility(&clinic, "tok-1", &ops(), T0)
            .await
            .unwrap();
        assert!(
            store
                .facility_by_token_hash("tok-1", T0)
                .await
                .unwrap()
                .is_some()
        );
        assert!(matches!(
            store.approve_facility(&clinic, "tok-2", &ops(), T0).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(
            store.facilities_awaiting_approval(10).await.unwrap(),
            (0, Vec::new())
        );
        let steps = store.audit_of_action(AuditAction::Onboard).await.unwrap();
        assert_eq!(
            steps
                .iter()
                .map(|e| e.actor_kind.as_str())
                .collect::<Vec<_>>(),
            ["facility", "operator"]
        );
        assert!(matches!(
            store
                .open_portal_account(&code("0141111111"), &applicant, T0)
                .await,
            Err(StoreError::NotFound(_))
        ));
        db.cleanup().await;
    }
}

#[tokio::test]
async fn reader_applications_are_recorded_all_or_nothing() {
    for db in TestDb::all().await.unwrap() {
        let store = with_master(&db).await;
        let mut late = readers(date!(2020 - 12 - 01));
        late.delivered_on = Some(date!(2020 - 11 - 01));
        let refused = store
            .record_reader_applications(
                &[
                    (code("1311111111"), readers(date!(2020 - 11 - 01))),
                    (code("1312222222"), late),
                ],
                &ops(),
                T0,
            )
            .await
            .unwrap_err();
        assert_eq!(refused.0, 1);
        assert!(
            refused.1.to_string().contains("delivered_on"),
            "{}",
            refused.1
        );
        let unknown = store
            .record_reader_applications(
                &[(code("0141111111"), readers(date!(2020 - 11 - 01)))],
                &ops(),
                T0,
            )
            .await
            .unwrap_err();
        assert!(matches!(unknown, (0, StoreError::NotFound(_))));
        let counts = store.adoption_counts().await.unwrap();
        assert!(counts.iter().all(|c| c.applied == 0), "nothing was written");

        let mut ready = readers(date!(2020 - 11 - 01));
        ready.delivered_on = Some(date!(2020 - 11 - 20));
        ready.installed_on = Some(date!(2020 - 12 - 01));
        store
            .record_reader_applications(
                &[
                    (code("1311111111"), ready),
                    (code("2741111111"), readers(date!(2020 - 12 - 10))),
                ],
                &ops(),
                T0,
            )
            .await
            .unwrap();
        let opened = store
            .record_portal_accounts(&[(code("1311111111"), date!(2020 - 10 - 01))], &ops(), T0)
            .await
            .unwrap();
        assert_eq!(opened, 1);
        // An account open already stays as it was; an unknown facility is named by its index.
        let again = store
            .record_portal_accounts(
                &[
                    (code("1311111111"), date!(2020 - 11 - 01)),
                    (code("2741111111"), date!(2020 - 11 - 02)),
                ],
                &ops(),
                T0,
            )
            .await
            .unwrap();
        assert_eq!(again, 1, "only the pharmacy's opened");
        let unknown = store
            .record_portal_accounts(
                &[
                    (code("1331111111"), date!(2020 - 11 - 01)),
                    (code("0141111111"), date!(2020 - 11 - 01)),
                ],
                &ops(),
                T0,
            )
            .await
            .unwrap_err();
        assert!(matches!(unknown, (1, StoreError::NotFound(_))));
        // The same facility twice in one set: the later record is kept.
        let mut two = readers(date!(2020 - 12 - 11));
        two.readers = 2;
        store
            .record_reader_applications(
                &[
                    (code("2741111111"), readers(date!(2020 - 12 - 10))),
                    (code("2741111111"), two),
                ],
                &ops(),
                T0,
            )
            .await
            .unwrap();
        let pharmacy = store
            .operator_facility(&code("2741111111"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            pharmacy.readers.map(|r| (r.readers, r.applied_on)),
            Some((2, date!(2020 - 12 - 11)))
        );
        let counts = store.adoption_counts().await.unwrap();
        let of = |k: FacilityKind| counts.iter().find(|c| c.kind == k).unwrap();
        assert_eq!(
            (
                of(FacilityKind::Hospital).applied,
                of(FacilityKind::Hospital).ready
            ),
            (1, 1)
        );
        assert_eq!(of(FacilityKind::Hospital).portal_accounts, 1);
        assert_eq!(of(FacilityKind::Pharmacy).applied, 1);
        assert_eq!(of(FacilityKind::MedicalClinic).applied, 0);
        let days = store.adoption_days(false).await.unwrap();
        let day_of = |step| {
            days.iter()
                .filter(|d| d.step == step && d.kind == FacilityKind::Hospital)
                .map(|d| (d.day, d.facilities))
                .collect::<Vec<_>>()
        };
        assert_eq!(day_of(AdoptionStep::Applied), [(date!(2020 - 11 - 01), 1)]);
        assert_eq!(day_of(AdoptionStep::Ready), [(date!(2020 - 12 - 01), 1)]);
        // The portal account opened at the start of 2020-10-01 in Japan.
        assert_eq!(
            day_of(AdoptionStep::PortalAccount),
            [(date!(2020 - 10 - 01), 1)]
        );
        // By prefecture: the hospital's application is Tokyo's, the pharmacy's Osaka's.
        let by_pref = store.adoption_days(true).await.unwrap();
        let applied_in = |p: u8| {
            by_pref
                .iter()
                .filter(|d| {
                    d.step == AdoptionStep::Applied && d.prefecture.map(|x| x.number()) == Some(p)
                })
                .map(|d| d.facilities)
                .sum::<i64>()
        };
        assert_eq!((applied_in(13), applied_in(27)), (1, 1));
        let public = store.public_hospitals().await.unwrap();
        assert_eq!(public.len(), 1);
        assert_eq!(public[0].applied_on, Some(date!(2020 - 11 - 01)));
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_facility_operates_from_its_first_answered_card_check() {
    for db in TestDb::all().await.unwrap() {
        let store = with_master(&db).await;
        let clinic = code("1312222222");
        let person = card_holder();
        issue_card(&store, &person).await;
        // A number check counts as a check, not as operation.
        let mut number = store.begin_check(&Actor::Facility(clinic.clone()), T0);
        number.count_for(&clinic, CheckChannel::Number);
        store
            .finish_check(number, AuditAction::CheckNumber, None, "validity=4")
            .await
            .unwrap();
        let operating = |store: &Store| {
            let store = store.clone();
            async move {
                store
                    .adoption_counts()
                    .await
                    .unwrap()
                    .iter()
                    .map(|c| c.operating)
                    .sum::<i64>()
            }
        };
        assert_eq!(operating(&store).await, 0);
        // A card check at 2026-01-31 23:30 UTC is 2026-02-01 in Japan.
        let at = datetime!(2026-01-31 23:30 UTC);
        let challenge = sealed(7, at);
        let card = |c: &onshi_domain::Challenge, at| {
            let mut audit = store.begin_check(&Actor::Facility(clinic.clone()), at);
            audit.answer_challenge(c, &person, &clinic, &[], at + time::Duration::hours(24));
            audit.count_for(&clinic, CheckChannel::Card);
            audit
        };
        store
            .finish_check(
                card(&challenge, at),
                AuditAction::CheckCard,
                Some(&person),
                "validity=1",
            )
            .await
            .unwrap();
        // The same challenge again is refused, and not counted.
        assert!(matches!(
            store
                .finish_check(
                    card(&challenge, at),
                    AuditAction::CheckCard,
                    Some(&person),
                    "validity=1"
                )
                .await,
            Err(StoreError::ChallengeUsed)
        ));
        assert_eq!(operating(&store).await, 1);
        let f = store.operator_facility(&clinic).await.unwrap().unwrap();
        assert_eq!(f.operating_since, Some(at));
        let months = store.monthly_checks().await.unwrap();
        let got: Vec<(String, CheckChannel, i64)> = months
            .into_iter()
            .map(|m| (m.month, m.channel, m.checks))
            .collect();
        assert_eq!(
            got,
            [
                ("2026-01".to_owned(), CheckChannel::Number, 1),
                ("2026-02".to_owned(), CheckChannel::Card, 1)
            ]
        );
        let days = store.adoption_days(false).await.unwrap();
        assert!(days.iter().any(|d| d.step == AdoptionStep::Operating
            && d.day == date!(2026 - 02 - 01)
            && d.kind == FacilityKind::MedicalClinic));
        let (cards, registered) = store.card_registration_counts().await.unwrap();
        assert_eq!((cards, registered), (1, 0));
        db.cleanup().await;
    }
}

#[tokio::test]
async fn an_edition_is_written_once() {
    for db in TestDb::all().await.unwrap() {
        let store = db.open().await.unwrap();
        let first = WeeklyEdition {
            edition: "2020-12-14".into(),
            published_at: T0,
            content_hash: "aa".into(),
            content: "code,name\n".into(),
        };
        assert!(store.save_edition(&first, &ops()).await.unwrap());
        let other = WeeklyEdition {
            content: "changed".into(),
            ..first.clone()
        };
        assert!(!store.save_edition(&other, &ops()).await.unwrap());
        assert_eq!(store.edition("2020-12-14").await.unwrap(), Some(first));
        assert_eq!(store.editions().await.unwrap(), ["2020-12-14"]);
        assert_eq!(
            store
                .audit_of_action(AuditAction::PublishWeekly)
                .await
                .unwrap()
                .len(),
            1
        );
        db.cleanup().await;
    }
}
