// Both guards drive every store method: `&mut TenantDb` (one statement per call) and
// `&mut TenantTx`, also through a `&mut TenantTx` passed on (reborrowed at each call).
use tenant_store::postgres::{Db, TenantTx};
use tenant_store::{Page, Principal, tenant_store};
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "user_id", new_derive(Default))]
pub struct Note {
    #[tenant_store(id)]
    pub id: Uuid,
    pub user_id: Uuid,
    #[tenant_store(filter)]
    pub body: String,
}

async fn in_tx(tx: &mut TenantTx<'_>, id: Uuid) -> tenant_store::Result<()> {
    let _ = Note::store().get(tx, id).await?;
    let _ = Note::store().count(tx, NoteFilter::new()).await?;
    Note::store().delete(tx, id).await
}

async fn f(db: &Db, who: &Principal) -> tenant_store::Result<()> {
    let mut tenant = db.tenant(who);
    let note = Note::store().create(&mut tenant, NewNote::default()).await?;
    let _ = Note::store().get(&mut tenant, note.id).await?;
    let _ = Note::store()
        .list(&mut tenant, NoteFilter::new().body("x".to_owned()), Page::first(10))
        .await?;
    let _ = Note::store().count(&mut db.tenant(who), NoteFilter::new()).await?;
    let _ = Note::store()
        .update(&mut tenant, note.id, NotePatch::default())
        .await?;
    let _ = Note::store().create_many(&mut tenant, vec![NewNote::default()]).await?;
    let mut tx = db.begin(who).await?;
    in_tx(&mut tx, note.id).await?;
    tx.commit().await
}

fn main() {
    let _ = f;
}
