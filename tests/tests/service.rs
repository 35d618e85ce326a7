//! The example HTTP service through a real HTTP client: a verified bearer token is the
//! principal, two tenants stay apart through the API, and every bad token is a 401 before any
//! handler runs.

use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::{Value, json};
use tenant_store::axum::JwtAuth;
use tenant_store_examples::service::{AppState, MemoryView, router};
use tenant_store_tests::{db, tenant};
use uuid::Uuid;

const SECRET: &[u8] = b"a test secret of at least thirty-two bytes";
const ISSUER: &str = "https://auth.tests.invalid";
const AUDIENCE: &str = "memories";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A token for `claims`, signed with `secret`.
fn token(claims: &Value, secret: &[u8]) -> String {
    encode(
        &Header::default(),
        claims,
        &EncodingKey::from_secret(secret).unwrap(),
    )
    .unwrap()
}

/// `claims` with `"alg": "none"` and no signature: the attack on verifiers that trust the
/// token's own algorithm.
fn unsigned(claims: &Value) -> String {
    use base64::Engine as _;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.",
        b64(&json!({ "alg": "none", "typ": "JWT" })),
        b64(claims)
    )
}

/// Good claims for `who`, which a test can then spoil.
fn claims(who: &tenant_store::Principal) -> Value {
    json!({
        "sub": who.user_id().to_string(),
        "org_id": who.org_id().to_string(),
        "iss": ISSUER,
        "aud": AUDIENCE,
        "exp": now() + 600,
    })
}

/// Serves the example on a free port; returns its base URL.
async fn serve(auth: JwtAuth) -> String {
    let state = AppState {
        db: db().await,
        auth,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router(state)).await.unwrap() });
    format!("http://{addr}")
}

fn auth() -> JwtAuth {
    JwtAuth::hs256(SECRET)
        .unwrap()
        .issuer(ISSUER)
        .audience(AUDIENCE)
}

#[tokio::test]
async fn two_tenants_through_the_api_see_only_their_own() {
    let base = serve(auth()).await;
    let http = reqwest::Client::new();
    let (a, b) = (tenant(), tenant());
    let (ta, tb) = (token(&claims(&a), SECRET), token(&claims(&b), SECRET));
    let mut created = Vec::new();
    for (t, content) in [(&ta, "a's"), (&tb, "b's")] {
        let r = http
            .post(format!("{base}/memories"))
            .bearer_auth(t)
            .json(&json!({ "app_id": Uuid::new_v4(), "content": content }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        created.push(r.json::<MemoryView>().await.unwrap());
    }
    for (t, mine, theirs) in [
        (&ta, &created[0], &created[1]),
        (&tb, &created[1], &created[0]),
    ] {
        let listed: Vec<MemoryView> = http
            .get(format!("{base}/memories"))
            .bearer_auth(t)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(listed, std::slice::from_ref(mine));
        let own = http
            .get(format!("{base}/memories/{}", mine.id))
            .bearer_auth(t)
            .send()
            .await
            .unwrap();
        assert_eq!(own.status(), 200);
        let other = http
            .get(format!("{base}/memories/{}", theirs.id))
            .bearer_auth(t)
            .send()
            .await
            .unwrap();
        assert_eq!(other.status(), 404, "another tenant's memory looks absent");
    }
}

#[tokio::test]
async fn every_bad_token_is_a_401_before_the_handler() {
    let base = serve(auth()).await;
    let http = reqwest::Client::new();
    let who = tenant();
    let spoiled = |f: &dyn Fn(&mut Value)| {
        let mut c = claims(&who);
        f(&mut c);
        token(&c, SECRET)
    };
    let cases: Vec<(&str, Option<String>)> = vec![
        ("no token", None),
        (
            "expired",
            Some(spoiled(&|c| c["exp"] = json!(now() - 3600))),
        ),
        (
            "wrong issuer",
            Some(spoiled(&|c| c["iss"] = json!("https://evil.invalid"))),
        ),
        (
            "wrong audience",
            Some(spoiled(&|c| c["aud"] = json!("another-api"))),
        ),
        (
            "wrong signature",
            Some(token(
                &claims(&who),
                b"another secret, also thirty-two bytes long",
            )),
        ),
        (
            "missing org claim",
            Some(spoiled(&|c| {
                c.as_object_mut().unwrap().remove("org_id");
            })),
        ),
        (
            "org claim not a UUID",
            Some(spoiled(&|c| c["org_id"] = json!("acme"))),
        ),
        ("not a JWT", Some("not.a.jwt".to_owned())),
        ("unsigned (alg none)", Some(unsigned(&claims(&who)))),
    ];
    for (case, t) in cases {
        let mut request = http.get(format!("{base}/memories"));
        if let Some(t) = t {
            request = request.bearer_auth(t);
        }
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), 401, "{case}");
        assert_eq!(
            r.headers()["www-authenticate"],
            "Bearer error=\"invalid_token\"",
            "{case}"
        );
        let body: Value = r.json().await.unwrap();
        eprintln!("{case}: {}", body["reason"]);
    }
    // The same request with a good token is served.
    let ok = http
        .get(format!("{base}/memories"))
        .bearer_auth(token(&claims(&who), SECRET))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn user_only_and_org_only_tokens() {
    let who = tenant();
    // A user without an organisation: the personal organisation is the user's id.
    let personal = auth().org_is_user();
    let mut c = claims(&who);
    c.as_object_mut().unwrap().remove("org_id");
    let p = personal.verify(&token(&c, SECRET)).unwrap();
    assert_eq!((p.user_id(), p.org_id()), (who.user_id(), who.user_id()));
    // An organisation acting as itself, from a claim of another name.
    let org_only = auth().org_claim("tenant").user_is_org();
    let c = json!({ "tenant": who.org_id().to_string(), "iss": ISSUER, "aud": AUDIENCE, "exp": now() + 60 });
    let p = org_only.verify(&token(&c, SECRET)).unwrap();
    assert_eq!((p.user_id(), p.org_id()), (who.org_id(), who.org_id()));
    // A secret too short to be safe is refused when configured.
    assert!(JwtAuth::hs256(b"short").is_err());
}
