//! The one error document of the API: RFC 9457 problem details (`application/problem+json`),
//! with `errors` naming each offending field.

use serde::{Deserialize, Serialize};

/// A value that failed validation, named by its field (the wire form of
/// [`onshi_domain::FieldError`]). The reason never repeats the value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The field's name as the caller spelled it (JSON member, CSV column or XML element).
    pub field: String,
    /// What is wrong, in a sentence a person can act on.
    pub reason: String,
}

impl From<onshi_domain::FieldError> for FieldError {
    fn from(e: onshi_domain::FieldError) -> Self {
        Self {
            field: e.field,
            reason: e.reason,
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:onshi:problem:<kind>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What happened this time, for a person to read.
    pub detail: String,
    /// For validation problems: every field that is wrong, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl Problem {
    /// The kind without its URN prefix (`validation`, `challenge-replayed`, …).
    pub fn short_kind(&self) -> &str {
        self.kind
            .strip_prefix("urn:onshi:problem:")
            .unwrap_or(&self.kind)
    }

    /// One line for a person: the first field error (`field: reason`) if any, else the detail.
    pub fn summary(&self) -> String {
        self.errors
            .first()
            .map_or_else(|| self.detail.clone(), ToString::to_string)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_reads_back_what_the_server_writes() {
        let text = r#"{"type":"urn:onshi:problem:validation","title":"Invalid request","status":422,
            "detail":"invalid fields: number","errors":[{"field":"number","reason":"must be digits"}]}"#;
        let p: Problem = serde_json::from_str(text).unwrap();
        assert_eq!(p.short_kind(), "validation");
        assert_eq!(p.summary(), "number: must be digits");
        let again: Problem = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(again, p);
        let bare: Problem = serde_json::from_str(
            r#"{"type":"urn:onshi:problem:busy","title":"t","status":503,"detail":"wait"}"#,
        )
        .unwrap();
        assert!(bare.errors.is_empty());
        assert_eq!(bare.summary(), "wait");
    }
}
