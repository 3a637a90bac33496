//! The trust configuration of card checks: anchors and CRLs, reloaded while the server runs.

use std::sync::{Arc, RwLock};

use time::OffsetDateTime;

use onshi_pki::{CertKind, CrlStatus, PkiError, StalePolicy, Verifier};

/// Where anchors and CRLs come from, as bytes: `onshi serve` reads them (files, or `http://` URLs
/// for CRLs, fetched by the caller and passed as bytes).
#[derive(Debug, Clone, Default)]
pub struct TrustSources {
    /// Trust anchors: kind and PEM/DER bytes.
    pub anchors: Vec<(CertKind, Vec<u8>)>,
    /// CRLs, PEM or DER.
    pub crls: Vec<Vec<u8>>,
}

/// The verifier in force, swapped whole when CRLs are reloaded.
#[derive(Debug)]
pub struct Trust {
    current: RwLock<Option<Arc<Verifier>>>,
    policy: StalePolicy,
}

impl Trust {
    /// No anchors: card checks answer 503 until some are configured.
    pub fn none() -> Self {
        Self {
            current: RwLock::new(None),
            policy: StalePolicy::Reject,
        }
    }

    /// A trust store from sources.
    pub fn new(
        sources: &TrustSources,
        policy: StalePolicy,
        now: OffsetDateTime,
    ) -> Result<Self, PkiError> {
        let trust = Self {
            current: RwLock::new(None),
            policy,
        };
        trust.reload(sources, now)?;
        Ok(trust)
    }

    /// Replaces anchors and CRLs (e.g. after a CRL refresh). On error the old ones stay.
    pub fn reload(&self, sources: &TrustSources, now: OffsetDateTime) -> Result<(), PkiError> {
        let verifier = Verifier::new(&sources.anchors, &sources.crls, self.policy, now)?;
        for crl in verifier.crl_status(now).iter().filter(|c| c.stale) {
            tracing::warn!(issuer = %crl.issuer, "a loaded CRL is past its nextUpdate");
        }
        if let Ok(mut current) = self.current.write() {
            *current = Some(Arc::new(verifier));
        }
        Ok(())
    }

    /// The verifier in force, if anchors are configured.
    pub fn verifier(&self) -> Option<Arc<Verifier>> {
        self.current.read().ok().and_then(|c| c.clone())
    }

    /// The CRLs in force and whether each is stale.
    pub fn crl_status(&self, now: OffsetDateTime) -> Vec<CrlStatus> {
        self.verifier()
            .map(|v| v.crl_status(now))
            .unwrap_or_default()
    }
}
