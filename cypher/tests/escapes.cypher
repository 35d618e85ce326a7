# The escape catalogue: Cypher that tries to leave the caller's org. Every query here is
# rejected by the checker (unit test `every_escape_is_rejected`), and the live test
# (`tests/tests/cypher_escapes.rs`) runs each one *unchecked* against the Bolt server to show
# what it would do, then through the checked entry point to show it cannot run.
#
# Format: `## group` starts a group; each other line is `[outcome] query`, `\n` inside a query is a
# newline. Outcome is what the raw query does on the test server (ArcadeDB) with the live test's
# data: `leaks` (returns or changes the other org's data), `oracle` (its answer changes with
# whether the other org holds `$secret`), `fails` (the server refuses it), or `contained` (valid
# and outside the subset, but harmless on that data). Parameters: `$org_id` is the attacker's
# org, `$other` the victim's, `$id` and `$secret` the victim's node id and name, `$mine` the
# attacker's node id, `$fresh` an unused id, `$props` the map {org_id: victim}, `$key` the
# string "org_id".

## union: each part is checked on its own
[leaks] MATCH (n:CODE_SYMBOL {org_id: $org_id}) RETURN n.name AS name UNION MATCH (n) RETURN n.name AS name
[leaks] MATCH (n:CODE_SYMBOL {org_id: $org_id}) RETURN n.name AS name UNION ALL MATCH (n:CODE_SYMBOL) RETURN n.name AS name
[leaks] MATCH (n:CODE_SYMBOL {org_id: $org_id}) RETURN n.name AS name UNION MATCH (m:CODE_SYMBOL {org_id: $other}) RETURN m.name AS name

## with: variables die at WITH unless projected
[leaks] MATCH (n:CODE_SYMBOL {org_id: $org_id}) WITH count(n) AS c MATCH (n) RETURN n.name AS name
[leaks] MATCH (n:CODE_SYMBOL {org_id: $org_id}) WITH n.name AS x MATCH (n:CODE_SYMBOL) RETURN n.name AS name
[leaks] MATCH (a:CODE_SYMBOL {org_id: $org_id}) WITH a AS b MATCH (a) RETURN a.name AS name
[leaks] MATCH (a:CODE_SYMBOL {org_id: $org_id}) WITH 1 AS one MATCH (`a`) RETURN a.name AS name

## comments and quoting are the parser's business
[leaks] MATCH /* (n:CODE_SYMBOL {org_id: $org_id}) */ (n) RETURN n.name AS name, $org_id AS mine
[leaks] MATCH (n) // (n:CODE_SYMBOL {org_id: $org_id})\nRETURN n.name AS name, $org_id AS mine
[leaks] MATCH (n:CODE_SYMBOL) WHERE n.file <> '(n:CODE_SYMBOL {org_id: $org_id})' RETURN n.name AS name, $org_id AS mine
[leaks] MATCH (n:CODE_SYMBOL {`org_id`: $other}) RETURN n.name AS name, $org_id AS mine

## the tenant predicate itself
[leaks] MATCH (n:CODE_SYMBOL) RETURN n.name AS name, $org_id AS mine
[leaks] MATCH (n:CODE_SYMBOL {org_id: $other}) RETURN n.name AS name, $org_id AS mine
[leaks] MATCH (n:CODE_SYMBOL {org_id: $org_id, org_id: $other}) RETURN n.name AS name
[leaks] MATCH (n:CODE_SYMBOL) WHERE n.org_id = $org_id OR true RETURN n.name AS name
[leaks] MATCH (n:CODE_SYMBOL {org_id: $org_id}), (m:CODE_SYMBOL) RETURN m.name AS name
[leaks] MATCH (n:CODE_SYMBOL {org_id: $org_id}) OPTIONAL MATCH (m:CODE_SYMBOL) RETURN m.name AS name
[leaks] MATCH (n {id: $id}) RETURN n.name AS name, $org_id AS mine
[leaks] MATCH (a:CODE_SYMBOL {org_id: $org_id})-[:CODE_DEPENDS_ON]->(b) RETURN b.id AS name

## label expressions
[leaks] MATCH (n:CODE_SYMBOL|CODE_REPO) RETURN n.name AS name, $org_id AS mine
[contained] MATCH (n:CODE_SYMBOL|CODE_REPO {org_id: $org_id}) RETURN n.name AS name
[leaks] MATCH (n:!CODE_REPO) RETURN n.name AS name, $org_id AS mine
[leaks] MATCH (n:%) RETURN n.name AS name, $org_id AS mine
[leaks] MATCH (n) WHERE n:CODE_SYMBOL RETURN n.name AS name, $org_id AS mine

