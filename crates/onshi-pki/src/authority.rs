//! A demo certificate authority shaped like J-LIS's user-authentication CA: a self-signed
//! RSA-2048 root that issues user certificates directly (`C=JP, CN=<opaque id>`, no personal
//! data, key usage digitalSignature) and signs CRLs. Its names say DEMO so that nothing issued
//! here can be mistaken for a production JPKI certificate.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName,
    DnType, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, PKCS_RSA_SHA256,
    RevokedCertParams, SerialNumber,
};
use rustls_pki_types::CertificateDer;
use time::{Duration, OffsetDateTime};

use crate::{CertKind, PkiError};

/// A certificate authority with its key.
pub struct Authority {
    kind: CertKind,
    cert: CertificateDer<'static>,
    cert_pem: String,
    key: KeyPair,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Authority({})", self.kind.as_str())
    }
}

/// A user certificate and its private key, as issued.
#[derive(Debug, Clone)]
pub struct IssuedCert {
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
    /// The private key, PKCS#8 DER.
    pub key_pkcs8: Vec<u8>,
    /// The serial number's bytes (big-endian).
    pub serial: Vec<u8>,
}

fn gen_err(e: rcgen::Error) -> PkiError {
    PkiError::Generate(e.to_string())
}

fn random_bytes<const N: usize>() -> Result<[u8; N], PkiError> {
    let mut b = [0u8; N];
    SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| PkiError::Generate("no system randomness".into()))?;
    Ok(b)
}

/// A positive 16-byte serial number.
fn new_serial() -> Result<Vec<u8>, PkiError> {
    let mut s = random_bytes::<16>()?;
    s[0] = (s[0] & 0x7f) | 0x01;
    Ok(s.to_vec())
}

fn root_name(kind: CertKind) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "JP");
    dn.push(DnType::OrganizationName, "JPKI-DEMO");
    let unit = match kind {
        CertKind::Card => "JPKI for user authentication (onshi demo)",
        CertKind::Smartphone => "JPKI for mobile user authentication (onshi demo)",
    };
    dn.push(DnType::OrganizationalUnitName, unit);
    dn
}

impl Authority {
    /// A new self-signed root, valid ten years from `now`.
    pub fn create(kind: CertKind, now: OffsetDateTime) -> Result<Self, PkiError> {
        let key = KeyPair::generate_for(&PKCS_RSA_SHA256).map_err(gen_err)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = root_name(kind);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(3650);
        params.serial_number = Some(SerialNumber::from_slice(&new_serial()?));
        params.key_identifier_method = KeyIdMethod::Sha256;
        let cert = params.self_signed(&key).map_err(gen_err)?;
        Ok(Self {
            kind,
            cert_pem: cert.pem(),
            cert: cert.der().clone(),
            key,
        })
    }

    /// An authority from its certificate and key (both PEM).
    pub fn from_pem(kind: CertKind, cert_pem: &str, key_pem: &str) -> Result<Self, PkiError> {
        use rustls_pki_types::pem::PemObject;
        let cert = CertificateDer::from_pem_slice(cert_pem.as_bytes())
            .map_err(|e| PkiError::Parse(format!("authority certificate: {e}")))?
            .into_owned();
        let key = KeyPair::from_pem(key_pem)
            .map_err(|e| PkiError::Parse(format!("authority key: {e}")))?;
        Ok(Self {
            kind,
            cert,
            cert_pem: cert_pem.to_owned(),
            key,
        })
    }

    /// Which kind of user certificates it issues.
    pub fn kind(&self) -> CertKind {
        self.kind
    }

    /// The root certificate, PEM (the trust anchor to configure).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The root certificate, DER.
    pub fn cert_der(&self) -> &[u8] {
        &self.cert
    }

    /// The private key, PKCS#8 PEM.
    pub fn key_pem(&self) -> String {
        self.key.serialize_pem()
    }

