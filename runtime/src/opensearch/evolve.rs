//! Mapping evolution: an entity's fields change after the index was made, and
//! [`Store::evolve_index`](super::Store::evolve_index) brings the shared index and every
//! promoted tenant's dedicated index to the entity's mapping.
//!
//! ## What each change does
//! - **New fields** (or a field an index does not map yet): one `PUT _mapping`. Nothing moves.
//! - **A field whose type changed** (OpenSearch cannot change a mapped type in place): the index
//!   is rebuilt under a new version, with no window where a tenant sees nothing:
//!   1. create `<name>.v<N+1>` with the old mapping (other entities may share the index) and the
//!      entity's fields over it;
//!   2. block writes on the old index: a write in the window fails with
//!      [`Error::Unavailable`] (retry it), it is never lost;
//!   3. `_reindex` everything into the new index, and compare the counts (a document the new
//!      type cannot hold, or a short copy, aborts: the block is lifted, the new index dropped,
//!      nothing else changed);
//!   4. one atomic `_aliases` call moves every alias of the old index (the tenants' filtered,
//!      routed aliases, copied as they are) to the new one, and makes `<name>` an alias of it:
//!      the first time `<name>` is the old index itself, removed in the same call; later it is
//!      the alias, moved;
//!   5. drop the old versioned index, if it was one.
//!
//!   Searches read the old index until step 4 and the new one after: at no moment does an alias
//!   point at nothing or at a half-copied index. The promotion machinery's pieces do the work
//!   (the mapping, the index creation, the reindex, the alias actions).
//!
//! Field types the entity no longer declares stay mapped (OpenSearch cannot unmap a field); its
//! documents simply stop carrying them.

use opensearch::http::Method;
use serde_json::{Map, Value, json};

use super::store::{concrete, create_index_with, mapping, properties_of};
use super::{Client, SearchEntity, ok};
use crate::{Error, Result};

/// What [`evolve_index`] did to one index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexChange {
    /// The index did not exist and was created with the entity's mapping.
    Created,
    /// The index already maps every field as the entity does.
    Unchanged,
    /// These fields were added to the mapping.
    Extended(Vec<String>),
    /// A field changed type: the index was rebuilt as `index`, holding `documents`.
    Reindexed {
        /// The new physical index; the old name is now its alias.
        index: String,
        /// Documents copied.
        documents: u64,
    },
}

/// What [`evolve_index`] did: the shared index, then each promoted tenant's dedicated index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evolution {
    /// The shared index.
    pub shared: IndexChange,
    /// `(dedicated index name, change)` per promoted tenant.
    pub dedicated: Vec<(String, IndexChange)>,
}

impl<E: SearchEntity> super::Store<E> {
    /// Brings the shared index and every promoted tenant's index to this entity's mapping:
    /// new fields by a mapping update, changed types by a rebuild and an atomic alias swap
    /// (see [`evolve`](super::evolve)). Run it at deploy, before the new code writes.
    pub async fn evolve_index(&self, client: &Client) -> Result<Evolution> {
        evolve_index::<E>(client).await
    }
}

/// Brings the shared index and every dedicated index of `E` to `E`'s mapping (see the module
/// documentation). Infrastructure: run it at deploy, before the new code writes.
pub async fn evolve_index<E: SearchEntity>(client: &Client) -> Result<Evolution> {
    let wanted = properties_of(&mapping::<E>());
    let shared = match concrete(client, E::INDEX).await?.as_slice() {
        [] => {
            super::Store::<E>::new().ensure_index(client).await?;
            IndexChange::Created
        }
        [index] => evolve_one(client, E::INDEX, index, &wanted).await?,
        many => {
            return Err(Error::Backend(
                format!("`{}` names several indices: {many:?}", E::INDEX).into(),
            ));
        }
    };
    // Promoted tenants: every tenant alias of the entity whose index is not the shared one.
    let shared_now = concrete(client, E::INDEX).await?;
    let prefix = format!("{}.{}.", E::INDEX, super::store::entity_part::<E>());
    let (status, body) = client
        .call(None, Method::Get, &format!("/_alias/{prefix}t.*"), None)
        .await?;
    let body = if status.as_u16() == 404 {
        Value::Null
    } else {
        ok((status, body))?
    };
    let mut dedicated = Vec::new();
    for (index, entry) in body.as_object().into_iter().flatten() {
        if shared_now.contains(index) {
            continue;
        }
        for alias in entry["aliases"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(a, _)| a)
        {
            let Some(tenant) = alias.strip_prefix(&format!("{prefix}t.")) else {
                continue;
            };
            let name = format!("{prefix}d.{tenant}");
            let change = evolve_one(client, &name, index, &wanted).await?;
            dedicated.push((name, change));
        }
    }
    Ok(Evolution { shared, dedicated })
}