## writes of the tenant property
[leaks] MATCH (n:CODE_SYMBOL {org_id: $org_id}) SET n.org_id = $other RETURN n.name AS name
[leaks] MATCH (n:CODE_SYMBOL {org_id: $org_id}) SET n = {org_id: $other, id: n.id, name: n.name} RETURN n.name AS name
[leaks] MATCH (n:CODE_SYMBOL {org_id: $org_id}) SET n += {org_id: $other} RETURN n.name AS name
[leaks] MATCH (n:CODE_SYMBOL {org_id: $org_id}) SET n += $props RETURN n.name AS name
[leaks] MERGE (n:CODE_SYMBOL {org_id: $org_id, id: $fresh}) ON CREATE SET n.org_id = $other RETURN n.name AS name
[leaks] MERGE (n:CODE_SYMBOL {org_id: $org_id, id: $mine}) ON MATCH SET n.org_id = $other RETURN n.name AS name
[leaks] MATCH (n:CODE_SYMBOL {org_id: $org_id}) SET n[$key] = $other RETURN n.name AS name
[contained] MATCH (n:CODE_SYMBOL {org_id: $org_id}) REMOVE n.org_id RETURN n.name AS name
[contained] MATCH (n:CODE_SYMBOL {org_id: $org_id}) SET n.__tenant_store_nonce = $id RETURN n.name AS name
[contained] MATCH (n:CODE_SYMBOL {org_id: $org_id}) SET n:CODE_REPO RETURN n.name AS name

## writes that reach nodes outside the tenant
[leaks] CREATE (n:CODE_SYMBOL {org_id: $other, id: $mine, name: $mine}) RETURN n.name AS name, $org_id AS mine
[leaks] MERGE (n:CODE_SYMBOL {id: $id}) SET n.name = $mine RETURN n.name AS name, $org_id AS mine
[leaks] MATCH (a:CODE_SYMBOL {org_id: $org_id}) FOREACH (x IN [1] | MERGE (v:CODE_SYMBOL {id: $id}) SET v.name = $mine) RETURN a.name AS name
[leaks] MATCH (a:CODE_SYMBOL {org_id: $org_id}), (v:CODE_SYMBOL {id: $id}) DETACH DELETE v RETURN a.name AS name

## procedures, functions and other clauses
[contained] CALL db.labels() YIELD label RETURN label AS name, $org_id AS mine
[fails] MATCH (a:CODE_SYMBOL {org_id: $org_id}) CALL db.index.fulltext.queryNodes($key, $secret) YIELD node RETURN node.name AS name
[fails] MATCH (a:CODE_SYMBOL {org_id: $org_id}) RETURN apoc.cypher.runFirstColumnSingle($key, {}) AS name
[fails] LOAD CSV FROM $key AS row RETURN row AS name, $org_id AS mine
[fails] USE other MATCH (n:CODE_SYMBOL {org_id: $org_id}) RETURN n.name AS name
[contained] EXPLAIN MATCH (n:CODE_SYMBOL {org_id: $org_id}) RETURN n.name AS name

## subqueries: checked like top-level queries
[leaks] CALL { MATCH (n:CODE_SYMBOL) RETURN n } RETURN n.name AS name, $org_id AS mine
[leaks] MATCH (a:CODE_SYMBOL {org_id: $org_id}) CALL { MATCH (a) RETURN a AS x } RETURN x.name AS name
[leaks] MATCH (a:CODE_SYMBOL {org_id: $org_id}) CALL { WITH a MATCH (b:CODE_SYMBOL) RETURN b } RETURN b.name AS name
[leaks] MATCH (a:CODE_SYMBOL {org_id: $org_id}) RETURN COLLECT { MATCH (v:CODE_SYMBOL) RETURN v.name } AS name
[oracle] MATCH (a:CODE_SYMBOL {org_id: $org_id}) RETURN COUNT { MATCH (v:CODE_SYMBOL {name: $secret}) } AS name
[oracle] MATCH (a:CODE_SYMBOL {org_id: $org_id}) WHERE EXISTS { MATCH (v {name: $secret}) } RETURN a.name AS name
[fails] MATCH (a:CODE_SYMBOL {org_id: $org_id}) RETURN [(b:CODE_SYMBOL) | b.name] AS name

## paths: nodes no pattern names
[leaks] MATCH p = (a:CODE_SYMBOL {org_id: $org_id})-[*]-(b:CODE_SYMBOL {org_id: $org_id}) RETURN [x IN nodes(p) | x.name] AS name
[leaks] MATCH p = shortestPath((a:CODE_SYMBOL {org_id: $org_id})-[*]-(b:CODE_SYMBOL {org_id: $org_id})) RETURN [x IN nodes(p) | x.name] AS name
[leaks] MATCH p = (a:CODE_SYMBOL {org_id: $org_id})-[*1..3]->(b:CODE_SYMBOL {org_id: $org_id}) WHERE all(x IN nodes(p) WHERE x.org_id = $org_id OR true) RETURN [x IN nodes(p) | x.name] AS name
[leaks] MATCH p = (a:CODE_SYMBOL {org_id: $org_id})-[*1..3]->(b:CODE_SYMBOL {org_id: $org_id}) WHERE any(x IN nodes(p) WHERE x.org_id = $org_id) RETURN [x IN nodes(p) | x.name] AS name

## lexemes two lexers read differently (issue #30): refused by the lexical gate before any parse
[leaks] MATCH (n:CODE_SYMBOL {org_id: $org_id}) WITH n /* /* */ MATCH (m:CODE_SYMBOL) WITH m AS n // */\nRETURN n.name AS name
[leaks] MATCH (n:CODE_SYMBOL {org_id: $org_id}) WITH n MATCH (`\u006e`) RETURN `\u006e`.name AS name
[leaks] MATCH (n:CODE_SYMBOL {org_id: $`org\u005fid`}) RETURN n.name AS name
