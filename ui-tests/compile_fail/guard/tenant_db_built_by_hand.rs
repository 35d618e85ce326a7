// Rule: a TenantDb names its tenant only through `Db::tenant(&Principal)`; it cannot be built
// from a bare id.
use tenant_store::postgres::{Db, TenantDb};
use uuid::Uuid;

fn f(db: &Db) -> TenantDb<'_> {
    TenantDb {
        db,
        user_id: Uuid::new_v4(),
        org_id: Uuid::new_v4(),
    }
}

fn main() {}
