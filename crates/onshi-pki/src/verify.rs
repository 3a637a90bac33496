//! Path validation, revocation and signature checks.

use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, TrustAnchor, UnixTime};
use time::OffsetDateTime;
use webpki::{
    CertRevocationList, EndEntityCert, ExpirationPolicy, KeyUsage, OwnedCertRevocationList,
    RevocationCheckDepth, RevocationOptionsBuilder, UnknownStatusPolicy,
};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::{CertError, CertKind, PkiError, fingerprint};

/// id-kp-clientAuth (1.3.6.1.5.5.7.3.2), DER: user certificates may carry it or no EKU at all.
const CLIENT_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];

/// What to do when a CRL is past its nextUpdate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StalePolicy {
    /// Refuse every certificate of that issuer until a fresh CRL is loaded (the safe default).
    Reject,
    /// Keep using the stale CRL (the operator is warned through [`Verifier::crl_status`]).
    Accept,
}

/// A loaded CRL as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlStatus {
    /// The issuer's name, as text.
    pub issuer: String,
    /// thisUpdate.
    pub this_update: OffsetDateTime,
    /// nextUpdate, if the CRL has one.
    pub next_update: Option<OffsetDateTime>,
    /// How many certificates it lists.
    pub revoked: usize,
    /// Whether `now` is past nextUpdate.
    pub stale: bool,
}

/// A certificate that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCert {
    /// Which authority issued it.
    pub kind: CertKind,
    /// SHA-256 of the DER, hex.
    pub fingerprint: String,
    /// Serial number, hex.
    pub serial: String,
    /// The end of its validity.
    pub not_after: OffsetDateTime,
    der: Vec<u8>,
}

struct Anchor {
    kind: CertKind,
    der: CertificateDer<'static>,
}

/// Validates user-authentication certificates against configured anchors and CRLs.
///
/// A certificate that passed is remembered by its fingerprint for as long as this verifier
/// lives: its path and revocation status cannot change until the CRLs do, and new CRLs make a
/// new verifier (with an empty memory). A remembered certificate is still checked against `now`
/// (its validity period, and the CRLs' nextUpdate under [`StalePolicy::Reject`]); when either
/// fails it is verified in full again, which gives the precise error. Without this, every check
/// re-verified the CRL's signature over its whole body, which grows with the number of revoked
/// cards (tens of megabytes nationally).
pub struct Verifier {
    anchors: Vec<Anchor>,
    crls: Vec<(CertRevocationList<'static>, CrlStatus)>,
    policy: StalePolicy,
    passed: std::sync::Mutex<std::collections::HashMap<String, Passed>>,
}

/// A certificate that passed, with the start of its validity.
struct Passed {
    cert: VerifiedCert,
    not_before: OffsetDateTime,
}

/// How many passed certificates a verifier remembers before it starts over (bounded memory:
/// about 300 bytes each).
const PASSED_MAX: usize = 1_000_000;

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Verifier({} anchors, {} CRLs, {:?})",
            self.anchors.len(),
            self.crls.len(),
            self.policy
        )
    }
}

fn to_unix(t: OffsetDateTime) -> UnixTime {
    UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        u64::try_from(t.unix_timestamp()).unwrap_or(0),
    ))
}

fn from_asn1(t: x509_parser::time::ASN1Time) -> OffsetDateTime {
    t.to_datetime()
}

/// Reads certificates from PEM text, or a single DER certificate.
pub(crate) fn certs_from_bytes(bytes: &[u8]) -> Result<Vec<CertificateDer<'static>>, PkiError> {
    use rustls_pki_types::pem::PemObject;
    if bytes.starts_with(b"-----") || bytes.iter().take(64).all(|b| b.is_ascii()) {
        let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(bytes).collect();
        let certs = certs.map_err(|e| PkiError::Parse(format!("certificate PEM: {e}")))?;
        if certs.is_empty() {
            return Err(PkiError::Parse("no certificate in the PEM input".into()));
        }
        Ok(certs)
    } else {
        Ok(vec![CertificateDer::from(bytes.to_vec())])
    }
}

