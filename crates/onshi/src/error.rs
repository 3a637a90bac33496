//! What can stop a verb, each with a message for the person at the terminal.

use onshi_domain::import::LineError;
use onshi_store::StoreError;

/// Everything that can stop a verb, each with a message for the person at the terminal.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad configuration.
    #[error("{0}")]
    Config(String),
    /// A file could not be read or written.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The server refused a request (the message names why).
    #[error("refused: {0}")]
    Refused(String),
    /// A checkup archive was refused: each problem as `file: element or code: reason`.
    #[error("refused: {} problem(s) in the archive; nothing was imported", .0.len())]
    ArchiveRejected(Vec<String>),
    /// A file was refused.
    #[error("refused: {total} problem(s) in the file; nothing was imported")]
    Rejected {
        /// The problems listed (at most `import::MAX_LISTED_ERRORS`).
        errors: Vec<LineError>,
        /// How many there were in all.
        total: u64,
    },
}
