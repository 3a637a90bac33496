//! A virtual My Number card (or smartphone) as a file: the user-authentication certificate, its
//! private key, the 4-digit PIN and the retry counter. Three wrong PINs lock it, as on a real card;
//! a locked card signs nothing.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::CertKind;

/// How many wrong PINs lock the user-authentication key (JPKI: 3).
pub const PIN_TRIES: u8 = 3;

/// A card or smartphone, serialised as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VirtualCard {
    /// What it is.
    pub kind: CertKind,
    /// A label for people (e.g. `valid`, `revoked`); never personal data.
    pub label: String,
    /// The user-authentication certificate, DER, base64.
    pub certificate: String,
    /// The private key, PKCS#8 DER, base64 (on a real card it never leaves the chip).
    pub private_key: String,
    /// The 4-digit PIN.
    pub pin: String,
    /// Wrong PINs left before the key locks.
    pub pin_tries_left: u8,
}

/// Why a virtual card did not sign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    /// Wrong PIN; `left` tries remain.
    #[error("wrong PIN ({left} tries left before the card locks)")]
    WrongPin {
        /// Tries left.
        left: u8,
    },
    /// Three wrong PINs: the key is locked (a municipal office resets it).
    #[error("the card is locked after {PIN_TRIES} wrong PINs")]
    Locked,
    /// The file's key or certificate cannot be read.
    #[error("the card file is damaged: {0}")]
    Damaged(String),
}

impl VirtualCard {
    /// A new card holding `cert_der` and `key_pkcs8`.
    pub fn new(kind: CertKind, label: &str, cert_der: &[u8], key_pkcs8: &[u8], pin: &str) -> Self {
        Self {
            kind,
            label: label.to_owned(),
            certificate: STANDARD.encode(cert_der),
            private_key: STANDARD.encode(key_pkcs8),
            pin: pin.to_owned(),
            pin_tries_left: PIN_TRIES,
        }
    }

    /// The certificate, DER (readable without a PIN, as on the card).
    pub fn certificate_der(&self) -> Result<Vec<u8>, CardError> {
        STANDARD
            .decode(&self.certificate)
            .map_err(|e| CardError::Damaged(format!("certificate: {e}")))
    }

    /// Checks a PIN, counting wrong ones (the caller saves the card afterwards).
    pub fn verify_pin(&mut self, pin: &str) -> Result<(), CardError> {
        if self.pin_tries_left == 0 {
            return Err(CardError::Locked);
        }
        if pin == self.pin {
            self.pin_tries_left = PIN_TRIES;
            Ok(())
        } else {
            self.pin_tries_left -= 1;
            if self.pin_tries_left == 0 {
                Err(CardError::Locked)
            } else {
                Err(CardError::WrongPin {
                    left: self.pin_tries_left,
                })
            }
        }
    }

    /// Signs `message` with the user-authentication key: RSASSA-PKCS1-v1_5 over SHA-256, as the
    /// JPKI applet does over a SHA-256 DigestInfo. Call after a PIN or face check succeeded.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CardError> {
        self.signer()?.sign(message)
    }

    /// The key, read once, for signing many messages (a load generator's many challenges).
    pub fn signer(&self) -> Result<CardSigner, CardError> {
        if self.pin_tries_left == 0 {
            return Err(CardError::Locked);
        }
        let der = STANDARD
            .decode(&self.private_key)
            .map_err(|e| CardError::Damaged(format!("key: {e}")))?;
        let key =
            RsaKeyPair::from_pkcs8(&der).map_err(|e| CardError::Damaged(format!("key: {e}")))?;
        Ok(CardSigner(key))
    }
}

/// An unlocked card's user-authentication key.
#[derive(Debug)]
pub struct CardSigner(RsaKeyPair);

impl CardSigner {
    /// Signs as [`VirtualCard::sign`] does.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CardError> {
        let mut sig = vec![0u8; self.0.public_modulus_len()];
        self.0
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut sig)
            .map_err(|_| CardError::Damaged("signing failed".into()))?;
        Ok(sig)
    }
}
