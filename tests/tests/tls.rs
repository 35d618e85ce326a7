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
    cert_der: Vec<u8>,
    key_der: Vec<u8>,
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
    let cert = params.signed_by(&key, &issuer).unwrap();
    Pki {
        ca_pem,
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        cert_der: cert.der().to_vec(),
        key_der: key.serialize_der(),
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
    panic!(
        "PostgreSQL did not accept TLS after the reload; see its server.log beside its data directory (`scripts/services.sh` names it)"
    );
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
    // A wrong password: refused as credentials, not as an outage.
    let (user, rest) = app.split_once("://").unwrap().1.split_once('@').unwrap();
    let name = user.split(':').next().unwrap();
    let wrong = format!("postgres://{name}:not-the-password@{rest}");
    match Db::connect_with(&wrong, key(), DbOptions::default()).await {
        Err(tenant_store::Error::Credentials(m)) => eprintln!("refused: {m}"),
        other => panic!("expected the credentials to be refused, got {other:?}"),
    }
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
        turn: 0,
        tool: None,
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

/// A TLS front for a test server that speaks no TLS (the OpenSearch emulator, ArcadeDB's Bolt):
/// it terminates TLS with `pki`'s certificate and forwards the bytes to `target`. With `user`
/// (HTTP), it answers 401 to a connection whose first request lacks
/// `Authorization: Basic <user:password>`.
async fn tls_front(pki: &Pki, target: String, user: Option<&'static str>) -> u16 {
    tls_front_with(pki, target, user, Vec::new()).await
}

/// [`tls_front`] offering these ALPN protocols (`h2` for gRPC).
async fn tls_front_with(
    pki: &Pki,
    target: String,
    user: Option<&'static str>,
    alpn: Vec<Vec<u8>>,
) -> u16 {
    use base64::Engine as _;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![pki.cert_der.clone().into()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(pki.key_der.clone().into()),
    )
    .unwrap();
    let mut config = config;
    config.alpn_protocols = alpn;
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let expected = user.map(|u| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(u)
        )
    });
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, target, expected) = (acceptor.clone(), target.clone(), expected.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return; // the client refused our certificate
                };
                let mut upstream = tokio::net::TcpStream::connect(&target).await.unwrap();
                let Some(expected) = expected else {
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
                    return;
                };
                let mut first = vec![0u8; 16 * 1024];
                let n = tls.read(&mut first).await.unwrap_or(0);
                // The header's name is case-insensitive; the credentials are not.
                let head = String::from_utf8_lossy(&first[..n]).into_owned();
                let authorized = head.lines().any(|line| {
                    line.split_once(':').is_some_and(|(name, value)| {
                        name.eq_ignore_ascii_case("authorization") && value.trim() == expected
                    })
                });
                if !authorized {
                    let body = r#"{"error":{"type":"security_exception","reason":"missing or wrong credentials"},"status":401}"#;
                    let answer = format!(
                        "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = tls.write_all(answer.as_bytes()).await;
                    let _ = tls.shutdown().await;
                    return;
                }
                upstream.write_all(&first[..n]).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
            });
        }
    });
    port
}

