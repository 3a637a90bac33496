//! The single-use challenge a card signs (チャレンジ), carried by the client instead of stored.
//!
//! A challenge's id *is* the challenge: its nonce, audience, purpose and lifetime, sealed with a
//! keyed MAC (HMAC-SHA256 under a key derived from the deployment's [`MyNumberKey`]), written as
//! unpadded base64url. Issuing one therefore writes nothing, and a server can check everything a
//! challenge says (that it issued it, to whom, until when) before it reads anything from the
//! store, so the card's signature is verified before any person's data is read. What a server
//! cannot tell from the id alone is whether it was used already: the store keeps each *used*
//! challenge, and the use that stores it first is the only one answered.
//!
//! Layout before encoding: version `1`, the 32-byte nonce, issued and expiry times (Unix
//! microseconds, big-endian), the purpose's letter, the audience's bytes, then the 32-byte tag
//! over everything before it.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::OffsetDateTime;

use crate::MyNumberKey;

const VERSION: u8 = 1;
const NONCE: usize = 32;
const HEADER: usize = 1 + NONCE + 8 + 8 + 1;
const TAG: usize = 32;
/// Longest audience a challenge carries (a facility code is 10 characters, `portal` 6).
const MAX_AUDIENCE: usize = 32;

/// What a challenge is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengePurpose {
    /// An eligibility check at a facility (資格確認).
    Check,
    /// A registration for insurance use at a facility (利用申込).
    Registration,
    /// The insured person's portal.
    Portal,
}

impl Challenge {
    /// The nonce as hex, as stored with a used challenge.
    pub fn nonce_hex(&self) -> String {
        hex::encode(self.nonce)
    }
}

impl ChallengePurpose {
    /// `check`, `registration` or `portal`, as stored and as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Check => "check",
            Self::Registration => "registration",
            Self::Portal => "portal",
        }
    }

    fn letter(self) -> u8 {
        match self {
            Self::Check => b'c',
            Self::Registration => b'r',
            Self::Portal => b'p',
        }
    }

    fn from_letter(b: u8) -> Option<Self> {
        match b {
            b'c' => Some(Self::Check),
            b'r' => Some(Self::Registration),
            b'p' => Some(Self::Portal),
            _ => None,
        }
    }
}

/// A challenge the server issued, as read back from its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The id the client holds (and the card check's reference once it is used).
    pub id: String,
    /// The random bytes the card signs.
    pub nonce: [u8; NONCE],
    /// The facility code (or `portal`) it was issued to.
    pub audience: String,
    /// What it is for.
    pub purpose: ChallengePurpose,
    /// When it was issued.
    pub issued_at: OffsetDateTime,
    /// When it stops being usable.
    pub expires_at: OffsetDateTime,
}

/// Why an id is not a challenge this deployment issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    /// Not base64url, too short or too long, or of another version.
    #[error("the challenge id is malformed")]
    Malformed,
    /// Well formed, but the tag does not match: not issued here, or altered.
    #[error("the challenge id was not issued by this deployment")]
    Forged,
}

/// The key that seals challenges. Every server of a deployment derives the same one from the
/// deployment's key, so a challenge issued by one server is answered by any. Cheap to clone
/// (shared), like [`MyNumberKey`].
#[derive(Clone)]
pub struct ChallengeKey(std::sync::Arc<hmac::Key>);

impl std::fmt::Debug for ChallengeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChallengeKey(<redacted>)")
    }
}

fn micros(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

fn from_micros(m: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(m) * 1_000).ok()
}

impl ChallengeKey {
    /// The challenge key of the deployment whose key is `key` (an HMAC of a fixed label, so it
    /// tells nothing about the key or the persons it links).
    pub fn derive(key: &MyNumberKey) -> Self {
        let sub = key.derive(b"onshi:challenge-key:v1");
        Self(std::sync::Arc::new(hmac::Key::new(
            hmac::HMAC_SHA256,
            sub.as_ref(),
        )))
    }

    /// Seals a new challenge. `nonce` must be fresh random bytes (the caller draws them: this
    /// crate does no I/O). Times are kept to the microsecond.
    pub fn issue(
        &self,
        nonce: [u8; NONCE],
        audience: &str,
        purpose: ChallengePurpose,
        issued_at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<Challenge, ChallengeError> {
        if audience.is_empty() || audience.len() > MAX_AUDIENCE || !audience.is_ascii() {
            return Err(ChallengeError::Malformed);
        }
        let (issued, expires) = (micros(issued_at), micros(expires_at));
        let mut bytes = Vec::with_capacity(HEADER + audience.len() + TAG);
        bytes.push(VERSION);
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&issued.to_be_bytes());
        bytes.extend_from_slice(&expires.to_be_bytes());
        bytes.push(purpose.letter());
        bytes.extend_from_slice(audience.as_bytes());
        let tag = hmac::sign(&self.0, &bytes);
        bytes.extend_from_slice(tag.as_ref());
        Ok(Challenge {
            id: URL_SAFE_NO_PAD.encode(&bytes),
            nonce,
            audience: audience.to_owned(),
            purpose,
            issued_at: from_micros(issued).ok_or(ChallengeError::Malformed)?,
            expires_at: from_micros(expires).ok_or(ChallengeError::Malformed)?,
        })
    }

