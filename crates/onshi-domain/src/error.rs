//! The one validation error shape: which field, and what is wrong with it.

/// A value that failed validation, named by its field.
///
/// The reason never repeats the value itself: values may be personal data, and errors end up in
/// logs and HTTP responses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct FieldError {
    /// The field's name as the caller spelled it (CSV column or JSON member).
    pub field: String,
    /// What is wrong, in a sentence a person at an insurer can act on.
    pub reason: String,
}

impl FieldError {
    /// A new error for `field`.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The same error reported under another field name (e.g. `symbol` → `InsuredCardSymbol`).
    #[must_use]
    pub fn renamed(mut self, field: impl Into<String>) -> Self {
        self.field = field.into();
        self
    }
}
