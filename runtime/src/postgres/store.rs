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

use super::run::{Guard, Runner, Statement, TenantDb, push_gate};
use super::{Db, PgColumn, PgEntity, PgQuery};
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
    /// `SELECT <all> ... WHERE <gate> AND id = $1 [AND live <> $2]`. Every statement ends its
    /// parameters with the signed context, set by the gate (see the `run` module); none names
    /// the tenant, which the policy supplies.
    const GET: &'static str;
    /// `INSERT ... SELECT $1 id, $2 tenant, data... WHERE <gate> RETURNING <all>`.
    const CREATE: &'static str;
    /// `INSERT ... SELECT $1 tenant, u.* FROM UNNEST($2 ids, data arrays...) AS u WHERE <gate>`.
    const CREATE_MANY: &'static str;
    /// Hard `DELETE` or soft-delete `UPDATE` by id, gated like [`GET`](Self::GET).
    const DELETE: &'static str;
    /// `DELETE ... WHERE <gate $1>`: every row of the tenant, soft-deleted ones included.
    const DELETE_TENANT: &'static str;
    /// `SELECT 1` by id among live rows, gated like [`GET`](Self::GET).
    const EXISTS: &'static str;
    /// `SELECT <all> FROM t WHERE ` (the gate is pushed next).
    const LIST_HEAD: &'static str;
    /// `SELECT count(*) FROM t WHERE ` (the gate is pushed next).
    const COUNT_HEAD: &'static str;
    /// `UPDATE t SET id = id` (patch assignments are pushed next).
    const UPDATE_HEAD: &'static str;
    /// Managed assignments, then ` WHERE ` (the gate is pushed next).
    const UPDATE_WHERE: &'static str;
    /// ` AND id = `.
    const ID_EQ: &'static str;
    /// ` RETURNING <all>`.
    const RETURNING: &'static str;
    /// ` AND version = ` when the entity has a version.
    const VERSION_EQ: Option<&'static str>;
    /// Binds the soft-delete value as `$2` (generated only with soft delete).
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
/// `Entity::store()`. Zero-sized. Every method takes a [`Guard`]: `&mut TenantTx` (the call
/// joins the transaction) or `&mut TenantDb` (the call is one statement, one round trip,
/// committed on its own); it acts only inside that tenant, and returns a boxed `Send` future ([`Boxed`])
/// to `.await`: the statement is built (and the tracing span opened) when the method is called,
/// and sent when the future is polled.
pub struct Store<E, K>(std::marker::PhantomData<fn() -> (E, K)>);

impl<E: PgCrud<Kind = K>, K: Kind> Store<E, K> {
    /// The store of `E`.
    pub const fn new() -> Self {
        Self(std::marker::PhantomData)
    }

