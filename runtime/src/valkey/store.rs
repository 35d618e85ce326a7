//! The operations behind every generated Valkey store, generic over the entity.
//!
//! Writes that touch several keys run as Lua scripts whose keys are all declared and share the
//! tenant's hash tag, so each is atomic and cluster-safe in one round trip.

use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;
use tracing::Instrument as _;

use super::{Client, Scoped, check_part, ttl_millis};
use crate::contract::DocumentStore;
use crate::document::DocumentId as _;
use crate::document::{Document, DocumentEntity, check_own, own, span};
use std::cmp::Ordering;
use std::ops::Bound;

use serde_json::Value;

use crate::query::{Context, CursorKey, Direction, DocQuery, Kind, Op, SortKey};
use crate::{Error, Listing, Page, Result};

/// What `#[tenant_store(backend = "valkey")]` implements for an entity, beside its
/// [`DocumentEntity`] core.
pub trait ValkeyEntity: DocumentEntity + Document {
    /// The first segment of every key.
    const PREFIX: &'static str;
    /// TTL applied when a `set` gives none (`None`: no expiry).
    const DEFAULT_TTL: Option<Duration>;
    /// The session the item belongs to.
    fn session(&self) -> &str;
    /// The item's initial recency weight (the `weight` field, or 1.0).
    fn weight(&self) -> f64;
}

/// Longest page `list_session` and `ranked` return.
pub const MAX_LIMIT: usize = 10_000;

struct Keys {
    base: String,
    sessions: String,
}

/// `prefix:{tenant}:Entity:`: where every key of the entity's tenant starts. The hash tag keeps
/// a tenant's keys in one cluster slot; the entity name keeps two entities that share a prefix
/// (and a tenant id) from ever reading or replacing each other's keys.
fn tenant_base<E: ValkeyEntity>(scoped: &Scoped<'_>) -> String {
    format!(
        "{}:{{{}}}:{}:",
        E::PREFIX,
        scoped.tenant(E::SCOPE),
        E::ENTITY
    )
}

/// `prefix:{tenant}:Entity:~sessions`: the set of the tenant's session ids (a session id never
/// starts with `~`, so this cannot collide with a session's keys).
fn sessions_key<E: ValkeyEntity>(scoped: &Scoped<'_>) -> String {
    format!("{}~sessions", tenant_base::<E>(scoped))
}

impl Keys {
    fn new<E: ValkeyEntity>(scoped: &Scoped<'_>, session: &str) -> Result<Self> {
        check_part("session id", session)?;
        Ok(Self {
            base: format!("{}{session}:", tenant_base::<E>(scoped)),
            sessions: sessions_key::<E>(scoped),
        })
    }
    fn item(&self, id: &str) -> String {
        format!("{}{id}", self.base)
    }
    fn recent(&self) -> String {
        format!("{}~recent", self.base)
    }
    fn weight(&self) -> String {
        format!("{}~weight", self.base)
    }
    fn seq(&self) -> String {
        format!("{}~seq", self.base)
    }
}

fn check_limit(limit: usize) -> Result<isize> {
    if limit == 0 || limit > MAX_LIMIT {
        return Err(Error::InvalidInput(format!(
            "limit {limit} is outside 1..={MAX_LIMIT}"
        )));
    }
    Ok(limit as isize)
}

fn decode<E: ValkeyEntity>(scoped: &Scoped<'_>, session: &str, json: &str) -> Result<Option<E>> {
    // Defence in depth: a value under this tenant's key that names another tenant or session is
    // treated as absent rather than returned.
    Ok(own(scoped, E::from_json(json)?).filter(|e| e.session() == session))
}

