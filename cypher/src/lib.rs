//! The tenant check for hand-written Cypher. Implementation detail of `tenant-store`: the
//! `cypher!` macro runs it at compile time (errors in the build), and the runtime runs it again
//! whenever a checked query is made, so no query reaches Neo4j without passing it, whoever built
//! the query.
//!
//! Neo4j has no row-level security: for hand-written Cypher this check is the tenant boundary,
//! so it fails closed. The text first passes a lexical gate (`plain`): printable ASCII, no
//! comments, no string literals, no backslash, backquoted names only as plain names, parameters
//! only as `$name`, bounded length, nesting and operators. What is left reads the same in
//! `open-cypher`'s lexer and the server's, so the tree the check approves is the query the
//! server runs. The text is then parsed by `open-cypher` (the openCypher 2024.3 grammar into a
//! spanned AST), and the tree is accepted only when it stays inside the subset below. Anything
//! else is an error naming the construct.
//!
//! ## The subset
//! - One query: clauses `MATCH`, `OPTIONAL MATCH`, `UNWIND`, `WITH`, `RETURN`, `CREATE`,
//!   `MERGE` (with `ON CREATE`/`ON MATCH SET`), `SET`, `REMOVE`, `DELETE`, `DETACH DELETE`, and
//!   `UNION`. Rejected: procedure calls (`CALL db.x()`), GQL clauses, planner hints. Neo4j's
//!   extensions outside the openCypher 2024.3 grammar (`CALL { }` subqueries, `FOREACH`,
//!   `LOAD CSV`, `USE`, `EXPLAIN`) do not parse, so they are rejected too.
//! - **The tenant.** A query uses exactly one tenant parameter, `$org_id` or `$user_id`: that is
//!   its scope `s`. Every node pattern either introduces a node, and then has exactly one plain
//!   label and the entry `s: $s` in its property map (a map literal, each key once), or re-uses a
//!   variable that is bound at that point. Variables are tracked as Cypher scopes them: `WITH`
//!   and `RETURN` keep only what they project, every `UNION` part starts empty, and
//!   `EXISTS`/`COUNT`/`COLLECT` subqueries, pattern comprehensions and pattern predicates see
//!   the enclosing variables and bind their own locally. Every value a checked query can hold therefore comes from a tenant node.
//! - **Paths.** No label expressions (`:A|B`, `:!A`, `:%`) on nodes, no quantified path patterns,
//!   no `shortestPath`. A variable-length relationship (`-[:R*1..3]->`) reaches nodes no pattern
//!   names, so it is accepted only in a `MATCH` whose path is bound (`p = ...`) and whose
//!   `WHERE` has the conjunct `all(x IN nodes(p) WHERE x.s = $s)`.
//! - **Writes.** The scope property is never written: no `SET n.s = ...` (except the no-op
//!   `n.s = $s`), no `SET n = ...`, no `SET n += ...` unless the map is a literal without `s` or
//!   the same `SET` restores `n.s = $s` after it, no `REMOVE n.s`, no label changes; and no
//!   write to `__tenant_store_*` properties (the runtime's own).
//! - **Values.** No string literals (values travel as parameters), and only functions from an
//!   allow-list (no namespaced or user-defined functions: they can run arbitrary queries).
//!
//! The labels the query names are returned so the caller can hold them against the entities
//! the query is declared for (`cypher!(Symbol, Repo; "...")`).

mod plain;

use std::collections::BTreeSet;
use std::ops::Range;

pub use plain::{MAX_DEPTH, MAX_LEN, MAX_OPERATORS};

use open_cypher::ast::{
    CallTarget, ClauseKind, Expr, ExprKind, LabelExpression, LabelExpressionKind, LiteralKind,
    MatchClause, NodePattern, ParameterName, PathFactorKind, Pattern, PatternPart,
    ProjectionClause, ProjectionItemKind, Query, QueryKind, RemoveItemKind, SetClause, SetItemKind,
    SingleQuery, StatementKind,
};

/// The two tenant parameters a query can be scoped by.
pub const SCOPES: [&str; 2] = ["org_id", "user_id"];

/// Property names the runtime reserves for itself (the create nonce).
pub const RESERVED_PREFIX: &str = "__tenant_store";

