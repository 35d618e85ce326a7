// An append-only child entity with a unique key and tenant-safe references to its parent, each
// with its rule for the parent's delete.
use tenant_store::postgres::PgEntity;
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "org_id", table = "parents")]
pub struct Parent {
    #[tenant_store(id)]
    pub id: Uuid,
    pub org_id: Uuid,
}

#[tenant_store(backend = "postgres", scope = "org_id", append_only, unique(parent_id, seq), unique(label))]
pub struct Entry {
    #[tenant_store(id)]
    pub id: Uuid,
    pub org_id: Uuid,
    #[tenant_store(filter, references = Parent)]
    pub parent_id: Uuid,
    pub seq: i64,
    pub label: String,
    #[tenant_store(references = Parent)]
    pub previous_owner: Option<Uuid>,
    #[tenant_store(references = Parent, on_delete = "restrict")]
    pub auditor: Uuid,
}

fn main() {
    let sql = Entry::migration_sql();
    assert!(sql.contains(r#"FOREIGN KEY ("org_id", "parent_id") REFERENCES "public"."parents" ("org_id", "id") ON DELETE CASCADE"#));
    assert!(sql.contains(r#"FOREIGN KEY ("org_id", "previous_owner") REFERENCES "public"."parents" ("org_id", "id") ON DELETE SET NULL ("previous_owner")"#));
    assert!(sql.contains(r#"FOREIGN KEY ("org_id", "auditor") REFERENCES "public"."parents" ("org_id", "id") ON DELETE RESTRICT"#));
    assert!(sql.contains(r#"UNIQUE ("org_id", "parent_id", "seq")"#));
    assert!(sql.contains(r#"GRANT SELECT, INSERT, DELETE ON "public"."entry""#));
    let _ = EntryFilter::new().parent_id(Uuid::nil());
}
