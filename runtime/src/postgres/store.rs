//! The operations behind every generated PostgreSQL store, generic over the entity.
//!
//! The expansion generates data (SQL text fixed from identifiers) and small binding functions;
//! the logic lives here once, so a crate with many entities type-checks it once.
//!
//! Each operation returns a [`Boxed`] future rather than being an `async fn`: the generated
//! store methods only forward to these, and with a named return type they are plain functions
//! instead of one more state machine per method and entity, whose building and `Send` proof
//! were most of the check time of a crate with many entities. The query is built (and the
//! tracing span opened) when the method is called; it is sent when the future is polled.

use sqlx::QueryBuilder;
use sqlx::postgres::Postgres;
use tracing::Instrument as _;
use uuid::Uuid;

use super::{Db, PgColumn, PgEntity, PgQuery, TenantTx};
use crate::contract::{Boxed, TenantStore};
use crate::query::{self, Context, Direction, Listing, OrderField, Sort};
use crate::{Error, Page, Principal, Result};

/// Rows per `create_many` statement: large enough to amortise the round trip, small enough that
/// one chunk's column vectors stay a few MB.
pub const CHUNK: usize = 10_000;

/// What the expansion provides for the generic CRUD below. Not implemented by hand.
pub trait PgCrud: PgEntity + Sized + Send + 'static {
    /// `New{Entity}`.
    type New: Send;
    /// `{Entity}Patch` (`()` for append-only entities).
    type Patch: Send;
    /// `{Entity}Filter`; the default filter matches everything.
    type Filter: Send + Default;
    /// `{Entity}Order`: the id and every `order_by` field.
    type Order: OrderField;
    /// Which writes the store offers: [`Mutable`], [`Versioned`] or [`AppendOnly`].
    type Kind: Kind;
    /// The `version` field's type (`i64` when there is none).
    type Version: PgColumn + Send;
    /// `SELECT <all> ... WHERE scope = $1 AND id = $2 [AND live]`.
    const GET: &'static str;
    /// `INSERT ... VALUES ($1 id, $2 tenant, data...) RETURNING <all>`.
    const CREATE: &'static str;
    /// `INSERT ... SELECT $1, u.* FROM UNNEST($2 ids, data arrays...)`.
    const CREATE_MANY: &'static str;
    /// Hard `DELETE` or soft-delete `UPDATE`, by (scope, id).
    const DELETE: &'static str;
    /// `DELETE` every row of the tenant (`$1`), soft-deleted ones included.
    const DELETE_TENANT: &'static str;
    /// `SELECT 1` by (scope, id) among live rows.
    const EXISTS: &'static str;
    /// `SELECT <all> FROM t WHERE scope = ` (the tenant is pushed next).
    const LIST_HEAD: &'static str;
    /// `SELECT count(*) FROM t WHERE scope = ` (the tenant is pushed next).
    const COUNT_HEAD: &'static str;
    /// `UPDATE t SET id = id` (patch assignments are pushed next).
    const UPDATE_HEAD: &'static str;
    /// Managed assignments, then ` WHERE scope = `.
    const UPDATE_WHERE: &'static str;
    /// ` AND id = `.
    const ID_EQ: &'static str;
    /// ` RETURNING <all>`.
    const RETURNING: &'static str;
    /// ` AND version = ` when the entity has a version.
    const VERSION_EQ: Option<&'static str>;
    /// Binds the soft-delete value as `$3` (generated only with soft delete).
    fn bind_live(q: PgQuery<'_>) -> PgQuery<'_> {
        q
    }
    /// Pushes ` AND state <> <deleted>` (generated only with soft delete).
    fn push_live(_qb: &mut QueryBuilder<Postgres>) {}
    /// The caller-given id, if any.
    fn new_id(new: &Self::New) -> Option<Uuid>;
    /// Writes the data fields of `new` to `out`, in column order: one small generic function
    /// per entity serves both `create` (each value a parameter) and `create_many` (each column
    /// an array).
    fn columns<C: Columns>(new: Self::New, out: &mut C);
    /// Pushes ` AND <condition>` for each set filter, and returns the filter's order (the id
    /// ascending when none was set).
    fn push_filter(qb: &mut QueryBuilder<Postgres>, filter: Self::Filter) -> Sort<Self::Order>;
    /// Appends this entity's value of `field` as cursor bytes (nothing for the id; generated
    /// only with `order_by` fields).
    fn sort_key(&self, field: Self::Order, out: &mut Vec<u8>) {
        let _ = (field, out);
    }
    /// Pushes the keyset condition of `sort` after the position (`key` of the sort field,
    /// `id`): ` AND (col, id) > ($a, $b)`, `<` descending. This default knows the id alone; it
    /// is generated with `order_by` fields.
    fn push_after(
        qb: &mut QueryBuilder<Postgres>,
        sort: Sort<Self::Order>,
        key: &[u8],
        id: Uuid,
    ) -> Result<()> {
        if !sort.field.is_id() {
            return Err(query::bad_cursor());
        }
        push_after_id(
            qb,
            &format!("\"{}\"", Self::ID_COLUMN),
            sort.direction,
            key,
            id,
        )
    }
    /// Pushes `, col = $n` for each set patch field.
    fn push_patch(qb: &mut QueryBuilder<Postgres>, patch: Self::Patch);
    /// The entity's id.
    fn id(&self) -> Uuid;
    /// The patch that sets every data field to `new`'s (the contract's `update`).
    fn patch_of(new: Self::New) -> Self::Patch;
}

