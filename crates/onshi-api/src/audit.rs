//! The audit log's public anchors: inclusion proofs under a signed checkpoint.

use serde::{Deserialize, Serialize};

/// That entry `seq` is in the log a checkpoint of `size` entries signed: its chain hash and the
/// RFC 6962 audit path to the checkpoint's Merkle root. Hashes only: nothing of any entry's
/// content. Check it with the checkpoint (`GET /v1/audit/checkpoint`) and the operator's public
/// key: the leaf is `SHA-256(0x00 ‖ entry_hash)`, nodes `SHA-256(0x01 ‖ left ‖ right)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditProof {
    /// The entry's position in the log (from 1; the `seq` of the person's access log).
    pub seq: i64,
    /// The size of the tree: the checkpoint's entry count.
    pub size: i64,
    /// The entry's chain hash (hex).
    pub entry_hash: String,
    /// The audit path, leaf to root (hex).
    pub proof: Vec<String>,
}