// KEYS: item, recent, weight, seq, sessions. ARGV: json, ttl ms (0 = none), item id, weight,
// session id.
static SET: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local ttl = tonumber(ARGV[2])
        local fresh = redis.call('EXISTS', KEYS[2]) == 0
        if ttl > 0 then
          redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
        else
          redis.call('SET', KEYS[1], ARGV[1])
        end
        local n = redis.call('INCR', KEYS[4])
        redis.call('ZADD', KEYS[2], n, ARGV[3])
        redis.call('ZADD', KEYS[3], ARGV[4], ARGV[3])
        redis.call('SADD', KEYS[5], ARGV[5])
        -- The indexes live as long as their longest-lived item: a fresh session's indexes
        -- take the item's TTL (NX: only where none is set), and an existing TTL only grows
        -- (GT: a key without one keeps living).
        for i = 2, 4 do
          if ttl == 0 then
            redis.call('PERSIST', KEYS[i])
          else
            if fresh then
              redis.call('PEXPIRE', KEYS[i], ttl, 'NX')
            end
            redis.call('PEXPIRE', KEYS[i], ttl, 'GT')
          end
        end
        return n
        ",
    )
});

/// Stores `entity` under its session with `ttl` (or the entity's default), newest in the session.
pub(super) async fn set<E: ValkeyEntity>(
    scoped: &Scoped<'_>,
    entity: &E,
    ttl: Option<Duration>,
) -> Result<()> {
    let session = entity.session();
    let keys = Keys::new::<E>(scoped, session)?;
    let id = entity.id_text();
    crate::document::check_id(&id)?;
    let weight = entity.weight();
    if !weight.is_finite() || weight < 0.0 {
        return Err(Error::InvalidInput(format!(
            "weight {weight} must be a finite number >= 0"
        )));
    }
    check_own(scoped, entity)?;
    let ttl = ttl_millis(ttl.or(E::DEFAULT_TTL))?.unwrap_or(0);
    let json = entity.to_json()?;
    async {
        let mut inv = SET.prepare_invoke();
        inv.key(keys.item(&id))
            .key(keys.recent())
            .key(keys.weight())
            .key(keys.seq())
            .key(&keys.sessions);
        inv.arg(json).arg(ttl).arg(&id).arg(weight).arg(session);
        scoped
            .client()
            .script::<i64>(scoped.breaker_key(E::SCOPE), inv)
            .await
            .map(drop)
    }
    .instrument(span::<E, _>(scoped, "set"))
    .await
}

/// Reads up to `limit` live items of `index`, highest score first (below `below` when given),
/// dropping the ids of expired items from both indexes on the way.
async fn walk<E: ValkeyEntity>(
    scoped: &Scoped<'_>,
    session: &str,
    keys: &Keys,
    index: String,
    limit: usize,
    below: Option<f64>,
    filter: Option<&DocQuery>,
) -> Result<Vec<(E, f64)>> {
    let limit = check_limit(limit)?;
    let mut out = Vec::new();
    let mut expired: Vec<String> = Vec::new();
    let mut start = 0isize;
    while (out.len() as isize) < limit {
        let want = limit - out.len() as isize;
        // Highest score first, ties by id (descending) either way; by rank from the top when
        // there is no bound, which the server answers without a score lookup.
        let mut range = redis::cmd("ZRANGE");
        range.arg(&index);
        match below {
            None => range.arg(start).arg(start + want - 1).arg("REV"),
            Some(s) => range
                .arg(format!("({s}"))
                .arg("-inf")
                .arg("BYSCORE")
                .arg("REV")
                .arg("LIMIT")
                .arg(start)
                .arg(want),
        };
        let ids: Vec<(String, f64)> = scoped
            .client()
            .query(scoped.breaker_key(E::SCOPE), range.arg("WITHSCORES"))
            .await?;
        if ids.is_empty() {
            break;
        }
        start += ids.len() as isize;
        let mut mget = redis::cmd("MGET");
        for (id, _) in &ids {
            mget.arg(keys.item(id));
        }
        let values: Vec<Option<String>> = scoped
            .client()
            .query(scoped.breaker_key(E::SCOPE), &mget)
            .await?;
        for ((id, score), value) in ids.into_iter().zip(values) {
            if let (Some(j), Some(q)) = (&value, filter)
                && !matches(j, q)
            {
                continue;
            }
            match value
                .map(|j| decode::<E>(scoped, session, &j))
                .transpose()?
                .flatten()
            {
                Some(e) => out.push((e, score)),
                None => expired.push(id),
            }
        }
    }
    if !expired.is_empty() {
        for index in [keys.recent(), keys.weight()] {
            scoped
                .client()
                .query::<i64>(
                    scoped.breaker_key(E::SCOPE),
                    redis::cmd("ZREM").arg(index).arg(&expired),
                )
                .await?;
        }
    }
    Ok(out)
}

