// Generated code names only absolute paths: it compiles under deny(warnings, missing_docs) with
// local items called Result, Ok, Option, Box, Some, None, Err, Vec, String in scope.
#![deny(warnings, missing_docs)]
//! Hygiene check.

#[allow(dead_code)]
struct Result;
#[allow(dead_code)]
struct Option;
#[allow(dead_code)]
struct Box;
#[allow(dead_code)]
struct Vec;
#[allow(dead_code)]
struct Ok;
#[allow(dead_code)]
struct Err;
#[allow(dead_code)]
struct Some;
#[allow(dead_code)]
struct None;

mod entity {
    //! The entity.
    use tenant_store::tenant_store;

    /// A thing.
    #[tenant_store(backend = "postgres", scope = "org_id", new_derive(Default))]
    pub struct Thing {
        /// Id.
        #[tenant_store(id)]
        pub id: ::uuid::Uuid,
        /// Tenant.
        pub org_id: ::uuid::Uuid,
        /// Label.
        #[tenant_store(filter)]
        pub label: ::std::string::String,
        /// Version.
        #[tenant_store(version)]
        pub version: i64,
    }
}

fn main() {
    let _ = entity::Thing::store();
}
