//! The hash-chained audit log: one chain under concurrency, edits and deletions found.

use crate::common::*;

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

/// A checkpoint signed with a key the database does not hold: the log may grow past it, but a
/// log truncated, rewritten (whole chains recomputed, as a database administrator could) or
/// emptied after it fails verification against it, on every backend; and an entry's inclusion
/// proof under a checkpoint verifies with nothing but hashes.
#[tokio::test]
async fn a_log_rewritten_truncated_or_emptied_after_a_checkpoint_fails_against_it() {
    use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
    use onshi_domain::checkpoint::{self, Checkpoint};
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let key =
        Ed25519KeyPair::from_pkcs8(Ed25519KeyPair::generate_pkcs8(&rng).unwrap().as_ref()).unwrap();
    let public = key.public_key().as_ref().to_vec();
    for db in TestDb::all().await.unwrap() {
        let store = with_insurers(&db).await;
        let a = actor(&kyokai());
        let checkpoint = |summary: onshi_store::AuditSummary| {
            let c = Checkpoint {
                origin: "onshi test".into(),
                size: summary.entries as u64,
                chain_head: summary.head,
                root: summary.root,
                at: T1,
            };
            // As an operator keeps it: signed text, read back with the public key only.
            Checkpoint::verify(&c.sign(&key), &public).unwrap()
        };
        for i in 0..4 {
            let m = member("01130012", &format!("{i}"), "2020-04-01", "", "");
            store
                .create_member(&a, &m.key, &m.details, T0)
                .await
                .unwrap();
        }
        store
            .list_members(&a, &kyokai(), None, None, 10, T1)
            .await
            .unwrap();
        let c8 = checkpoint(store.verify_audit_against(&[]).await.unwrap().unwrap());
        assert_eq!(c8.size, 8, "{}", db.backend);
        // The log grows past a checkpoint and still verifies against it.
        let facility = Actor::Facility(onshi_domain::FacilityCode::parse("1311234567").unwrap());
        for _ in 0..2 {
            store
                .record_check(T1, &facility, AuditAction::CheckNumber, None, "validity=4")
                .await
                .unwrap();
        }
        let c10 = checkpoint(
            store
                .verify_audit_against(std::slice::from_ref(&c8))
                .await
                .unwrap()
                .unwrap(),
        );
        let both = [c8.clone(), c10.clone()];

        // Entry 3 is in the tree of checkpoint 10, shown by hashes alone.
        let (hash, proof) = store.audit_inclusion_proof(3, 10).await.unwrap().unwrap();
        let proof: Vec<checkpoint::Hash> = proof
            .iter()
            .map(|h| hex::decode(h).unwrap().try_into().unwrap())
            .collect();
        let root: checkpoint::Hash = hex::decode(&c10.root).unwrap().try_into().unwrap();
        let leaf = checkpoint::leaf(&hash).unwrap();
        assert!(checkpoint::verify_inclusion(&leaf, 2, 10, &proof, &root));
        assert!(!checkpoint::verify_inclusion(&leaf, 3, 10, &proof, &root));
        assert!(store.audit_inclusion_proof(11, 10).await.unwrap().is_none());

        // Truncated: the newest entries deleted and the head moved back, two statements. The
        // chain alone still verifies; the checkpoints do not.
        db.execute_raw("DELETE FROM audit_log WHERE seq > 6")
            .await
            .unwrap();
        db.execute_raw(
            "UPDATE audit_head SET seq = 6, hash = (SELECT hash FROM audit_log WHERE seq = 6) WHERE id = 1",
        )
        .await
        .unwrap();
        assert_eq!(store.verify_audit().await.unwrap(), Ok(6), "{}", db.backend);
        let broken = store
            .verify_audit_against(&both)
            .await
            .unwrap()
            .unwrap_err();
        assert!(broken.reason.contains("truncated"), "{broken}");

        // Rewritten: the same number of entries again, every hash recomputed by the store's own
        // writer, so the chain verifies; entry 8 is not what was signed.
        for _ in 0..4 {
            store
                .record_check(T1, &facility, AuditAction::CheckNumber, None, "validity=1")
                .await
                .unwrap();
        }
        assert_eq!(store.verify_audit().await.unwrap(), Ok(10));
        let broken = store
            .verify_audit_against(&both)
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(broken.seq, 8, "{broken}");
        assert!(broken.reason.contains("rewritten"), "{broken}");

        // Emptied.
        db.execute_raw("DELETE FROM audit_log").await.unwrap();
        db.execute_raw(&format!(
            "UPDATE audit_head SET seq = 0, hash = '{}' WHERE id = 1",
            onshi_domain::audit::GENESIS
        ))
        .await
        .unwrap();
        assert_eq!(store.verify_audit().await.unwrap(), Ok(0));
        let broken = store
            .verify_audit_against(&both)
            .await
            .unwrap()
            .unwrap_err();
        assert!(broken.reason.contains("emptied"), "{broken}");
        db.cleanup().await;
    }
}
