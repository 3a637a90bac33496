//! Member-file imports: all or nothing, idempotent, ordered, the PostgreSQL initial load.

use crate::common::*;

#[tokio::test]
async fn import_is_all_or_nothing_and_idempotent() {
    for db in TestDb::all().await.unwrap() {
        let store = with_insurers(&db).await;
        let op = Actor::Operator("test".into());
        let rows: Vec<(u64, ValidMember)> = (0..2500)
            .map(|i| {
                (
                    i + 2,
                    member("01130012", &format!("{}", 1000 + i), "2020-04-01", "", ""),
                )
            })
            .collect();

        // Staged but never applied: nothing is written.
        let mut session = store.begin_import().await.unwrap();
        session.stage(&staged(&rows)).await.unwrap();
        drop(session);
        assert_eq!(store.counts().await.unwrap().1, 0, "{}", db.backend);

        // Duplicated card keys are found with both lines.
        let mut with_dup = rows[..10].to_vec();
        with_dup.push((99, rows[3].1.clone()));
        let mut session = store.begin_import().await.unwrap();
        session.stage(&staged(&with_dup)).await.unwrap();
        assert_eq!(session.duplicates().await.unwrap(), [(99, 5)]);
        drop(session);

        let mut session = store.begin_import().await.unwrap();
        session.stage(&staged(&rows)).await.unwrap();
        assert!(session.duplicates().await.unwrap().is_empty());
        let first = session.apply(&op, T0).await.unwrap();
        assert_eq!(
            (first.rows, first.created, first.changed, first.unchanged),
            (2500, 2500, 0, 0),
            "{}",
            db.backend
        );

        let second = import(&store, &op, &rows, T1).await;
        assert_eq!(
            (second.created, second.changed, second.unchanged),
            (0, 0, 2500)
        );
        assert_eq!(store.counts().await.unwrap(), (2, 2500, 2500));

        // Two changed rows (one gains a 限度額 certificate) and one new row: two new versions,
        // one new member.
        let mut next = rows.clone();
        next[7].1.details.qualified_until = Some(date!(2025 - 12 - 31));
        let certificate = onshi_domain::LimitInput {
            class: "02",
            bracket: "B05",
            issued: "2026-07-15",
            valid_from: "2026-08-01",
            valid_until: "",
            long_term_from: "2026-11-01",
        }
        .validate()
        .unwrap();
        next[8].1.details.limit = certificate.clone();
        // A third gains the card's details, with an address holding a backslash and a tab-free
        // separator-free text, as COPY and SQLite must carry it unchanged.
        let card = onshi_domain::CardInput {
            class: "03",
            issued: "2020-04-01",
            valid_until: "2027-03-31",
            insured_name: "試験 一郎",
            address: "東京都千代田区\\霞が関1-2-2",
            post_number: "1008916",
            ..Default::default()
        }
        .validate()
        .unwrap();
        next[9].1.details.card = card.clone();
        // A fourth gains an employer (事業所コード).
        let employer = onshi_domain::EmployerCode::parse("A-01").unwrap();
        next[10].1.details.employer = Some(employer.clone());
        next.push((3000, member("01130012", "9999", "2024-04-01", "", "")));
        let third = import(&store, &op, &next, T1).await;
        assert_eq!(
            (third.created, third.changed, third.unchanged),
            (1, 4, 2496)
        );
        let employed = store
            .find_member(&op, &next[10].1.key, T1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (employed.version, employed.details.employer),
            (2, Some(employer)),
            "{}",
            db.backend
        );
        let with_card = store
            .find_member(&op, &next[9].1.key, T1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (with_card.version, &with_card.details.card),
            (2, &card),
            "{}",
            db.backend
        );
        let found = store
            .find_member(&op, &next[7].1.key, T1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.version, 2);
        assert_eq!(found.source, "import");
        assert_eq!(found.details.qualified_until, Some(date!(2025 - 12 - 31)));
        assert_eq!(found.details.limit, None);
        let with_limit = store
            .find_member(&op, &next[8].1.key, T1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(with_limit.version, 2);
        assert_eq!(with_limit.details.limit, certificate, "{}", db.backend);
        assert_eq!(
            with_limit.details.content_hash(),
            next[8].1.details.content_hash()
        );
        // The same file again: the certificate is part of what "unchanged" compares.
        let fourth = import(&store, &op, &next, T1).await;
        assert_eq!((fourth.changed, fourth.unchanged), (0, 2501));
        // A version written one at a time reads back the same.
        let mut key = next[9].1.key.clone();
        key.number = onshi_domain::CardNumber::parse("8888").unwrap();
        store
            .create_member(&op, &key, &next[9].1.details, T1)
            .await
            .unwrap();
        let read = store.find_member(&op, &key, T1).await.unwrap().unwrap();
        assert_eq!(read.details.card, card, "{}", db.backend);
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_large_import_leaves_fresh_planner_statistics_on_postgresql() {
    for db in TestDb::all().await.unwrap() {
        let store = with_insurers(&db).await;
        let rows: Vec<(u64, ValidMember)> = (0..10_000)
            .map(|i| {
                (
                    i + 2,
                    member("01130012", &format!("{}", 20_000 + i), "2020-04-01", "", ""),
                )
            })
            .collect();
        let done = import(&store, &Actor::Operator("test".into()), &rows, T0).await;
        assert_eq!(done.created, 10_000, "{}", db.backend);
        if db.backend == "postgresql" {
            // Never vacuumed or analysed, a table's reltuples is -1; the import's ANALYZE sets it.
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            for table in ["members", "member_versions"] {
                let tuples: f32 =
                    sqlx::query_scalar("SELECT reltuples FROM pg_class WHERE relname = $1")
                        .bind(table)
                        .fetch_one(&pool)
                        .await
                        .unwrap();
                assert_eq!(tuples, 10_000.0, "{table}");
            }
            pool.close().await;
        }
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_large_import_is_written_in_card_key_order_and_keeps_every_index() {
    for db in TestDb::all().await.unwrap() {
        let store = with_insurers(&db).await;
        let op = Actor::Operator("test".into());
        // The file lists card numbers backwards; 10,000 rows is where SQLite rebuilds the person
        // index instead of inserting into it.
        let rows: Vec<(u64, ValidMember)> = (0..10_000u64)
            .map(|i| {
                let number = format!("{}", 40_000 - i);
                (
                    i + 2,
                    member("01130012", &number, "2020-04-01", "", &my_number_digits(i)),
                )
            })
            .collect();
        // Three rows with one card key: each repeat names the row before it.
        let mut session = store.begin_import().await.unwrap();
        let mut with_dups = rows[..20].to_vec();
        with_dups.push((50, rows[4].1.clone()));
        with_dups.push((60, rows[4].1.clone()));
        session.stage(&staged(&with_dups)).await.unwrap();
        assert_eq!(
            session.duplicates().await.unwrap(),
            [(50, 6), (60, 50)],
            "{}",
            db.backend
        );
        drop(session);

        let done = import(&store, &op, &rows, T0).await;
        assert_eq!(done.created, 10_000, "{}", db.backend);

        // New members' ids rise with their card keys (listing walks them in id order), except
        // in PostgreSQL's initial load, which builds its indexes afterwards and so need not
        // sort: there they rise with the file's lines.
        let numbers: Vec<u64> = every_member(&store, &op, 1000)
            .await
            .iter()
            .map(|m| m.key.number.as_str().parse().unwrap())
            .collect();
        let mut expected: Vec<u64> = (30_001..=40_000).collect();
        if db.backend == "postgresql" {
            expected.reverse();
        }
        assert_eq!(numbers, expected, "{}", db.backend);

        // The person index is there (SQLite built it again) and finds each person.
        for i in [0u64, 4_321, 9_999] {
            let person = key().person_ref(&MyNumber::parse(&my_number_digits(i)).unwrap());
            let found = store
                .qualifications_of_person(&op, &person, None, T0)
                .await
                .unwrap();
            assert_eq!(found.len(), 1, "{}", db.backend);
            assert_eq!(found[0].key.number.as_str(), format!("{}", 40_000 - i));
        }
        let index_sql = if db.backend == "postgresql" {
            "SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'member_versions_by_person'"
        } else {
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'member_versions_by_person' \
             AND sql LIKE '%(person_ref) WHERE person_ref IS NOT NULL'"
        };
        assert_eq!(
            db.query_count(index_sql).await.unwrap(),
            1,
            "{}",
            db.backend
        );

        // A second, smaller import into the now larger registry changes one member.
        let mut next = rows.clone();
        next[10].1.details.copay_ratio = onshi_domain::CopayRatio::from_percent(20).unwrap();
        let again = import(&store, &op, &next, T1).await;
        assert_eq!(
            (again.created, again.changed, again.unchanged),
            (0, 1, 9_999)
        );
        assert_eq!(
            db.query_count(index_sql).await.unwrap(),
            1,
            "{}",
            db.backend
        );
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn an_initial_load_rebuilds_what_it_dropped_and_a_failed_one_leaves_it_all() {
    for db in TestDb::all().await.unwrap() {
        let store = with_insurers(&db).await;
        let op = Actor::Operator("test".into());
        let pg = if db.backend == "postgresql" {
            Some(sqlx::PgPool::connect(&db.url).await.unwrap())
        } else {
            None
        };
        let schema = match &pg {
            Some(pool) => member_schema(pool).await,
            None => Vec::new(),
        };
        assert!(
            pg.is_none() || schema.len() == 11,
            "{schema:?}: six indexes (one for the checkup matching queue) and five constraints"
        );
        let mut rows: Vec<(u64, ValidMember)> = (0..10_000u64)
            .map(|i| {
                let number = format!("{}", 50_000 + i);
                (
                    i + 2,
                    member("01130012", &number, "2020-04-01", "", &my_number_digits(i)),
                )
            })
            .collect();
        // Text that COPY's format must escape reaches the registry unchanged.
        let awkward = "試験\t\\N\\\n\r花子";
        rows[17].1.details.name = onshi_domain::Personal(awkward.to_owned());
        rows[18].1.details.name_kana = onshi_domain::Personal("\\N".to_owned());

        // 1. Duplicates are found in the unsorted rows, and dropping the session rolls the
        //    unindexed tables back to what they were.
        let mut with_dups = rows.clone();
        with_dups.push((20_000, rows[40].1.clone()));
        with_dups.push((20_001, rows[9_000].1.clone()));
        with_dups.push((20_002, rows[40].1.clone()));
        let mut session = store.begin_import().await.unwrap();
        session.stage(&staged(&with_dups)).await.unwrap();
        assert_eq!(
            session.duplicates().await.unwrap(),
            [(20_000, 42), (20_001, 9_002), (20_002, 20_000)],
            "{}",
            db.backend
        );
        // Asking again gives the same answer.
        assert_eq!(session.duplicates().await.unwrap().len(), 3);
        if let Some(pool) = &pg {
            // An initial load holds the member tables until it ends. A store that waits only
            // briefly for locks, as the server's does, is told so rather than held.
            assert!(!members_readable(pool).await);
            let options = onshi_store::StoreOptions {
                lock_wait: Some(std::time::Duration::from_millis(200)),
                ..Default::default()
            };
            let waiting = db.open_with(options).await.unwrap();
            assert!(matches!(
                waiting.find_member(&op, &rows[3].1.key, T0).await,
                Err(StoreError::Busy(_))
            ));
            waiting.close().await;
        }
        drop(session);
        if let Some(pool) = &pg {
            assert_eq!(member_schema(pool).await, schema);
            assert!(members_readable(pool).await);
        }

        // 2. A load that fails in its last step (a foreign key: an insurer the registry does
        //    not know) writes nothing and leaves every index and constraint.
        let mut unknown = rows.clone();
        unknown[5_000].1.key.insurer = InsurerNumber::from_data_digits("0113005").unwrap();
        let mut session = store.begin_import().await.unwrap();
        session.stage(&staged(&unknown)).await.unwrap();
        assert!(session.duplicates().await.unwrap().is_empty());
        assert!(session.apply(&op, T0).await.is_err(), "{}", db.backend);
        assert_eq!(store.counts().await.unwrap(), (2, 0, 0), "{}", db.backend);
        if let Some(pool) = &pg {
            assert_eq!(member_schema(pool).await, schema);
        }

        // 3. The load itself.
        let done = import(&store, &op, &rows, T0).await;
        assert_eq!(
            (done.rows, done.created, done.changed, done.unchanged),
            (10_000, 10_000, 0, 0),
            "{}",
            db.backend
        );
        assert_eq!(
            done.initial_load,
            db.backend == "postgresql",
            "{}",
            db.backend
        );
        if let Some(pool) = &pg {
            assert_eq!(member_schema(pool).await, schema);
        }
        let found = store
            .find_member(&op, &rows[17].1.key, T0)
            .await
            .unwrap()
            .unwrap();
        assert!(found.details.name.0 == awkward, "{}", db.backend);
        let found = store
            .find_member(&op, &rows[18].1.key, T0)
            .await
            .unwrap()
            .unwrap();
        assert!(found.details.name_kana.0 == "\\N", "{}", db.backend);
        assert_eq!(
            found.details.content_hash(),
            rows[18].1.details.content_hash()
        );
        let person = key().person_ref(&MyNumber::parse(&my_number_digits(7_777)).unwrap());
        let of_person = store
            .qualifications_of_person(&op, &person, None, T0)
            .await
            .unwrap();
        assert_eq!(of_person.len(), 1, "{}", db.backend);
        assert_eq!(of_person[0].key.number.as_str(), "57777");
        // The rebuilt unique key still refuses a second member with a card key.
        assert!(matches!(
            store
                .create_member(&op, &rows[3].1.key, &rows[3].1.details, T1)
                .await,
            Err(StoreError::Conflict(_))
        ));

        // 4. With members there, a large import is an ordinary one: readers are not held.
        let mut next = rows.clone();
        next[10].1.details.copay_ratio = onshi_domain::CopayRatio::from_percent(20).unwrap();
        let mut session = store.begin_import().await.unwrap();
        session.stage(&staged(&next)).await.unwrap();
        assert!(session.duplicates().await.unwrap().is_empty());
        if let Some(pool) = &pg {
            assert!(members_readable(pool).await);
        }
        let again = session.apply(&op, T1).await.unwrap();
        assert_eq!(
            (
                again.created,
                again.changed,
                again.unchanged,
                again.initial_load
            ),
            (0, 1, 9_999, false),
            "{}",
            db.backend
        );
        assert!(store.verify_audit().await.unwrap().is_ok());
        // Each applied import is noted once in the access log; the failed and dropped ones not.
        for (detail, count) in [
            ("10000 rows: 10000 created, 0 changed", 1),
            ("10000 rows: 0 created, 1 changed", 1),
        ] {
            let sql = format!(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'import' AND detail = '{detail}'"
            );
            assert_eq!(db.query_count(&sql).await.unwrap(), count, "{}", db.backend);
        }
        assert_eq!(
            db.query_count("SELECT COUNT(*) FROM audit_log WHERE action = 'import'")
                .await
                .unwrap(),
            2
        );
        if let Some(pool) = pg {
            assert_eq!(member_schema(&pool).await, schema);
            pool.close().await;
        }
        store.close().await;
        db.cleanup().await;
    }
}
