// One mistake in the attribute gives one error: the items the expansion would have made are
// still there as placeholders, so code naming them does not fail as well.
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgress", scope = "user_id")]
pub struct Entity {
    #[tenant_store(id)]
    pub id: Uuid,
    pub user_id: Uuid,
}

pub fn names_every_generated_item(
    _new: Option<NewEntity>,
    _patch: Option<EntityPatch>,
    _filter: Option<EntityFilter>,
) -> EntityStore {
    Entity::store()
}

fn main() {}
