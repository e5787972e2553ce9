//! TLS towards the server: the system's roots, or an operator's CA file instead.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// The certificates of a PEM file.
fn read_certs(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .with_context(|| format!("cannot read CA file {}", path.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("bad PEM in {}", path.display()))?;
    anyhow::ensure!(!certs.is_empty(), "no certificate in {}", path.display());
    Ok(certs)
}

/// A client configuration trusting only the CA in `ca_file`.
pub fn client_config(ca_file: &Path) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in read_certs(ca_file)? {
        roots.add(cert).context("unusable CA certificate")?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS setup")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// An HTTP client for enrolment, trusting `ca_file` when given.
pub fn http_client(ca_file: Option<&Path>) -> anyhow::Result<reqwest::Client> {
    client_builder(ca_file)?
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .context("HTTP client setup")
}

/// An HTTP client for the files of commands, trusting `ca_file` when given. A large file may
/// take long, so there is no overall timeout (the command's deadline bounds it), only one on
/// connecting and one on each read.
pub fn download_client(ca_file: Option<&Path>) -> anyhow::Result<reqwest::Client> {
    client_builder(ca_file)?
        .connect_timeout(std::time::Duration::from_secs(20))
        .read_timeout(std::time::Duration::from_secs(60))
        // The device's credential goes only to the server it is enrolled with.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("HTTP client setup")
}

fn client_builder(ca_file: Option<&Path>) -> anyhow::Result<reqwest::ClientBuilder> {
    let mut builder = reqwest::Client::builder();
    if let Some(path) = ca_file {
        let pem = std::fs::read(path)
            .with_context(|| format!("cannot read CA file {}", path.display()))?;
        builder = builder
            .tls_certs_only([reqwest::Certificate::from_pem(&pem).context("bad CA certificate")?]);
    }
    Ok(builder)
}
