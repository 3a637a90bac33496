//! Every error the HTTP API returns, in one shape: RFC 9457 problem details
//! (`application/problem+json`), with `errors` naming each offending field.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use onshi_domain::FieldError;
use onshi_pki::CertError;
use onshi_store::StoreError;

use crate::eligibility::CheckError;

/// The most field errors one problem lists.
pub const MAX_LISTED_ERRORS: usize = 50;

/// What a 503 (`busy`) asks the caller to wait, in its `Retry-After` header and its detail.
pub const RETRY_AFTER_SECONDS: u32 = 5;

/// An error the API answers: the RFC 9457 document of the wire contract
/// ([`onshi_api::Problem`]) and how to send it.
#[derive(Debug, Clone)]
pub struct Problem {
    /// The document sent as `application/problem+json`.
    pub document: onshi_api::Problem,
    /// Seconds for the `Retry-After` header, when trying again soon may succeed (not part of
    /// the document).
    pub retry_after: Option<u32>,
}

impl Problem {
    /// A problem of `kind` with `status`.
    pub fn new(status: StatusCode, kind: &str, title: &str, detail: impl Into<String>) -> Self {
        Self {
            document: onshi_api::Problem {
                kind: format!("urn:onshi:problem:{kind}"),
                title: title.to_owned(),
                status: status.as_u16(),
                detail: detail.into(),
                errors: Vec::new(),
            },
            retry_after: None,
        }
    }

    /// 422: the request was understood but fields are wrong. At most [`MAX_LISTED_ERRORS`] are
    /// listed (the detail says how many there were), so a body of a million bad fields gets an
    /// answer of a few kilobytes, not a larger one.
    pub fn validation(mut errors: Vec<FieldError>) -> Self {
        let total = errors.len();
        errors.truncate(MAX_LISTED_ERRORS);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        let mut detail = format!("invalid fields: {}", fields.join(", "));
        if total > errors.len() {
            detail.push_str(&format!(
                " (the first {} of {total} problems)",
                errors.len()
            ));
        }
        let mut p = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "Invalid request",
            detail,
        );
        p.document.errors = errors.into_iter().map(Into::into).collect();
        p
    }

    /// 400: the body is not the JSON the route takes.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Malformed request",
            detail,
        )
    }

    /// 401: no or unknown API token.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Authentication required",
            "send your API token (an insurer's or a facility's) as 'Authorization: Bearer <token>'",
        )
    }

    /// 404: nothing here for this caller.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            format!("{what} not found"),
        )
    }

    /// 409: the write conflicts with the stored state.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", "Conflict", detail)
    }

    /// 409: a card challenge answered twice (a replayed signature).
    pub fn challenge_replayed() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "challenge-replayed",
            "Challenge already used",
            "this challenge was already answered: a replayed signature is refused; ask for a new challenge",
        )
    }

    /// 503: the registry is busy (an import holds what the request needs); nothing was done.
    pub fn busy(why: &str) -> Self {
        Self {
            retry_after: Some(RETRY_AFTER_SECONDS),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "Registry busy",
                format!("{why}; nothing was done: try again in {RETRY_AFTER_SECONDS} seconds"),
            )
        }
    }

    /// 413: the body is larger than the route takes; names the limit.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Body too large",
            if limit.is_multiple_of(1024 * 1024) {
                format!(
                    "the body is larger than this route takes ({} MiB); nothing was read",
                    limit / (1024 * 1024)
                )
            } else {
                format!(
                    "the body is larger than this route takes ({limit} bytes); nothing was read"
                )
            },
        )
    }

    /// 405: the path exists but not with this method (`Allow` lists those it has).
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed",
            "this path does not take this method; the Allow header lists those it does",
        )
    }

    /// 500: details go to the log, not to the caller.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "the server failed; the operator can find the cause in its log",
        )
    }
}

impl Problem {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.document.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (status, axum::Json(&self.document)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => Self::not_found(what),
            StoreError::Conflict(detail) => Self::conflict(detail),
            StoreError::ChallengeUsed => Self::challenge_replayed(),
            StoreError::Busy(why) => {
                tracing::warn!(why, "store busy: answered 503");
                Self::busy(why)
            }
            other => {
                // The store's messages carry no personal data, so they may be logged.
                tracing::error!(error = %other, "store failure");
                Self::internal()
            }
        }
    }
}

