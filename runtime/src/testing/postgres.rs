//! The PostgreSQL kit: [`isolation`] runs the start-up audit of your database, the contract's
//! attacks on your entity ([`super::isolation`]), and the attacks only SQL can make.
//!
//! | check | passes when |
//! | --- | --- |
//! | the start-up audit | no finding (RLS on and forced, the generated policy and no other, no view or definer function over a tenant table, privileges, keys, migrations); each finding is quoted with its fix |
//! | hand-written SQL in the tenant's transaction | `count(*)` of the table is the tenant's own, and rows carrying the other tenant's id are invisible |
//! | a context set by hand | after `set_config('tenant_store.ctx', …)` with the other tenant's id, in the transaction and for the session, the other's rows stay invisible |
//! | another role | `SET ROLE` to the table's owner is refused, or sees nothing of the other tenant |
//! | state left on a connection | after a transaction that copied its context to the session, no pooled connection without a tenant sees that tenant's rows |
//!
//! The entity must be updatable (an `append_only` store has no `update`) and derive `Debug`.

use std::fmt::Debug;

use sqlx::AssertSqlSafe;
use uuid::Uuid;

use super::{Report, fresh_tenant};
use crate::Principal;
use crate::contract::TenantStore;
use crate::postgres::audit::ident;
use crate::postgres::{Db, PgCrud, PgEntity, Store, Updatable};

/// How many connections the state check holds at once (at most the pool's size): enough to
/// meet the one the transaction ran on in a small pool.
const CONNECTIONS_TRIED: usize = 8;

/// Runs every PostgreSQL check on `E` through `db`, the way your application connects (the
/// application role). `new(n, id)` makes the `New` value of the `n`th seeded entity, with the
/// id `id` when it is given.
pub async fn isolation<E>(db: &Db, new: impl Fn(u32, Option<Uuid>) -> E::New) -> Report
where
    E: PgCrud + Debug + Sync,
    E::Kind: Updatable,
{
    let store = Store::<E, E::Kind>::new();
    let audit = match db.raw().await {
        Ok(mut raw) => match crate::postgres::audit::findings(&mut raw).await {
            Ok(found) if found.is_empty() => None,
            Ok(found) => Some(found.join("; ")),
            Err(e) => Some(format!("the audit could not run: {e}")),
        },
        Err(e) => Some(format!("no connection: {e}")),
    };
    let mut report = super::isolation(&store, db, &new).await;
    report.check("the start-up audit finds nothing", audit);
    let (a, b) = (fresh_tenant(), fresh_tenant());
    for (who, from) in [(&a, 200), (&b, 300)] {
        for n in from..from + super::SEEDED {
            if let Err(e) = TenantStore::insert(&store, db, who, new(n, None)).await {
                report.check("seeding for SQL", Some(format!("insert failed: {e}")));
                return report;
            }
        }
    }
    let sql = Sql::<E>::new();
    for side in [Side::new(&a, &b, ("A", "B")), Side::new(&b, &a, ("B", "A"))] {
        sql.hand_written(db, &side, &mut report).await;
        sql.context_by_hand(db, &side, &mut report).await;
        sql.owner_role(db, &side, &mut report).await;
    }
    sql.state_left(db, &a, &mut report).await;
    for who in [&a, &b] {
        let _ = TenantStore::delete_tenant(&store, db, who).await;
    }
    report
}

/// One direction of an attack: `me` against `other`, with their names in the report.
struct Side<'a> {
    me: &'a Principal,
    other: &'a Principal,
    /// `me`'s name, then `other`'s.
    names: (&'a str, &'a str),
}

impl<'a> Side<'a> {
    fn new(me: &'a Principal, other: &'a Principal, names: (&'a str, &'a str)) -> Self {
        Self { me, other, names }
    }
}

/// The statements the SQL checks send, for `E`'s table.
struct Sql<E> {
    /// `"schema"."table"`.
    table: String,
    /// `"user_id"` or `"org_id"`.
    scope: String,
    _entity: std::marker::PhantomData<fn() -> E>,
}

impl<E: PgEntity> Sql<E> {
    fn new() -> Self {
        Self {
            table: format!("{}.{}", ident(E::SCHEMA), ident(E::TABLE)),
            scope: ident(E::SCOPE.as_str()),
            _entity: std::marker::PhantomData,
        }
    }

    fn tenant_of(who: &Principal) -> Uuid {
        who.tenant(E::SCOPE)
    }

    /// `count(*)` of the table, all of it (`None`) or of one tenant's id, in `tx`.
    async fn count(
        &self,
        tx: &mut crate::postgres::TenantTx<'_>,
        of: Option<Uuid>,
    ) -> crate::Result<i64> {
        let sql = format!(
            "SELECT count(*) FROM {} WHERE $1::uuid IS NULL OR {} = $1",
            self.table, self.scope
        );
        let (n,): (i64,) = tx
            .fetch_one_as(sqlx::query(AssertSqlSafe(sql)).bind(of))
            .await?;
        Ok(n)
    }

