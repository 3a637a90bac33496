//! Card use: single-use challenges, consents, the card read, forgetting used challenges.

use crate::common::*;

#[tokio::test]
async fn challenges_are_single_use_and_consents_expire() {
    use onshi_domain::FacilityCode;
    for db in TestDb::all().await.unwrap() {
        let store = db.open().await.unwrap();
        let facility = clinic();
        store
            .create_facility(&facility, "試験クリニック", "fhash", T0)
            .await
            .unwrap();
        assert_eq!(
            store
                .facility_by_token_hash("fhash", T0)
                .await
                .unwrap()
                .unwrap()
                .0
                .code,
            facility
        );
        assert!(
            store
                .create_facility(&facility, "x", "other", T0)
                .await
                .is_err()
        );

        let c1 = sealed(1, T0);
        assert!(
            !used(&store, &c1).await,
            "issuing a challenge writes nothing"
        );
        let holder = key().person_ref(&MyNumber::parse("123456789018").unwrap());
        assert!(store.consume_challenge(&c1, T0, &holder).await.unwrap());
        assert!(used(&store, &c1).await);
        assert!(
            !store.consume_challenge(&c1, T1, &holder).await.unwrap(),
            "second use refused on {}",
            db.backend
        );
        assert_eq!(
            store
                .person_of_check(&c1.id, "1311111111", T0)
                .await
                .unwrap(),
            Some(holder),
            "the used challenge remembers whose card answered it, and when"
        );
        let after = T0 + time::Duration::microseconds(1);
        assert_eq!(
            store
                .person_of_check(&c1.id, "1311111111", after)
                .await
                .unwrap(),
            None,
            "the second use did not move its time ({})",
            db.backend
        );
        assert_eq!(
            store
                .person_of_check(&c1.id, "1311111112", T0)
                .await
                .unwrap(),
            None,
            "a check is referred to only by the facility that made it"
        );

        let person = card_holder();
        issue_card(&store, &person).await;
        issue_card(&store, &person).await;
        assert_eq!(
            holder_of(&store, "fp1").await.map(|h| h.person),
            Some(person.clone())
        );
        assert_eq!(holder_of(&store, "fp2").await, None);
        assert!(!holder_of(&store, "fp1").await.unwrap().registered);
        assert!(
            store
                .register_for_insurance(&person, RegistrationChannel::Portal, None, "fp1", T0)
                .await
                .unwrap()
        );
        assert!(
            !store
                .register_for_insurance(
                    &person,
                    RegistrationChannel::Facility,
                    Some(&facility),
                    "fp1",
                    T0
                )
                .await
                .unwrap()
        );
        assert!(holder_of(&store, "fp1").await.unwrap().registered);
        assert_eq!(
            store.registration_counts().await.unwrap(),
            [(RegistrationChannel::Portal, 1)]
        );

        // Consents are written by the check that answers a challenge, in its audit commit.
        let until = T0 + time::Duration::hours(24);
        let c2 = sealed(2, T0);
        answer(
            &store,
            &facility,
            &c2,
            &person,
            &[ConsentKind::Medication, ConsentKind::Checkup],
            T0,
        )
        .await
        .unwrap();
        assert!(used(&store, &c2).await);
        let hour = T0 + time::Duration::hours(1);
        let now = consents_of(&store, "fp1", Some(&facility), hour)
            .await
            .unwrap()
            .consents;
        assert_eq!(
            now.iter().map(|c| c.kind.as_str()).collect::<Vec<_>>(),
            ["checkup", "medication"]
        );
        assert_eq!((now[0].given_at, now[0].expires_at), (T0, until));
        let other = FacilityCode::parse("1311111112").unwrap();
        for (facility, at) in [(Some(&facility), until), (Some(&other), hour), (None, hour)] {
            assert!(
                consents_of(&store, "fp1", facility, at)
                    .await
                    .unwrap()
                    .consents
                    .is_empty(),
                "none in force at {facility:?} at {at} on {}",
                db.backend
            );
        }
        // Given again later: one per kind, the latest; and what the answer shows without
        // reading back matches what a later read finds.
        let later = T0 + time::Duration::hours(2);
        let read = consents_of(&store, "fp1", Some(&facility), later)
            .await
            .unwrap();
        let shown = read.consents_with(
            &[ConsentKind::Medication, ConsentKind::Limit],
            later,
            later + time::Duration::hours(24),
        );
        answer(
            &store,
            &facility,
            &sealed(3, later),
            &person,
            &[ConsentKind::Medication, ConsentKind::Limit],
            later,
        )
        .await
        .unwrap();
        let after = consents_of(&store, "fp1", Some(&facility), later)
            .await
            .unwrap()
            .consents;
        assert_eq!(after, shown, "on {}", db.backend);
        assert_eq!(
            after
                .iter()
                .map(|c| (c.kind.as_str(), c.given_at))
                .collect::<Vec<_>>(),
            [("checkup", T0), ("limit", later), ("medication", later)]
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_challenge_answered_twice_at_once_is_answered_once() {
    for db in TestDb::all().await.unwrap() {
        let store = db.open().await.unwrap();
        let facility = clinic();
        let person = card_holder();
        let (c1, c2) = (sealed(1, T0), sealed(2, T0));
        // Eight checks race for c1 (so some meet in one group commit, some in the next), one
        // answers c2.
        let mut racing = Vec::new();
        for i in 0..9 {
            let (store, facility, person) = (store.clone(), facility.clone(), person.clone());
            let c = if i == 8 { c2.clone() } else { c1.clone() };
            racing.push(tokio::spawn(async move {
                // The two checks answered give different kinds, so both consents are kept.
                let kind = if i == 8 {
                    ConsentKind::Limit
                } else {
                    ConsentKind::Medication
                };
                answer(&store, &facility, &c, &person, &[kind], T0).await
            }));
        }
        let mut answered = 0;
        let mut refused = 0;
        for (i, r) in racing.into_iter().enumerate() {
            match r.await.unwrap() {
                Ok(()) => answered += 1,
                Err(onshi_store::StoreError::ChallengeUsed) => {
                    assert!(i < 8, "c2 was answered once only");
                    refused += 1;
                }
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!((answered, refused), (2, 7), "on {}", db.backend);
        assert!(used(&store, &c1).await && used(&store, &c2).await);
        // Later, in a commit of its own.
        assert!(matches!(
            answer(
                &store,
                &facility,
                &c1,
                &person,
                &[ConsentKind::Clinical],
                T1
            )
            .await,
            Err(onshi_store::StoreError::ChallengeUsed)
        ));
        assert_eq!(
            store
                .person_of_check(&c1.id, "1311111111", T0 + time::Duration::seconds(1))
                .await
                .unwrap(),
            None,
            "the refused use did not move its time"
        );
        assert_eq!(
            db.query_count("SELECT COUNT(*) FROM consents")
                .await
                .unwrap(),
            2,
            "consents of refused checks are not written ({})",
            db.backend
        );
        assert_eq!(
            db.query_count(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'check_card' \
                 AND detail = 'validity=1 refused=challenge-used'"
            )
            .await
            .unwrap(),
            8,
            "every refused check is in the log, marked ({})",
            db.backend
        );
        assert_eq!(store.verify_audit().await.unwrap(), Ok(10));
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_card_check_reads_qualifications_only_for_a_registered_unused_card() {
    for db in TestDb::all().await.unwrap() {
        let store = with_insurers(&db).await;
        let facility = clinic();
        let my_number = "123456789018";
        let person = key().person_ref(&MyNumber::parse(my_number).unwrap());
        // Insured by the society from 2024, by 協会けんぽ from 2022 until then; someone else too.
        let society_number = society().as_str().to_owned();
        for (m, insurer) in [
            (
                member(&society_number, "7", "2024-04-01", "", my_number),
                society(),
            ),
            (
                member("01130012", "1", "2022-04-01", "2024-03-31", my_number),
                kyokai(),
            ),
            (
                member("01130012", "2", "2022-04-01", "", "987654321000"),
                kyokai(),
            ),
        ] {
            store
                .create_member(&actor(&insurer), &m.key, &m.details, T0)
                .await
                .unwrap();
        }
        issue_card(&store, &person).await;
        let check_read = |c: onshi_domain::Challenge| {
            let store = store.clone();
            let facility = facility.clone();
            async move {
                let mut audit = store.begin_check(&Actor::Facility(facility.clone()), T0);
                let read = store
                    .card_read(&c.id, "fp1", Some(&facility), T0, Some(&mut audit))
                    .await
                    .unwrap();
                (read, audit)
            }
        };

        let (before, _) = check_read(sealed(1, T0)).await;
        assert!(!before.used && !before.holder.unwrap().registered);
        assert!(
            before.qualifications.is_empty(),
            "nothing is read for a card not registered for insurance use ({})",
            db.backend
        );

        store
            .register_for_insurance(&person, RegistrationChannel::Portal, None, "fp1", T0)
            .await
            .unwrap();
        // Two consents, so each qualification comes back once per consent from the statement.
        answer(
            &store,
            &facility,
            &sealed(2, T0),
            &person,
            &[ConsentKind::Medication, ConsentKind::Checkup],
            T0,
        )
        .await
        .unwrap();
        let c = sealed(3, T0);
        let (read, audit) = check_read(c.clone()).await;
        assert!(!read.used);
        assert_eq!(read.holder.as_ref().unwrap().consents.len(), 2);
        assert_eq!(
            read.qualifications
                .iter()
                .map(|q| (q.key.insurer.as_str(), q.details.qualified_from))
                .collect::<Vec<_>>(),
            [
                ("01130012", date!(2022 - 04 - 01)),
                (society_number.as_str(), date!(2024 - 04 - 01))
            ],
            "the holder's qualifications, each once, by start date ({})",
            db.backend
        );
        let before_log = db
            .query_count("SELECT COUNT(*) FROM audit_log")
            .await
            .unwrap();
        store
            .finish_check(audit, AuditAction::CheckCard, Some(&person), "validity=1")
            .await
            .unwrap();
        assert_eq!(
            db.query_count("SELECT COUNT(*) FROM audit_log")
                .await
                .unwrap()
                - before_log,
            2,
            "one entry per qualification read ({})",
            db.backend
        );

        store.consume_challenge(&c, T0, &person).await.unwrap();
        let (again, _) = check_read(c).await;
        assert!(again.used);
        assert!(
            again.qualifications.is_empty() && again.holder.unwrap().consents.is_empty(),
            "nothing of the person is read for a used challenge ({})",
            db.backend
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn used_challenges_are_forgotten_once_their_checks_cannot_be_referred_to() {
    for db in TestDb::all().await.unwrap() {
        let store = db.open().await.unwrap();
        let person = card_holder();
        let (old, recent) = (sealed(1, T0), sealed(2, T1));
        assert!(store.consume_challenge(&old, T0, &person).await.unwrap());
        assert!(store.consume_challenge(&recent, T1, &person).await.unwrap());
        let day = time::Duration::hours(24);
        assert_eq!(
            store.forget_used_challenges(T1 - day).await.unwrap(),
            1,
            "on {}",
            db.backend
        );
        let reference = |c: onshi_domain::Challenge| {
            let store = store.clone();
            async move {
                store
                    .person_of_check(&c.id, "1311111111", T0 - day)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(reference(old).await, None);
        assert_eq!(reference(recent.clone()).await, Some(person.clone()));
        assert!(
            !store.consume_challenge(&recent, T1, &person).await.unwrap(),
            "a kept challenge is still used"
        );
        assert_eq!(store.forget_used_challenges(T1 - day).await.unwrap(), 0);
        db.cleanup().await;
    }
}
