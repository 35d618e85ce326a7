//! `cypher!`: hand-written Cypher, checked at compile time.
//!
//! Rules (every violation is an error at the query literal, naming the offending pattern):
//! - every node pattern carries the tenant predicate `<scope>: $<scope>` in its property map, or
//!   is a bare `(var)` re-using a variable bound earlier by a pattern that carried it;
//! - the text holds no string literal (`'...'` or `"..."`): values travel as parameters.
//!
//! Node patterns are found by shape: a `(` not directly after a function name, whose content is
//! `[var] [:Label...] [{map}]`. Parenthesised expressions (`(a.x > 1)`) do not have that shape
//! and are not node patterns.

use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitStr, Token};

/// A node pattern found in the text.
#[derive(Debug, PartialEq, Eq)]
pub struct NodePattern {
    pub text: String,
    pub var: Option<String>,
    pub has_labels: bool,
    pub map: Option<String>,
}

/// Checks `query` for tenant `scope`; returns every violation.
pub fn check(query: &str, scope: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if query.contains('\'') || query.contains('"') {
        errors.push(
            "string literals are not allowed in checked Cypher; pass values as `$parameters`"
                .to_owned(),
        );
    }
    let mut bound: Vec<String> = Vec::new();
    for p in node_patterns(query) {
        let tenant = p
            .map
            .as_deref()
            .is_some_and(|m| has_tenant_predicate(m, scope));
        if tenant {
            bound.extend(p.var.clone());
        } else if !p.has_labels
            && p.map.is_none()
            && p.var.as_ref().is_some_and(|v| bound.contains(v))
        {
            // A bound variable, already tenant-checked.
        } else {
            errors.push(format!(
                "node pattern `{}` lacks the tenant predicate `{scope}: ${scope}`",
                p.text
            ));
        }
    }
    errors
}

