//! The one error enum every store of every backend returns.

/// What went wrong in a store call. The same fault gives the same variant on every backend.
///
/// Cross-tenant access is deliberately indistinguishable from absence: an id that belongs to
/// another tenant yields [`Error::NotFound`] (or `None` from a get), never a "forbidden".
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The entity does not exist in the caller's tenant (or exists only in another tenant).
    #[error("not found")]
    NotFound,
    /// Optimistic locking failed: the entity changed since the caller read the given version.
    #[error("conflict: the entity was changed by someone else since this version was read")]
    Conflict,
    /// A unique key already holds an entity in this tenant.
    #[error("duplicate: an entity with this key already exists")]
    Duplicate,
    /// The entity cannot be deleted: rows of the same tenant still reference it through a
    /// reference declared `on_delete = "restrict"` (PostgreSQL). Delete or re-point those first.
    #[error("still referenced: {0}")]
    Referenced(String),
    /// The request was rejected before or by the backend because of its content.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The backend refused the credentials (password, API key, certificate identity).
    #[error("credentials refused: {0}")]
    Credentials(String),
    /// The backend could not be reached, or the connection broke.
    #[error("backend unavailable: {0}")]
    Unavailable(String),
    /// The backend did not answer within the configured time. The message names the backend
    /// and its address, and what timed out.
    #[error("backend timed out: {0}")]
    Timeout(String),
    /// Start-up audit refused the connection: it could bypass tenant isolation.
    #[error("refusing to run: {0}")]
    Audit(String),
    /// Any other backend failure, with its cause.
    #[error("backend error: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl Error {
    /// This error naming `endpoint` (the backend and its address, `neo4j at bolt://...`) when it
    /// is a timeout or an unreachable server, and does not name it already; other errors (the
    /// server answered) as they are.
    pub(crate) fn at(self, endpoint: &str) -> Self {
        match self {
            Error::Timeout(m) if !m.starts_with(endpoint) => {
                Error::Timeout(format!("{endpoint}: {m}"))
            }
            Error::Unavailable(m) if !m.starts_with(endpoint) => {
                Error::Unavailable(format!("{endpoint}: {m}"))
            }
            other => other,
        }
    }
}

/// `Result` with the store [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(feature = "postgres")]
impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        use sqlx::error::ErrorKind;
        match err {
            sqlx::Error::RowNotFound => Error::NotFound,
            sqlx::Error::PoolTimedOut => {
                Error::Timeout("postgresql: no connection came free in time".into())
            }
            sqlx::Error::Io(e) => Error::Unavailable(e.to_string()),
            sqlx::Error::Tls(e) => Error::Unavailable(format!("TLS handshake failed: {e}")),
            sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => {
                Error::Unavailable(err.to_string())
            }
            sqlx::Error::Database(db) => {
                let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
                match (db.kind(), code.as_str()) {
                    (ErrorKind::UniqueViolation, _) => Error::Duplicate,
                    (ErrorKind::CheckViolation | ErrorKind::NotNullViolation, _) => {
                        Error::InvalidInput(db.message().to_owned())
                    }
                    (ErrorKind::ForeignKeyViolation, _) => Error::NotFound,
                    // 22xxx: data exceptions (bad value for the column's type, overflow, ...).
                    (_, c) if c.starts_with("22") => Error::InvalidInput(db.message().to_owned()),
                    // serialization_failure, deadlock_detected
                    (_, "40001" | "40P01") => Error::Conflict,
                    // query_canceled (statement_timeout)
                    (_, "57014") => Error::Timeout(format!("postgresql: {}", db.message())),
                    // invalid_authorization_specification, invalid_password
                    (_, "28000" | "28P01") => Error::Credentials(db.message().to_owned()),
                    // A genuine tenant context on another backend: see `current_tenant`.
                    (_, crate::postgres::migrate::WRONG_BACKEND) => Error::Audit(
                        match db
                            .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                            .and_then(|pg| pg.hint())
                        {
                            Some(hint) => format!("{}; {hint}", db.message()),
                            None => db.message().to_owned(),
                        },
                    ),
                    // admin_shutdown, crash_shutdown, cannot_connect_now
                    (_, "57P01" | "57P02" | "57P03") => Error::Unavailable(db.message().to_owned()),
                    _ => Error::Backend(Box::new(sqlx::Error::Database(db))),
                }
            }
            other => Error::Backend(Box::new(other)),
        }
    }
}
