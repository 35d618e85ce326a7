//! The value of every struct key, as a darling [`FromMeta`] type that checks it: darling calls
//! these while it parses, and each error is spanned at the value and says what is expected.

use darling::FromMeta;
use syn::spanned::Spanned;

use super::keys::BackendKind;
use crate::model::{OnDelete, ScopeKind};

/// An error at `expr`.
fn at(expr: &syn::Expr, message: String) -> darling::Error {
    darling::Error::custom(message).with_span(&expr.span())
}

/// The string literal `expr` is, or `must_be` as the error.
fn string(expr: &syn::Expr, must_be: impl FnOnce() -> String) -> darling::Result<String> {
    match expr {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => Ok(s.value()),
        _ => Err(at(expr, must_be())),
    }
}

/// The integer literal `expr` is (in range for `T`), or `message` as the error.
fn integer<T: std::str::FromStr>(expr: &syn::Expr, message: &str) -> darling::Result<T>
where
    T::Err: std::fmt::Display,
{
    match expr {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(i),
            ..
        }) => i.base10_parse().map_err(|_| at(expr, message.to_owned())),
        _ => Err(at(expr, message.to_owned())),
    }
}

/// `backend = "postgres"`.
pub struct Backend(pub BackendKind);

impl FromMeta for Backend {
    fn from_expr(expr: &syn::Expr) -> darling::Result<Self> {
        let expected = || format!("expected one of {}", BackendKind::listed());
        let name = string(expr, || {
            format!(
                "`backend` must be a string, e.g. `backend = \"postgres\"`; {}",
                expected()
            )
        })?;
        if let Some((b, _)) = BackendKind::ALL.iter().find(|(_, n)| *n == name) {
            return Ok(Backend(*b));
        }
        let closest = BackendKind::ALL
            .iter()
            .map(|(_, n)| (strsim::levenshtein(n, &name.to_lowercase()), *n))
            .min()
            .filter(|(d, _)| *d <= 3)
            .map(|(_, n)| format!("; did you mean `{n}`?"))
            .unwrap_or_default();
        Err(at(
            expr,
            format!("unknown backend `{name}`; {}{closest}", expected()),
        ))
    }
}

/// `scope = "user_id" | "org_id"`.
pub struct Scope(pub ScopeKind);

impl FromMeta for Scope {
    fn from_expr(expr: &syn::Expr) -> darling::Result<Self> {
        match string(expr, || {
            "`scope` must be a string: `scope = \"user_id\"` or `scope = \"org_id\"`".into()
        })?
        .as_str()
        {
            "user_id" => Ok(Scope(ScopeKind::UserId)),
            "org_id" => Ok(Scope(ScopeKind::OrgId)),
            other => Err(at(
                expr,
                format!("unknown scope `{other}`; expected `user_id` or `org_id`"),
            )),
        }
    }
}

/// The rule of a string key whose value is spliced into keys, URLs, SQL or query text, so only a
/// plain token passes.
pub trait Rule {
    const KEY: &'static str;
    /// What the value names, in messages ("name" for SQL identifiers).
    const NOUN: &'static str = "";
    const EXAMPLE: &'static str;
    const MAX: usize;
    /// What the message says is allowed.
    const ALLOWED: &'static str;
    fn first(c: char) -> bool;
    fn rest(c: char) -> bool;
}

/// A string checked by `R`.
pub struct Token<R>(pub String, std::marker::PhantomData<R>);

impl<R> std::fmt::Debug for Token<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Token").field(&self.0).finish()
    }
}

impl<R: Rule> FromMeta for Token<R> {
    fn from_expr(expr: &syn::Expr) -> darling::Result<Self> {
        let v = string(expr, || {
            format!(
                "`{}` must be a string, e.g. `{} = \"{}\"`",
                R::KEY,
                R::KEY,
                R::EXAMPLE
            )
        })?;
        if !v.is_empty() && v.len() <= R::MAX && v.starts_with(R::first) && v.chars().all(R::rest) {
            Ok(Token(v, std::marker::PhantomData))
        } else {
            Err(at(
                expr,
                format!(
                    "invalid `{}`{} `{v}`; expected 1 to {} characters of {}",
                    R::KEY,
                    R::NOUN,
                    R::MAX,
                    R::ALLOWED
                ),
            ))
        }
    }
}

fn lower_token(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-'
}

fn lower_ident(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'
}

