// Rule: a filter orders by its own entity's fields only.
use tenant_store::{Direction, tenant_store};
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "org_id")]
pub struct Ticket {
    #[tenant_store(id)]
    pub id: Uuid,
    pub org_id: Uuid,
    #[tenant_store(order_by)]
    pub priority: i32,
}

#[tenant_store(backend = "postgres", scope = "org_id")]
pub struct Note {
    #[tenant_store(id)]
    pub id: Uuid,
    pub org_id: Uuid,
    #[tenant_store(order_by)]
    pub priority: i32,
}

fn main() {
    let _ = NoteFilter::new().order_by(TicketOrder::Priority, Direction::Desc);
}
