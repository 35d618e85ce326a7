//! PostgreSQL expansion: the `New`, `Patch` and `Filter` types, the `{Entity}Store` alias of the
//! runtime's `tenant_store::postgres::Store<E, Kind>` (whose methods are written once there), the
//! row decoder, the `PgEntity` impl (migration SQL), the `PgCrud` impl (SQL text and binders),
//! and compile-time type assertions.
//!
//! SQL text is fixed at expansion time from identifiers (double-quoted); every value is a bind
//! parameter. No statement names the tenant: each carries the signed context in its gate, and
//! the table's RLS policy compares the scope column with it (the runtime's `run` module says
//! why).
//!
//! [`expand`] assembles the output from one method of [`Pg`] per part: the SQL text of each
//! operation, the filter and order, the patch, the table's description for the migrations, and
//! the compile-time assertions.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use super::common;
use crate::model::{Field, Model, Postgres, Role};

fn q(ident: &str) -> String {
    format!("\"{ident}\"")
}

/// What every part of one entity's expansion shares.
struct Pg<'a> {
    m: &'a Model,
    pg: &'a Postgres,
    /// `::tenant_store::__private` and its `pg` module, as the aliases the impls' block
    /// brings into scope ([`expand`]); the public items name the full paths.
    ts: TokenStream,
    p: TokenStream,
    entity_name: String,
    /// The schema-qualified table: nothing on the search path (a temporary table, say) can
    /// stand in for it.
    table: String,
    id_col: String,
    scope_col: String,
    all_cols: String,
    data: Vec<&'a Field>,
    order_ty: syn::Ident,
    /// ` AND <soft-delete column> <> $2`, or nothing.
    live_sql: String,
    /// `<gate> AND <id> = $1`: statements by id take the id as `$1`, the soft-delete value
    /// (if any) as `$2`, then the context.
    gate_and_id: String,
    /// `, version = version + 1, updated_at = now()`, as far as the entity has them.
    managed_sets: String,
}

/// The runtime's `__private::pg::DECODED_AT_ONCE`: the most fields one `decode` call takes.
const DECODED_AT_ONCE: usize = 12;

fn col(f: &Field) -> String {
    q(&Model::column_name(f))
}

