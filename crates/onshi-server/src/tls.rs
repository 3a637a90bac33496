//! TLS, and mutual TLS with facility client certificates for deployments on a closed network.
//!
//! With a client CA configured, a connection without a certificate chaining to it fails the
//! handshake; with one, the certificate's common name (the facility code) is attached to every
//! request on the connection, and a facility token used over a connection whose certificate names
//! another facility is refused.

use std::sync::Arc;

use rustls::ServerConfig;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::AppState;

/// The facility code named by the client certificate of the connection a request came on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdentity(pub String);

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
#[error("TLS configuration: {0}")]
pub struct TlsError(String);

/// Builds the server configuration: its certificate chain and key (PEM), and, for mutual TLS,
/// the CA (PEM) that facility client certificates must chain to.
pub fn server_config(
    cert_pem: &[u8],
    key_pem: &[u8],
    client_ca_pem: Option<&[u8]>,
) -> Result<ServerConfig, TlsError> {
    let err = |e: &dyn std::fmt::Display| TlsError(e.to_string());
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| err(&e))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| err(&e))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| err(&e))?;
    let builder = match client_ca_pem {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_slice_iter(ca) {
                roots.add(c.map_err(|e| err(&e))?).map_err(|e| err(&e))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| err(&e))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| err(&e))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

pub(crate) fn common_name(cert: &CertificateDer<'_>) -> Option<String> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert).ok()?;
    parsed
        .subject()
        .iter_common_name()
        .next()?
        .as_str()
        .ok()
        .map(str::to_owned)
}

/// Serves `state` over TLS on `listener` until `shutdown` completes, with the connection
/// limits and time-outs of `settings` ([`crate::connections`]).
pub async fn serve_tls(
    listener: TcpListener,
    state: AppState,
    config: ServerConfig,
    settings: crate::connections::ConnectionSettings,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    crate::background::start(&state).await;
    let (router, _) = crate::router(state);
    let acceptor = TlsAcceptor::from(Arc::new(config));
    crate::connections::serve(listener, router, Some(acceptor), settings, shutdown).await
}

/// A client configuration for facility-side tools: trust `ca_pem` for the server, and present
/// `client` (certificate and key PEM) for mutual TLS.
pub fn client_config(
    ca_pem: &[u8],
    client: Option<(&[u8], &[u8])>,
) -> Result<rustls::ClientConfig, TlsError> {
    let err = |e: &dyn std::fmt::Display| TlsError(e.to_string());
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem) {
        roots.add(c.map_err(|e| err(&e))?).map_err(|e| err(&e))?;
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| err(&e))?
    .with_root_certificates(roots);
    match client {
        Some((cert, key)) => {
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert)
                .collect::<Result<_, _>>()
                .map_err(|e| err(&e))?;
            let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| err(&e))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| err(&e))
        }
        None => Ok(builder.with_no_client_auth()),
    }
}
