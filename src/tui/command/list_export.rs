//! Writing the list in view (the queue, the Blocked list, the Audits list)
//! to a file, with the filters and order on screen: JSON in the shapes the
//! CLI's `--json` prints, or CSV with every text cell made safe for a
//! spreadsheet (`text::spreadsheet_cell`). Read a page at a time, at most
//! `MAX_ROWS` rows, and written atomically under a name that must be new,
//! in a folder that exists (as evidence packs are).

use std::path::{Path, PathBuf};

use crate::backend::queue::{Direction, MAX_PAGE, QueueQuery};
use crate::backend::{GovernanceBackend, StandingCursor, StandingQuery};
use crate::text::spreadsheet_cell;

use super::BlockedFilter;

/// The most rows one export holds: a list longer than this is cut, and the
/// status line says so.
pub const MAX_ROWS: usize = 100_000;

/// Which list, with the filters and order on screen.
#[derive(Debug, Clone, PartialEq)]
pub enum ListToExport {
    Queue(QueueQuery),
    Blocked(BlockedFilter),
    Audits(StandingQuery),
}

impl ListToExport {
    /// The list's name in file names and messages.
    pub fn name(&self) -> &'static str {
        match self {
            ListToExport::Queue(_) => "queue",
            ListToExport::Blocked(_) => "blocked",
            ListToExport::Audits(_) => "audits",
        }
    }
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedList {
    pub path: PathBuf,
    pub rows: usize,
    /// The list had more than `MAX_ROWS`.
    pub cut: bool,
    pub json: bool,
}

/// The file's format, from its name: `.json` is JSON, anything else CSV.
pub fn is_json(path: &Path) -> bool {
    path.extension()
        .is_some_and(|extension| extension.eq_ignore_ascii_case("json"))
}

/// Reads the whole list (up to `MAX_ROWS`) and writes it to `path`.
pub async fn export_list(
    backend: &dyn GovernanceBackend,
    list: ListToExport,
    path: &Path,
) -> Result<ExportedList, String> {
    super::views::new_file_in_a_folder(path).await?;
    let json = is_json(path);
    let words = |err: crate::backend::BackendError| err.to_string();
    let (bytes, rows, cut) = match list {
        ListToExport::Queue(query) => {
            let (items, cut) = read_queue(backend, query).await.map_err(words)?;
            (queue_file(&items, json)?, items.len(), cut)
        }
        ListToExport::Blocked(filter) => {
            let (items, cut) = read_blocked(backend, filter).await.map_err(words)?;
            (blocked_file(&items, json)?, items.len(), cut)
        }
        ListToExport::Audits(query) => {
            let (items, cut) = read_standings(backend, query).await.map_err(words)?;
            (standings_file(&items, json)?, items.len(), cut)
        }
    };
    super::views::save_new_file(path, bytes).await?;
    Ok(ExportedList {
        path: path.to_path_buf(),
        rows,
        cut,
        json,
    })
}

async fn read_queue(
    backend: &dyn GovernanceBackend,
    mut query: QueueQuery,
) -> crate::backend::Result<(Vec<crate::backend::queue::QueueItem>, bool)> {
    query.cursor = None;
    query.direction = Direction::Forward;
    query.limit = MAX_PAGE;
    let mut items = Vec::new();
    loop {
        let page = backend.queue(&query).await?;
        let next = page.last_cursor(query.sort);
        items.extend(page.items);
        if items.len() > MAX_ROWS {
            items.truncate(MAX_ROWS);
            return Ok((items, true));
        }
        match next {
            Some(cursor) if page.more_after => query.cursor = Some(cursor),
            _ => return Ok((items, false)),
        }
    }
}

async fn read_blocked(
    backend: &dyn GovernanceBackend,
    filter: BlockedFilter,
) -> crate::backend::Result<(Vec<crate::domain::DeploymentRequest>, bool)> {
    let mut query = filter.query(None, MAX_PAGE);
    let mut items = Vec::new();
    loop {
        let page = backend.deployments(&query).await?;
        items.extend(page.items);
        if items.len() > MAX_ROWS {
            items.truncate(MAX_ROWS);
            return Ok((items, true));
        }
        match page.next {
            Some(next) => query.cursor = Some(next),
            None => return Ok((items, false)),
        }
    }
}

async fn read_standings(
    backend: &dyn GovernanceBackend,
    mut query: StandingQuery,
) -> crate::backend::Result<(Vec<crate::domain::bias::standing::AuditStanding>, bool)> {
    query.after = None;
    query.limit = MAX_PAGE;
    let mut items = Vec::new();
    loop {
        let page = backend.audit_standings(&query).await?;
        items.extend(page.standings);
        if items.len() > MAX_ROWS {
            items.truncate(MAX_ROWS);
            return Ok((items, true));
        }
        match page.next {
            Some(next) => {
                query.after = Some(
                    StandingCursor::decode(&next).map_err(crate::backend::BackendError::Storage)?,
                );
            }
            None => return Ok((items, false)),
        }
    }
}