pub fn expand(m: &Model, pg: &Postgres) -> TokenStream {
    let x = Pg::new(m, pg);
    let (ts, p) = (&x.ts, &x.p);
    let entity = m.ident();
    let entity_name = &x.entity_name;
    let new_ty = format_ident!("New{}", entity);
    let filter_ty = format_ident!("{}Filter", entity);
    let store_ty = format_ident!("{}Store", entity);
    let order_ty = &x.order_ty;
    let id_f = &m.fields[m.id];
    let scope_variant = common::scope(m);
    let (schema_lit, table_lit) = (&pg.schema, &pg.table);
    let id_name = Model::column_name(id_f);
    // A `?` per chunk of fields, not per field (see the runtime's `DecodeColumns`).
    let field_idents: Vec<_> = m.fields.iter().map(|f| &f.ident).collect();
    let decode_chunks = m
        .fields
        .chunks(DECODED_AT_ONCE)
        .enumerate()
        .map(|(i, chunk)| {
            let (idents, tys) = chunk
                .iter()
                .map(|f| (&f.ident, &f.ty))
                .unzip::<_, _, Vec<_>, Vec<_>>();
            let first = i * DECODED_AT_ONCE;
            quote!(let ( #( #idents, )* ) = #p::decode::<( #( #tys, )* )>(row, #first)?;)
        });
    let kind = if pg.append_only {
        quote!(AppendOnly)
    } else if m.version.is_some() {
        quote!(Versioned)
    } else {
        quote!(Mutable)
    };
    let new_doc = format!(
        "A new `{entity_name}` for `{store_ty}::create`. The scope field is absent: it comes from the tenant context."
    );
    let store_doc = format!("The tenant-scoped store of `{entity_name}` (table `{table_lit}`).");
    let new_struct = common::new_struct(m, &new_doc);
    let pg_path = quote!(::tenant_store::__private::pg);
    let store_alias = common::store_alias(
        m,
        quote!(#pg_path::Store<#entity, #pg_path::#kind>),
        &store_doc,
    );
    let id_ident = &id_f.ident;
    // Spanned at the id's type: a wrong one is reported there, once (rustc merges the errors of
    // the three uses).
    let into_uuid = quote_spanned!(id_f.ty.span()=> #ts::IdType::into_uuid);
    let data_idents: Vec<_> = x.data.iter().map(|f| &f.ident).collect();
    let (live_methods, (version_eq, version_ty)) = (x.live_methods(), x.version());
    let statements = x.statements();
    let patch = x.patch();
    let (patch_type, patch_assoc, push_patch, patch_of) =
        (&patch.ty, &patch.assoc, &patch.push, &patch.of);
    let ((filter_struct, filter_impl), filter_pushes) = (x.filter_type(), x.filter_pushes());
    let order_enum = common::order_enum(m);
    let order_methods = x.order_methods();
    let (assertions, table_def) = (x.assertions(), x.table_def());

    quote! {
        #new_struct

        #patch_type

        #filter_struct

        #store_alias

        #filter_impl

        #order_enum

        // The impls, in a block that names the runtime by two short aliases (as serde_derive
        // does): a path of one segment costs the compiler less than one of four, hundreds of
        // times per entity.
        const _: () = {
            use ::tenant_store::__private as #ts;
            use #ts::pg as #p;

            #assertions

        #[automatically_derived]
        impl #p::PgEntity for #entity {
            const ENTITY: &'static str = #entity_name;
            const SCHEMA: &'static str = #schema_lit;
            const TABLE: &'static str = #table_lit;
            const SCOPE: #ts::Scope = #scope_variant;
            const ID_COLUMN: &'static str = #id_name;
            fn from_row(row: &#p::PgRow) -> ::core::result::Result<Self, #p::SqlxError> {
                #( #decode_chunks )*
                ::core::result::Result::Ok(Self { #( #field_idents ),* })
            }
            const DEF: #p::TableDef<'static> = #table_def;
        }

        // The migrations find the entity here, wherever it is declared.
        #ts::inventory::submit! {
            #p::Registration {
                item: #p::Registered::Entity(<#entity as #p::PgEntity>::table_def),
                module: ::core::module_path!(),
            }
        }

        #[automatically_derived]
        impl #p::PgCrud for #entity {
            type New = #new_ty;
            type Patch = #patch_assoc;
            type Filter = #filter_ty;
            type Order = #order_ty;
            type Kind = #p::#kind;
            type Version = #version_ty;
            #statements
            const VERSION_EQ: ::core::option::Option<&'static str> = #version_eq;
            #live_methods
            fn new_id(new: &Self::New) -> ::core::option::Option<#ts::Uuid> {
                new.#id_ident.map(#into_uuid)
            }
            fn columns<C: #p::Columns>(new: Self::New, out: &mut C) {
                #( out.column(new.#data_idents); )*
            }
            fn push_filter(
                qb: &mut #p::QueryBuilder<#p::Postgres>,
                filter: Self::Filter,
            ) -> #ts::Sort<#order_ty> {
                #filter_pushes
                #p::default_sort(#order_ty::Id, filter.__order)
            }
            #order_methods
            #[allow(unused_variables)]
            fn push_patch(qb: &mut #p::QueryBuilder<#p::Postgres>, patch: Self::Patch) {
                #push_patch
            }
            fn id(&self) -> #ts::Uuid {
                #into_uuid(::core::clone::Clone::clone(&self.#id_ident))
            }
            #[allow(unused_variables)]
            fn patch_of(new: Self::New) -> Self::Patch {
                #patch_of
            }
        }
        };
    }
}

impl<'a> Pg<'a> {
    fn new(m: &'a Model, pg: &'a Postgres) -> Self {
        let data: Vec<&Field> = m.data_fields().collect();
        let live_sql = match &m.soft_delete {
            Some((i, _)) => format!(" AND {} <> $2", col(&m.fields[*i])),
            None => String::new(),
        };
        let id_col = col(&m.fields[m.id]);
        let by_id_gate = gate(if m.soft_delete.is_some() { 3 } else { 2 });
        let mut managed_sets = String::new();
        if let Some(v) = m.version {
            let c = col(&m.fields[v]);
            managed_sets.push_str(&format!(", {c} = {c} + 1"));
        }
        if let Some(u) = m.updated_at {
            managed_sets.push_str(&format!(", {} = now()", col(&m.fields[u])));
        }
        Self {
            m,
            pg,
            ts: quote!(__tenant_store),
            p: quote!(__tenant_store_pg),
            entity_name: m.ident().to_string(),
            table: format!("{}.{}", q(&pg.schema), q(&pg.table)),
            gate_and_id: format!("{by_id_gate} AND {id_col} = $1"),
            id_col,
            scope_col: col(&m.fields[m.scope]),
            all_cols: m.fields.iter().map(col).collect::<Vec<_>>().join(", "),
            data,
            order_ty: format_ident!("{}Order", m.ident()),
            live_sql,
            managed_sets,
        }
    }

