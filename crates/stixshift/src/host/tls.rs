//! TLS for `stixshift host`: a certificate and key from PEM files, or a
//! freshly generated CA-signed localhost certificate whose CA PEM a client
//! trusts (stix-shifter's `proxy_cert`).

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// Certificate material that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or holds nothing usable.
    #[error("cannot load `{path}`: {reason}")]
    Load {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// Generating a certificate failed.
    #[error("cannot generate a certificate: {0}")]
    Generate(String),
    /// rustls refused the configuration.
    #[error("cannot configure TLS: {0}")]
    Config(String),
}

/// An acceptor from a certificate chain and a private key in PEM files.
pub fn from_pem_files(cert: &str, key: &str) -> Result<TlsAcceptor, TlsError> {
    let load = |path: &str, reason: String| TlsError::Load {
        path: path.to_owned(),
        reason,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| load(cert, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| load(cert, e.to_string()))?;
    if certs.is_empty() {
        return Err(load(cert, "no certificate in the file".to_owned()));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| load(key, e.to_string()))?;
    stixshift_simulator::tls_acceptor(certs, key_der).map_err(|e| TlsError::Config(e.to_string()))
}

/// A throw-away CA and a `localhost`/`127.0.0.1`/`::1` certificate it
/// signed (and for `extra_names`), made as the simulator makes its own.
/// Returns the acceptor and the CA's PEM (what clients trust).
pub fn generate(extra_names: &[String]) -> Result<(TlsAcceptor, String), TlsError> {
    stixshift_simulator::generate_tls("stixshift host CA", extra_names)
        .map_err(|e| TlsError::Generate(e.to_string()))
}
