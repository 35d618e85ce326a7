// Rule: `default` applies to fields the caller sets; the id, scope, version and timestamps are
// filled by tenant-store.
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "org_id")]
pub struct Gadget {
    #[tenant_store(id, default = "gen_random_uuid()")]
    pub id: Uuid,
    pub org_id: Uuid,
}

fn main() {}
