//! The constants and fixtures every subject shares, and the imports they all use.

#![allow(dead_code)] // each subject uses some of these

pub use onshi_domain::{AuditAction, ConsentKind, RegistrationChannel};
pub use onshi_domain::{
    InsurerNumber, MemberDetails, MemberInput, MyNumber, MyNumberKey, ValidMember,
};
pub use onshi_store::testing::TestDb;
pub use onshi_store::{Actor, MemberRecord, StagedRow, Store, StoreError};
pub use time::OffsetDateTime;
pub use time::macros::{date, datetime};

pub const T0: OffsetDateTime = datetime!(2026-01-05 09:00 UTC);

pub const T1: OffsetDateTime = datetime!(2026-02-01 09:00 UTC);

pub fn key() -> MyNumberKey {
    MyNumberKey::from_bytes(&[7; 32]).unwrap()
}

pub fn kyokai() -> InsurerNumber {
    InsurerNumber::parse("01130012").unwrap()
}

pub fn society() -> InsurerNumber {
    InsurerNumber::from_data_digits("0613801").unwrap()
}

pub fn member(
    insurer: &str,
    number: &str,
    from: &str,
    until: &str,
    my_number: &str,
) -> ValidMember {
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
        card: Default::default(),
        employer: "",
    }
    .validate()
    .unwrap();
    m.details.person = m.my_number.as_ref().map(|n| key().person_ref(n));
    m
}

pub async fn with_insurers(db: &TestDb) -> Store {
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

pub fn actor(n: &InsurerNumber) -> Actor {
    Actor::Insurer(n.clone())
}

/// Every member of 協会けんぽ東京支部, walked page by page in id order.
pub async fn every_member(store: &Store, actor: &Actor, page_size: u32) -> Vec<MemberRecord> {
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

/// Stages `rows` and applies them in one import.
pub async fn import(
    store: &Store,
    actor: &Actor,
    rows: &[(u64, ValidMember)],
    at: OffsetDateTime,
) -> onshi_store::ImportOutcome {
    let mut session = store.begin_import().await.unwrap();
    session.stage(&staged(rows)).await.unwrap();
    session.apply(actor, at).await.unwrap()
}

pub fn staged(rows: &[(u64, ValidMember)]) -> Vec<StagedRow> {
    rows.iter()
        .map(|(line, m)| StagedRow::new(*line, m.key.clone(), m.details.clone()))
        .collect()
}

/// A valid My Number for test person `i` (its digits only ever appear in tests).
pub fn my_number_digits(i: u64) -> String {
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

/// PostgreSQL's indexes and constraints on the member tables, as the statements that make them.
pub async fn member_schema(pool: &sqlx::PgPool) -> Vec<String> {
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
pub async fn members_readable(pool: &sqlx::PgPool) -> bool {
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

/// A challenge sealed for facility 1311111111 at `at`, its nonce all `seed`.
/// The test clinic's facility code.
pub fn clinic() -> onshi_domain::FacilityCode {
    onshi_domain::FacilityCode::parse("1311111111").unwrap()
}

/// The card holder of the card tests.
pub fn card_holder() -> onshi_domain::PersonRef {
    key().person_ref(&MyNumber::parse("123456789018").unwrap())
}

/// Records card certificate `fp1` for `person` (issued at T0, valid until T1).
pub async fn issue_card(store: &Store, person: &onshi_domain::PersonRef) {
    store
        .record_certificate("fp1", "card", "01", person, T1, T0)
        .await
        .unwrap();
}

pub fn sealed(seed: u8, at: OffsetDateTime) -> onshi_domain::Challenge {
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
pub async fn read(store: &Store, id: &str, fingerprint: &str) -> onshi_store::CardRead {
    store
        .card_read(id, fingerprint, None, T0, None)
        .await
        .unwrap()
}

/// Whether challenge `c` was used.
pub async fn used(store: &Store, c: &onshi_domain::Challenge) -> bool {
    read(store, &c.id, "").await.used
}

/// The directory's holder of certificate `fingerprint`.
pub async fn holder_of(store: &Store, fingerprint: &str) -> Option<onshi_store::CardHolder> {
    read(store, "unused", fingerprint).await.holder
}

/// The holder of `fingerprint` with their consents at `facility` in force at `at`.
pub async fn consents_of(
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
pub async fn answer(
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
