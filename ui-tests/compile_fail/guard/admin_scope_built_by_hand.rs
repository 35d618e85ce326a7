// Rule: an admin scope is opened only by `Db::admin` with an actor and a reason; it cannot be built by hand.
use tenant_store::postgres::AdminTx;

fn f() -> AdminTx<'static> {
    AdminTx { session: uuid::Uuid::nil() }
}

fn main() {}
