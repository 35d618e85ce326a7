// Rule: `drop_column` names a column of an older version, not a field the entity still has
// (the migration would drop the data of a field in use).
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "org_id", drop_column = "notes")]
pub struct Gadget {
    #[tenant_store(id)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub notes: String,
}

fn main() {}
