//! TLS as the functions make it: the AWS SDK's client from `roster_platform::aws` and the JWKS
//! client (`HttpJwks`), each trusting the machine's root certificates. The local AWS endpoint
//! speaks plain HTTP, so no other test makes a TLS handshake; on AWS every call does.
//!
//! Both clients read the roots with rustls-native-certs, which honours `SSL_CERT_FILE`. The
//! test runs its checks in a child process of this test binary whose only root is a test-only
//! authority (`testkit/fixtures/tls/ca.pem`): each client must complete the handshake with a
//! loopback server whose `localhost` certificate that authority signed, refuse a server
//! presenting a self-signed one and one the authority signed for another name, and then
//! succeed again.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use roster_platform::jwks::{HttpJwks, JwksSource};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../testkit/fixtures/tls");
const ANSWER: &str = r#"{"Name":"tls-probe","SecretString":"over-tls","keys":[]}"#;
const INNER: &str = "inner_each_client_trusts_its_roots_and_nothing_else";
/// Set in the child only: the inner test checks nothing without it.
const CHILD: &str = "ROSTER_TLS_CHILD";
/// What the inner test prints once every check passed.
const DONE: &str = "tls-probe: every check passed";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{name}")).unwrap()
}

/// An HTTPS server on loopback presenting `cert`, answering every request with [`ANSWER`].
async fn https_server(cert: &str, key: &str) -> SocketAddr {
    let certs = vec![CertificateDer::from_pem_slice(&fixture(cert)).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(&fixture(key)).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that refuses the certificate ends the handshake here.
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = service_fn(|_request| async {
                    Ok::<_, std::convert::Infallible>(
                        hyper::Response::builder()
                            .header("content-type", "application/x-amz-json-1.1")
                            .body(Full::new(Bytes::from_static(ANSWER.as_bytes())))
                            .unwrap(),
                    )
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    address
}

/// GetSecretValue against `server` through the SDK configuration the functions use.
async fn secret_over_tls(server: SocketAddr) -> Result<String, String> {
    let endpoint = format!("https://localhost:{}", server.port());
    let config = roster_platform::aws::local(&endpoint, "us-east-1").await;
    aws_sdk_secretsmanager::Client::new(&config)
        .get_secret_value()
        .secret_id("tls-probe")
        .send()
        .await
        .map(|answer| answer.secret_string().unwrap_or_default().to_owned())
        .map_err(|error| format!("{:?}", aws_sdk_secretsmanager::Error::from(error)))
}

async fn jwks_over_tls(server: SocketAddr) -> Result<Vec<u8>, String> {
    let url = format!("https://localhost:{}/jwks.json", server.port());
    HttpJwks::new(&url)
        .unwrap()
        .fetch()
        .await
        .map_err(|error| error.to_string())
}

/// Run by [`each_client_trusts_its_roots_and_nothing_else`] in a process whose only root is
/// the test authority; ignored in a plain run, where the machine's roots apply.
#[tokio::test]
#[ignore = "run in a child process by each_client_trusts_its_roots_and_nothing_else"]
async fn inner_each_client_trusts_its_roots_and_nothing_else() {
    if std::env::var_os(CHILD).is_none() {
        // Run with `--include-ignored` in the parent: the machine's roots apply, nothing to
        // check here (the parent's test runs this in a child and looks for DONE).
        return;
    }
    let vouched = https_server("localhost.pem", "localhost.key.pem").await;
    // Signed by no root.
    let stranger = https_server("self-signed.pem", "self-signed.key.pem").await;
    // Signed by the trusted authority, for another name than the one connected to.
    let misnamed = https_server("other-name.pem", "other-name.key.pem").await;

    assert_eq!(secret_over_tls(vouched).await.unwrap(), "over-tls");
    let refused = secret_over_tls(stranger).await.unwrap_err();
    assert!(refused.contains("UnknownIssuer"), "{refused}");
    let refused = secret_over_tls(misnamed).await.unwrap_err();
    assert!(refused.contains("NotValidForName"), "{refused}");
    assert_eq!(secret_over_tls(vouched).await.unwrap(), "over-tls");

    assert_eq!(jwks_over_tls(vouched).await.unwrap(), ANSWER.as_bytes());
    let refused = jwks_over_tls(stranger).await.unwrap_err();
    assert!(refused.contains("UnknownIssuer"), "{refused}");
    let refused = jwks_over_tls(misnamed).await.unwrap_err();
    assert!(refused.contains("not valid for name"), "{refused}");
    assert_eq!(jwks_over_tls(vouched).await.unwrap(), ANSWER.as_bytes());
    println!("{DONE}");
}

#[test]
fn each_client_trusts_its_roots_and_nothing_else() {
    let mut child = std::process::Command::new(std::env::current_exe().unwrap());
    child
        .args(["--ignored", "--exact", INNER, "--nocapture"])
        .env(CHILD, "1")
        .env("SSL_CERT_FILE", format!("{FIXTURES}/ca.pem"))
        .env_remove("SSL_CERT_DIR");
    // A proxy from the environment would take the loopback calls elsewhere.
    for proxy in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        child.env_remove(proxy);
    }
    let output = child.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    // The child ran the one check to its end, not nothing (a misspelt name runs 0 tests).
    assert!(stdout.contains(DONE), "{stdout}");
    assert!(stdout.contains("1 passed"), "{stdout}");
}