    /// Reads a challenge id back, if this deployment issued it and nobody altered it. Says
    /// nothing about expiry or use: the caller holds it to its clock and the store.
    pub fn open(&self, id: &str) -> Result<Challenge, ChallengeError> {
        // Reject oversized ids before decoding them.
        if id.len() > (HEADER + MAX_AUDIENCE + TAG) * 4 / 3 + 4 {
            return Err(ChallengeError::Malformed);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(id)
            .map_err(|_| ChallengeError::Malformed)?;
        if bytes.len() <= HEADER + TAG || bytes.first() != Some(&VERSION) {
            return Err(ChallengeError::Malformed);
        }
        let (body, tag) = bytes.split_at(bytes.len() - TAG);
        hmac::verify(&self.0, body, tag).map_err(|_| ChallengeError::Forged)?;
        let at = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&body[i..i + 8]);
            from_micros(i64::from_be_bytes(b)).ok_or(ChallengeError::Malformed)
        };
        let mut nonce = [0u8; NONCE];
        nonce.copy_from_slice(&body[1..=NONCE]);
        let audience =
            std::str::from_utf8(&body[HEADER..]).map_err(|_| ChallengeError::Malformed)?;
        Ok(Challenge {
            id: id.to_owned(),
            nonce,
            audience: audience.to_owned(),
            purpose: ChallengePurpose::from_letter(body[HEADER - 1])
                .ok_or(ChallengeError::Malformed)?,
            issued_at: at(1 + NONCE)?,
            expires_at: at(1 + NONCE + 8)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-11-25 09:00:00.123456 UTC);

    fn key(byte: u8) -> ChallengeKey {
        ChallengeKey::derive(&MyNumberKey::from_bytes(&[byte; 32]).unwrap())
    }

    fn issued(k: &ChallengeKey) -> Challenge {
        k.issue(
            [7; 32],
            "1311111111",
            ChallengePurpose::Check,
            T0,
            T0 + time::Duration::seconds(120),
        )
        .unwrap()
    }

    #[test]
    fn an_issued_challenge_reads_back_as_issued() {
        let k = key(1);
        let c = issued(&k);
        assert_eq!(k.open(&c.id).unwrap(), c);
        assert_eq!(c.issued_at, T0);
        assert_eq!(c.expires_at, T0 + time::Duration::seconds(120));
        assert!(
            c.id.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "url-safe: {}",
            c.id
        );
        for (p, s) in [
            (ChallengePurpose::Registration, "registration"),
            (ChallengePurpose::Portal, "portal"),
        ] {
            let c = k.issue([0; 32], "portal", p, T0, T0).unwrap();
            assert_eq!((k.open(&c.id).unwrap().purpose.as_str()), s);
        }
    }

    #[test]
    fn another_deployments_challenge_is_forged() {
        let c = issued(&key(1));
        assert_eq!(key(2).open(&c.id), Err(ChallengeError::Forged));
    }

    #[test]
    fn every_altered_byte_is_noticed() {
        let k = key(1);
        let c = issued(&k);
        let bytes = URL_SAFE_NO_PAD.decode(&c.id).unwrap();
        for i in 1..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x01;
            let altered = URL_SAFE_NO_PAD.encode(&b);
            assert_eq!(k.open(&altered), Err(ChallengeError::Forged), "byte {i}");
        }
    }

    #[test]
    fn malformed_ids_are_refused_before_the_mac() {
        let k = key(1);
        for id in ["", "x", "c1", "not base64!", &"A".repeat(400)] {
            assert_eq!(k.open(id), Err(ChallengeError::Malformed), "{id:?}");
        }
        let c = issued(&k);
        let mut b = URL_SAFE_NO_PAD.decode(&c.id).unwrap();
        b[0] = 2;
        assert_eq!(
            k.open(&URL_SAFE_NO_PAD.encode(&b)),
            Err(ChallengeError::Malformed)
        );
        // A tag alone, or a header without an audience.
        assert_eq!(
            k.open(&URL_SAFE_NO_PAD.encode([1u8; HEADER + TAG])),
            Err(ChallengeError::Malformed)
        );
    }

    #[test]
    fn audiences_are_short_ascii() {
        let k = key(1);
        for audience in ["", "東京", &"1".repeat(MAX_AUDIENCE + 1)] {
            assert_eq!(
                k.issue([0; 32], audience, ChallengePurpose::Check, T0, T0),
                Err(ChallengeError::Malformed),
                "{audience:?}"
            );
        }
    }

    #[test]
    fn the_key_is_not_printed() {
        assert_eq!(format!("{:?}", key(1)), "ChallengeKey(<redacted>)");
    }
}