macro_rules! rule {
    ($(#[$doc:meta])* $name:ident, $key:literal $(($noun:literal))?, $example:literal, $max:literal, $allowed:literal, $first:expr, $rest:expr) => {
        $(#[$doc])*
        pub enum $name {}
        impl Rule for $name {
            const KEY: &'static str = $key;
            $(const NOUN: &'static str = $noun;)?
            const EXAMPLE: &'static str = $example;
            const MAX: usize = $max;
            const ALLOWED: &'static str = $allowed;
            fn first(c: char) -> bool {
                ($first)(c)
            }
            fn rest(c: char) -> bool {
                ($rest)(c)
            }
        }
    };
}

rule!(
    /// PostgreSQL table names are spliced into SQL (quoted): plain lower-case identifiers.
    Table, "table" (" name"), "memories", 63,
    "`a-z`, `0-9` and `_`, not starting with a digit",
    |c: char| c.is_ascii_lowercase() || c == '_', lower_ident
);
rule!(
    /// PostgreSQL schema names: as table names.
    Schema, "schema" (" name"), "app", 63,
    "`a-z`, `0-9` and `_`, not starting with a digit",
    |c: char| c.is_ascii_lowercase() || c == '_', lower_ident
);
rule!(
    /// Valkey key prefixes start every key: a plain token keeps the layout unambiguous.
    Prefix, "prefix", "episodic", 64, "`a-z`, `0-9`, `_` and `-`", lower_token, lower_token
);
rule!(
    /// OpenSearch index names become URL segments and alias prefixes.
    Index, "index", "search", 100, "`a-z`, `0-9`, `_` and `-`, starting with a letter or digit",
    |c: char| c.is_ascii_lowercase() || c.is_ascii_digit(), lower_token
);
rule!(
    /// Neo4j labels are spliced into Cypher text: an upper-case identifier cannot break out.
    Label, "label", "CODE_SYMBOL", 64, "`A-Z`, `0-9` and `_`, starting with a letter",
    |c: char| c.is_ascii_uppercase(),
    |c: char| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'
);
rule!(
    /// Qdrant collection names are `embeddings_{model}`.
    Model, "model", "minilm", 64, "`a-z`, `0-9`, `_` and `-`, starting with a letter or digit",
    |c: char| c.is_ascii_lowercase() || c.is_ascii_digit(), lower_token
);

fn column_first(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn column_rest(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

rule!(
    /// A column's earlier name, spliced into `RENAME COLUMN` (quoted).
    RenamedFrom, "renamed_from" (" column name"), "old_name", 63,
    "`a-z`, `A-Z`, `0-9` and `_`, not starting with a digit", column_first, column_rest
);
rule!(
    /// A column the next migration drops, spliced into `DROP COLUMN` (quoted).
    DropColumn, "drop_column" (" column name"), "legacy_notes", 63,
    "`a-z`, `A-Z`, `0-9` and `_`, not starting with a digit", column_first, column_rest
);

/// `default = "SQL expression"`: the value existing rows get when the column is added (or made
/// required), written into the migrations as it is. One expression: no `;`, no comments.
#[derive(Debug)]
pub struct SqlDefault(pub String);

impl FromMeta for SqlDefault {
    fn from_expr(expr: &syn::Expr) -> darling::Result<Self> {
        let v = string(expr, || {
            "`default` must be a SQL expression in a string, e.g. `default = \"0\"` or `default = \"'draft'\"`".into()
        })?;
        if v.trim().is_empty() || v.contains(';') || v.contains("--") || v.contains("/*") {
            return Err(at(
                expr,
                format!(
                    "invalid `default` `{v}`; expected one SQL expression, without `;` or comments"
                ),
            ));
        }
        Ok(SqlDefault(v))
    }
}

/// `on_delete = "cascade" | "set_null" | "restrict"`, as the runtime's `OnDelete` variant's
/// name.
impl FromMeta for OnDelete {
    fn from_expr(expr: &syn::Expr) -> darling::Result<Self> {
        const RULES: [(&str, &str); 3] = [
            ("cascade", "Cascade"),
            ("set_null", "SetNull"),
            ("restrict", "Restrict"),
        ];
        let message = || {
            "`on_delete` must be one of `\"cascade\"`, `\"set_null\"`, `\"restrict\"`".to_owned()
        };
        let name = string(expr, message)?;
        RULES
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, variant)| OnDelete {
                variant,
                span: expr.span(),
            })
            .ok_or_else(|| at(expr, message()))
    }
}

/// Qdrant's limit on a dense vector's size.
pub const MAX_DIMS: u32 = 65_536;

/// `dims = N`, 1 to [`MAX_DIMS`].
pub struct Dims(pub u32);

impl FromMeta for Dims {
    fn from_expr(expr: &syn::Expr) -> darling::Result<Self> {
        let message = format!(
            "`dims` must be the vector size, an integer from 1 to {MAX_DIMS}, e.g. `dims = 384`"
        );
        match integer::<u32>(expr, &message)? {
            n @ 1..=MAX_DIMS => Ok(Dims(n)),
            _ => Err(at(expr, message)),
        }
    }
}

/// `distance = "cosine" | ...`, as the `qdrant_client` `Distance` variant's name.
pub struct Distance(pub &'static str);

impl FromMeta for Distance {
    fn from_expr(expr: &syn::Expr) -> darling::Result<Self> {
        const DISTANCES: [(&str, &str); 4] = [
            ("cosine", "Cosine"),
            ("dot", "Dot"),
            ("euclid", "Euclid"),
            ("manhattan", "Manhattan"),
        ];
        let message = || {
            "`distance` must be one of `\"cosine\"`, `\"dot\"`, `\"euclid\"`, `\"manhattan\"`"
                .to_owned()
        };
        let name = string(expr, message)?;
        DISTANCES
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, variant)| Distance(variant))
            .ok_or_else(|| at(expr, message()))
    }
}

/// `ttl = seconds`, positive.
pub struct Ttl(pub u64);

impl FromMeta for Ttl {
    fn from_expr(expr: &syn::Expr) -> darling::Result<Self> {
        let message = "`ttl` must be a positive number of seconds, e.g. `ttl = 3600`";
        match integer::<u64>(expr, message)? {
            0 => Err(at(expr, message.to_owned())),
            n => Ok(Ttl(n)),
        }
    }
}