/// Where [`PgCrud::columns`] writes the data fields of a `New`, in column order.
pub trait Columns {
    /// The next column's value.
    fn column<T: PgColumn>(&mut self, value: T);
}

/// Binds each value as the next parameter of a query.
struct Params<'q>(Option<PgQuery<'q>>);

impl Columns for Params<'_> {
    fn column<T: PgColumn>(&mut self, value: T) {
        self.0 = self.0.take().map(|q| super::bind_value(q, value));
    }
}

/// Collects each column of a chunk of rows into an array (`Vec<T>` behind a `dyn`, made on the
/// first row), bound as one parameter per column for `UNNEST`.
struct Arrays {
    columns: Vec<Box<dyn ArrayColumn>>,
    at: usize,
    rows: usize,
}

trait ArrayColumn: Send {
    fn as_any(&mut self) -> &mut dyn std::any::Any;
    fn bind<'q>(self: Box<Self>, q: PgQuery<'q>) -> PgQuery<'q>;
}

impl<T: PgColumn> ArrayColumn for Vec<T> {
    fn as_any(&mut self) -> &mut dyn std::any::Any {
        self
    }
    fn bind<'q>(self: Box<Self>, q: PgQuery<'q>) -> PgQuery<'q> {
        q.bind(*self)
    }
}

impl Columns for Arrays {
    fn column<T: PgColumn>(&mut self, value: T) {
        if self.at == self.columns.len() {
            self.columns
                .push(Box::new(Vec::<T>::with_capacity(self.rows)));
        }
        self.columns[self.at]
            .as_any()
            .downcast_mut::<Vec<T>>()
            .expect("a column holds one type: the field's")
            .push(value);
        self.at += 1;
    }
}

/// Which writes an entity's [`Store`] offers, fixed by the attribute. Sealed.
pub trait Kind: sealed::Sealed + Send + Sync + 'static {}

/// `update(tx, id, patch)` and `delete`.
#[derive(Debug, Clone, Copy)]
pub enum Mutable {}
/// `update(tx, id, expected_version, patch)`, checked and bumped, and `delete`.
#[derive(Debug, Clone, Copy)]
pub enum Versioned {}
/// `append_only`: no `update`, no `delete`; not a [`TenantStore`].
#[derive(Debug, Clone, Copy)]
pub enum AppendOnly {}

