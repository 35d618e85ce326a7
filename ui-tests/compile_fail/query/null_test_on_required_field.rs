// Rule: a null test needs an optional field.
use tenant_store::{Cond, Direction, tenant_store};
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "org_id")]
pub struct Ticket {
    #[tenant_store(id)]
    pub id: Uuid,
    pub org_id: Uuid,
    #[tenant_store(filter, order_by)]
    pub title: String,
    #[tenant_store(filter, order_by)]
    pub priority: i32,
    #[tenant_store(filter)]
    pub done: bool,
    #[tenant_store(filter)]
    pub due: Option<chrono::NaiveDate>,
}

fn main() {
    let _ = TicketFilter::new().title(Cond::is_null());
    let _ = Direction::Asc;
}