/// A filter for a listing by recency: conditions only.
fn recency_query<E: ValkeyEntity>(filter: E::Filter) -> Result<DocQuery> {
    let query: DocQuery = filter.into();
    query.check()?;
    if query.sort.is_some() {
        return Err(Error::InvalidInput(
            "Valkey lists by recency (sessions in id order, each most recent first); it takes no `order_by`"
                .into(),
        ));
    }
    Ok(query)
}

/// Whether the stored JSON `item` meets every condition of `query` (Valkey has no secondary
/// index: conditions are checked on the items read). A missing field is null; null equals
/// nothing and is outside every range.
fn matches(item: &str, query: &DocQuery) -> bool {
    let Ok(doc) = serde_json::from_str::<Value>(item) else {
        return false;
    };
    query.conds.iter().all(|(field, op)| {
        let v = doc.get(*field).unwrap_or(&Value::Null);
        match op {
            Op::Eq(x) => !x.is_null() && v == x,
            Op::In(xs) => !v.is_null() && xs.contains(v),
            Op::Range(lo, hi, kind) => {
                let within = |bound: &Bound<Value>, low: bool| match bound {
                    Bound::Unbounded => true,
                    Bound::Included(b) | Bound::Excluded(b) => {
                        let strict = matches!(bound, Bound::Excluded(_));
                        match compare(*kind, v, b) {
                            Some(Ordering::Equal) => !strict,
                            Some(Ordering::Greater) => low,
                            Some(Ordering::Less) => !low,
                            None => false,
                        }
                    }
                };
                !v.is_null() && within(lo, true) && within(hi, false)
            }
            Op::IsNull => v.is_null(),
            Op::IsNotNull => !v.is_null(),
            Op::Prefix(p) => v.as_str().is_some_and(|s| s.starts_with(p.as_str())),
        }
    })
}

/// How two stored values compare for a field of `kind`; `None` when either is not of it.
fn compare(kind: Kind, a: &Value, b: &Value) -> Option<Ordering> {
    match kind {
        Kind::Number => a.as_f64()?.partial_cmp(&b.as_f64()?),
        Kind::Text => Some(a.as_str()?.cmp(b.as_str()?)),
        Kind::Time => {
            let t = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str()?).ok();
            Some(t(a)?.cmp(&t(b)?))
        }
    }
}

/// Paging by recency: the cursor holds the last item's session and its recency score, sealed to
/// the entity, the tenant and the listing (one session, or all of them).
struct Recency<'k> {
    key: &'k CursorKey,
    context: Context<'static>,
}

impl<'k> Recency<'k> {
    fn new<E: ValkeyEntity>(scoped: &Scoped<'k>, session: Option<&str>) -> Self {
        Self {
            key: scoped.client().cursor_key(),
            context: Context {
                backend: "valkey",
                entity: E::ENTITY,
                tenant: scoped.tenant(E::SCOPE),
                // A session's listing and the tenant's are different orders.
                order: if session.is_some() {
                    "session recency"
                } else {
                    "sessions, then recency"
                },
                direction: Direction::Desc,
            },
        }
    }

    /// The page's limit and the (session, score) its cursor holds.
    fn open(&self, page: &Page) -> Result<(u32, Option<(String, f64)>)> {
        let limit = page.checked_limit()?;
        let Some(cursor) = page.cursor() else {
            return Ok((limit, None));
        };
        let (score, session) = self.key.open(&self.context, cursor)?;
        let score = <f64 as SortKey>::from_cursor(&score).ok_or_else(crate::query::bad_cursor)?;
        let session = String::from_utf8(session).map_err(|_| crate::query::bad_cursor())?;
        Ok((limit, Some((session, score))))
    }

    /// The listing of `items` (with their scores) fetched with one more than `limit`.
    fn listing<E>(
        &self,
        mut items: Vec<(E, f64)>,
        limit: u32,
        session_of: impl Fn(&E) -> String,
    ) -> Listing<E> {
        let next = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|(e, score)| {
                let mut key = Vec::new();
                score.to_cursor(&mut key);
                let cursor = self.key.seal(&self.context, &key, session_of(e).as_bytes());
                Page::after(cursor, limit)
            })
        } else {
            None
        };
        Listing {
            items: items.into_iter().map(|(e, _)| e).collect(),
            next,
        }
    }
}