impl Kind for Mutable {}
impl Kind for Versioned {}
impl Kind for AppendOnly {}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Mutable {}
    impl Sealed for super::Versioned {}
    impl Sealed for super::AppendOnly {}
}

/// The tenant-scoped PostgreSQL store of the entity `E`, whose writes are those of `K` (see
/// [`Kind`]); the generated `{Entity}Store` is this type for one entity, made by
/// `Entity::store()`. Zero-sized. Every method takes a [`TenantTx`] and acts only inside its
/// tenant, and returns a boxed `Send` future ([`Boxed`]) to `.await`: the query is built (and
/// the tracing span opened) when the method is called, and sent when the future is polled.
pub struct Store<E, K>(std::marker::PhantomData<fn() -> (E, K)>);

impl<E: PgCrud<Kind = K>, K: Kind> Store<E, K> {
    /// The store of `E`.
    pub const fn new() -> Self {
        Self(std::marker::PhantomData)
    }

    /// The entity with this id in the caller's tenant, or `None` (also when the id belongs to
    /// another tenant).
    pub fn get<'t>(&self, tx: &'t mut TenantTx<'_>, id: Uuid) -> Boxed<'t, Option<E>> {
        get(tx, id)
    }

    /// Live entities of the caller's tenant matching `filter`, in the filter's order (the id
    /// ascending by default), one page at a time: the listing holds the next page's request
    /// when there are more. A cursor another listing made is [`Error::InvalidInput`].
    pub fn list<'t>(
        &self,
        tx: &'t mut TenantTx<'_>,
        filter: E::Filter,
        page: Page,
    ) -> Boxed<'t, Listing<E>> {
        list(tx, filter, page)
    }

    /// PostgreSQL's plan (`EXPLAIN`, text lines) of the statement [`list`](Self::list) sends
    /// for this filter and page: to check that an order or a filter is served by its index.
    pub fn explain_list<'t>(
        &self,
        tx: &'t mut TenantTx<'_>,
        filter: E::Filter,
        page: Page,
    ) -> Boxed<'t, Vec<String>> {
        explain_list::<E>(tx, filter, page)
    }

    /// How many live entities of the caller's tenant match `filter` (the same filter as
    /// [`list`](Self::list): the count equals the length of the full listing).
    pub fn count<'t>(&self, tx: &'t mut TenantTx<'_>, filter: E::Filter) -> Boxed<'t, u64> {
        count::<E>(tx, filter)
    }

    /// Inserts an entity into the caller's tenant and returns it. [`Error::Duplicate`] when the
    /// id is taken in this tenant.
    pub fn create<'t>(&self, tx: &'t mut TenantTx<'_>, new: E::New) -> Boxed<'t, E> {
        create(tx, new)
    }

    /// Inserts every row into the caller's tenant in statements of [`CHUNK`] rows, consuming
    /// the iterator lazily so memory stays flat. All or nothing: a failing row fails the call
    /// and aborts the transaction. Returns the number inserted.
    pub fn create_many<'t, I>(&self, tx: &'t mut TenantTx<'_>, rows: I) -> Boxed<'t, u64>
    where
        I: IntoIterator<Item = E::New> + Send + 't,
        I::IntoIter: Send,
    {
        create_many::<E, I>(tx, rows)
    }

    /// Deletes every row of the caller's tenant (soft-deleted ones included: this is for
    /// offboarding) and returns how many there were.
    pub fn delete_tenant<'t>(&self, tx: &'t mut TenantTx<'_>) -> Boxed<'t, u64> {
        delete_tenant::<E>(tx)
    }
}

impl<E: PgCrud<Kind = K>, K: Kind> Default for Store<E, K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E, K> Clone for Store<E, K> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E, K> Copy for Store<E, K> {}

