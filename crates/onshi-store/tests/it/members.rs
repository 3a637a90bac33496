//! Members: versions, history, isolation between insurers, as-of dates, paging, byte order.

use crate::common::*;

#[tokio::test]
async fn versions_history_and_isolation() {
    for db in TestDb::all().await.unwrap() {
        let store = with_insurers(&db).await;
        let a = actor(&kyokai());
        let m = member("01130012", "1", "2020-04-01", "", "");
        let created = store
            .create_member(&a, &m.key, &m.details, T0)
            .await
            .unwrap();
        assert_eq!(created.version, 1, "{}", db.backend);

        // The same card key again is a conflict.
        let again = store.create_member(&a, &m.key, &m.details, T0).await;
        assert!(
            matches!(again, Err(StoreError::Conflict(_))),
            "{}",
            db.backend
        );

        // A change is a new version; the old one stays readable in the history.
        let mut changed: MemberDetails = m.details.clone();
        changed.copay_ratio = onshi_domain::CopayRatio::from_percent(20).unwrap();
        let (v2, wrote) = store
            .change_member(&a, &kyokai(), &created.id, Some(1), &changed, T1)
            .await
            .unwrap();
        assert!(wrote);
        assert_eq!(v2.version, 2);
        let (same, wrote) = store
            .change_member(&a, &kyokai(), &created.id, None, &changed, T1)
            .await
            .unwrap();
        assert!(!wrote, "an identical change writes nothing");
        assert_eq!(same.version, 2);
        let stale = store
            .change_member(&a, &kyokai(), &created.id, Some(1), &m.details, T1)
            .await;
        assert!(
            matches!(stale, Err(StoreError::Conflict(_))),
            "stale version refused on {}",
            db.backend
        );

        let read = store.member(&a, &kyokai(), &created.id, T1).await.unwrap();
        assert_eq!(read.version, 2);
        assert_eq!(read.details.copay_ratio.percent(), 20);
        assert_eq!(read.recorded_at, T1);
        let history = store
            .member_history(&a, &kyokai(), &created.id, T1)
            .await
            .unwrap();
        assert_eq!(
            history
                .iter()
                .map(|h| h.details.copay_ratio.percent())
                .collect::<Vec<_>>(),
            [30, 20]
        );
        assert_eq!(history[0].details, m.details);

        // Another insurer cannot see it: not found, not forbidden.
        let b = actor(&society());
        assert!(matches!(
            store.member(&b, &society(), &created.id, T1).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store.member_history(&b, &society(), &created.id, T1).await,
            Err(StoreError::NotFound(_))
        ));
        let wrong = store
            .change_member(&b, &society(), &created.id, None, &changed, T1)
            .await;
        assert!(matches!(wrong, Err(StoreError::NotFound(_))));
        assert!(
            store
                .list_members(&b, &society(), None, None, 100, T1)
                .await
                .unwrap()
                .items
                .is_empty()
        );

        // Every read and change was logged against the member.
        let log = store.audit_of_member(&created.id).await.unwrap();
        let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            ["create", "change", "read", "read", "history"],
            "{}",
            db.backend
        );
        assert!(log.iter().all(|e| e.actor_id == "01130012"));
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn as_of_date_follows_a_change_of_insurer() {
    let first11 = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5];
    let my_number = MyNumber::from_first11(first11);
    let digits = format!("3141592653{}{}", 5, MyNumber::check_digit(&first11));
    let digits = digits.as_str();
    let person = key().person_ref(&my_number);
    for db in TestDb::all().await.unwrap() {
        let store = with_insurers(&db).await;
        let op = Actor::Operator("test".into());
        // Insured at 協会けんぽ until 2024-03-31, then at a 健保組合 from 2024-04-01.
        let mut old = member("01130012", "77", "2015-04-01", "2024-03-31", digits);
        old.details.loss_reason = Some(onshi_domain::LossReason::OtherInsurance);
        let new = member(society().as_str(), "5", "2024-04-01", "", digits);
        let unrelated = member("01130012", "78", "2015-04-01", "", "");
        for m in [&old, &new, &unrelated] {
            store
                .create_member(&actor(&m.key.insurer), &m.key, &m.details, T0)
                .await
                .unwrap();
        }
        let at = |d| {
            let store = store.clone();
            let op = op.clone();
            let person = person.clone();
            async move {
                store
                    .qualifications_of_person(&op, &person, Some(d), T1)
                    .await
                    .unwrap()
            }
        };
        let before = at(date!(2024 - 03 - 31)).await;
        assert_eq!(before.len(), 1, "{}", db.backend);
        assert_eq!(before[0].key.insurer, kyokai());
        let after = at(date!(2024 - 04 - 01)).await;
        assert_eq!(after.len(), 1);
        assert_eq!(after[0].key.insurer, society());
        assert!(at(date!(2010 - 01 - 01)).await.is_empty());
        let all = store
            .qualifications_of_person(&op, &person, None, T1)
            .await
            .unwrap();
        assert_eq!(
            all.iter()
                .map(|m| m.key.insurer.clone())
                .collect::<Vec<_>>(),
            [kyokai(), society()]
        );

        // The insurer's own list honours as_of too.
        let k = actor(&kyokai());
        let listed = store
            .list_members(&k, &kyokai(), Some(date!(2024 - 06 - 01)), None, 10, T1)
            .await
            .unwrap();
        assert_eq!(listed.items.len(), 1);
        assert_eq!(listed.items[0].key.number.as_str(), "78");
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn paging_walks_every_member_once() {
    for db in TestDb::all().await.unwrap() {
        let store = with_insurers(&db).await;
        let a = actor(&kyokai());
        for i in 0..25 {
            let m = member("01130012", &format!("{i}"), "2020-04-01", "", "");
            store
                .create_member(&a, &m.key, &m.details, T0)
                .await
                .unwrap();
        }
        let seen: Vec<String> = every_member(&store, &a, 10)
            .await
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(seen.len(), 25, "{}", db.backend);
        let mut sorted = seen.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, seen, "pages are ordered and disjoint");
        db.cleanup().await;
    }
}

/// Text compares byte by byte on both backends, whatever locale the PostgreSQL database was made
/// with (migration 8). An import numbers its new members in card-key order, so listing by id
/// follows the bytes of the card numbers: "B" before "a", where a Japanese locale puts "a" first.
#[tokio::test]
async fn text_compares_as_bytes_whatever_the_locale() {
    let mut dbs = vec![TestDb::sqlite().unwrap()];
    dbs.extend(
        TestDb::postgres_created_with(
            "LOCALE_PROVIDER icu ICU_LOCALE 'ja' LOCALE 'C.UTF-8' TEMPLATE template0",
        )
        .await
        .unwrap(),
    );
    let numbers = ["b", "B", "a", "A", "あ", "ア", "1", "Z"];
    let mut in_bytes = numbers.to_vec();
    in_bytes.sort_unstable();
    for db in dbs {
        let store = with_insurers(&db).await;
        let rows: Vec<(u64, ValidMember)> = (2..)
            .zip(numbers)
            .map(|(line, n)| (line, member("01130012", n, "2020-04-01", "", "")))
            .collect();
        import(&store, &Actor::Operator("test".into()), &rows, T0).await;
        let listed: Vec<String> = every_member(&store, &actor(&kyokai()), 3)
            .await
            .into_iter()
            .map(|m| m.key.number.as_str().to_owned())
            .collect();
        assert_eq!(listed, in_bytes, "{}", db.backend);
        if db.backend == "postgresql" {
            let other = "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = 'public' \
                 AND data_type = 'text' AND table_name <> 'schema_migrations' \
                 AND collation_name IS DISTINCT FROM 'C'";
            assert_eq!(
                db.query_count(other).await.unwrap(),
                0,
                "a text column outside \"C\""
            );
        }
        db.cleanup().await;
    }
}