// KEYS: weight, recent. ARGV: factor, floor. Returns the ids that fell below the floor.
static DECAY: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
        local left = redis.call('PTTL', KEYS[1])
        redis.call('ZUNIONSTORE', KEYS[1], 1, KEYS[1], 'WEIGHTS', ARGV[1])
        if left > 0 then redis.call('PEXPIRE', KEYS[1], left) end
        local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[2])
        for i = 1, #gone, 1000 do
          local last = math.min(i + 999, #gone)
          redis.call('ZREM', KEYS[1], unpack(gone, i, last))
          redis.call('ZREM', KEYS[2], unpack(gone, i, last))
        end
        return gone
        ",
    )
});

// KEYS: item, recent, weight. ARGV: id. Returns 1 when the item existed.
static DELETE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local n = redis.call('DEL', KEYS[1])
        redis.call('ZREM', KEYS[2], ARGV[1])
        redis.call('ZREM', KEYS[3], ARGV[1])
        return n
        ",
    )
});

/// The tenant's session ids, sorted.
async fn sessions<E: ValkeyEntity>(scoped: &Scoped<'_>) -> Result<Vec<String>> {
    let mut ids: Vec<String> = scoped
        .client()
        .query(
            scoped.breaker_key(E::SCOPE),
            redis::cmd("SMEMBERS").arg(sessions_key::<E>(scoped)),
        )
        .await?;
    ids.sort();
    Ok(ids)
}

crate::document::store_type!("Valkey", ValkeyEntity);

impl<E: ValkeyEntity> Store<E> {
    /// Stores an item built from `new` in the caller's tenant, newest in its session, and
    /// returns it. `ttl` overrides the entity's default time to live.
    pub async fn set(&self, scoped: &Scoped<'_>, new: E::New, ttl: Option<Duration>) -> Result<E> {
        let entity = E::from_new(new, None, scoped.tenant(E::SCOPE));
        set(scoped, &entity, ttl).await?;
        Ok(entity)
    }

    /// The item, or `None` when it is missing, expired, or another tenant's.
    pub async fn get(&self, scoped: &Scoped<'_>, session: &str, id: &E::Id) -> Result<Option<E>> {
        let id: &str = &id.to_id();
        let keys = Keys::new::<E>(scoped, session)?;
        crate::document::check_id(id)?;
        async {
            let json: Option<String> = scoped
                .client()
                .query(
                    scoped.breaker_key(E::SCOPE),
                    redis::cmd("GET").arg(keys.item(id)),
                )
                .await?;
            match json {
                Some(j) => decode(scoped, session, &j),
                None => Ok(None),
            }
        }
        .instrument(span::<E, _>(scoped, "get"))
        .await
    }

    /// One page of the session's live items, most recently set first; the listing holds the
    /// next page's request when there are more.
    pub async fn list_session(
        &self,
        scoped: &Scoped<'_>,
        session: &str,
        page: Page,
    ) -> Result<Listing<E>> {
        let pages = Recency::new::<E>(scoped, Some(session));
        let (limit, after) = pages.open(&page)?;
        let below = match after {
            Some((s, score)) if s == session => Some(score),
            Some(_) => return Err(crate::query::bad_cursor()),
            None => None,
        };
        let keys = Keys::new::<E>(scoped, session)?;
        let recent = keys.recent();
        let items = walk::<E>(
            scoped,
            session,
            &keys,
            recent,
            limit as usize + 1,
            below,
            None,
        )
        .instrument(span::<E, _>(scoped, "list_session"))
        .await?;
        Ok(pages.listing(items, limit, |_| session.to_owned()))
    }

