//! TLS to PostgreSQL (feature `tls`): the URL's `sslmode` read as libpq reads it, through rustls
//! (diesel-async's own `establish` connects without TLS).
//!
//! - `disable`, or no `sslmode`: no TLS, as before.
//! - `prefer`: TLS if the server offers it, the certificate not checked (libpq's default).
//! - `require`: TLS or no connection, the certificate not checked (as libpq, unless a root
//!   certificate is given: then as `verify-ca`).
//! - `verify-ca`: the certificate must chain to `sslrootcert` (a PEM file), or to the Mozilla
//!   roots without one (`sslrootcert=system` says so explicitly).
//! - `verify-full`: as `verify-ca`, and the certificate must name the host.

use std::sync::Arc;

use diesel::ConnectionError;
use diesel_async::AsyncPgConnection;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres_rustls::MakeRustlsConnect;

/// How a URL asks for TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// Opens a PostgreSQL connection to `url`, over TLS when its `sslmode` asks for it.
pub(crate) async fn establish(url: &str) -> diesel::ConnectionResult<AsyncPgConnection> {
    let Some((url, connector)) = connector(url)? else {
        return <AsyncPgConnection as diesel_async::AsyncConnection>::establish(url).await;
    };
    let (client, connection) = tokio_postgres::connect(&url, connector)
        .await
        .map_err(|e| ConnectionError::BadConnection(with_causes(&e)))?;
    AsyncPgConnection::try_from_client_and_connection(client, connection).await
}

/// The URL as tokio-postgres reads it (it knows `prefer` and `require` only, and no
/// `sslrootcert`) and the TLS connector for its mode; `None` for a connection without TLS.
fn connector(url: &str) -> diesel::ConnectionResult<Option<(String, MakeRustlsConnect)>> {
    // A `key=value` connection string is not a URL: it goes to tokio-postgres as it is.
    let Ok(mut parsed) = url::Url::parse(url) else { return Ok(None) };
    let (mut mode, mut root) = (None, None);
    let mut kept = Vec::new();
    for (key, value) in parsed.query_pairs() {
        match &*key {
            "sslmode" => mode = Some(value.into_owned()),
            "sslrootcert" => root = Some(value.into_owned()),
            _ => kept.push((key.into_owned(), value.into_owned())),
        }
    }
    let mode = match mode.as_deref() {
        None | Some("disable") => return Ok(None),
        Some("allow" | "prefer") => Mode::Prefer,
        Some("require") if root.is_some() => Mode::VerifyCa,
        Some("require") => Mode::Require,
        Some("verify-ca") => Mode::VerifyCa,
        Some("verify-full") => Mode::VerifyFull,
        Some(other) => {
            let message = format!("unknown sslmode `{other}`");
            return Err(ConnectionError::InvalidConnectionUrl(message));
        }
    };
    let sslmode = if mode == Mode::Prefer { "prefer" } else { "require" };
    kept.push(("sslmode".to_owned(), sslmode.to_owned()));
    parsed.query_pairs_mut().clear().extend_pairs(kept);
    let config = client_config(mode, root.as_deref())?;
    Ok(Some((parsed.into(), MakeRustlsConnect::new(config))))
}

/// rustls' configuration for `mode`, with the roots of `root` (a PEM file, or `system`).
fn client_config(mode: Mode, root: Option<&str>) -> diesel::ConnectionResult<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?;
    let verifier: Arc<dyn ServerCertVerifier> = match mode {
        Mode::Prefer | Mode::Require => Arc::new(Unchecked(provider)),
        Mode::VerifyCa | Mode::VerifyFull => {
            let roots = Arc::new(roots(root)?);
            let full = WebPkiServerVerifier::builder_with_provider(roots, provider)
                .build()
                .map_err(tls_error)?;
            match mode {
                Mode::VerifyFull => full,
                _ => Arc::new(AnyName(full)),
            }
        }
    };
    Ok(builder.dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth())
}

/// The trust anchors: the certificates of a PEM file, or the Mozilla roots.
fn roots(file: Option<&str>) -> diesel::ConnectionResult<RootCertStore> {
    let Some(file) = file.filter(|file| *file != "system") else {
        return Ok(RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() });
    };
    let unreadable =
        |e: &dyn std::fmt::Display| tls_error(format!("cannot read sslrootcert {file}: {e}"));
    let mut roots = RootCertStore::empty();
    for certificate in CertificateDer::pem_file_iter(file).map_err(|e| unreadable(&e))? {
        roots.add(certificate.map_err(|e| unreadable(&e))?).map_err(|e| unreadable(&e))?;
    }
    if roots.is_empty() {
        return Err(unreadable(&"no certificate in it"));
    }
    Ok(roots)
}

/// An error and its causes on one line: tokio-postgres says only "error performing TLS
/// handshake", and the cause says why (a certificate not trusted, or for another name).
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(error) = cause {
        let line = error.to_string();
        if !text.contains(&line) {
            text = format!("{text}: {line}");
        }
        cause = error.source();
    }
    text
}

fn tls_error(error: impl std::fmt::Display) -> ConnectionError {
    ConnectionError::BadConnection(format!("TLS: {error}"))
}

/// `prefer` and `require`: encryption without checking whom it is with, as libpq does. The
/// handshake's signatures are still checked.
#[derive(Debug)]
struct Unchecked(Arc<CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain is checked to the roots, the name in the certificate is not (webpki
/// checks the chain first, so a wrong name is the only error this lets through).
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            outcome => outcome,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(url: &str) -> Option<String> {
        connector(url).unwrap().map(|(url, _)| url)
    }

    #[test]
    fn sslmode_is_read_as_libpq_reads_it() {
        assert_eq!(rewritten("postgres://u@h/db"), None);
        assert_eq!(rewritten("postgres://u@h/db?sslmode=disable"), None);
        assert_eq!(rewritten("host=h sslmode=require"), None, "not a URL: as it is");
        assert_eq!(
            rewritten("postgres://u@h/db?sslmode=verify-full&application_name=x").as_deref(),
            Some("postgres://u@h/db?application_name=x&sslmode=require")
        );
        assert_eq!(
            rewritten("postgres://u@h/db?sslmode=prefer").as_deref(),
            Some("postgres://u@h/db?sslmode=prefer")
        );
        let error = connector("postgres://u@h/db?sslmode=sometimes").err().unwrap();
        assert!(error.to_string().contains("unknown sslmode `sometimes`"), "{error}");
        let error = connector("postgres://u@h/db?sslmode=verify-ca&sslrootcert=/no/such.pem");
        let error = error.err().unwrap().to_string();
        assert!(error.contains("cannot read sslrootcert /no/such.pem"), "{error}");
    }
}