impl<E: PgCrud, K> std::fmt::Debug for Store<E, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}Store", E::ENTITY)
    }
}

impl<E: PgCrud<Kind = Mutable>> Store<E, Mutable> {
    /// Applies `patch` to the entity with this id in the caller's tenant and returns it.
    /// [`Error::NotFound`] when there is none (including when it belongs to another tenant).
    pub fn update<'t>(&self, tx: &'t mut TenantTx<'_>, id: Uuid, patch: E::Patch) -> Boxed<'t, E> {
        update::<E, E::Version>(tx, id, None, patch)
    }

    /// Deletes the entity (or soft-deletes it: sets its `soft_delete` field to the deleted
    /// value, after which it looks absent). [`Error::NotFound`] when the caller's tenant has no
    /// such live entity.
    pub fn delete<'t>(&self, tx: &'t mut TenantTx<'_>, id: Uuid) -> Boxed<'t, ()> {
        delete::<E>(tx, id)
    }
}

impl<E: PgCrud<Kind = Versioned>> Store<E, Versioned> {
    /// Applies `patch` to the entity with this id in the caller's tenant and returns it.
    /// [`Error::NotFound`] when there is none (including when it belongs to another tenant);
    /// [`Error::Conflict`] when the stored version is not `expected_version`. Bumps the version
    /// on success.
    pub fn update<'t>(
        &self,
        tx: &'t mut TenantTx<'_>,
        id: Uuid,
        expected_version: E::Version,
        patch: E::Patch,
    ) -> Boxed<'t, E> {
        update::<E, E::Version>(tx, id, Some(expected_version), patch)
    }

    /// Deletes the entity (or soft-deletes it: sets its `soft_delete` field to the deleted
    /// value, after which it looks absent). [`Error::NotFound`] when the caller's tenant has no
    /// such live entity.
    pub fn delete<'t>(&self, tx: &'t mut TenantTx<'_>, id: Uuid) -> Boxed<'t, ()> {
        delete::<E>(tx, id)
    }
}

/// The kinds with `update` and `delete`: the stores that keep the [`TenantStore`] contract.
pub trait Updatable: Kind {}
impl Updatable for Mutable {}
impl Updatable for Versioned {}

/// One transaction per call. The contract's `update` replaces every data field and does not
/// check the version.
impl<E: PgCrud<Kind = K> + Sync, K: Updatable> TenantStore for Store<E, K> {
    type Conn = Db;
    type Entity = E;
    type New = E::New;
    type Id = Uuid;
    const BACKEND: &'static str = "postgres";
    const UPSERTS: bool = false;

    fn id_of(entity: &E) -> Uuid {
        entity.id()
    }

    fn insert<'a>(&'a self, db: &'a Db, who: &'a Principal, new: E::New) -> Boxed<'a, E> {
        Box::pin(async move {
            let mut tx = db.begin(who).await?;
            let e = create::<E>(&mut tx, new).await?;
            tx.commit().await?;
            Ok(e)
        })
    }

    fn get<'a>(&'a self, db: &'a Db, who: &'a Principal, id: &'a Uuid) -> Boxed<'a, Option<E>> {
        Box::pin(async move {
            let mut tx = db.begin(who).await?;
            let e = get::<E>(&mut tx, *id).await;
            tx.release();
            e
        })
    }

    fn list<'a>(&'a self, db: &'a Db, who: &'a Principal, page: Page) -> Boxed<'a, Listing<E>> {
        Box::pin(async move {
            let mut tx = db.begin(who).await?;
            let e = list::<E>(&mut tx, E::Filter::default(), page).await;
            tx.release();
            e
        })
    }

    fn count<'a>(&'a self, db: &'a Db, who: &'a Principal) -> Boxed<'a, u64> {
        Box::pin(async move {
            let mut tx = db.begin(who).await?;
            let n = count::<E>(&mut tx, E::Filter::default()).await;
            tx.release();
            n
        })
    }

    fn update<'a>(
        &'a self,
        db: &'a Db,
        who: &'a Principal,
        id: &'a Uuid,
        new: E::New,
    ) -> Boxed<'a, E> {
        Box::pin(async move {
            let mut tx = db.begin(who).await?;
            let e = update::<E, E::Version>(&mut tx, *id, None, E::patch_of(new)).await?;
            tx.commit().await?;
            Ok(e)
        })
    }

    fn delete<'a>(&'a self, db: &'a Db, who: &'a Principal, id: &'a Uuid) -> Boxed<'a, ()> {
        Box::pin(async move {
            let mut tx = db.begin(who).await?;
            delete::<E>(&mut tx, *id).await?;
            tx.commit().await
        })
    }

    fn delete_tenant<'a>(&'a self, db: &'a Db, who: &'a Principal) -> Boxed<'a, u64> {
        Box::pin(async move {
            let mut tx = db.begin(who).await?;
            let n = delete_tenant::<E>(&mut tx).await?;
            tx.commit().await?;
            Ok(n)
        })
    }
}

