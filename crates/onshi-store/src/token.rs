//! API tokens: minted here, stored only as their SHA-256. The server checks them; the CLI mints
//! them when it registers an insurer, a facility, an employer or an institution. Neither needs the other for it.

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};

/// Whose token it is; each kind has its own prefix, so a leaked token is recognisable in a
/// secret scanner and tells whose it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// An insurer's API token (`onshi_ins_…`).
    Insurer,
    /// A facility's API token (`onshi_fac_…`).
    Facility,
    /// An employer's API token (`onshi_emp_…`).
    Employer,
    /// A checkup institution's API token (`onshi_ckp_…`).
    Institution,
    /// A one-time code that opens a page session (`onshi_lc_…`).
    LoginCode,
    /// A page session's cookie value (`onshi_ses_…`).
    Session,
}

impl TokenKind {
    /// The prefix of every token of this kind.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Insurer => "onshi_ins_",
            Self::Facility => "onshi_fac_",
            Self::Employer => "onshi_emp_",
            Self::Institution => "onshi_ckp_",
            Self::LoginCode => "onshi_lc_",
            Self::Session => "onshi_ses_",
        }
    }
}

/// A new random API token (256 bits) of `kind`, and the hash to store for it.
pub fn mint(kind: TokenKind) -> Result<(String, String), aws_lc_rs::error::Unspecified> {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes)?;
    let token = format!("{}{}", kind.prefix(), hex::encode(bytes));
    let hash = hash(&token);
    Ok((token, hash))
}

/// `N` random bytes (salts, nonces, TOTP secrets).
pub fn random<const N: usize>() -> Result<[u8; N], aws_lc_rs::error::Unspecified> {
    let mut bytes = [0u8; N];
    SystemRandom::new().fill(&mut bytes)?;
    Ok(bytes)
}

/// A random secret (256 bits, hex) that is not stored hashed: a session's CSRF token.
pub fn secret() -> Result<String, aws_lc_rs::error::Unspecified> {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes)?;
    Ok(hex::encode(bytes))
}

/// The stored form of a token: SHA-256, hex. Tokens have 256 bits of entropy, so a fast hash is
/// enough (there is nothing to brute-force), and lookups stay one indexed read.
pub fn hash(token: &str) -> String {
    hex::encode(digest::digest(&digest::SHA256, token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hashed_and_say_whose_they_are() {
        let (a, ha) = mint(TokenKind::Insurer).unwrap();
        let (b, _) = mint(TokenKind::Insurer).unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("onshi_ins_"));
        assert_eq!(a.len(), "onshi_ins_".len() + 64);
        assert_eq!(hash(&a), ha);
        assert_ne!(ha, a);
        let (f, hf) = mint(TokenKind::Facility).unwrap();
        assert!(f.starts_with("onshi_fac_"));
        assert_eq!(hash(&f), hf);
    }
}