    /// The entity with this id in the caller's tenant, or `None` (also when the id belongs to
    /// another tenant).
    pub fn get<'t>(&self, on: &'t mut impl Guard, id: Uuid) -> Boxed<'t, Option<E>> {
        get(on.runner(), id)
    }

    /// Live entities of the caller's tenant matching `filter`, in the filter's order (the id
    /// ascending by default), one page at a time: the listing holds the next page's request
    /// when there are more. A cursor another listing made is [`Error::InvalidInput`].
    pub fn list<'t>(
        &self,
        on: &'t mut impl Guard,
        filter: E::Filter,
        page: Page,
    ) -> Boxed<'t, Listing<E>> {
        list(on.runner(), filter, page)
    }

    /// PostgreSQL's plan (`EXPLAIN (COSTS OFF)`, text lines) of the statement
    /// [`list`](Self::list) sends for this filter and page: to check that an order or a filter
    /// is served by its index. It is the *generic* plan (the values shown as `$1`, `$2`, ...),
    /// the one PostgreSQL uses for a cached statement whatever its values, and it shows no
    /// estimates: the planner's statistics cover every tenant's rows, so estimates, or a plan
    /// chosen for the caller's values, would tell whether another tenant holds a value.
    pub fn explain_list<'t>(
        &self,
        on: &'t mut impl Guard,
        filter: E::Filter,
        page: Page,
    ) -> Boxed<'t, Vec<String>> {
        explain_list::<E>(on.runner(), filter, page)
    }

    /// How many live entities of the caller's tenant match `filter` (the same filter as
    /// [`list`](Self::list): the count equals the length of the full listing).
    pub fn count<'t>(&self, on: &'t mut impl Guard, filter: E::Filter) -> Boxed<'t, u64> {
        count::<E>(on.runner(), filter)
    }

    /// Inserts an entity into the caller's tenant and returns it. [`Error::Duplicate`] when the
    /// id is taken in this tenant.
    pub fn create<'t>(&self, on: &'t mut impl Guard, new: E::New) -> Boxed<'t, E> {
        create(on.runner(), new)
    }

    /// Inserts every row into the caller's tenant in statements of [`CHUNK`] rows, consuming
    /// the iterator lazily so memory stays flat. All or nothing: a failing row fails the call
    /// (and aborts a [`TenantTx`](super::TenantTx)); on a [`TenantDb`], up to [`CHUNK`] rows are one statement
    /// and more are one transaction. Returns the number inserted.
    pub fn create_many<'t, I>(&self, on: &'t mut impl Guard, rows: I) -> Boxed<'t, u64>
    where
        I: IntoIterator<Item = E::New> + Send + 't,
        I::IntoIter: Send,
    {
        create_many::<E, I>(on.runner(), rows)
    }

    /// Deletes every row of the caller's tenant (soft-deleted ones included: this is for
    /// offboarding) and returns how many there were.
    pub fn delete_tenant<'t>(&self, on: &'t mut impl Guard) -> Boxed<'t, u64> {
        delete_tenant::<E>(on.runner())
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
    pub fn update<'t>(&self, on: &'t mut impl Guard, id: Uuid, patch: E::Patch) -> Boxed<'t, E> {
        update::<E, E::Version>(on.runner(), id, None, patch)
    }

    /// Deletes the entity (or soft-deletes it: sets its `soft_delete` field to the deleted
    /// value, after which it looks absent). [`Error::NotFound`] when the caller's tenant has no
    /// such live entity.
    pub fn delete<'t>(&self, on: &'t mut impl Guard, id: Uuid) -> Boxed<'t, ()> {
        delete::<E>(on.runner(), id)
    }
}

impl<E: PgCrud<Kind = Versioned>> Store<E, Versioned> {
    /// Applies `patch` to the entity with this id in the caller's tenant and returns it.
    /// [`Error::NotFound`] when there is none (including when it belongs to another tenant);
    /// [`Error::Conflict`] when the stored version is not `expected_version`. Bumps the version
    /// on success.
    pub fn update<'t>(
        &self,
        on: &'t mut impl Guard,
        id: Uuid,
        expected_version: E::Version,
        patch: E::Patch,
    ) -> Boxed<'t, E> {
        update::<E, E::Version>(on.runner(), id, Some(expected_version), patch)
    }

    /// Deletes the entity (or soft-deletes it: sets its `soft_delete` field to the deleted
    /// value, after which it looks absent). [`Error::NotFound`] when the caller's tenant has no
    /// such live entity.
    pub fn delete<'t>(&self, on: &'t mut impl Guard, id: Uuid) -> Boxed<'t, ()> {
        delete::<E>(on.runner(), id)
    }
}

/// The kinds with `update` and `delete`: the stores that keep the [`TenantStore`] contract.
pub trait Updatable: Kind {}
impl Updatable for Mutable {}
impl Updatable for Versioned {}

/// One operation per call on a [`TenantDb`]: each is one statement, one round trip, committed
/// on its own. The contract's `update` replaces every data field and does not check the version.
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
        create(TenantDb::new(db, who).into_runner(), new)
    }

    fn get<'a>(&'a self, db: &'a Db, who: &'a Principal, id: &'a Uuid) -> Boxed<'a, Option<E>> {
        get(TenantDb::new(db, who).into_runner(), *id)
    }

    fn list<'a>(&'a self, db: &'a Db, who: &'a Principal, page: Page) -> Boxed<'a, Listing<E>> {
        list(
            TenantDb::new(db, who).into_runner(),
            E::Filter::default(),
            page,
        )
    }

    fn count<'a>(&'a self, db: &'a Db, who: &'a Principal) -> Boxed<'a, u64> {
        count::<E>(TenantDb::new(db, who).into_runner(), E::Filter::default())
    }

    fn update<'a>(
        &'a self,
        db: &'a Db,
        who: &'a Principal,
        id: &'a Uuid,
        new: E::New,
    ) -> Boxed<'a, E> {
        update::<E, E::Version>(
            TenantDb::new(db, who).into_runner(),
            *id,
            None,
            E::patch_of(new),
        )
    }

    fn delete<'a>(&'a self, db: &'a Db, who: &'a Principal, id: &'a Uuid) -> Boxed<'a, ()> {
        delete::<E>(TenantDb::new(db, who).into_runner(), *id)
    }

    fn delete_tenant<'a>(&'a self, db: &'a Db, who: &'a Principal) -> Boxed<'a, u64> {
        delete_tenant::<E>(TenantDb::new(db, who).into_runner())
    }
}

