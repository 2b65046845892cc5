//! `selfSignedCert`: PEM text → extra trust roots (never "accept invalid
//! certificates"), and TLS failures → typed errors.

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

use crate::error::TransmitError;

/// The certificates of a PEM text, each checked to be a usable trust anchor.
pub(crate) fn trust_roots(pem: &str) -> Result<Vec<reqwest::Certificate>, TransmitError> {
    let invalid = |detail: String| TransmitError::InvalidCertificate { detail };
    let mut store = rustls::RootCertStore::empty();
    let mut out = Vec::new();
    for (i, der) in CertificateDer::pem_slice_iter(pem.as_bytes()).enumerate() {
        let der = der.map_err(|e| invalid(format!("certificate {}: {e}", i + 1)))?;
        store
            .add(der.clone())
            .map_err(|e| invalid(format!("certificate {}: {e}", i + 1)))?;
        out.push(reqwest::Certificate::from_der(&der).map_err(|e| invalid(e.to_string()))?);
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
