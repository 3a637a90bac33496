//! API tokens: made here, stored only as their SHA-256, checked on every request. Facility
//! tokens, which every eligibility check carries, are remembered for a short while
//! ([`FacilityTokens`]) so a check does not read the facilities table each time.

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use std::collections::HashMap;
use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

use onshi_domain::{FacilityCode, InsurerNumber};

use crate::AppState;
use crate::problem::Problem;

/// The prefix of every insurer token, so a leaked one is recognisable in a secret scanner.
pub const TOKEN_PREFIX: &str = "onshi_ins_";

/// A new random API token (256 bits) and the hash to store for it.
pub fn new_token() -> Result<(String, String), aws_lc_rs::error::Unspecified> {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes)?;
    let token = format!("{TOKEN_PREFIX}{}", hex::encode(bytes));
    let hash = hash_token(&token);
    Ok((token, hash))
}

/// The stored form of a token: SHA-256, hex. Tokens have 256 bits of entropy, so a fast hash is
/// enough (there is nothing to brute-force), and lookups stay one indexed read.
pub fn hash_token(token: &str) -> String {
    hex::encode(digest::digest(&digest::SHA256, token.as_bytes()))
}

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

/// How long a facility token read from the store is believed without reading it again: the
/// longest a change to the facilities table (another server, the CLI) takes to be seen.
pub const FACILITY_TOKEN_TTL: Duration = Duration::seconds(30);
/// The most facility tokens remembered (Japan has about 230,000 facilities; each holds one
/// token). Beyond it the memory is emptied and fills again from the store.
const FACILITY_TOKENS_MAX: usize = 250_000;

/// Facility tokens recently found in the store, by token hash, with when they were read. Only
/// tokens that were found are kept, so unknown tokens always reach the store (and a flood of
/// them cannot grow the map).
#[derive(Debug, Default)]
pub struct FacilityTokens {
    seen: Mutex<HashMap<String, (FacilityCode, OffsetDateTime)>>,
}

impl FacilityTokens {
    /// The facility of `token_hash` if it was read from the store within
    /// [`FACILITY_TOKEN_TTL`] of `now`.
    pub fn get(&self, token_hash: &str, now: OffsetDateTime) -> Option<FacilityCode> {
        let seen = self.seen.lock().ok()?;
        let (code, read_at) = seen.get(token_hash)?;
        (now >= *read_at && now - *read_at < FACILITY_TOKEN_TTL).then(|| code.clone())
    }

    /// Remembers that `token_hash` was found in the store at `now`.
    pub fn remember(&self, token_hash: String, code: FacilityCode, now: OffsetDateTime) {
        if let Ok(mut seen) = self.seen.lock() {
            if seen.len() >= FACILITY_TOKENS_MAX {
                seen.clear();
            }
            seen.insert(token_hash, (code, now));
        }
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
            .insurer_by_token_hash(&hash_token(token))
            .await?
        {
            Some(insurer) => Ok(Self(insurer.number)),
            None => Err(Problem::unauthorized()),
        }
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
        tokens.remember("h".into(), code.clone(), t0);
        assert_eq!(tokens.get("h", t0), Some(code.clone()));
        assert_eq!(tokens.get("other", t0), None);
        let almost = t0 + FACILITY_TOKEN_TTL - Duration::milliseconds(1);
        assert_eq!(tokens.get("h", almost), Some(code.clone()));
        assert_eq!(tokens.get("h", t0 + FACILITY_TOKEN_TTL), None);
        // A clock that went back does not stretch the belief.
        assert_eq!(tokens.get("h", t0 - Duration::seconds(1)), None);
        // Read again, believed again.
        tokens.remember("h".into(), code.clone(), t0 + FACILITY_TOKEN_TTL);
        assert_eq!(tokens.get("h", t0 + FACILITY_TOKEN_TTL), Some(code));
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, ha) = new_token().unwrap();
        let (b, _) = new_token().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 64);
        assert_eq!(hash_token(&a), ha);
        assert_ne!(ha, a);
    }
}
