//! What a policy condition may cost: static limits checked when a set is
//! loaded, before anything runs. The `cel` crate has no evaluation budget
//! and a running evaluation cannot be interrupted, so these limits are the
//! guarantee: a condition within them evaluates in a small, known time
//! (docs/policies.md: the measured worst case).
//!
//! - the source is at most `MAX_SOURCE_BYTES` and nests brackets at most
//!   `MAX_BRACKET_DEPTH` deep (checked on the text, so the parser's own
//!   recursion stays shallow);
//! - the expression has at most `MAX_NODES` nodes;
//! - a list or map literal holds at most `MAX_LITERAL_ITEMS` items;
//! - comprehensions (`all`, `exists`, `map`, `filter`, ...) nest at most
//!   `MAX_COMPREHENSION_DEPTH` deep, a comprehension in another's range
//!   included;
//! - `matches` takes a literal pattern of at most `MAX_PATTERN_BYTES` that
//!   compiles within `MAX_PATTERN_PROGRAM` bytes, and never inside a
//!   comprehension (the crate compiles the pattern at every call).

use cel::common::ast::{EntryExpr, Expr, IdedExpr, LiteralValue};

pub const MAX_SOURCE_BYTES: usize = 2048;
/// The parser recurses deeply per bracket: 14 levels overflowed a 2 MB
/// thread stack in a debug build (aborting the process), 12 did not.
pub const MAX_BRACKET_DEPTH: usize = 8;
pub const MAX_NODES: usize = 200;
pub const MAX_LITERAL_ITEMS: usize = 50;
pub const MAX_COMPREHENSION_DEPTH: usize = 2;
pub const MAX_PATTERN_BYTES: usize = 256;
pub const MAX_PATTERN_PROGRAM: usize = 64 * 1024;

/// Checks the source text, before it is parsed.
pub fn check_source(source: &str) -> Result<(), String> {
    if source.len() > MAX_SOURCE_BYTES {
        return Err(format!(
            "is {} bytes; a condition holds at most {MAX_SOURCE_BYTES}",
            source.len()
        ));
    }
    let mut depth = 0_usize;
    let mut deepest = 0_usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in source.chars() {
        if let Some(open) = quote {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                _ if c == open => quote = None,
                _ => {}
            }
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '(' | '[' | '{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    if deepest > MAX_BRACKET_DEPTH {
        return Err(format!(
            "nests brackets {deepest} deep; a condition nests at most {MAX_BRACKET_DEPTH}"
        ));
    }
    Ok(())
}

/// Checks the parsed expression.
pub fn check_expression(expression: &IdedExpr) -> Result<(), String> {
    let mut size = Size::default();
    size.walk(expression, 0);
    if size.nodes > MAX_NODES {
        return Err(format!(
            "has {} expression nodes; a condition has at most {MAX_NODES}",
            size.nodes
        ));
    }
    if size.widest_literal > MAX_LITERAL_ITEMS {
        return Err(format!(
            "has a list or map literal of {} items; a literal holds at most {MAX_LITERAL_ITEMS}",
            size.widest_literal
        ));
    }
    if let Some(problem) = size.patterns.first() {
        return Err(problem.clone());
    }
    if size.deepest_comprehension > MAX_COMPREHENSION_DEPTH {
        return Err(format!(
            "nests comprehensions (all, exists, map, filter...) {} deep; at most {MAX_COMPREHENSION_DEPTH}",
            size.deepest_comprehension
        ));
    }
    Ok(())
}

#[derive(Default)]
struct Size {
    nodes: usize,
    widest_literal: usize,
    deepest_comprehension: usize,
    /// What is wrong with each `matches` call.
    patterns: Vec<String>,
}

/// Why a `matches` call's pattern cannot be used, if it cannot.
fn pattern_problem(pattern: Option<&IdedExpr>, depth: usize) -> Option<String> {
    if depth > 0 {
        return Some(
            "calls matches inside a comprehension (all, exists, map, filter...); match outside it"
                .into(),
        );
    }
    let Some(Expr::Literal(LiteralValue::String(pattern))) = pattern.map(|p| &p.expr) else {
        return Some("calls matches with a pattern that is not a string literal".into());
    };
    let pattern: &str = pattern.as_ref();
    if pattern.len() > MAX_PATTERN_BYTES {
        return Some(format!(
            "has a matches pattern of {} bytes; at most {MAX_PATTERN_BYTES}",
            pattern.len()
        ));
    }
    regex::RegexBuilder::new(pattern)
        .size_limit(MAX_PATTERN_PROGRAM)
        .build()
        .err()
        .map(|err| format!("has a matches pattern that is invalid or too large: {err}"))
}

