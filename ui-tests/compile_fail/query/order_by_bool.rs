// Rule: `order_by` needs an ordered field type.
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "org_id")]
pub struct Ticket {
    #[tenant_store(id)]
    pub id: Uuid,
    pub org_id: Uuid,
    #[tenant_store(order_by)]
    pub done: bool,
}

fn main() {}
