//! Web integration (feature `axum`): a verified JWT becomes the [`Principal`] a handler works
//! for.
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use tenant_store::axum::{Authenticated, JwtAuth};
//!
//! async fn whoami(Authenticated(principal): Authenticated) -> String {
//!     format!("org {}", principal.org_id())
//! }
//!
//! # fn secret() -> Vec<u8> { Vec::new() }
//! let auth = JwtAuth::hs256(&secret())
//!     .unwrap()
//!     .issuer("https://auth.example.com")
//!     .audience("notes-api");
//! // `JwtAuth` is the router's state here; with a state of your own, implement
//! // `FromRef<YourState> for JwtAuth`.
//! let app: Router = Router::new().route("/whoami", get(whoami)).with_state(auth);
//! ```
//!
//! The token comes from `Authorization: Bearer <token>`. It is verified with the configured key
//! and algorithms (never the algorithm the token names alone), its expiry, issuer and audience
//! are checked, and the principal's ids come from its claims: the user from `sub` and the
//! organisation from `org_id` by default, both configurable. A token for a user without an
//! organisation (a personal workspace) can take the user's id as its organisation
//! ([`JwtAuth::org_is_user`]); a token for an organisation acting as itself, the reverse
//! ([`JwtAuth::user_is_org`]). Anything missing, expired or badly signed is answered with
//! `401 Unauthorized` and a `WWW-Authenticate: Bearer error="invalid_token"` header; the
//! handler never runs.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::{HeaderValue, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use uuid::Uuid;

use crate::Principal;

/// The JWT library this crate verifies with: [`DecodingKey`] and [`Algorithm`] for
/// [`JwtAuth::new`].
pub use jsonwebtoken;

/// Where an id of the principal comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    Claim(String),
    /// The other id (a personal organisation, or an organisation acting as itself).
    Other,
}

/// How bearer tokens are verified and read. Cheap to clone; use it as (part of) the router's
/// state.
#[derive(Clone)]
pub struct JwtAuth {
    key: DecodingKey,
    validation: Validation,
    user: Source,
    org: Source,
}

impl std::fmt::Debug for JwtAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtAuth")
            .field("algorithms", &self.validation.algorithms)
            .field("issuer", &self.validation.iss)
            .field("audience", &self.validation.aud)
            .field("user", &self.user)
            .field("org", &self.org)
            .finish_non_exhaustive()
    }
}

/// Why a configuration or a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AuthError(String);

impl JwtAuth {
    /// Tokens signed with `key` by `algorithm` (and no other); expiry required and checked
    /// (with 30 seconds of leeway for clock skew).
    pub fn new(key: DecodingKey, algorithm: Algorithm) -> Self {
        let mut validation = Validation::new(algorithm);
        validation.leeway = 30;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            key,
            validation,
            user: Source::Claim("sub".into()),
            org: Source::Claim("org_id".into()),
        }
    }

    /// HMAC-SHA256 tokens with a shared secret (at least 32 bytes).
    pub fn hs256(secret: &[u8]) -> Result<Self, AuthError> {
        if secret.len() < 32 {
            return Err(AuthError("an HS256 secret needs at least 32 bytes".into()));
        }
        let key = DecodingKey::from_secret(secret).map_err(|e| AuthError(e.to_string()))?;
        Ok(Self::new(key, Algorithm::HS256))
    }

    /// RS256 tokens, checked with the issuer's public key (PEM).
    pub fn rs256_pem(public_key: &[u8]) -> Result<Self, AuthError> {
        let key = DecodingKey::from_rsa_pem(public_key).map_err(|e| AuthError(e.to_string()))?;
        Ok(Self::new(key, Algorithm::RS256))
    }

    /// Only tokens whose `iss` is `issuer`.
    pub fn issuer(mut self, issuer: &str) -> Self {
        self.validation.set_issuer(&[issuer]);
        self.require("iss")
    }

    /// Only tokens whose `aud` names `audience`.
    pub fn audience(mut self, audience: &str) -> Self {
        self.validation.set_audience(&[audience]);
        self.require("aud")
    }

    /// The claim holding the user's id (`sub` by default); a UUID string.
    pub fn user_claim(mut self, claim: &str) -> Self {
        self.user = Source::Claim(claim.to_owned());
        self.refresh_required()
    }

    /// The claim holding the organisation's id (`org_id` by default); a UUID string.
    pub fn org_claim(mut self, claim: &str) -> Self {
        self.org = Source::Claim(claim.to_owned());
        self.refresh_required()
    }

    /// User-only tokens: the organisation is the user's personal one (the same id).
    pub fn org_is_user(mut self) -> Self {
        self.org = Source::Other;
        self.refresh_required()
    }

    /// Organisation-only tokens: the organisation acts as its own user (the same id).
    pub fn user_is_org(mut self) -> Self {
        self.user = Source::Other;
        self.refresh_required()
    }

    fn require(mut self, claim: &str) -> Self {
        self.validation
            .required_spec_claims
            .insert(claim.to_owned());
        self
    }

    /// `sub` is required by the library only when the user comes from it.
    fn refresh_required(mut self) -> Self {
        let sub = matches!(&self.user, Source::Claim(c) if c == "sub");
        if !sub {
            self.validation.required_spec_claims.remove("sub");
        }
        self
    }

    /// Verifies `token` and reads the principal from its claims.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let data = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
            token,
            &self.key,
            &self.validation,
        )
        .map_err(|e| AuthError(format!("invalid token: {e}")))?;
        let claims = data.claims;
        let id = |source: &Source| -> Result<Option<Uuid>, AuthError> {
            let Source::Claim(name) = source else {
                return Ok(None);
            };
            let value = claims
                .get(name)
                .and_then(serde_json::Value::as_str)
                .ok_or_else(|| AuthError(format!("the token has no `{name}` claim")))?;
            Uuid::parse_str(value)
                .map(Some)
                .map_err(|_| AuthError(format!("the `{name}` claim is not a UUID")))
        };
        let (user, org) = match (id(&self.user)?, id(&self.org)?) {
            (Some(u), Some(o)) => (u, o),
            (Some(u), None) => (u, u),
            (None, Some(o)) => (o, o),
            (None, None) => return Err(AuthError("neither id comes from a claim".into())),
        };
        let principal = Principal::new(user, org).map_err(|e| AuthError(e.to_string()))?;
        Ok(
            match claims.get("sid").and_then(serde_json::Value::as_str) {
                Some(session) => principal.with_session(session),
                None => principal,
            },
        )
    }
}

/// The principal of the request's verified bearer token. Needs [`JwtAuth`] from the router's
/// state (`FromRef`).
#[derive(Debug, Clone)]
pub struct Authenticated(pub Principal);

/// The `401 Unauthorized` answer to a request without a valid token.
#[derive(Debug)]
pub struct Unauthorized(AuthError);

impl IntoResponse for Unauthorized {
    fn into_response(self) -> Response {
        let mut response = (
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::json!({ "error": "unauthorized", "reason": self.0.to_string() })
                .to_string(),
        )
            .into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
        response
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Authenticated
where
    JwtAuth: FromRef<S>,
{
    type Rejection = Unauthorized;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| Unauthorized(AuthError("no bearer token".into())))?;
        JwtAuth::from_ref(state)
            .verify(token.trim())
            .map(Authenticated)
            .map_err(Unauthorized)
    }
}
