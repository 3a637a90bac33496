//! Insurer API tokens: made here, stored only as their SHA-256, checked on every request.

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use onshi_domain::InsurerNumber;

use crate::AppState;
use crate::problem::Problem;

/// The prefix of every insurer token, so a leaked one is recognisable in a secret scanner.
pub const TOKEN_PREFIX: &str = "onshi_ins_";

/// A new random API token (256 bits) and the hash to store for it.
pub fn new_token() -> Result<(String, String), aws_lc_rs::error::Unspecified> {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes)?;
    let token = format!("{TOKEN_PREFIX}{}", hex(&bytes));
    let hash = hash_token(&token);
    Ok((token, hash))
}

/// The stored form of a token: SHA-256, hex. Tokens have 256 bits of entropy, so a fast hash is
/// enough (there is nothing to brute-force), and lookups stay one indexed read.
pub fn hash_token(token: &str) -> String {
    hex(digest::digest(&digest::SHA256, token.as_bytes()).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
