// Rule: `order_by` needs a field that is never null (a keyset cannot page through nulls).
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "org_id")]
pub struct Ticket {
    #[tenant_store(id)]
    pub id: Uuid,
    pub org_id: Uuid,
    #[tenant_store(order_by)]
    pub due: Option<chrono::NaiveDate>,
}

fn main() {}
