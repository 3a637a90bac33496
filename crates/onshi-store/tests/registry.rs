//! The registry's behaviour, on every backend: SQLite always, PostgreSQL when
//! ONSHI_TEST_DATABASE_URL is set (see `onshi_store::testing`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use onshi_domain::{AuditAction, ConsentKind, RegistrationChannel};
use onshi_domain::{InsurerNumber, MemberDetails, MemberInput, MyNumber, MyNumberKey, ValidMember};
use onshi_store::testing::TestDb;
use onshi_store::{Actor, MemberRecord, StagedRow, Store, StoreError};
use time::OffsetDateTime;
use time::macros::{date, datetime};

const T0: OffsetDateTime = datetime!(2026-01-05 09:00 UTC);
const T1: OffsetDateTime = datetime!(2026-02-01 09:00 UTC);

fn key() -> MyNumberKey {
    MyNumberKey::from_bytes(&[7; 32]).unwrap()
}

fn kyokai() -> InsurerNumber {
    InsurerNumber::parse("01130012").unwrap()
}

fn society() -> InsurerNumber {
    InsurerNumber::from_data_digits("0613801").unwrap()
}

fn member(insurer: &str, number: &str, from: &str, until: &str, my_number: &str) -> ValidMember {
    let mut m = MemberInput {
        insurer_number: insurer,
        symbol: "10",
        number,
        branch: "00",
        name: "試験 花子",
        name_kana: "シケン ハナコ",
        birth_date: "1990-05-06",
        sex: "2",
        relationship: "1",
        qualified_from: from,
        qualified_until: until,
        copay_ratio: "30",
        my_number,
        loss_reason: "",
        limit: Default::default(),
    }
    .validate()
    .unwrap();
    m.details.person = m.my_number.as_ref().map(|n| key().person_ref(n));
    m
}

async fn with_insurers(db: &TestDb) -> Store {
    let store = db.open().await.unwrap();
    store
        .create_insurer(&kyokai(), "協会けんぽ東京支部", "hash-a", T0)
        .await
        .unwrap();
    store
        .create_insurer(&society(), "試験健康保険組合", "hash-b", T0)
        .await
        .unwrap();
    store
}

fn actor(n: &InsurerNumber) -> Actor {
    Actor::Insurer(n.clone())
}

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