fn span<E: PgCrud>(r: &Runner<'_>, op: &'static str) -> tracing::Span {
    tracing::info_span!("tenant_store", entity = E::ENTITY, op, tenant = %r.tenant(E::SCOPE))
}

fn decode<E: PgCrud>(row: &sqlx::postgres::PgRow) -> Result<E> {
    E::from_row(row).map_err(Error::from)
}

/// A statement by id: `$1` the id, then the soft-delete value if any, the context last.
fn by_id<E: PgCrud>(sql: &'static str, id: Uuid) -> Result<Statement> {
    Statement::fixed(E::bind_live(super::bind_value(sqlx::query(sql), id)))
}

/// The entity with this id in the caller's tenant, or `None`.
pub fn get<'a, E: PgCrud + 'a>(r: Runner<'a>, id: Uuid) -> Boxed<'a, Option<E>> {
    let mut r = r.reading();
    let span = span::<E>(&r, "get");
    let st = by_id::<E>(E::GET, id);
    Box::pin(
        async move { r.optional(&st?).await?.map(|row| decode(&row)).transpose() }.instrument(span),
    )
}

/// Live entities of the caller's tenant matching `filter`, in its order, one page.
pub fn list<'a, E: PgCrud + 'a>(
    r: Runner<'a>,
    filter: E::Filter,
    page: Page,
) -> Boxed<'a, Listing<E>> {
    let mut r = r.reading();
    let span = span::<E>(&r, "list");
    let tenant = r.tenant(E::SCOPE);
    let built = list_statement::<E>(tenant, r.cursor_key(), filter, &page);
    let key = r.cursor_key().clone();
    Box::pin(
        async move {
            let (st, plan) = built?;
            let rows = r.all(&st).await?;
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

/// PostgreSQL's plan of the statement [`list`] sends for this filter and page, as `EXPLAIN
/// (COSTS OFF)`'s text lines: the plan's shape, made with the values unknown
/// ([`Runner::explain_generic`] says why).
pub fn explain_list<'a, E: PgCrud + 'a>(
    mut r: Runner<'a>,
    filter: E::Filter,
    page: Page,
) -> Boxed<'a, Vec<String>> {
    let tenant = r.tenant(E::SCOPE);
    let built = list_statement::<E>(tenant, r.cursor_key(), filter, &page);
    Box::pin(async move {
        let (st, _) = built?;
        let lines = r.explain_generic(&st).await?;
        r.commit().await?;
        Ok(lines)
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

/// `SELECT ... WHERE <gate> [live] [filters] [after the cursor] ORDER BY [field,] id
/// LIMIT page + 1`: one row more than the page tells whether there is a next one. `tenant`
/// binds the cursor; the statement names no tenant (the policy does).
fn list_statement<E: PgCrud>(
    tenant: Uuid,
    key: &query::CursorKey,
    filter: E::Filter,
    page: &Page,
) -> Result<(Statement, ListPlan<E>)> {
    let limit = page.checked_limit()?;
    let mut qb = QueryBuilder::<Postgres>::new(E::LIST_HEAD);
    push_gate(&mut qb);
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
    Ok((Statement::built(qb)?, plan))
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

/// Pushes ` AND <column> <test>` for one field's condition, when the filter sets it; every
/// value is a bind parameter. (Taking the `Option` here, not in generated code: an `if let`
/// per field there made rustc track which of the filter's fields had moved.)
pub fn push_cond<F: PgColumn>(
    qb: &mut QueryBuilder<Postgres>,
    column: &'static str,
    cond: Option<query::Cond<F>>,
) {
    use std::ops::Bound;

    use query::Op;
    let Some(cond) = cond else {
        return;
    };
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
pub fn count<'a, E: PgCrud + 'a>(r: Runner<'a>, filter: E::Filter) -> Boxed<'a, u64> {
    let mut r = r.reading();
    let span = span::<E>(&r, "count");
    let mut qb = QueryBuilder::<Postgres>::new(E::COUNT_HEAD);
    push_gate(&mut qb);
    E::push_live(&mut qb);
    let _order = E::push_filter(&mut qb, filter);
    let st = Statement::built(qb);
    Box::pin(
        async move {
            let row = r.optional(&st?).await?.ok_or(Error::NotFound)?;
            let n: i64 = sqlx::Row::try_get(&row, 0).map_err(Error::from)?;
            Ok(u64::try_from(n).unwrap_or(0))
        }
        .instrument(span),
    )
}

/// Inserts one entity into the caller's tenant.
pub fn create<'a, E: PgCrud + 'a>(mut r: Runner<'a>, new: E::New) -> Boxed<'a, E> {
    let span = span::<E>(&r, "create");
    let id = E::new_id(&new).unwrap_or_else(Uuid::new_v4);
    let mut params = Params(Some(super::bind_value(
        super::bind_value(sqlx::query(E::CREATE), id),
        r.tenant(E::SCOPE),
    )));
    E::columns(new, &mut params);
    let st = Statement::fixed(params.0.expect("binding keeps the query"));
    Box::pin(
        async move { decode(&r.optional(&st?).await?.ok_or(Error::NotFound)?) }.instrument(span),
    )
}

/// Inserts every row, [`CHUNK`] rows per statement, consuming the iterator lazily (in the
/// future, not before it is polled). More than one chunk on a [`TenantDb`] is one transaction.
pub fn create_many<'a, E, I>(mut r: Runner<'a>, rows: I) -> Boxed<'a, u64>
where
    E: PgCrud + 'a,
    I: IntoIterator<Item = E::New> + Send + 'a,
    I::IntoIter: Send,
{
    let span = span::<E>(&r, "create_many");
    let tenant = r.tenant(E::SCOPE);
    Box::pin(
        async move {
            let mut rows = rows.into_iter().peekable();
            let mut inserted = 0;
            let mut first = true;
            loop {
                let chunk: Vec<E::New> = rows.by_ref().take(CHUNK).collect();
                let n = chunk.len();
                if n == 0 {
                    break;
                }
                if first && rows.peek().is_some() {
                    r.begin().await?;
                }
                first = false;
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
                inserted += r.affected(&Statement::fixed(q)?).await?;
                if n < CHUNK {
                    break;
                }
            }
            r.commit().await?;
            Ok(inserted)
        }
        .instrument(span),
    )
}

/// Applies `patch`; with a version, only if the stored one is `expected`.
pub fn update<'a, E: PgCrud + 'a, V: PgColumn + 'a>(
    mut r: Runner<'a>,
    id: Uuid,
    expected: Option<V>,
    patch: E::Patch,
) -> Boxed<'a, E> {
    let span = span::<E>(&r, "update");
    let mut qb = QueryBuilder::<Postgres>::new(E::UPDATE_HEAD);
    E::push_patch(&mut qb, patch);
    qb.push(E::UPDATE_WHERE);
    push_gate(&mut qb);
    qb.push(E::ID_EQ);
    qb.push_bind(id);
    let versioned = expected.is_some();
    if let (Some(v), Some(eq)) = (expected, E::VERSION_EQ) {
        qb.push(eq);
        qb.push_bind(v);
    }
    E::push_live(&mut qb);
    qb.push(E::RETURNING);
    let st = Statement::built(qb);
    Box::pin(
        async move {
            if let Some(row) = r.optional(&st?).await? {
                return decode(&row);
            }
            // No row: absent (or another tenant's), or present at another version.
            if versioned && r.optional(&by_id::<E>(E::EXISTS, id)?).await?.is_some() {
                Err(Error::Conflict)
            } else {
                Err(Error::NotFound)
            }
        }
        .instrument(span),
    )
}

/// Deletes (soft or hard) by id; [`Error::NotFound`] when the tenant has no such live entity.
pub fn delete<'a, E: PgCrud + 'a>(mut r: Runner<'a>, id: Uuid) -> Boxed<'a, ()> {
    let span = span::<E>(&r, "delete");
    let st = by_id::<E>(E::DELETE, id);
    Box::pin(
        async move {
            match r.deleted(&st?).await? {
                0 => Err(Error::NotFound),
                _ => Ok(()),
            }
        }
        .instrument(span),
    )
}

/// Deletes every row of the caller's tenant, soft-deleted ones included; returns the count.
pub fn delete_tenant<'a, E: PgCrud + 'a>(mut r: Runner<'a>) -> Boxed<'a, u64> {
    let span = span::<E>(&r, "delete_tenant");
    let st = Statement::fixed(sqlx::query(E::DELETE_TENANT));
    Box::pin(async move { r.deleted(&st?).await }.instrument(span))
}