fn has_tenant_predicate(map: &str, scope: &str) -> bool {
    map.split(',').any(|pair| {
        let mut kv = pair.splitn(2, ':');
        let (k, v) = (
            kv.next().unwrap_or("").trim(),
            kv.next().unwrap_or("").trim(),
        );
        k == scope && v == format!("${scope}")
    })
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

const KEYWORDS: &[&str] = &[
    "MATCH", "MERGE", "CREATE", "WHERE", "AND", "OR", "NOT", "WITH", "RETURN", "EXISTS",
];

/// The node patterns of `query`, in order.
pub fn node_patterns(query: &str) -> Vec<NodePattern> {
    let chars: Vec<char> = query.chars().collect();
    let mut out = Vec::new();
    for (i, &c) in chars.iter().enumerate() {
        if c != '(' {
            continue;
        }
        // `name(` or `name (`: a function call, unless the word is a keyword (`MATCH (`).
        let mut j = i;
        while j > 0 && chars[j - 1] == ' ' {
            j -= 1;
        }
        let mut k = j;
        while k > 0 && is_ident_char(chars[k - 1]) {
            k -= 1;
        }
        let word: String = chars[k..j].iter().collect();
        if !word.is_empty() && !KEYWORDS.contains(&word.to_ascii_uppercase().as_str()) {
            continue;
        }
        if let Some(p) = parse_node(&chars[i..]) {
            out.push(p);
        }
    }
    out
}

/// Parses `(var :Label {map})` at the start of `s`; `None` when it is not a node pattern.
fn parse_node(s: &[char]) -> Option<NodePattern> {
    let mut i = 1;
    let skip_ws = |i: &mut usize| {
        while *i < s.len() && s[*i].is_whitespace() {
            *i += 1;
        }
    };
    skip_ws(&mut i);
    let start = i;
    while i < s.len() && is_ident_char(s[i]) {
        i += 1;
    }
    let var = (i > start).then(|| s[start..i].iter().collect::<String>());
    if var
        .as_ref()
        .is_some_and(|v| v.chars().next().is_some_and(|c| c.is_ascii_digit()))
    {
        return None;
    }
    skip_ws(&mut i);
    let mut has_labels = false;
    while i < s.len() && s[i] == ':' {
        i += 1;
        skip_ws(&mut i);
        let l = i;
        while i < s.len() && is_ident_char(s[i]) {
            i += 1;
        }
        if i == l {
            return None;
        }
        has_labels = true;
        skip_ws(&mut i);
    }
    let mut map = None;
    if i < s.len() && s[i] == '{' {
        let open = i;
        let mut depth = 0;
        while i < s.len() {
            match s[i] {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        if i >= s.len() {
            return None;
        }
        map = Some(s[open + 1..i].iter().collect::<String>());
        i += 1;
        skip_ws(&mut i);
    }
    if i < s.len() && s[i] == ')' && (var.is_some() || has_labels || map.is_some() || i == 1) {
        Some(NodePattern {
            text: s[..=i].iter().collect(),
            var,
            has_labels,
            map,
        })
    } else {
        None
    }
}

struct Input {
    scope: Option<Ident>,
    query: LitStr,
}

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(Ident) {
            let scope: Ident = input.parse()?;
            input.parse::<Token![,]>()?;
            Ok(Self {
                scope: Some(scope),
                query: input.parse()?,
            })
        } else {
            Ok(Self {
                scope: None,
                query: input.parse()?,
            })
        }
    }
}

/// `cypher!([user_id | org_id ,] "query")`.
pub fn expand(input: TokenStream) -> TokenStream {
    let Input { scope, query } = match syn::parse2::<Input>(input) {
        Ok(i) => i,
        Err(e) => return e.to_compile_error(),
    };
    let scope_name = match &scope {
        None => "org_id".to_owned(),
        Some(s) if s == "org_id" || s == "user_id" => s.to_string(),
        Some(s) => {
            return syn::Error::new(
                s.span(),
                format!("unknown scope `{s}`; expected `org_id` or `user_id`"),
            )
            .to_compile_error();
        }
    };
    let errors = check(&query.value(), &scope_name);
    if !errors.is_empty() {
        let errors = errors
            .iter()
            .map(|e| syn::Error::new(query.span(), e).to_compile_error());
        return quote!({ #(#errors)* ::tenant_store::__private::neo4j::CheckedCypher::__checked("", "org_id") });
    }
    quote!(::tenant_store::__private::neo4j::CheckedCypher::__checked(#query, #scope_name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_predicates_on_every_pattern_pass() {
        let q = "MATCH (a:CODE_SYMBOL {org_id: $org_id, id: $from}), (b:CODE_SYMBOL {org_id: $org_id, id: $to}) \
                 MERGE (a)-[r:CODE_DEPENDS_ON]->(b) RETURN count(r) AS n";
        assert_eq!(check(q, "org_id"), Vec::<String>::new());
    }

    #[test]
    fn a_pattern_without_the_predicate_fails() {
        let q = "MATCH (a:CODE_SYMBOL {org_id: $org_id})-[:X]->(b:CODE_SYMBOL) RETURN b";
        assert_eq!(
            check(q, "org_id"),
            vec!["node pattern `(b:CODE_SYMBOL)` lacks the tenant predicate `org_id: $org_id`"]
        );
    }

    #[test]
    fn an_unbound_bare_variable_fails_and_a_bound_one_passes() {
        assert_eq!(check("MATCH (x) RETURN x", "org_id").len(), 1);
        assert!(
            check(
                "MATCH (x {org_id: $org_id}) WITH x MATCH (x)-->(y {org_id: $org_id}) RETURN y",
                "org_id"
            )
            .is_empty()
        );
    }

    #[test]
    fn a_predicate_with_the_wrong_parameter_fails() {
        assert_eq!(
            check("MATCH (a {org_id: $other}) RETURN a", "org_id").len(),
            1
        );
        assert_eq!(
            check("MATCH (a {user_id: $user_id}) RETURN a", "org_id").len(),
            1
        );
    }

    #[test]
    fn string_literals_fail() {
        assert_eq!(
            check("MATCH (a {org_id: $org_id, name: 'x'}) RETURN a", "org_id").len(),
            1
        );
    }

    #[test]
    fn functions_and_expressions_are_not_node_patterns() {
        let q = "MATCH p = (a:L {org_id: $org_id})-[*1..3]->(b:L {org_id: $org_id}) \
                 WHERE length(p) <= $depth AND (b.x > 1) AND all(n IN nodes(p) WHERE n.org_id = $org_id) \
                 RETURN count(*), collect(DISTINCT b)";
        let found: Vec<String> = node_patterns(q).into_iter().map(|p| p.text).collect();
        assert_eq!(
            found,
            vec!["(a:L {org_id: $org_id})", "(b:L {org_id: $org_id})"]
        );
        assert!(check(q, "org_id").is_empty());
    }
}