impl Verifier {
    /// A verifier trusting `anchors` (PEM or DER, each with the kind of certificates it
    /// issues), checking revocation against `crls` (PEM or DER), at `now` for the status report.
    pub fn new(
        anchors: &[(CertKind, Vec<u8>)],
        crls: &[Vec<u8>],
        policy: StalePolicy,
        now: OffsetDateTime,
    ) -> Result<Self, PkiError> {
        let mut loaded = Vec::new();
        for (kind, bytes) in anchors {
            for der in certs_from_bytes(bytes)? {
                webpki::anchor_from_trusted_cert(&der)
                    .map_err(|e| PkiError::Parse(format!("trust anchor: {e:?}")))?;
                loaded.push(Anchor { kind: *kind, der });
            }
        }
        let mut loaded_crls = Vec::new();
        for bytes in crls {
            use rustls_pki_types::pem::PemObject;
            let der = if bytes.starts_with(b"-----") {
                CertificateRevocationListDer::from_pem_slice(bytes)
                    .map_err(|e| PkiError::Parse(format!("CRL PEM: {e}")))?
                    .as_ref()
                    .to_vec()
            } else {
                bytes.clone()
            };
            let owned = OwnedCertRevocationList::from_der(&der)
                .map_err(|e| PkiError::Parse(format!("CRL: {e:?}")))?;
            let (_, parsed) =
                x509_parser::revocation_list::CertificateRevocationList::from_der(&der)
                    .map_err(|e| PkiError::Parse(format!("CRL: {e}")))?;
            let next_update = parsed.next_update().map(from_asn1);
            let status = CrlStatus {
                issuer: parsed.issuer().to_string(),
                this_update: from_asn1(parsed.last_update()),
                next_update,
                revoked: parsed.iter_revoked_certificates().count(),
                stale: next_update.is_some_and(|n| now > n),
            };
            loaded_crls.push((CertRevocationList::from(owned), status));
        }
        Ok(Self {
            anchors: loaded,
            crls: loaded_crls,
            policy,
            passed: Default::default(),
        })
    }

    /// The loaded CRLs and whether each is stale at `now`: for health checks and the operator.
    pub fn crl_status(&self, now: OffsetDateTime) -> Vec<CrlStatus> {
        self.crls
            .iter()
            .map(|(_, s)| CrlStatus {
                stale: s.next_update.is_some_and(|n| now > n),
                ..s.clone()
            })
            .collect()
    }

    /// Validates `cert` (DER) at `now`: a path to an anchor (signatures and validity periods),
    /// key usage allowing signatures, and not revoked according to its issuer's CRL.
    pub fn verify(&self, cert: &[u8], now: OffsetDateTime) -> Result<VerifiedCert, CertError> {
        let print = fingerprint(cert);
        let crls_fresh = self.policy == StalePolicy::Accept
            || self
                .crls
                .iter()
                .all(|(_, s)| s.next_update.is_none_or(|n| now <= n));
        if crls_fresh
            && let Ok(passed) = self.passed.lock()
            && let Some(p) = passed.get(&print)
            && p.not_before <= now
            && now <= p.cert.not_after
        {
            return Ok(p.cert.clone());
        }
        let (cert, not_before) = self.verify_in_full(cert, print, now)?;
        if let Ok(mut passed) = self.passed.lock() {
            if passed.len() >= PASSED_MAX {
                passed.clear();
            }
            passed.insert(
                cert.fingerprint.clone(),
                Passed {
                    cert: cert.clone(),
                    not_before,
                },
            );
        }
        Ok(cert)
    }

