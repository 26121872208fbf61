//! TLS 1.3 with pinned keys: the hub presents its self-signed certificate; a device may
//! present its own. No CA is involved: the hub accepts any well-formed certificate, checks
//! that the peer holds its key (the handshake signature), and the HTTP layer looks the
//! key's pin up among the enrolled devices.

use std::sync::Arc;

use custos_wire as wire;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{ring, verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, ServerConfig};

use crate::keys::Keys;

/// Accepts any self-signed client certificate whose key signs the handshake; client
/// certificates are offered, not required (health, the API description and enrollment
/// need none).
#[derive(Debug)]
pub struct PinnedClients {
    provider: Arc<CryptoProvider>,
}

impl PinnedClients {
    /// A verifier using the provider's signature algorithms.
    pub fn new(provider: Arc<CryptoProvider>) -> PinnedClients {
        PinnedClients { provider }
    }
}

impl ClientCertVerifier for PinnedClients {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        // Whose key it is, is the HTTP layer's question (the pin); here it only has to
        // be a certificate with a key in it.
        match wire::pin_of_cert(end_entity) {
            Some(_) => Ok(ClientCertVerified::assertion()),
            None => Err(rustls::Error::InvalidCertificate(
                CertificateError::BadEncoding,
            )),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A TLS configuration rustls refuses.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The provider does not offer TLS 1.3.
    #[error("TLS: {0}")]
    Version(rustls::Error),
    /// The hub's key or certificate is refused.
    #[error("TLS key: {0}")]
    Key(rustls::Error),
}

/// The hub's TLS configuration: TLS 1.3 only, HTTP/1.1, optional client certificates.
pub fn server_config(keys: &Keys) -> Result<ServerConfig, TlsError> {
    let provider = Arc::new(ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(TlsError::Version)?
        .with_client_cert_verifier(Arc::new(PinnedClients::new(provider)))
        .with_single_cert(vec![keys.cert.clone()], keys.tls_key())
        .map_err(TlsError::Key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    // One ticket per connection is enough for a device's next sync to resume, and each
    // one costs bytes on the wire.
    config.send_tls13_tickets = 1;
    Ok(config)
}