    /// Soft delete: rows holding the deleted value look absent everywhere. Without it the
    /// trait's no-op defaults stand.
    fn live_methods(&self) -> TokenStream {
        let p = &self.p;
        let Some((i, expr)) = &self.m.soft_delete else {
            return quote!();
        };
        let and_not = format!(" AND {} <> ", col(&self.m.fields[*i]));
        quote! {
            fn bind_live(q: #p::PgQuery<'_>) -> #p::PgQuery<'_> {
                #p::bind(q, #expr)
            }
            fn push_live(qb: &mut #p::QueryBuilder<#p::Postgres>) {
                qb.push(#and_not);
                #p::push_bind(qb, #expr);
            }
        }
    }

    /// `VERSION_EQ` and the version's type (`i64` when the entity has none).
    fn version(&self) -> (TokenStream, TokenStream) {
        match self.m.version {
            Some(v) => {
                let eq = format!(" AND {} = ", col(&self.m.fields[v]));
                let vty = &self.m.fields[v].ty;
                (quote!(::core::option::Option::Some(#eq)), quote!(#vty))
            }
            None => (quote!(::core::option::Option::None), quote!(i64)),
        }
    }

    /// The SQL text of every operation, as `PgCrud`'s constants.
    fn statements(&self) -> TokenStream {
        let Self {
            table,
            all_cols,
            gate_and_id,
            live_sql,
            id_col,
            managed_sets,
            ..
        } = self;
        let get_sql = format!("SELECT {all_cols} FROM {table} WHERE {gate_and_id}{live_sql}");
        let (create_sql, create_many_sql) = self.inserts();
        let delete_sql = match &self.m.soft_delete {
            Some((i, _)) => {
                let c = col(&self.m.fields[*i]);
                format!(
                    "UPDATE {table} SET {c} = $2{managed_sets} WHERE {gate_and_id} AND {c} <> $2"
                )
            }
            None => format!("DELETE FROM {table} WHERE {gate_and_id}"),
        };
        let delete_tenant_sql = format!("DELETE FROM {table} WHERE {}", gate(1));
        let exists_sql = format!("SELECT 1 FROM {table} WHERE {gate_and_id}{live_sql}");
        // Listings: the runtime pushes the gate after the head.
        let list_head = format!("SELECT {all_cols} FROM {table} WHERE ");
        let count_head = format!("SELECT count(*) FROM {table} WHERE ");
        let update_head = format!("UPDATE {table} SET {id_col} = {id_col}");
        let update_where = format!("{managed_sets} WHERE ");
        let after_sql_id = format!(" AND {id_col} = ");
        let returning = format!(" RETURNING {all_cols}");
        quote! {
            const GET: &'static str = #get_sql;
            const CREATE: &'static str = #create_sql;
            const CREATE_MANY: &'static str = #create_many_sql;
            const DELETE: &'static str = #delete_sql;
            const DELETE_TENANT: &'static str = #delete_tenant_sql;
            const EXISTS: &'static str = #exists_sql;
            const LIST_HEAD: &'static str = #list_head;
            const COUNT_HEAD: &'static str = #count_head;
            const UPDATE_HEAD: &'static str = #update_head;
            const UPDATE_WHERE: &'static str = #update_where;
            const ID_EQ: &'static str = #after_sql_id;
            const RETURNING: &'static str = #returning;
        }
    }

    /// `CREATE` (one row: `$1` the id, `$2` the scope, then the data fields) and `CREATE_MANY`
    /// (`$1` the scope, then one array per column, unnested).
    fn inserts(&self) -> (String, String) {
        let (m, table, data) = (self.m, &self.table, &self.data);
        let (id_col, scope_col, all_cols) = (&self.id_col, &self.scope_col, &self.all_cols);
        let mut insert_cols = vec![id_col.clone(), scope_col.clone()];
        insert_cols.extend(data.iter().map(|f| col(f)));
        let mut insert_vals: Vec<String> = (1..=2 + data.len()).map(|i| format!("${i}")).collect();
        if let Some(v) = m.version {
            insert_cols.push(col(&m.fields[v]));
            insert_vals.push("1".into());
        }
        let create_sql = format!(
            "INSERT INTO {table} ({}) SELECT {} WHERE {} RETURNING {all_cols}",
            insert_cols.join(", "),
            insert_vals.join(", "),
            gate(3 + data.len())
        );
        let mut many_vals = vec!["$1".to_owned(), "u.*".to_owned()];
        if m.version.is_some() {
            many_vals.push("1".into());
        }
        let unnest_params = (2..=2 + data.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut many_cols = vec![scope_col.clone(), id_col.clone()];
        many_cols.extend(data.iter().map(|f| col(f)));
        if let Some(v) = m.version {
            many_cols.push(col(&m.fields[v]));
        }
        let create_many_sql = format!(
            "INSERT INTO {table} ({}) SELECT {} FROM UNNEST({unnest_params}) AS u WHERE {}",
            many_cols.join(", "),
            many_vals.join(", "),
            gate(3 + data.len())
        );
        (create_sql, create_many_sql)
    }

    /// The `Patch` type (none for an append-only entity), `PgCrud::Patch`, `push_patch`'s body
    /// and `patch_of`'s.
    fn patch(&self) -> Patch {
        let (p, m) = (&self.p, self.m);
        if self.pg.append_only {
            return Patch {
                ty: quote!(),
                assoc: quote!(()),
                push: quote!(),
                of: quote!(),
            };
        }
        let patch_ty = format_ident!("{}Patch", m.ident());
        let vis = &m.item.vis;
        let store_ty = format_ident!("{}Store", m.ident());
        let patch_doc =
            format!("Changes for `{store_ty}::update`; `None` leaves a field as it is.");
        let data_idents: Vec<_> = self.data.iter().map(|f| &f.ident).collect();
        let data_tys: Vec<_> = self.data.iter().map(|f| &f.ty).collect();
        let data_docs: Vec<TokenStream> = self
            .data
            .iter()
            .map(|f| common::field_docs(f, &self.entity_name))
            .collect();
        let update_sets = self.data.iter().map(|f| {
            let ident = &f.ident;
            let set = format!(", {} = ", col(f));
            quote!(#p::push_set(qb, #set, patch.#ident);)
        });
        Patch {
            ty: quote! {
                #[doc = #patch_doc]
                #[derive(Default)]
                #vis struct #patch_ty {
                    #( #data_docs pub #data_idents: ::core::option::Option<#data_tys>, )*
                }
            },
            assoc: quote!(#patch_ty),
            push: quote!(#( #update_sets )*),
            of: quote!(#patch_ty { #( #data_idents: ::core::option::Option::Some(new.#data_idents), )* }),
        }
    }

    fn filter_fields(&self) -> Vec<&'a Field> {
        self.m.fields.iter().filter(|f| f.filter).collect()
    }

    /// The `Filter` struct, and its methods (one per filter field, and `order_by`).
    fn filter_type(&self) -> (TokenStream, TokenStream) {
        let (ts, m, order_ty) = (&common::ts(), self.m, &self.order_ty);
        let vis = &m.item.vis;
        let filter_ty = format_ident!("{}Filter", m.ident());
        let store_ty = format_ident!("{}Store", m.ident());
        let filter_doc = format!(
            "Conditions (ANDed) and the order for `{store_ty}::list` and `count`; the empty filter \
             matches every live entity, in id order."
        );
        let filter_fields = self.filter_fields();
        let filter_idents: Vec<_> = filter_fields.iter().map(|f| &f.ident).collect();
        let filter_tys: Vec<_> = filter_fields.iter().map(|f| &f.ty).collect();
        let filter_method_docs = filter_fields.iter().map(|f| {
            let d = format!(
                "Keeps only entities whose `{}` meets `cond`: a value (equality) or a \
                 [`Cond`](::tenant_store::Cond) (`is_in`, a range, a null test, a prefix, as the \
                 field's type allows).",
                f.ident
            );
            quote!(#[doc = #d])
        });
        let filter_struct = quote! {
            #[doc = #filter_doc]
            #[derive(Default)]
            #vis struct #filter_ty {
                #( #filter_idents: ::core::option::Option<#ts::Cond<#filter_tys>>, )*
                __order: ::core::option::Option<#ts::Sort<#order_ty>>,
            }
        };
        let filter_impl = quote! {
            impl #filter_ty {
                /// The empty filter.
                pub fn new() -> Self {
                    ::core::default::Default::default()
                }
                #(
                    #filter_method_docs
                    pub fn #filter_idents(mut self, cond: impl ::core::convert::Into<#ts::Cond<#filter_tys>>) -> Self {
                        self.#filter_idents = ::core::option::Option::Some(cond.into());
                        self
                    }
                )*
                /// Orders the listing by `field` in `direction`, the id breaking ties in the same
                /// direction (by the id ascending when this is not called).
                pub fn order_by(mut self, field: #order_ty, direction: #ts::Direction) -> Self {
                    self.__order = ::core::option::Option::Some(#ts::Sort { field, direction });
                    self
                }
            }
        };
        (filter_struct, filter_impl)
    }

    /// `push_filter`'s conditions, one per filter field that is set.
    fn filter_pushes(&self) -> TokenStream {
        let p = &self.p;
        let pushes = self.filter_fields().into_iter().map(|f| {
            let ident = &f.ident;
            let c = col(f);
            quote!(#p::push_cond(qb, #c, filter.#ident);)
        });
        quote!(#( #pushes )*)
    }

    /// With `order_by` fields, the sort key and keyset of each; without, `PgCrud`'s defaults
    /// (the id alone) stand.
    fn order_methods(&self) -> Option<TokenStream> {
        let (ts, p, order_ty, id_col) = (&self.ts, &self.p, &self.order_ty, &self.id_col);
        let order_fields: Vec<&Field> = self.m.fields.iter().filter(|f| f.order_by).collect();
        let order_variants: Vec<_> = order_fields
            .iter()
            .map(|f| common::order_variant(f))
            .collect();
        let order_idents: Vec<_> = order_fields.iter().map(|f| &f.ident).collect();
        let order_tys: Vec<_> = order_fields.iter().map(|f| &f.ty).collect();
        let order_cols: Vec<_> = order_fields.iter().map(|f| col(f)).collect();
        (!order_fields.is_empty()).then(|| {
            quote! {
                    fn sort_key(&self, field: #order_ty, out: &mut ::std::vec::Vec<u8>) {
                        match field {
                            #order_ty::Id => {}
                            #( #order_ty::#order_variants => #ts::SortKey::to_cursor(&self.#order_idents, out), )*
                        }
                    }
                    fn push_after(
                        qb: &mut #p::QueryBuilder<#p::Postgres>,
                        sort: #ts::Sort<#order_ty>,
                        key: &[u8],
                        id: #ts::Uuid,
                    ) -> #ts::Result<()> {
                        match sort.field {
                            #order_ty::Id => #p::push_after_id(qb, #id_col, sort.direction, key, id),
                            #( #order_ty::#order_variants => #p::push_after::<#order_tys>(
                                qb, #order_cols, #id_col, sort.direction, key, id,
                            ), )*
                        }
                    }
            }
        })
    }

    /// `PgEntity::DEF`: the table as the migrations render it.
    fn table_def(&self) -> TokenStream {
        let (p, m, pg) = (&self.p, self.m, self.pg);
        let column_defs = m.fields.iter().map(|f| {
            let name = Model::column_name(f);
            let ty = &f.ty;
            let default = match (f.role, &f.default) {
                (Role::CreatedAt | Role::UpdatedAt, _) => {
                    quote!(::core::option::Option::Some("now()"))
                }
                (_, Some(sql)) => quote!(::core::option::Option::Some(#sql)),
                (_, None) => quote!(::core::option::Option::None),
            };
            let renamed_from = match &f.renamed_from {
                Some(old) => quote!(::core::option::Option::Some(#old)),
                None => quote!(::core::option::Option::None),
            };
            quote!(#p::ColumnDef::of::<#ty>(#name, #default, #renamed_from))
        });
        let filter_names = self.filter_fields().into_iter().map(Model::column_name);
        let order_names = m
            .fields
            .iter()
            .filter(|f| f.order_by)
            .map(Model::column_name);
        let unique_names = pg.uniques.iter().map(|u| {
            let names = u.iter().map(|i| Model::column_name(&m.fields[*i]));
            quote!(#(#names),*)
        });
        let reference_defs = pg.references.iter().map(|r| {
            let field = &m.fields[r.field];
            let (column, ty) = (Model::column_name(field), &field.ty);
            let parent = &r.parent;
            let on_delete = match &r.on_delete {
                Some(rule) => {
                    let variant = syn::Ident::new(rule.variant, rule.span);
                    quote!(#p::OnDelete::#variant)
                }
                None => quote!(#p::OnDelete::default_for(<#ty as #p::PgColumn>::NULLABLE)),
            };
            quote! {
                #p::ReferenceDef {
                    column: #column,
                    parent_schema: <#parent as #p::PgEntity>::SCHEMA,
                    parent_table: <#parent as #p::PgEntity>::TABLE,
                    parent_id: <#parent as #p::PgEntity>::ID_COLUMN,
                    on_delete: #on_delete,
                }
            }
        });
        let (entity_name, schema_lit, table_lit) = (&self.entity_name, &pg.schema, &pg.table);
        let scope_variant = common::scope(m);
        let id_name = Model::column_name(&m.fields[m.id]);
        let (append_only, drop_columns) = (pg.append_only, &pg.drop_columns);
        quote! {
            #p::TableDef {
                entity: #entity_name,
                schema: #schema_lit,
                table: #table_lit,
                scope: #scope_variant,
                id: #id_name,
                columns: &[#(#column_defs),*],
                filters: &[#(#filter_names),*],
                orders: &[#(#order_names),*],
                uniques: &[#(&[#unique_names]),*],
                references: &[#(#reference_defs),*],
                append_only: #append_only,
                drop_columns: &[#(#drop_columns),*],
            }
        }
    }

    /// The compile-time checks: each field's type for its role, and each reference (an id,
    /// the same scope as its parent, an optional field for `set_null`).
    fn assertions(&self) -> TokenStream {
        let (ts, p, m) = (&self.ts, &self.p, self.m);
        let fields = m.fields.iter().map(|f| {
            let ty = &f.ty;
            let span = ty.span();
            let role = match f.role {
                Role::Id => quote_spanned!(span=> #ts::assert_id::<#ty>();),
                Role::Scope => quote_spanned!(span=> #ts::assert_tenant_id::<#ty>();),
                Role::Version => quote_spanned!(span=> #ts::assert_version::<#ty>();),
                Role::CreatedAt | Role::UpdatedAt => {
                    quote_spanned!(span=> #p::assert_timestamp::<#ty>();)
                }
                Role::Data | Role::Session | Role::Weight => quote!(),
            };
            quote_spanned! {span=>
                #p::assert_column::<#ty>();
                #role
            }
        });
        let scope_variant = common::scope(m);
        let references = self.pg.references.iter().map(|r| {
            let field = &m.fields[r.field];
            let (ty, parent) = (&field.ty, &r.parent);
            let (span, ty_span) = (parent.span(), ty.span());
            let msg = format!(
                "`{}` references an entity with another scope; a reference must stay inside one tenant",
                field.ident
            );
            let id_assert = quote_spanned!(ty_span=> #ts::assert_reference::<#ty>(););
            // `set_null` writes NULL into the column: only an optional field can hold it.
            let set_null_assert = r.on_delete.as_ref().filter(|d| d.is_set_null()).map(|d| {
                let msg = format!(
                    "`on_delete = \"set_null\"` needs an optional field: make `{}` an `Option<...>`, \
                     or choose `\"cascade\"` or `\"restrict\"`",
                    field.ident
                );
                quote_spanned! {d.span=>
                    ::core::assert!(<#ty as #p::PgColumn>::NULLABLE, #msg);
                }
            });
            quote_spanned! {span=>
                #id_assert
                ::core::assert!(
                    #p::same_scope(<#parent as #p::PgEntity>::SCOPE, #scope_variant),
                    #msg
                );
                #set_null_assert
            }
        });
        quote! {
            #( #fields )*
            #( #references )*
        }
    }
}

/// The parts of the expansion that depend on whether the entity can be updated.
struct Patch {
    ty: TokenStream,
    assoc: TokenStream,
    push: TokenStream,
    of: TokenStream,
}

/// The condition that sets the signed context (parameter `$n`) before the statement's scan:
/// the runtime's `run` module explains why it takes this shape. The runtime pushes the same
/// text for the statements it builds.
fn gate(n: usize) -> String {
    format!("(SELECT pg_catalog.set_config('tenant_store.ctx', ${n}, true) IS NOT NULL)")
}
