// An entity using every attribute key the postgres backend accepts.
use chrono::{DateTime, Utc};
use tenant_store::postgres::{PgColumn, PgEntity};
use tenant_store::tenant_store;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Default, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum State {
    #[default]
    Live,
    Gone,
}

impl PgColumn for State {
    const SQL_TYPE: &'static str = "text";
}

#[tenant_store(backend = "postgres", scope = "user_id", table = "full_items", schema = "app", new_derive(Default, Debug, Clone))]
#[derive(Debug)]
pub struct Item {
    #[tenant_store(id)]
    pub id: Uuid,
    pub user_id: Uuid,
    #[tenant_store(filter)]
    pub kind: String,
    pub note: Option<String>,
    pub meta: serde_json::Value,
    #[tenant_store(filter, soft_delete = State::Gone)]
    pub state: State,
    #[tenant_store(version)]
    pub version: i32,
    #[tenant_store(created_at)]
    pub created_at: DateTime<Utc>,
    #[tenant_store(updated_at)]
    pub updated_at: DateTime<Utc>,
}

fn main() {
    assert_eq!(Item::TABLE, "full_items");
    let sql = Item::migration_sql();
    assert!(sql.contains("\"note\" text,"));
    let _ = ItemFilter::new().kind("k").state(State::Live);
    let _ = NewItem::default().clone();
    let _ = ItemPatch { note: Some(None), ..Default::default() };
}
