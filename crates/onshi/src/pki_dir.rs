//! The demo PKI folder (`onshi pki`, `onshi demo`): two authorities (card, smartphone) with
//! their keys, CRLs and revoked serials, and the closed network's TLS certificates.

use std::path::{Path, PathBuf};

use time::{Duration, OffsetDateTime};

use onshi_domain::{MyNumber, MyNumberKey};
use onshi_pki::{Authority, CertKind, VirtualCard};
use onshi_store::Store;

use crate::CliError;

fn io(path: &Path) -> impl Fn(std::io::Error) -> CliError + '_ {
    move |e| CliError::Io(path.display().to_string(), e)
}

fn pki_err(e: onshi_pki::PkiError) -> CliError {
    CliError::Config(e.to_string())
}

/// The files of a demo PKI folder.
pub struct PkiDir(pub PathBuf);

impl PkiDir {
    fn ca(&self, kind: CertKind) -> (PathBuf, PathBuf) {
        (
            self.0.join(format!("{}-ca.pem", kind.as_str())),
            self.0.join(format!("{}-ca.key", kind.as_str())),
        )
    }
    /// The CRL file of `kind`.
    pub fn crl(&self, kind: CertKind) -> PathBuf {
        self.0.join(format!("{}.crl", kind.as_str()))
    }
    /// The root certificate file of `kind`.
    pub fn root(&self, kind: CertKind) -> PathBuf {
        self.ca(kind).0
    }
    fn revoked(&self, kind: CertKind) -> PathBuf {
        self.0.join(format!("{}-revoked.txt", kind.as_str()))
    }

    /// Creates both authorities and empty CRLs (refusing to overwrite an existing PKI).
    pub fn init(&self, now: OffsetDateTime) -> Result<(), CliError> {
        if self.root(CertKind::Card).exists() {
            return Err(CliError::Config(format!(
                "{} already holds a PKI",
                self.0.display()
            )));
        }
        std::fs::create_dir_all(&self.0).map_err(io(&self.0))?;
        for kind in [CertKind::Card, CertKind::Smartphone] {
            let ca = Authority::create(kind, now).map_err(pki_err)?;
            let (cert, key) = self.ca(kind);
            std::fs::write(&cert, ca.cert_pem()).map_err(io(&cert))?;
            write_private(&key, ca.key_pem().as_bytes())?;
            std::fs::write(self.revoked(kind), "").map_err(io(&self.revoked(kind)))?;
            self.publish(kind, now)?;
        }
        Ok(())
    }

    /// Loads one authority.
    pub fn authority(&self, kind: CertKind) -> Result<Authority, CliError> {
        let (cert, key) = self.ca(kind);
        let cert_pem = std::fs::read_to_string(&cert).map_err(io(&cert))?;
        let key_pem = std::fs::read_to_string(&key).map_err(io(&key))?;
        Authority::from_pem(kind, &cert_pem, &key_pem).map_err(pki_err)
    }

    /// Signs and writes the CRL of `kind`, valid seven days.
    pub fn publish(&self, kind: CertKind, now: OffsetDateTime) -> Result<(), CliError> {
        let ca = self.authority(kind)?;
        let list = std::fs::read_to_string(self.revoked(kind)).unwrap_or_default();
        let revoked: Vec<(Vec<u8>, OffsetDateTime)> = list
            .lines()
            .filter_map(|l| {
                let (serial, at) = l.split_once(' ')?;
                let bytes = (0..serial.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(serial.get(i..i + 2)?, 16).ok())
                    .collect::<Option<Vec<u8>>>()?;
                let at = OffsetDateTime::from_unix_timestamp(at.parse().ok()?).ok()?;
                Some((bytes, at))
            })
            .collect();
        let number = u64::try_from(now.unix_timestamp()).unwrap_or(1);
        let der = ca
            .crl(
                &revoked,
                number,
                now - Duration::minutes(1),
                now + Duration::days(7),
            )
            .map_err(pki_err)?;
        std::fs::write(self.crl(kind), der).map_err(io(&self.crl(kind)))
    }