    /// `SELECT count(*)` in `me`'s transaction: the tenant's own, and none of `other`'s.
    async fn hand_written(&self, db: &Db, side: &Side<'_>, report: &mut Report) {
        let (me, other, (m, o)) = (side.me, side.other, side.names);
        let failure = async {
            let mut tx = db.begin(me).await.map_err(|e| e.to_string())?;
            let all = self.count(&mut tx, None).await.map_err(|e| e.to_string())?;
            let mine = self
                .count(&mut tx, Some(Self::tenant_of(me)))
                .await
                .map_err(|e| e.to_string())?;
            let theirs = self
                .count(&mut tx, Some(Self::tenant_of(other)))
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(match (all, mine, theirs) {
                (_, _, t) if t != 0 => Some(format!("sees {t} of {o}'s rows")),
                (a, m, _) if a != m => Some(format!("sees {a} rows, its own are {m}")),
                (_, 0, _) => Some(format!("sees none of {m}'s own rows")),
                _ => None,
            })
        }
        .await
        .unwrap_or_else(Some);
        report.check(
            format!("hand-written SQL in {m}'s transaction sees {m}'s rows only"),
            failure,
        );
    }

    /// `set_config` of the context with `other`'s id, in the transaction and for the session,
    /// in `me`'s transaction.
    async fn context_by_hand(&self, db: &Db, side: &Side<'_>, report: &mut Report) {
        let (me, other, (m, o)) = (side.me, side.other, side.names);
        let theirs = Self::tenant_of(other);
        let mut seen = Vec::new();
        for (value, local) in [
            (theirs.to_string(), true),
            (theirs.to_string(), false),
            (format!("{}:{}", other.user_id(), other.org_id()), true),
        ] {
            let Ok(mut tx) = db.begin(me).await else {
                continue;
            };
            let set = tx
                .fetch_all(
                    sqlx::query("SELECT pg_catalog.set_config('tenant_store.ctx', $1, $2)")
                        .bind(&value)
                        .bind(local),
                )
                .await;
            if set.is_ok()
                && let Ok(n) = self.count(&mut tx, Some(theirs)).await
                && n != 0
            {
                seen.push(format!(
                    "{n} rows after setting {value:?} (is_local {local})"
                ));
            }
        }
        let failure = (!seen.is_empty()).then(|| seen.join("; "));
        report.check(
            format!("a context set by hand in {m}'s transaction shows none of {o}'s rows"),
            failure,
        );
    }

    /// `SET LOCAL ROLE` to the table's owner in `me`'s transaction.
    async fn owner_role(&self, db: &Db, side: &Side<'_>, report: &mut Report) {
        let (me, other, (m, o)) = (side.me, side.other, side.names);
        let failure = async {
            let mut tx = db.begin(me).await.map_err(|e| e.to_string())?;
            let (owner,): (String,) = tx
                .fetch_one_as(
                    sqlx::query(
                        "SELECT tableowner::text FROM pg_catalog.pg_tables \
                         WHERE schemaname = $1 AND tablename = $2",
                    )
                    .bind(E::SCHEMA)
                    .bind(E::TABLE),
                )
                .await
                .map_err(|e| format!("the table's owner cannot be read: {e}"))?;
            let set = format!("SET LOCAL ROLE {}", ident(&owner));
            if tx.execute(sqlx::query(AssertSqlSafe(set))).await.is_err() {
                return Ok(None);
            }
            let n = self
                .count(&mut tx, Some(Self::tenant_of(other)))
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>((n != 0).then(|| format!("as {owner:?}, sees {n} of {o}'s rows")))
        }
        .await
        .unwrap_or_else(Some);
        report.check(
            format!("the table owner's role, taken in {m}'s transaction, shows none of {o}'s rows"),
            failure,
        );
    }

    /// A transaction of `who` copies its context to the session and commits; then connections
    /// without a tenant must see none of `who`'s rows.
    async fn state_left(&self, db: &Db, who: &Principal, report: &mut Report) {
        let copied = async {
            let mut tx = db.begin(who).await?;
            // A generated read sets the context in the transaction; the copy outlives it.
            self.count(&mut tx, None).await?;
            tx.fetch_all(sqlx::query(
                "SELECT pg_catalog.set_config('tenant_store.ctx', \
                 pg_catalog.current_setting('tenant_store.ctx', true), false)",
            ))
            .await?;
            tx.commit().await
        }
        .await;
        let sql = format!(
            "SELECT count(*) FROM {} WHERE {} = $1",
            self.table, self.scope
        );
        let mut seen = None;
        let mut raws = Vec::new();
        let tries = CONNECTIONS_TRIED.min(db.pool_status().max_size);
        for _ in 0..tries {
            let Ok(mut raw) = db.raw().await else { break };
            let n: Result<i64, _> = sqlx::query_scalar(AssertSqlSafe(sql.clone()))
                .bind(Self::tenant_of(who))
                .fetch_one(&mut *raw)
                .await;
            if let Ok(n) = n
                && n != 0
            {
                seen = Some(format!(
                    "a connection without a tenant sees {n} of A's rows"
                ));
            }
            // Held, so that the next one is another connection.
            raws.push(raw);
        }
        let failure = match copied {
            Err(e) => Some(format!("the transaction failed: {e}")),
            Ok(()) => seen,
        };
        report.check(
            "a context A's transaction left on its connection shows nothing",
            failure,
        );
    }
}