/// Functions a checked query may call: pure functions of their arguments. Anything that can
/// reach the graph by itself (procedures, `apoc.*`, user-defined functions) is left out.
pub const FUNCTIONS: &[&str] = &[
    "abs",
    "avg",
    "ceil",
    "coalesce",
    "collect",
    "count",
    "date",
    "datetime",
    "duration",
    "elementid",
    "endnode",
    "exp",
    "floor",
    "head",
    "id",
    "isempty",
    "keys",
    "labels",
    "last",
    "left",
    "length",
    "localdatetime",
    "log",
    "lower",
    "ltrim",
    "max",
    "min",
    "nodes",
    "properties",
    "randomuuid",
    "range",
    "relationships",
    "replace",
    "reverse",
    "right",
    "round",
    "rtrim",
    "sign",
    "size",
    "split",
    "sqrt",
    "startnode",
    "substring",
    "sum",
    "tail",
    "timestamp",
    "toboolean",
    "tofloat",
    "tointeger",
    "tolower",
    "tostring",
    "tostringornull",
    "toupper",
    "trim",
    "type",
    "upper",
];

/// The allowed function nearest to `name` by edit distance, if one is near enough to be a typo.
fn closest_function(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    FUNCTIONS
        .iter()
        .map(|f| (strsim::levenshtein(&lower, f), *f))
        .filter(|(d, _)| *d <= 2.max(lower.len() / 4))
        .min()
        .map(|(_, f)| f)
}

/// A query that passed the check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The tenant parameter: `org_id` or `user_id`.
    pub scope: &'static str,
    /// Every node label the query names, sorted.
    pub labels: Vec<String>,
}

/// One reason a query is rejected, with the byte range of the offending text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// What is wrong and what is allowed, lowercase, naming the construct.
    pub message: String,
    /// Where, in bytes of the query text.
    pub span: Range<usize>,
}

/// Extra permissions for the runtime's own generated queries; never offered to hand-written
/// Cypher (the runtime's checked entry point and `cypher!` use [`check`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Options<'a> {
    /// `SET n.<scope> = $<this>` is allowed (the tenant move).
    pub scope_write_param: Option<&'a str>,
    /// Writes of `__tenant_store_*` properties are allowed (the create nonce).
    pub reserved_writes: bool,
}

/// Checks `text` against the subset (see the crate docs).
pub fn check(text: &str) -> Result<Checked, Vec<Violation>> {
    check_with(text, Options::default())
}

/// [`check`] with extra permissions.
pub fn check_with(text: &str, options: Options<'_>) -> Result<Checked, Vec<Violation>> {
    // Before any parse: only text every Cypher lexer reads the same way, of bounded size.
    plain::gate(text)?;
    let parsed = open_cypher::parse(text).map_err(|errors| {
        errors
            .diagnostics()
            .iter()
            .map(|d| Violation {
                message: format!("not valid openCypher: {}", d.message),
                span: d.primary_span.into(),
            })
            .collect::<Vec<_>>()
    })?;
    let scope = scope_of(text, &parsed.tokens)?;
    let mut checker = Checker {
        text,
        scope,
        options,
        labels: BTreeSet::new(),
        seen: BTreeSet::new(),
        errors: Vec::new(),
    };
    match parsed.program.statements.as_slice() {
        [] => checker.fail(0..text.len(), "the query is empty".into()),
        [statement] => match &statement.kind {
            StatementKind::Query(q) => {
                checker.query(&q.query, &Env::new());
            }
            _ => checker.fail(statement.span.into(), "not a query".into()),
        },
        more => checker.fail(more[1].span.into(), "one statement per query".into()),
    }
    if checker.errors.is_empty() {
        Ok(Checked {
            scope,
            labels: checker.labels.into_iter().collect(),
        })
    } else {
        Err(checker.errors)
    }
}

