//! The Audits tab: agents whose audits need attention first (failing,
//! expired, required but missing, due soon), each with its latest verdict,
//! lowest ratio, audit date and expiry; the selected agent's latest audit
//! as a chart against the four-fifths line (one per attribute and one for
//! their intersection, `[`/`]` between them), and its ratio across
//! versions. An audit Gavel ran against the agent names its run, and `e`
//! steps through the run's case evidence (`evidence`).

mod view;

use super::evidence::{EvidenceGroup, EvidenceView};
use super::queue::Requests;
use crate::backend::{AuditRun, StandingCursor, StandingPage, StandingQuery};
use crate::domain::BiasAudit;
use crate::domain::bias::standing::{Attention, AuditStanding};
use crate::tui::action::Action;
use crate::tui::command::{Command, RequestId};
use crate::tui::theme::Role;

/// Standings read at a time: more than a screen, few enough to judge
/// quickly.
const PAGE: u32 = 200;

/// Which agents the list shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AttentionFilter {
    #[default]
    All,
    /// Failing, expired, missing, uncovered or due soon.
    NeedsAttention,
    Only(Attention),
}

impl AttentionFilter {
    /// All, then what needs attention, then each kind of it in turn.
    fn next(self) -> AttentionFilter {
        use Attention::*;
        match self {
            AttentionFilter::All => AttentionFilter::NeedsAttention,
            AttentionFilter::NeedsAttention => AttentionFilter::Only(Failing),
            AttentionFilter::Only(Failing) => AttentionFilter::Only(Expired),
            AttentionFilter::Only(Expired) => AttentionFilter::Only(Missing),
            AttentionFilter::Only(Missing) => AttentionFilter::Only(Uncovered),
            AttentionFilter::Only(Uncovered) => AttentionFilter::Only(DueSoon),
            AttentionFilter::Only(_) => AttentionFilter::All,
        }
    }

    /// The kinds the store is asked for (none: every kind).
    fn kinds(self) -> Vec<Attention> {
        match self {
            AttentionFilter::All => Vec::new(),
            AttentionFilter::NeedsAttention => Attention::ALL
                .into_iter()
                .filter(|kind| *kind < Attention::Passing)
                .collect(),
            AttentionFilter::Only(kind) => vec![kind],
        }
    }

    fn words(self) -> &'static str {
        match self {
            AttentionFilter::All => "all",
            AttentionFilter::NeedsAttention => "needing attention",
            AttentionFilter::Only(kind) => kind.label(),
        }
    }
}

/// The table of `audit` shown (`table`, for an audit of several
/// attributes), and each of its categories with what a case holds to be in
/// it; an audit of one attribute has its groups, of the run's `attribute`.
fn evidence_groups(
    audit: &BiasAudit,
    table: usize,
    attribute: &str,
) -> (String, Vec<EvidenceGroup>) {
    match audit
        .attributes
        .get(table.min(audit.attributes.len().saturating_sub(1)))
    {
        Some(table) => (
            table.name(),
            table
                .categories
                .iter()
                .map(|category| EvidenceGroup {
                    label: category.label(),
                    categories: table
                        .attributes
                        .iter()
                        .cloned()
                        .zip(category.values.iter().cloned())
                        .collect(),
                })
                .collect(),
        ),
        None => (
            attribute.to_owned(),
            audit
                .stats
                .groups
                .iter()
                .map(|group| EvidenceGroup {
                    label: group.group.clone(),
                    categories: vec![(attribute.to_owned(), group.group.clone())],
                })
                .collect(),
        ),
    }
}

/// A short word for an agent's standing, and its theme role.
fn badge(attention: Attention) -> (&'static str, Role) {
    let role = match attention {
        Attention::Failing | Attention::Expired => Role::Danger,
        Attention::Missing | Attention::Uncovered | Attention::DueSoon => Role::Warn,
        Attention::Passing => Role::Ok,
        Attention::NotRequired => Role::Muted,
    };
    (attention.label(), role)
}

