//! Agents' audit standings a page at a time: which kinds, what text, and
//! where the previous page ended. The store keeps every standing with the
//! clock taken out, so a page reads one index range per kind of attention
//! and judges only the agents it returns.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use super::queue::MAX_PAGE;
use crate::domain::bias::standing::{Attention, AuditStanding, DUE_WITHIN_DAYS};

/// Which standings to read, most urgent first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandingQuery {
    /// How far ahead an expiry counts as due.
    pub due_within: TimeDelta,
    /// Only these kinds of attention; empty: every kind.
    pub kinds: Vec<Attention>,
    /// Case-insensitive text in the agent's name, id or team.
    pub search: Option<String>,
    /// Continue after this position (a previous page's `next`).
    pub after: Option<StandingCursor>,
    pub limit: u32,
}

impl StandingQuery {
    /// The first page of every agent, with the console's window for due.
    pub fn first(limit: u32) -> StandingQuery {
        StandingQuery {
            due_within: TimeDelta::days(DUE_WITHIN_DAYS),
            kinds: Vec::new(),
            search: None,
            after: None,
            limit,
        }
    }

    pub fn limit(&self) -> u32 {
        self.limit.clamp(1, MAX_PAGE)
    }

    /// The kinds to read, in display order, each once.
    pub fn kinds(&self) -> Vec<Attention> {
        let mut kinds = if self.kinds.is_empty() {
            Attention::ALL.to_vec()
        } else {
            self.kinds.clone()
        };
        kinds.sort();
        kinds.dedup();
        kinds
    }

    /// The search text, trimmed; none when blank.
    pub fn search(&self) -> Option<&str> {
        self.search
            .as_deref()
            .map(str::trim)
            .filter(|text| !text.is_empty())
    }
}

/// One page of standings, in display order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StandingPage {
    pub standings: Vec<AuditStanding>,
    /// Pass as `after` for the next page; none on the last.
    pub next: Option<String>,
}

/// A position in the standings' order: the kind of attention, then the
/// first expiry (`i64::MAX`: none), the lowercased name and the agent id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct StandingCursor {
    pub attention: Attention,
    pub expires_ms: i64,
    pub name_key: String,
    pub agent_id: String,
}

/// Longer than any name and id the store holds together.
const MAX_CURSOR_BYTES: usize = 1024;

impl StandingCursor {
    /// An opaque text form for URLs: the four parts, NUL-separated, in
    /// URL-safe base64 (names and ids may hold any character).
    pub fn encode(&self) -> String {
        let text = format!(
            "{}\0{}\0{}\0{}",
            self.attention.as_str(),
            self.expires_ms,
            self.name_key,
            self.agent_id
        );
        URL_SAFE_NO_PAD.encode(text)
    }

    pub fn decode(text: &str) -> Result<StandingCursor, String> {
        let bad = || "malformed standings cursor: pass a page's `next` as it came".to_owned();
        if text.len() > MAX_CURSOR_BYTES {
            return Err(bad());
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let mut parts = text.split('\0');
        let mut next = || parts.next().ok_or_else(bad);
        let attention = next()?.parse().map_err(|_| bad())?;
        let expires_ms = next()?.parse().map_err(|_| bad())?;
        let name_key = next()?.to_owned();
        let agent_id = next()?.to_owned();
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(StandingCursor {
            attention,
            expires_ms,
            name_key,
            agent_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_survives_its_text_form_whatever_the_name() {
        let cursor = StandingCursor {
            attention: Attention::DueSoon,
            expires_ms: 1_790_000_000_000,
            name_key: "ünïcode.name with spaces/and\u{1}control".into(),
            agent_id: "agent-7.a".into(),
        };
        assert_eq!(StandingCursor::decode(&cursor.encode()), Ok(cursor));
    }

    #[test]
    fn a_forged_cursor_is_refused_not_read() {
        for text in [
            "",
            "!!!",
            &URL_SAFE_NO_PAD.encode("failing\0x\0a\0b"),
            &URL_SAFE_NO_PAD.encode("sometimes\x001\0a\0b"),
            &URL_SAFE_NO_PAD.encode("failing\x001\0a"),
            &URL_SAFE_NO_PAD.encode("failing\x001\0a\0b\0c"),
            &"A".repeat(MAX_CURSOR_BYTES + 4),
        ] {
            assert!(StandingCursor::decode(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn kinds_are_read_in_display_order_once() {
        let mut query = StandingQuery::first(10);
        assert_eq!(query.kinds(), Attention::ALL);
        query.kinds = vec![Attention::DueSoon, Attention::Failing, Attention::DueSoon];
        assert_eq!(query.kinds(), [Attention::Failing, Attention::DueSoon]);
        query.search = Some("  ".into());
        assert_eq!(query.search(), None);
    }
}