/// The one tenant parameter the query uses, read from the token stream (so a `$org_id` in a
/// comment does not count).
fn scope_of(text: &str, tokens: &[open_cypher::Token]) -> Result<&'static str, Vec<Violation>> {
    let mut found: Vec<&'static str> = Vec::new();
    for t in tokens {
        if t.kind != open_cypher::TokenKind::Parameter {
            continue;
        }
        let name = t.span.text(text).unwrap_or("").trim_start_matches('$');
        let name = name.trim_matches('`');
        if let Some(s) = SCOPES.iter().find(|s| **s == name)
            && !found.contains(s)
        {
            found.push(s);
        }
    }
    match found.as_slice() {
        [one] => Ok(one),
        [] => Err(vec![Violation {
            message: "the query never uses the tenant parameter; every node pattern needs \
                      `org_id: $org_id` (or `user_id: $user_id`)"
                .into(),
            span: 0..text.len(),
        }]),
        _ => Err(vec![Violation {
            message: "the query uses both `$org_id` and `$user_id`; a checked query has one scope"
                .into(),
            span: 0..text.len(),
        }]),
    }
}

/// Variables bound at a point of the query.
type Env = BTreeSet<String>;

struct Checker<'t> {
    text: &'t str,
    scope: &'static str,
    options: Options<'t>,
    labels: BTreeSet<String>,
    /// Every node variable bound anywhere so far: a re-use where it is not bound is named as
    /// such, not as a new node.
    seen: BTreeSet<String>,
    errors: Vec<Violation>,
}