/// The one mapping of the eligibility workflow's refusals to problem details: every refusal
/// has its own problem type, so a client (and a test) can tell them apart.
impl From<CheckError> for Problem {
    fn from(e: CheckError) -> Self {
        match e {
            CheckError::Invalid(errors) => Self::validation(errors),
            CheckError::ChallengeUnknown => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "challenge-unknown",
                "Unknown challenge",
                "no such challenge: this server did not issue that challenge_id, or it was altered; ask for a new challenge",
            ),
            CheckError::ChallengeForeign => Self::new(
                StatusCode::FORBIDDEN,
                "challenge-foreign",
                "Challenge of another facility",
                "this challenge was issued to another facility",
            ),
            CheckError::ChallengeExpired => Self::new(
                StatusCode::GONE,
                "challenge-expired",
                "Challenge expired",
                "the challenge has expired: ask for a new one",
            ),
            CheckError::ChallengeReplayed => Self::challenge_replayed(),
            CheckError::ChallengePurpose {
                issued_for,
                used_for,
            } => Self::new(
                StatusCode::FORBIDDEN,
                "challenge-purpose",
                "Challenge of another purpose",
                format!(
                    "this challenge was issued for {}; ask for one with purpose {}",
                    issued_for.as_str(),
                    used_for.as_str()
                ),
            ),
            CheckError::NoTrustAnchors => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "no-trust-anchors",
                "Card checks are not configured",
                "the server has no trust anchors for user certificates",
            ),
            CheckError::Card(e) => card_refused(&e),
            CheckError::CertificateUnknown => Self::new(
                StatusCode::FORBIDDEN,
                "certificate-unknown",
                "Unknown certificate",
                "the certificate is valid but not in the certificate directory",
            ),
            CheckError::NotRegistered => Self::new(
                StatusCode::FORBIDDEN,
                "not-registered",
                "Not registered for insurance use",
                "this card is not registered for use as a health-insurance card (利用申込): register it at the portal or a card reader",
            ),
            CheckError::ReferenceNotFound => Self::not_found(
                "card check (a reference lasts 24 hours, at the facility that made it)",
            ),
            CheckError::RateLimited { limit, retry_after } => Self {
                retry_after: Some(retry_after),
                ..match limit {
                    crate::eligibility::limits::Limit::Checks => Self::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        "rate-limited",
                        "Too many checks",
                        format!(
                            "this facility made more checks than its limit allows; nothing was read: try again in {retry_after} seconds"
                        ),
                    ),
                    crate::eligibility::limits::Limit::Mismatches => Self::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        "mismatch-limited",
                        "Too many look-ups that matched no one",
                        format!(
                            "this facility's look-ups by card number matched no one too often (a wrong card number or birth date); the operator has been told; nothing was read: try again in {retry_after} seconds"
                        ),
                    ),
                }
            },
            CheckError::Randomness => {
                tracing::error!("no system randomness");
                Self::internal()
            }
            CheckError::Store(e) => e.into(),
        }
    }
}

/// A refused certificate or signature: each refusal its own type and status.
fn card_refused(e: &CertError) -> Problem {
    let (status, kind) = match e {
        CertError::Expired => (StatusCode::FORBIDDEN, "certificate-expired"),
        CertError::NotYetValid => (StatusCode::FORBIDDEN, "certificate-not-yet-valid"),
        CertError::Revoked => (StatusCode::FORBIDDEN, "certificate-revoked"),
        CertError::Untrusted => (StatusCode::FORBIDDEN, "certificate-untrusted"),
        CertError::BadCertificateSignature => (StatusCode::FORBIDDEN, "certificate-counterfeit"),
        CertError::WrongKeyUsage => (StatusCode::FORBIDDEN, "certificate-key-usage"),
        CertError::CrlStale => (StatusCode::SERVICE_UNAVAILABLE, "revocation-list-stale"),
        CertError::RevocationUnknown => {
            (StatusCode::SERVICE_UNAVAILABLE, "revocation-status-unknown")
        }
        CertError::BadSignature => (StatusCode::UNAUTHORIZED, "signature-invalid"),
        CertError::Malformed => (StatusCode::UNPROCESSABLE_ENTITY, "certificate-malformed"),
        CertError::Other(_) => (StatusCode::FORBIDDEN, "certificate-refused"),
    };
    Problem::new(status, kind, "Card refused", e.to_string())
}

/// A JSON body whose rejections are problem details too: a missing or unknown field is named;
/// other type errors are described without repeating the value (it may be personal data).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::rejection::JsonRejection;
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(JsonRejection::JsonDataError(e)) => {
                let text = e.body_text();
                let named = |marker: &str| {
                    text.split(marker)
                        .nth(1)
                        .and_then(|rest| rest.split('`').next())
                        .map(str::to_owned)
                };
                let error = if let Some(field) = named("missing field `") {
                    FieldError::new(field, "is required")
                } else if let Some(field) = named("unknown field `") {
                    FieldError::new(field, "unknown field")
                } else {
                    FieldError::new(
                        "body",
                        "a field has the wrong type (strings are expected for codes and dates)",
                    )
                };
                Err(Problem::validation(vec![error]))
            }
            Err(JsonRejection::MissingJsonContentType(_)) => Err(Problem::bad_request(
                "send the body as JSON with 'Content-Type: application/json'",
            )),
            // Too large: answered by `crate::uniform_errors`, which knows the route's limit.
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(Problem::too_large(0)),
            Err(_) => Err(Problem::bad_request("the body is not valid JSON")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_busy_registry_asks_to_retry() {
        let busy = Problem::busy("held").into_response();
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(busy.headers()[header::RETRY_AFTER], "5");
        // A stale revocation list is also 503, but waiting 5 s would not help.
        let stale = Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "revocation-list-stale",
            "Revocation list stale",
            "the operator must refresh it",
        )
        .into_response();
        assert!(stale.headers().get(header::RETRY_AFTER).is_none());
    }
}
