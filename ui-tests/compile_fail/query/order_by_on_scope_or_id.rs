// Rule: `order_by` is not for the scope field (one tenant per listing) nor the id (always
// available).
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "org_id")]
pub struct Ticket {
    #[tenant_store(id, order_by)]
    pub id: Uuid,
    #[tenant_store(order_by)]
    pub org_id: Uuid,
}

fn main() {}
