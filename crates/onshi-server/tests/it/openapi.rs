//! `/openapi.json` is a valid OpenAPI 3.1 document, by the OpenAPI Initiative's own schema.

use crate::world::*;

#[tokio::test]
async fn the_openapi_document_validates_as_openapi_3_1() {
    let schema: Value =
        serde_json::from_str(include_str!("../fixtures/openapi-3.1.schema.json")).unwrap();
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    for db in TestDb::all().await.unwrap() {
        let w = World::standard(&db).await;
        let (s, doc) = w.call(Method::GET, "/openapi.json", None, json!({})).await;
        assert_eq!(s, StatusCode::OK);
        let errors: Vec<String> = validator
            .iter_errors(&doc)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{} problems ({}), first: {:#?}",
            errors.len(),
            db.backend,
            &errors[..errors.len().min(10)]
        );
        db.cleanup().await;
    }
}
