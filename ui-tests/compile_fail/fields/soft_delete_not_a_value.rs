// Rule: the soft-delete value is an expression of the field's type.
use tenant_store::tenant_store;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, sqlx::Type)]
#[sqlx(type_name = "text")]
pub enum State {
    Live,
    Gone,
}
impl tenant_store::postgres::PgColumn for State {
    const SQL_TYPE: &'static str = "text";
}

#[tenant_store(backend = "postgres", scope = "user_id")]
pub struct Entity {
    #[tenant_store(id)]
    pub id: Uuid,
    pub user_id: Uuid,
    #[tenant_store(soft_delete = "gone")]
    pub state: State,
}

fn main() {}