/// Evolves `name`, whose physical index is `index`.
async fn evolve_one(
    client: &Client,
    name: &str,
    index: &str,
    wanted: &Map<String, Value>,
) -> Result<IndexChange> {
    let current = {
        let body = ok(client
            .call(None, Method::Get, &format!("/{index}/_mapping"), None)
            .await?)?;
        properties_of(&body[index])
    };
    let mut added = Map::new();
    let mut changed = Vec::new();
    for (field, def) in wanted {
        match current.get(field) {
            None => {
                added.insert(field.clone(), def.clone());
            }
            Some(old) if old.get("type") != def.get("type") => changed.push(field.clone()),
            Some(_) => {}
        }
    }
    if changed.is_empty() {
        if added.is_empty() {
            return Ok(IndexChange::Unchanged);
        }
        let fields: Vec<String> = added.keys().cloned().collect();
        ok(client
            .call(
                None,
                Method::Put,
                &format!("/{index}/_mapping"),
                Some(json!({ "properties": added })),
            )
            .await?)?;
        return Ok(IndexChange::Extended(fields));
    }
    rebuild(client, name, index, current, wanted).await
}

/// Steps 1 to 5 of the module documentation.
async fn rebuild(
    client: &Client,
    name: &str,
    old: &str,
    mut properties: Map<String, Value>,
    wanted: &Map<String, Value>,
) -> Result<IndexChange> {
    let version = old
        .strip_prefix(name)
        .and_then(|rest| rest.strip_prefix(".v"))
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(1);
    // `.v<n>`: no name a user or another entity can have ends so (index names hold no `.`).
    let new = format!("{name}.v{}", version + 1);
    properties.extend(wanted.clone());
    create_index_with(
        client,
        &new,
        json!({ "mappings": { "properties": properties } }),
    )
    .await?;
    let settings = format!("/{old}/_settings");
    let block = |on: bool| {
        client.call(
            None,
            Method::Put,
            &settings,
            Some(json!({ "index.blocks.write": on })),
        )
    };
    ok(block(true).await?)?;
    let copied = async {
        let body = json!({ "source": { "index": old }, "dest": { "index": new } });
        let report = ok(client
            .call(None, Method::Post, "/_reindex?refresh=true", Some(body))
            .await?)?;
        if let Some(first) = report["failures"].as_array().and_then(|f| f.first()) {
            return Err(Error::InvalidInput(format!(
                "the documents of `{old}` do not fit the new mapping: {}",
                super::reason(&json!({ "error": first["cause"] }))
            )));
        }
        let count = async |index: &str| -> Result<u64> {
            let body = ok(client
                .call(None, Method::Post, &format!("/{index}/_count"), None)
                .await?)?;
            body["count"]
                .as_u64()
                .ok_or_else(|| Error::Backend("count answer without a count".into()))
        };
        let (before, after) = (count(old).await?, count(&new).await?);
        if before != after {
            return Err(Error::Backend(
                format!("{after} of {before} documents copied from `{old}`").into(),
            ));
        }
        Ok(after)
    }
    .await;
    let documents = match copied {
        Ok(n) => n,
        Err(e) => {
            // Nothing points at the new index yet: drop it and let writes in again.
            let _ = client
                .call(None, Method::Delete, &format!("/{new}"), None)
                .await;
            ok(block(false).await?)?;
            return Err(e);
        }
    };
    // Every alias of the old index, as it is (filter and routing), onto the new one.
    let aliases = ok(client
        .call(None, Method::Get, &format!("/{old}/_alias"), None)
        .await?)?;
    let mut actions = Vec::new();
    for (alias, def) in aliases[old]["aliases"].as_object().into_iter().flatten() {
        if alias == name {
            continue;
        }
        let mut add = json!({ "index": new, "alias": alias });
        for key in ["filter", "index_routing", "search_routing"] {
            if let Some(v) = def.get(key) {
                add[key] = v.clone();
            }
        }
        // `remove_index` takes the old index's aliases with it; a versioned one stays until
        // step 5, so its aliases are removed here.
        if old != name {
            actions.push(json!({ "remove": { "index": old, "alias": alias } }));
        }
        actions.push(json!({ "add": add }));
    }
    if old == name {
        actions.push(json!({ "remove_index": { "index": old } }));
    } else {
        actions.push(json!({ "remove": { "index": old, "alias": name } }));
    }
    actions.push(json!({ "add": { "index": new, "alias": name } }));
    if let Err(e) = ok(client
        .call(
            None,
            Method::Post,
            "/_aliases",
            Some(json!({ "actions": actions })),
        )
        .await?)
    {
        let _ = client
            .call(None, Method::Delete, &format!("/{new}"), None)
            .await;
        ok(block(false).await?)?;
        return Err(e);
    }
    if old != name {
        ok(client
            .call(None, Method::Delete, &format!("/{old}"), None)
            .await?)?;
    }
    Ok(IndexChange::Reindexed {
        index: new,
        documents,
    })
}
