//! A throw-away certificate authority and a server certificate signed by it,
//! generated at start-up with rcgen, served with rustls (ring provider).
//!
//! Two certificates rather than one self-signed leaf: OpenSSL in strict mode
//! (Python 3.13's default) and webpki both want a CA that issues a separate
//! end-entity certificate. The CA's PEM is what a client trusts
//! (`selfSignedCert` for stix-shifter). The server certificate's SAN holds
//! `localhost`, `127.0.0.1` and `::1` (and any extra names asked for).

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

/// The generated material.
#[derive(Clone)]
pub(crate) struct Tls {
    pub(crate) ca_pem: String,
    pub(crate) acceptor: TlsAcceptor,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").finish_non_exhaustive()
    }
}

/// Errors while making the certificate or the rustls configuration.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// rcgen failed.
    #[error("cannot generate the certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// rustls rejected the configuration.
    #[error("cannot configure TLS: {0}")]
    Rustls(#[from] rustls::Error),
}

pub(crate) fn generate(extra_names: &[String]) -> Result<Tls, TlsError> {
    let (acceptor, ca_pem) = generate_tls("stixshift simulator test CA", extra_names)?;
    Ok(Tls { ca_pem, acceptor })
}

/// A throw-away CA named `ca_name` and a server certificate it signed for
/// `localhost`, `127.0.0.1`, `::1` and `extra_names`: the acceptor (HTTP/1.1)
/// and the CA's PEM, which clients trust. (Also the `stixshift host`
/// server's generated certificate.)
pub fn generate_tls(
    ca_name: &str,
    extra_names: &[String],
) -> Result<(TlsAcceptor, String), TlsError> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, ca_name);
    dn.push(DnType::OrganizationName, "stixshift");
    ca_params.distinguished_name = dn;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;

    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    for n in extra_names {
        if !n.is_empty() && !names.contains(n) {
            names.push(n.clone());
        }
    }
    let mut leaf_params = CertificateParams::new(names)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "localhost");
    leaf_params.distinguished_name = dn;
    leaf_params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf_params.use_authority_key_identifier_extension = true;
    let leaf_key = KeyPair::generate()?;
    let leaf = leaf_params.signed_by(&leaf_key, &ca)?;

    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let acceptor = tls_acceptor(vec![leaf.der().clone(), ca.der().clone()], key)?;
    Ok((acceptor, ca.pem()))
}

/// A TLS acceptor (rustls, ring provider, HTTP/1.1 by ALPN) for a
/// certificate chain and its key: the simulator's and `stixshift host`'s,
/// generated or from files.
pub fn tls_acceptor(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<TlsAcceptor, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
