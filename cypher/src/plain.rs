//! What is checked is what runs: the lexical gate in front of the parser.
//!
//! The check reads the query through `open-cypher`'s lexer; the server reads the same text
//! through its own. Wherever the two lexers disagree, the checker approves one query and the
//! server runs another: block comments that nest for one and not for the other, a backslash
//! before a backquote inside a backquoted name, `\uXXXX` escapes in backquoted names and
//! parameters (a variable the checker believes bound is a new one to the server; a parameter
//! the checker takes for the tenant's is another, which the caller may set). Mending those
//! lexemes one by one leaves the class open, so the gate admits only text whose every lexeme
//! reads the same in any Cypher lexer, before anything parses it:
//!
//! - printable ASCII, space, tab and line breaks only (no look-alike letters, no Unicode white
//!   space or identifier characters that lexers classify differently);
//! - no comments (`//`, `/*`), no string literals (`'`, `"`: values travel as parameters, and
//!   the check refused string literals already), no backslash anywhere;
//! - a backquoted name holds only `A-Z a-z 0-9 _` and does not start with a digit (so it is the
//!   same name unquoted), and is never a parameter: a parameter is `$` and a plain name, so the
//!   tenant parameter has one spelling;
//! - bounded work: at most [`MAX_LEN`] bytes and [`MAX_DEPTH`] nested brackets, and at most
//!   [`MAX_OPERATORS`] operators, because the parser and the check recurse over nesting and
//!   over chains of binary operators (2,000 terms of `1+1+...` overflowed a 2 MiB stack).
//!
//! Every refusal names the construct and where it is.

use crate::Violation;

/// The longest query text accepted, in bytes.
pub const MAX_LEN: usize = 16 * 1024;

/// The deepest nesting of `(`, `[` and `{` accepted.
pub const MAX_DEPTH: usize = 32;

/// The most operator characters (`+ - * / % ^ = < >`, `.`, `,`, `|`) and words (`AND`, `OR`,
/// `XOR`, `NOT`) one query may hold. The parser recurses along an operator chain; this bounds
/// the recursion whatever the nesting.
pub const MAX_OPERATORS: usize = 512;

/// Refuses text on which two Cypher lexers may disagree, or whose parse could run away.
pub(crate) fn gate(text: &str) -> Result<(), Vec<Violation>> {
    if text.len() > MAX_LEN {
        return Err(vec![Violation {
            message: format!(
                "the query is {} bytes long; a checked query is at most {MAX_LEN} bytes",
                text.len()
            ),
            span: MAX_LEN..text.len(),
        }]);
    }
    let mut errors = Vec::new();
    let mut fail = |span: std::ops::Range<usize>, message: &str| {
        errors.push(Violation {
            message: message.to_owned(),
            span,
        })
    };
    let b = text.as_bytes();
    let (mut depth, mut operators, mut deep_reported) = (0usize, 0usize, false);
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\t' | b'\n' | b'\r' | b' '..=b'~' => {}
            _ => {
                let ch = text[i..].chars().next().map_or(1, char::len_utf8);
                fail(
                    i..i + ch,
                    "only printable ASCII, spaces, tabs and line breaks are accepted in a \
                     checked query (other characters lex differently from one Cypher lexer to \
                     another); pass text as a parameter",
                );
                i += ch;
                continue;
            }
        }
        match c {
            b'\'' | b'"' => fail(
                i..i + 1,
                "string literals are not accepted in a checked query; pass values as parameters",
            ),
            b'\\' => fail(
                i..i + 1,
                "a backslash is not accepted in a checked query (escapes read differently from \
                 one Cypher lexer to another)",
            ),
            b'/' if matches!(b.get(i + 1), Some(b'/' | b'*')) => fail(
                i..i + 2,
                "comments are not accepted in a checked query (Cypher lexers disagree on where \
                 some end)",
            ),
            b'`' => {
                let end = b[i + 1..]
                    .iter()
                    .position(|&x| x == b'`')
                    .map(|p| i + 1 + p);
                let Some(end) = end else {
                    fail(i..b.len(), "a backquoted name is not closed");
                    break;
                };
                let name = &b[i + 1..end];
                let plain = name
                    .first()
                    .is_some_and(|f| f.is_ascii_alphabetic() || *f == b'_')
                    && name.iter().all(|x| x.is_ascii_alphanumeric() || *x == b'_');
                if i > 0 && b[i - 1] == b'$' {
                    fail(
                        i - 1..end + 1,
                        "a parameter is written `$name`, never backquoted: the tenant parameter \
                         has one spelling",
                    );
                } else if !plain {
                    fail(
                        i..end + 1,
                        "a backquoted name may hold only letters, digits and `_`, not starting \
                         with a digit (write it unquoted)",
                    );
                }
                i = end + 1;
                continue;
            }
            b'$' if !b
                .get(i + 1)
                .is_some_and(|x| x.is_ascii_alphabetic() || *x == b'_' || *x == b'`') =>
            {
                fail(
                    i..i + 1,
                    "a parameter is written `$name`, a name of letters, digits and `_`",
                )
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH && !deep_reported {
                    deep_reported = true;
                    fail(
                        i..i + 1,
                        &format!("brackets nest deeper than {MAX_DEPTH} levels in a checked query"),
                    );
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'+' | b'-' | b'*' | b'/' | b'%' | b'^' | b'=' | b'<' | b'>' | b'.' | b',' | b'|' => {
                operators += 1
            }
            b'A'..=b'Z' | b'a'..=b'z' | b'_' => {
                let end = b[i..]
                    .iter()
                    .position(|x| !(x.is_ascii_alphanumeric() || *x == b'_'))
                    .map_or(b.len(), |p| i + p);
                let word = &text[i..end];
                if ["and", "or", "xor", "not"]
                    .iter()
                    .any(|w| word.eq_ignore_ascii_case(w))
                {
                    operators += 1;
                }
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    if operators > MAX_OPERATORS {
        fail(
            0..text.len(),
            &format!(
                "the query holds {operators} operators; a checked query holds at most {MAX_OPERATORS}"
            ),
        );
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}