impl Checker<'_> {
    fn fail(&mut self, span: Range<usize>, message: String) {
        self.errors.push(Violation { message, span });
    }

    fn snippet(&self, span: open_cypher::Span) -> String {
        let s = span.text(self.text).unwrap_or("");
        let s: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
        if s.chars().count() > 60 {
            format!("{}...", s.chars().take(57).collect::<String>())
        } else {
            s
        }
    }

    fn reject(&mut self, span: open_cypher::Span, what: &str) {
        let message = format!(
            "{what} `{}` is not allowed in checked Cypher",
            self.snippet(span)
        );
        self.fail(span.into(), message);
    }

    /// Checks every `UNION` part on its own, each starting from `outer`: nothing for a
    /// top-level query, every enclosing variable for `EXISTS`/`COUNT`/`COLLECT { }`.
    fn query(&mut self, q: &Query, outer: &Env) {
        let QueryKind::Regular(r) = &q.kind else {
            self.reject(q.span, "the query");
            return;
        };
        for part in std::iter::once(&r.head).chain(r.unions.iter().map(|u| &u.query)) {
            self.single(part, outer.clone());
        }
    }

    fn single(&mut self, q: &SingleQuery, mut env: Env) {
        for clause in &q.kind.clauses {
            match &clause.kind {
                ClauseKind::Match(m) => self.match_clause(m, &mut env),
                ClauseKind::Unwind(u) => {
                    self.expr(&u.expression, &env);
                    env.insert(u.variable.kind.text.clone());
                }
                ClauseKind::Create(c) => self.pattern(&c.pattern, &mut env, None),
                ClauseKind::Merge(m) => {
                    self.part(&m.pattern, &mut env, None);
                    for action in &m.actions {
                        self.set(&action.set, &env);
                    }
                }
                ClauseKind::Set(s) => self.set(s, &env),
                ClauseKind::Remove(r) => {
                    for item in &r.items {
                        match &item.kind {
                            RemoveItemKind::Property(target) => {
                                self.written_property(target, item.span, "`REMOVE`")
                            }
                            _ => self.reject(item.span, "removing a label"),
                        }
                    }
                }
                ClauseKind::Delete(d) => {
                    for e in &d.expressions {
                        self.expr(e, &env);
                    }
                }
                ClauseKind::With(w) => {
                    env = self.projection(&w.projection, &env);
                    if let Some(e) = &w.where_clause {
                        self.expr(e, &env);
                    }
                }
                ClauseKind::Return(r) => {
                    self.projection(&r.projection, &env);
                }
                ClauseKind::Call(c) => match &c.target {
                    CallTarget::Procedure { .. } => self.reject(clause.span, "the procedure call"),
                    _ => self.reject(clause.span, "the `CALL` subquery"),
                },
                _ => self.reject(clause.span, "the clause"),
            }
        }
    }

    fn match_clause(&mut self, m: &MatchClause, env: &mut Env) {
        if let Some(mode) = &m.mode {
            self.reject(mode.span, "the path mode");
        }
        if let Some(hint) = m.hints.first() {
            self.reject(hint.span, "the planner hint");
        }
        self.pattern(&m.pattern, env, m.where_clause.as_ref());
        if let Some(e) = &m.where_clause {
            self.expr(e, env);
        }
    }

    fn pattern(&mut self, p: &Pattern, env: &mut Env, guard: Option<&Expr>) {
        for part in &p.parts {
            self.part(part, env, guard);
        }
    }

    /// One comma-separated part: binds its node, relationship and path variables into `env`.
    fn part(&mut self, part: &PatternPart, env: &mut Env, guard: Option<&Expr>) {
        if let Some(sel) = &part.kind.selector {
            self.reject(sel.span, "the path selector");
        }
        for factor in &part.kind.path.kind.factors {
            match &factor.kind {
                PathFactorKind::Node(n) => self.node(n, factor.span, env),
                PathFactorKind::Relationship(r) => {
                    if let Some(v) = &r.variable {
                        env.insert(v.kind.text.clone());
                    }
                    if let Some(l) = &r.labels
                        && !matches!(l.kind, LabelExpressionKind::Name(_))
                    {
                        self.reject(l.span, "the relationship type expression");
                    }
                    if let Some(q) = &r.graph_quantifier {
                        self.reject(q.span, "the quantified relationship");
                    }
                    if r.legacy_quantifier.is_some() {
                        let guarded = part.kind.binding.as_ref().is_some_and(|p| {
                            guard.is_some_and(|g| self.guards_path(g, &p.kind.text))
                        });
                        if !guarded {
                            let message = format!(
                                "the variable-length relationship `{}` reaches nodes no pattern names; \
                                 bind the path (`p = ...`) and add `WHERE all(x IN nodes(p) WHERE x.{s} = ${s})`",
                                self.snippet(factor.span),
                                s = self.scope
                            );
                            self.fail(factor.span.into(), message);
                        }
                    }
                    for e in r.properties.iter().chain(&r.where_clause) {
                        self.expr(e, env);
                    }
                }
                PathFactorKind::LegacyShortest { .. } => self.reject(factor.span, "`shortestPath`"),
                _ => self.reject(factor.span, "the quantified or parenthesised path"),
            }
        }
        if let Some(p) = &part.kind.binding {
            env.insert(p.kind.text.clone());
        }
    }

    fn node(&mut self, n: &NodePattern, span: open_cypher::Span, env: &mut Env) {
        let bound = n
            .variable
            .as_ref()
            .is_some_and(|v| env.contains(&v.kind.text));
        if let Some(l) = &n.labels {
            match &l.kind {
                LabelExpressionKind::Name(name) => {
                    self.labels.insert(name.kind.text.clone());
                }
                _ => self.reject(l.span, "the label expression"),
            }
        }
        if !bound {
            let (labelled, guarded) = (
                n.labels.is_some(),
                self.has_tenant_entry(n.properties.as_deref()),
            );
            // A variable bound earlier, written bare where it is no longer bound: one message
            // saying so, instead of two about a new node.
            let dropped = n
                .variable
                .as_ref()
                .filter(|v| self.seen.contains(&v.kind.text) && !(labelled && guarded));
            if let Some(v) = dropped {
                let message = format!(
                    "`{v}` in node pattern `{}` is not bound here: a `WITH`, a `UNION` or a \
                     subquery boundary before it did not carry it; carry it (`WITH {v}, ...`) or \
                     match the node again with its label and `{s}: ${s}`",
                    self.snippet(span),
                    v = v.kind.text,
                    s = self.scope
                );
                self.fail(span.into(), message);
            } else {
                if !labelled {
                    let message = format!(
                        "node pattern `{}` introduces a node without a label; name the entity's label",
                        self.snippet(span)
                    );
                    self.fail(span.into(), message);
                }
                if !guarded {
                    let message = format!(
                        "node pattern `{}` lacks the tenant predicate `{s}: ${s}` in its property \
                         map (a `WHERE` condition does not count)",
                        self.snippet(span),
                        s = self.scope
                    );
                    self.fail(span.into(), message);
                }
            }
        }
        if let Some(v) = &n.variable {
            env.insert(v.kind.text.clone());
            self.seen.insert(v.kind.text.clone());
        }
        for e in n.properties.iter().chain(&n.where_clause) {
            self.expr(e, env);
        }
    }

    /// Whether `props` is a map literal holding `scope: $scope`; a key written twice is an error
    /// (the later entry would win).
    fn has_tenant_entry(&mut self, props: Option<&Expr>) -> bool {
        let Some(Expr {
            kind: ExprKind::Map(entries),
            ..
        }) = props
        else {
            return false;
        };
        let mut seen = BTreeSet::new();
        for e in entries {
            if !seen.insert(e.key.kind.text.as_str()) {
                self.reject(e.span, "a key written twice in a property map");
                return false;
            }
        }
        entries
            .iter()
            .any(|e| e.key.kind.text == self.scope && is_param(&e.value, self.scope))
    }

    /// `all(x IN nodes(p) WHERE x.<scope> = $<scope>)` as a top-level conjunct of `guard`.
    fn guards_path(&self, guard: &Expr, path: &str) -> bool {
        match &guard.kind {
            ExprKind::Binary {
                left,
                operator,
                right,
            } if operator.kind == open_cypher::ast::BinaryOperator::And => {
                self.guards_path(left, path) || self.guards_path(right, path)
            }
            ExprKind::Parenthesized(e) => self.guards_path(e, path),
            ExprKind::QuantifiedPredicate(q) => {
                q.kind.kind == open_cypher::ast::QuantifiedPredicateKind::All
                    && matches!(&q.list.kind, ExprKind::Function(f)
                        if f.name.parts.len() == 1
                            && f.name.parts[0].kind.text.eq_ignore_ascii_case("nodes")
                            && f.arguments.len() == 1
                            && matches!(&f.arguments[0].kind, ExprKind::Variable(v) if v.kind.text == path))
                    && self.is_scope_equality(&q.predicate, &q.variable.kind.text)
            }
            _ => false,
        }
    }

    fn is_scope_equality(&self, e: &Expr, var: &str) -> bool {
        match &e.kind {
            ExprKind::Parenthesized(e) => self.is_scope_equality(e, var),
            ExprKind::Binary {
                left,
                operator,
                right,
            } if operator.kind == open_cypher::ast::BinaryOperator::Equal => {
                // `x.s = $s`, or the same written `$s = x.s`.
                let scope_of = |e: &Expr| {
                    matches!(&e.kind, ExprKind::Property { expression, key }
                        if key.kind.text == self.scope
                            && matches!(&expression.kind, ExprKind::Variable(v) if v.kind.text == var))
                };
                (scope_of(left) && is_param(right, self.scope))
                    || (is_param(left, self.scope) && scope_of(right))
            }
            _ => false,
        }
    }

    /// The names a `WITH` or `RETURN` passes on; checks its expressions.
    fn projection(&mut self, p: &ProjectionClause, env: &Env) -> Env {
        let mut out = Env::new();
        for item in &p.items {
            match &item.kind {
                ProjectionItemKind::Wildcard => out.extend(env.iter().cloned()),
                ProjectionItemKind::Expression { expression, alias } => {
                    self.expr(expression, env);
                    match (alias, &expression.kind) {
                        (Some(a), _) => {
                            out.insert(a.kind.text.clone());
                        }
                        (None, ExprKind::Variable(v)) if env.contains(&v.kind.text) => {
                            out.insert(v.kind.text.clone());
                        }
                        _ => {}
                    }
                }
                _ => self.reject(item.span, "the projection item"),
            }
        }
        // ORDER BY may name what the projection passes on; checking it against the projected
        // names only is stricter than Cypher, never looser.
        if let Some(order) = &p.order_by {
            for s in &order.items {
                self.expr(&s.expression, &out);
            }
        }
        for e in p.skip.iter().chain(&p.limit).chain(&p.offset) {
            self.expr(e, env);
        }
        out
    }

    fn set(&mut self, s: &SetClause, env: &Env) {
        for (i, item) in s.items.iter().enumerate() {
            match &item.kind {
                SetItemKind::Property { target, value } => {
                    let restores = self.is_restore(target, value);
                    let moves = self.options.scope_write_param.is_some_and(|p| {
                        is_param(value, p) && property_key(target) == Some(self.scope)
                    });
                    if !restores && !moves {
                        self.written_property(target, item.span, "`SET`");
                    }
                    self.expr(value, env);
                }
                SetItemKind::ReplaceProperties { .. } => self.reject(
                    item.span,
                    "`SET n = ...` replaces every property, the tenant's included:",
                ),
                SetItemKind::MergeProperties { target, value } => {
                    self.expr(value, env);
                    let literal_without_scope = match &value.kind {
                        ExprKind::Map(entries) => entries.iter().all(|e| {
                            e.key.kind.text != self.scope
                                && !e.key.kind.text.starts_with(RESERVED_PREFIX)
                        }),
                        _ => false,
                    };
                    let restored_later = s.items[i + 1..].iter().any(|later| {
                        matches!(&later.kind, SetItemKind::Property { target: t, value: v }
                            if self.is_restore(t, v)
                                && matches!(&t.kind, ExprKind::Property { expression, .. }
                                    if matches!(&expression.kind, ExprKind::Variable(n) if n.kind.text == target.kind.text)))
                    });
                    if !literal_without_scope && !restored_later {
                        let message = format!(
                            "`{}` may overwrite the tenant property; use a map literal without `{s}`, \
                             or restore it in the same `SET` with `{t}.{s} = ${s}`",
                            self.snippet(item.span),
                            s = self.scope,
                            t = target.kind.text
                        );
                        self.fail(item.span.into(), message);
                    }
                }
                _ => self.reject(item.span, "changing labels"),
            }
        }
    }

    /// `v.<scope> = $<scope>`: a no-op write that re-asserts the tenant.
    fn is_restore(&self, target: &Expr, value: &Expr) -> bool {
        property_key(target) == Some(self.scope) && is_param(value, self.scope)
    }

    /// A `SET`/`REMOVE` target must be `variable.key`, and the key neither the scope nor reserved.
    fn written_property(&mut self, target: &Expr, span: open_cypher::Span, what: &str) {
        match property_key(target) {
            None => {
                let message = format!(
                    "{what} of `{}` is not allowed; write `variable.property`",
                    self.snippet(span)
                );
                self.fail(span.into(), message);
            }
            Some(k) if k == self.scope => {
                let message = format!(
                    "{what} of `{}` writes the tenant property `{k}`; the tenant of a node never changes",
                    self.snippet(span)
                );
                self.fail(span.into(), message);
            }
            Some(k) if k.starts_with(RESERVED_PREFIX) && !self.options.reserved_writes => {
                let message = format!(
                    "{what} of `{}` writes `{k}`, a property tenant-store keeps for itself \
                     (`{RESERVED_PREFIX}*`)",
                    self.snippet(span)
                );
                self.fail(span.into(), message);
            }
            Some(_) => {}
        }
    }

    fn expr(&mut self, e: &Expr, env: &Env) {
        match &e.kind {
            ExprKind::Literal(l) => {
                if let LiteralKind::String(_) = &l.kind {
                    let message = format!(
                        "string literal `{}`: values travel as `$parameters`, never in the query text",
                        self.snippet(e.span)
                    );
                    self.fail(e.span.into(), message);
                }
            }
            ExprKind::Variable(_) | ExprKind::Parameter(_) | ExprKind::Wildcard => {}
            ExprKind::List(items) => items.iter().for_each(|i| self.expr(i, env)),
            ExprKind::Map(entries) => entries.iter().for_each(|m| self.expr(&m.value, env)),
            ExprKind::MapProjection(m) => {
                self.expr(&m.base, env);
                for item in &m.items {
                    if let open_cypher::ast::MapProjectionItemKind::Entry(entry) = &item.kind {
                        self.expr(&entry.value, env);
                    }
                }
            }
            ExprKind::Unary { operand, .. } => self.expr(operand, env),
            ExprKind::Binary { left, right, .. } => {
                self.expr(left, env);
                self.expr(right, env);
            }
            ExprKind::Is {
                expression,
                predicate,
                ..
            } => {
                self.expr(expression, env);
                if let open_cypher::ast::IsPredicate::Label(l) = predicate {
                    self.label_test(l);
                }
            }
            ExprKind::Property { expression, .. } => self.expr(expression, env),
            ExprKind::DynamicProperty { expression, key } => {
                self.expr(expression, env);
                self.expr(key, env);
            }
            ExprKind::Index { expression, index } => {
                self.expr(expression, env);
                self.expr(index, env);
            }
            ExprKind::Slice {
                expression,
                lower,
                upper,
            } => {
                self.expr(expression, env);
                for b in lower.iter().chain(upper) {
                    self.expr(b, env);
                }
            }
            ExprKind::Function(f) => {
                let name = f
                    .name
                    .parts
                    .iter()
                    .map(|p| p.kind.text.as_str())
                    .collect::<Vec<_>>()
                    .join(".");
                if !FUNCTIONS.contains(&name.to_ascii_lowercase().as_str()) {
                    let message = match closest_function(&name) {
                        Some(near) => format!(
                            "function `{name}` is not allowed in checked Cypher; did you mean `{near}`? \
                             (the allowed functions: `tenant_store::neo4j::CYPHER_FUNCTIONS`)"
                        ),
                        None => format!(
                            "function `{name}` is not allowed in checked Cypher (pure functions only: \
                             the allowed ones: `tenant_store::neo4j::CYPHER_FUNCTIONS`)"
                        ),
                    };
                    self.fail(f.name.span.into(), message);
                }
                f.arguments.iter().for_each(|a| self.expr(a, env));
            }
            ExprKind::Case(c) => {
                for x in c.operand.iter().chain(&c.else_expression) {
                    self.expr(x, env);
                }
                for alt in &c.alternatives {
                    alt.when.iter().for_each(|w| self.expr(w, env));
                    self.expr(&alt.then, env);
                }
            }
            ExprKind::ListComprehension(l) => {
                self.expr(&l.list, env);
                let inner = with(env, &l.variable.kind.text);
                for x in l.predicate.iter().chain(&l.projection) {
                    self.expr(x, &inner);
                }
            }
            ExprKind::PatternComprehension(p) => {
                let mut inner = env.clone();
                self.pattern(&p.pattern, &mut inner, p.predicate.as_deref());
                if let Some(b) = &p.binding {
                    inner.insert(b.kind.text.clone());
                }
                if let Some(pred) = &p.predicate {
                    self.expr(pred, &inner);
                }
                self.expr(&p.projection, &inner);
            }
            ExprKind::Reduce(r) => {
                self.expr(&r.initial, env);
                self.expr(&r.list, env);
                let inner = with(&with(env, &r.accumulator.kind.text), &r.variable.kind.text);
                self.expr(&r.expression, &inner);
            }
            ExprKind::QuantifiedPredicate(q) => {
                self.expr(&q.list, env);
                self.expr(&q.predicate, &with(env, &q.variable.kind.text));
            }
            ExprKind::Subquery(s) => {
                self.query(&s.query, env);
            }
            ExprKind::Pattern(p) => {
                let mut inner = env.clone();
                self.pattern(p, &mut inner, None);
            }
            ExprKind::Parenthesized(inner) => self.expr(inner, env),
            _ => self.reject(e.span, "the expression"),
        }
    }

    /// `n:A` or `n IS :A` in an expression only filters rows; still, only plain labels.
    fn label_test(&mut self, l: &LabelExpression) {
        if !matches!(l.kind, LabelExpressionKind::Name(_)) {
            self.reject(l.span, "the label expression");
        }
    }
}

fn with(env: &Env, name: &str) -> Env {
    let mut e = env.clone();
    e.insert(name.to_owned());
    e
}

fn is_param(e: &Expr, name: &str) -> bool {
    matches!(&e.kind, ExprKind::Parameter(p) if matches!(&p.name, ParameterName::Named(n) if n == name))
}

/// The key of `variable.key`; `None` for any other target.
fn property_key(target: &Expr) -> Option<&str> {
    match &target.kind {
        ExprKind::Property { expression, key }
            if matches!(expression.kind, ExprKind::Variable(_)) =>
        {
            Some(key.kind.text.as_str())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests;