    /// One page of the tenant's live items matching `filter`, across its sessions (sessions in id
    /// order, each most recently set first; the filter's conditions are checked on each item read,
    /// Valkey having no secondary index). Sessions whose items have all expired are dropped from
    /// the session set. An `order_by` is [`Error::InvalidInput`]: the order is recency.
    pub async fn list_tenant(
        &self,
        scoped: &Scoped<'_>,
        filter: E::Filter,
        page: Page,
    ) -> Result<Listing<E>> {
        let query = recency_query::<E>(filter)?;
        let pages = Recency::new::<E>(scoped, None);
        let (limit, after) = pages.open(&page)?;
        let want = limit as usize + 1;
        async {
            let mut out = Vec::new();
            for session in sessions::<E>(scoped).await? {
                if out.len() == want {
                    break;
                }
                let below = match &after {
                    Some((s, _)) if session < *s => continue,
                    Some((s, score)) if session == *s => Some(*score),
                    _ => None,
                };
                let keys = Keys::new::<E>(scoped, &session)?;
                let recent = keys.recent();
                let live = walk::<E>(
                    scoped,
                    &session,
                    &keys,
                    recent,
                    want - out.len(),
                    below,
                    Some(&query),
                )
                .await?;
                if live.is_empty() && below.is_none() && query.conds.is_empty() {
                    scoped
                        .client()
                        .query::<i64>(
                            scoped.breaker_key(E::SCOPE),
                            redis::cmd("SREM").arg(&keys.sessions).arg(&session),
                        )
                        .await?;
                }
                out.extend(live);
            }
            Ok(pages.listing(out, limit, |e: &E| e.session().to_owned()))
        }
        .instrument(span::<E, _>(scoped, "list_tenant"))
        .await
    }

    /// The number of the tenant's live items matching `filter`: per session, the indexed ids whose
    /// item still exists (an expired item leaves its id in the index until a listing prunes it)
    /// and, with conditions, whose item meets them.
    pub async fn count(&self, scoped: &Scoped<'_>, filter: E::Filter) -> Result<u64> {
        let query = recency_query::<E>(filter)?;
        async {
            let mut n = 0u64;
            for session in sessions::<E>(scoped).await? {
                let keys = Keys::new::<E>(scoped, &session)?;
                let mut start = 0isize;
                loop {
                    let ids: Vec<String> = scoped
                        .client()
                        .query(
                            scoped.breaker_key(E::SCOPE),
                            redis::cmd("ZRANGE")
                                .arg(keys.recent())
                                .arg(start)
                                .arg(start + 999),
                        )
                        .await?;
                    if ids.is_empty() {
                        break;
                    }
                    start += ids.len() as isize;
                    if query.conds.is_empty() {
                        let mut exists = redis::cmd("EXISTS");
                        for id in &ids {
                            exists.arg(keys.item(id));
                        }
                        let live: u64 = scoped
                            .client()
                            .query(scoped.breaker_key(E::SCOPE), &exists)
                            .await?;
                        n += live;
                    } else {
                        let mut mget = redis::cmd("MGET");
                        for id in &ids {
                            mget.arg(keys.item(id));
                        }
                        let values: Vec<Option<String>> = scoped
                            .client()
                            .query(scoped.breaker_key(E::SCOPE), &mget)
                            .await?;
                        for j in values.iter().flatten() {
                            if matches(j, &query) && decode::<E>(scoped, &session, j)?.is_some() {
                                n += 1;
                            }
                        }
                    }
                }
            }
            Ok(n)
        }
        .instrument(span::<E, _>(scoped, "count"))
        .await
    }

    /// Up to `limit` live items of the session with their current weights, heaviest first.
    pub async fn ranked(
        &self,
        scoped: &Scoped<'_>,
        session: &str,
        limit: usize,
    ) -> Result<Vec<(E, f64)>> {
        let keys = Keys::new::<E>(scoped, session)?;
        let weight = keys.weight();
        walk::<E>(scoped, session, &keys, weight, limit, None, None)
            .instrument(span::<E, _>(scoped, "ranked"))
            .await
    }