    fn issuer(&self) -> Result<Issuer<'_, &KeyPair>, PkiError> {
        Issuer::from_ca_cert_der(&self.cert, &self.key).map_err(gen_err)
    }

    /// Issues a user-authentication certificate with a fresh RSA-2048 key, valid over
    /// `[not_before, not_after]`. Its subject is `C=JP, CN=<random opaque id>`.
    pub fn issue(
        &self,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Result<IssuedCert, PkiError> {
        let key = KeyPair::generate_for(&PKCS_RSA_SHA256).map_err(gen_err)?;
        let serial = new_serial()?;
        let id: String = random_bytes::<12>()?
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CountryName, "JP");
        dn.push(DnType::CommonName, id);
        params.distinguished_name = dn;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.not_before = not_before;
        params.not_after = not_after;
        params.serial_number = Some(SerialNumber::from_slice(&serial));
        params.use_authority_key_identifier_extension = true;
        params.key_identifier_method = KeyIdMethod::Sha256;
        let cert = params.signed_by(&key, &self.issuer()?).map_err(gen_err)?;
        Ok(IssuedCert {
            cert_der: cert.der().to_vec(),
            key_pkcs8: key.serialize_der(),
            serial,
        })
    }

    /// A demo CA for the closed network between facilities and the server: it issues the
    /// server's TLS certificate and facilities' client certificates (mutual TLS).
    pub fn create_network(now: OffsetDateTime) -> Result<Self, PkiError> {
        let key = KeyPair::generate_for(&PKCS_RSA_SHA256).map_err(gen_err)?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CountryName, "JP");
        dn.push(DnType::OrganizationName, "onshi demo network");
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(3650);
        params.serial_number = Some(SerialNumber::from_slice(&new_serial()?));
        let cert = params.self_signed(&key).map_err(gen_err)?;
        Ok(Self {
            kind: CertKind::Card,
            cert_pem: cert.pem(),
            cert: cert.der().clone(),
            key,
        })
    }

    /// A TLS certificate (ECDSA P-256) and its key, both PEM: for a server when `dns_names` is not
    /// empty (those names and 127.0.0.1), else a client certificate whose common name is
    /// `common_name` (a facility code).
    pub fn issue_tls(
        &self,
        common_name: &str,
        dns_names: &[&str],
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Result<(String, String), PkiError> {
        use rcgen::{ExtendedKeyUsagePurpose, SanType};
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(gen_err)?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, common_name);
        params.distinguished_name = dn;
        params.not_before = not_before;
        params.not_after = not_after;
        params.serial_number = Some(SerialNumber::from_slice(&new_serial()?));
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        if dns_names.is_empty() {
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        } else {
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            for name in dns_names {
                params
                    .subject_alt_names
                    .push(SanType::DnsName((*name).try_into().map_err(gen_err)?));
            }
            params
                .subject_alt_names
                .push(SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1])));
        }
        let cert = params.signed_by(&key, &self.issuer()?).map_err(gen_err)?;
        Ok((cert.pem(), key.serialize_pem()))
    }

    /// A CRL listing `revoked` (serial, revocation time), valid from `this_update` to
    /// `next_update`, DER.
    pub fn crl(
        &self,
        revoked: &[(Vec<u8>, OffsetDateTime)],
        crl_number: u64,
        this_update: OffsetDateTime,
        next_update: OffsetDateTime,
    ) -> Result<Vec<u8>, PkiError> {
        let params = CertificateRevocationListParams {
            this_update,
            next_update,
            crl_number: SerialNumber::from_slice(&crl_number.to_be_bytes()),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .iter()
                .map(|(serial, at)| RevokedCertParams {
                    serial_number: SerialNumber::from_slice(serial),
                    revocation_time: *at,
                    reason_code: None,
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        };
        Ok(params
            .signed_by(&self.issuer()?)
            .map_err(gen_err)?
            .der()
            .to_vec())
    }
}