fn span<E: PgCrud>(tx: &TenantTx<'_>, op: &'static str) -> tracing::Span {
    tracing::info_span!("tenant_store", entity = E::ENTITY, op, tenant = %tx.tenant(E::SCOPE))
}

fn decode<E: PgCrud>(row: &sqlx::postgres::PgRow) -> Result<E> {
    E::from_row(row).map_err(Error::from)
}

fn by_id<E: PgCrud>(sql: &'static str, tenant: Uuid, id: Uuid) -> PgQuery<'static> {
    E::bind_live(super::bind_value(
        super::bind_value(sqlx::query(sql), tenant),
        id,
    ))
}

/// The entity with this id in the caller's tenant, or `None`.
pub fn get<'a, E: PgCrud + 'a>(tx: &'a mut TenantTx<'_>, id: Uuid) -> Boxed<'a, Option<E>> {
    let span = span::<E>(tx, "get");
    let q = by_id::<E>(E::GET, tx.tenant(E::SCOPE), id);
    Box::pin(
        async move { tx.run_optional(q).await?.map(|r| decode(&r)).transpose() }.instrument(span),
    )
}

/// Live entities of the caller's tenant matching `filter`, in its order, one page.
pub fn list<'a, E: PgCrud + 'a>(
    tx: &'a mut TenantTx<'_>,
    filter: E::Filter,
    page: Page,
) -> Boxed<'a, Listing<E>> {
    let span = span::<E>(tx, "list");
    let tenant = tx.tenant(E::SCOPE);
    let key = tx.cursor_key().clone();
    Box::pin(
        async move {
            let (mut qb, plan) = list_statement::<E>("", tenant, &key, filter, &page)?;
            let rows = tx.run_all(qb.build()).await?;
            let mut items = rows.iter().map(decode).collect::<Result<Vec<E>>>()?;
            let limit = plan.limit as usize;
            let next = if items.len() > limit {
                items.truncate(limit);
                let last = items.last().expect("the page holds `limit` >= 1 items");
                let mut sort_key = Vec::new();
                last.sort_key(plan.sort.field, &mut sort_key);
                let cursor = key.seal(&plan.context(), &sort_key, last.id().as_bytes());
                Some(Page::after(cursor, plan.limit))
            } else {
                None
            };
            Ok(Listing { items, next })
        }
        .instrument(span),
    )
}

/// PostgreSQL's plan of the statement [`list`] sends for this filter and page, as `EXPLAIN`'s
/// text lines, run in the caller's transaction.
pub fn explain_list<'a, E: PgCrud + 'a>(
    tx: &'a mut TenantTx<'_>,
    filter: E::Filter,
    page: Page,
) -> Boxed<'a, Vec<String>> {
    let tenant = tx.tenant(E::SCOPE);
    let key = tx.cursor_key().clone();
    Box::pin(async move {
        let (mut qb, _) = list_statement::<E>("EXPLAIN ", tenant, &key, filter, &page)?;
        let rows = tx.run_all(qb.build()).await?;
        rows.iter()
            .map(|r| sqlx::Row::try_get::<String, _>(r, 0).map_err(Error::from))
            .collect()
    })
}

