//! Staff accounts' two factors, as pure functions (the caller draws the random bytes): a
//! password hashed with argon2id (PHC string), and a time-based one-time password (TOTP, RFC
//! 6238: HMAC-SHA1, 30-second steps, 6 digits, the form every authenticator app reads) whose
//! secret is kept sealed (AES-256-GCM under a key derived from the deployment's My Number key).

use aws_lc_rs::{aead, hmac};
use time::OffsetDateTime;

use crate::MyNumberKey;

/// Seconds per TOTP step.
pub const STEP: i64 = 30;
/// Digits of a TOTP code.
pub const DIGITS: u32 = 6;

/// Why a password could not be hashed or checked.
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct PasswordError(String);

/// The argon2id hash (PHC string) of `password` with `salt` (16 random bytes).
pub fn hash_password(password: &str, salt: &[u8; 16]) -> Result<String, PasswordError> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt = SaltString::encode_b64(salt).map_err(|e| PasswordError(e.to_string()))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError(e.to_string()))
}

/// Whether `password` is the one `phc` was made from (argon2's comparison, in constant time).
pub fn password_matches(password: &str, phc: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(phc).is_ok_and(|parsed| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding, as authenticator apps take secrets.
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(BASE32[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The bytes of base32 `text` (case and spaces ignored), if it is base32.
pub fn from_base32(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let v = BASE32
            .iter()
            .position(|&b| char::from(b) == c.to_ascii_uppercase())?;
        buffer = (buffer << 5) | u32::try_from(v).ok()?;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buffer >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

/// The TOTP step of `at`.
pub fn step_of(at: OffsetDateTime) -> i64 {
    at.unix_timestamp().div_euclid(STEP)
}

/// The HOTP value (RFC 4226) of `secret` at `counter`, `digits` long.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let tag = hmac::sign(&key, &counter.to_be_bytes());
    let mac = tag.as_ref();
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let binary = (u32::from(mac[offset] & 0x7f) << 24)
        | (u32::from(mac[offset + 1]) << 16)
        | (u32::from(mac[offset + 2]) << 8)
        | u32::from(mac[offset + 3]);
    binary % 10u32.pow(digits)
}

/// The 6-digit code of `secret` at `at`, as an authenticator shows it.
pub fn totp_code(secret: &[u8], at: OffsetDateTime) -> String {
    let step = u64::try_from(step_of(at)).unwrap_or(0);
    format!("{:06}", hotp(secret, step, DIGITS))
}

/// The step whose code `code` is, within one step of `at` (clocks drift), if it is later than
/// `last_used` (a code is good once: a replay is refused).
pub fn totp_step(
    secret: &[u8],
    code: &str,
    at: OffsetDateTime,
    last_used: Option<i64>,
) -> Option<i64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_of(at);
    (now - 1..=now + 1).find(|&step| {
        last_used.is_none_or(|last| step > last)
            && u64::try_from(step).is_ok_and(|s| format!("{:06}", hotp(secret, s, DIGITS)) == code)
    })
}

/// The `otpauth://` address an authenticator app reads (usually as a QR code).
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period=30",
        enc(issuer),
        enc(account),
        base32(secret),
        enc(issuer)
    )
}

/// Seals and opens TOTP secrets for the store, under a key derived from the deployment's.
pub struct SecretSeal(aead::LessSafeKey);

impl std::fmt::Debug for SecretSeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretSeal(<redacted>)")
    }
}

impl SecretSeal {
    /// The seal of the deployment whose key is `key`.
    pub fn derive(key: &MyNumberKey) -> Option<Self> {
        let sub = key.derive(b"onshi:totp-seal:v1");
        aead::UnboundKey::new(&aead::AES_256_GCM, &sub.as_ref()[..32])
            .ok()
            .map(|k| Self(aead::LessSafeKey::new(k)))
    }

    /// `secret` sealed with `nonce` (12 fresh random bytes), as hex.
    pub fn seal(&self, secret: &[u8], nonce: [u8; 12]) -> Option<String> {
        let mut data = secret.to_vec();
        self.0
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::empty(),
                &mut data,
            )
            .ok()?;
        let mut out = nonce.to_vec();
        out.extend(data);
        Some(hex::encode(out))
    }

    /// The secret of a sealed `text`, if this deployment sealed it and it is intact.
    pub fn open(&self, text: &str) -> Option<Vec<u8>> {
        let bytes = hex::decode(text).ok()?;
        let (nonce, sealed) = bytes.split_at_checked(12)?;
        let nonce = aead::Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut data = sealed.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, aead::Aad::empty(), &mut data)
            .ok()?;
        Some(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    /// RFC 6238 Appendix B, SHA-1 (its 8-digit values; authenticators show the last 6).
    #[test]
    fn totp_matches_the_rfc_vectors() {
        let secret = b"12345678901234567890";
        for (unix, expected) in [
            (59, 94_287_082),
            (1_111_111_109, 7_081_804),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
        ] {
            assert_eq!(hotp(secret, unix / 30, 8), expected, "{unix}");
        }
        let at = OffsetDateTime::from_unix_timestamp(59).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        assert_eq!(totp_code(secret, at), "287082");
    }

    #[test]
    fn a_code_is_good_within_a_step_and_once() {
        let secret = b"12345678901234567890";
        let at = datetime!(2026-11-28 09:00:10 UTC);
        let code = totp_code(secret, at);
        let step = totp_step(secret, &code, at, None).unwrap_or(0);
        assert_eq!(step, step_of(at));
        assert_eq!(
            totp_step(secret, &code, at + time::Duration::seconds(30), None),
            Some(step)
        );
        assert_eq!(
            totp_step(secret, &code, at + time::Duration::seconds(90), None),
            None
        );
        assert_eq!(totp_step(secret, &code, at, Some(step)), None, "a replay");
        assert_eq!(totp_step(secret, "12345", at, None), None);
        assert_eq!(totp_step(b"another secret", &code, at, None), None);
    }

    #[test]
    fn base32_round_trips_and_rejects_other_letters() {
        let bytes = b"12345678901234567890";
        let text = base32(bytes);
        assert_eq!(text, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(
            from_base32(&text.to_lowercase()).as_deref(),
            Some(&bytes[..])
        );
        assert_eq!(from_base32("GEZ1"), None);
    }

    #[test]
    fn passwords_hash_with_argon2id_and_only_the_same_matches() {
        let phc = hash_password("correct horse", &[7; 16]).unwrap_or_default();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(password_matches("correct horse", &phc));
        assert!(!password_matches("correct horsf", &phc));
        assert!(!password_matches("correct horse", "not a hash"));
    }

    #[test]
    fn sealed_secrets_open_only_under_their_key() {
        let key = MyNumberKey::from_bytes(&[3; 32]).unwrap_or_else(|_| unreachable!());
        let other = MyNumberKey::from_bytes(&[4; 32]).unwrap_or_else(|_| unreachable!());
        let (seal, wrong) = (
            SecretSeal::derive(&key).unwrap_or_else(|| unreachable!()),
            SecretSeal::derive(&other).unwrap_or_else(|| unreachable!()),
        );
        let sealed = seal.seal(b"secret!", [1; 12]).unwrap_or_default();
        assert!(!sealed.contains(&hex::encode(b"secret!")));
        assert_eq!(seal.open(&sealed).as_deref(), Some(&b"secret!"[..]));
        assert_eq!(wrong.open(&sealed), None);
    }
}
