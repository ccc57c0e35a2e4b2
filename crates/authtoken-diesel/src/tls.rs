//! TLS to PostgreSQL (feature `tls-rustls`): the URL's `sslmode` read as libpq reads it, through rustls
//! (diesel-async's own `establish` connects without TLS).
//!
//! - `disable`, or no `sslmode`: no TLS, as before.
//! - `prefer`: TLS if the server offers it, the certificate not checked (libpq's default).
//! - `require`: TLS or no connection, the certificate not checked (as libpq, unless a root
//!   certificate is given: then as `verify-ca`).
//! - `verify-ca`: the certificate must chain to `sslrootcert` (a PEM file; without one,
//!   `~/.postgresql/root.crt`, as libpq).
//! - `verify-full`: as `verify-ca`, and the certificate must name the host;
//!   `sslrootcert=system` trusts the Mozilla roots.
//!
//! Where every host is a Unix socket `sslmode` is ignored, as libpq ignores it. One TCP host
//! among the hosts (the URL's own list, a `host=` or a `hostaddr=` parameter) and TLS applies.

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
    let (url, connector) = match connector(url)? {
        Route::Plain(url) => {
            return <AsyncPgConnection as diesel_async::AsyncConnection>::establish(&url).await;
        }
        Route::Tls(url, connector) => (url, connector),
    };
    let (client, connection) = tokio_postgres::connect(&url, connector)
        .await
        .map_err(|e| ConnectionError::BadConnection(with_causes(&e)))?;
    AsyncPgConnection::try_from_client_and_connection(client, connection).await
}

/// How to reach the server: the URL as tokio-postgres reads it (it knows `prefer` and
/// `require` only, and no `sslrootcert`), with or without a TLS connector.
enum Route {
    Plain(String),
    Tls(String, MakeRustlsConnect),
}

/// The route for `url`. Its other parameters are kept byte for byte (tokio-postgres
/// percent-decodes them; a form re-encoding would turn a space into `+`).
fn connector(url: &str) -> diesel::ConnectionResult<Route> {
    // A `key=value` connection string is not a URL: it goes to tokio-postgres as it is.
    let is_url = url.starts_with("postgres://") || url.starts_with("postgresql://");
    let Some((base, query)) = url.split_once('?').filter(|_| is_url) else {
        return Ok(Route::Plain(url.to_owned()));
    };
    let (mut mode, mut root, mut kept) = (None, None, Vec::new());
    for piece in query.split('&').filter(|piece| !piece.is_empty()) {
        let (key, value) = piece.split_once('=').unwrap_or((piece, ""));
        let value = || percent_encoding::percent_decode_str(value).decode_utf8_lossy().into_owned();
        match key {
            "sslmode" => mode = Some(value()),
            "sslrootcert" => root = Some(value()),
            _ => kept.push(piece),
        }
    }
    let rebuilt = |extra: Option<&str>| {
        let pieces: Vec<&str> = kept.iter().copied().chain(extra).collect();
        if pieces.is_empty() { base.to_owned() } else { format!("{base}?{}", pieces.join("&")) }
    };
    // libpq ignores sslmode on a Unix socket, where there is nothing to encrypt; but only a
    // URL whose every host is one may go without TLS.
    let mode = match mode.as_deref() {
        _ if only_sockets(&rebuilt(None)) => return Ok(Route::Plain(rebuilt(None))),
        None | Some("disable") => return Ok(Route::Plain(rebuilt(Some("sslmode=disable")))),
        Some("allow" | "prefer") => Mode::Prefer,
        Some("require") if root.as_deref() == Some("system") => {
            return Err(invalid(
                "sslmode=require may not be used with sslrootcert=system (use verify-full)",
            ));
        }
        Some("require") if root.is_some() => Mode::VerifyCa,
        Some("require") => Mode::Require,
        Some("verify-ca") => Mode::VerifyCa,
        Some("verify-full") => Mode::VerifyFull,
        Some(other) => return Err(invalid(&format!("unknown sslmode `{other}`"))),
    };
    let config = client_config(mode, root.as_deref())?;
    let sslmode = if mode == Mode::Prefer { "sslmode=prefer" } else { "sslmode=require" };
    Ok(Route::Tls(rebuilt(Some(sslmode)), MakeRustlsConnect::new(config)))
}