#[derive(Debug, Default)]
pub struct AuditsScreen {
    pub search: String,
    pub filter: AttentionFilter,
    /// The agents the search and filter let through, most urgent first,
    /// as far as the pages read so far reach.
    pub agents: Vec<AuditStanding>,
    /// Where the next page starts; none when the last is read.
    next: Option<StandingCursor>,
    /// A page after the last is being read.
    loading_more: bool,
    /// The agent to select when the list is read afresh.
    keep: Option<String>,
    pub selected: usize,
    /// Which table of a multi-attribute audit is shown.
    pub table: usize,
    pub agents_loaded: bool,
    agents_request: RequestId,
    /// Latest first.
    pub audits: Vec<BiasAudit>,
    pub audits_agent: Option<String>,
    audits_request: RequestId,
    /// Which audit is shown (index into `audits`).
    pub shown: usize,
    pub error: Option<String>,
    /// The run the shown audit came from, once loaded.
    pub run: Option<AuditRun>,
    run_request: RequestId,
    /// The run's evidence, while it is open.
    pub evidence: Option<EvidenceView>,
    /// Why `e` showed nothing (an audit recorded from counts).
    no_evidence: bool,
    /// How far the shown audit's pane is scrolled (`J` / `K`).
    pub detail_scroll: u16,
    /// The most `detail_scroll` may be, as the last frame found it.
    pub(crate) detail_bottom: std::cell::Cell<u16>,
}

impl AuditsScreen {
    /// Reads the first page of standings (again), keeping the selected
    /// agent selected when it is still listed.
    pub fn load(&mut self, requests: &mut Requests) -> Vec<Command> {
        self.keep = self
            .agents
            .get(self.selected)
            .map(|standing| standing.agent_id.clone());
        self.loading_more = false;
        vec![self.read(None, requests)]
    }

    /// Shows the shown audit's binding table first: the one with the lowest
    /// ratio, which decides pass or fail (the first, when all pass alike).
    fn show_binding_table(&mut self) {
        self.detail_scroll = 0;
        self.table = self.audits.get(self.shown).map_or(0, |audit| {
            audit
                .attributes
                .iter()
                .enumerate()
                .min_by(|(_, a), (_, b)| a.lowest_ratio.total_cmp(&b.lowest_ratio))
                .map_or(0, |(index, _)| index)
        });
    }

    /// The list's query as filtered and searched, from `after`.
    pub fn query(&self, after: Option<StandingCursor>) -> StandingQuery {
        StandingQuery {
            kinds: self.filter.kinds(),
            search: Some(self.search.clone()),
            after,
            ..StandingQuery::first(PAGE)
        }
    }

    fn read(&mut self, after: Option<StandingCursor>, requests: &mut Requests) -> Command {
        self.agents_request = requests.issue();
        Command::LoadStandings {
            request: self.agents_request,
            append: after.is_some(),
            query: self.query(after),
        }
    }

    /// Near the end of what is read: the next page, once.
    fn read_on(&mut self, requests: &mut Requests) -> Vec<Command> {
        if self.loading_more || self.selected + PAGE as usize / 4 < self.agents.len() {
            return Vec::new();
        }
        match self.next.take() {
            Some(after) => {
                self.loading_more = true;
                vec![self.read(Some(after), requests)]
            }
            None => Vec::new(),
        }
    }

    /// Narrows the list to agents whose name, id or team holds `text`.
    pub fn search(&mut self, text: String, requests: &mut Requests) -> Vec<Command> {
        self.search = text;
        self.load(requests)
    }

    /// Places the selection on the new list: an exact id searched for
    /// (following a link from a workflow) wins, then the agent selected
    /// before, then the first.
    fn select_after_reading(&mut self) {
        let exact = self
            .agents
            .iter()
            .position(|standing| standing.agent_id == self.search);
        let kept = self.keep.take().and_then(|id| {
            self.agents
                .iter()
                .position(|standing| standing.agent_id == id)
        });
        self.selected = exact.or(kept).unwrap_or(0);
    }

    fn load_selected(&mut self, requests: &mut Requests) -> Vec<Command> {
        let Some(agent) = self.agents.get(self.selected) else {
            return Vec::new();
        };
        if self.audits_agent.as_deref() == Some(agent.agent_id.as_str()) {
            return Vec::new();
        }
        self.audits_request = requests.issue();
        vec![Command::LoadAudits {
            request: self.audits_request,
            agent_id: agent.agent_id.clone(),
        }]
    }

    pub fn on_standings(
        &mut self,
        request: RequestId,
        append: bool,
        result: Result<StandingPage, String>,
        requests: &mut Requests,
    ) -> Vec<Command> {
        if request != self.agents_request {
            return Vec::new();
        }
        self.agents_loaded = true;
        self.loading_more = false;
        match result {
            Ok(page) => {
                // A cursor the store wrote itself; one it cannot read ends
                // the list rather than the screen.
                self.next = page
                    .next
                    .and_then(|next| StandingCursor::decode(&next).ok());
                if append {
                    self.agents.extend(page.standings);
                } else {
                    self.agents = page.standings;
                    self.select_after_reading();
                }
                self.error = None;
                let mut commands = self.load_selected(requests);
                commands.extend(self.load_run(requests));
                commands
            }
            Err(error) => {
                self.error = Some(error);
                Vec::new()
            }
        }
    }

