//! Liveness.

use serde::{Deserialize, Serialize};

/// Liveness (`GET /healthz`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` when the process answers and every revocation list is current, else `degraded`.
    pub status: String,
    /// `sqlite` or `postgresql`.
    pub store: String,
    /// Revocation lists past their nextUpdate (issuer names): the operator must refresh them.
    pub stale_crls: Vec<String>,
}
