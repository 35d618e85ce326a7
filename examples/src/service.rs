//! A small HTTP service over the memories store: every request is a verified bearer token's
//! principal, every query is that principal's tenant. `cargo run -p tenant-store-examples --bin
//! service` serves it (see the binary for its settings).
//!
//! - `POST /memories` with `{"app_id": ..., "content": ...}` creates a memory (201, the memory);
//! - `GET /memories` lists the caller's memories;
//! - `GET /memories/{id}` returns one, or 404, also when it is another tenant's.
//!
//! A request without a valid token is answered 401 before any handler runs
//! ([`tenant_store::axum::Authenticated`]).

use axum::extract::{FromRef, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tenant_store::Page;
use tenant_store::axum::{Authenticated, JwtAuth};
use tenant_store::postgres::Db;
use uuid::Uuid;

use crate::memory::{Memory, NewMemory};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The audited pool.
    pub db: Db,
    /// How bearer tokens are verified.
    pub auth: JwtAuth,
}

impl FromRef<AppState> for JwtAuth {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}

/// A memory as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MemoryView {
    /// Its id.
    pub id: Uuid,
    /// The application that wrote it.
    pub app_id: Uuid,
    /// What is remembered.
    pub content: String,
}

impl From<Memory> for MemoryView {
    fn from(m: Memory) -> Self {
        Self {
            id: m.id,
            app_id: m.app_id,
            content: m.content,
        }
    }
}

/// The body of `POST /memories`.
#[derive(Debug, Serialize, Deserialize)]
pub struct CreateMemory {
    /// The application writing it.
    pub app_id: Uuid,
    /// What to remember.
    pub content: String,
}

/// A store error as an HTTP answer: absence is 404, bad input 400, the rest 500/503.
pub struct ApiError(tenant_store::Error);

impl From<tenant_store::Error> for ApiError {
    fn from(e: tenant_store::Error) -> Self {
        Self(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        use tenant_store::Error;
        let status = match &self.0 {
            Error::NotFound => StatusCode::NOT_FOUND,
            Error::InvalidInput(_) | Error::Duplicate | Error::Conflict => StatusCode::BAD_REQUEST,
            Error::Unavailable(_) | Error::Timeout(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, self.0.to_string()).into_response()
    }
}

async fn create(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    Json(body): Json<CreateMemory>,
) -> Result<(StatusCode, Json<MemoryView>), ApiError> {
    let new = NewMemory {
        app_id: body.app_id,
        content: body.content,
        ..Default::default()
    };
    let memory = Memory::store()
        .create(&mut state.db.tenant(&principal), new)
        .await?;
    Ok((StatusCode::CREATED, Json(memory.into())))
}

async fn list(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
) -> Result<Json<Vec<MemoryView>>, ApiError> {
    let memories = Memory::store()
        .list(
            &mut state.db.tenant(&principal),
            Default::default(),
            Page::first(100),
        )
        .await?;
    Ok(Json(memories.into_iter().map(Into::into).collect()))
}

async fn get_one(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    Path(id): Path<Uuid>,
) -> Result<Json<MemoryView>, ApiError> {
    match Memory::store()
        .get(&mut state.db.tenant(&principal), id)
        .await?
    {
        Some(m) => Ok(Json(m.into())),
        None => Err(tenant_store::Error::NotFound.into()),
    }
}

/// The service's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/memories", get(list).post(create))
        .route("/memories/{id}", get(get_one))
        .with_state(state)
}