    pub fn on_audits(
        &mut self,
        request: RequestId,
        agent_id: String,
        result: Result<Vec<BiasAudit>, String>,
    ) {
        if request != self.audits_request {
            return;
        }
        match result {
            Ok(audits) => {
                self.audits = audits;
                self.audits_agent = Some(agent_id);
                self.shown = 0;
                self.show_binding_table();
                self.error = None;
            }
            Err(error) => self.error = Some(error),
        }
    }

    /// Loads the run of the shown audit, if it has one not loaded yet.
    pub fn load_run(&mut self, requests: &mut Requests) -> Vec<Command> {
        let Some(run_id) = self.audits.get(self.shown).and_then(|a| a.run_id.clone()) else {
            self.run = None;
            return Vec::new();
        };
        if self.run.as_ref().is_some_and(|run| run.run_id == run_id) {
            return Vec::new();
        }
        self.run = None;
        self.run_request = requests.issue();
        vec![Command::LoadAuditRun {
            request: self.run_request,
            run_id,
        }]
    }

    pub fn on_run(&mut self, request: RequestId, result: Result<Box<AuditRun>, String>) {
        if request != self.run_request {
            return;
        }
        match result {
            Ok(run) => self.run = Some(*run),
            Err(error) => self.error = Some(format!("its audit run: {error}")),
        }
    }

    pub fn on_cases(
        &mut self,
        request: RequestId,
        append: bool,
        result: Result<crate::backend::CasePage, String>,
    ) {
        if let Some(evidence) = &mut self.evidence {
            evidence.on_cases(request, append, result);
        }
    }

    pub fn on_action(&mut self, action: Action, requests: &mut Requests) -> Vec<Command> {
        if let Some(evidence) = &mut self.evidence {
            if action == Action::Back {
                self.evidence = None;
                return Vec::new();
            }
            return evidence.on_action(action, requests);
        }
        self.no_evidence = false;
        if action == Action::OpenEvidence {
            let Some(audit) = self.audits.get(self.shown) else {
                return Vec::new();
            };
            let Some(run) = self
                .run
                .as_ref()
                .filter(|run| Some(&run.run_id) == audit.run_id.as_ref())
            else {
                // Recorded from counts, or its run still loading.
                self.no_evidence = audit.run_id.is_none();
                return Vec::new();
            };
            let (table, groups) = evidence_groups(audit, self.table, &run.settings.attribute);
            let (view, command) = EvidenceView::open(run, table, groups, requests);
            self.evidence = Some(view);
            return vec![command];
        }
        match action {
            Action::Down => {
                self.selected = (self.selected + 1).min(self.agents.len().saturating_sub(1))
            }
            Action::Up => self.selected = self.selected.saturating_sub(1),
            Action::PageDown => {
                self.selected = (self.selected + 20).min(self.agents.len().saturating_sub(1))
            }
            Action::PageUp => self.selected = self.selected.saturating_sub(20),
            Action::First => self.selected = 0,
            Action::Last => self.selected = self.agents.len().saturating_sub(1),
            Action::Older => {
                self.shown = (self.shown + 1).min(self.audits.len().saturating_sub(1));
                self.show_binding_table();
            }
            Action::Newer => {
                self.shown = self.shown.saturating_sub(1);
                self.show_binding_table();
            }
            Action::ScrollDown | Action::ScrollUp => {
                let step: i32 = if action == Action::ScrollDown { 5 } else { -5 };
                let bottom = self.detail_bottom.get();
                self.detail_scroll = (i32::from(self.detail_scroll.min(bottom)) + step)
                    .clamp(0, i32::from(bottom)) as u16;
                return Vec::new();
            }
            Action::NextGroup | Action::PreviousGroup => {
                let tables = self
                    .audits
                    .get(self.shown)
                    .map_or(0, |audit| audit.attributes.len());
                if tables > 0 {
                    self.table = if action == Action::NextGroup {
                        (self.table + 1) % tables
                    } else {
                        (self.table + tables - 1) % tables
                    };
                    self.detail_scroll = 0;
                }
                return Vec::new();
            }
            Action::FilterAttention => {
                self.filter = self.filter.next();
                return self.load(requests);
            }
            Action::Refresh => {
                self.audits_agent = None;
                return self.load(requests);
            }
            _ => return Vec::new(),
        }
        let mut commands = self.load_selected(requests);
        commands.extend(self.load_run(requests));
        commands.extend(self.read_on(requests));
        commands
    }
}