impl Size {
    /// `depth`: how many comprehensions enclose `node`.
    fn walk(&mut self, node: &IdedExpr, depth: usize) {
        self.nodes += 1;
        match &node.expr {
            Expr::Call(call) => {
                if call.func_name == "matches" {
                    // `text.matches(pattern)` or `matches(text, pattern)`.
                    let pattern = if call.target.is_some() {
                        call.args.first()
                    } else {
                        call.args.get(1)
                    };
                    self.patterns.extend(pattern_problem(pattern, depth));
                }
                if let Some(target) = &call.target {
                    self.walk(target, depth);
                }
                for arg in &call.args {
                    self.walk(arg, depth);
                }
            }
            Expr::Comprehension(comprehension) => {
                let inner = depth + 1;
                self.deepest_comprehension = self.deepest_comprehension.max(inner);
                for part in [
                    &comprehension.iter_range,
                    &comprehension.accu_init,
                    &comprehension.loop_cond,
                    &comprehension.loop_step,
                    &comprehension.result,
                ] {
                    self.walk(part, inner);
                }
            }
            Expr::List(list) => {
                self.widest_literal = self.widest_literal.max(list.elements.len());
                for element in &list.elements {
                    self.walk(element, depth);
                }
            }
            Expr::Map(map) => {
                self.widest_literal = self.widest_literal.max(map.entries.len());
                for entry in &map.entries {
                    if let EntryExpr::MapEntry(entry) = &entry.expr {
                        self.walk(&entry.key, depth);
                        self.walk(&entry.value, depth);
                    }
                }
            }
            Expr::Struct(structure) => {
                self.widest_literal = self.widest_literal.max(structure.entries.len());
                for entry in &structure.entries {
                    if let EntryExpr::StructField(field) = &entry.expr {
                        self.walk(&field.value, depth);
                    }
                }
            }
            Expr::Select(select) => self.walk(&select.operand, depth),
            Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(source: &str) -> Result<(), String> {
        check_source(source)?;
        let program = cel::Program::compile(source).map_err(|err| err.to_string())?;
        check_expression(program.expression())
    }

    fn list(items: usize) -> String {
        let items: Vec<String> = (0..items).map(|n| n.to_string()).collect();
        format!("[{}]", items.join(", "))
    }

    #[test]
    fn a_long_source_is_refused_before_parsing() {
        let long = format!("agent.name == \"{}\"", "a".repeat(MAX_SOURCE_BYTES));
        assert!(check_source(&long).unwrap_err().contains("bytes"));
    }

    #[test]
    fn deep_brackets_are_refused_before_parsing_and_quoted_ones_do_not_count() {
        let deep = format!("{}true{}", "(".repeat(40), ")".repeat(40));
        assert!(check_source(&deep).unwrap_err().contains("nests brackets"));
        let deep = format!("{}1{}", "[".repeat(9), "]".repeat(9));
        assert!(check_source(&deep).unwrap_err().contains("nests brackets"));
        let shallow = format!("{}true{}", "(".repeat(8), ")".repeat(8));
        assert!(checked(&shallow).is_ok());
        let quoted = format!("agent.name == \"{}\"", "(".repeat(40));
        assert!(check_source(&quoted).is_ok());
    }

    #[test]
    fn a_literal_of_more_items_than_allowed_is_refused() {
        assert!(checked(&format!("1 in {}", list(MAX_LITERAL_ITEMS))).is_ok());
        let wide = checked(&format!("1 in {}", list(MAX_LITERAL_ITEMS + 1))).unwrap_err();
        assert!(wide.contains("literal"), "{wide}");
    }

    #[test]
    fn comprehensions_nest_two_deep_at_most_ranges_included() {
        let l = list(10);
        assert!(checked(&format!("{l}.all(x, {l}.all(y, true))")).is_ok());
        let three = checked(&format!("{l}.all(x, {l}.all(y, {l}.all(z, true)))")).unwrap_err();
        assert!(three.contains("comprehensions"), "{three}");
        let in_range = checked(&format!(
            "{l}.map(x, {l}).all(y, y.all(z, y.exists(w, true)))"
        ))
        .unwrap_err();
        assert!(in_range.contains("comprehensions"), "{in_range}");
    }

    #[test]
    fn matches_takes_a_small_literal_pattern_outside_comprehensions() {
        assert!(checked(r#"agent.name.matches("^hr-[a-z]+$")"#).is_ok());
        assert!(checked(r#"matches(agent.name, "^hr-")"#).is_ok());
        let dynamic = checked("agent.name.matches(agent.team)").unwrap_err();
        assert!(dynamic.contains("not a string literal"), "{dynamic}");
        let looped = checked(r#"[1, 2].all(x, string(x).matches("^1$"))"#).unwrap_err();
        assert!(looped.contains("inside a comprehension"), "{looped}");
        let huge = checked(r#"agent.name.matches("(?:a{1000}){1000}")"#).unwrap_err();
        assert!(huge.contains("too large"), "{huge}");
    }

    #[test]
    fn an_expression_of_more_nodes_than_allowed_is_refused() {
        // `x == 1` is four nodes (a call, a select, an ident, a literal).
        let terms: Vec<String> = (0..MAX_NODES / 4 + 1)
            .map(|n| format!("a.b == {n}"))
            .collect();
        let big = checked(&terms.join(" || ")).unwrap_err();
        assert!(big.contains("nodes"), "{big}");
    }
}