#[tokio::test]
async fn opensearch_over_tls_with_basic_auth() {
    use tenant_store::Error;
    use tenant_store::opensearch::{Client, OpenSearchConfig};
    use tenant_store_examples::search::{NewSearchDoc, SearchDoc};
    let pki = pki();
    let emulator = tenant_store_tests::opensearch_url();
    let target = emulator.trim_start_matches("http://").to_owned();
    let port = tls_front(&pki, target, Some("reader:s3cret")).await;
    let config = |host: &str, user: Option<(&str, &str)>, ca: &str| OpenSearchConfig {
        url: format!("https://{host}:{port}"),
        username: user.map(|u| u.0.to_owned()),
        password: user.map(|u| u.1.to_owned()),
        ca_pem: Some(ca.as_bytes().to_vec()),
    };
    let settings = tenant_store::Resilience::default();

    // The right authority, name and credentials: a working store, each tenant apart.
    let client = Client::connect_with(
        &config("localhost", Some(("reader", "s3cret")), &pki.ca_pem),
        settings,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    SearchDoc::store().ensure_index(&client).await.unwrap();
    let (a, b) = (tenant(), tenant());
    for who in [&a, &b] {
        SearchDoc::store()
            .create_tenant_alias(&client.scoped(who))
            .await
            .unwrap();
    }
    let new = NewSearchDoc {
        id: Some("tls-1".into()),
        title: "over TLS".into(),
        body: "with basic auth".into(),
        tags: Vec::new(),
        published_at: chrono::Utc::now(),
        views: 0,
        author: None,
    };
    SearchDoc::store()
        .create(&client.scoped(&a), new)
        .await
        .unwrap();
    let id = "tls-1".to_owned();
    assert!(
        SearchDoc::store()
            .get(&client.scoped(&a), &id)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        SearchDoc::store()
            .get(&client.scoped(&b), &id)
            .await
            .unwrap()
            .is_none()
    );
    // Credentials in the URL work the same.
    let in_url = OpenSearchConfig {
        url: format!("https://reader:s3cret@localhost:{port}"),
        ..config("localhost", None, &pki.ca_pem)
    };
    Client::connect_with(&in_url, settings).await.unwrap();
    assert!(!format!("{in_url:?}").contains("s3cret"), "{in_url:?}");

    // Wrong credentials: refused as such.
    match Client::connect_with(
        &config("localhost", Some(("reader", "nope")), &pki.ca_pem),
        settings,
    )
    .await
    {
        Err(Error::Credentials(m)) => assert!(m.contains("credentials"), "{m}"),
        other => panic!("expected the credentials to be refused, got {other:?}"),
    }
    // Another authority, or a name the certificate does not carry: no connection.
    let (other_ca, _) = authority();
    for (host, ca) in [
        ("localhost", other_ca.as_str()),
        ("127.0.0.1", pki.ca_pem.as_str()),
    ] {
        let err = Client::connect_with(&config(host, Some(("reader", "s3cret")), ca), settings)
            .await
            .expect_err("the certificate does not verify");
        assert!(matches!(err, Error::Unavailable(_)), "{err}");
        assert!(err.to_string().contains("certificate"), "{err}");
        eprintln!("refused ({host}): {err}");
    }
    for who in [&a, &b] {
        SearchDoc::store()
            .delete_tenant(&client.scoped(who))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn neo4j_over_tls_checks_the_authority_and_the_password() {
    use tenant_store::Error;
    use tenant_store::neo4j::{Client, Neo4jConfig};
    use tenant_store_examples::code_graph::{NewSymbol, Symbol};
    let pki = pki();
    let dir = scratch();
    let ca = PathBuf::from(write(&dir, "ca.pem", &pki.ca_pem));
    let (other_ca, _) = authority();
    let other = PathBuf::from(write(&dir, "other-ca.pem", &other_ca));
    let plain = tenant_store_tests::neo4j_config();
    let target = plain.uri.trim_start_matches("bolt://").to_owned();
    let port = tls_front(&pki, target, None).await;
    let config = |host: &str, ca: &PathBuf| Neo4jConfig {
        uri: format!("bolt+s://{host}:{port}"),
        ca_file: Some(ca.clone()),
        ..plain.clone()
    };
    let settings = tenant_store::Resilience {
        timeout: std::time::Duration::from_secs(5),
        ..tenant_store::Resilience::default()
    };

    let g = Client::connect(&config("localhost", &ca), settings)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (a, b) = (tenant(), tenant());
    let id = "tls-symbol".to_owned();
    Symbol::store()
        .create(
            &g.scoped(&a),
            NewSymbol {
                id: Some(id.clone()),
                name: "over_tls".into(),
                kind: "fn".into(),
                file: "src/lib.rs".into(),
                line: 1,
                summary: None,
            },
        )
        .await
        .unwrap();
    assert!(
        Symbol::store()
            .get(&g.scoped(&a), &id)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        Symbol::store()
            .get(&g.scoped(&b), &id)
            .await
            .unwrap()
            .is_none()
    );
    Symbol::store().delete_tenant(&g.scoped(&a)).await.unwrap();

    for (host, root) in [("localhost", &other), ("127.0.0.1", &ca)] {
        let err = Client::connect(&config(host, root), settings)
            .await
            .expect_err("the certificate does not verify")
            .to_string();
        eprintln!("refused ({host}): {err}");
        assert!(err.to_lowercase().contains("certificate"), "{err}");
    }
    // A wrong password, straight to the server: refused as credentials.
    let wrong = Neo4jConfig {
        password: "not-the-password".into(),
        ..plain.clone()
    };
    match Client::connect(&wrong, settings).await {
        Err(Error::Credentials(m)) => eprintln!("refused: {m}"),
        other => panic!("expected the credentials to be refused, got {other:?}"),
    }
    assert!(!format!("{plain:?}").contains(&plain.password));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// qdrant-client trusts the platform's authorities only (rustls-native-certs), which read
/// `SSL_CERT_FILE` when it is set: the test runs itself again in a child process with the
/// authority there, as an operator would install a private CA.
#[test]
fn qdrant_over_tls_checks_the_authority_and_the_host_name() {
    const CHILD: &str = "TENANT_STORE_TEST_QDRANT_TLS_CHILD";
    if let Ok(case) = std::env::var(CHILD) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        return rt.block_on(qdrant_tls_case(&case));
    }
    let pki = pki();
    let dir = scratch();
    let ca = write(&dir, "ca.pem", &pki.ca_pem);
    let (other_ca, _) = authority();
    let other = write(&dir, "other-ca.pem", &other_ca);
    write(&dir, "cert.der.hex", &hex(&pki.cert_der));
    write(&dir, "key.der.hex", &hex(&pki.key_der));
    for (case, trusted) in [("works", &ca), ("other-ca", &other), ("other-name", &ca)] {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "qdrant_over_tls_checks_the_authority_and_the_host_name",
                "--nocapture",
            ])
            .env(CHILD, format!("{case}:{}", dir.display()))
            .env("SSL_CERT_FILE", trusted)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "case {case}:\n{text}");
        for line in text.lines().filter(|l| l.starts_with("refused")) {
            eprintln!("{line}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// One case, in the child: `works` (right CA and name), `other-ca`, `other-name`.
async fn qdrant_tls_case(arg: &str) {
    use tenant_store::qdrant::{Client, QdrantConfig};
    use tenant_store_examples::embedding::{Embedding, NewEmbedding, unit_vector};
    let (case, dir) = arg.split_once(':').unwrap();
    let dir = Path::new(dir);
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let pki = Pki {
        ca_pem: read("ca.pem"),
        cert_pem: String::new(),
        key_pem: String::new(),
        cert_der: unhex(&read("cert.der.hex")),
        key_der: unhex(&read("key.der.hex")),
    };
    let target = tenant_store_tests::qdrant_url()
        .trim_start_matches("http://")
        .to_owned();
    let port = tls_front_with(&pki, target, None, vec![b"h2".to_vec()]).await;
    let host = if case == "other-name" {
        "127.0.0.1"
    } else {
        "localhost"
    };
    let config = QdrantConfig::new(&format!("https://{host}:{port}"));
    let settings = tenant_store::Resilience {
        timeout: std::time::Duration::from_secs(5),
        ..tenant_store::Resilience::default()
    };
    let connected = Client::connect_with(&config, settings).await;
    if case != "works" {
        let err = connected
            .expect_err("the certificate does not verify")
            .to_string();
        eprintln!("refused ({case}): {err}");
        assert!(err.contains("InvalidCertificate"), "{err}");
        return;
    }
    let client = connected.unwrap_or_else(|e| panic!("{e}"));
    Embedding::store().ensure_collection(&client).await.unwrap();
    let (a, b) = (tenant(), tenant());
    let new = NewEmbedding {
        id: None,
        source: "tls".into(),
        text: "over TLS".into(),
        offset: 0,
        lang: None,
    };
    let e = Embedding::store()
        .upsert(&client.scoped(&a), new, &unit_vector(3))
        .await
        .unwrap();
    assert!(
        Embedding::store()
            .get(&client.scoped(&a), &e.id)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        Embedding::store()
            .get(&client.scoped(&b), &e.id)
            .await
            .unwrap()
            .is_none()
    );
    Embedding::store()
        .delete_tenant(&client.scoped(&a))
        .await
        .unwrap();
}
