//! Every error the HTTP API returns, in one shape: RFC 9457 problem details
//! (`application/problem+json`), with `errors` naming each offending field.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use onshi_domain::FieldError;
use onshi_store::StoreError;

/// What a 503 (`busy`) asks the caller to wait, in its `Retry-After` header and its detail.
pub const RETRY_AFTER_SECONDS: u32 = 5;

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Seconds for the `Retry-After` header, when trying again soon may succeed (not part of
    /// the document).
    #[serde(skip)]
    pub retry_after: Option<u32>,
}

impl Problem {
    /// A problem of `kind` with `status`.
    pub fn new(status: StatusCode, kind: &str, title: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("urn:onshi:problem:{kind}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    /// 422: the request was understood but fields are wrong.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        let detail = format!("invalid fields: {}", fields.join(", "));
        Self {
            errors,
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "Invalid request",
                detail,
            )
        }
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
            "send your insurer API token as 'Authorization: Bearer <token>'",
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

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(&self)).into_response();
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
