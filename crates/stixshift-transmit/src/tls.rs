//! `selfSignedCert`: PEM text → extra trust roots (never "accept invalid
//! certificates"), and TLS failures → typed errors.

use std::path::PathBuf;
use std::sync::OnceLock;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

use crate::error::TransmitError;

/// The system's trust roots, read once per process.
///
/// One bundle file is read: the one `SSL_CERT_FILE` names, else the
/// platform's bundle as OpenSSL finds it (`/etc/ssl/certs/ca-certificates.crt`
/// on Debian). Certificate directories (`SSL_CERT_DIR`, the platform's) are
/// read only where there is no bundle file: on the usual systems the
/// directory holds the bundle's certificates again, one symbolic link each,
/// and reading both (what reqwest's native roots do) cost about 2 ms of the
/// client's start, more than the rest of a one-page `execute`.
///
/// Certificates the system store holds but rustls cannot use as anchors
/// (very old ones) are left out, as reqwest's native roots leave them out.
pub(crate) fn system_roots() -> &'static [reqwest::Certificate] {
    static ROOTS: OnceLock<Vec<reqwest::Certificate>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let file = std::env::var_os("SSL_CERT_FILE")
            .map(PathBuf::from)
            .or_else(|| openssl_probe::probe().cert_file)
            .filter(|f| f.is_file());
        let certs = match file {
            Some(f) => rustls_native_certs::load_certs_from_paths(Some(&f), None).certs,
            None => rustls_native_certs::load_native_certs().certs,
        };
        usable_anchors(certs)
    })
}

/// The certificates rustls accepts as trust anchors.
fn usable_anchors(certs: Vec<CertificateDer<'static>>) -> Vec<reqwest::Certificate> {
    let mut store = rustls::RootCertStore::empty();
    certs
        .into_iter()
        .filter_map(|der| anchor(&mut store, der).ok())
        .collect()
}

/// `der` as a trust root for reqwest, once rustls has taken it as an anchor
/// (into `store`, which is only for the check).
fn anchor(
    store: &mut rustls::RootCertStore,
    der: CertificateDer<'static>,
) -> Result<reqwest::Certificate, String> {
    store.add(der.clone()).map_err(|e| e.to_string())?;
    reqwest::Certificate::from_der(&der).map_err(|e| e.to_string())
}

/// The certificates of a PEM text, each checked to be a usable trust anchor.
pub(crate) fn trust_roots(pem: &str) -> Result<Vec<reqwest::Certificate>, TransmitError> {
    let invalid = |detail: String| TransmitError::InvalidCertificate { detail };
    let mut store = rustls::RootCertStore::empty();
    let mut out = Vec::new();
    for (i, der) in CertificateDer::pem_slice_iter(pem.as_bytes()).enumerate() {
        let at = |e: &dyn std::fmt::Display| invalid(format!("certificate {}: {e}", i + 1));
        let der = der.map_err(|e| at(&e))?;
        out.push(anchor(&mut store, der).map_err(|e| at(&e))?);
    }
    if out.is_empty() {
        return Err(invalid(
            "no PEM certificate found in `selfSignedCert`".to_owned(),
        ));
    }
    Ok(out)
}

/// Whether a rustls error is about the peer's certificate (as opposed to
/// the handshake in general).
pub(crate) fn is_certificate_error(e: &rustls::Error) -> bool {
    matches!(
        e,
        rustls::Error::InvalidCertificate(_)
            | rustls::Error::NoCertificatesPresented
            | rustls::Error::InvalidCertRevocationList(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(pem: &str) -> String {
        match trust_roots(pem) {
            Err(TransmitError::InvalidCertificate { detail }) => detail,
            other => panic!(
                "expected an invalid certificate, got {:?}",
                other.map(|v| v.len())
            ),
        }
    }

    #[test]
    fn rejects_text_without_certificates() {
        assert_eq!(detail(""), "no PEM certificate found in `selfSignedCert`");
        assert_eq!(
            detail("not a pem"),
            "no PEM certificate found in `selfSignedCert`"
        );
        // A private key alone is no certificate.
        assert_eq!(
            detail("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
            "no PEM certificate found in `selfSignedCert`"
        );
    }

    #[test]
    fn rejects_garbage_inside_a_certificate_block() {
        let d = detail("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        assert!(d.starts_with("certificate 1: "), "{d}");
        let d = detail("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n");
        assert!(d.starts_with("certificate 1: "), "{d}");
    }
}