/// What a listing's statement was built for: its order, page size and tenant.
struct ListPlan<E: PgCrud> {
    sort: Sort<E::Order>,
    limit: u32,
    tenant: Uuid,
}

impl<E: PgCrud> ListPlan<E> {
    /// What the page's cursor is bound to.
    fn context(&self) -> Context<'static> {
        Context {
            backend: "postgres",
            entity: E::TABLE,
            tenant: self.tenant,
            order: self.sort.field.name().unwrap_or("id"),
            direction: self.sort.direction,
        }
    }
}

/// `<prefix>SELECT ... WHERE scope = $1 [live] [filters] [after the cursor] ORDER BY [field,] id
/// LIMIT page + 1`: one row more than the page tells whether there is a next one.
fn list_statement<E: PgCrud>(
    prefix: &str,
    tenant: Uuid,
    key: &query::CursorKey,
    filter: E::Filter,
    page: &Page,
) -> Result<(QueryBuilder<Postgres>, ListPlan<E>)> {
    let limit = page.checked_limit()?;
    let mut qb = QueryBuilder::<Postgres>::new(prefix);
    qb.push(E::LIST_HEAD);
    qb.push_bind(tenant);
    E::push_live(&mut qb);
    let sort = E::push_filter(&mut qb, filter);
    let plan = ListPlan::<E> {
        sort,
        limit,
        tenant,
    };
    if let Some(cursor) = page.cursor() {
        let (sort_key, id) = key.open(&plan.context(), cursor)?;
        let id = Uuid::from_slice(&id).map_err(|_| query::bad_cursor())?;
        E::push_after(&mut qb, sort, &sort_key, id)?;
    }
    let dir = match sort.direction {
        Direction::Asc => " ASC",
        Direction::Desc => " DESC",
    };
    qb.push(" ORDER BY ");
    if let Some(column) = sort.field.name() {
        qb.push(format_args!("\"{column}\"{dir}, "));
    }
    qb.push(format_args!("\"{}\"{dir} LIMIT ", E::ID_COLUMN));
    qb.push_bind(i64::from(limit) + 1);
    Ok((qb, plan))
}

/// Pushes ` AND (col, id) > ($key, $id)` (`<` when descending) for a sort field whose cursor
/// bytes decode to `T`; the expansion calls it per `order_by` field.
pub fn push_after<T: query::SortKey + PgColumn>(
    qb: &mut QueryBuilder<Postgres>,
    column: &'static str,
    id_column: &'static str,
    direction: Direction,
    key: &[u8],
    id: Uuid,
) -> Result<()> {
    let value = T::from_cursor(key).ok_or_else(query::bad_cursor)?;
    let op = match direction {
        Direction::Asc => ">",
        Direction::Desc => "<",
    };
    qb.push(format_args!(" AND ({column}, {id_column}) {op} ("));
    qb.push_bind(value);
    qb.push(", ");
    qb.push_bind(id);
    qb.push(")");
    Ok(())
}

/// Pushes ` AND id > $id` (`<` when descending): the keyset of the id order.
pub fn push_after_id(
    qb: &mut QueryBuilder<Postgres>,
    id_column: &str,
    direction: Direction,
    key: &[u8],
    id: Uuid,
) -> Result<()> {
    if !key.is_empty() {
        return Err(query::bad_cursor());
    }
    let op = match direction {
        Direction::Asc => ">",
        Direction::Desc => "<",
    };
    qb.push(format_args!(" AND {id_column} {op} "));
    qb.push_bind(id);
    Ok(())
}

