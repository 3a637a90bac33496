//! The audit log's public anchors: the latest signed checkpoint (from the directory the operator
//! keeps them in, `onshi serve --audit-checkpoints`) for anyone to keep a copy of, and the
//! inclusion proof of an entry under a checkpoint's size. Neither needs a token: a checkpoint
//! and a proof hold hashes only. The server does not sign; `onshi audit checkpoint` does, with a
//! key the server and the database never hold.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use onshi_api::AuditProof;
use onshi_domain::FieldError;

use crate::AppState;
use crate::problem::Problem;

/// The newest checkpoint file in the directory (names begin with the zero-padded size).
fn latest(dir: &std::path::Path) -> Option<String> {
    let newest = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "checkpoint"))
        .filter(|p| p.metadata().is_ok_and(|m| m.is_file() && m.len() < 4096))
        .max()?;
    std::fs::read_to_string(newest).ok()
}

/// The latest signed checkpoint of the audit log, as text: verify it with the operator's public
/// key and keep a copy; `onshi audit verify --checkpoints` holds the log to every copy kept.
#[utoipa::path(get, path = "/v1/audit/checkpoint", tag = "audit",
    responses(
        (status = 200, description = "the newest signed checkpoint (text: header, origin, size, chain head, Merkle root, time, signature)", content_type = "text/plain"),
        (status = 404, description = "this server keeps no checkpoints", body = onshi_api::Problem),
    ))]
pub async fn checkpoint(State(state): State<AppState>) -> Result<Response, Problem> {
    let dir = state
        .audit_checkpoints
        .as_deref()
        .ok_or_else(|| Problem::not_found("audit checkpoint"))?;
    let text = tokio::task::spawn_blocking({
        let dir = dir.to_owned();
        move || latest(&dir)
    })
    .await
    .ok()
    .flatten()
    .ok_or_else(|| Problem::not_found("audit checkpoint"))?;
    let mut r = (StatusCode::OK, text).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(r)
}

/// That an entry is in the log: its hash and audit path in the Merkle tree of the first `size`
/// entries (a checkpoint's size). A person finds their entries' `seq` in their access log.
#[utoipa::path(get, path = "/v1/audit/proof", tag = "audit",
    params(
        ("seq" = i64, Query, description = "the entry's position (from 1)"),
        ("size" = i64, Query, description = "the checkpoint's size (at least seq)"),
    ),
    responses(
        (status = 200, description = "the entry's hash and its inclusion proof", body = AuditProof),
        (status = 404, description = "no such entry under that size", body = onshi_api::Problem),
        (status = 422, description = "seq or size missing or not whole numbers", body = onshi_api::Problem),
    ))]
pub async fn proof(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<AuditProof>, Problem> {
    let number = |name: &str| {
        query
            .get(name)
            .and_then(|v| v.parse::<i64>().ok())
            .filter(|n| *n >= 1)
            .ok_or_else(|| FieldError::new(name, "must be a whole number from 1"))
    };
    let (seq, size) = match (number("seq"), number("size")) {
        (Ok(seq), Ok(size)) => (seq, size),
        (a, b) => {
            return Err(Problem::validation(
                [a.err(), b.err()].into_iter().flatten().collect(),
            ));
        }
    };
    let (entry_hash, proof) = state
        .store
        .audit_inclusion_proof(seq, size)
        .await?
        .ok_or_else(|| Problem::not_found("audit entry under that size"))?;
    Ok(Json(AuditProof {
        seq,
        size,
        entry_hash,
        proof,
    }))
}