fn json_file<T: serde::Serialize>(items: &[T]) -> Result<Vec<u8>, String> {
    let mut bytes = serde_json::to_vec_pretty(items).map_err(|err| err.to_string())?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// CSV under `header`, each row's cells made safe for a spreadsheet.
fn csv_file<'a>(
    header: &[&str],
    rows: impl Iterator<Item = Vec<String>> + 'a,
) -> Result<Vec<u8>, String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(header).map_err(|err| err.to_string())?;
    for row in rows {
        writer
            .write_record(row.iter().map(|cell| spreadsheet_cell(cell).into_owned()))
            .map_err(|err| err.to_string())?;
    }
    writer.into_inner().map_err(|err| err.to_string())
}

fn time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The queue as `gavel queue --json` prints it, or as CSV.
pub fn queue_file(
    items: &[crate::backend::queue::QueueItem],
    json: bool,
) -> Result<Vec<u8>, String> {
    if json {
        return json_file(items);
    }
    csv_file(
        &[
            "workflow_id",
            "agent_id",
            "agent_name",
            "team",
            "policy",
            "status",
            "risk_tier",
            "step",
            "role",
            "requested_by",
            "waiting_since",
            "due_at",
        ],
        items.iter().map(|item| {
            vec![
                item.workflow_id.clone(),
                item.agent_id.clone(),
                item.agent_name.clone(),
                item.team.clone(),
                item.triggered_by_policy.clone(),
                item.status.as_str().to_owned(),
                item.risk_tier.as_str().to_owned(),
                item.current_step
                    .as_ref()
                    .map(|step| format!("{}/{}", step.step_id, item.step_count))
                    .unwrap_or_default(),
                item.current_step
                    .as_ref()
                    .map(|step| step.role.as_str().to_owned())
                    .unwrap_or_default(),
                item.requested_by.clone(),
                time(item.waiting_since),
                item.due_at.map(time).unwrap_or_default(),
            ]
        }),
    )
}

/// Blocked deployments as the HTTP API's `deployments` gives them, or as CSV.
pub fn blocked_file(
    items: &[crate::domain::DeploymentRequest],
    json: bool,
) -> Result<Vec<u8>, String> {
    if json {
        return json_file(items);
    }
    csv_file(
        &[
            "deployment_id",
            "agent_id",
            "agent_name",
            "agent_version",
            "team",
            "requested_by",
            "requested_at",
            "blocking_policies",
            "reasons",
        ],
        items.iter().map(|item| {
            vec![
                item.deployment_id.clone(),
                item.agent_id.clone(),
                item.agent_name.clone(),
                item.agent_version.clone(),
                item.team.clone(),
                item.requested_by.clone(),
                time(item.requested_at),
                item.triggered_policies
                    .iter()
                    .filter(|policy| policy.blocking)
                    .map(|policy| policy.policy_id.as_str())
                    .collect::<Vec<_>>()
                    .join(";"),
                item.blocking_reasons.join(" | "),
            ]
        }),
    )
}

/// Audit standings as `gavel audit due --json` prints them, or as CSV.
pub fn standings_file(
    items: &[crate::domain::bias::standing::AuditStanding],
    json: bool,
) -> Result<Vec<u8>, String> {
    if json {
        return json_file(items);
    }
    csv_file(
        &[
            "agent_id",
            "name",
            "version",
            "team",
            "owner",
            "attention",
            "audit_id",
            "tested_at",
            "expires_at",
            "lowest_ratio",
            "required_by",
            "reason",
        ],
        items.iter().map(|item| {
            vec![
                item.agent_id.clone(),
                item.name.clone(),
                item.version.clone(),
                item.team.clone(),
                item.owner.clone(),
                item.attention.as_str().to_owned(),
                item.audit_id.clone().unwrap_or_default(),
                item.tested_at.map(time).unwrap_or_default(),
                item.expires_at.map(time).unwrap_or_default(),
                item.lowest_ratio
                    .map(|ratio| format!("{ratio:.3}"))
                    .unwrap_or_default(),
                item.required_by.join(";"),
                item.reason.clone(),
            ]
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_formula_in_a_name_is_written_as_text() {
        let standing = crate::domain::bias::standing::AuditStanding {
            agent_id: "agt-1".into(),
            name: "=HYPERLINK(\"http://evil\")".into(),
            version: "1.0".into(),
            owner: "@owner".into(),
            team: "-Team".into(),
            required_by: vec!["hr_bias_audit".into()],
            attention: crate::domain::bias::standing::Attention::Missing,
            audit_id: None,
            audit_version: None,
            tested_at: None,
            expires_at: None,
            lowest_ratio: None,
            reason: "+1 run an audit".into(),
        };
        let csv =
            String::from_utf8(standings_file(std::slice::from_ref(&standing), false).unwrap())
                .unwrap();
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let row = reader.records().next().unwrap().unwrap();
        assert_eq!(&row[1], "'=HYPERLINK(\"http://evil\")");
        assert_eq!(&row[3], "'-Team");
        assert_eq!(&row[4], "'@owner");
        assert_eq!(&row[11], "'+1 run an audit");
        let json: serde_json::Value =
            serde_json::from_slice(&standings_file(&[standing], true).unwrap()).unwrap();
        assert_eq!(
            json[0]["name"], "=HYPERLINK(\"http://evil\")",
            "JSON keeps the text"
        );
    }

    #[test]
    fn the_format_follows_the_file_name() {
        assert!(is_json(Path::new("queue.JSON")));
        assert!(!is_json(Path::new("queue.csv")));
        assert!(!is_json(Path::new("queue")));
    }
}