/// Pushes ` AND <column> <test>` for one field's condition; every value is a bind parameter.
pub fn push_cond<F: PgColumn>(
    qb: &mut QueryBuilder<Postgres>,
    column: &'static str,
    cond: query::Cond<F>,
) {
    use std::ops::Bound;

    use query::Op;
    qb.push(format_args!(" AND {column}"));
    match cond.0 {
        Op::Eq(v) => {
            qb.push(" = ");
            qb.push_bind(v);
        }
        Op::In(vs) => {
            qb.push(" = ANY(");
            qb.push_bind(vs);
            qb.push(")");
        }
        Op::Range(lo, hi, _) => {
            // `col IS NOT NULL` keeps the condition well-formed when both ends are open.
            qb.push(" IS NOT NULL");
            for (bound, strict, loose) in [(lo, " > ", " >= "), (hi, " < ", " <= ")] {
                match bound {
                    Bound::Excluded(v) => {
                        qb.push(format_args!(" AND {column}{strict}"));
                        qb.push_bind(v);
                    }
                    Bound::Included(v) => {
                        qb.push(format_args!(" AND {column}{loose}"));
                        qb.push_bind(v);
                    }
                    Bound::Unbounded => {}
                }
            }
        }
        Op::IsNull => {
            qb.push(" IS NULL");
        }
        Op::IsNotNull => {
            qb.push(" IS NOT NULL");
        }
        Op::Prefix(prefix) => {
            // `LIKE` with the pattern characters escaped: a prefix match a B-tree index on the
            // column serves (under the C collation, or with `text_pattern_ops`).
            let mut pattern = String::with_capacity(prefix.len() + 1);
            for ch in prefix.chars() {
                if matches!(ch, '\\' | '%' | '_') {
                    pattern.push('\\');
                }
                pattern.push(ch);
            }
            pattern.push('%');
            qb.push(" LIKE ");
            qb.push_bind(pattern);
        }
    }
}

/// The default order: the id ascending.
pub fn default_sort<O: OrderField>(id: O, sort: Option<Sort<O>>) -> Sort<O> {
    sort.unwrap_or(Sort {
        field: id,
        direction: Direction::Asc,
    })
}

/// The number of live entities of the caller's tenant matching `filter`.
pub fn count<'a, E: PgCrud + 'a>(tx: &'a mut TenantTx<'_>, filter: E::Filter) -> Boxed<'a, u64> {
    let span = span::<E>(tx, "count");
    let tenant = tx.tenant(E::SCOPE);
    Box::pin(
        async move {
            let mut qb = QueryBuilder::<Postgres>::new(E::COUNT_HEAD);
            qb.push_bind(tenant);
            E::push_live(&mut qb);
            let _order = E::push_filter(&mut qb, filter);
            let row = tx.run_optional(qb.build()).await?.ok_or(Error::NotFound)?;
            let n: i64 = sqlx::Row::try_get(&row, 0).map_err(Error::from)?;
            Ok(u64::try_from(n).unwrap_or(0))
        }
        .instrument(span),
    )
}

/// Inserts one entity into the caller's tenant.
pub fn create<'a, E: PgCrud + 'a>(tx: &'a mut TenantTx<'_>, new: E::New) -> Boxed<'a, E> {
    let span = span::<E>(tx, "create");
    let id = E::new_id(&new).unwrap_or_else(Uuid::new_v4);
    let mut params = Params(Some(super::bind_value(
        super::bind_value(sqlx::query(E::CREATE), id),
        tx.tenant(E::SCOPE),
    )));
    E::columns(new, &mut params);
    let q = params.0.expect("binding keeps the query");
    Box::pin(
        async move { decode(&tx.run_optional(q).await?.ok_or(Error::NotFound)?) }.instrument(span),
    )
}

