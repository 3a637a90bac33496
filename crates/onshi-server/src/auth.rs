//! API tokens: checked on every request (minted and hashed by [`onshi_store::token`]). Facility
//! tokens, which every eligibility check carries, are remembered for a short while
//! ([`FacilityTokens`]) so a check does not read the facilities table each time.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};

use std::collections::HashMap;
use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

use onshi_domain::{FacilityCode, InsurerNumber};
use onshi_store::token;

use crate::AppState;
use crate::problem::Problem;

/// The token of `Authorization: Bearer <token>`, or 401.
pub(crate) fn bearer_token(parts: &Parts) -> Result<&str, Problem> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(Problem::unauthorized)
}

/// How long a facility token read from the store is believed without reading it again (unless
/// the token generation changes first: see [`crate::background`]): the longest a change made
/// elsewhere (another server, the CLI) other than a rotation or revocation takes to be seen.
pub const FACILITY_TOKEN_TTL: Duration = Duration::seconds(30);
/// The most facility tokens remembered (Japan has about 230,000 facilities; each holds one
/// token, two while one is rotated). Beyond it the memory is emptied and fills again from the
/// store.
const FACILITY_TOKENS_MAX: usize = 500_000;

/// Facility tokens recently found in the store, by token hash, with until when each is
/// believed. Only tokens that were found are kept, so unknown tokens always reach the store
/// (and a flood of them cannot grow the map). Emptied when the token generation changes (a
/// rotation or revocation anywhere), so a revoked token stops working within a second.
#[derive(Debug, Default)]
pub struct FacilityTokens {
    seen: Mutex<HashMap<String, (FacilityCode, OffsetDateTime, OffsetDateTime)>>,
    generation: Mutex<Option<String>>,
}

impl FacilityTokens {
    /// The facility of `token_hash` if it was read from the store within
    /// [`FACILITY_TOKEN_TTL`] of `now` and the token had not expired by `now`.
    pub fn get(&self, token_hash: &str, now: OffsetDateTime) -> Option<FacilityCode> {
        let seen = self.seen.lock().ok()?;
        let (code, read_at, until) = seen.get(token_hash)?;
        (now >= *read_at && now < *until).then(|| code.clone())
    }

    /// Remembers that `token_hash` was found in the store at `now`, valid until `expires`
    /// (when it was rotated out) or for good.
    pub fn remember(
        &self,
        token_hash: String,
        code: FacilityCode,
        now: OffsetDateTime,
        expires: Option<OffsetDateTime>,
    ) {
        if let Ok(mut seen) = self.seen.lock() {
            if seen.len() >= FACILITY_TOKENS_MAX {
                seen.clear();
            }
            let until = expires.map_or(now + FACILITY_TOKEN_TTL, |e| {
                e.min(now + FACILITY_TOKEN_TTL)
            });
            seen.insert(token_hash, (code, now, until));
        }
    }

    /// Notes the store's token generation; forgets every remembered token when it changed
    /// since the last call. Returns whether it forgot.
    pub fn observe_generation(&self, generation: String) -> bool {
        let Ok(mut last) = self.generation.lock() else {
            return false;
        };
        let changed = last.as_ref().is_some_and(|l| *l != generation);
        if changed && let Ok(mut seen) = self.seen.lock() {
            seen.clear();
        }
        *last = Some(generation);
        changed
    }
}

/// The insurer a request is authenticated as (from `Authorization: Bearer <token>`).
#[derive(Debug, Clone)]
pub struct AuthenticatedInsurer(pub InsurerNumber);

impl FromRequestParts<AppState> for AuthenticatedInsurer {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts)?;
        match state
            .store
            .insurer_by_token_hash(&token::hash(token), state.clock.now())
            .await?
        {
            Some(insurer) => Ok(Self(insurer.number)),
            None => Err(Problem::unauthorized()),
        }
    }
}

/// The facility a request is authenticated as (`Authorization: Bearer onshi_fac_…`).
#[derive(Debug, Clone)]
pub struct AuthenticatedFacility(pub FacilityCode);

