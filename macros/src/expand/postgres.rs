//! PostgreSQL expansion: the `New`, `Patch` and `Filter` types, the `{Entity}Store` alias of the
//! runtime's `tenant_store::postgres::Store<E, Kind>` (whose methods are written once there), the
//! row decoder, the `PgEntity` impl (migration SQL), the `PgCrud` impl (SQL text and binders),
//! and compile-time type assertions.
//!
//! SQL text is fixed at expansion time from identifiers (double-quoted); every value is a bind
//! parameter. The tenant comes from the `TenantTx` and is both bound explicitly in every
//! statement and enforced by the table's RLS policy.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use super::common;
use crate::model::{Field, Model, Postgres, Role};

fn q(ident: &str) -> String {
    format!("\"{ident}\"")
}

pub fn expand(m: &Model, pg: &Postgres) -> TokenStream {
    let ts = quote!(::tenant_store::__private);
    let p = quote!(::tenant_store::__private::pg);
    let entity = m.ident();
    let entity_name = entity.to_string();
    let vis = &m.item.vis;
    let new_ty = format_ident!("New{}", entity);
    let patch_ty = format_ident!("{}Patch", entity);
    let filter_ty = format_ident!("{}Filter", entity);
    let store_ty = format_ident!("{}Store", entity);
    // Every statement names the table with its schema: nothing on the search path (a
    // temporary table, say) can stand in for it.
    let table = format!("{}.{}", q(&pg.schema), q(&pg.table));
    let table_lit = &pg.table;
    let schema_lit = &pg.schema;

    let col = |f: &Field| q(&Model::column_name(f));
    let scope_f = &m.fields[m.scope];
    let id_f = &m.fields[m.id];
    let scope_col = col(scope_f);
    let id_col = col(id_f);
    let scope_variant = common::scope(m);
    let all_cols = m.fields.iter().map(col).collect::<Vec<_>>().join(", ");
    let data: Vec<&Field> = m.data_fields().collect();
    let data_idents: Vec<_> = data.iter().map(|f| &f.ident).collect();
    let data_tys: Vec<_> = data.iter().map(|f| &f.ty).collect();
    let data_docs: Vec<TokenStream> = data
        .iter()
        .map(|f| common::field_docs(f, &entity_name))
        .collect();

    // Soft delete: rows holding the deleted value look absent everywhere.
    // Soft delete: rows holding the deleted value look absent everywhere. Without it the
    // trait's no-op defaults stand.
    let (live_sql, live) = match &m.soft_delete {
        Some((i, expr)) => {
            let c = col(&m.fields[*i]);
            let and_not = format!(" AND {c} <> ");
            (
                format!(" AND {c} <> $2"),
                quote! {
                    fn bind_live(q: #p::PgQuery<'_>) -> #p::PgQuery<'_> {
                        #p::bind(q, #expr)
                    }
                    fn push_live(qb: &mut #p::QueryBuilder<#p::Postgres>) {
                        qb.push(#and_not);
                        #p::push_bind(qb, #expr);
                    }
                },
            )
        }
        None => (String::new(), quote!()),
    };
    // Statements by id: `$1` the id, `$2` the soft-delete value if any, then the context in
    // the gate. No statement names the tenant: the policy does (see the runtime's `run`).
    let by_id_gate = gate(if m.soft_delete.is_some() { 3 } else { 2 });
    let gate_and_id = format!("{by_id_gate} AND {id_col} = $1");

    // --- get
    let get_sql = format!("SELECT {all_cols} FROM {table} WHERE {gate_and_id}{live_sql}");

    // --- create
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

    // --- update
    let update_sets = data.iter().map(|f| {
        let ident = &f.ident;
        let set = format!(", {} = ", col(f));
        quote! {
            if let ::core::option::Option::Some(v) = patch.#ident {
                qb.push(#set);
                #p::push_bind(qb, v);
            }
        }
    });
    let mut managed_sets = String::new();
    if let Some(v) = m.version {
        let c = col(&m.fields[v]);
        managed_sets.push_str(&format!(", {c} = {c} + 1"));
    }
    if let Some(u) = m.updated_at {
        managed_sets.push_str(&format!(", {} = now()", col(&m.fields[u])));
    }
    let update_head = format!("UPDATE {table} SET {id_col} = {id_col}");
    let update_where = format!("{managed_sets} WHERE ");
    let exists_sql = format!("SELECT 1 FROM {table} WHERE {gate_and_id}{live_sql}");
    let (version_eq, version_ty) = match m.version {
        Some(v) => {
            let eq = format!(" AND {} = ", col(&m.fields[v]));
            let vty = &m.fields[v].ty;
            (quote!(::core::option::Option::Some(#eq)), quote!(#vty))
        }
        None => (quote!(::core::option::Option::None), quote!(i64)),
    };

    // --- delete
    let delete_sql = match &m.soft_delete {
        Some((i, _)) => {
            let c = col(&m.fields[*i]);
            format!("UPDATE {table} SET {c} = $2{managed_sets} WHERE {gate_and_id} AND {c} <> $2")
        }
        None => format!("DELETE FROM {table} WHERE {gate_and_id}"),
    };

    let delete_tenant_sql = format!("DELETE FROM {table} WHERE {}", gate(1));

    // --- list (the runtime pushes the gate after the head)
    let list_head = format!("SELECT {all_cols} FROM {table} WHERE ");
    let count_head = format!("SELECT count(*) FROM {table} WHERE ");
    let filter_fields: Vec<&Field> = m.fields.iter().filter(|f| f.filter).collect();
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
    let filter_pushes = filter_fields.iter().map(|f| {
        let ident = &f.ident;
        let c = col(f);
        quote! {
            if let ::core::option::Option::Some(c) = filter.#ident {
                #p::push_cond(qb, #c, c);
            }
        }
    });
    // --- order
    let order_ty = format_ident!("{}Order", entity);
    let order_fields: Vec<&Field> = m.fields.iter().filter(|f| f.order_by).collect();
    let order_variants: Vec<_> = order_fields
        .iter()
        .map(|f| common::order_variant(f))
        .collect();
    let order_idents: Vec<_> = order_fields.iter().map(|f| &f.ident).collect();
    let order_tys: Vec<_> = order_fields.iter().map(|f| &f.ty).collect();
    let order_names: Vec<_> = order_fields.iter().map(|f| Model::column_name(f)).collect();
    let order_cols: Vec<_> = order_fields.iter().map(|f| col(f)).collect();
    let order_enum = common::order_enum(m);
    // With `order_by` fields, the sort key and keyset of each; without, `PgCrud`'s defaults (the
    // id alone) stand.
    let order_methods = (!order_fields.is_empty()).then(|| {
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
    });
    let after_sql_id = format!(" AND {id_col} = ");
    let returning = format!(" RETURNING {all_cols}");

    // --- decode, migration, assertions
    let decode_fields = m.fields.iter().enumerate().map(|(i, f)| {
        let ident = &f.ident;
        quote!(#ident: #p::column(row, #i)?)
    });
    let column_defs = m.fields.iter().map(|f| {
        let name = Model::column_name(f);
        let ty = &f.ty;
        let default = match (f.role, &f.default) {
            (Role::CreatedAt | Role::UpdatedAt, _) => quote!(::core::option::Option::Some("now()")),
            (_, Some(sql)) => quote!(::core::option::Option::Some(#sql)),
            (_, None) => quote!(::core::option::Option::None),
        };
        let renamed_from = match &f.renamed_from {
            Some(old) => quote!(::core::option::Option::Some(#old)),
            None => quote!(::core::option::Option::None),
        };
        quote! {
            #p::ColumnDef {
                name: #name,
                sql_type: <#ty as #p::PgColumn>::SQL_TYPE,
                nullable: <#ty as #p::PgColumn>::NULLABLE,
                default: #default,
                renamed_from: #renamed_from,
            }
        }
    });
    let filter_names = filter_fields.iter().map(|f| Model::column_name(f));
    let id_name = Model::column_name(id_f);
    let assertions = m.fields.iter().map(|f| {
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

    let append_only = pg.append_only;
    let drop_columns = &pg.drop_columns;
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
    let reference_asserts = pg.references.iter().map(|r| {
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
    let new_doc = format!(
        "A new `{entity_name}` for `{store_ty}::create`. The scope field is absent: it comes from the tenant context."
    );
    let patch_doc = format!("Changes for `{store_ty}::update`; `None` leaves a field as it is.");
    let filter_doc = format!(
        "Conditions (ANDed) and the order for `{store_ty}::list` and `count`; the empty filter \
         matches every live entity, in id order."
    );
    let store_doc = format!("The tenant-scoped store of `{entity_name}` (table `{table_lit}`).");
    let kind = if append_only {
        quote!(#p::AppendOnly)
    } else if m.version.is_some() {
        quote!(#p::Versioned)
    } else {
        quote!(#p::Mutable)
    };
    let new_struct = common::new_struct(m, &new_doc);
    let store_alias = common::store_alias(m, quote!(#p::Store<#entity, #kind>), &store_doc);
    let id_ident = &id_f.ident;

    let (patch_assoc, push_patch) = if append_only {
        (quote!(()), quote!())
    } else {
        (quote!(#patch_ty), quote!(#( #update_sets )*))
    };
    // Spanned at the id's type: a wrong one is reported there, once (rustc merges the errors of
    // the three uses).
    let into_uuid = quote_spanned!(id_f.ty.span()=> #ts::IdType::into_uuid);
    let patch_type = if append_only {
        quote!()
    } else {
        quote! {
            #[doc = #patch_doc]
            #[derive(Default)]
            #vis struct #patch_ty {
                #( #data_docs pub #data_idents: ::core::option::Option<#data_tys>, )*
            }
        }
    };

    let patch_of = if append_only {
        quote!()
    } else {
        quote!(#patch_ty { #( #data_idents: ::core::option::Option::Some(new.#data_idents), )* })
    };

    quote! {
        #new_struct

        #patch_type

        #[doc = #filter_doc]
        #[derive(Default)]
        #vis struct #filter_ty {
            #( #filter_idents: ::core::option::Option<#ts::Cond<#filter_tys>>, )*
            __order: ::core::option::Option<#ts::Sort<#order_ty>>,
        }

        #store_alias

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

        #order_enum

        const _: () = {
            #( #assertions )*
            #( #reference_asserts )*
        };

        #[automatically_derived]
        impl #p::PgEntity for #entity {
            const ENTITY: &'static str = #entity_name;
            const SCHEMA: &'static str = #schema_lit;
            const TABLE: &'static str = #table_lit;
            const SCOPE: #ts::Scope = #scope_variant;
            const ID_COLUMN: &'static str = #id_name;
            fn from_row(row: &#p::PgRow) -> ::core::result::Result<Self, #p::SqlxError> {
                ::core::result::Result::Ok(Self { #(#decode_fields),* })
            }
            const DEF: #p::TableDef<'static> = #p::TableDef {
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
            };
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
            type Kind = #kind;
            type Version = #version_ty;
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
            const VERSION_EQ: ::core::option::Option<&'static str> = #version_eq;
            #live
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
                #( #filter_pushes )*
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

    }
}

/// The condition that sets the signed context (parameter `$n`) before the statement's scan:
/// the runtime's `run` module explains why it takes this shape. The runtime pushes the same
/// text for the statements it builds.
fn gate(n: usize) -> String {
    format!("(SELECT pg_catalog.set_config('tenant_store.ctx', ${n}, true) IS NOT NULL)")
}