/// Every member of 協会けんぽ東京支部, walked page by page in id order.
async fn every_member(store: &Store, actor: &Actor, page_size: u32) -> Vec<MemberRecord> {
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store
            .list_members(actor, &kyokai(), None, after.as_deref(), page_size, T1)
            .await
            .unwrap();
        seen.extend(page.items);
        match page.next_after {
            Some(next) => after = Some(next),
            None => return seen,
        }
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

/// Stages `rows` and applies them in one import.
async fn import(
    store: &Store,
    actor: &Actor,
    rows: &[(u64, ValidMember)],
    at: OffsetDateTime,
) -> onshi_store::ImportOutcome {
    let mut session = store.begin_import().await.unwrap();
    session.stage(&staged(rows)).await.unwrap();
    session.apply(actor, at).await.unwrap()
}

fn staged(rows: &[(u64, ValidMember)]) -> Vec<StagedRow> {
    rows.iter()
        .map(|(line, m)| StagedRow::new(*line, m.key.clone(), m.details.clone()))
        .collect()
}

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
        next.push((3000, member("01130012", "9999", "2024-04-01", "", "")));
        let third = import(&store, &op, &next, T1).await;
        assert_eq!(
            (third.created, third.changed, third.unchanged),
            (1, 2, 2498)
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

/// A valid My Number for test person `i` (its digits only ever appear in tests).
fn my_number_digits(i: u64) -> String {
    let digits: Vec<u8> = format!("{:011}", 10_000_000_000 + i)
        .bytes()
        .map(|b| b - b'0')
        .collect();
    let check = MyNumber::check_digit(&digits);
    format!(
        "{}{check}",
        String::from_utf8(digits.iter().map(|d| d + b'0').collect()).unwrap()
    )
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

/// PostgreSQL's indexes and constraints on the member tables, as the statements that make them.
async fn member_schema(pool: &sqlx::PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT pg_get_indexdef(indexrelid) FROM pg_index \
         WHERE indrelid IN ('members'::regclass, 'member_versions'::regclass) \
         UNION ALL SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint \
         WHERE conrelid IN ('members'::regclass, 'member_versions'::regclass) ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

/// Whether another connection can read `members` within a second.
async fn members_readable(pool: &sqlx::PgPool) -> bool {
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SET LOCAL lock_timeout = '1s'")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("SELECT COUNT(*) FROM members")
        .execute(&mut *tx)
        .await
        .is_ok()
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
            pg.is_none() || schema.len() == 10,
            "{schema:?}: five indexes and five constraints"
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

/// Opening a store waits for another server's migration (migrate.rs's advisory lock) however
/// short the store's lock wait: only the store's own statements are bounded.
#[tokio::test]
async fn opening_waits_for_a_migration_in_progress_whatever_the_lock_wait() {
    let Some(db) = TestDb::postgres().await.unwrap() else {
        return;
    };
    db.open().await.unwrap().close().await;
    let holder = sqlx::PgPool::connect(&db.url).await.unwrap();
    let mut conn = holder.acquire().await.unwrap();
    sqlx::query("SELECT pg_advisory_lock(7242011)")
        .execute(&mut *conn)
        .await
        .unwrap();
    let options = onshi_store::StoreOptions {
        lock_wait: Some(std::time::Duration::from_millis(100)),
        ..Default::default()
    };
    let release = async {
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
        sqlx::query("SELECT pg_advisory_unlock(7242011)")
            .execute(&mut *conn)
            .await
            .unwrap();
    };
    let (opened, ()) = tokio::join!(db.open_with(options), release);
    let store = opened.unwrap();
    assert_eq!(store.counts().await.unwrap(), (0, 0, 0));
    store.close().await;
    drop(conn);
    holder.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn the_my_number_key_cannot_change() {
    for db in TestDb::all().await.unwrap() {
        let store = db.open().await.unwrap();
        let fp = key().fingerprint();
        store.check_key_fingerprint(&fp).await.unwrap();
        store.check_key_fingerprint(&fp).await.unwrap();
        let other = MyNumberKey::from_bytes(&[8; 32]).unwrap().fingerprint();
        let err = store.check_key_fingerprint(&other).await.unwrap_err();
        assert!(err.to_string().contains(&fp), "{err}");
        // Reopening runs no migration twice.
        store.close().await;
        let again = db.open().await.unwrap();
        again.check_key_fingerprint(&fp).await.unwrap();
        again.close().await;
        db.cleanup().await;
    }
}

#[test]
fn unknown_url_schemes_are_refused() {
    assert!(matches!(
        onshi_store::backend_of("mysql://x"),
        Err(StoreError::UnsupportedUrl)
    ));
    assert_eq!(onshi_store::backend_of("data/onshi.db").unwrap(), "sqlite");
    assert_eq!(
        onshi_store::redact_url("postgres://u:secret@h/db"),
        "postgres://u:***@h/db"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reads_and_writes_chain_into_one_log() {
    for db in TestDb::all().await.unwrap() {
        let store = with_insurers(&db).await;
        let a = actor(&kyokai());
        let facility = Actor::Facility(onshi_domain::FacilityCode::parse("1311234567").unwrap());
        // 600 checks through the group-commit writer, racing 20 member creations whose entries
        // commit inside their own transactions.
        let mut tasks = Vec::new();
        for i in 0..600 {
            let (store, facility) = (store.clone(), facility.clone());
            tasks.push(tokio::spawn(async move {
                store
                    .record_check(
                        T1,
                        &facility,
                        AuditAction::CheckNumber,
                        None,
                        &format!("validity={}", i % 5 + 1),
                    )
                    .await
            }));
        }
        for i in 0..20 {
            let (store, a) = (store.clone(), a.clone());
            tasks.push(tokio::spawn(async move {
                let m = member("01130012", &format!("{}", 500 + i), "2020-04-01", "", "");
                store
                    .create_member(&a, &m.key, &m.details, T0)
                    .await
                    .map(|_| ())
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert_eq!(
            store.verify_audit().await.unwrap(),
            Ok(620),
            "every entry chained exactly once ({})",
            db.backend
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn the_audit_chain_finds_edits_and_deletions() {
    for db in TestDb::all().await.unwrap() {
        let store = with_insurers(&db).await;
        let a = actor(&kyokai());
        let mut ids = Vec::new();
        for i in 0..4 {
            let m = member("01130012", &format!("{i}"), "2020-04-01", "", "");
            ids.push(
                store
                    .create_member(&a, &m.key, &m.details, T0)
                    .await
                    .unwrap()
                    .id,
            );
        }
        store
            .list_members(&a, &kyokai(), None, None, 10, T1)
            .await
            .unwrap(); // 4 more entries
        assert_eq!(store.verify_audit().await.unwrap(), Ok(8), "{}", db.backend);

        // An edited entry is named, and so is everything after a deleted one.
        db.execute_raw("UPDATE audit_log SET actor_id = '06138010' WHERE seq = 3")
            .await
            .unwrap();
        let broken = store.verify_audit().await.unwrap().unwrap_err();
        assert_eq!(broken.seq, 3, "{}: {broken}", db.backend);
        assert!(broken.reason.contains("edited"), "{broken}");
        db.execute_raw("UPDATE audit_log SET actor_id = '01130012' WHERE seq = 3")
            .await
            .unwrap();
        assert_eq!(store.verify_audit().await.unwrap(), Ok(8));

        db.execute_raw("DELETE FROM audit_log WHERE seq = 5")
            .await
            .unwrap();
        let broken = store.verify_audit().await.unwrap().unwrap_err();
        assert_eq!(broken.seq, 5);
        assert!(broken.reason.contains("deleted"), "{broken}");
        db.cleanup().await;
    }
    for db in TestDb::all().await.unwrap() {
        let store = with_insurers(&db).await;
        let a = actor(&kyokai());
        let m = member("01130012", "1", "2020-04-01", "", "");
        store
            .create_member(&a, &m.key, &m.details, T0)
            .await
            .unwrap();
        store
            .list_members(&a, &kyokai(), None, None, 10, T1)
            .await
            .unwrap();
        db.execute_raw("DELETE FROM audit_log WHERE seq = 2")
            .await
            .unwrap();
        let broken = store.verify_audit().await.unwrap().unwrap_err();
        assert_eq!(
            broken.seq, 2,
            "removing the last entry is found too ({})",
            db.backend
        );
        db.cleanup().await;
    }
}

/// A challenge sealed for facility 1311111111 at `at`, its nonce all `seed`.
/// The test clinic's facility code.
fn clinic() -> onshi_domain::FacilityCode {
    onshi_domain::FacilityCode::parse("1311111111").unwrap()
}

/// The card holder of the card tests.
fn card_holder() -> onshi_domain::PersonRef {
    key().person_ref(&MyNumber::parse("123456789018").unwrap())
}

/// Records card certificate `fp1` for `person` (issued at T0, valid until T1).
async fn issue_card(store: &Store, person: &onshi_domain::PersonRef) {
    store
        .record_certificate("fp1", "card", "01", person, T1, T0)
        .await
        .unwrap();
}

fn sealed(seed: u8, at: OffsetDateTime) -> onshi_domain::Challenge {
    onshi_domain::ChallengeKey::derive(&key())
        .issue(
            [seed; 32],
            "1311111111",
            onshi_domain::ChallengePurpose::Check,
            at,
            at + time::Duration::minutes(2),
        )
        .unwrap()
}

/// What a registration or the portal reads for `fingerprint` and challenge `id`.
async fn read(store: &Store, id: &str, fingerprint: &str) -> onshi_store::CardRead {
    store
        .card_read(id, fingerprint, None, T0, None)
        .await
        .unwrap()
}

/// Whether challenge `c` was used.
async fn used(store: &Store, c: &onshi_domain::Challenge) -> bool {
    read(store, &c.id, "").await.used
}

/// The directory's holder of certificate `fingerprint`.
async fn holder_of(store: &Store, fingerprint: &str) -> Option<onshi_store::CardHolder> {
    read(store, "unused", fingerprint).await.holder
}

/// The holder of `fingerprint` with their consents at `facility` in force at `at`.
async fn consents_of(
    store: &Store,
    fingerprint: &str,
    facility: Option<&onshi_domain::FacilityCode>,
    at: OffsetDateTime,
) -> Option<onshi_store::CardHolder> {
    store
        .card_read("unused", fingerprint, facility, at, None)
        .await
        .unwrap()
        .holder
}

/// A card check by `facility` at `at` that answers challenge `id` with `consents`.
async fn answer(
    store: &Store,
    facility: &onshi_domain::FacilityCode,
    challenge: &onshi_domain::Challenge,
    person: &onshi_domain::PersonRef,
    consents: &[ConsentKind],
    at: OffsetDateTime,
) -> Result<(), onshi_store::StoreError> {
    let mut audit = store.begin_check(&Actor::Facility(facility.clone()), at);
    audit.answer_challenge(
        challenge,
        person,
        facility,
        consents,
        at + time::Duration::hours(24),
    );
    store
        .finish_check(audit, AuditAction::CheckCard, Some(person), "validity=1")
        .await
}

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
                .facility_by_token_hash("fhash")
                .await
                .unwrap()
                .unwrap()
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

#[tokio::test]
async fn times_within_one_second_compare_as_times() {
    for db in TestDb::all().await.unwrap() {
        let store = db.open().await.unwrap();
        let facility = clinic();
        let person = card_holder();
        issue_card(&store, &person).await;
        // Given at 09:00:00.7, so in force until 09:00:00.7 the next day.
        let given = T0 + time::Duration::milliseconds(700);
        answer(
            &store,
            &facility,
            &sealed(1, given),
            &person,
            &[ConsentKind::Medication],
            given,
        )
        .await
        .unwrap();
        let in_force = |at: OffsetDateTime| {
            let (store, facility) = (store.clone(), facility.clone());
            async move {
                !consents_of(&store, "fp1", Some(&facility), at)
                    .await
                    .unwrap()
                    .consents
                    .is_empty()
            }
        };
        let day = time::Duration::hours(24);
        for (ms, expected) in [
            (0, true),
            (500, true),
            (699, true),
            (700, false),
            (750, false),
        ] {
            let at = T0 + day + time::Duration::milliseconds(ms);
            assert_eq!(in_force(at).await, expected, "at {at} on {}", db.backend);
        }
        assert!(!in_force(given - time::Duration::milliseconds(50)).await);
        // A check reference is looked for since a time in the same second as its use.
        let c = sealed(2, given);
        store.consume_challenge(&c, given, &person).await.unwrap();
        for (ms, found) in [(0, true), (500, true), (700, true), (750, false)] {
            let since = T0 + time::Duration::milliseconds(ms);
            assert_eq!(
                store
                    .person_of_check(&c.id, "1311111111", since)
                    .await
                    .unwrap()
                    .is_some(),
                found,
                "since {since} on {}",
                db.backend
            );
        }
        db.cleanup().await;
    }
}

/// Rows that SQLite held before compared times were written fixed-width are rewritten by the
/// migration, and then compare as times.
#[tokio::test]
async fn earlier_sqlite_times_are_rewritten_fixed_width() {
    let db = TestDb::sqlite().unwrap();
    db.open().await.unwrap();
    db.execute_raw(
        "INSERT INTO consents (person_ref, facility_code, kind, given_at, expires_at) VALUES \
         ('p', '1311111111', 'medication', '2026-01-05T09:00:00Z', '2026-01-06T09:00:00.7Z'), \
         ('p', '1311111111', 'checkup', '2026-01-05T09:00:00.123456789Z', '2026-01-06T09:00:00.75Z')",
    )
    .await
    .unwrap();
    db.execute_raw(
        "INSERT INTO challenges (id, nonce, audience, purpose, created_at, expires_at, used_at) VALUES \
         ('c', '00', '1311111111', 'check', '2026-01-05T09:00:00.5Z', '2026-01-05T09:02:00.5Z', NULL)",
    )
    .await
    .unwrap();
    db.execute_raw("DELETE FROM schema_migrations WHERE version = 7")
        .await
        .unwrap();
    db.open().await.unwrap();
    let fixed = |sql: &'static str| async { db.query_count(sql).await.unwrap() };
    assert_eq!(
        fixed(
            "SELECT COUNT(*) FROM consents WHERE length(given_at) = 30 AND length(expires_at) = 30"
        )
        .await,
        2
    );
    assert_eq!(
        fixed(
            "SELECT COUNT(*) FROM consents WHERE given_at = '2026-01-05T09:00:00.000000000Z' \
             AND expires_at = '2026-01-06T09:00:00.700000000Z'"
        )
        .await,
        1
    );
    assert_eq!(
        fixed(
            "SELECT COUNT(*) FROM consents WHERE given_at = '2026-01-05T09:00:00.123456789Z' \
             AND expires_at > '2026-01-06T09:00:00.700000000Z'"
        )
        .await,
        1,
        "…00.75 is now after …00.7"
    );
    assert_eq!(
        fixed(
            "SELECT COUNT(*) FROM challenges WHERE created_at = '2026-01-05T09:00:00.500000000Z' \
             AND used_at IS NULL"
        )
        .await,
        1
    );
}