/// Inserts every row, [`CHUNK`] rows per statement, consuming the iterator lazily (in the
/// future, not before it is polled).
pub fn create_many<'a, E, I>(tx: &'a mut TenantTx<'_>, rows: I) -> Boxed<'a, u64>
where
    E: PgCrud + 'a,
    I: IntoIterator<Item = E::New> + Send + 'a,
    I::IntoIter: Send,
{
    let span = span::<E>(tx, "create_many");
    let tenant = tx.tenant(E::SCOPE);
    Box::pin(
        async move {
            let mut rows = rows.into_iter();
            let mut inserted = 0;
            loop {
                let chunk: Vec<E::New> = rows.by_ref().take(CHUNK).collect();
                let n = chunk.len();
                if n == 0 {
                    break;
                }
                let mut ids = Vec::with_capacity(n);
                let mut arrays = Arrays {
                    columns: Vec::new(),
                    at: 0,
                    rows: n,
                };
                for row in chunk {
                    ids.push(E::new_id(&row).unwrap_or_else(Uuid::new_v4));
                    arrays.at = 0;
                    E::columns(row, &mut arrays);
                }
                let mut q = super::bind_value(sqlx::query(E::CREATE_MANY), tenant).bind(ids);
                for column in arrays.columns {
                    q = column.bind(q);
                }
                inserted += tx.run(q).await?;
                if n < CHUNK {
                    break;
                }
            }
            Ok(inserted)
        }
        .instrument(span),
    )
}

/// Applies `patch`; with a version, only if the stored one is `expected`.
pub fn update<'a, E: PgCrud + 'a, V: PgColumn + 'a>(
    tx: &'a mut TenantTx<'_>,
    id: Uuid,
    expected: Option<V>,
    patch: E::Patch,
) -> Boxed<'a, E> {
    let span = span::<E>(tx, "update");
    let tenant = tx.tenant(E::SCOPE);
    let mut qb = QueryBuilder::<Postgres>::new(E::UPDATE_HEAD);
    E::push_patch(&mut qb, patch);
    qb.push(E::UPDATE_WHERE);
    qb.push_bind(tenant);
    qb.push(E::ID_EQ);
    qb.push_bind(id);
    let versioned = expected.is_some();
    if let (Some(v), Some(eq)) = (expected, E::VERSION_EQ) {
        qb.push(eq);
        qb.push_bind(v);
    }
    E::push_live(&mut qb);
    qb.push(E::RETURNING);
    Box::pin(
        async move {
            if let Some(row) = tx.run_optional(qb.build()).await? {
                return decode(&row);
            }
            // No row: absent (or another tenant's), or present at another version.
            if versioned
                && tx
                    .fetch_optional(by_id::<E>(E::EXISTS, tenant, id))
                    .await?
                    .is_some()
            {
                Err(Error::Conflict)
            } else {
                Err(Error::NotFound)
            }
        }
        .instrument(span),
    )
}

/// Deletes (soft or hard) by id; [`Error::NotFound`] when the tenant has no such live entity.
pub fn delete<'a, E: PgCrud + 'a>(tx: &'a mut TenantTx<'_>, id: Uuid) -> Boxed<'a, ()> {
    let span = span::<E>(tx, "delete");
    let q = by_id::<E>(E::DELETE, tx.tenant(E::SCOPE), id);
    Box::pin(
        async move {
            match tx.run(q).await? {
                0 => Err(Error::NotFound),
                _ => Ok(()),
            }
        }
        .instrument(span),
    )
}

/// Deletes every row of the caller's tenant, soft-deleted ones included; returns the count.
pub fn delete_tenant<'a, E: PgCrud + 'a>(tx: &'a mut TenantTx<'_>) -> Boxed<'a, u64> {
    let span = span::<E>(tx, "delete_tenant");
    let q = super::bind_value(sqlx::query(E::DELETE_TENANT), tx.tenant(E::SCOPE));
    Box::pin(tx.run(q).instrument(span))
}
