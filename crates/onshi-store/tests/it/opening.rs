//! Opening a store: migrations under a lock, the My Number key, URL schemes.

use crate::common::*;

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