    fn verify_in_full(
        &self,
        cert: &[u8],
        print: String,
        now: OffsetDateTime,
    ) -> Result<(VerifiedCert, OffsetDateTime), CertError> {
        let (_, parsed) = X509Certificate::from_der(cert).map_err(|_| CertError::Malformed)?;
        let der = CertificateDer::from(cert);
        let ee = EndEntityCert::try_from(&der).map_err(|_| CertError::Malformed)?;
        let refs: Vec<&CertRevocationList<'_>> = self.crls.iter().map(|(c, _)| c).collect();
        let expiration = match self.policy {
            StalePolicy::Reject => ExpirationPolicy::Enforce,
            StalePolicy::Accept => ExpirationPolicy::Ignore,
        };
        let revocation = RevocationOptionsBuilder::new(&refs).ok().map(|b| {
            b.with_depth(RevocationCheckDepth::EndEntity)
                .with_status_policy(UnknownStatusPolicy::Deny)
                .with_expiration_policy(expiration)
                .build()
        });
        if revocation.is_none() {
            return Err(CertError::RevocationUnknown);
        }
        let time = to_unix(now);
        let mut best: Option<CertError> = None;
        for kind in [CertKind::Card, CertKind::Smartphone] {
            let anchors: Vec<TrustAnchor<'_>> = self
                .anchors
                .iter()
                .filter(|a| a.kind == kind)
                .filter_map(|a| webpki::anchor_from_trusted_cert(&a.der).ok())
                .collect();
            if anchors.is_empty() {
                continue;
            }
            let result = ee.verify_for_usage(
                &[webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256],
                &anchors,
                &[],
                time,
                KeyUsage::required_if_present(CLIENT_AUTH),
                revocation,
                None,
            );
            match result {
                Ok(_) => {
                    let ku_ok = parsed
                        .key_usage()
                        .ok()
                        .flatten()
                        .is_none_or(|ku| ku.value.digital_signature());
                    if !ku_ok {
                        return Err(CertError::WrongKeyUsage);
                    }
                    return Ok((
                        VerifiedCert {
                            kind,
                            fingerprint: print,
                            serial: parsed.raw_serial_as_string().replace(':', ""),
                            not_after: from_asn1(parsed.validity().not_after),
                            der: cert.to_vec(),
                        },
                        from_asn1(parsed.validity().not_before),
                    ));
                }
                Err(e) => {
                    let mapped = map_error(&e);
                    // Prefer a specific reason over "no path from these anchors".
                    if best.is_none()
                        || (best == Some(CertError::Untrusted) && mapped != CertError::Untrusted)
                    {
                        best = Some(mapped);
                    }
                }
            }
        }
        Err(best.unwrap_or(CertError::Untrusted))
    }
}

fn map_error(e: &webpki::Error) -> CertError {
    use webpki::Error as E;
    match e {
        E::CertExpired { .. } => CertError::Expired,
        E::CertNotValidYet { .. } => CertError::NotYetValid,
        E::CertRevoked => CertError::Revoked,
        E::UnknownIssuer => CertError::Untrusted,
        E::InvalidSignatureForPublicKey => CertError::BadCertificateSignature,
        E::CrlExpired { .. } => CertError::CrlStale,
        E::UnknownRevocationStatus => CertError::RevocationUnknown,
        E::BadDer | E::BadDerTime => CertError::Malformed,
        other => CertError::Other(format!("{other:?}")),
    }
}

/// Checks that `signature` is an RSASSA-PKCS1-v1_5/SHA-256 signature of `message` by the key of
/// `cert` (a certificate that already passed [`Verifier::verify`]).
pub fn verify_signature(
    cert: &VerifiedCert,
    message: &[u8],
    signature: &[u8],
) -> Result<(), CertError> {
    let der = CertificateDer::from(cert.der.as_slice());
    let ee = EndEntityCert::try_from(&der).map_err(|_| CertError::Malformed)?;
    ee.verify_signature(
        webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256,
        message,
        signature,
    )
    .map_err(|_| CertError::BadSignature)
}
