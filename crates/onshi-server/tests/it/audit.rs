//! The audit log's public anchors: the latest signed checkpoint served as kept, and a person's
//! access-log entry proven to be under it by hashes alone.

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use onshi_domain::checkpoint::{self, Checkpoint};

use crate::world::*;

#[tokio::test]
async fn a_person_proves_an_access_is_under_the_served_checkpoint() {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let key =
        Ed25519KeyPair::from_pkcs8(Ed25519KeyPair::generate_pkcs8(&rng).unwrap().as_ref()).unwrap();
    for db in TestDb::all().await.unwrap() {
        let dir = tempfile::tempdir().unwrap();
        let w = World::standard_cast()
            .with_audit_checkpoints(dir.path())
            .build(&db)
            .await;
        // A facility checks the person's card; then the operator signs a checkpoint.
        let (s, _) = w
            .check(&w.f1, &w.proof(Some(&w.f1), "valid").await, "2026-11-24")
            .await;
        assert_eq!(s, StatusCode::OK);
        let summary = w.store.verify_audit_against(&[]).await.unwrap().unwrap();
        let signed = Checkpoint {
            origin: "onshi test".into(),
            size: summary.entries as u64,
            chain_head: summary.head,
            root: summary.root,
            at: NOW,
        }
        .sign(&key);
        std::fs::write(
            dir.path()
                .join(format!("{:012}-1.checkpoint", summary.entries)),
            &signed,
        )
        .unwrap();

        // Anyone gets the checkpoint, and checks it with the operator's public key.
        let (s, headers, _) = w
            .call_with_headers(Method::GET, "/v1/audit/checkpoint", None, Value::Null)
            .await;
        assert_eq!(s, StatusCode::OK, "{}", db.backend);
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        let served = {
            let res = w
                .router
                .clone()
                .oneshot(
                    Request::builder()
                        .uri("/v1/audit/checkpoint")
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
            let bytes = axum::body::to_bytes(res.into_body(), 1 << 16)
                .await
                .unwrap();
            String::from_utf8(bytes.to_vec()).unwrap()
        };
        assert_eq!(served, signed);
        let c = Checkpoint::verify(&served, key.public_key().as_ref()).unwrap();

        // The person reads who looked at their data, and proves the facility's check is in the
        // signed log.
        let (s, log) = w
            .call(
                Method::POST,
                "/v1/portal/access-log",
                None,
                w.proof(None, "valid").await,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{log}");
        let check = log
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["action"] == "check_card")
            .unwrap();
        let seq = check["seq"].as_i64().unwrap();
        assert!(seq >= 1 && seq <= c.size as i64);
        let (s, p) = w
            .call(
                Method::GET,
                &format!("/v1/audit/proof?seq={seq}&size={}", c.size),
                None,
                Value::Null,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{p}");
        let hash = |h: &Value| -> checkpoint::Hash {
            hex::decode(h.as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap()
        };
        let proof: Vec<checkpoint::Hash> =
            p["proof"].as_array().unwrap().iter().map(hash).collect();
        let leaf = checkpoint::leaf(p["entry_hash"].as_str().unwrap()).unwrap();
        let root: checkpoint::Hash = hex::decode(&c.root).unwrap().try_into().unwrap();
        assert!(checkpoint::verify_inclusion(
            &leaf,
            (seq - 1) as u64,
            c.size,
            &proof,
            &root
        ));
        // Beyond the checkpoint, or not numbers: refused.
        let (s, _) = w
            .call(
                Method::GET,
                &format!("/v1/audit/proof?seq={}&size={}", c.size + 1, c.size),
                None,
                Value::Null,
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, p) = w
            .call(Method::GET, "/v1/audit/proof?seq=x", None, Value::Null)
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(p["errors"].as_array().unwrap().len(), 2, "{p}");
        db.cleanup().await;
    }
}