    /// Issues a card (or smartphone) certificate for the person with `my_number`, records it in
    /// the certificate directory, and returns the virtual card.
    #[allow(clippy::too_many_arguments)] // each is a distinct input of issuing a card
    pub async fn issue(
        &self,
        store: &Store,
        key: &MyNumberKey,
        kind: CertKind,
        my_number: &str,
        label: &str,
        valid: (OffsetDateTime, OffsetDateTime),
        now: OffsetDateTime,
    ) -> Result<VirtualCard, CliError> {
        let n = MyNumber::parse(my_number)
            .map_err(|e| CliError::Config(format!("--my-number: {e}")))?;
        let issued = self
            .authority(kind)?
            .issue(valid.0, valid.1)
            .map_err(pki_err)?;
        let person = key.person_ref(&n);
        let fp = onshi_pki::fingerprint(&issued.cert_der);
        let serial = hex::encode(&issued.serial);
        store
            .record_certificate(&fp, kind.as_str(), &serial, &person, valid.1, now)
            .await?;
        Ok(VirtualCard::new(
            kind,
            label,
            &issued.cert_der,
            &issued.key_pkcs8,
            "1234",
        ))
    }

    /// Creates the demo network CA, the server's TLS certificate for `server_name`, and a client
    /// certificate per facility code: `network-ca.pem`, `server.pem`/`server.key`,
    /// `facility-<code>.pem`/`.key`.
    pub fn network(
        &self,
        server_name: &str,
        facilities: &[String],
        now: OffsetDateTime,
    ) -> Result<(), CliError> {
        std::fs::create_dir_all(&self.0).map_err(io(&self.0))?;
        let ca = Authority::create_network(now).map_err(pki_err)?;
        let until = now + Duration::days(825);
        let ca_path = self.0.join("network-ca.pem");
        std::fs::write(&ca_path, ca.cert_pem()).map_err(io(&ca_path))?;
        // Kept so that facilities approved later get their client certificates from it
        // (`onshi facility approve --network-pki DIR`).
        write_private(&self.0.join("network-ca.key"), ca.key_pem().as_bytes())?;
        let (cert, key) = ca
            .issue_tls(
                server_name,
                &[server_name],
                now - Duration::minutes(5),
                until,
            )
            .map_err(pki_err)?;
        std::fs::write(self.0.join("server.pem"), cert).map_err(io(&self.0))?;
        write_private(&self.0.join("server.key"), key.as_bytes())?;
        for code in facilities {
            onshi_domain::FacilityCode::parse(code)
                .map_err(|e| CliError::Config(format!("--facility {code}: {e}")))?;
            self.write_client(&ca, code, now)?;
        }
        Ok(())
    }

    /// The network CA `pki network` made here (its certificate and key).
    pub fn network_ca(&self) -> Result<Authority, CliError> {
        let cert = self.0.join("network-ca.pem");
        let key = self.0.join("network-ca.key");
        let cert_pem = std::fs::read_to_string(&cert).map_err(io(&cert))?;
        let key_pem = std::fs::read_to_string(&key).map_err(io(&key))?;
        Authority::from_pem(CertKind::Card, &cert_pem, &key_pem).map_err(pki_err)
    }

    /// A facility's client certificate and key from the network CA `ca`: `facility-CODE.pem`
    /// and `.key` (the key 0600; an existing one is not overwritten). Returns the certificate's
    /// path.
    pub fn write_client(
        &self,
        ca: &Authority,
        code: &str,
        now: OffsetDateTime,
    ) -> Result<PathBuf, CliError> {
        let (cert, key) = ca
            .issue_tls(
                code,
                &[],
                now - Duration::minutes(5),
                now + Duration::days(825),
            )
            .map_err(pki_err)?;
        write_private(&self.0.join(format!("facility-{code}.key")), key.as_bytes())?;
        let path = self.0.join(format!("facility-{code}.pem"));
        std::fs::write(&path, cert).map_err(io(&path))?;
        Ok(path)
    }

    /// Revokes a card's certificate and republishes its CRL.
    pub fn revoke(&self, card: &VirtualCard, now: OffsetDateTime) -> Result<(), CliError> {
        let der = card
            .certificate_der()
            .map_err(|e| CliError::Config(e.to_string()))?;
        let (_, cert) = x509_parser::parse_x509_certificate(&der)
            .map_err(|e| CliError::Config(format!("card: {e}")))?;
        let serial = hex::encode(cert.raw_serial());
        let path = self.revoked(card.kind);
        let mut list = std::fs::read_to_string(&path).unwrap_or_default();
        list.push_str(&format!("{serial} {}\n", now.unix_timestamp()));
        std::fs::write(&path, list).map_err(io(&path))?;
        self.publish(card.kind, now)
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path).map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))
}