impl FromRequestParts<AppState> for AuthenticatedFacility {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let hash = token::hash(bearer_token(parts)?);
        let now = state.clock.now();
        let facility = match state.facility_tokens.get(&hash, now) {
            Some(code) => code,
            None => match state.store.facility_by_token_hash(&hash, now).await? {
                Some((f, expires)) => {
                    state
                        .facility_tokens
                        .remember(hash, f.code.clone(), now, expires);
                    f.code
                }
                None => return Err(Problem::unauthorized()),
            },
        };
        if let Some(crate::tls::ClientIdentity(cn)) =
            parts.extensions.get::<crate::tls::ClientIdentity>()
            && cn != facility.as_str()
        {
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                "client-certificate-mismatch",
                "Client certificate of another facility",
                "the connection's client certificate does not belong to the facility of this token",
            ));
        }
        Ok(Self(facility))
    }
}

/// An employer a request is authenticated as (`Authorization: Bearer onshi_emp_…`).
#[derive(Debug, Clone)]
pub struct AuthenticatedEmployer(pub onshi_domain::EmployerRef);

impl FromRequestParts<AppState> for AuthenticatedEmployer {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let hash = token::hash(bearer_token(parts)?);
        match state
            .store
            .employer_by_token_hash(&hash, state.clock.now())
            .await?
        {
            Some(e) => Ok(Self(e)),
            None => Err(Problem::unauthorized()),
        }
    }
}

/// Whoever sends checkup archives: an insurer, one of its employers or a checkup institution,
/// told apart by the token's prefix (each kind's tokens are only looked up among its own).
#[derive(Debug, Clone)]
pub struct CheckupSender(pub onshi_store::Actor);

impl FromRequestParts<AppState> for CheckupSender {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        use onshi_store::Actor;
        use onshi_store::token::TokenKind;
        let bearer = bearer_token(parts)?;
        let hash = token::hash(bearer);
        let now = state.clock.now();
        let store = &state.store;
        let actor = if bearer.starts_with(TokenKind::Employer.prefix()) {
            store
                .employer_by_token_hash(&hash, now)
                .await?
                .map(Actor::Employer)
        } else if bearer.starts_with(TokenKind::Institution.prefix()) {
            store
                .institution_by_token_hash(&hash, now)
                .await?
                .map(Actor::Institution)
        } else {
            store
                .insurer_by_token_hash(&hash, now)
                .await?
                .map(|i| Actor::Insurer(i.number))
        };
        actor.map(Self).ok_or_else(Problem::unauthorized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facility_tokens_are_believed_for_a_while_only() {
        let t0 = time::macros::datetime!(2026-04-01 09:00 UTC);
        let code = FacilityCode::parse("1311111111").unwrap();
        let tokens = FacilityTokens::default();
        assert_eq!(tokens.get("h", t0), None);
        tokens.remember("h".into(), code.clone(), t0, None);
        assert_eq!(tokens.get("h", t0), Some(code.clone()));
        assert_eq!(tokens.get("other", t0), None);
        let almost = t0 + FACILITY_TOKEN_TTL - Duration::milliseconds(1);
        assert_eq!(tokens.get("h", almost), Some(code.clone()));
        assert_eq!(tokens.get("h", t0 + FACILITY_TOKEN_TTL), None);
        // A clock that went back does not stretch the belief.
        assert_eq!(tokens.get("h", t0 - Duration::seconds(1)), None);
        // Read again, believed again.
        tokens.remember("h".into(), code.clone(), t0 + FACILITY_TOKEN_TTL, None);
        assert_eq!(tokens.get("h", t0 + FACILITY_TOKEN_TTL), Some(code.clone()));
    }

    #[test]
    fn a_rotated_out_token_is_believed_until_it_expires_and_a_new_generation_forgets_all() {
        let t0 = time::macros::datetime!(2026-04-01 09:00 UTC);
        let code = FacilityCode::parse("1311111111").unwrap();
        let tokens = FacilityTokens::default();
        tokens.remember(
            "old".into(),
            code.clone(),
            t0,
            Some(t0 + Duration::seconds(5)),
        );
        assert_eq!(
            tokens.get("old", t0 + Duration::seconds(4)),
            Some(code.clone())
        );
        assert_eq!(tokens.get("old", t0 + Duration::seconds(5)), None);
        tokens.remember("h".into(), code.clone(), t0, None);
        assert!(
            !tokens.observe_generation("a".into()),
            "the first is only noted"
        );
        assert!(!tokens.observe_generation("a".into()));
        assert_eq!(tokens.get("h", t0), Some(code));
        assert!(tokens.observe_generation("b".into()));
        assert_eq!(tokens.get("h", t0), None);
    }
}
