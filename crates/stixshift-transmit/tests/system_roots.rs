//! The system trust store comes from the bundle file `SSL_CERT_FILE` names
//! (its own process: the store is read once per process).

use std::time::Duration;

use stixshift_simulator::{spawn, Config, DEFAULT_TOKEN};
use stixshift_transmit::{Client, Connection, Scheme, Token};

fn https(run: &stixshift_simulator::Running) -> Connection {
    Connection {
        scheme: Scheme::Https,
        port: run.port(),
        timeout: Duration::from_secs(20),
        ..Connection::new(run.host())
    }
}

#[tokio::test]
async fn the_bundle_file_named_by_ssl_cert_file_is_trusted_and_nothing_else() {
    let tls = || Config {
        tls: true,
        ..Config::default()
    };
    let (trusted, other) = (spawn(tls()).await, spawn(tls()).await);
    let dir = std::env::temp_dir().join(format!("stixshift-roots-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bundle = dir.join("bundle.pem");
    std::fs::write(&bundle, trusted.cert_pem().expect("pem")).unwrap();
    // A directory holding the other server's certificate: not read, since
    // there is a bundle file.
    let certs = dir.join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::write(certs.join("other.pem"), other.cert_pem().expect("pem")).unwrap();
    std::env::set_var("SSL_CERT_FILE", &bundle);
    std::env::set_var("SSL_CERT_DIR", &certs);

    let client = |conn: Connection| Client::new(&conn, Token::new(DEFAULT_TOKEN)).unwrap();
    // `selfSignedCert` set to the other server's certificate.
    let with_other_cert = |conn: Connection| Connection {
        self_signed_cert: other.cert_pem(),
        ..conn
    };

    // No `selfSignedCert`: the bundle's certificate is a system root.
    let c = client(https(&trusted));
    c.ping().await.expect("ping trusted through SSL_CERT_FILE");
    let e = client(https(&other)).ping().await.unwrap_err();
    assert_eq!(e.code(), "certificate_fail", "{e:?}");
    // `selfSignedCert` is added to the system roots.
    let c = client(with_other_cert(https(&other)));
    c.ping().await.expect("ping with selfSignedCert");
    let c = client(with_other_cert(https(&trusted)));
    c.ping()
        .await
        .expect("the system roots stay with selfSignedCert");

    trusted.shutdown().await;
    other.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
