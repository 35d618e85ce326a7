// Rule: a `unique` key names fields of the struct, spanned at the bad name.
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "org_id", unique(email, phone))]
pub struct Contact {
    #[tenant_store(id)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub email: String,
}

fn main() {}
