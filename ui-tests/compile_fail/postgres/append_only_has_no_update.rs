// Rule: an append-only entity's store has no `update` (nor `delete`).
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "org_id", append_only)]
pub struct Event {
    #[tenant_store(id)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub body: String,
}

async fn f(tx: &mut tenant_store::postgres::TenantTx<'_>, id: Uuid) {
    let _ = Event::store().update(tx, id, EventPatch::default()).await;
}

fn main() {}