    /// Multiplies every weight in the session by `factor` (in `(0, 1]`) and deletes the items
    /// that fall below `floor`; returns how many were deleted.
    pub async fn decay(
        &self,
        scoped: &Scoped<'_>,
        session: &str,
        factor: f64,
        floor: f64,
    ) -> Result<u64> {
        if !(factor > 0.0 && factor <= 1.0) {
            return Err(Error::InvalidInput(format!(
                "decay factor {factor} is outside (0, 1]"
            )));
        }
        if !(floor.is_finite() && floor >= 0.0) {
            return Err(Error::InvalidInput(format!(
                "decay floor {floor} must be a finite number >= 0"
            )));
        }
        let keys = Keys::new::<E>(scoped, session)?;
        async {
            let mut inv = DECAY.prepare_invoke();
            inv.key(keys.weight())
                .key(keys.recent())
                .arg(factor)
                .arg(floor);
            let gone: Vec<String> = scoped
                .client()
                .script(scoped.breaker_key(E::SCOPE), inv)
                .await?;
            // The indexes no longer name these items; delete their values (same slot, one DEL per chunk).
            for chunk in gone.chunks(500) {
                let mut del = redis::cmd("DEL");
                for id in chunk {
                    del.arg(keys.item(id));
                }
                scoped
                    .client()
                    .query::<i64>(scoped.breaker_key(E::SCOPE), &del)
                    .await?;
            }
            Ok(gone.len() as u64)
        }
        .instrument(span::<E, _>(scoped, "decay"))
        .await
    }

    /// Deletes the item; `Error::NotFound` when it is missing, expired, or another tenant's.
    pub async fn delete(&self, scoped: &Scoped<'_>, session: &str, id: &E::Id) -> Result<()> {
        let id: &str = &id.to_id();
        let keys = Keys::new::<E>(scoped, session)?;
        crate::document::check_id(id)?;
        async {
            let mut inv = DELETE.prepare_invoke();
            inv.key(keys.item(id))
                .key(keys.recent())
                .key(keys.weight())
                .arg(id);
            match scoped
                .client()
                .script::<i64>(scoped.breaker_key(E::SCOPE), inv)
                .await?
            {
                0 => Err(Error::NotFound),
                _ => Ok(()),
            }
        }
        .instrument(span::<E, _>(scoped, "delete"))
        .await
    }

    /// Moves every live item of `from`'s tenant to `to`'s tenant (merging into what `to` has) and
    /// returns how many items were moved.
    ///
    /// Not atomic (the items live under two hash tags, so no single script can see both); ordered so
    /// that re-running after a crash finishes the job: (1) read every item of `from`; (2) refuse with
    /// [`Error::Duplicate`], before writing anything, if `to` holds a *different* item under the
    /// same session and id (an identical one is a copy a cut-short run made); (3) write each item
    /// under `to` with its remaining time to live (an item without expiry gets the entity's default
    /// TTL) and its stored weight (decay applied since it was set is not carried over); (4) delete
    /// `from`'s items with [`delete_tenant`](Self::delete_tenant).
    pub async fn move_tenant(&self, from: &Scoped<'_>, to: &Scoped<'_>) -> Result<u64> {
        async {
            let mut read: Vec<(E, Option<Duration>)> = Vec::new();
            for session in sessions::<E>(from).await? {
                let keys = Keys::new::<E>(from, &session)?;
                let ids: Vec<String> = from
                    .client()
                    .query(
                        from.breaker_key(E::SCOPE),
                        redis::cmd("ZRANGE").arg(keys.recent()).arg(0).arg(-1),
                    )
                    .await?;
                for id in ids {
                    let key = keys.item(&id);
                    let json: Option<String> = from
                        .client()
                        .query(from.breaker_key(E::SCOPE), redis::cmd("GET").arg(&key))
                        .await?;
                    let Some(item) = json
                        .map(|j| decode::<E>(from, &session, &j))
                        .transpose()?
                        .flatten()
                    else {
                        continue; // expired since the index named it
                    };
                    let ttl: i64 = from
                        .client()
                        .query(from.breaker_key(E::SCOPE), redis::cmd("PTTL").arg(&key))
                        .await?;
                    let ttl = u64::try_from(ttl)
                        .ok()
                        .filter(|ms| *ms > 0)
                        .map(Duration::from_millis);
                    read.push((item, ttl));
                }
            }
            crate::document::move_documents(
                read,
                to.tenant(E::SCOPE),
                async |item: &E| self.get(to, item.session(), item.id()).await,
                async |item: &E, ttl: &Option<Duration>| set(to, item, *ttl).await,
                self.delete_tenant(from),
            )
            .await
        }
        .instrument(span::<E, _>(from, "move_tenant"))
        .await
    }

