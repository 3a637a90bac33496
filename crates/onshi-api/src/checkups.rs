//! Checkup archives (特定健診等データ) received.

use serde::{Deserialize, Serialize};

/// What an imported checkup archive held and what was stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct CheckupArchiveReceipt {
    /// The archive's file name.
    pub archive: String,
    /// Checkup documents in it (all passed).
    pub documents: usize,
    /// New checkups linked to a member (card key, birth date and sex on the exam date).
    pub linked: u64,
    /// New checkups left for the insurer to match.
    pub to_match: u64,
    /// Corrected documents stored as new versions.
    pub corrected: u64,
    /// Documents already stored as they are.
    pub unchanged: u64,
    /// What is wrong but harmless (summary totals that do not add up).
    pub warnings: Vec<String>,
}
