//! TLS to the servers, with a certificate authority each test generates (`rcgen`): the
//! connection succeeds when the client checks the server against that authority and the host
//! name, and fails with an error that says why when either is wrong.
//!
//! The PostgreSQL test turns TLS on in the test cluster (as the machine's root, who owns the
//! test servers; the key file must belong to the server's user) and off again after.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use tenant_store::postgres::{Db, DbOptions};
use tenant_store_tests::{key, raw_pool, super_url, tenant};

/// A certificate authority and a server certificate it signed for `localhost` only.
struct Pki {
    ca_pem: String,
    cert_pem: String,
    key_pem: String,
}

fn authority() -> (String, Issuer<'static, KeyPair>) {
    let mut params = CertificateParams::new(Vec::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "tenant-store test CA");
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let key = KeyPair::generate().unwrap();
    let pem = params.self_signed(&key).unwrap().pem();
    (pem, Issuer::new(params, key))
}

fn pki() -> Pki {
    let (ca_pem, issuer) = authority();
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    params.use_authority_key_identifier_extension = true;
    params
        .extended_key_usages
        .push(rcgen::ExtendedKeyUsagePurpose::ServerAuth);
    let key = KeyPair::generate().unwrap();
    let cert_pem = params.signed_by(&key, &issuer).unwrap().pem();
    Pki {
        ca_pem,
        cert_pem,
        key_pem: key.serialize_pem(),
    }
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tenant-store-tls-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

/// `url` with another host, and these query parameters.
fn with(url: &str, host: &str, query: &str) -> String {
    let (scheme_auth, rest) = url.split_once('@').expect("user@host in the URL");
    let (_, path) = rest.split_once('/').expect("a database in the URL");
    let port = rest
        .split_once(':')
        .and_then(|(_, p)| p.split('/').next())
        .unwrap_or("5432");
    format!("{scheme_auth}@{host}:{port}/{path}?{query}")
}

/// Turns TLS on in the test cluster with `pki`'s certificate (written by the server itself, so
/// it owns the files), and waits until a TLS connection is accepted.
async fn enable_tls(pki: &Pki) -> TlsOn {
    let su = raw_pool(&super_url(), 1).await;
    let data: String = sqlx::query_scalar("SHOW data_directory")
        .fetch_one(&su)
        .await
        .unwrap();
    // The server reads them as its own user, and wants the key readable by nobody else.
    let owner = std::fs::metadata(&data).unwrap();
    for (file, text) in [
        ("ts_test.crt", &pki.cert_pem),
        ("ts_test.key", &pki.key_pem),
    ] {
        use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
        let path = Path::new(&data).join(file);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::chown(&path, Some(owner.uid()), Some(owner.gid())).unwrap();
    }
    for statement in [
        "ALTER SYSTEM SET ssl_cert_file = 'ts_test.crt'",
        "ALTER SYSTEM SET ssl_key_file = 'ts_test.key'",
        "ALTER SYSTEM SET ssl = on",
    ] {
        sqlx::raw_sql(statement).execute(&su).await.unwrap();
    }
    let on: bool = sqlx::query_scalar("SELECT pg_reload_conf()")
        .fetch_one(&su)
        .await
        .unwrap();
    assert!(on);
    su.close().await;
    let require = with(&super_url(), "127.0.0.1", "sslmode=require");
    for _ in 0..50 {
        if sqlx::PgPool::connect(&require).await.is_ok() {
            return TlsOn;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("PostgreSQL did not accept TLS after the reload; see its log under target/services/pg");
}

/// Turns TLS off again when dropped, also when the test fails: the other tests count round
/// trips on plain connections (sqlx's default `prefer` would take TLS while it is on).
struct TlsOn;

impl Drop for TlsOn {
    fn drop(&mut self) {
        std::thread::spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(disable_tls())
        })
        .join()
        .expect("turning TLS off in the test cluster");
    }
}

async fn disable_tls() {
    let su = raw_pool(&super_url(), 1).await;
    for statement in [
        "ALTER SYSTEM RESET ssl",
        "ALTER SYSTEM RESET ssl_cert_file",
        "ALTER SYSTEM RESET ssl_key_file",
        "SELECT pg_reload_conf()",
    ] {
        sqlx::raw_sql(statement).execute(&su).await.unwrap();
    }
    su.close().await;
}

#[tokio::test]
async fn postgres_verify_full_checks_the_authority_and_the_host_name() {
    let pki = pki();
    let dir = scratch();
    let ca = write(&dir, "ca.pem", &pki.ca_pem);
    let (other_ca, _) = authority();
    let other = write(&dir, "other-ca.pem", &other_ca);
    let _tls = enable_tls(&pki).await;
    let app = tenant_store_tests::app_url();
    let connect = |host: &str, root: &str| {
        let url = with(
            &app,
            host,
            &format!("sslmode=verify-full&sslrootcert={root}"),
        );
        async move { Db::connect_with(&url, key(), DbOptions::default().max_connections(2)).await }
    };

    // The right authority and host name: connected, audited, and the session is encrypted.
    let db = connect("localhost", &ca)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut tx = db.begin(&tenant()).await.unwrap();
    let row = tx
        .fetch_optional(sqlx::query(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        ))
        .await
        .unwrap()
        .expect("a pg_stat_ssl row for this backend");
    let encrypted: bool = sqlx::Row::get(&row, 0);
    assert!(encrypted, "the session is TLS");
    drop(tx);
    drop(db);

    // Another authority: refused, and the error says the certificate is the problem.
    let err = connect("localhost", &other).await.unwrap_err().to_string();
    assert!(err.contains("invalid peer certificate"), "{err}");
    eprintln!("another authority: {err}");
    // The right authority, a host name the certificate does not name.
    let err = connect("127.0.0.1", &ca).await.unwrap_err().to_string();
    assert!(
        err.to_lowercase().contains("not valid for name") || err.contains("NotValidForName"),
        "{err}"
    );
    eprintln!("another host name: {err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn valkey_over_tls_checks_the_authority_and_the_host_name() {
    use tenant_store::Resilience;
    use tenant_store::valkey::{Client, redis};
    use tenant_store_examples::episodic::{Episode, NewEpisode};
    let pki = pki();
    let dir = scratch();
    let (cert, key_file, ca) = (
        write(&dir, "server.crt", &pki.cert_pem),
        write(&dir, "server.key", &pki.key_pem),
        write(&dir, "ca.pem", &pki.ca_pem),
    );
    let server = tenant_store_tests::PrivateValkey::start_tls(&cert, &key_file, &ca);
    let settings = Resilience {
        timeout: std::time::Duration::from_secs(3),
        ..Resilience::default()
    };
    let with_root = |host: &str, root: &str| {
        redis::Client::build_with_tls(
            format!("rediss://{host}:{}", server.port),
            redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(root.as_bytes().to_vec()),
            },
        )
        .unwrap()
    };

    // The authority that signed the server's certificate, and the name on it: a working store,
    // each tenant seeing its own item.
    let client = Client::from_client(with_root("localhost", &pki.ca_pem), settings)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (a, b) = (tenant(), tenant());
    let new = || NewEpisode {
        id: Some("e1".into()),
        session_id: "s".into(),
        content: "over TLS".into(),
        importance: 1.0,
    };
    Episode::store()
        .set(&client.scoped(&a), new(), None)
        .await
        .unwrap();
    let got = Episode::store()
        .get(&client.scoped(&a), "s", &"e1".to_owned())
        .await
        .unwrap();
    assert_eq!(got.map(|e| e.content), Some("over TLS".to_owned()));
    let other = Episode::store()
        .get(&client.scoped(&b), "s", &"e1".to_owned())
        .await
        .unwrap();
    assert!(other.is_none(), "another tenant's item is absent");

    // Another authority, the right name; the right authority, another name; and the public web
    // roots a plain `rediss://` URL trusts: each refused, naming the certificate.
    let (other_ca, _) = authority();
    let refusals = [
        Client::from_client(with_root("localhost", &other_ca), settings).await,
        Client::from_client(with_root("127.0.0.1", &pki.ca_pem), settings).await,
        Client::connect(&format!("rediss://localhost:{}", server.port), settings).await,
    ];
    for refused in refusals {
        let err = refused
            .expect_err("the certificate does not verify")
            .to_string();
        assert!(err.contains("certificate"), "{err}");
        eprintln!("refused: {err}");
    }
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}
