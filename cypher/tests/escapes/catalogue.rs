// The escape catalogue's loader, `include!`d by the checker's unit tests
// (`cypher/src/tests.rs`) and by the live test (`tests/tests/cypher_escapes.rs`), so both read
// `escapes.cypher` the same way.

/// Every entry of `cypher/tests/escapes.cypher`: (group, expected raw outcome, query).
fn catalogue() -> Vec<(String, String, String)> {
    let mut group = String::new();
    let mut out = Vec::new();
    for line in include_str!("../escapes.cypher").lines() {
        if let Some(g) = line.strip_prefix("## ") {
            group = g.to_owned();
        } else if let Some(rest) = line.strip_prefix('[') {
            let (outcome, query) = rest.split_once("] ").expect("`[outcome] query`");
            out.push((group.clone(), outcome.to_owned(), query.replace("\\n", "\n")));
        }
    }
    out
}
