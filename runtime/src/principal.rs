//! Who is calling: the authenticated principal every tenant context is made from.

use uuid::Uuid;

/// Which principal attribute partitions an entity (`scope = "user_id"` or `scope = "org_id"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Each user sees only their own rows.
    UserId,
    /// Everyone in an organisation shares its rows.
    OrgId,
}

impl Scope {
    /// The attribute's name, as written in `scope = "..."` and used as the column name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::UserId => "user_id",
            Scope::OrgId => "org_id",
        }
    }

    /// Of a (user id, org id) pair, the one this scope partitions by.
    pub(crate) const fn pick(self, user_id: Uuid, org_id: Uuid) -> Uuid {
        match self {
            Scope::UserId => user_id,
            Scope::OrgId => org_id,
        }
    }
}

/// An authenticated caller. There is no default tenant: both ids are always present.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    user_id: Uuid,
    org_id: Uuid,
    session_id: Option<String>,
}

/// Why claims could not become a [`Principal`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PrincipalError {
    /// The claims are not a JSON object.
    #[error("claims must be a JSON object")]
    NotAnObject,
    /// A required claim is absent or null.
    #[error("claim `{0}` is missing; there is no default tenant")]
    Missing(&'static str),
    /// A claim is present but not usable.
    #[error("claim `{claim}` is invalid: {reason}")]
    Invalid {
        /// The claim's name.
        claim: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl Principal {
    /// A principal from already-verified ids. Nil UUIDs are rejected: they are nobody's tenant.
    pub fn new(user_id: Uuid, org_id: Uuid) -> Result<Self, PrincipalError> {
        for (claim, id) in [("user_id", user_id), ("org_id", org_id)] {
            if id.is_nil() {
                return Err(PrincipalError::Invalid {
                    claim,
                    reason: "the nil UUID is not a tenant",
                });
            }
        }
        Ok(Self {
            user_id,
            org_id,
            session_id: None,
        })
    }

    /// Attaches the authentication session id (informational; not a tenant boundary).
    pub fn with_session(mut self, session_id: impl Into<String>) -> Self {
        self.session_id = Some(session_id.into());
        self
    }

    /// Builds a principal from token claims **the caller has already verified** (signature,
    /// expiry, issuer): nothing here checks them. `user_id` and `org_id` (UUID strings) are
    /// required, `session_id` is optional. A web service should take the principal from a
    /// verifier instead, such as `tenant_store::axum::Authenticated` (feature `axum`).
    pub fn from_unverified_claims(claims: &serde_json::Value) -> Result<Self, PrincipalError> {
        let map = claims.as_object().ok_or(PrincipalError::NotAnObject)?;
        let uuid_claim = |claim: &'static str| -> Result<Uuid, PrincipalError> {
            match map.get(claim) {
                None | Some(serde_json::Value::Null) => Err(PrincipalError::Missing(claim)),
                Some(serde_json::Value::String(s)) => {
                    Uuid::parse_str(s).map_err(|_| PrincipalError::Invalid {
                        claim,
                        reason: "not a UUID",
                    })
                }
                Some(_) => Err(PrincipalError::Invalid {
                    claim,
                    reason: "not a string",
                }),
            }
        };
        let principal = Self::new(uuid_claim("user_id")?, uuid_claim("org_id")?)?;
        match map.get("session_id") {
            None | Some(serde_json::Value::Null) => Ok(principal),
            Some(serde_json::Value::String(s)) => Ok(principal.with_session(s.clone())),
            Some(_) => Err(PrincipalError::Invalid {
                claim: "session_id",
                reason: "not a string",
            }),
        }
    }

    /// The user's id.
    pub fn user_id(&self) -> Uuid {
        self.user_id
    }

    /// The organisation's id.
    pub fn org_id(&self) -> Uuid {
        self.org_id
    }

    /// The authentication session id, when the claims carried one.
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }

    /// The id that partitions an entity of the given scope.
    pub fn tenant(&self, scope: Scope) -> Uuid {
        scope.pick(self.user_id, self.org_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const U: &str = "7d4a1f8e-2b1c-4c55-9a0e-1f2e3d4c5b6a";
    const O: &str = "0b9e3c2d-5a4f-4e1d-8c7b-6a5f4e3d2c1b";

    #[test]
    fn claims_with_both_ids_make_a_principal() {
        let p = Principal::from_unverified_claims(
            &json!({"user_id": U, "org_id": O, "session_id": "s1"}),
        )
        .unwrap();
        assert_eq!(p.user_id().to_string(), U);
        assert_eq!(p.org_id().to_string(), O);
        assert_eq!(p.session_id(), Some("s1"));
        assert_eq!(p.tenant(Scope::UserId), p.user_id());
        assert_eq!(p.tenant(Scope::OrgId), p.org_id());
    }

    #[test]
    fn claims_without_org_id_are_rejected() {
        assert_eq!(
            Principal::from_unverified_claims(&json!({"user_id": U})),
            Err(PrincipalError::Missing("org_id"))
        );
        assert_eq!(
            Principal::from_unverified_claims(&json!({"user_id": U, "org_id": null})),
            Err(PrincipalError::Missing("org_id"))
        );
    }

    #[test]
    fn claims_without_user_id_are_rejected() {
        assert_eq!(
            Principal::from_unverified_claims(&json!({"org_id": O})),
            Err(PrincipalError::Missing("user_id"))
        );
    }

    #[test]
    fn malformed_claims_are_rejected() {
        assert_eq!(
            Principal::from_unverified_claims(&json!([U, O])),
            Err(PrincipalError::NotAnObject)
        );
        assert!(matches!(
            Principal::from_unverified_claims(&json!({"user_id": "nope", "org_id": O})),
            Err(PrincipalError::Invalid {
                claim: "user_id",
                ..
            })
        ));
        assert!(matches!(
            Principal::from_unverified_claims(&json!({"user_id": U, "org_id": 7})),
            Err(PrincipalError::Invalid {
                claim: "org_id",
                ..
            })
        ));
        assert!(matches!(
            Principal::from_unverified_claims(
                &json!({"user_id": Uuid::nil().to_string(), "org_id": O})
            ),
            Err(PrincipalError::Invalid {
                claim: "user_id",
                ..
            })
        ));
    }
}