    /// Deletes every item of the tenant, its indexes and its session set; returns how many items
    /// were deleted. Session by session: items first, then the session's indexes, then its entry
    /// in the session set, so a run cut short leaves the rest findable and a re-run finishes it.
    pub async fn delete_tenant(&self, scoped: &Scoped<'_>) -> Result<u64> {
        async {
            let mut deleted = 0u64;
            for session in sessions::<E>(scoped).await? {
                let keys = Keys::new::<E>(scoped, &session)?;
                let mut ids: Vec<String> = scoped
                    .client()
                    .query(
                        scoped.breaker_key(E::SCOPE),
                        redis::cmd("ZRANGE").arg(keys.recent()).arg(0).arg(-1),
                    )
                    .await?;
                let weighted: Vec<String> = scoped
                    .client()
                    .query(
                        scoped.breaker_key(E::SCOPE),
                        redis::cmd("ZRANGE").arg(keys.weight()).arg(0).arg(-1),
                    )
                    .await?;
                ids.extend(weighted);
                ids.sort();
                ids.dedup();
                for chunk in ids.chunks(500) {
                    let mut del = redis::cmd("DEL");
                    for id in chunk {
                        del.arg(keys.item(id));
                    }
                    deleted += scoped
                        .client()
                        .query::<u64>(scoped.breaker_key(E::SCOPE), &del)
                        .await?;
                }
                scoped
                    .client()
                    .query::<i64>(
                        scoped.breaker_key(E::SCOPE),
                        redis::cmd("DEL")
                            .arg(keys.recent())
                            .arg(keys.weight())
                            .arg(keys.seq()),
                    )
                    .await?;
                scoped
                    .client()
                    .query::<i64>(
                        scoped.breaker_key(E::SCOPE),
                        redis::cmd("SREM").arg(&keys.sessions).arg(&session),
                    )
                    .await?;
            }
            scoped
                .client()
                .query::<i64>(
                    scoped.breaker_key(E::SCOPE),
                    redis::cmd("DEL").arg(sessions_key::<E>(scoped)),
                )
                .await?;
            Ok(deleted)
        }
        .instrument(span::<E, _>(scoped, "delete_tenant"))
        .await
    }
}

/// Valkey writes are upserts; an item is addressed by `(session, id)`.
impl<E: ValkeyEntity> DocumentStore for Store<E> {
    type Client = Client;
    type Entity = E;
    type New = E::New;
    type Id = (String, E::Id);
    const BACKEND: &'static str = "valkey";
    const UPSERTS: bool = true;

    fn id_of(entity: &E) -> Self::Id {
        (entity.session().to_owned(), entity.id().clone())
    }

    async fn insert(&self, scoped: &Scoped<'_>, new: E::New) -> Result<E> {
        self.set(scoped, new, None).await
    }

    async fn get(&self, scoped: &Scoped<'_>, id: &Self::Id) -> Result<Option<E>> {
        self.get(scoped, &id.0, &id.1).await
    }

    async fn list(&self, scoped: &Scoped<'_>, page: Page) -> Result<Listing<E>> {
        self.list_tenant(scoped, E::Filter::default(), page).await
    }

    async fn count(&self, scoped: &Scoped<'_>) -> Result<u64> {
        self.count(scoped, E::Filter::default()).await
    }

    async fn update(&self, scoped: &Scoped<'_>, id: &Self::Id, new: E::New) -> Result<E> {
        if self.get(scoped, &id.0, &id.1).await?.is_none() {
            return Err(Error::NotFound);
        }
        let entity = E::from_new(new, Some(id.1.clone()), scoped.tenant(E::SCOPE));
        if entity.session() != id.0 {
            return Err(Error::InvalidInput(
                "an update cannot move an item to another session".into(),
            ));
        }
        set(scoped, &entity, None).await?;
        Ok(entity)
    }

    async fn delete(&self, scoped: &Scoped<'_>, id: &Self::Id) -> Result<()> {
        self.delete(scoped, &id.0, &id.1).await
    }

    async fn delete_tenant(&self, scoped: &Scoped<'_>) -> Result<u64> {
        self.delete_tenant(scoped).await
    }
}
