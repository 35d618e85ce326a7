// Rule: `default` is one SQL expression, spliced into the migrations: no `;`, no comments.
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "org_id")]
pub struct Gadget {
    #[tenant_store(id)]
    pub id: Uuid,
    pub org_id: Uuid,
    #[tenant_store(default = "0; DROP TABLE gadgets")]
    pub count: i32,
    #[tenant_store(renamed_from = "old name")]
    pub label: String,
}

fn main() {}
