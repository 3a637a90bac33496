//! Checkup archives uploaded by the insurer they are addressed to: imported whole and linked to
//! the member, refused whole with each problem named, never another insurer's.

use std::io::{Cursor, Write};

use crate::world::*;
use zip::write::SimpleFileOptions;

const NAME: &str = "5521111111_01130012_202405271_1.zip";
const ROOT: &str = "5521111111_01130012_202405271_1";

/// The complete synthetic checkup, for the World's member 01130012 / 10 / `number` / 00 (born
/// 1990-05-06, female).
fn document(number: &str) -> String {
    include_str!("../../../onshi-checkup/tests/fixtures/hc08-complete.xml")
        .replace(
            r#"extension="00280081" root="1.2.392.200119.6.101""#,
            r#"extension="01130012" root="1.2.392.200119.6.101""#,
        )
        .replace(r#"extension="1234""#, r#"extension="10""#)
        .replace(r#"extension="5678""#, &format!(r#"extension="{number}""#))
        .replace(
            r#"<id extension="01" root="1.2.392.200119.6.211"/>"#,
            r#"<id extension="00" root="1.2.392.200119.6.211"/>"#,
        )
        .replace(
            r#"administrativeGenderCode code="1""#,
            r#"administrativeGenderCode code="2""#,
        )
        .replace(
            r#"<birthTime value="19700101"/>"#,
            r#"<birthTime value="19900506"/>"#,
        )
}

pub fn archive(docs: &[String]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let o = SimpleFileOptions::default();
    w.start_file(format!("{ROOT}/ix08_V08.xml"), o).unwrap();
    w.write_all(format!(r#"<index xmlns="https://www.mhlw.go.jp/stf/seisakunitsuite/bunya/0000161103.html"><interactionType code="6"/><creationTime value="20240527"/><sender><id root="1.2.392.200119.6.102" extension="5521111111"/></sender><receiver><id root="1.2.392.200119.6.101" extension="01130012"/></receiver><serviceEventType code="1"/><totalRecordCount value="{}"/></index>"#, docs.len()).as_bytes()).unwrap();
    for (i, d) in docs.iter().enumerate() {
        w.start_file(format!("{ROOT}/DATA/h5521111111202405271{i:07}.xml"), o)
            .unwrap();
        w.write_all(d.as_bytes()).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[tokio::test]
async fn insurers_upload_checkup_archives_all_or_nothing() {
    for db in TestDb::all().await.unwrap() {
        let w = World::standard_cast()
            .with_archive_limit(64 * 1024)
            .build(&db)
            .await;
        let ins = Some(w.insurer.as_str());
        let uri = format!("/v1/checkup-archives/{NAME}");
        let good = archive(&[document("1"), document("999")]);
        let (s, r) = w.upload(&uri, ins, good.clone()).await;
        assert_eq!(s, StatusCode::CREATED, "{r}");
        assert_eq!(
            (
                r["documents"].as_u64(),
                r["linked"].as_u64(),
                r["to_match"].as_u64()
            ),
            (Some(2), Some(1), Some(1)),
            "{r}"
        );
        let (_, r) = w.upload(&uri, ins, good).await;
        assert_eq!(r["unchanged"], 2, "{r}");

        // One bad document: refused whole, the file and item named, nothing stored.
        let bad = archive(&[
            document("2"),
            document("3").replace("9N006000000000001", "9N006000000000009"),
        ]);
        let (s, p) = w.upload(&uri, ins, bad).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
        assert_eq!(
            p["errors"][0]["field"],
            format!("{ROOT}/DATA/h55211111112024052710000001.xml")
        );
        assert!(
            p["errors"][0]["reason"]
                .as_str()
                .unwrap()
                .contains("9N006000000000009"),
            "{p}"
        );
        assert_eq!(w.store.checkup_counts().await.unwrap(), (2, 1));

        // Another insurer's archive, a name off the rule, too large, no token.
        let (s, p) = w
            .upload(
                "/v1/checkup-archives/5521111111_06138010_202405271_1.zip",
                ins,
                archive(&[]),
            )
            .await;
        assert_eq!(
            (s, p["errors"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("name")),
            "{p}"
        );
        let (s, _) = w
            .upload("/v1/checkup-archives/results.zip", ins, archive(&[]))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        let (s, p) = w.upload(&uri, ins, vec![0; 70 * 1024]).await;
        assert_eq!(
            (s, p["type"].as_str()),
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                Some("urn:onshi:problem:payload-too-large")
            ),
            "{p}"
        );
        let (s, _) = w.upload(&uri, None, archive(&[])).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert!(w.store.verify_audit().await.unwrap().is_ok());
        db.cleanup().await;
    }
}