/// Whether every host tokio-postgres would try for `url` is a Unix socket. It tries them all, in
/// order: the URL's own comma-separated hosts, then each `host=` parameter; a `hostaddr=` is
/// reached over TCP whatever its host is. So one TCP host keeps TLS for the whole URL; a socket
/// beside it is then asked for TLS too, which a server refuses on a socket (one `sslmode` for
/// every host): that host fails closed rather than a TCP one going in clear.
fn only_sockets(url: &str) -> bool {
    // Unparsable: tokio-postgres refuses it with its own message, whichever route it takes.
    let Ok(config) = url.parse::<tokio_postgres::Config>() else {
        return false;
    };
    let socket = |host: &tokio_postgres::config::Host| match host {
        // libpq splits a `host=` value at commas, tokio-postgres (on Unix) keeps it one path:
        // a path with a comma may be a TCP host to the other reading, so it is not trusted.
        #[cfg(unix)]
        tokio_postgres::config::Host::Unix(path) => !path.to_string_lossy().contains(','),
        tokio_postgres::config::Host::Tcp(_) => false,
    };
    let hosts = config.get_hosts();
    config.get_hostaddrs().is_empty() && !hosts.is_empty() && hosts.iter().all(socket)
}

fn invalid(message: &str) -> ConnectionError {
    ConnectionError::InvalidConnectionUrl(message.to_owned())
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
            let roots = Arc::new(roots(mode, root)?);
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

/// The trust anchors, as libpq finds them: `sslrootcert` (a PEM file), else
/// `~/.postgresql/root.crt`; the Mozilla roots only for `sslrootcert=system` with
/// `verify-full` (with `verify-ca` any publicly trusted certificate, for any name, would pass).
fn roots(mode: Mode, file: Option<&str>) -> diesel::ConnectionResult<RootCertStore> {
    if file == Some("system") {
        if mode != Mode::VerifyFull {
            return Err(invalid("sslrootcert=system needs sslmode=verify-full"));
        }
        return Ok(RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() });
    }
    let default = std::env::var_os("HOME")
        .map(|home| std::path::Path::new(&home).join(".postgresql/root.crt"))
        .filter(|path| path.is_file());
    let file = match (file, &default) {
        (Some(file), _) => file.to_owned(),
        (None, Some(default)) => default.display().to_string(),
        (None, None) => {
            return Err(invalid(
                "sslmode=verify-ca and verify-full need sslrootcert (a PEM file of the \
                 certificate authority; sslrootcert=system for the public roots with verify-full)",
            ));
        }
    };
    let unreadable =
        |e: &dyn std::fmt::Display| tls_error(format!("cannot read sslrootcert {file}: {e}"));
    let mut roots = RootCertStore::empty();
    for certificate in CertificateDer::pem_file_iter(&file).map_err(|e| unreadable(&e))? {
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

    fn rewritten(url: &str) -> (String, bool) {
        match connector(url).unwrap() {
            Route::Plain(url) => (url, false),
            Route::Tls(url, _) => (url, true),
        }
    }

    fn refusal(url: &str) -> String {
        match connector(url) {
            Err(error) => error.to_string(),
            Ok(_) => panic!("{url} was not refused"),
        }
    }

    #[test]
    fn sslmode_is_read_as_libpq_reads_it() {
        let plain = |url: &str| (url.to_owned(), false);
        assert_eq!(rewritten("postgres://u@h/db"), plain("postgres://u@h/db"));
        assert_eq!(
            rewritten("postgres://u@h/db?sslmode=disable"),
            plain("postgres://u@h/db?sslmode=disable")
        );
        assert_eq!(rewritten("host=h sslmode=require"), plain("host=h sslmode=require"));
        assert_eq!(
            rewritten(
                "postgres://u@h/db?options=-c%20search_path%3Dapp&sslmode=require&password=a+b%20c"
            ),
            (
                "postgres://u@h/db?options=-c%20search_path%3Dapp&password=a+b%20c&sslmode=require"
                    .to_owned(),
                true
            ),
            "the other parameters byte for byte"
        );
        assert_eq!(
            rewritten("postgres://u@h/db?sslmode=prefer"),
            ("postgres://u@h/db?sslmode=prefer".to_owned(), true)
        );
        assert_eq!(
            rewritten("postgres://u@h/db?sslmode=verify-full&sslrootcert=system"),
            ("postgres://u@h/db?sslmode=require".to_owned(), true)
        );
        assert_eq!(
            rewritten("postgres:///db?host=/run/postgresql&sslmode=require"),
            plain("postgres:///db?host=/run/postgresql"),
            "no TLS on a Unix socket"
        );
        assert!(
            refusal("postgres://u@h/db?sslmode=sometimes").contains("unknown sslmode `sometimes`")
        );
        let missing = refusal("postgres://u@h/db?sslmode=verify-ca&sslrootcert=/no/such.pem");
        assert!(missing.contains("cannot read sslrootcert /no/such.pem"), "{missing}");
        for weak in ["verify-ca", "require"] {
            let url = format!("postgres://u@h/db?sslmode={weak}&sslrootcert=system");
            assert!(refusal(&url).contains("verify-full"), "{weak}");
        }
    }

    /// L1: a Unix socket listed beside a TCP host (as a `host=` parameter, in the URL's own host
    /// list, or a `hostaddr=`) leaves the TCP host's TLS in place; only all-socket URLs skip it.
    #[test]
    fn tls_applies_whenever_a_host_is_reached_over_tcp() {
        for mixed in [
            "postgres://u@db.example/x?sslmode=verify-full&sslrootcert=system&host=/run/postgresql",
            "postgres://u@db.example/x?host=/run/postgresql&sslmode=require",
            "postgres://u@db.example/x?host=%2Frun%2Fpostgresql&sslmode=require",
            "postgres://%2Frun%2Fpostgresql,db.example/x?sslmode=require",
            "postgres:///x?host=/run/postgresql&host=db.example&sslmode=require",
            "postgres:///x?host=/run/postgresql&hostaddr=10.0.0.5&sslmode=require",
            // libpq reads a comma as a list separator; tokio-postgres, on Unix, as part of a path.
            "postgres:///x?host=/run/postgresql,db.example&sslmode=require",
        ] {
            let (rewritten, tls) = rewritten(mixed);
            assert!(tls, "{mixed} went without TLS");
            assert!(rewritten.ends_with("sslmode=require"), "{mixed}: {rewritten}");
        }
        for sockets in [
            "postgres:///x?host=/run/postgresql&sslmode=require",
            "postgres://%2Frun%2Fpostgresql/x?sslmode=require",
            "postgres:///x?host=/run/postgresql&host=%2Ftmp&sslmode=verify-full",
        ] {
            assert!(!rewritten(sockets).1, "{sockets}: no TLS on Unix sockets only");
        }
    }

    #[test]
    fn verify_ca_without_a_root_certificate_is_refused() {
        // Only where libpq's default file is absent, as on a test machine.
        let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
        if home.is_some_and(|home| home.join(".postgresql/root.crt").exists()) {
            return;
        }
        for mode in ["verify-ca", "verify-full"] {
            let refused = refusal(&format!("postgres://u@h/db?sslmode={mode}"));
            assert!(refused.contains("need sslrootcert"), "{mode}: {refused}");
        }
    }
}
