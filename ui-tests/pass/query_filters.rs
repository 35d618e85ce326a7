// Every filter kind on the field types that take it, and ordering by each order_by field.
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
    #[tenant_store(filter)]
    pub note: Option<String>,
    #[tenant_store(filter)]
    pub estimate: Option<f64>,
    #[tenant_store(filter)]
    pub owner: Uuid,
    #[tenant_store(created_at, filter, order_by)]
    pub created_at: chrono::DateTime<chrono::Utc>,
}

fn main() {
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
    let _ = TicketFilter::new()
        .title("exact")
        .title(Cond::starts_with("pre"))
        .title(Cond::is_in(["a".to_owned(), "b".to_owned()]))
        .title(Cond::range("a".to_owned().."m".to_owned()))
        .priority(3)
        .priority(Cond::range(1..=5))
        .priority(Cond::gt(0))
        .done(true)
        .done(Cond::is_in([true]))
        .due(Cond::is_null())
        .due(Cond::range(day..))
        .due(Some(day))
        .note(Cond::is_not_null())
        .note(Cond::starts_with("n"))
        .estimate(Cond::le(2.5))
        .owner(Uuid::nil())
        .owner(Cond::is_in(vec![Uuid::nil()]))
        .created_at(Cond::lt(chrono::Utc::now()))
        .order_by(TicketOrder::Priority, Direction::Desc);
    for field in [TicketOrder::Id, TicketOrder::Title, TicketOrder::Priority, TicketOrder::CreatedAt] {
        let _ = TicketFilter::new().order_by(field, Direction::Asc);
    }
}
